//! The administration service: users, sign-in locks and the audit trail. Only administrators
//! reach it (the server's authorization policy guards its routes).

use std::collections::BTreeMap;

use elysium_db::audit::AuditFilter;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::format;
use crate::model::admin::{
    AUDIT_EXPORT_CAP, AUDIT_OUTCOMES, AUDIT_SEARCH_PAGE, AuditSearch, AuditSearchItem, NewUserRequest, Overview,
    SigninLock, UserSummary, UserUpdate,
};
use crate::said;
use crate::service::{Caller, ServiceError};

pub async fn overview(pool: &PgPool, caller: &Caller) -> Result<Overview, ServiceError> {
    caller.require_admin()?;
    let users = elysium_db::users::list(pool).await?;
    let locks = elysium_db::signin::active_locks(pool).await?;
    let sites = elysium_db::sites::list(pool).await?;
    Ok(Overview {
        users: users.len(),
        active_locks: locks.len(),
        sites: sites.into_iter().map(|s| format!("{} ({})", s.name, s.code)).collect(),
    })
}

pub async fn users(pool: &PgPool, caller: &Caller) -> Result<Vec<UserSummary>, ServiceError> {
    caller.require_admin()?;
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
            last_signin_at: u.last_signin_at.map(format::minute),
            sessions_ended_at: u.sessions_ended_at.map(format::minute),
            must_change_password: u.must_change_password,
        })
        .collect())
}

fn valid_display_name(name: &str) -> Result<&str, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "display_name",
            said!("a name of 1 to 200 characters", "姓名，1 至 200 个字符"),
        ));
    }
    Ok(name)
}

