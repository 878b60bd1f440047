//! Sign-in and sign-out, as JSON for API clients and as form posts for the sign-in page.

use app::api::session::ssr::ClientAddr;
use app::model::SessionUser;
use axum::{
    Extension, Form, Json,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::extract::ApiJson;
use super::guard::current_user;
use super::signin;
use crate::auth::password::Password;
use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;
use axum::extract::State;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /api/v1/auth/login`: sets the session cookie and returns the user and roles.
pub async fn login_json(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    session: Session,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Response {
    match signin::sign_in(&state, &session, &body.username, Password::new(body.password), &client).await {
        Ok(user) => {
            let language = user.language;
            with_language(&state, language, audited(Json(user)))
        }
        // The sign-in service audited these itself.
        Err(error @ (ApiError::InvalidCredentials | ApiError::SigninLocked)) => audited(error),
        Err(error) => error.into_response(),
    }
}

/// `POST /login` from the sign-in page: redirects home (or to `next`) or back with a notice.
pub async fn login_form(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    session: Session,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return Redirect::to("/login?notice=missing").into_response() };
    let next = safe_next(&form.next);
    let result = signin::sign_in(&state, &session, &form.username, Password::new(form.password), &client).await;
    let notice = match result {
        Ok(user) => return with_language(&state, user.language, audited(Redirect::to(next))),
        Err(ApiError::InvalidCredentials) => "invalid",
        Err(ApiError::SigninLocked) => "locked",
        Err(ApiError::Validation(_)) => "missing",
        Err(other) => {
            tracing::error!(error = %other, "sign-in failed");
            "unavailable"
        }
    };
    audited(Redirect::to(&crate::http::login_url(Some(next).filter(|n| *n != "/"), Some(notice))))
}

/// `POST /api/v1/auth/logout`.
pub async fn logout_json(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    user: Option<Extension<SessionUser>>,
    session: Session,
) -> Result<Response, ApiError> {
    let user = current_user(user)?;
    signin::sign_out(&state, &session, Some(&user), &client).await?;
    Ok(audited(StatusCode::NO_CONTENT))
}

/// `POST /logout` from the page header: always lands on the sign-in page.
pub async fn logout_form(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    user: Option<Extension<SessionUser>>,
    session: Session,
) -> Result<Response, ApiError> {
    let user = user.map(|Extension(u)| u);
    signin::sign_out(&state, &session, user.as_ref(), &client).await?;
    Ok(audited(Redirect::to("/login?notice=signed_out")))
}

/// `GET /api/v1/me`.
pub async fn me(user: Option<Extension<SessionUser>>) -> Result<Json<SessionUser>, ApiError> {
    current_user(user).map(Json)
}

/// A user who chose an interface language gets it from sign-in on, in any browser.
fn with_language(
    state: &AppState,
    language: Option<app::domain::language::Language>,
    mut response: Response,
) -> Response {
    if let Some(language) = language {
        for cookie in crate::http::chosen_language_cookies(language, state.config.secure_cookies()) {
            response.headers_mut().append(axum::http::header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Only same-site paths, so the sign-in page cannot be used to redirect elsewhere (nor back to
/// itself).
fn safe_next(next: &str) -> &str {
    if next.starts_with("/login") { "/" } else { crate::http::local_page(next) }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/admin/users"), "/admin/users");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/login?notice=x"), "/");
        // `/%09/evil.example` arrives decoded; a browser strips the tab into `//evil.example`.
        for hidden in ["/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/ /evil.example", "/\u{a0}/x"] {
            assert_eq!(safe_next(hidden), "/", "{hidden:?}");
        }
        assert_eq!(safe_next("/patients?q=%E7%8E%8B"), "/patients?q=%E7%8E%8B");
        assert_eq!(safe_next(""), "/");
    }
}
