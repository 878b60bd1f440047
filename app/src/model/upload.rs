//! The result of an upload, kept in the session between the form post and the page.

use serde::{Deserialize, Serialize};

/// Session key of the last upload's result (`_v2`: rows carry [`UploadDetail`] codes; a result
/// kept in the old form by an earlier version is not read back).
pub const LAST_UPLOAD: &str = "last_upload_v2";

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRow {
    pub file: String,
    pub outcome: UploadOutcome,
    pub detail: UploadDetail,
}

/// What the page says of one file, worded there in the reader's language. The particulars (a
/// patient ID, a UID, an attribute's name, the parser's or the zip reader's own words) are
/// identifiers and technical text, shown as they are in either language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadDetail {
    Stored { patient_id: String, study_uid: String },
    Duplicate { sop_instance_uid: String },
    Refused(UploadRefusal),
}

/// Why a file was not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRefusal {
    pub reason: RefusalReason,
    pub particulars: Option<String>,
}

impl UploadRefusal {
    pub fn new(reason: RefusalReason, particulars: Option<String>) -> Self {
        UploadRefusal { reason, particulars }
    }
}

/// The reasons a file is refused: the ingest's (header checks and filing rules) and the
/// archive reader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    NotDicom,
    BadFileMeta,
    Unreadable,
    UnsupportedTransferSyntax,
    MissingAttribute,
    InvalidUid,
    BadValue,
    MetaMismatch,
    IncompletePixelData,
    NotInCharacterSet,
    MissingPatientId,
    NotCt,
    ConflictingContent,
    Inconsistent,
    WrongStudy,
    Storage,
    NotAZip,
    ZipEntryTooLarge,
    ZipTooLarge,
    ZipEntryUnreadable,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 20] = [
        RefusalReason::NotDicom,
        RefusalReason::BadFileMeta,
        RefusalReason::Unreadable,
        RefusalReason::UnsupportedTransferSyntax,
        RefusalReason::MissingAttribute,
        RefusalReason::InvalidUid,
        RefusalReason::BadValue,
        RefusalReason::MetaMismatch,
        RefusalReason::IncompletePixelData,
        RefusalReason::NotInCharacterSet,
        RefusalReason::MissingPatientId,
        RefusalReason::NotCt,
        RefusalReason::ConflictingContent,
        RefusalReason::Inconsistent,
        RefusalReason::WrongStudy,
        RefusalReason::Storage,
        RefusalReason::NotAZip,
        RefusalReason::ZipEntryTooLarge,
        RefusalReason::ZipTooLarge,
        RefusalReason::ZipEntryUnreadable,
    ];
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResult {
    pub stored: usize,
    pub duplicates: usize,
    pub refused: usize,
    pub rows: Vec<UploadRow>,
    /// Rows beyond the table's limit (counted above, not listed).
    pub unlisted: usize,
    /// Why the upload stopped, in both languages.
    pub error: Option<crate::domain::said::Said>,
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
