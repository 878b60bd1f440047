//! The signed-in user's own settings: interface language and password.

use sqlx::PgPool;

use crate::domain::language::Language;
use crate::service::{Caller, ServiceError};

/// Sets (or with `None` clears) the caller's interface language, with its audit event.
pub async fn set_language(pool: &PgPool, caller: &Caller, language: Option<Language>) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    elysium_db::users::set_language(&mut tx, caller.user.id, language.map(Language::as_str)).await?;
    caller
        .audit("user.language")
        .target("user", caller.user.id.to_string())
        .detail(serde_json::json!({ "language": language.map(Language::as_str) }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores the caller's new password (`password_hash`: the server checked the current password
/// and the policy, and hashed it), clears "must change password", and ends every session of
/// theirs signed in before now. Audited as `user.password_change`. Returns the moment the
/// sessions ended, so that the session that made the change can be signed in again after it.
pub async fn change_password(
    pool: &PgPool,
    caller: &Caller,
    password_hash: &str,
) -> Result<time::OffsetDateTime, ServiceError> {
    let mut tx = pool.begin().await?;
    let ended = elysium_db::users::set_password(&mut tx, caller.user.id, password_hash, false).await?;
    caller.audit("user.password_change").target("user", caller.user.username.clone()).record_in(&mut tx).await?;
    tx.commit().await?;
    Ok(ended)
}
