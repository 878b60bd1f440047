//! Administration: users, sites, sign-in locks, the audit log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<crate::domain::roles::Role>,
    pub sites: Vec<String>,
    pub created_at: String,
    pub last_signin_at: Option<String>,
    /// When an administrator, a deactivation or a password change last ended their sessions.
    pub sessions_ended_at: Option<String>,
    /// They hold a temporary password and must choose their own at their next sign-in.
    pub must_change_password: bool,
}

/// An administrator's new account. The administrator does not choose the password: the server
/// makes a temporary one (see [`IssuedPassword`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    /// Blank: the username.
    #[serde(default)]
    pub display_name: String,
    pub roles: Vec<String>,
    /// Site codes.
    pub sites: Vec<String>,
    /// The user must replace the temporary password at their first sign-in (the default).
    #[serde(default = "must_change_by_default")]
    pub must_change_password: bool,
}

fn must_change_by_default() -> bool {
    true
}

/// An account with the temporary password just made for it (a new account, or an
/// administrator's reset): shown this once, stored only as its argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPassword {
    #[serde(flatten)]
    pub user: UserSummary,
    pub temporary_password: String,
}

/// A site as its administration page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDetail {
    pub code: String,
    pub name: String,
    /// Who assigns the site's patient IDs: an instance that names no issuer is filed under it.
    pub patient_id_authority: String,
    /// Calling AE titles whose C-STORE associations file their studies under this site.
    pub ae_titles: Vec<String>,
}

/// An administrator's new site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub code: String,
    pub name: String,
    /// Blank: the site's code.
    #[serde(default)]
    pub patient_id_authority: String,
    #[serde(default)]
    pub ae_titles: Vec<String>,
}

/// An administrator's edit of a site: exactly this name, authority and AE titles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteUpdate {
    pub name: String,
    pub patient_id_authority: String,
    pub ae_titles: Vec<String>,
}

/// An administrator's edit of a user: exactly these roles and sites (site codes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<String>,
    pub sites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninLock {
    pub username: String,
    pub client_addr: String,
    pub locked_at: String,
    pub locked_until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users: usize,
    pub active_locks: usize,
    pub sites: Vec<String>,
}

/// A page of the audit trail search (`GET /api/v1/audit`, the administrator's audit page) or,
/// for the CSV export, every matching event up to [`AUDIT_EXPORT_CAP`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSearch {
    pub items: Vec<AuditSearchItem>,
    /// Events matching the filter in all pages.
    pub total: i64,
    /// This page's number, from 0.
    pub page: i64,
    pub page_size: i64,
}

impl AuditSearch {
    /// How many pages the matching events fill (at least one, possibly empty).
    pub fn pages(&self) -> i64 {
        ((self.total + self.page_size - 1) / self.page_size.max(1)).max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSearchItem {
    pub id: i64,
    #[serde(with = "crate::format::wire_time")]
    pub occurred_at: time::OffsetDateTime,
    pub actor: Option<String>,
    pub roles: Vec<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub patient_id: Option<String>,
    pub client_addr: Option<String>,
    pub outcome: String,
    /// What the event recorded beyond its columns (a JSON object; `{}` when nothing).
    pub detail: serde_json::Value,
}

/// Events per page of the audit trail search.
pub const AUDIT_SEARCH_PAGE: i64 = 50;

/// The most events one CSV export holds; the export says so when more matched.
pub const AUDIT_EXPORT_CAP: i64 = 100_000;

/// The outcomes an audit event records.
pub const AUDIT_OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// The actions that record a read of one patient's data (each carries the patient's ID): what
/// "who looked at this patient" asks for. Writes and the administrators' own searches of the
/// trail are left out.
pub const PATIENT_READ_ACTIONS: [&str; 9] = [
    "study.view",
    "series.view",
    "screening.view",
    "finding.view",
    "finding.letter",
    "mdt.case.view",
    "dicomweb.search",
    "dicomweb.metadata",
    "dicomweb.retrieve",
];

/// The administrator's audit page.
pub const AUDIT_PAGE_PATH: &str = "/admin/audit";

/// The audit trail as CSV (the same filter as the page and `GET /api/v1/audit`, without `page`).
pub const AUDIT_CSV_PATH: &str = "/api/v1/audit.csv";

/// `path` with the filter's non-blank parameters as its query string, in name order.
pub fn audit_href(path: &str, filter: &BTreeMap<String, String>) -> String {
    let query: Vec<String> = filter
        .iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", crate::format::query_value(k), crate::format::query_value(v)))
        .collect();
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// Who looked at this patient: the audit page filtered to `patient_id`.
pub fn patient_access_href(patient_id: &str) -> String {
    audit_href(AUDIT_PAGE_PATH, &BTreeMap::from([("patient_id".to_owned(), patient_id.to_owned())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_keep_the_filter_and_encode_it() {
        let filter = BTreeMap::from([
            ("patient_id".to_owned(), "MRN 1/2&3".to_owned()),
            ("action".to_owned(), "study.view,series.view".to_owned()),
            ("outcome".to_owned(), " ".to_owned()),
        ]);
        assert_eq!(
            audit_href(AUDIT_CSV_PATH, &filter),
            "/api/v1/audit.csv?action=study.view%2Cseries.view&patient_id=MRN%201%2F2%263"
        );
        assert_eq!(audit_href(AUDIT_PAGE_PATH, &BTreeMap::new()), "/admin/audit");
        assert_eq!(patient_access_href("中 1"), "/admin/audit?patient_id=%E4%B8%AD%201");
    }

    #[test]
    fn pages_count_at_least_one() {
        let search = |total| AuditSearch { items: vec![], total, page: 0, page_size: AUDIT_SEARCH_PAGE };
        assert_eq!([0, 1, 50, 51, 100].map(|t| search(t).pages()), [1, 1, 1, 2, 2]);
    }
}
