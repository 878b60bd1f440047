//! API tokens for non-browser integrations. Only the token's SHA-256 is stored; the token itself
//! is shown once, when it is created.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{DbResult, unique_violation};

/// A token to create: its owner, name, scopes (their names), expiry, and who made it.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub token_sha256: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<OffsetDateTime>,
    pub created_by: Option<Uuid>,
}

pub async fn insert(conn: &mut PgConnection, token: &NewToken<'_>) -> DbResult<Uuid> {
    sqlx::query_scalar!(
        "insert into api_token (user_id, name, token_sha256, scopes, expires_at, created_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        token.user_id,
        token.name,
        token.token_sha256,
        token.scopes,
        token.expires_at,
        token.created_by,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "token"))
}

/// A live token's owner and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
}

/// How stale a token's `last_used_at` may get before a use writes it again: last use is shown to
/// the minute, and a busy integration does not write a row per request.
const LAST_USED_RESOLUTION_SECONDS: f64 = 60.0;

/// The owner and scopes of a live token (not revoked, not expired), noting its use at most once
/// a minute.
pub async fn grant(conn: &mut PgConnection, token_sha256: &str) -> DbResult<Option<TokenGrant>> {
    let Some(row) = sqlx::query!(
        r#"select id, user_id, scopes,
                  coalesce(last_used_at < now() - make_interval(secs => $2), true) as "stale!"
           from api_token
           where token_sha256 = $1 and revoked_at is null and (expires_at is null or expires_at > now())"#,
        token_sha256,
        LAST_USED_RESOLUTION_SECONDS
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    if row.stale {
        sqlx::query!("update api_token set last_used_at = now() where id = $1", row.id).execute(&mut *conn).await?;
    }
    Ok(Some(TokenGrant { id: row.id, user_id: row.user_id, scopes: row.scopes }))
}

/// A token as the administration page lists it (never its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Every token, newest first.
pub async fn list(pool: &PgPool) -> DbResult<Vec<TokenRow>> {
    Ok(sqlx::query_as!(
        TokenRow,
        r#"select t.id, t.name, u.username, t.scopes, t.created_at, c.username as "created_by?", t.expires_at,
                  t.last_used_at, t.revoked_at
           from api_token t join app_user u on u.id = t.user_id left join app_user c on c.id = t.created_by
           order by t.created_at desc, t.id"#
    )
    .fetch_all(pool)
    .await?)
}

/// Revokes a live token. `false`: no such token, or already revoked.
pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> DbResult<bool> {
    let done = sqlx::query!("update api_token set revoked_at = now() where id = $1 and revoked_at is null", id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
