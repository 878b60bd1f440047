//! serde's refusal messages without the input they quote, for every place that reads client
//! JSON (the API's extractor, the event endpoints, the page's forms). serde quotes an unknown
//! field's name (in the message and in the path before it), an unknown variant and a mistyped
//! string value, and Elysium never repeats its input: a refusal echoed into a page, a log or an
//! audit row is then never the client's own text. Kept: the path where it is made of plain names
//! and indices, what was wrong, what was expected (the type's own names and descriptions) and
//! where.

/// axum's prefix for a body of the wrong shape.
const DATA_ERROR: &str = "Failed to deserialize the JSON body into the target type: ";
/// axum's prefix for a body that is not JSON.
const SYNTAX_ERROR: &str = "Failed to parse the request body as JSON: ";

/// serde's message (`serde_json::from_value`'s, or axum's for a body that is not JSON or not of
/// the expected shape, with its prefix and position) rebuilt from serde's own words without the
/// input they quote.
pub fn without_input(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
    #[expect(dead_code, reason = "only read by serde")]
    enum Event {
        Note { text: String },
        Count { n: u32 },
    }

    /// What `serde_json::from_value` says, as the event endpoints see it (no position, no prefix).
    fn said(value: serde_json::Value) -> String {
        without_input(&serde_json::from_value::<Event>(value).expect_err("refused").to_string())
    }

    #[test]
    fn values_read_from_json_are_refused_without_the_input() {
        use serde_json::json;
        for (value, expected) in [
            (json!({"event": "<script>"}), "unknown variant; valid: note, count"),
            (json!({"event": "note", "text": "a", "<b>": 1}), "unknown field; valid: text"),
            (json!({"event": "count", "n": "<b>7"}), "invalid type: string, expected u32"),
            (json!({"event": "count", "n": -1}), "invalid value: integer, expected u32"),
            (json!({"event": "note"}), "missing field `text`"),
            (json!({"text": "<i>"}), "missing field `event`"),
        ] {
            let message = said(value.clone());
            assert_eq!(message, expected, "{value}");
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
