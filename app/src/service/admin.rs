//! The administration service: users, sign-in locks and the audit trail. Only administrators
//! reach it (the server's authorization policy guards its routes).

use std::collections::BTreeMap;

use elysium_db::audit::AuditFilter;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::domain::roles::Role;
use crate::format;
use crate::model::admin::{
    AUDIT_PAGE, AUDIT_SEARCH_PAGE, AuditEntry, AuditSearch, AuditSearchItem, Overview, SigninLock, UserSummary,
};
use crate::service::{Caller, ServiceError};

pub async fn overview(pool: &PgPool) -> Result<Overview, ServiceError> {
    let users = elysium_db::users::list(pool).await?;
    let locks = elysium_db::signin::active_locks(pool).await?;
    let sites = elysium_db::sites::list(pool).await?;
    Ok(Overview {
        users: users.len(),
        active_locks: locks.len(),
        sites: sites.into_iter().map(|s| format!("{} ({})", s.name, s.code)).collect(),
    })
}

pub async fn users(pool: &PgPool) -> Result<Vec<UserSummary>, ServiceError> {
    let users = elysium_db::users::list(pool).await?;
    Ok(users
        .into_iter()
        .map(|u| UserSummary {
            username: u.username,
            display_name: u.display_name,
            active: u.active,
            // A role the code no longer knows grants nothing (the policy ignores it too).
            roles: u.roles.iter().filter_map(|r| r.parse::<Role>().ok()).collect(),
            sites: u.site_codes,
            created_at: format::second(u.created_at),
        })
        .collect())
}

pub async fn signin_locks(pool: &PgPool) -> Result<Vec<SigninLock>, ServiceError> {
    let locks = elysium_db::signin::active_locks(pool).await?;
    Ok(locks
        .into_iter()
        .map(|l| SigninLock {
            username: l.username,
            client_addr: l.client_addr,
            locked_at: format::second(l.locked_at),
            locked_until: format::second(l.locked_until),
        })
        .collect())
}

/// Lifts a sign-in lock early (for example after the user phoned the service desk). The attempt
/// is audited whether or not there was a lock to lift.
pub async fn unlock_signin(
    pool: &PgPool,
    caller: &Caller,
    username: &str,
    client_addr: &str,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let removed = elysium_db::signin::clear(&mut tx, username, client_addr).await?;
    let audit = caller.audit("signin.unlock").target("signin_lock", format!("{username}@{client_addr}"));
    let audit = if removed { audit } else { audit.failed() };
    audit.record_in(&mut tx).await?;
    tx.commit().await?;
    if removed { Ok(()) } else { Err(ServiceError::NotFound) }
}

/// The audit log page: the newest events before `before`.
pub async fn audit_log(pool: &PgPool, before: Option<i64>) -> Result<Vec<AuditEntry>, ServiceError> {
    let rows = elysium_db::audit::recent(pool, before, AUDIT_PAGE).await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            occurred_at: format::second(r.occurred_at),
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

/// The query parameters the audit search takes.
pub const AUDIT_SEARCH_PARAMETERS: &[&str] = &["patient_id", "actor", "action", "from", "to", "page"];

/// Searches the audit trail: who looked at one patient, and when. `query` holds the parameters
/// as given (`patient_id`, `actor`, `action`, `from`, `to`, `page`); `from` and `to` are RFC 3339
/// times or dates (`to` as a date includes that whole day, UTC); `page` counts from 0. The
/// search is itself audited (`audit.search`) before it is answered.
pub async fn search_audit(
    pool: &PgPool,
    caller: &Caller,
    query: &BTreeMap<String, String>,
) -> Result<AuditSearch, ServiceError> {
    let filter = audit_filter(query)?;
    let (rows, total) = elysium_db::audit::search(pool, &filter).await?;
    let audit = caller.audit("audit.search").detail(serde_json::json!({
        "query": query, "results": rows.len(), "total": total,
    }));
    let audit = match &filter.patient_id {
        Some(patient) => audit.patient(patient),
        None => audit,
    };
    audit.record(pool).await?;
    Ok(AuditSearch {
        items: rows
            .into_iter()
            .map(|r| AuditSearchItem {
                occurred_at: r.occurred_at,
                actor: r.actor_username,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                patient_id: r.patient_id,
                outcome: r.outcome,
            })
            .collect(),
        total,
        page_size: AUDIT_SEARCH_PAGE,
    })
}

fn audit_filter(query: &BTreeMap<String, String>) -> Result<AuditFilter, ServiceError> {
    if let Some(unknown) = query.keys().find(|k| !AUDIT_SEARCH_PARAMETERS.contains(&k.as_str())) {
        return Err(ServiceError::invalid(
            unknown,
            format!("unknown parameter (use {})", AUDIT_SEARCH_PARAMETERS.join(", ")),
        ));
    }
    let text = |name: &str| query.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let page = match text("page") {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=100_000).contains(p))
            .ok_or_else(|| ServiceError::invalid("page", "a page number from 0"))?,
    };
    Ok(AuditFilter {
        patient_id: text("patient_id"),
        actor: text("actor").map(|a| a.to_lowercase()),
        action: text("action"),
        from: text("from").map(|v| instant("from", &v, false)).transpose()?,
        to: text("to").map(|v| instant("to", &v, true)).transpose()?,
        limit: AUDIT_SEARCH_PAGE,
        offset: page * AUDIT_SEARCH_PAGE,
    })
}

/// An RFC 3339 time, or a date (its start; the next day's start for an inclusive `to`).
fn instant(field: &str, value: &str, end_of_day: bool) -> Result<OffsetDateTime, ServiceError> {
    if let Some(at) = format::parse_rfc3339(value) {
        return Ok(at);
    }
    let date = format::parse_date(value)
        .ok_or_else(|| ServiceError::invalid(field, "a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    let date = if end_of_day { date.next_day().unwrap_or(date) } else { date };
    Ok(date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn dates_cover_whole_days_and_bad_values_name_their_field() {
        let f =
            audit_filter(&query(&[("from", "2026-12-01"), ("to", "2026-12-03"), ("page", "2"), ("actor", "Admin")]))
                .expect("valid");
        assert_eq!(f.from.map(format::rfc3339).as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(f.to.map(format::rfc3339).as_deref(), Some("2026-12-04T00:00:00Z"));
        assert_eq!((f.offset, f.limit), (100, 50));
        assert_eq!(f.actor.as_deref(), Some("admin"));
        let exact = audit_filter(&query(&[("from", "2026-12-01T10:30:00+01:00")])).expect("valid");
        assert_eq!(exact.from.expect("from").unix_timestamp(), 1_796_117_400, "09:30 UTC");
        for (bad, field) in [(("from", "yesterday"), "from"), (("page", "-1"), "page"), (("patient", "x"), "patient")] {
            let error = audit_filter(&query(&[bad])).expect_err("refused").to_string();
            assert!(error.starts_with(field), "{error}");
        }
    }
}
