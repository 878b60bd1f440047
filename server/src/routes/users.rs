//! User administration over HTTP (administrators): `POST /api/v1/admin/users/{username}` edits
//! an account, `POST /api/v1/admin/users/{username}/end-sessions` signs a user out everywhere;
//! the same as form posts behind the users page (they work without JavaScript).

use app::model::admin::UserUpdate;
use app::service::{Caller, admin};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{audited, redirect_with};
use crate::state::AppState;

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
        Err(error) => audited(redirect_with("/admin/users", "error", &error.to_string())),
    }
}

/// `POST /admin/users/{username}/end-sessions` (the users page's button).
pub async fn end_sessions_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Response {
    match admin::end_sessions(&state.pool, &caller, &username).await {
        Ok(()) => audited(redirect_with("/admin/users", "ended", &username)),
        Err(error) => audited(redirect_with("/admin/users", "error", &error.to_string())).into_response(),
    }
}
