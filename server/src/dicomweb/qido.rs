//! QIDO-RS (PS3.18 §10.6): search studies, a study's series, and a series' instances, with the
//! common matching keys and `limit`/`offset`. Users see the studies of their own sites;
//! administrators see all.

use std::collections::HashMap;

use app::api::session::ssr::ClientAddr;
use app::model::SessionUser;
use axum::{
    Extension,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use elysium_db::images::StudyFilter;

use super::access::{audit_read, visible_study};
use super::json::{Dataset, da};
use super::{DICOM_JSON, base_url};
use crate::error::ApiError;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
/// The deepest page a search reaches: past it the database would still read and skip every row
/// before it, which a client could ask for on every request.
const MAX_OFFSET: i64 = 100_000;

pub async fn studies(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = study_filter(&user, &query)?;
    let rows = elysium_db::images::studies(&state.pool, &filter).await?;
    // Search results show patients' names: the search itself is audited (one event per request,
    // with the patients found), before the results are sent.
    let mut patients: Vec<&str> = rows.iter().map(|r| r.patient_id.as_str()).collect();
    patients.sort_unstable();
    patients.dedup();
    let event = app::service::Audit::by(&user, Some(client), "dicomweb.search")
        .detail(serde_json::json!({ "query": query, "results": rows.len(), "patient_ids": patients }));
    let event = match patients.as_slice() {
        [one] => event.patient(*one),
        _ => event,
    };
    event.record(&state.pool).await?;
    let base = base_url(&state, &headers);
    let body: Vec<_> = rows
        .into_iter()
        .map(|s| {
            let mut ds = Dataset::new();
            ds.text("00080020", "DA", da(s.study_date).as_deref())
                .text("00080030", "TM", s.study_time.as_deref())
                .text("00080050", "SH", s.accession_number.as_deref())
                .texts("00080061", "CS", &s.modalities)
                .person("00080090", s.referring_physician.as_deref())
                .text("00081030", "LO", s.description.as_deref())
                .text("00081190", "UR", Some(&format!("{base}/studies/{}", s.study_uid)))
                .person("00100010", s.patient_name.as_deref())
                .text("00100020", "LO", Some(&s.patient_id))
                // IssuerOfPatientID: the patient is (issuer, ID), so a viewer must see both.
                .text("00100021", "LO", Some(s.patient_authority.as_str()).filter(|a| !a.is_empty()))
                .text("00100030", "DA", da(s.patient_birth_date).as_deref())
                .text("00100040", "CS", s.patient_sex.as_deref())
                .text("0020000D", "UI", Some(&s.study_uid))
                .number("00201206", "IS", Some(s.series_count))
                .number("00201208", "IS", Some(s.instance_count));
            ds.into_value()
        })
        .collect();
    Ok(dicom_json(body))
}

pub async fn series(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(study): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let rows =
        elysium_db::images::series_of_study(&state.pool, &study, query.get("Modality").map(String::as_str)).await?;
    let detail = serde_json::json!({ "level": "series", "query": query, "results": rows.len() });
    audit_read(&state, &user, client, &visible, "dicomweb.search", detail).await?;
    let base = base_url(&state, &headers);
    let body: Vec<_> = rows
        .into_iter()
        .map(|s| {
            let mut ds = Dataset::new();
            ds.text("00080060", "CS", s.modality.as_deref())
                .text("0008103E", "LO", s.description.as_deref())
                .text("00081190", "UR", Some(&format!("{base}/studies/{}/series/{}", s.study_uid, s.series_uid)))
                .text("00180015", "CS", s.body_part.as_deref())
                .text("0020000D", "UI", Some(&s.study_uid))
                .text("0020000E", "UI", Some(&s.series_uid))
                .number("00200011", "IS", s.series_number.map(i64::from))
                .number("00201209", "IS", Some(i64::from(s.instance_count)));
            ds.into_value()
        })
        .collect();
    Ok(dicom_json(body))
}

pub async fn instances(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let rows = elysium_db::images::instances_of_series(&state.pool, &study, &series).await?;
    let detail = serde_json::json!({ "level": "instances", "series_uid": series, "results": rows.len() });
    audit_read(&state, &user, client, &visible, "dicomweb.search", detail).await?;
    let base = base_url(&state, &headers);
    let body: Vec<_> = rows
        .into_iter()
        .map(|i| {
            let mut ds = Dataset::new();
            ds.text("00080016", "UI", Some(&i.sop_class_uid))
                .text("00080018", "UI", Some(&i.sop_instance_uid))
                .text("00083002", "UI", Some(&i.transfer_syntax_uid))
                .text(
                    "00081190",
                    "UR",
                    Some(&format!("{base}/studies/{study}/series/{series}/instances/{}", i.sop_instance_uid)),
                )
                .text("0020000D", "UI", Some(&study))
                .text("0020000E", "UI", Some(&series))
                .number("00200013", "IS", i.instance_number.map(i64::from))
                .number("00280008", "IS", i.number_of_frames.map(i64::from));
            ds.into_value()
        })
        .collect();
    Ok(dicom_json(body))
}

fn dicom_json(body: Vec<serde_json::Value>) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(DICOM_JSON));
    response
}

