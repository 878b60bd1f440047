//! Who a request comes from: a signed-in browser session, or an API token.

use app::domain::roles::Role;
use app::domain::scopes::Scope;
use app::model::{SessionUser, SiteRef};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use elysium_db::users::UserRow;

use crate::auth::tokens;
use crate::error::ApiError;

/// Session keys. The session holds only these; the user's roles are read afresh per request, so
/// an administrator's change applies at once.
pub const USER_ID: &str = "user_id";
/// Sign-in time in Unix milliseconds: second precision would let a session signed in during the
/// same second as an administrator's "end sessions" survive it.
pub const SIGNED_IN_AT: &str = "signed_in_at_ms";

/// Now, in the unit of [`SIGNED_IN_AT`].
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    /// The session was signed in but outlived its absolute lifetime (or the account was
    /// disabled); it has been ended.
    Expired,
    User(SessionUser),
}

/// Loads the user behind the session, ending sessions past `max_age`.
pub async fn from_session(pool: &PgPool, session: &Session, max_age: time::Duration) -> Result<Identity, ApiError> {
    let user_id: Option<Uuid> = session.get(USER_ID).await.map_err(session_error)?;
    let Some(user_id) = user_id else { return Ok(Identity::Anonymous) };
    let signed_in_at: i64 = session.get(SIGNED_IN_AT).await.map_err(session_error)?.unwrap_or(0);
    let too_old = now_millis() - signed_in_at > max_age.whole_milliseconds() as i64;
    let row = if too_old { None } else { user_row(pool, user_id).await? };
    // Signed in before the user's sessions were ended (deactivation, a password reset, an
    // administrator's "end sessions"): this session is over. A tie ends it too.
    let ended = |row: &UserRow| {
        row.sessions_ended_at.is_some_and(|at| signed_in_at <= (at.unix_timestamp_nanos() / 1_000_000) as i64)
    };
    let user = row.filter(|row| !ended(row)).and_then(session_user);
    match user {
        Some(user) => Ok(Identity::User(user)),
        None => {
            session.flush().await.map_err(session_error)?;
            Ok(Identity::Expired)
        }
    }
}

/// Sessions are kept in the database (tower-sessions' PostgreSQL store), whose failures reach us
/// as text only: one that could not be read or written is the database being unavailable (503,
/// as for any other query then), not an internal error.
fn session_error(error: tower_sessions::session::Error) -> ApiError {
    use tower_sessions::{session::Error, session_store};
    match error {
        Error::Store(session_store::Error::Backend(cause)) => {
            tracing::warn!(error = %cause, "the session store (the database) is unavailable");
            ApiError::DatabaseUnavailable
        }
        other => ApiError::internal(other),
    }
}

/// Loads the owner of a bearer token and the token's scopes; an unknown, revoked or expired
/// token (or one whose owner is disabled) is a 401, not anonymity. A scope this version does
/// not know grants nothing.
pub async fn from_token(pool: &PgPool, token: &str) -> Result<(SessionUser, Vec<Scope>), ApiError> {
    let mut conn = pool.acquire().await?;
    let grant = elysium_db::tokens::grant(&mut conn, &tokens::digest(token)).await?;
    drop(conn);
    let Some(grant) = grant else { return Err(ApiError::Unauthorized) };
    let user = load_user(pool, grant.user_id).await?.ok_or(ApiError::Unauthorized)?;
    let scopes = grant
        .scopes
        .iter()
        .filter_map(|s| s.parse::<Scope>().inspect_err(|e| tracing::warn!(%e, "ignoring a stored scope")).ok())
        .collect();
    Ok((user, scopes))
}

/// An active user with their roles and sites.
pub async fn load_user(pool: &PgPool, user_id: Uuid) -> Result<Option<SessionUser>, ApiError> {
    Ok(user_row(pool, user_id).await?.and_then(session_user))
}

async fn user_row(pool: &PgPool, user_id: Uuid) -> Result<Option<UserRow>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(elysium_db::users::by_id(&mut conn, user_id).await?)
}

/// The session's view of an active user (`None` for a deactivated one).
fn session_user(row: UserRow) -> Option<SessionUser> {
    row.active.then(|| SessionUser {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        roles: row
            .roles
            .iter()
            .filter_map(|r| r.parse::<Role>().inspect_err(|e| tracing::warn!(%e, "ignoring a stored role")).ok())
            .collect(),
        sites: row
            .site_ids
            .into_iter()
            .zip(row.site_codes)
            .zip(row.site_names)
            .map(|((id, code), name)| SiteRef { id, code, name })
            .collect(),
        language: row.language.as_deref().and_then(app::domain::language::Language::parse),
        must_change_password: row.must_change_password,
    })
}
