//! `GET /api/v1/audit` and `GET /api/v1/audit.csv`: the audit trail for administrators and
//! privacy officers: who looked at one patient, and when. Reading it is itself audited
//! (`audit.search`, `audit.export`), before it is answered.

use std::collections::BTreeMap;

use app::domain::language::Language;
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
use crate::reports::{asked_language, csv_start};
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
/// will see it. `lang=zh-Hans` gives Chinese column titles and note (see `CSV_HEADER`); the
/// events' values (times, actions, outcomes, roles) are as recorded in either language.
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    // The file's language, not part of the filter (which refuses what it does not know).
    let language = asked_language(query.remove("lang").as_deref())?.unwrap_or(Language::English);
    let export = app::service::admin::export_audit(&state.pool, &caller, &query).await?;
    let body = events_csv(&export, language).map_err(ApiError::internal)?;
    let today = app::format::date(time::OffsetDateTime::now_utc().date());
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"audit-{today}.csv\"")),
        (HeaderName::from_static("x-total-count"), export.total.to_string()),
    ];
    Ok(audited((headers, body).into_response()))
}

/// The columns: each one's name without `lang` or with `lang=en` (the JSON's field name), then
/// its title with `lang=zh-Hans`, in the audit page's Chinese wording where the page has one
/// (`app/locales/zh-Hans/admin.json`: `audit.col`, `audit.filter`, `users.col.roles`).
const CSV_HEADER: [(&str, &str); 11] = [
    ("id", "事件编号"),
    ("occurred_at", "时间"),
    ("actor", "操作者"),
    ("roles", "角色"),
    ("action", "操作"),
    ("target_type", "对象类型"),
    ("target_id", "对象 ID"),
    ("patient_id", "患者 ID"),
    ("client_addr", "地址"),
    ("outcome", "结果"),
    ("detail", "详情"),
];

/// The header row in `language`.
fn csv_header(language: Language) -> [&'static str; 11] {
    CSV_HEADER.map(|(en, zh)| match language {
        Language::English => en,
        Language::SimplifiedChinese => zh,
    })
}

/// The last line of a file that holds `written` of `total` matching events.
fn truncation_note(written: i64, total: i64, language: Language) -> String {
    match language {
        Language::English => format!(
            "# truncated: {written} of {total} matching events (the export holds at most {AUDIT_EXPORT_CAP}); narrow the filter"
        ),
        Language::SimplifiedChinese => format!(
            "# 已截断：共 {total} 条匹配事件，仅导出 {written} 条（导出最多 {AUDIT_EXPORT_CAP} 条）；请缩小查询条件"
        ),
    }
}

/// One row per event; roles separated by `;`, the detail as compact JSON.
fn events_csv(export: &AuditSearch, language: Language) -> Result<String, csv::Error> {
    // Flexible: the truncation note is a one-field line after the rows.
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(csv_start(language).as_bytes().to_vec());
    out.write_record(csv_header(language))?;
    for event in &export.items {
        // The trail holds text that strangers typed (the username of a failed sign-in); the
        // detail JSON always starts with `{`.
        out.write_record(event_record(event).map(crate::spreadsheet::defused))?;
    }
    let written = export.items.len() as i64;
    if export.total > written {
        out.write_record([truncation_note(written, export.total, language)])?;
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
        let csv = events_csv(&export, Language::English).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,occurred_at,actor,roles,action,target_type,target_id,patient_id,client_addr,outcome,detail"
        );
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

    #[test]
    fn in_chinese_the_titles_and_the_note_are_chinese_and_the_events_as_recorded() {
        let export =
            AuditSearch { items: vec![event("ada"), event("=cmd()")], total: 3, page: 0, page_size: AUDIT_EXPORT_CAP };
        let english = events_csv(&export, Language::English).expect("csv");
        let chinese = events_csv(&export, Language::SimplifiedChinese).expect("csv");
        assert!(!english.starts_with('\u{feff}'));
        let chinese = chinese.strip_prefix('\u{feff}').expect("a UTF-8 byte order mark first, for Excel");
        let lines: Vec<&str> = chinese.lines().collect();
        // As the audit page writes them (app/locales/zh-Hans/admin.json).
        assert_eq!(lines[0], "事件编号,时间,操作者,角色,操作,对象类型,对象 ID,患者 ID,地址,结果,详情");
        assert_eq!(lines[1..3], english.lines().collect::<Vec<_>>()[1..3], "times, codes and roles as recorded");
        assert!(lines[2].starts_with("7,2026-12-01T09:00:00Z,'=cmd(),"), "{}", lines[2]);
        assert_eq!(lines[3], "# 已截断：共 3 条匹配事件，仅导出 2 条（导出最多 100000 条）；请缩小查询条件");
    }

    /// The Chinese titles are the audit page's own where it has one.
    #[test]
    fn the_chinese_titles_are_the_pages_wording() {
        let locale: serde_json::Value =
            serde_json::from_str(include_str!("../../../app/locales/zh-Hans/admin.json")).expect("locale");
        let page = [
            ("occurred_at", "/audit/col/time"),
            ("actor", "/audit/col/actor"),
            ("roles", "/users/col/roles"),
            ("action", "/audit/col/action"),
            ("target_type", "/audit/filter/target_type"),
            ("target_id", "/audit/filter/target_id"),
            ("patient_id", "/audit/filter/patient_id"),
            ("client_addr", "/audit/col/address"),
            ("outcome", "/audit/col/outcome"),
            ("detail", "/audit/col/detail"),
        ];
        for (column, key) in page {
            let (_, zh) = CSV_HEADER.iter().find(|(en, _)| *en == column).expect(column);
            assert_eq!(Some(*zh), locale.pointer(key).and_then(|v| v.as_str()), "{column}");
        }
    }
}
