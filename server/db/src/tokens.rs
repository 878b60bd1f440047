//! API tokens for non-browser integrations. Only the token's SHA-256 is stored.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{DbResult, unique_violation};

pub async fn insert(conn: &mut PgConnection, user_id: Uuid, name: &str, token_sha256: &str) -> DbResult<Uuid> {
    sqlx::query_scalar!(
        "insert into api_token (user_id, name, token_sha256) values ($1, $2, $3) returning id",
        user_id,
        name,
        token_sha256
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "token"))
}

/// The owner of a live (unrevoked) token, marking it used.
pub async fn owner(conn: &mut PgConnection, token_sha256: &str) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "update api_token set last_used_at = now()
         where token_sha256 = $1 and revoked_at is null
         returning user_id",
        token_sha256
    )
    .fetch_optional(&mut *conn)
    .await?)
}
