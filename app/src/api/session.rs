//! Who is signed in. The server's authentication layer puts a [`SessionUser`] into each
//! request; server functions and pages read it from there.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::AppError;
use crate::domain::roles::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub sites: Vec<SiteRef>,
}

impl SessionUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }

    /// The sites whose patients this user may see: `None` (all) for administrators, otherwise
    /// the user's own sites.
    pub fn site_scope(&self) -> Option<Vec<Uuid>> {
        (!self.has_role(Role::Admin)).then(|| self.sites.iter().map(|s| s.id).collect())
    }
}

/// The signed-in user, or `None` on the sign-in page.
#[leptos::server(prefix = "/api/fn", endpoint = "current_user", input = leptos::server_fn::codec::GetUrl)]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    Ok(ssr::session_user())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use axum::http::request::Parts;
    use leptos::prelude::use_context;

    /// The user the authentication layer attached to the current request.
    pub fn session_user() -> Option<SessionUser> {
        use_context::<Parts>()?.extensions.get::<SessionUser>().cloned()
    }

    pub fn require_user() -> Result<SessionUser, AppError> {
        session_user().ok_or(AppError::Unauthorized)
    }

    /// The client address the server attached to the current request (for the audit trail).
    pub fn client_addr() -> Option<String> {
        use_context::<Parts>()?.extensions.get::<ClientAddr>().map(|c| c.0.clone())
    }

    pub fn pool() -> Result<sqlx::PgPool, AppError> {
        use_context::<sqlx::PgPool>().ok_or_else(|| {
            tracing::error!("no database pool in the server function context");
            AppError::Internal
        })
    }

    /// The client's address as the server determined it (socket peer, or a trusted proxy's
    /// X-Forwarded-For).
    #[derive(Debug, Clone)]
    pub struct ClientAddr(pub String);

    /// Tells the server's audit layer that the handler wrote its own audit event, so the
    /// generic per-request event is not written twice.
    pub const AUDITED_HEADER: &str = "x-elysium-audited";

    pub fn mark_audited() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                axum::http::HeaderName::from_static(AUDITED_HEADER),
                axum::http::HeaderValue::from_static("1"),
            );
        }
    }
}

#[cfg(feature = "ssr")]
impl SessionUser {
    /// An audit event with this user as the actor; the caller fills in target and detail.
    pub fn audit_event(
        &self,
        action: &str,
        outcome: &'static str,
        client_addr: Option<String>,
    ) -> elysium_db::audit::NewAuditEvent {
        elysium_db::audit::NewAuditEvent {
            actor_user_id: Some(self.id),
            actor_username: Some(self.username.clone()),
            actor_roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            action: action.to_owned(),
            client_addr,
            outcome,
            ..Default::default()
        }
    }
}
