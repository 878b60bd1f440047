//! Patient identity over HTTP: resolving a demographics mismatch, as a form post from the study
//! page (answered with a redirect, so it works without JavaScript) and as JSON. Both call the
//! patient-identity service.

use app::api::SessionUser;
use app::api::session::ssr::ClientAddr;
use app::domain::identity::MismatchResolution;
use app::service::patients::{self as service, ResolveError};
use axum::{
    Extension, Form, Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::auth::audited;
use super::extract::ApiJson;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    resolution: String,
    note: Option<String>,
}

fn resolution(text: &str) -> Result<MismatchResolution, ApiError> {
    MismatchResolution::parse(text.trim())
        .ok_or_else(|| ApiError::Validation("resolution: `kept_stored` or `updated_patient`".into()))
}

fn mismatch_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse::<Uuid>().map_err(|_| ApiError::NotFound)
}

impl From<ResolveError> for ApiError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::NotFound => ApiError::NotFound,
            ResolveError::Forbidden => ApiError::Forbidden,
            resolved @ ResolveError::AlreadyResolved(_) => ApiError::Conflict(resolved.to_string()),
            invalid @ ResolveError::Invalid { .. } => ApiError::Validation(invalid.to_string()),
            ResolveError::Db(db) => db.into(),
        }
    }
}

/// `POST /api/v1/mismatches/{id}/resolve`: `{"resolution": "kept_stored"|"updated_patient",
/// "note": "..."}`.
pub async fn resolve(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResolveRequest>,
) -> Result<Response, ApiError> {
    let id = mismatch_id(&id)?;
    let resolution = resolution(&request.resolution)?;
    let study_uid = service::resolve(&state.pool, &user, id, resolution, request.note, Some(client)).await?;
    Ok(audited(Json(json!({ "id": id, "study_uid": study_uid, "resolution": resolution })).into_response()))
}

/// `POST /mismatches/{id}/resolve` from the study page: the same, then back to the study.
pub async fn resolve_form(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(id): Path<String>,
    Form(request): Form<ResolveRequest>,
) -> Response {
    let result = async {
        let id = mismatch_id(&id)?;
        let resolution = resolution(&request.resolution)?;
        Ok::<_, ApiError>(service::resolve(&state.pool, &user, id, resolution, request.note, Some(client)).await?)
    }
    .await;
    match result {
        Ok(study_uid) => {
            audited(super::redirect_with(&format!("/studies/{study_uid}"), "notice", "demographics mismatch resolved"))
        }
        // Not marked audited: the guard records the refused request.
        Err(error) => error.into_response(),
    }
}
