//! Errors of the HTTP layer. Clients see `{"error":{"code","message"}}` with a safe message;
//! the cause is logged, never sent.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("please sign in")]
    Unauthorized,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("cross-site request refused")]
    CrossSite,
    /// Signed in with a temporary password: only choosing one's own is allowed.
    #[error("choose your own password first (POST /api/v1/auth/password)")]
    PasswordChangeRequired,
    #[error("not found")]
    NotFound,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again later")]
    SigninLocked,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A STOW-RS request or an upload over its configured limit (`ELYSIUM_MAX_STOW_BYTES`,
    /// `ELYSIUM_MAX_UPLOAD_BYTES`), in bytes: the message says how much is accepted.
    #[error("the request body is larger than the {} this server accepts here; send it in smaller parts", size(*.0))]
    BodyOverLimit(u64),
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the service is not ready")]
    Unavailable,
    /// The database cannot be reached (stopped, restarting, unreachable): the request may be
    /// tried again once it is back. Never the database's own error text, which is logged.
    #[error("the database is unavailable; try again shortly")]
    DatabaseUnavailable,
    /// Too much work of one kind at once (password checks): try again shortly.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
    /// The server is handling as many requests (or uploads) as it takes at once.
    #[error("{0}")]
    Saturated(&'static str),
    /// The request ran past `ELYSIUM_HTTP_REQUEST_TIMEOUT_SECS` (in seconds) and was stopped.
    #[error("the request took longer than {0} seconds and was stopped; try again")]
    TimedOut(u64),
    /// A read of patient data whose audit row could not be written: refused, not served.
    #[error("{0}")]
    AuditUnavailable(app::service::audit::AuditUnavailable),
    /// None of the representations the client accepts can be produced.
    #[error("{0}")]
    NotAcceptable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A failure that is not the client's: a 500, or a 503 when the cause is the database being
    /// out of reach (a request during an outage is not a bug, and may be tried again).
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::from_cause(Box::new(error))
    }

    fn from_cause(cause: Box<dyn std::error::Error + Send + Sync>) -> Self {
        if database_unreachable(cause.as_ref()) {
            tracing::warn!(error = %cause, "the database is unavailable");
            return ApiError::DatabaseUnavailable;
        }
        ApiError::Internal(cause)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CrossSite | ApiError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::SigninLocked => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge | ApiError::BodyOverLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable
            | ApiError::DatabaseUnavailable
            | ApiError::Busy
            | ApiError::Saturated(_)
            | ApiError::TimedOut(_)
            | ApiError::AuditUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::CrossSite => "cross_site_request",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::NotFound => "not_found",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::SigninLocked => "signin_locked",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PayloadTooLarge | ApiError::BodyOverLimit(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable | ApiError::DatabaseUnavailable => "unavailable",
            ApiError::Busy | ApiError::Saturated(_) => "busy",
            ApiError::TimedOut(_) => "timed_out",
            ApiError::AuditUnavailable(_) => "audit_unavailable",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// Whether `error`, or one of its causes, says the database could not be reached or the connection
/// to it was lost (PostgreSQL stopped or restarting), rather than a statement failing.
fn database_unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(error) = error.downcast_ref::<sqlx::Error>() {
            return match error {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                // 57P01-03: shutting down or starting up; class 08: connection exceptions.
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|code| matches!(&*code, "57P01" | "57P02" | "57P03") || code.starts_with("08")),
                _ => false,
            };
        }
        cause = error.source();
    }
    false
}

/// A byte count as people read it: `1 GiB`, `64 KiB`, `1000 bytes`.
/// An upload or STOW-RS body over `limit` bytes, in both languages (the upload page's notice).
pub fn body_over_limit_said(limit: u64) -> app::domain::said::Said {
    app::domain::said::Said::new(
        ApiError::BodyOverLimit(limit).to_string(),
        format!("请求内容大于本服务器此处接受的 {}；请分批发送", size(limit)),
    )
}

fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map_or_else(|| format!("{bytes} bytes"), |(unit, name)| format!("{} {name}", bytes / unit))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "internal error");
        }
        let body = Json(json!({ "error": { "code": self.code(), "message": self.to_string() } }));
        (self.status(), body).into_response()
    }
}

impl From<elysium_db::DbError> for ApiError {
    fn from(error: elysium_db::DbError) -> Self {
        match error {
            elysium_db::DbError::NotFound(_) => ApiError::NotFound,
            elysium_db::DbError::AlreadyExists(what) => ApiError::Conflict(format!("{what} already exists")),
            other => ApiError::internal(other),
        }
    }
}

impl From<app::service::audit::AuditUnavailable> for ApiError {
    fn from(error: app::service::audit::AuditUnavailable) -> Self {
        ApiError::AuditUnavailable(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(error)
    }
}

impl From<app::service::ServiceError> for ApiError {
    fn from(error: app::service::ServiceError) -> Self {
        use app::service::ServiceError;
        match error {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::Forbidden => ApiError::Forbidden,
            invalid @ ServiceError::Invalid { .. } => ApiError::Validation(invalid.to_string()),
            // The REST API speaks English (`Said`'s `Display`).
            ServiceError::Conflict(message) => ApiError::Conflict(message.en),
            ServiceError::AuditUnavailable(unavailable) => ApiError::AuditUnavailable(unavailable),
            ServiceError::Internal(cause) => ApiError::from_cause(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_said_in_units_people_read() {
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(3 << 20), "3 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
        let over = ApiError::BodyOverLimit(1 << 30);
        assert_eq!((over.status(), over.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
        assert!(over.to_string().contains("1 GiB"), "{over}");
    }

    #[test]
    fn a_database_out_of_reach_is_a_503_without_its_error_text() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        for error in [ApiError::from(elysium_db::DbError::Sqlx(refused)), ApiError::from(sqlx::Error::PoolTimedOut)] {
            assert_eq!((error.status(), error.code()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
            assert_eq!(error.to_string(), "the database is unavailable; try again shortly");
        }
        // A statement's own failure is still an internal error.
        assert_eq!(ApiError::from(sqlx::Error::RowNotFound).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
