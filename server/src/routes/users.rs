//! User administration over HTTP (administrators): `POST /api/v1/admin/users` creates an
//! account, `POST /api/v1/admin/users/{username}` edits one,
//! `POST /api/v1/admin/users/{username}/reset-password` gives it a new temporary password and
//! `POST /api/v1/admin/users/{username}/end-sessions` signs a user out everywhere; the same as
//! form posts behind the users page (they work without JavaScript). A temporary password is
//! shown once: in the JSON answer, or kept in the administrator's session for the page to take
//! (and forget) on its next view.

use app::api::admin::ISSUED_PASSWORD_KEY;
use app::model::admin::{IssuedPassword, NewUserRequest, UserUpdate};
use app::service::{Caller, admin};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tower_sessions::Session;

use super::extract::ApiJson;
use crate::auth::password::{self, Password};
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

/// A temporary password for `username` and its argon2id hash (off the async threads).
async fn temporary_password(state: &AppState, username: &str) -> Result<(String, String), ApiError> {
    let temporary = password::temporary(username);
    let hash = state.hasher.hash(Password::new(temporary.clone())).await.map_err(ApiError::internal)?;
    Ok((temporary, hash))
}

/// `POST /api/v1/admin/users` `{"username","display_name","roles","sites"}`: 201 with the
/// account and its `temporary_password`, shown this once.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewUserRequest>,
) -> Result<Response, ApiError> {
    let (temporary, hash) = temporary_password(&state, &request.username).await?;
    let user = admin::create_user(&state.pool, &caller, &request, &hash).await?;
    Ok(audited((StatusCode::CREATED, Json(IssuedPassword { user, temporary_password: temporary }))))
}

/// `POST /api/v1/admin/users/{username}/reset-password`: 200 with the account and its new
/// `temporary_password`, shown this once; the user's sessions have ended.
pub async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let (temporary, hash) = temporary_password(&state, &username).await?;
    let user = admin::reset_password(&state.pool, &caller, &username, &hash).await?;
    Ok(audited(Json(IssuedPassword { user, temporary_password: temporary })))
}

/// Keeps a temporary password in the administrator's session for the users page to show once,
/// and returns to the page.
async fn show_once(session: &Session, issued: IssuedPassword, key: &str) -> Response {
    let username = issued.user.username.clone();
    if let Err(error) = session.insert(ISSUED_PASSWORD_KEY, issued).await {
        return audited(ApiError::internal(error));
    }
    audited(redirect_with("/admin/users", key, &username))
}

/// `POST /admin/users` (the users page's "New user" form).
pub async fn create_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let all = |key: &str| fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let request = NewUserRequest {
        username: all("username").into_iter().next().unwrap_or_default(),
        display_name: all("display_name").into_iter().next().unwrap_or_default(),
        roles: all("roles"),
        sites: all("sites"),
        must_change_password: all("must_change_password").iter().any(|v| v == "true"),
    };
    let created = match temporary_password(&state, &request.username).await {
        Ok((temporary, hash)) => admin::create_user(&state.pool, &caller, &request, &hash)
            .await
            .map(|user| IssuedPassword { user, temporary_password: temporary }),
        Err(error) => return error.into_response(),
    };
    match created {
        Ok(issued) => show_once(&session, issued, "created").await,
        Err(error) => audited(redirect_with("/admin/users", "error", &refusal_text(&error, language))),
    }
}

/// `POST /admin/users/{username}/reset-password` (the users page's button).
pub async fn reset_password_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    session: Session,
    Path(username): Path<String>,
) -> Response {
    let reset = match temporary_password(&state, &username).await {
        Ok((temporary, hash)) => admin::reset_password(&state.pool, &caller, &username, &hash)
            .await
            .map(|user| IssuedPassword { user, temporary_password: temporary }),
        Err(error) => return error.into_response(),
    };
    match reset {
        Ok(issued) => show_once(&session, issued, "reset").await,
        Err(error) => audited(redirect_with("/admin/users", "error", &refusal_text(&error, language))),
    }
}

/// `POST /api/v1/admin/users/{username}` `{"display_name","active","roles":[...],"sites":[...]}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    ApiJson(update): ApiJson<UserUpdate>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(admin::update_user(&state.pool, &caller, &username, &update).await?)))
}

/// `POST /api/v1/admin/users/{username}/end-sessions`: 204.
pub async fn end_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    admin::end_sessions(&state.pool, &caller, &username).await?;
    Ok(audited(StatusCode::NO_CONTENT))
}

/// `POST /admin/users/{username}` (the users page's form).
pub async fn update_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(username): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let all = |key: &str| fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let update = UserUpdate {
        display_name: all("display_name").into_iter().next().unwrap_or_default(),
        active: all("active").iter().any(|v| v == "true"),
        roles: all("roles"),
        sites: all("sites"),
    };
    match admin::update_user(&state.pool, &caller, &username, &update).await {
        Ok(_) => audited(redirect_with("/admin/users", "saved", &username)),
        Err(error) => audited(redirect_with("/admin/users", "error", &refusal_text(&error, language))),
    }
}

/// `POST /admin/users/{username}/end-sessions` (the users page's button).
pub async fn end_sessions_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(username): Path<String>,
) -> Response {
    match admin::end_sessions(&state.pool, &caller, &username).await {
        Ok(()) => audited(redirect_with("/admin/users", "ended", &username)),
        Err(error) => audited(redirect_with("/admin/users", "error", &refusal_text(&error, language))).into_response(),
    }
}
