//! The signed-in user's own settings.

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
