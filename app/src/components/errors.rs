//! A server function's error, as the person reading the page should see it: in their language
//! where the error is one the interface knows; a validation or conflict message comes from the
//! server in both languages ([`crate::domain::said::Said`]) and is shown in the page's.

use leptos::prelude::*;

use crate::i18n::{language, t, use_i18n};
use crate::model::AppError;

/// The error as an alert.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    let text = match error {
        AppError::Unauthorized => t!(i18n, errors.unauthorized).into_any(),
        AppError::Forbidden => t!(i18n, errors.forbidden).into_any(),
        AppError::NotFound => t!(i18n, errors.not_found).into_any(),
        AppError::AuditUnavailable => t!(i18n, errors.audit_unavailable).into_any(),
        AppError::Internal => t!(i18n, errors.internal).into_any(),
        AppError::Transport(detail) => t!(i18n, errors.transport, detail = move || detail.clone()).into_any(),
        AppError::Validation { field, message } => t!(
            i18n,
            errors.validation,
            field = move || field.clone(),
            message = move || message.in_language(language(i18n)).to_owned()
        )
        .into_any(),
        AppError::Conflict(message) => (move || message.in_language(language(i18n)).to_owned()).into_any(),
    };
    view! { <p class="notice error" role="alert" data-testid="error">{text}</p> }
}
