//! Extractors whose rejections speak the API's error format.

use app::service::ServiceError;
use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use app::service::refusal_text::without_input;

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
    let message = match rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => without_input(&rejection.body_text()),
        _ => rejection.body_text(),
    };
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
    let event = serde_json::from_value::<E>(Value::Object(fields)).map_err(|e| {
        let said = without_input(&e.to_string());
        ServiceError::invalid("event", app::said!("{said}", "无法读取该事件：{said}"))
    })?;
    Ok((version, event))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only read by serde")]
    struct Sample {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        items: Vec<String>,
        kind: Option<Kind>,
        extra: Option<BTreeMap<String, u32>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        One,
        Two,
    }

    fn refusal(body: &str) -> (StatusCode, String) {
        let rejection = axum::Json::<Sample>::from_bytes(body.as_bytes()).expect_err("refused");
        let error = rejection_error(&rejection);
        (error.status(), error.to_string())
    }

    /// serde quotes what it could not read (an unknown field's name, in its path too, a mistyped
    /// string, an unknown variant): the extractor's messages keep serde's words and drop those.
    #[test]
    fn serde_messages_are_said_without_the_input() {
        let data = "Failed to deserialize the JSON body into the target type: ";
        let fields = "unknown field; valid: name, count, items, kind, extra";
        for (body, said) in [
            (r#"{"name":"a","<script>":1}"#, fields),
            (r#"{"a`, expected one of `<b>x":1}"#, fields),
            (r#"{"name":"a","a: invalid type: <i>":1}"#, fields),
            (r#"{"name":"a","kind":"<i>x"}"#, "kind: unknown variant; valid: one, two"),
            (r#"{"name":"a","count":"<b>, expected u64"}"#, "count: invalid type: string, expected u32"),
            (r#"{"name":"a","count":-7}"#, "count: invalid value: integer, expected u32"),
            (r#"{"name":"a","items":["x",["<s>"]]}"#, "items[1]: invalid type: sequence, expected a string"),
            (r#"{"items":[]}"#, "missing field `name`"),
            (r#"{"name":"a","name":"b"}"#, "duplicate field `name`"),
            (r#"{"name":"a","extra":{"<k>: invalid type: x":"v"}}"#, "not of the expected form"),
            (r#"{"name":"a","extra":{"kk":"<v>"}}"#, "extra.kk: invalid type: string, expected u32"),
            (r#""<script>""#, "invalid type: string, expected struct Sample"),
            (r#"[["<script>"]]"#, "[0]: invalid type: sequence, expected a string"),
            (r#"["<script>"]"#, "invalid length, expected struct Sample with 5 elements"),
        ] {
            let (status, message) = refusal(body);
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let (start, end) = (message.find(data).map(|i| i + data.len()), message.rfind(" at line "));
            assert_eq!(start.zip(end).map(|(s, e)| &message[s..e]), Some(said), "{body}: {message}");
            assert!(!message.contains('<'), "{message}");
        }
        let syntax = "Failed to parse the request body as JSON: ";
        for (body, said) in [
            (r#"{"name":"<x"#, format!("{syntax}name: EOF while parsing a string at line 1 column 11")),
            (r#"{"name":"a","extra":{"<k>": tru"#, format!("{syntax}EOF while parsing a value at line 1 column 31")),
            (r#"{"name":"a"} <x>"#, format!("{syntax}trailing characters at line 1 column 14")),
        ] {
            assert_eq!(refusal(body), (StatusCode::BAD_REQUEST, said), "{body}");
        }
    }
}
