//! What a service refuses or fails with. Server functions turn it into
//! [`crate::model::AppError`] and REST handlers into their JSON error; neither adds meaning.

use crate::service::audit::AuditUnavailable;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Unknown, or outside the caller's sites (the two are indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request is valid but the state does not allow it (a stale version, a second decision).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// Logged where it is mapped; callers see a generic message.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid { field: field.to_owned(), message: message.into() }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
        ServiceError::Internal(Box::new(error))
    }
}

impl From<elysium_db::DbError> for ServiceError {
    fn from(error: elysium_db::DbError) -> Self {
        match error {
            elysium_db::DbError::NotFound(_) => ServiceError::NotFound,
            elysium_db::DbError::AlreadyExists(what) => ServiceError::Conflict(format!("{what} already exists")),
            other => ServiceError::internal(other),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        elysium_db::DbError::from(error).into()
    }
}
