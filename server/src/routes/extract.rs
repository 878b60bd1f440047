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

const DATA_ERROR: &str = "Failed to deserialize the JSON body into the target type: ";
const SYNTAX_ERROR: &str = "Failed to parse the request body as JSON: ";

/// axum's message for a body that is not JSON, or not of the expected shape, rebuilt from serde's
/// own words without the input they quote. serde quotes an unknown field's name (in the message
/// and in the path before it), an unknown variant and a mistyped string value, and the API never
/// repeats its input. Kept: the path where it is made of plain names and indices, what was wrong,
/// what was expected (the type's own names and descriptions) and where.
fn without_input(text: &str) -> String {
    let (prefix, rest) = [DATA_ERROR, SYNTAX_ERROR]
        .into_iter()
        .find_map(|prefix| text.strip_prefix(prefix).map(|rest| (prefix, rest)))
        .unwrap_or(("", text));
    // serde_json ends its messages with the position, digits only.
    let (rest, at) = match rest.rfind(" at line ") {
        Some(i) if rest[i + 9..].split(" column ").all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => {
            (&rest[..i], &rest[i..])
        }
        _ => (rest, ""),
    };
    let said = if prefix == SYNTAX_ERROR {
        // serde_json's syntax messages are its own fixed words, none with ": " in them.
        match rest.rsplit_once(": ") {
            Some((path, message)) if plain_path(path) => format!("{path}: {message}"),
            Some((_, message)) => message.to_owned(),
            None => rest.to_owned(),
        }
    } else {
        data_error(rest)
    };
    format!("{prefix}{said}{at}")
}

/// The words of serde's data errors that come before what they quote.
const PHRASES: [&str; 7] = [
    "unknown field `",
    "unknown variant `",
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "missing field `",
    "duplicate field `",
];

/// `[path: ]message` as serde_path_to_error writes a data error (the position taken off).
fn data_error(rest: &str) -> String {
    // After the last ", expected " comes the type's own description: its field or variant names,
    // or what it is (`a string`, `u32`); what the input quotes comes before.
    let expected = rest.rfind(", expected ").map(|i| &rest[i + 11..]);
    // Names as serde lists them: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
    let names = expected
        .filter(|e| e.starts_with('`') || e.starts_with("one of `"))
        .map(|e| e.split('`').skip(1).step_by(2).collect::<Vec<_>>().join(", "));
    if rest.contains("unknown field `") && (names.is_some() || rest.ends_with(", there are no fields")) {
        // The path ends with the unknown field's name: none of it is repeated.
        return match names {
            Some(names) => format!("unknown field; valid: {names}"),
            None => "unknown field; none is accepted here".to_owned(),
        };
    }
    let (path, message) = match rest.split_once(": ") {
        _ if PHRASES.iter().any(|p| rest.starts_with(p)) => ("", rest),
        Some((path, message)) if plain_path(path) => (path, message),
        // A path with a name the client chose: none of it is repeated, nor what follows.
        _ => ("", ""),
    };
    let at = if path.is_empty() { String::new() } else { format!("{path}: ") };
    let quoted_name =
        |phrase: &str| message.strip_prefix(phrase).and_then(|m| m.strip_suffix('`')).filter(|name| plain_path(name));
    let what = if message.starts_with("unknown variant `") {
        match names {
            Some(names) => format!("unknown variant; valid: {names}"),
            None => "unknown variant".to_owned(),
        }
    } else if let Some(kind) = ["invalid type: ", "invalid value: "].into_iter().find(|k| message.starts_with(k)) {
        let given = &message[kind.len()..];
        let given = UNEXPECTED.into_iter().find(|u| given.starts_with(u)).unwrap_or("value");
        let expected = expected.map(|e| format!(", expected {e}")).unwrap_or_default();
        format!("{}: {given}{expected}", kind.trim_end_matches([':', ' ']))
    } else if message.starts_with("invalid length ") {
        format!("invalid length{}", expected.map(|e| format!(", expected {e}")).unwrap_or_default())
    } else if let Some(name) = quoted_name("missing field `") {
        format!("missing field `{name}`")
    } else if let Some(name) = quoted_name("duplicate field `") {
        format!("duplicate field `{name}`")
    } else {
        "not of the expected form".to_owned()
    };
    format!("{at}{what}")
}

/// What serde says it was given, without the value it quotes after these words.
const UNEXPECTED: [&str; 16] = [
    "string",
    "integer",
    "floating point",
    "boolean",
    "null",
    "sequence",
    "map",
    "unit value",
    "unit variant",
    "character",
    "byte array",
    "Option value",
    "newtype struct",
    "newtype variant",
    "tuple variant",
    "struct variant",
];

/// A path of field names and indices (`descriptors[0]`, `t.override`): nothing the client chose.
fn plain_path(path: &str) -> bool {
    let plain = |segment: &str| {
        let (name, mut indices) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
        if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
        while let Some(rest) = indices.strip_prefix('[') {
            match rest.split_once(']') {
                Some((index, after)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
                    indices = after
                }
                _ => return false,
            }
        }
        indices.is_empty() && !segment.is_empty()
    };
    !path.is_empty() && path.split('.').all(plain)
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

    #[test]
    fn plain_paths_are_names_and_indices() {
        for plain in ["t", "descriptors[0]", "a.b_c[1][22]", "[0]", "[3].name"] {
            assert!(plain_path(plain), "{plain}");
        }
        for not in ["", "<script>", "a b", "a.", "a[]", "a[x]", "a[1", "a]1[", "t: x", "?"] {
            assert!(!plain_path(not), "{not}");
        }
    }
}
