//! API tokens as the administration page and `/api/v1/admin/tokens` show them (never the
//! stored digest; the token itself only once, in [`CreatedToken`]).

use serde::{Deserialize, Serialize};

use crate::domain::scopes::Scope;

/// The longest a token may live.
pub const MAX_TOKEN_DAYS: u32 = 730;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// Whom the token acts for (its requests are that user's, narrowed by the scopes).
    pub username: String,
    pub name: String,
    /// Scope names (`dicom:write`, `dicom:read`, `results:read`, `metrics:read`, `all`).
    pub scopes: Vec<String>,
    /// Days until it expires (1 to [`MAX_TOKEN_DAYS`]).
    pub expires_in_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub username: String,
    pub scopes: Vec<Scope>,
    pub expires_at: String,
    /// The bearer token: shown this once, stored only as its SHA-256.
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub username: String,
    /// As stored (a scope this version does not know is listed, and grants nothing).
    pub scopes: Vec<String>,
    pub state: TokenState,
    pub created_at: String,
    pub created_by: Option<String>,
    pub expires_at: Option<String>,
    /// To the minute (a busy token's use is recorded at most once a minute).
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}
