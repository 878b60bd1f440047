//! Services: the only app code that touches the database crate, the DICOM crate or the object
//! store. Server functions and REST handlers extract the caller and the input, call a service,
//! and map its error; both therefore go through one implementation and return the same
//! [`crate::model`] types. Server side only.

pub mod admin;
pub mod audit;
pub mod chronic;
pub mod error;
pub mod fhir;
pub mod followup;
pub mod governance;
pub mod health;
pub mod lesions;
pub mod mdt;
pub mod names;
pub mod patients;
pub mod profile;
pub mod program;
pub mod record;
pub mod referral;
pub mod refusal_text;
pub mod screening;
pub mod settings;
pub mod sites;
pub mod studies;
pub mod tokens;

pub use audit::Audit;
pub use error::ServiceError;

use crate::model::SessionUser;

/// Who is asking: the signed-in user and the address the request came from (for the audit
/// trail). Every service operation on behalf of a person takes one.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: SessionUser,
    pub client_addr: Option<String>,
}

impl Caller {
    pub fn new(user: SessionUser, client_addr: Option<String>) -> Caller {
        Caller { user, client_addr }
    }

    /// Refuses a caller who is not an administrator. Administration is guarded twice: by the
    /// server's path policy, and here at the top of each administration service, so that a
    /// route or server function added outside the guarded paths cannot reach it without the role.
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.user.has_role(crate::domain::roles::Role::Admin) { Ok(()) } else { Err(ServiceError::Forbidden) }
    }

    /// An audit event of `action` by this caller (see [`Audit`]).
    pub fn audit(&self, action: &str) -> Audit {
        Audit::by(&self.user, self.client_addr.clone(), action)
    }
}
