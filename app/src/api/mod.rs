//! Server functions: each checks who is asking, calls the persistence layer, and maps errors.
//! Which role may call which server function is decided once, in the server's authorization
//! policy, by URL prefix: everything under `/api/fn/admin/` is for administrators.

pub mod admin;
pub mod error;
pub mod followup;
pub mod session;
pub mod studies;
pub mod upload;

pub use error::AppError;
pub use session::{SessionUser, SiteRef};

/// Mount point of every server function (kept apart from the REST API under `/api/v1/`).
pub const SERVER_FN_PREFIX: &str = "/api/fn";
