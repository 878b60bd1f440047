//! Programme metrics over HTTP (administrators): the programme table as JSON and CSV, and the
//! records behind each of its figures.

use app::model::program::{ProgramParams, ProgramReport, RecordsParams};
use app::service::{Caller, program};
use axum::{
    Json,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

/// The filter as a query string; an unknown parameter is refused rather than ignored (a typo in
/// `cancer` must not silently report every cancer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramQuery {
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    cancer: Option<String>,
    model_version: Option<String>,
}

impl From<ProgramQuery> for ProgramParams {
    fn from(q: ProgramQuery) -> Self {
        ProgramParams { from: q.from, to: q.to, site: q.site, cancer: q.cancer, model_version: q.model_version }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsQuery {
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    cancer: Option<String>,
    model_version: Option<String>,
    figure: String,
    reason: Option<String>,
    page: Option<u64>,
}

fn today() -> time::Date {
    app::service::followup::today()
}

/// `GET /api/v1/metrics/program?from=&to=&site=&cancer=&model_version=`.
pub async fn program_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProgramQuery>,
) -> Result<Response, ApiError> {
    let report = program::report(&state.pool, &caller, &query.into(), today()).await?;
    Ok(audited(Json(report)))
}

/// `GET /api/v1/metrics/program.csv?...`: the table, one row per cancer and a total row.
pub async fn program_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProgramQuery>,
) -> Result<Response, ApiError> {
    let report = program::report(&state.pool, &caller, &query.into(), today()).await?;
    let body = table_csv(&report).map_err(ApiError::internal)?;
    let filename = format!("attachment; filename=\"programme-{}-{}.csv\"", report.from, report.to);
    Ok(audited(
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, filename)], body)
            .into_response(),
    ))
}

/// The CSV columns: the filter, then the JSON's figures under the same names.
const CSV_HEADER: [&str; 30] = [
    "from",
    "to",
    "site",
    "model_version",
    "cancer",
    "screened",
    "eligible",
    "patients",
    "positive",
    "reviewed",
    "dismissed",
    "workup_ordered",
    "confirmed_pathology",
    "confirmed_imaging",
    "benign",
    "no_lesion",
    "declined",
    "lost",
    "open",
    "overdue",
    "ppv_resolved",
    "ppv_resolved_ci_low",
    "ppv_resolved_ci_high",
    "ppv_all",
    "ppv_all_ci_low",
    "ppv_all_ci_high",
    "median_days_to_outcome",
    "p90_days_to_outcome",
    "median_days_to_decision",
    "median_days_to_treatment",
];

fn table_csv(report: &ProgramReport) -> Result<String, csv::Error> {
    let number = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let days = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for row in report.cancers.iter().chain([&report.total]) {
        let cancer = if std::ptr::eq(row, &report.total) { "all" } else { row.cancer.as_str() };
        let t = &row.tally;
        let mut record = vec![
            report.from.clone(),
            report.to.clone(),
            report.site.clone().unwrap_or_default(),
            report.model_version.clone().unwrap_or_default(),
            cancer.to_owned(),
        ];
        record.extend(
            [
                row.screened,
                row.eligible,
                row.patients,
                t.positive,
                t.reviewed,
                t.dismissed,
                t.workup_ordered,
                t.confirmed_pathology,
                t.confirmed_imaging,
                t.benign,
                t.no_lesion,
                t.declined,
                t.lost,
                t.open,
                t.overdue,
            ]
            .map(|n| n.to_string()),
        );
        for p in [t.ppv_resolved, t.ppv_all] {
            record.extend([number(p.value), number(p.ci_low), number(p.ci_high)]);
        }
        record.extend([
            days(t.median_days_to_outcome),
            days(t.p90_days_to_outcome),
            days(t.median_days_to_decision),
            days(t.median_days_to_treatment),
        ]);
        out.write_record(&record)?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// `GET /api/v1/metrics/program/records?figure=&reason=&page=&from=&to=&site=&cancer=&model_version=`.
pub async fn records(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RecordsQuery>,
) -> Result<Response, ApiError> {
    let params = RecordsParams {
        from: q.from,
        to: q.to,
        site: q.site,
        cancer: q.cancer,
        model_version: q.model_version,
        figure: q.figure,
        reason: q.reason,
        page: q.page,
    };
    Ok(audited(Json(program::records(&state.pool, &caller, &params, today()).await?)))
}
