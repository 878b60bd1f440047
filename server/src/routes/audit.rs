//! `GET /api/v1/audit` and `GET /api/v1/audit.csv`: the audit trail for administrators and
//! privacy officers: who looked at one patient, and when. Reading it is itself audited
//! (`audit.search`, `audit.export`), before it is answered.

use std::collections::BTreeMap;

use app::model::admin::{AUDIT_EXPORT_CAP, AuditSearch, AuditSearchItem};
use app::service::Caller;
use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderName, header},
    response::{IntoResponse, Response},
};

use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

/// `?patient_id=&actor=&action=&target_type=&target_id=&outcome=&from=&to=&page=`: `action` is
/// one action or several separated by commas; `target_type` and `target_id` match alone or
/// together; `outcome` is `success`, `failure` or `denied`; `from` and `to` are RFC 3339 times
/// or dates (`to` as a date includes that whole day, UTC); `page` counts from 0, 50 events a page.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = app::service::admin::search_audit(&state.pool, &caller, &query).await?;
    Ok(audited(Json(page)))
}

/// The same filter as [`search`], without `page`: every matching event, newest first, up to
/// [`AUDIT_EXPORT_CAP`]. `X-Total-Count` says how many matched; when that is more than the
/// file holds, its last line says so too (`# truncated: ...`), where a person opening the file
/// will see it.
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let export = app::service::admin::export_audit(&state.pool, &caller, &query).await?;
    let body = events_csv(&export).map_err(ApiError::internal)?;
    let today = app::format::date(time::OffsetDateTime::now_utc().date());
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"audit-{today}.csv\"")),
        (HeaderName::from_static("x-total-count"), export.total.to_string()),
    ];
    Ok(audited((headers, body).into_response()))
}

const CSV_HEADER: [&str; 11] = [
    "id",
    "occurred_at",
    "actor",
    "roles",
    "action",
    "target_type",
    "target_id",
    "patient_id",
    "client_addr",
    "outcome",
    "detail",
];

/// One row per event; roles separated by `;`, the detail as compact JSON.
fn events_csv(export: &AuditSearch) -> Result<String, csv::Error> {
    // Flexible: the truncation note is a one-field line after the rows.
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for event in &export.items {
        out.write_record(event_record(event).map(spreadsheet_safe))?;
    }
    let written = export.items.len() as i64;
    if export.total > written {
        out.write_record([format!(
            "# truncated: {written} of {} matching events (the export holds at most {AUDIT_EXPORT_CAP}); narrow the filter",
            export.total
        )])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

fn event_record(event: &AuditSearchItem) -> [String; 11] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        event.id.to_string(),
        app::format::rfc3339(event.occurred_at),
        text(&event.actor),
        event.roles.join(";"),
        event.action.clone(),
        text(&event.target_type),
        text(&event.target_id),
        text(&event.patient_id),
        text(&event.client_addr),
        event.outcome.clone(),
        event.detail.to_string(),
    ]
}

/// A cell a spreadsheet would run as a formula gets a leading `'`. The trail holds text that
/// strangers typed (the username of a failed sign-in), and an administrator opening the export
/// must not run it. Only such cells change; the detail JSON always starts with `{`.
fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str) -> AuditSearchItem {
        AuditSearchItem {
            id: 7,
            occurred_at: time::macros::datetime!(2026-12-01 09:00 UTC),
            actor: Some(actor.to_owned()),
            roles: vec!["admin".into(), "coordinator".into()],
            action: "study.view".into(),
            target_type: Some("study".into()),
            target_id: Some("1.2.3".into()),
            patient_id: Some("MRN, 1".into()),
            client_addr: None,
            outcome: "success".into(),
            detail: serde_json::json!({ "n": 2, "series_uid": "1.2.3.4" }),
        }
    }

    #[test]
    fn rows_quote_what_needs_it_and_formulas_are_defused() {
        let export =
            AuditSearch { items: vec![event("ada"), event("=cmd()")], total: 3, page: 0, page_size: AUDIT_EXPORT_CAP };
        let csv = events_csv(&export).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            r#"7,2026-12-01T09:00:00Z,ada,admin;coordinator,study.view,study,1.2.3,"MRN, 1",,success,"{""n"":2,""series_uid"":""1.2.3.4""}""#
        );
        assert!(lines[2].starts_with("7,2026-12-01T09:00:00Z,'=cmd(),"), "{}", lines[2]);
        assert_eq!(
            lines[3],
            "# truncated: 2 of 3 matching events (the export holds at most 100000); narrow the filter"
        );
    }
}
