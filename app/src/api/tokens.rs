//! The API tokens page as a server function (administrators: the `/api/fn/admin/` prefix).
//! Creating and revoking are form posts to `/admin/tokens` (they work without JavaScript).

use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::model::AppError;
use crate::model::tokens::{CreatedToken, TokenSummary};

/// The session key under which the form post leaves a new token for its page to show once.
pub const CREATED_TOKEN_KEY: &str = "created_token";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<TokenSummary>,
    /// A token just created by this browser: present on the first view after creating it only.
    pub created: Option<CreatedToken>,
    /// Usernames a token may act for.
    pub usernames: Vec<String>,
}

#[leptos::server(prefix = "/api/fn/admin", endpoint = "tokens", input = GetUrl)]
pub async fn load_tokens() -> Result<TokensPage, AppError> {
    use axum::http::request::Parts;
    use leptos::prelude::use_context;

    use crate::api::session::ssr::{caller, pool};
    let (pool, caller) = (pool()?, caller()?);
    let session = use_context::<Parts>().and_then(|p| p.extensions.get::<tower_sessions::Session>().cloned());
    let created = match session {
        Some(session) => session.remove::<CreatedToken>(CREATED_TOKEN_KEY).await.map_err(|e| {
            tracing::error!(%e, "reading the session");
            AppError::Internal
        })?,
        None => None,
    };
    let usernames = crate::service::admin::users(&pool, &caller)
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| u.username)
        .collect();
    Ok(TokensPage { tokens: crate::service::tokens::list(&pool, &caller).await?, created, usernames })
}
