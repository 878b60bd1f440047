//! Patient identity over HTTP: resolving a demographics mismatch, as a form post from the study
//! page (answered with a redirect, so it works without JavaScript) and as JSON. Both call the
//! patient-identity service.

use app::domain::identity::MismatchResolution;
use app::service::patients as service;
use app::service::{Caller, ServiceError};
use axum::{
    Form, Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::audited;
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

/// `POST /api/v1/mismatches/{id}/resolve`: `{"resolution": "kept_stored"|"updated_patient",
/// "note": "..."}`.
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResolveRequest>,
) -> Result<Response, ApiError> {
    let id = mismatch_id(&id)?;
    let resolution = resolution(&request.resolution)?;
    let study_uid =
        service::resolve(&state.pool, &caller, id, resolution, request.note).await.map_err(ServiceError::from)?;
    Ok(audited(Json(json!({ "id": id, "study_uid": study_uid, "resolution": resolution })).into_response()))
}

/// `POST /mismatches/{id}/resolve` from the study page: the same, then back to the study.
pub async fn resolve_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(request): Form<ResolveRequest>,
) -> Response {
    let result = async {
        let id = mismatch_id(&id)?;
        let resolution = resolution(&request.resolution)?;
        Ok::<_, ApiError>(
            service::resolve(&state.pool, &caller, id, resolution, request.note).await.map_err(ServiceError::from)?,
        )
    }
    .await;
    match result {
        Ok(study_uid) => audited(crate::http::redirect_with(
            &format!("/studies/{study_uid}"),
            "notice",
            "demographics mismatch resolved",
        )),
        // Not marked audited: the guard records the refused request.
        Err(error) => error.into_response(),
    }
}
