//! The audit trail. Rows are only ever inserted; the database refuses UPDATE, DELETE and
//! TRUNCATE on `audit_event` (see the foundation migration).

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::DbResult;

/// One event to record. `patient_id` is set whenever a patient record is touched or viewed.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    pub actor_user_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub actor_roles: Vec<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub patient_id: Option<String>,
    pub client_addr: Option<String>,
    pub outcome: &'static str,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor_username: Option<String>,
    pub actor_roles: Vec<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub patient_id: Option<String>,
    pub client_addr: Option<String>,
    pub outcome: String,
    pub detail: serde_json::Value,
}

pub async fn record(conn: &mut PgConnection, event: &NewAuditEvent) -> DbResult<i64> {
    let detail = if event.detail.is_null() { serde_json::json!({}) } else { event.detail.clone() };
    Ok(sqlx::query_scalar!(
        "insert into audit_event (actor_user_id, actor_username, actor_roles, action, target_type,
                                  target_id, patient_id, client_addr, outcome, detail)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
        event.actor_user_id,
        event.actor_username,
        &event.actor_roles,
        event.action,
        event.target_type,
        event.target_id,
        event.patient_id,
        event.client_addr,
        event.outcome,
        detail
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// What an administrator asks of the audit trail; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The DICOM PatientID as stored.
    pub patient_id: Option<String>,
    pub actor: Option<String>,
    /// Any one of these actions.
    pub actions: Option<Vec<String>>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    pub from: Option<OffsetDateTime>,
    /// Exclusive.
    pub to: Option<OffsetDateTime>,
    pub limit: i64,
    pub offset: i64,
}

/// Events matching `filter`, newest first, and how many match in all.
pub async fn search(pool: &PgPool, filter: &AuditFilter) -> DbResult<(Vec<AuditRow>, i64)> {
    let rows = sqlx::query_as!(
        AuditRow,
        "select id, occurred_at, actor_username, actor_roles, action, target_type, target_id,
                patient_id, client_addr, outcome, detail
         from audit_event
         where ($1::text is null or patient_id = $1)
           and ($2::text is null or actor_username = $2)
           and ($3::text[] is null or action = any($3))
           and ($4::text is null or target_type = $4)
           and ($5::text is null or target_id = $5)
           and ($6::text is null or outcome = $6)
           and ($7::timestamptz is null or occurred_at >= $7)
           and ($8::timestamptz is null or occurred_at < $8)
         order by occurred_at desc, id desc
         limit $9 offset $10",
        filter.patient_id,
        filter.actor,
        filter.actions.as_deref(),
        filter.target_type,
        filter.target_id,
        filter.outcome,
        filter.from,
        filter.to,
        filter.limit,
        filter.offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from audit_event
           where ($1::text is null or patient_id = $1)
             and ($2::text is null or actor_username = $2)
             and ($3::text[] is null or action = any($3))
             and ($4::text is null or target_type = $4)
             and ($5::text is null or target_id = $5)
             and ($6::text is null or outcome = $6)
             and ($7::timestamptz is null or occurred_at >= $7)
             and ($8::timestamptz is null or occurred_at < $8)"#,
        filter.patient_id,
        filter.actor,
        filter.actions.as_deref(),
        filter.target_type,
        filter.target_id,
        filter.outcome,
        filter.from,
        filter.to
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The actions of the newest `window` events, in order: suggestions for the search form. Only a
/// recent window, because the trail has no index on `action` and a distinct over all of it would
/// read the whole table on every view of the page; an older action can still be typed.
pub async fn recent_actions(pool: &PgPool, window: i64) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"select distinct action as "action!" from
             (select action from audit_event order by occurred_at desc limit $1) as recent
           order by 1"#,
        window
    )
    .fetch_all(pool)
    .await?)
}
