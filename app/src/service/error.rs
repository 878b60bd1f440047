//! What a service refuses or fails with. Server functions turn it into
//! [`crate::model::AppError`] and REST handlers into their JSON error; neither adds meaning.

use crate::domain::said::Said;
use crate::service::audit::AuditUnavailable;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Unknown, or outside the caller's sites (the two are indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("{field}: {message}")]
    Invalid { field: String, message: Said },
    /// The request is valid but the state does not allow it (a stale version, a second decision).
    #[error("{0}")]
    Conflict(Said),
    #[error(transparent)]
    AuditUnavailable(#[from] AuditUnavailable),
    /// Logged where it is mapped; callers see a generic message.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn invalid(field: &str, message: Said) -> ServiceError {
        ServiceError::Invalid { field: field.to_owned(), message }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
        ServiceError::Internal(Box::new(error))
    }

    /// The error as a person reads it, in both languages: a field's refusal as `field: message`;
    /// an internal failure in general words (its cause is logged here, never shown).
    pub fn said(&self) -> Said {
        match self {
            ServiceError::Invalid { field, message } => message.with_field(field),
            ServiceError::Conflict(message) => message.clone(),
            ServiceError::NotFound => crate::said!("not found", "未找到"),
            ServiceError::Forbidden => crate::said!("you do not have access to this", "您无权访问此内容"),
            ServiceError::AuditUnavailable(_) => {
                crate::said!("the audit trail could not be written; try again shortly", "审计日志无法写入；请稍后再试")
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error shown to a person");
                crate::said!("something went wrong on the server; it has been logged", "服务器出错，已记录日志")
            }
        }
    }
}

impl From<elysium_db::DbError> for ServiceError {
    fn from(error: elysium_db::DbError) -> Self {
        match error {
            elysium_db::DbError::NotFound(_) => ServiceError::NotFound,
            elysium_db::DbError::AlreadyExists(what) => ServiceError::Conflict(already_exists(what)),
            other => ServiceError::internal(other),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        elysium_db::DbError::from(error).into()
    }
}

/// The words for a unique key already taken; `what` is the name the database layer gives it.
fn already_exists(what: &str) -> Said {
    let zh = match what {
        "username" => "用户名",
        "site" => "站点",
        "token" => "令牌",
        "signature" => "签名",
        "agenda item" => "议程条目",
        _ => "该记录",
    };
    crate::said!("{what} already exists", "{zh}已存在")
}
