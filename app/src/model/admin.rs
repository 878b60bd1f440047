//! Administration: users, sign-in locks, the audit log.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<crate::domain::roles::Role>,
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

/// A page of the audit trail search (`GET /api/v1/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSearch {
    pub items: Vec<AuditSearchItem>,
    /// Events matching the filter in all pages.
    pub total: i64,
    pub page_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSearchItem {
    #[serde(with = "crate::format::wire_time")]
    pub occurred_at: time::OffsetDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub patient_id: Option<String>,
    pub outcome: String,
}

/// Events per page of the audit trail search.
pub const AUDIT_SEARCH_PAGE: i64 = 50;
