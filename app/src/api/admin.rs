//! Administration: users, sign-in locks, the audit log. Only administrators reach these (the
//! server's authorization policy guards the `/api/fn/admin/` prefix).

use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::api::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<String>,
    pub sites: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninLock {
    pub username: String,
    pub client_addr: String,
    pub locked_at: String,
    pub locked_until: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub roles: Vec<String>,
    pub action: String,
    pub target: Option<String>,
    pub patient_id: Option<String>,
    pub client_addr: Option<String>,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users: usize,
    pub active_locks: usize,
    pub sites: Vec<String>,
}

/// Rows per page of the audit log.
pub const AUDIT_PAGE: i64 = 100;

#[leptos::server(prefix = "/api/fn/admin", endpoint = "overview", input = GetUrl)]
pub async fn admin_overview() -> Result<Overview, AppError> {
    let pool = ssr::pool()?;
    let users = elysium_db::users::list(&pool).await?;
    let locks = elysium_db::signin::active_locks(&pool).await?;
    let sites = elysium_db::sites::list(&pool).await?;
    Ok(Overview {
        users: users.len(),
        active_locks: locks.len(),
        sites: sites.into_iter().map(|s| format!("{} ({})", s.name, s.code)).collect(),
    })
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    let pool = ssr::pool()?;
    let users = elysium_db::users::list(&pool).await?;
    Ok(users
        .into_iter()
        .map(|u| UserSummary {
            username: u.username,
            display_name: u.display_name,
            active: u.active,
            roles: u.roles,
            sites: u.site_codes,
            created_at: ssr::format_time(u.created_at),
        })
        .collect())
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "signin_locks", input = GetUrl)]
pub async fn signin_locks() -> Result<Vec<SigninLock>, AppError> {
    let pool = ssr::pool()?;
    let locks = elysium_db::signin::active_locks(&pool).await?;
    Ok(locks
        .into_iter()
        .map(|l| SigninLock {
            username: l.username,
            client_addr: l.client_addr,
            locked_at: ssr::format_time(l.locked_at),
            locked_until: ssr::format_time(l.locked_until),
        })
        .collect())
}

/// Lifts a sign-in lock early (for example after the user phoned the service desk).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "unlock_signin")]
pub async fn unlock_signin(username: String, client_addr: String) -> Result<(), AppError> {
    use crate::api::session::ssr::{client_addr as request_addr, mark_audited, require_user};

    let admin = require_user()?;
    let pool = ssr::pool()?;
    let mut tx = pool.begin().await.map_err(elysium_db::DbError::from)?;
    let removed = elysium_db::signin::clear(&mut tx, &username, &client_addr).await?;
    let mut event = admin.audit_event("signin.unlock", if removed { "success" } else { "failure" }, request_addr());
    event.target_type = Some("signin_lock".into());
    event.target_id = Some(format!("{username}@{client_addr}"));
    elysium_db::audit::record(&mut tx, &event).await?;
    tx.commit().await.map_err(elysium_db::DbError::from)?;
    mark_audited();
    if removed { Ok(()) } else { Err(AppError::NotFound) }
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "audit_log", input = GetUrl)]
pub async fn audit_log(before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    let pool = ssr::pool()?;
    let rows = elysium_db::audit::recent(&pool, before, AUDIT_PAGE).await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            occurred_at: ssr::format_time(r.occurred_at),
            actor: r.actor_username,
            roles: r.actor_roles,
            action: r.action,
            target: match (r.target_type, r.target_id) {
                (Some(t), Some(id)) => Some(format!("{t} {id}")),
                (Some(t), None) => Some(t),
                _ => None,
            },
            patient_id: r.patient_id,
            client_addr: r.client_addr,
            outcome: r.outcome,
            detail: if r.detail == serde_json::json!({}) { String::new() } else { r.detail.to_string() },
        })
        .collect())
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::api::session::ssr::pool;

    /// Times are shown in UTC, to the second, in ISO 8601.
    pub fn format_time(t: time::OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}
