//! The result of the last upload, kept in the session between the form post and the page.

use serde::{Deserialize, Serialize};

use crate::api::AppError;

/// Session key of the last upload's result.
pub const LAST_UPLOAD: &str = "last_upload";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRow {
    pub file: String,
    /// stored, duplicate or refused.
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResult {
    pub stored: usize,
    pub duplicates: usize,
    pub refused: usize,
    pub rows: Vec<UploadRow>,
    /// Rows beyond the table's limit (counted above, not listed).
    pub unlisted: usize,
    pub error: Option<String>,
}

impl UploadResult {
    pub fn push(&mut self, row: UploadRow, max_rows: usize) {
        match row.outcome.as_str() {
            "stored" => self.stored += 1,
            "duplicate" => self.duplicates += 1,
            _ => self.refused += 1,
        }
        if self.rows.len() < max_rows { self.rows.push(row) } else { self.unlisted += 1 }
    }
}

#[leptos::server(prefix = "/api/fn", endpoint = "last_upload", input = leptos::server_fn::codec::GetUrl)]
pub async fn last_upload() -> Result<Option<UploadResult>, AppError> {
    use axum::http::request::Parts;
    let parts = leptos::prelude::use_context::<Parts>().ok_or(AppError::Internal)?;
    let session = parts.extensions.get::<tower_sessions::Session>().cloned().ok_or(AppError::Internal)?;
    session.get::<UploadResult>(LAST_UPLOAD).await.map_err(|_| AppError::Internal)
}