/// Role names as given: at least one, each known (a refusal lists the valid ones), no repeats.
fn valid_roles(names: &[String]) -> Result<Vec<Role>, ServiceError> {
    let mut roles: Vec<Role> = Vec::new();
    for name in names {
        let role = name.parse::<Role>().map_err(|_| {
            let valid: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            ServiceError::invalid("roles", Said::one_of(&valid))
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(ServiceError::invalid("roles", said!("choose at least one role", "请至少选择一个角色")));
    }
    Ok(roles)
}

/// Site codes as given: at least one, each an existing site (a refusal lists the valid ones).
async fn valid_site_ids(pool: &PgPool, codes: &[String]) -> Result<Vec<uuid::Uuid>, ServiceError> {
    let known = elysium_db::sites::list(pool).await?;
    let mut site_ids = Vec::new();
    for code in codes {
        let site = known.iter().find(|s| &s.code == code).ok_or_else(|| {
            let valid: Vec<&str> = known.iter().map(|s| s.code.as_str()).collect();
            ServiceError::invalid("sites", Said::one_of(&valid))
        })?;
        if !site_ids.contains(&site.id) {
            site_ids.push(site.id);
        }
    }
    if site_ids.is_empty() {
        return Err(ServiceError::invalid("sites", said!("choose at least one site", "请至少选择一个站点")));
    }
    Ok(site_ids)
}

/// One user as the users page lists them.
async fn user(pool: &PgPool, caller: &Caller, username: &str) -> Result<UserSummary, ServiceError> {
    users(pool, caller).await?.into_iter().find(|u| u.username == username).ok_or(ServiceError::NotFound)
}

/// Creates an account with `password_hash`, the hash of a temporary password the server made
/// (the caller shows it once). The username follows the command line's rules; one already
/// taken is a conflict. Audited as `user.create` (never with the password).
pub async fn create_user(
    pool: &PgPool,
    caller: &Caller,
    request: &NewUserRequest,
    password_hash: &str,
) -> Result<UserSummary, ServiceError> {
    caller.require_admin()?;
    let username = crate::domain::accounts::normalize_username(&request.username)
        .map_err(|e| ServiceError::invalid("username", e.said()))?;
    let display_name = if request.display_name.trim().is_empty() {
        username.as_str()
    } else {
        valid_display_name(&request.display_name)?
    };
    let roles = valid_roles(&request.roles)?;
    let site_ids = valid_site_ids(pool, &request.sites).await?;
    let role_names: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
    let mut tx = pool.begin().await?;
    let new = elysium_db::users::NewUser {
        username: &username,
        display_name,
        password_hash,
        roles: &role_names,
        site_ids: &site_ids,
        must_change_password: request.must_change_password,
    };
    let id = elysium_db::users::insert(&mut tx, &new).await?;
    let created = elysium_db::users::by_id(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    caller
        .audit("user.create")
        .target("user", username.clone())
        .detail(serde_json::json!({
            "display_name": created.display_name, "roles": created.roles, "sites": created.site_codes,
            "must_change_password": created.must_change_password,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    user(pool, caller, &username).await
}

/// Replaces a user's password with a temporary one (`password_hash`: the server made it and
/// shows it once): every session of the user ends, and they must choose their own at their next
/// sign-in. Administrators change their own password on `/account/password` instead (a reset
/// would end the session that is to show them the new one). Audited as `user.password_reset`.
pub async fn reset_password(
    pool: &PgPool,
    caller: &Caller,
    username: &str,
    password_hash: &str,
) -> Result<UserSummary, ServiceError> {
    caller.require_admin()?;
    let username = username.trim().to_lowercase();
    if username == caller.user.username {
        return Err(ServiceError::invalid(
            "username",
            said!("change your own password on /account/password", "请在 /account/password 修改您自己的密码"),
        ));
    }
    let mut tx = pool.begin().await?;
    let id = elysium_db::users::id_by_username(&mut tx, &username).await?.ok_or(ServiceError::NotFound)?;
    elysium_db::users::set_password(&mut tx, id, password_hash, true).await?;
    caller.audit("user.password_reset").target("user", username.clone()).record_in(&mut tx).await?;
    tx.commit().await?;
    user(pool, caller, &username).await
}

/// Edits a user's name, roles, sites and whether they may sign in. Roles apply from the user's
/// next request; deactivating ends their sessions at once. An administrator cannot deactivate
/// themselves or give up their own administrator role (another administrator must), so that no
/// edit locks the last one out by accident. Audited with the account before and after.
pub async fn update_user(
    pool: &PgPool,
    caller: &Caller,
    username: &str,
    update: &UserUpdate,
) -> Result<UserSummary, ServiceError> {
    caller.require_admin()?;
    let display_name = valid_display_name(&update.display_name)?;
    let roles = valid_roles(&update.roles)?;
    let site_ids = valid_site_ids(pool, &update.sites).await?;
    let username = username.trim().to_lowercase();
    if username == caller.user.username && (!update.active || !roles.contains(&Role::Admin)) {
        return Err(ServiceError::invalid(
            if update.active { "roles" } else { "active" },
            said!(
                "you cannot deactivate yourself or give up your own administrator role; another administrator can",
                "您不能停用自己或放弃自己的管理员角色；可由另一位管理员操作"
            ),
        ));
    }
    let mut tx = pool.begin().await?;
    let id = elysium_db::users::id_by_username(&mut tx, &username).await?.ok_or(ServiceError::NotFound)?;
    let before = elysium_db::users::by_id(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let role_names: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
    elysium_db::users::update_account(&mut tx, id, display_name, update.active, &role_names, &site_ids).await?;
    let after = elysium_db::users::by_id(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let account = |u: &elysium_db::users::UserRow| serde_json::json!({ "display_name": u.display_name, "active": u.active, "roles": u.roles, "sites": u.site_codes });
    caller
        .audit("user.update")
        .target("user", username.clone())
        .detail(serde_json::json!({ "before": account(&before), "after": account(&after) }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    user(pool, caller, &username).await
}

/// Every site, by code.
pub async fn sites(pool: &PgPool, caller: &Caller) -> Result<Vec<crate::model::program::SiteOption>, ServiceError> {
    caller.require_admin()?;
    Ok(elysium_db::sites::list(pool)
        .await?
        .into_iter()
        .map(|s| crate::model::program::SiteOption { code: s.code, name: s.name })
        .collect())
}

/// Ends every session of a user at once (a lost laptop, a shared screen); they sign in again.
pub async fn end_sessions(pool: &PgPool, caller: &Caller, username: &str) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let username = username.trim().to_lowercase();
    let mut tx = pool.begin().await?;
    let id = elysium_db::users::id_by_username(&mut tx, &username).await?.ok_or(ServiceError::NotFound)?;
    elysium_db::users::end_sessions(&mut tx, id).await?;
    caller.audit("user.sessions_end").target("user", username).record_in(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn signin_locks(pool: &PgPool, caller: &Caller) -> Result<Vec<SigninLock>, ServiceError> {
    caller.require_admin()?;
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
    caller.require_admin()?;
    let mut tx = pool.begin().await?;
    let removed = elysium_db::signin::clear(&mut tx, username, client_addr).await?;
    let audit = caller.audit("signin.unlock").target("signin_lock", format!("{username}@{client_addr}"));
    let audit = if removed { audit } else { audit.failed() };
    audit.record_in(&mut tx).await?;
    tx.commit().await?;
    if removed { Ok(()) } else { Err(ServiceError::NotFound) }
}

/// The query parameters the audit search takes.
pub const AUDIT_SEARCH_PARAMETERS: &[&str] =
    &["patient_id", "actor", "action", "target_type", "target_id", "outcome", "from", "to", "page"];

/// How many of the newest events the search form's action suggestions come from.
const ACTION_SUGGESTION_WINDOW: i64 = 10_000;

/// Searches the audit trail: who looked at one patient, and when. `query` holds the parameters
/// as given: `patient_id`, `actor` (a username), `action` (one action, or several separated by
/// commas), `target_type` and `target_id` (each alone or both), `outcome` (`success`, `failure`,
/// `denied`), `from` and `to` (RFC 3339 times or dates; `to` as a date includes that whole day,
/// UTC), and `page` (from 0). The search is itself audited (`audit.search`) before it is
/// answered.
pub async fn search_audit(
    pool: &PgPool,
    caller: &Caller,
    query: &BTreeMap<String, String>,
) -> Result<AuditSearch, ServiceError> {
    caller.require_admin()?;
    let filter = audit_filter(query)?;
    let (rows, total) = elysium_db::audit::search(pool, &filter).await?;
    let detail = serde_json::json!({ "query": query, "results": rows.len(), "total": total });
    record_reading(pool, caller, "audit.search", &filter, detail).await?;
    Ok(AuditSearch {
        items: rows.into_iter().map(search_item).collect(),
        total,
        page: filter.offset / AUDIT_SEARCH_PAGE,
        page_size: AUDIT_SEARCH_PAGE,
    })
}

/// Every event matching `query` (the search's parameters but `page`), newest first, up to
/// [`AUDIT_EXPORT_CAP`]; `total` says how many matched in all. The export is itself audited
/// (`audit.export`, with the filter and the number of rows) before it is answered.
pub async fn export_audit(
    pool: &PgPool,
    caller: &Caller,
    query: &BTreeMap<String, String>,
) -> Result<AuditSearch, ServiceError> {
    caller.require_admin()?;
    if query.contains_key("page") {
        return Err(ServiceError::invalid(
            "page",
            said!("the export holds every page: leave page out", "导出包含所有页：请不要指定 page"),
        ));
    }
    let filter = AuditFilter { limit: AUDIT_EXPORT_CAP, offset: 0, ..audit_filter(query)? };
    let (rows, total) = elysium_db::audit::search(pool, &filter).await?;
    let detail = serde_json::json!({ "query": query, "rows": rows.len(), "total": total });
    record_reading(pool, caller, "audit.export", &filter, detail).await?;
    Ok(AuditSearch { items: rows.into_iter().map(search_item).collect(), total, page: 0, page_size: AUDIT_EXPORT_CAP })
}

/// The actions of recent events, for the search form to suggest.
pub async fn audit_actions(pool: &PgPool, caller: &Caller) -> Result<Vec<String>, ServiceError> {
    caller.require_admin()?;
    Ok(elysium_db::audit::recent_actions(pool, ACTION_SUGGESTION_WINDOW).await?)
}

/// Records an administrator's reading of the trail; one about a single patient is on that
/// patient's trail too.
async fn record_reading(
    pool: &PgPool,
    caller: &Caller,
    action: &str,
    filter: &AuditFilter,
    detail: serde_json::Value,
) -> Result<(), ServiceError> {
    let audit = caller.audit(action).detail(detail);
    let audit = match &filter.patient_id {
        Some(patient) => audit.patient(patient),
        None => audit,
    };
    audit.record(pool).await?;
    Ok(())
}

fn search_item(r: elysium_db::audit::AuditRow) -> AuditSearchItem {
    AuditSearchItem {
        id: r.id,
        occurred_at: r.occurred_at,
        actor: r.actor_username,
        roles: r.actor_roles,
        action: r.action,
        target_type: r.target_type,
        target_id: r.target_id,
        patient_id: r.patient_id,
        client_addr: r.client_addr,
        outcome: r.outcome,
        detail: r.detail,
    }
}

fn audit_filter(query: &BTreeMap<String, String>) -> Result<AuditFilter, ServiceError> {
    if let Some(unknown) = query.keys().find(|k| !AUDIT_SEARCH_PARAMETERS.contains(&k.as_str())) {
        return Err(ServiceError::invalid(
            unknown,
            said!(
                ("unknown parameter (use {})", AUDIT_SEARCH_PARAMETERS.join(", ")),
                ("未知参数（可用：{}）", AUDIT_SEARCH_PARAMETERS.join(", "))
            ),
        ));
    }
    let text = |name: &str| query.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let page = match text("page") {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=100_000).contains(p))
            .ok_or_else(|| ServiceError::invalid("page", said!("a page number from 0", "页码，从 0 开始")))?,
    };
    let outcome = text("outcome")
        .map(|o| {
            let o = o.to_lowercase();
            if AUDIT_OUTCOMES.contains(&o.as_str()) {
                Ok(o)
            } else {
                Err(ServiceError::invalid(
                    "outcome",
                    said!(("one of {}", AUDIT_OUTCOMES.join(", ")), ("应为 {} 之一", AUDIT_OUTCOMES.join(", "))),
                ))
            }
        })
        .transpose()?;
    Ok(AuditFilter {
        patient_id: text("patient_id"),
        actor: text("actor").map(|a| a.to_lowercase()),
        actions: text("action").map(|a| actions(&a)).filter(|a| !a.is_empty()),
        target_type: text("target_type"),
        target_id: text("target_id"),
        outcome,
        from: text("from").map(|v| instant("from", &v, false)).transpose()?,
        to: text("to").map(|v| instant("to", &v, true)).transpose()?,
        limit: AUDIT_SEARCH_PAGE,
        offset: page * AUDIT_SEARCH_PAGE,
    })
}

/// `action`'s comma-separated actions, trimmed, without blanks or repeats.
fn actions(list: &str) -> Vec<String> {
    let mut actions: Vec<String> =
        list.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// An RFC 3339 time, or a date (its start; the next day's start for an inclusive `to`).
fn instant(field: &str, value: &str, end_of_day: bool) -> Result<OffsetDateTime, ServiceError> {
    if let Some(at) = format::parse_rfc3339(value) {
        return Ok(at);
    }
    let date = format::parse_date(value).ok_or_else(|| {
        ServiceError::invalid(
            field,
            said!("a date (YYYY-MM-DD) or an RFC 3339 time", "日期（YYYY-MM-DD）或 RFC 3339 时间"),
        )
    })?;
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
        for (bad, field) in [
            (("from", "yesterday"), "from"),
            (("page", "-1"), "page"),
            (("patient", "x"), "patient"),
            (("outcome", "ok"), "outcome"),
        ] {
            let error = audit_filter(&query(&[bad])).expect_err("refused").to_string();
            assert!(error.starts_with(field), "{error}");
        }
    }

    #[test]
    fn targets_outcomes_and_lists_of_actions() {
        let f = audit_filter(&query(&[
            ("target_type", " finding "),
            ("target_id", "42"),
            ("outcome", "Denied"),
            ("action", "study.view, series.view,,study.view"),
        ]))
        .expect("valid");
        assert_eq!((f.target_type.as_deref(), f.target_id.as_deref()), (Some("finding"), Some("42")));
        assert_eq!(f.outcome.as_deref(), Some("denied"));
        assert_eq!(f.actions, Some(vec!["series.view".to_owned(), "study.view".to_owned()]));
        let blank = audit_filter(&query(&[("action", " , "), ("outcome", ""), ("target_type", "")])).expect("valid");
        assert_eq!((blank.actions, blank.outcome, blank.target_type), (None, None, None), "blank fields are no filter");
    }
}
