//! `GET /metrics` (an administrator's session, or a token with `metrics:read`): the Prometheus
//! text format of everything `crate::monitoring` records, with the queue and the pool read now.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(handle) = crate::monitoring::handle() else { return Err(ApiError::Unavailable) };
    let counts = elysium_db::jobs::counts(&state.pool).await?;
    crate::monitoring::set_gauges(&counts, &state.pool);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response())
}
