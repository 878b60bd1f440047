//! The tumour board over HTTP: the REST API under `/api/v1/mdt/` and the form posts behind the
//! board's pages (`/mdt/...`), which answer with a redirect so that they work without
//! JavaScript. Both call the board service.

use app::domain::language::Language;
use app::model::mdt::*;
use app::service::Caller;
use app::service::mdt::{agreement, cases, meetings, proposal, review};
use axum::{
    Form, Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, redirect_with_pairs, refusal_text};
use crate::state::AppState;

fn case_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    status: Option<String>,
    cancer: Option<String>,
    page: Option<i64>,
}

/// `GET /api/v1/mdt/cases?status=&cancer=&page=`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CaseQuery>,
) -> Result<Response, ApiError> {
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    let cancer = query.cancer.as_deref().filter(|c| !c.is_empty());
    let list = cases::list(&state.pool, &caller, status, cancer, query.page.unwrap_or(0)).await?;
    Ok(audited(Json(list)))
}

/// `POST /api/v1/mdt/cases`: a case opened directly (larynx from ENT, for instance).
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewCaseRequest>,
) -> Result<Response, ApiError> {
    let written = cases::open(&state.pool, &caller, &request).await?;
    stage_with_model(&state, written.id);
    Ok(audited((StatusCode::CREATED, Json(written))))
}

/// A case opened directly on a series: the staging model registered for its cancer, if any,
/// proposes in the background (such a case has no screening lesion for the image measurement to
/// start from).
fn stage_with_model(state: &AppState, case: i64) {
    crate::board::measure_in_background(
        state.pool.clone(),
        state.ingestor.store().clone(),
        state.staging_models.clone(),
        case,
    );
}

/// `GET /api/v1/mdt/cases/{id}`: the case with every proposal and decision version.
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let detail = cases::detail(&state.pool, &caller, &state.board, case_id(&id)?).await?;
    Ok(audited(Json(detail)))
}

/// `POST /api/v1/mdt/cases/{id}/review`.
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> Result<Response, ApiError> {
    let written = review::review(&state.pool, &caller, case_id(&id)?, &request).await?;
    Ok(audited(Json(written)))
}

/// `POST /api/v1/mdt/cases/{id}/sign`.
pub async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SignRequest>,
) -> Result<Response, ApiError> {
    let written = review::sign(&state.pool, &caller, &state.board, case_id(&id)?, &request).await?;
    Ok(audited(Json(written)))
}

/// `POST /api/v1/mdt/cases/{id}/treatment`.
pub async fn treatment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<TreatmentRequest>,
) -> Result<Response, ApiError> {
    let written = review::record_treatment(&state.pool, &caller, case_id(&id)?, &request).await?;
    Ok(audited(Json(written)))
}

/// `POST /api/v1/mdt/cases/{id}/measurements`: a radiologist's measurement; the proposal is
/// recomputed as a new version.
pub async fn measure(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<MeasurementRequest>,
) -> Result<Response, ApiError> {
    let written = proposal::measure(&state.pool, &caller, case_id(&id)?, &request).await?;
    Ok(audited((StatusCode::CREATED, Json(written))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    when: Option<String>,
}

/// `GET /api/v1/mdt/meetings?when=upcoming|past|all`.
pub async fn meeting_list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<MeetingQuery>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(meetings::list(&state.pool, &caller, query.when.as_deref()).await?)))
}

/// `GET /api/v1/mdt/meetings/{id}`: the meeting and its agenda.
pub async fn meeting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(meetings::detail(&state.pool, &caller, case_id(&id)?).await?)))
}

