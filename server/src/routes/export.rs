//! `GET /api/v1/admin/export/findings.csv?from=&to=` and `.../mdt_decisions.csv`: the
//! de-identified export's two tables (administrators; the export page's form), audited before
//! they are sent. The images are the command's (`elysium export`): too large for a browser.

use app::service::Caller;
use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::export::Download;
use crate::http::audited;
use crate::state::AppState;

/// The period (by scan date); an unknown parameter is refused rather than ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn table(state: &AppState, caller: &Caller, which: Download, query: &PeriodQuery) -> Result<Response, ApiError> {
    let (filename, body) = crate::export::download(
        &state.pool,
        caller,
        state.config.export_key.as_ref(),
        which,
        query.from.as_deref(),
        query.to.as_deref(),
    )
    .await?;
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
    ];
    Ok(audited((headers, body).into_response()))
}

pub async fn findings_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    table(&state, &caller, Download::Findings, &query).await
}

pub async fn decisions_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    table(&state, &caller, Download::Decisions, &query).await
}
