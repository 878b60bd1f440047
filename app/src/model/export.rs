//! The de-identified export page: whether the server can make the downloads, and the period it
//! offers by default.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPage {
    /// The server holds an export key (`ELYSIUM_EXPORT_KEY`): without one it refuses the downloads.
    pub key_configured: bool,
    /// The period offered, YYYY-MM-DD: the programme dashboard's default (the last 26 weeks).
    pub from: String,
    pub to: String,
}

/// Whether the server was started with an export key, as the server functions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportKeyConfigured(pub bool);
