//! The result of the last upload, kept in the session between the form post and the page.

use crate::model::AppError;
use crate::model::upload::UploadResult;

#[leptos::server(prefix = "/api/fn", endpoint = "last_upload", input = leptos::server_fn::codec::GetUrl)]
pub async fn last_upload() -> Result<Option<UploadResult>, AppError> {
    use axum::http::request::Parts;
    let parts = leptos::prelude::use_context::<Parts>().ok_or(AppError::Internal)?;
    let session = parts.extensions.get::<tower_sessions::Session>().cloned().ok_or(AppError::Internal)?;
    // A result stored by an earlier version (its error a plain string) no longer reads: the page
    // shows no last upload rather than failing.
    Ok(session.get::<UploadResult>(crate::model::upload::LAST_UPLOAD).await.unwrap_or_else(|error| {
        tracing::debug!(%error, "the session's last upload does not read");
        None
    }))
}
