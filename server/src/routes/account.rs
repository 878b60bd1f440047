//! The signed-in user's own password: `POST /api/v1/auth/password`
//! `{"current_password","new_password"}` and the form post behind `/account/password` (works
//! without JavaScript).
//!
//! The current password is checked as at sign-in (argon2id off the async threads), and a wrong
//! one counts towards the same throttle as a failed sign-in, so that a session left open cannot
//! be used to guess it. A wrong current password is 422 `validation_failed` naming
//! `current_password`, not 401: the session is still good, and clients read 401 as "signed
//! out". Every refusal changes nothing. On success "must change password" is cleared, every
//! other session of the user ends, and this one goes on: it gets a fresh id and is signed in
//! again just after the moment the others ended (like a sign-in, which typing the current
//! password is, its absolute lifetime starts again).

use app::api::session::ssr::ClientAddr;
use app::domain::accounts::{PasswordPolicyError, check_password_policy};
use app::model::SessionUser;
use app::service::{Audit, Caller};
use axum::{
    Extension, Form,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use super::extract::ApiJson;
use super::guard::current_user;
use crate::auth::identity::{self, SIGNED_IN_AT, USER_ID};
use crate::auth::password::Password;
use crate::auth::policy::PASSWORD_PAGE;
use crate::error::ApiError;
use crate::http::{audited, redirect_with};
use crate::state::AppState;

pub const ACTION_PASSWORD_CHANGE: &str = "user.password_change";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

/// Why a change was refused. The page shows each code in the user's language.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Mismatch,
    Same,
    Policy(PasswordPolicyError),
    WrongCurrent,
    Locked,
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Refusal::Mismatch => "mismatch",
            Refusal::Same => "same",
            Refusal::Policy(PasswordPolicyError::TooShort) => "too_short",
            Refusal::Policy(PasswordPolicyError::TooLong) => "too_long",
            Refusal::Policy(PasswordPolicyError::ContainsUsername) => "contains_username",
            Refusal::WrongCurrent => "wrong_current",
            Refusal::Locked => "locked",
        }
    }

    /// Whether the refusal wrote its own audit event (the guard then writes none).
    fn self_audited(&self) -> bool {
        matches!(self, Refusal::WrongCurrent | Refusal::Locked)
    }

    fn into_response(self) -> Response {
        let audit = self.self_audited();
        let error = match self {
            Refusal::Mismatch => ApiError::Validation("new_password_again: the two new passwords differ".into()),
            Refusal::Same => ApiError::Validation("new_password: choose a password other than the current one".into()),
            Refusal::Policy(e) => ApiError::Validation(format!("new_password: {e}")),
            Refusal::WrongCurrent => ApiError::Validation("current_password: this is not your current password".into()),
            Refusal::Locked => ApiError::SigninLocked,
        };
        if audit { audited(error) } else { error.into_response() }
    }
}

/// Checks and stores the new password; the outer error is a failure, the inner a refusal.
async fn change(
    state: &AppState,
    session: &Session,
    user: &SessionUser,
    client: &str,
    current: Password,
    new: Password,
) -> Result<Result<(), Refusal>, ApiError> {
    if let Err(e) = check_password_policy(&user.username, new.expose()) {
        return Ok(Err(Refusal::Policy(e)));
    }
    if new.expose() == current.expose() {
        return Ok(Err(Refusal::Same));
    }
    let event = |outcome: &'static str, detail| {
        Audit::by(user, Some(client.to_owned()), ACTION_PASSWORD_CHANGE)
            .target("user", user.username.clone())
            .outcome(outcome)
            .detail(detail)
    };
    let mut conn = state.pool.acquire().await?;
    if elysium_db::signin::locked_until(&mut conn, &user.username, client).await?.is_some() {
        event("denied", json!({ "reason": "locked" })).record_in(&mut conn).await?;
        return Ok(Err(Refusal::Locked));
    }
    let stored = elysium_db::users::credentials(&mut conn, &user.username).await?.map(|c| c.password_hash);
    drop(conn);
    if !state.hasher.verify(stored, current).await.map_err(ApiError::from)? {
        let window = time::Duration::minutes(state.config.signin_lock_minutes);
        let mut tx = state.pool.begin().await?;
        let failures = elysium_db::signin::record_failure(&mut tx, &user.username, client, window).await?.pair;
        let locked = failures >= state.config.signin_max_failures;
        if locked {
            elysium_db::signin::lock(&mut tx, &user.username, client, window).await?;
        }
        let detail = json!({ "reason": "wrong_current_password", "failures": failures, "locked": locked });
        event("failure", detail).record_in(&mut tx).await?;
        tx.commit().await?;
        return Ok(Err(Refusal::WrongCurrent));
    }
    let hash = state.hasher.hash(new).await.map_err(ApiError::internal)?;
    let caller = Caller::new(user.clone(), Some(client.to_owned()));
    let ended = app::service::profile::change_password(&state.pool, &caller, &hash).await?;
    // The change ended every session signed in until now, this one too; a session (not a
    // token) goes on, signed in again after that moment. The database's clock set it, so the
    // new sign-in time is at least a millisecond past it whatever this host's clock says.
    let this_session: Option<Uuid> = session.get(USER_ID).await.map_err(ApiError::internal)?;
    if this_session == Some(user.id) {
        let ended_ms = (ended.unix_timestamp_nanos() / 1_000_000) as i64;
        session.cycle_id().await.map_err(ApiError::internal)?;
        session.insert(SIGNED_IN_AT, identity::now_millis().max(ended_ms + 1)).await.map_err(ApiError::internal)?;
    }
    Ok(Ok(()))
}

/// `POST /api/v1/auth/password` `{"current_password","new_password"}`: 204.
pub async fn change_json(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    user: Option<Extension<SessionUser>>,
    session: Session,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    let user = current_user(user)?;
    let (current, new) = (Password::new(body.current_password), Password::new(body.new_password));
    Ok(match change(&state, &session, &user, &client, current, new).await? {
        Ok(()) => audited(StatusCode::NO_CONTENT),
        Err(refusal) => refusal.into_response(),
    })
}

/// `POST /account/password` (the page's form): back to the page, saying what happened.
pub async fn change_form(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    user: Option<Extension<SessionUser>>,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let user = current_user(user)?;
    if form.new_password != form.new_password_again {
        return Ok(redirect_with(PASSWORD_PAGE, "error", Refusal::Mismatch.code()));
    }
    let (current, new) = (Password::new(form.current_password), Password::new(form.new_password));
    Ok(match change(&state, &session, &user, &client, current, new).await {
        Ok(Ok(())) => audited(redirect_with(PASSWORD_PAGE, "changed", "1")),
        Ok(Err(refusal)) => {
            let back = redirect_with(PASSWORD_PAGE, "error", refusal.code());
            if refusal.self_audited() { audited(back) } else { back }
        }
        Err(error) => {
            tracing::error!(error = ?error, "password change failed");
            redirect_with(PASSWORD_PAGE, "error", "unavailable")
        }
    })
}
