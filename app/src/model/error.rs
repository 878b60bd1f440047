//! The only error a server function returns to the browser: safe variants, never database text.
//! Services return their own error ([`crate::service::ServiceError`]); the server functions map it
//! to this.

use leptos::server_fn::{ServerFnError, codec::JsonEncoding, error::FromServerFnError};
use serde::{Deserialize, Serialize};

use crate::domain::said::Said;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please sign in")]
    Unauthorized,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{field}: {message}")]
    Validation { field: String, message: Said },
    #[error("{0}")]
    Conflict(Said),
    /// A read of patient data whose audit row could not be written: refused, not served.
    #[error("this access could not be recorded in the audit trail, so the data was not sent; try again shortly")]
    AuditUnavailable,
    #[error("something went wrong on the server; it has been logged")]
    Internal,
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl From<ServerFnError> for AppError {
    fn from(value: ServerFnError) -> Self {
        AppError::Transport(value.to_string())
    }
}
