//! The longitudinal patient record over HTTP: `GET /api/v1/patients` (search),
//! `GET /api/v1/patients/{id}` and `…/timeline`, linking and unlinking records (JSON), and the
//! record page's form posts (a redirect back, so that they work without JavaScript). All call
//! the record service.

use app::domain::language::Language;
use app::model::record::{LinkRequest, PatientSearchParams, TimelineParams, UnlinkRequest};
use app::service::{Caller, ServiceError, record as service};
use axum::{
    Form, Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

fn patient_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse::<Uuid>().map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/patients?q=&page=`: `{"items":[{"id","patient_id","authority","name","birth_date","studies",…}],"total",…}`.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PatientSearchParams>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::search(&state.pool, &caller, &params).await?)))
}

/// `GET /api/v1/patients/{id}?organ=&kind=`: the record page's data.
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<TimelineParams>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id)?;
    Ok(audited(Json(service::record(&state.pool, &caller, id, &params).await?)))
}

/// `GET /api/v1/patients/{id}/timeline?organ=&kind=`: `{"items":[{"at","day","kind","study_uid"?,…}]}`.
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<TimelineParams>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id)?;
    Ok(audited(Json(service::timeline(&state.pool, &caller, id, &params).await?)))
}

/// `GET /api/v1/patients/{id}/fhir`: the record as a FHIR R4 `Bundle` (`application/fhir+json`).
pub async fn fhir(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = patient_id(&id)?;
    let bundle = app::service::fhir::patient_bundle(&state.pool, &caller, id).await?;
    let headers = [(axum::http::header::CONTENT_TYPE, "application/fhir+json")];
    Ok(audited((headers, Json(bundle)).into_response()))
}

/// `POST /api/v1/patients/{id}/links` `{"patient_id","authority","reason"}`: 201 with the link.
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id)?;
    let view = service::link(&state.pool, &caller, id, &request).await?;
    Ok(audited((StatusCode::CREATED, Json(view)).into_response()))
}

/// `POST /api/v1/patients/{id}/links/{link}/end` `{"reason"}`: 204.
pub async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, link)): Path<(String, String)>,
    ApiJson(request): ApiJson<UnlinkRequest>,
) -> Result<Response, ApiError> {
    let id = patient_id(&id)?;
    let link = link.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    service::unlink(&state.pool, &caller, id, link, &request).await?;
    Ok(audited(StatusCode::NO_CONTENT.into_response()))
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Back to the record page with `done`, or the refusal: a code the page words, else the
/// service's text.
fn back(id: Uuid, done: &str, result: Result<(), ServiceError>, language: Language) -> Response {
    let page = format!("/patients/{id}");
    match result {
        Ok(()) => audited(redirect_with(&page, "done", done)),
        Err(ServiceError::NotFound) => audited(ApiError::NotFound.into_response()),
        Err(ServiceError::Forbidden) => audited(redirect_with(&page, "error", "role_may_not")),
        Err(error) => audited(redirect_with(&page, "error", &refusal_text(&error, language))),
    }
}

/// `POST /patients/{id}/links` (the record page's form).
pub async fn link_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = patient_id(&id) else { return ApiError::NotFound.into_response() };
    let request = LinkRequest {
        patient_id: field(&fields, "patient_id"),
        authority: field(&fields, "authority"),
        reason: field(&fields, "reason"),
    };
    back(id, "link", service::link(&state.pool, &caller, id, &request).await.map(|_| ()), language)
}

/// `POST /patients/{id}/links/{link}/end` (the record page's form).
pub async fn unlink_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path((id, link)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (Ok(id), Ok(link)) = (patient_id(&id), link.parse::<i64>()) else {
        return ApiError::NotFound.into_response();
    };
    let request = UnlinkRequest { reason: field(&fields, "reason") };
    back(id, "unlink", service::unlink(&state.pool, &caller, id, link, &request).await, language)
}
