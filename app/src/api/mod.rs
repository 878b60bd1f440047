//! Server functions: each extracts the caller and its input, calls a service, and maps the
//! service's error. Which role may call which server function is decided once, in the server's
//! authorization policy, by URL prefix: everything under `/api/fn/admin/` is for administrators.

pub mod admin;
pub mod chronic;
#[cfg(feature = "ssr")]
mod error;
pub mod export;
pub mod followup;
pub mod governance;
pub mod lesions;
pub mod mdt;
pub mod record;
pub mod referral;
pub mod session;
pub mod settings;
pub mod studies;
pub mod tokens;
pub mod upload;

/// Mount point of every server function (kept apart from the REST API under `/api/v1/`).
pub const SERVER_FN_PREFIX: &str = "/api/fn";
