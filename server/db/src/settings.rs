//! Programme settings stored over the environment's defaults (see the migration).

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::DbResult;

/// A stored setting, with who last changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    pub key: String,
    pub value: Value,
    pub changed_by: String,
    pub changed_at: OffsetDateTime,
}

/// Every stored setting.
pub async fn all(pool: &PgPool) -> DbResult<Vec<SettingRow>> {
    Ok(sqlx::query_as!(
        SettingRow,
        "select s.key, s.value, u.username as changed_by, s.changed_at
         from programme_setting s join app_user u on u.id = s.changed_by order by s.key"
    )
    .fetch_all(pool)
    .await?)
}

/// One stored setting's value.
pub async fn value(pool: &PgPool, key: &str) -> DbResult<Option<Value>> {
    Ok(sqlx::query_scalar!("select value from programme_setting where key = $1", key).fetch_optional(pool).await?)
}

/// Stores a setting, locking its row for the rest of the transaction; returns the value it
/// replaced.
pub async fn set(conn: &mut PgConnection, key: &str, value: &Value, user_id: uuid::Uuid) -> DbResult<Option<Value>> {
    let before = sqlx::query_scalar!("select value from programme_setting where key = $1 for update", key)
        .fetch_optional(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into programme_setting (key, value, changed_by) values ($1, $2, $3)
         on conflict (key) do update set value = excluded.value, changed_by = excluded.changed_by, changed_at = now()",
        key,
        value,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(before)
}
