//! Signing in and out: credential checks, throttling, session set-up, and their audit events.

use app::domain::accounts::{MAX_PASSWORD_LEN, UsernameError, normalize_username};
use app::model::SessionUser;
use app::service::Audit;
use serde_json::json;
use tower_sessions::Session;

use crate::auth::identity::{self, SIGNED_IN_AT, USER_ID};
use crate::auth::password::Password;
use crate::error::ApiError;
use crate::state::AppState;

pub const ACTION_LOGIN: &str = "auth.login";
pub const ACTION_LOGOUT: &str = "auth.logout";

/// Checks the credentials and, when they are right, signs the session in (with a fresh id).
/// Unknown usernames and wrong passwords take the same work and give the same error.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    raw_username: &str,
    password: Password,
    client_addr: &str,
) -> Result<SessionUser, ApiError> {
    if password.expose().is_empty() {
        return Err(ApiError::Validation("password is required".into()));
    }
    if password.expose().chars().count() > MAX_PASSWORD_LEN {
        return Err(ApiError::Validation(format!("password must be at most {MAX_PASSWORD_LEN} characters")));
    }
    let username = match normalize_username(raw_username) {
        Ok(name) => Some(name),
        Err(e @ (UsernameError::Empty | UsernameError::TooLong)) => return Err(ApiError::Validation(e.to_string())),
        // Cannot be an account, but answer exactly as for an unknown one.
        Err(UsernameError::BadCharacters) => None,
    };
    // What the throttle and the audit trail record: the account name, or for input that cannot
    // be one, a printable escape of it (PostgreSQL text cannot hold NUL, for one).
    let attempted = username.clone().unwrap_or_else(|| raw_username.trim().escape_debug().take(64).collect());
    let event = |outcome, detail| {
        Audit::anonymous(ACTION_LOGIN, Some(&attempted), Some(client_addr.to_owned())).outcome(outcome).detail(detail)
    };

    let mut conn = state.pool.acquire().await?;
    if elysium_db::signin::locked_until(&mut conn, &attempted, client_addr).await?.is_some() {
        event("denied", json!({ "reason": "locked" })).record_in(&mut conn).await?;
        return Err(ApiError::SigninLocked);
    }
    let credentials = match &username {
        Some(name) => elysium_db::users::credentials(&mut conn, name).await?,
        None => None,
    };
    drop(conn);

    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    // Busy (too many checks at once) is refused before any check: no failure is counted.
    let password_ok = state.hasher.verify(stored_hash, password).await.map_err(ApiError::from)?;
    let account = credentials.filter(|c| password_ok && c.active);

    let mut tx = state.pool.begin().await?;
    let Some(account) = account else {
        let window = time::Duration::minutes(state.config.signin_lock_minutes);
        let failures = elysium_db::signin::record_failure(&mut tx, &attempted, client_addr, window).await?;
        let locked = failures.pair >= state.config.signin_max_failures;
        // The same for a name that is no account: the answer never tells which names exist.
        let account_locked = failures.account >= state.config.signin_account_max_failures;
        crate::monitoring::record_signin_failure(locked || account_locked);
        if locked {
            elysium_db::signin::lock(&mut tx, &attempted, client_addr, window).await?;
        }
        if account_locked {
            elysium_db::signin::lock(&mut tx, &attempted, elysium_db::signin::ANY_ADDRESS, window).await?;
        }
        let detail = json!({
            "reason": "invalid_credentials", "failures": failures.pair, "account_failures": failures.account,
            "locked": locked, "account_locked": account_locked,
        });
        event("failure", detail).record_in(&mut tx).await?;
        tx.commit().await?;
        return Err(ApiError::InvalidCredentials);
    };
    elysium_db::signin::clear(&mut tx, &attempted, client_addr).await?;
    elysium_db::users::signed_in(&mut tx, account.user_id).await?;
    let user = identity::load_user(&state.pool, account.user_id).await?.ok_or(ApiError::InvalidCredentials)?;
    Audit::by(&user, Some(client_addr.to_owned()), ACTION_LOGIN)
        .target("user", user.id.to_string())
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;

    // A fresh session id at sign-in defeats session fixation.
    session.cycle_id().await.map_err(ApiError::internal)?;
    session.insert(USER_ID, user.id).await.map_err(ApiError::internal)?;
    session.insert(SIGNED_IN_AT, identity::now_millis()).await.map_err(ApiError::internal)?;
    Ok(user)
}

/// Ends the session (it is deleted from the store) and audits it.
pub async fn sign_out(
    state: &AppState,
    session: &Session,
    user: Option<&SessionUser>,
    client_addr: &str,
) -> Result<(), ApiError> {
    if let Some(user) = user {
        let mut conn = state.pool.acquire().await?;
        Audit::by(user, Some(client_addr.to_owned()), ACTION_LOGOUT).record_in(&mut conn).await?;
    }
    session.flush().await.map_err(ApiError::internal)?;
    Ok(())
}
