//! API tokens over HTTP (administrators): `GET|POST /api/v1/admin/tokens`,
//! `POST /api/v1/admin/tokens/{id}/revoke`, and the form posts behind the tokens page, which
//! work without JavaScript. A new token is shown once: the form post keeps it in the session
//! for the page to take (and forget) on the next view.

use app::model::tokens::NewTokenRequest;
use app::service::{Caller, ServiceError, tokens};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tower_sessions::Session;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

/// The session key holding a token just created, until its page shows it.
pub const CREATED_TOKEN: &str = app::api::tokens::CREATED_TOKEN_KEY;

/// `GET /api/v1/admin/tokens`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(tokens::list(&state.pool, &caller).await?).into_response())
}

/// `POST /api/v1/admin/tokens`: 201 with the token, shown this once.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewTokenRequest>,
) -> Result<Response, ApiError> {
    let created = tokens::create_as(&state.pool, &caller, &request).await?;
    Ok(audited((StatusCode::CREATED, Json(created))))
}

/// `POST /api/v1/admin/tokens/{id}/revoke`: 204; 404 for an unknown or already revoked token.
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    match tokens::revoke(&state.pool, &caller, &id).await {
        Ok(()) => audited(StatusCode::NO_CONTENT),
        // The refusal was audited too.
        Err(ServiceError::NotFound) => audited(ApiError::NotFound),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `POST /admin/tokens` (the page's form): creates, keeps the token for the page, and returns
/// to it; a refusal returns with its message.
pub async fn create_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let request = NewTokenRequest {
        username: value("username"),
        name: value("name"),
        scopes: fields.iter().filter(|(k, _)| k == "scopes").map(|(_, v)| v.clone()).collect(),
        expires_in_days: value("expires_in_days").trim().parse().unwrap_or(0),
    };
    match tokens::create_as(&state.pool, &caller, &request).await {
        Ok(created) => {
            let id = created.id.clone();
            if let Err(error) = session.insert(CREATED_TOKEN, created).await {
                return ApiError::internal(error).into_response();
            }
            audited(redirect_with("/admin/tokens", "created", &id))
        }
        Err(error) => audited(redirect_with("/admin/tokens", "error", &refusal_text(&error, language))),
    }
}

/// `POST /admin/tokens/{id}/revoke` (the page's button).
pub async fn revoke_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
) -> Response {
    match tokens::revoke(&state.pool, &caller, &id).await {
        Ok(()) => audited(redirect_with("/admin/tokens", "revoked", &id)),
        Err(error) => audited(redirect_with("/admin/tokens", "error", &refusal_text(&error, language))),
    }
}
