//! `GET /api/v1/audit`: the audit trail for administrators and privacy officers: who looked at
//! one patient, and when. Reading it is itself audited (`audit.search`), before it is answered.

use std::collections::BTreeMap;

use app::service::Caller;
use axum::{
    Json,
    extract::{Query, State},
    response::Response,
};

use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

/// `?patient_id=&actor=&action=&from=&to=&page=`: `from` and `to` are RFC 3339 times or dates
/// (`to` as a date includes that whole day, UTC); `page` counts from 0, 50 events a page.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = app::service::admin::search_audit(&state.pool, &caller, &query).await?;
    Ok(audited(Json(page)))
}