fn study_filter(user: &SessionUser, query: &HashMap<String, String>) -> Result<StudyFilter, ApiError> {
    let key = |names: &[&str]| {
        names.iter().find_map(|n| query.get(*n)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    let number = |name: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match query.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a number from 0 to {max}"))),
        }
    };
    let (date_from, date_to) = match key(&["StudyDate", "00080020"]) {
        Some(range) => date_range(&range)?,
        None => (None, None),
    };
    Ok(StudyFilter {
        patient_id: key(&["PatientID", "00100020"]),
        patient_name_like: key(&["PatientName", "00100010"]).map(|name| wildcard_to_like(&name)),
        accession_number: key(&["AccessionNumber", "00080050"]),
        study_uid: key(&["StudyInstanceUID", "0020000D"]),
        modality: key(&["ModalitiesInStudy", "00080061"]),
        date_from,
        date_to,
        site_ids: user.site_scope(),
        limit: number("limit", DEFAULT_LIMIT, MAX_LIMIT)?,
        offset: number("offset", 0, MAX_OFFSET)?,
    })
}

/// QIDO wildcards (`*`, `?`) as a SQL LIKE pattern, with LIKE's own metacharacters escaped.
fn wildcard_to_like(value: &str) -> String {
    let mut pattern = String::new();
    for c in value.chars() {
        match c {
            '*' => pattern.push('%'),
            '?' => pattern.push('_'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    pattern
}

/// `YYYYMMDD`, `YYYYMMDD-`, `-YYYYMMDD` or `YYYYMMDD-YYYYMMDD` (PS3.4 §C.2.2.2.5).
fn date_range(value: &str) -> Result<(Option<time::Date>, Option<time::Date>), ApiError> {
    let bad = || ApiError::BadRequest(format!("StudyDate `{value}` is not YYYYMMDD or a range of them"));
    let parse = |s: &str| -> Result<Option<time::Date>, ApiError> {
        if s.is_empty() {
            return Ok(None);
        }
        let format = time::macros::format_description!("[year][month][day]");
        time::Date::parse(s, &format).map(Some).map_err(|_| bad())
    };
    match value.split_once('-') {
        Some((from, to)) => Ok((parse(from)?, parse(to)?)),
        None => {
            let day = parse(value)?;
            Ok((day, day))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_escaped_like_patterns() {
        assert_eq!(wildcard_to_like("DOE*"), "DOE%");
        assert_eq!(wildcard_to_like("D?E"), "D_E");
        assert_eq!(wildcard_to_like("100%_x"), "100\\%\\_x");
    }

    #[test]
    fn study_date_ranges() {
        let d = |y, m, day| time::Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), day).ok();
        assert_eq!(date_range("20240101").ok(), Some((d(2024, 1, 1), d(2024, 1, 1))));
        assert_eq!(date_range("20240101-20241231").ok(), Some((d(2024, 1, 1), d(2024, 12, 31))));
        assert_eq!(date_range("-20241231").ok(), Some((None, d(2024, 12, 31))));
        assert_eq!(date_range("20240101-").ok(), Some((d(2024, 1, 1), None)));
        assert!(date_range("2024-01-01x").is_err());
        assert!(date_range("20241301").is_err());
    }
}
