//! The result of an upload, kept in the session between the form post and the page.

use serde::{Deserialize, Serialize};

/// Session key of the last upload's result.
pub const LAST_UPLOAD: &str = "last_upload";

/// What became of one uploaded file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadOutcome {
    Stored,
    /// The same instance was already stored; nothing changed.
    Duplicate,
    #[default]
    Refused,
}

impl UploadOutcome {
    pub fn label(self) -> &'static str {
        match self {
            UploadOutcome::Stored => "stored",
            UploadOutcome::Duplicate => "duplicate",
            UploadOutcome::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRow {
    pub file: String,
    pub outcome: UploadOutcome,
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
        match row.outcome {
            UploadOutcome::Stored => self.stored += 1,
            UploadOutcome::Duplicate => self.duplicates += 1,
            UploadOutcome::Refused => self.refused += 1,
        }
        if self.rows.len() < max_rows { self.rows.push(row) } else { self.unlisted += 1 }
    }
}
