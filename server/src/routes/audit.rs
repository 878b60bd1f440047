//! `GET /api/v1/audit`: the audit trail for administrators and privacy officers: who looked at
//! one patient, and when. Reading it is itself audited (`audit.search`), before it is answered.

use std::collections::HashMap;

use app::api::SessionUser;
use app::api::session::ssr::ClientAddr;
use axum::{
    Extension, Json,
    extract::{Query, State},
    response::Response,
};
use elysium_db::audit::AuditFilter;
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::auth::audited;
use crate::error::ApiError;
use crate::state::AppState;

pub const AUDIT_PAGE: i64 = 50;
const KNOWN: &[&str] = &["patient_id", "actor", "action", "from", "to", "page"];

/// `?patient_id=&actor=&action=&from=&to=&page=`: `from` and `to` are RFC 3339 times or dates
/// (`to` as a date includes that whole day, UTC); `page` counts from 0, 50 events a page.
pub async fn search(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = filter(&query)?;
    let (rows, total) = elysium_db::audit::search(&state.pool, &filter).await?;
    let mut event = user.audit_event("audit.search", "success", Some(client));
    event.patient_id = filter.patient_id.clone();
    event.detail = json!({ "query": query, "results": rows.len(), "total": total });
    app::service::audit::record(&state.pool, &event).await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|r| {
            json!({
                "occurred_at": r.occurred_at.format(&Rfc3339).unwrap_or_default(),
                "actor": r.actor_username,
                "action": r.action,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "patient_id": r.patient_id,
                "outcome": r.outcome,
            })
        })
        .collect();
    Ok(audited(Json(json!({ "items": items, "total": total, "page_size": AUDIT_PAGE }))))
}

fn filter(query: &HashMap<String, String>) -> Result<AuditFilter, ApiError> {
    if let Some(unknown) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::Validation(format!("{unknown}: unknown parameter (use {})", KNOWN.join(", "))));
    }
    let text = |name: &str| query.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let page = match text("page") {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=100_000).contains(p))
            .ok_or_else(|| ApiError::Validation("page: a page number from 0".into()))?,
    };
    Ok(AuditFilter {
        patient_id: text("patient_id"),
        actor: text("actor").map(|a| a.to_lowercase()),
        action: text("action"),
        from: text("from").map(|v| instant("from", &v, false)).transpose()?,
        to: text("to").map(|v| instant("to", &v, true)).transpose()?,
        limit: AUDIT_PAGE,
        offset: page * AUDIT_PAGE,
    })
}

/// An RFC 3339 time, or a date (its start; the next day's start for an inclusive `to`).
fn instant(field: &str, value: &str, end_of_day: bool) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(at);
    }
    let date = app::domain::followup::dates::parse_iso(value)
        .ok_or_else(|| ApiError::Validation(format!("{field}: a date (YYYY-MM-DD) or an RFC 3339 time")))?;
    let date = if end_of_day { date.next_day().unwrap_or(date) } else { date };
    Ok(date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn dates_cover_whole_days_and_bad_values_name_their_field() {
        let f = filter(&query(&[("from", "2026-12-01"), ("to", "2026-12-03"), ("page", "2"), ("actor", "Admin")]))
            .expect("valid");
        assert_eq!(f.from.expect("from").format(&Rfc3339).expect("fmt"), "2026-12-01T00:00:00Z");
        assert_eq!(f.to.expect("to").format(&Rfc3339).expect("fmt"), "2026-12-04T00:00:00Z");
        assert_eq!((f.offset, f.limit), (100, 50));
        assert_eq!(f.actor.as_deref(), Some("admin"));
        let exact = filter(&query(&[("from", "2026-12-01T10:30:00+01:00")])).expect("valid");
        assert_eq!(exact.from.expect("from").unix_timestamp(), 1_796_117_400, "09:30 UTC");
        for (bad, field) in [(("from", "yesterday"), "from"), (("page", "-1"), "page"), (("patient", "x"), "patient")] {
            let error = filter(&query(&[bad])).expect_err("refused").to_string();
            assert!(error.starts_with(field), "{error}");
        }
    }
}
