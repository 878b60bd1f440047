//! How a service's error reaches the browser: as [`AppError`], with the HTTP status a REST client
//! would get for the same refusal. Server side only.

use crate::model::AppError;
use crate::service::ServiceError;

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        let (status, error) = match error {
            ServiceError::NotFound => (404, AppError::NotFound),
            ServiceError::Forbidden => (403, AppError::Forbidden),
            ServiceError::Invalid { field, message } => (422, AppError::Validation { field, message }),
            ServiceError::Conflict(message) => (409, AppError::Conflict(message)),
            ServiceError::AuditUnavailable(_) => (503, AppError::AuditUnavailable),
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error in a server function");
                (500, AppError::Internal)
            }
        };
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = axum::http::StatusCode::from_u16(status)
        {
            response.set_status(status);
        }
        error
    }
}