/// `POST /api/v1/mdt/meetings`.
pub async fn create_meeting(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewMeetingRequest>,
) -> Result<Response, ApiError> {
    let meeting = meetings::create(&state.pool, &caller, &request).await?;
    Ok(audited((StatusCode::CREATED, Json(meeting))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaRequest {
    case_id: i64,
}

/// `POST /api/v1/mdt/meetings/{id}/agenda` `{"case_id"}`.
pub async fn add_to_agenda(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AgendaRequest>,
) -> Result<Response, ApiError> {
    let position = meetings::add_case(&state.pool, &caller, case_id(&id)?, request.case_id).await?;
    Ok(audited(Json(serde_json::json!({ "case_id": request.case_id, "position": position }))))
}

/// `GET /api/v1/mdt/agreement?cancer=&from=&to=`.
pub async fn agreement(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AgreementParams>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(agreement::report(&state.pool, &caller, &params).await?)))
}

// ---- Form posts behind the pages ----

/// Back to `page` with the service's refusal: a stale version as a code the page words in the
/// reader's language, anything else as the service's message.
fn refused(page: &str, error: app::service::ServiceError, language: Language) -> Response {
    use app::service::ServiceError;
    match error {
        ServiceError::NotFound => ApiError::NotFound.into_response(),
        ServiceError::Conflict(message) if message.en.starts_with("the case was changed") => {
            redirect_with_pairs(page, &[("error", "stale")])
        }
        ServiceError::Forbidden => redirect_with(page, "error", "role_may_not"),
        other => redirect_with(page, "error", &refusal_text(&other, language)),
    }
}

fn fields_map(fields: Vec<(String, String)>) -> std::collections::HashMap<String, String> {
    fields.into_iter().map(|(k, v)| (k, v.trim().to_owned())).filter(|(_, v)| !v.is_empty()).collect()
}

fn version_of(fields: &std::collections::HashMap<String, String>) -> Option<i32> {
    fields.get("expected_version").and_then(|v| v.parse().ok())
}

/// One category of the review form: `accept`, or a category with its reason.
fn category_review(fields: &std::collections::HashMap<String, String>, name: &str) -> app::domain::mdt::CategoryReview {
    match fields.get(name).map(String::as_str) {
        None | Some("accept") => app::domain::mdt::CategoryReview::accept(),
        Some(category) => app::domain::mdt::CategoryReview::Override {
            category: category.to_owned(),
            reason: fields.get(&format!("{name}_reason")).cloned().unwrap_or_default(),
        },
    }
}

/// `POST /mdt/cases/{id}/review` from the case page.
pub async fn review_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = case_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/mdt/cases/{id}");
    let fields = fields_map(fields);
    let Some(expected_version) = version_of(&fields) else {
        return audited(redirect_with(&page, "error", "stale"));
    };
    let request = ReviewRequest {
        expected_version,
        t: category_review(&fields, "t"),
        n: category_review(&fields, "n"),
        m: category_review(&fields, "m"),
        recommendation: fields.get("recommendation").cloned().unwrap_or_default(),
        note: fields.get("note").cloned(),
        guideline_refs: fields.get("guideline_refs").cloned(),
        amendment_reason: fields.get("amendment_reason").cloned(),
        histology: fields.get("histology").cloned(),
        subsite: fields.get("subsite").cloned(),
    };
    match review::review(&state.pool, &caller, id, &request).await {
        Ok(_) => audited(redirect_with(&page, "done", "review")),
        Err(error) => audited(refused(&page, error, language)),
    }
}

/// `POST /mdt/cases/{id}/sign` from the case page.
pub async fn sign_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = case_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/mdt/cases/{id}");
    let fields = fields_map(fields);
    let Some(expected_version) = version_of(&fields) else {
        return audited(redirect_with(&page, "error", "stale"));
    };
    match review::sign(&state.pool, &caller, &state.board, id, &SignRequest { expected_version }).await {
        Ok(written) => {
            audited(redirect_with(&page, "done", if written.status.as_str() == "decided" { "locked" } else { "sign" }))
        }
        Err(error) => audited(refused(&page, error, language)),
    }
}

/// `POST /mdt/cases/{id}/treatment` from the case page.
pub async fn treatment_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = case_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/mdt/cases/{id}");
    let fields = fields_map(fields);
    let Some(expected_version) = version_of(&fields) else {
        return audited(redirect_with(&page, "error", "stale"));
    };
    let request = TreatmentRequest {
        expected_version,
        treatment: fields.get("treatment").cloned().unwrap_or_default(),
        started_on: fields.get("started_on").cloned().unwrap_or_default(),
        deviation_reason: fields.get("deviation_reason").cloned(),
    };
    match review::record_treatment(&state.pool, &caller, id, &request).await {
        Ok(_) => audited(redirect_with(&page, "done", "treatment")),
        Err(error) => audited(refused(&page, error, language)),
    }
}

/// The measurement form's optional `position_mm`: `x,y,z` in mm (as the slice viewer fills it
/// in); an empty field is no position, anything else is refused.
fn position_field(text: Option<&str>) -> Result<Option<[f64; 3]>, app::service::ServiceError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => app::domain::geometry::parse_position(text).map(Some).ok_or_else(|| {
            app::service::ServiceError::invalid(
                "position_mm",
                app::said!(
                    "three coordinates in mm separated by commas (x,y,z), or nothing",
                    "以逗号分隔的三个坐标（x,y,z，毫米），或不填"
                ),
            )
        }),
    }
}

