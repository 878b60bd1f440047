//! Who is signed in. The server's authentication layer puts a [`SessionUser`] into each
//! request; server functions and pages read it from there.

use crate::model::{AppError, SessionUser};

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

    /// The signed-in user and where the request came from, for a service call.
    pub fn caller() -> Result<crate::service::Caller, AppError> {
        Ok(crate::service::Caller::new(require_user()?, client_addr()))
    }

    /// A value the server provides to every server function (the object store, the view log,
    /// the service levels).
    pub fn provided<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
        use_context::<T>().ok_or_else(|| {
            tracing::error!(what = std::any::type_name::<T>(), "missing from the server function context");
            AppError::Internal
        })
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

/// REST handlers take the caller as an extractor: the user the authentication layer attached
/// (401 without one) and the client address the server determined.
#[cfg(feature = "ssr")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for crate::service::Caller {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<SessionUser>().cloned().ok_or(axum::http::StatusCode::UNAUTHORIZED)?;
        let client = parts.extensions.get::<ssr::ClientAddr>().map(|c| c.0.clone());
        Ok(crate::service::Caller::new(user, client))
    }
}
