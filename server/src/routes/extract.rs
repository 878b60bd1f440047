//! Extractors whose rejections speak the API's error format.

use app::service::ServiceError;
use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// `Json<T>` whose malformed, oversized, mistyped or non-UTF-8 bodies become a JSON 4xx
/// (`{"error":{"code","message"}}`) instead of axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_error(&rejection)),
        }
    }
}

fn rejection_error(rejection: &JsonRejection) -> ApiError {
    let message = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Validation(message),
        _ => ApiError::BadRequest(message),
    }
}

/// Takes the version the client last saw (`field`: `expected_version` or `version`) out of an
/// event's JSON fields, as the findings', chronic findings' and referrals' event endpoints send it.
pub fn take_version(fields: &mut Map<String, Value>, field: &'static str) -> Result<i32, ServiceError> {
    fields.remove(field).and_then(|v| v.as_i64()).and_then(|v| i32::try_from(v).ok()).ok_or_else(|| {
        ServiceError::invalid(
            field,
            app::said!("the version you last saw (an integer) is required", "需要您上次看到的版本号（整数）"),
        )
    })
}

/// Splits `{"event": NAME, "<version field>": n, ...payload}` into the version and the event.
pub fn versioned_event<E: DeserializeOwned>(
    mut fields: Map<String, Value>,
    version_field: &'static str,
) -> Result<(i32, E), ServiceError> {
    let version = take_version(&mut fields, version_field)?;
    let event = serde_json::from_value::<E>(Value::Object(fields))
        .map_err(|e| ServiceError::invalid("event", app::said!("{e}", "无法读取该事件：{e}")))?;
    Ok((version, event))
}