/// `POST /mdt/cases/{id}/measurements` from the case page.
pub async fn measure_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = case_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/mdt/cases/{id}");
    let fields = fields_map(fields);
    let Some(expected_version) = version_of(&fields) else {
        return audited(redirect_with(&page, "error", "stale"));
    };
    let number = |name: &str| fields.get(name).and_then(|v| v.parse::<f64>().ok());
    let Some(slice_index) = fields.get("slice_index").and_then(|v| v.parse::<i32>().ok()) else {
        let refusal = app::said!("slice_index: the slice the measurement was taken on", "slice_index：测量所在的层面");
        return audited(redirect_with(&page, "error", refusal.in_language(language)));
    };
    let position_mm = match position_field(fields.get("position_mm").map(String::as_str)) {
        Ok(position) => position,
        Err(error) => return audited(refused(&page, error, language)),
    };
    let request = MeasurementRequest {
        expected_version,
        kind: fields.get("kind").cloned().unwrap_or_default(),
        size_mm: number("size_mm"),
        location: fields.get("location").cloned(),
        side: fields.get("side").cloned(),
        slice_index,
        position_mm,
        corrects: fields.get("corrects").and_then(|v| v.parse().ok()),
        note: fields.get("note").cloned(),
    };
    match proposal::measure(&state.pool, &caller, id, &request).await {
        Ok(_) => audited(redirect_with(&page, "done", "measure")),
        Err(error) => audited(refused(&page, error, language)),
    }
}

/// `POST /mdt/cases` from the new-case form.
pub async fn open_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = fields_map(fields);
    let back = match fields.get("study_uid") {
        Some(study) => format!("/mdt/cases/new?study={}", urlencoding_component(study)),
        None => "/mdt/cases/new".to_owned(),
    };
    let request = NewCaseRequest {
        patient: fields.get("patient").and_then(|p| p.parse().ok()),
        study_uid: fields.get("study_uid").cloned(),
        cancer: fields.get("cancer").cloned().unwrap_or_default(),
        histology: fields.get("histology").cloned(),
        subsite: fields.get("subsite").cloned(),
        diagnosis: fields.get("diagnosis").cloned(),
        referral_note: fields.get("referral_note").cloned(),
        series_uid: fields.get("series_uid").cloned(),
    };
    match cases::open(&state.pool, &caller, &request).await {
        Ok(written) => {
            stage_with_model(&state, written.id);
            audited(redirect_with(&format!("/mdt/cases/{}", written.id), "done", "open"))
        }
        Err(error) => audited(refused(&back, error, language)),
    }
}

/// `POST /mdt/meetings` from the meetings page.
pub async fn create_meeting_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let attendees: Vec<String> = fields
        .iter()
        .filter(|(k, v)| k == "attendees" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    let fields = fields_map(fields);
    let request = NewMeetingRequest {
        title: fields.get("title").cloned().unwrap_or_default(),
        starts_at: fields.get("starts_at").cloned().unwrap_or_default(),
        site: fields.get("site").cloned(),
        chair: fields.get("chair").cloned(),
        attendees,
    };
    match meetings::create(&state.pool, &caller, &request).await {
        Ok(meeting) => audited(redirect_with(&format!("/mdt/meetings/{}", meeting.id), "done", "created")),
        Err(error) => audited(refused("/mdt/meetings", error, language)),
    }
}

/// `POST /mdt/meetings/{id}/agenda` from a case page or the meeting page.
pub async fn agenda_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(meeting_id) = case_id(&id) else { return ApiError::NotFound.into_response() };
    let fields = fields_map(fields);
    let page = format!("/mdt/meetings/{meeting_id}");
    let Some(case) = fields.get("case_id").and_then(|c| c.parse::<i64>().ok()) else {
        return audited(redirect_with(
            &page,
            "error",
            app::said!("case: choose a case", "case：请选择病例").in_language(language),
        ));
    };
    match meetings::add_case(&state.pool, &caller, meeting_id, case).await {
        Ok(_) => audited(redirect_with(&page, "done", "agenda")),
        Err(error) => audited(refused(&page, error, language)),
    }
}

/// A query-string value, percent-encoded.
fn urlencoding_component(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).unwrap_or_default().trim_start_matches("v=").to_owned()
}
