//! Administration as server functions: users, sign-in locks, the audit log. Only administrators
//! reach these (the server's authorization policy guards the `/api/fn/admin/` prefix).

use std::collections::BTreeMap;

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::admin::{AuditSearch, Overview, SigninLock, UserSummary};

#[leptos::server(prefix = "/api/fn/admin", endpoint = "overview", input = GetUrl)]
pub async fn admin_overview() -> Result<Overview, AppError> {
    Ok(crate::service::admin::overview(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?)
        .await?)
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    Ok(crate::service::admin::users(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?).await?)
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "signin_locks", input = GetUrl)]
pub async fn signin_locks() -> Result<Vec<SigninLock>, AppError> {
    Ok(crate::service::admin::signin_locks(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?)
        .await?)
}

/// Lifts a sign-in lock early (for example after the user phoned the service desk).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "unlock_signin")]
pub async fn unlock_signin(username: String, client_addr: String) -> Result<(), AppError> {
    use crate::api::session::ssr::{caller, mark_audited, pool};
    let result = crate::service::admin::unlock_signin(&pool()?, &caller()?, &username, &client_addr).await;
    // Both outcomes wrote their own audit event.
    if matches!(result, Ok(()) | Err(crate::service::ServiceError::NotFound)) {
        mark_audited();
    }
    Ok(result?)
}

/// A page of the audit trail search for the administrator's page: the same service, and the same
/// `audit.search` event, as `GET /api/v1/audit`. `query` holds the page's URL parameters as
/// given, so an unknown or malformed one is refused here too. The endpoint keeps the name of the
/// listing it replaced.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "audit_log", input = GetUrl)]
pub async fn search_audit_page(#[server(default)] query: BTreeMap<String, String>) -> Result<AuditSearch, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::admin::search_audit(&pool()?, &caller()?, &query).await?)
}

/// The actions of recent events, which the audit page's search form suggests.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "audit_actions", input = GetUrl)]
pub async fn audit_actions() -> Result<Vec<String>, AppError> {
    Ok(crate::service::admin::audit_actions(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?)
        .await?)
}

/// The programme table (the administrator's dashboard).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "program", input = GetUrl)]
pub async fn load_program(
    params: crate::model::program::ProgramParams,
) -> Result<crate::model::program::ProgramReport, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let today = crate::service::followup::today();
    Ok(crate::service::program::report(&pool()?, &caller()?, &params, today).await?)
}

/// The records behind one figure of the programme table.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "program_records", input = GetUrl)]
pub async fn load_program_records(
    params: crate::model::program::RecordsParams,
) -> Result<crate::model::program::ProgramRecords, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let today = crate::service::followup::today();
    Ok(crate::service::program::records(&pool()?, &caller()?, &params, today).await?)
}

/// Every site (code and name), for the users page's site choices.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "sites", input = GetUrl)]
pub async fn list_sites() -> Result<Vec<crate::model::program::SiteOption>, AppError> {
    Ok(crate::service::admin::sites(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?).await?)
}

/// The system health panel on the administrator's home: the same checks as
/// `GET /api/v1/admin/health`.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "health", input = GetUrl)]
pub async fn system_health() -> Result<crate::model::health::HealthReport, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let sources = provided::<crate::service::health::HealthSources>()?;
    Ok(crate::service::health::report(&pool()?, &caller()?, &sources).await?)
}

/// The session key under which a form post leaves a temporary password (a new account, a
/// reset) for the users page to show once.
pub const ISSUED_PASSWORD_KEY: &str = "issued_password";

/// The temporary password this browser's last form post made, if the users page has not shown
/// it yet: taken from the session, so it is shown once.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "issued_password", input = GetUrl)]
pub async fn take_issued_password() -> Result<Option<crate::model::admin::IssuedPassword>, AppError> {
    use axum::http::request::Parts;
    use leptos::prelude::use_context;

    let Some(session) = use_context::<Parts>().and_then(|p| p.extensions.get::<tower_sessions::Session>().cloned())
    else {
        return Ok(None);
    };
    session.remove(ISSUED_PASSWORD_KEY).await.map_err(|e| {
        tracing::error!(%e, "reading the session");
        AppError::Internal
    })
}

/// Every site with its patient ID authority and calling AE titles (the sites page).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "site_details", input = GetUrl)]
pub async fn list_site_details() -> Result<Vec<crate::model::admin::SiteDetail>, AppError> {
    Ok(crate::service::sites::list(&crate::api::session::ssr::pool()?, &crate::api::session::ssr::caller()?).await?)
}
