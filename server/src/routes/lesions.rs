//! Tracked lesions over HTTP: `GET /api/v1/patients/{id}/lesions`, `GET /api/v1/lesions/{id}`,
//! splitting and joining tracks (JSON), and the lesion page's form posts (a redirect back, so
//! that they work without JavaScript). All call the lesions service.

use app::domain::language::Language;
use app::model::lesions::{JoinRequest, SplitRequest};
use app::service::{Caller, ServiceError, lesions as service};
use axum::{
    Form, Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

fn track_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| ApiError::NotFound)
}

/// `GET /api/v1/patients/{id}/lesions`: `{"items":[{"id","organ","sightings":[…],"intervals":[…],"overall"}]}`.
pub async fn of_patient(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id.parse::<Uuid>().map_err(|_| ApiError::NotFound)?;
    Ok(audited(Json(service::of_patient(&state.pool, &caller, id).await?)))
}

/// `GET /api/v1/lesions/{id}`: the track, its corrections and the tracks it could join.
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::detail(&state.pool, &caller, track_id(&id)?).await?)))
}

/// `POST /api/v1/lesions/{id}/split` `{"sighting","reason"}`: the new track.
pub async fn split(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SplitRequest>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::split(&state.pool, &caller, track_id(&id)?, &request).await?)))
}

/// `POST /api/v1/lesions/{id}/join` `{"other","reason"}`: the track kept.
pub async fn join(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<JoinRequest>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::join(&state.pool, &caller, track_id(&id)?, &request).await?)))
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Back to a lesion page with `done`, or the refusal: a code the page words, else the
/// service's text.
fn back(track: i64, done: &str, result: Result<i64, ServiceError>, language: Language) -> Response {
    match result {
        Ok(shown) => audited(redirect_with(&format!("/lesions/{shown}"), "done", done)),
        Err(ServiceError::NotFound) => audited(ApiError::NotFound.into_response()),
        Err(ServiceError::Forbidden) => audited(redirect_with(&format!("/lesions/{track}"), "error", "role_may_not")),
        Err(error) => audited(redirect_with(&format!("/lesions/{track}"), "error", &refusal_text(&error, language))),
    }
}

/// `POST /lesions/{id}/split` (the lesion page's form): back to the track it left.
pub async fn split_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = track_id(&id) else { return ApiError::NotFound.into_response() };
    let Ok(sighting) = field(&fields, "sighting").trim().parse::<i64>() else {
        let refusal =
            ServiceError::invalid("sighting", app::said!("choose a sighting to split off", "请选择要拆分出的一次所见"));
        return back(id, "split", Err(refusal), language);
    };
    let request = SplitRequest { sighting, reason: field(&fields, "reason") };
    back(id, "split", service::split(&state.pool, &caller, id, &request).await.map(|o| o.track), language)
}

/// `POST /lesions/{id}/join` (the lesion page's form).
pub async fn join_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = track_id(&id) else { return ApiError::NotFound.into_response() };
    let Ok(other) = field(&fields, "other").trim().parse::<i64>() else {
        let refusal = ServiceError::invalid("other", app::said!("choose the track to join", "请选择要合并的病灶轨迹"));
        return back(id, "join", Err(refusal), language);
    };
    let request = JoinRequest { other, reason: field(&fields, "reason") };
    back(id, "join", service::join(&state.pool, &caller, id, &request).await.map(|o| o.track), language)
}
