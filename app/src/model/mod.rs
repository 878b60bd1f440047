//! Wire types: what the server sends to the pages and to REST clients, one shape for both. They
//! compile for the browser too, carry the domain's enums (status, organ, role, job state) rather
//! than their names as strings, and leave labels to `domain` on either side.
//!
//! Dependencies run one way: `domain` ← `model` ← `service` ← {server functions, REST routes}.

pub mod admin;
pub mod chronic;
pub mod error;
pub mod export;
pub mod followup;
pub mod governance;
pub mod health;
pub mod lesions;
pub mod mdt;
pub mod patients;
pub mod program;
pub mod record;
pub mod referral;
pub mod screening;
pub mod session;
pub mod settings;
pub mod studies;
pub mod tokens;
pub mod upload;

pub use error::AppError;
pub use session::{SessionUser, SiteRef};
