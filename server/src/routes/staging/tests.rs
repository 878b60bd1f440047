//! The staging API's input, fuzzed by structure: JSON bodies whose keys are the request's field
//! names and unknown ones, and whose values are the staging vocabulary, near-misses of it
//! (`" T1a"`, `"t1a"`, `"T1a\u{0}"`, `"T1a<script>"`, right-to-left marks, very long strings),
//! the wrong JSON types and extreme numbers, sent through the extractor and the handler as the
//! server runs them. A success stages exactly what the tables list; anything else is a 422 or a
//! 400 whose message repeats none of the input.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use app::domain::staging::derive::{Descriptor, DistantSite, Station};
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, StatusCode, header};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use serde_json::{Map, Value, json};

use super::*;

const EVALUATE_FIELDS: [&str; 7] = ["cancer", "t", "n", "m", "edition", "histology", "subsite"];
const DERIVE_FIELDS: [&str; 12] = [
    "cancer",
    "edition",
    "subsite",
    "tumor_size_mm",
    "tumor_count",
    "descriptors",
    "involved_nodes",
    "node_stations",
    "largest_node_mm",
    "extranodal_extension",
    "distant",
    "extrathoracic_lesions",
];

/// Marks a string that stands for a number JSON can write but `serde_json::Value` cannot hold
/// (`1e400`, 30 digits): written bare when the body is rendered.
const RAW: &str = "\u{E000}raw:";

/// Every word the requests may validly carry: names of cancers, editions, histologies, subsites,
/// categories, descriptors, node stations, distant sites, and the fields themselves.
static VOCABULARY: LazyLock<BTreeSet<&'static str>> = LazyLock::new(|| {
    let mut words = BTreeSet::new();
    words.extend(Cancer::ALL.map(Cancer::as_str));
    words.extend(Edition::ALL.map(Edition::as_str));
    words.extend(Histology::ALL.map(Histology::as_str));
    words.extend(Subsite::ALL.map(Subsite::as_str));
    words.extend(staging::CATEGORY_ORDER);
    words.extend(DistantSite::ALL.iter().map(|s| s.as_str()));
    for cancer in Cancer::ALL {
        for subsite in [None].into_iter().chain(Subsite::ALL.map(Some)) {
            words.extend(Descriptor::valid(cancer, subsite).into_iter().map(Descriptor::as_str));
        }
        words.extend(Station::valid(cancer).into_iter().map(Station::as_str));
    }
    words.extend(EVALUATE_FIELDS);
    words.extend(DERIVE_FIELDS);
    words
});

fn vocabulary() -> Vec<&'static str> {
    VOCABULARY.iter().copied().collect()
}

/// A vocabulary word made slightly wrong.
fn near_miss(word: &str, how: usize) -> String {
    match how % 14 {
        0 => format!(" {word}"),
        1 => format!("{word} "),
        2 => word.to_lowercase(),
        3 => word.to_uppercase(),
        4 => format!("{word}\u{0}"),
        5 => format!("{word}<script>"),
        6 => format!("\u{202E}{word}"),
        7 => format!("{word}\u{200F}"),
        8 => format!("c{word}"),
        9 => word.repeat(400),
        10 => format!("{word}\u{200B}"),
        // Full-width letters and digits.
        11 => word
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
            .collect(),
        12 => format!("\t{word}\n"),
        _ => format!("{word}\u{301}"),
    }
}

const HOSTILE: [&str; 22] = [
    "",
    "<script>alert(1)</script>",
    "\u{0}",
    "\u{202E}",
    "肺癌",
    "T1a\u{0}N0",
    "🫁🫁🫁",
    "null",
    "true",
    "0",
    "\\",
    "\"",
    "'; drop table mdt_case; --",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%n%x",
    "\u{FEFF}lung",
    "\r\n",
    "\u{10FFFF}",
    "T",
    "N",
    "<b>N9</b>",
];

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vocabulary()).prop_map(str::to_owned),
        3 => (select(vocabulary()), any::<usize>()).prop_map(|(w, how)| near_miss(w, how)),
        2 => select(HOSTILE.to_vec()).prop_map(str::to_owned),
        1 => Just("a".repeat(10_000)),
    ]
}

fn unknown_key() -> impl Strategy<Value = String> {
    let fields: Vec<&str> = EVALUATE_FIELDS.iter().chain(&DERIVE_FIELDS).copied().collect();
    prop_oneof![
        (select(fields), any::<usize>()).prop_map(|(f, how)| near_miss(f, how)),
        select(vec!["Cancer", "tumour_size_mm", "size", "T", "__proto__", "stage_group", "rules"])
            .prop_map(str::to_owned),
        Just("k".repeat(1000)),
        any_string(),
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec![0i64, -1, 1, 2, 3, 10, i64::MIN, i64::MAX, u32::MAX.into(), i64::from(u32::MAX) + 1])
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        select(vec![0.5, 1e308, -1e308, 5e-324, -0.0, 0.0, 500.0, 500.000001, 499.999, 30.0, 30.1, 1e-300, 2.5, 0.1])
            .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        select(vec!["1e400", "-1e400", "123456789012345678901234567890", "-0", "1E2", "1.0", "4294967296", "1e-400"])
            .prop_map(|raw| Value::String(format!("{RAW}{raw}"))),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => any_string().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => any_number(),
    ]
}

/// Any JSON value, mostly a single one, nested two deep at most.
fn any_value() -> impl Strategy<Value = Value> {
    let key = || prop_oneof![select(vocabulary()).prop_map(str::to_owned), unknown_key()];
    let nested = prop_oneof![
        vec(leaf(), 0..4).prop_map(Value::Array),
        vec((key(), leaf()), 0..4).prop_map(|entries| Value::Object(entries.into_iter().collect())),
    ]
    .boxed();
    prop_oneof![
        8 => leaf().boxed(),
        2 => nested.clone(),
        1 => vec(nested, 0..3).prop_map(Value::Array).boxed(),
    ]
}

/// A value for a known field: mostly of the field's own JSON type, valid or not.
fn field_value(field: &str) -> BoxedStrategy<Value> {
    match field {
        "tumor_size_mm" | "largest_node_mm" | "tumor_count" | "involved_nodes" | "extrathoracic_lesions" => {
            prop_oneof![4 => any_number(), 1 => any_value()].boxed()
        }
        "extranodal_extension" => prop_oneof![2 => any::<bool>().prop_map(Value::Bool), 1 => any_value()].boxed(),
        "descriptors" | "node_stations" | "distant" => {
            prop_oneof![4 => vec(any_string(), 0..4).prop_map(|v| json!(v)), 1 => any_value()].boxed()
        }
        _ => prop_oneof![4 => any_string().prop_map(Value::String), 1 => any_value()].boxed(),
    }
}

/// A change to a body: a field set (a known or an unknown one), one removed, or the order rotated.
#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(Index),
    Rotate(Index),
}

fn edit(fields: &'static [&'static str]) -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => select(fields.to_vec()).prop_flat_map(|k| field_value(k).prop_map(move |v| Edit::Set(k.to_owned(), v))),
        1 => (unknown_key(), any_value()).prop_map(|(k, v)| Edit::Set(k, v)),
        1 => any::<Index>().prop_map(Edit::Remove),
        1 => any::<Index>().prop_map(Edit::Rotate),
    ]
}

fn apply(mut body: Map<String, Value>, edits: &[Edit]) -> Map<String, Value> {
    for edit in edits {
        match edit {
            Edit::Set(key, value) => {
                body.insert(key.clone(), value.clone());
            }
            Edit::Remove(i) if !body.is_empty() => {
                let key = body.keys().nth(i.index(body.len())).cloned().unwrap_or_default();
                body.shift_remove(&key);
            }
            Edit::Rotate(i) if !body.is_empty() => {
                let mut entries: Vec<_> = std::mem::take(&mut body).into_iter().collect();
                let by = i.index(entries.len());
                entries.rotate_left(by);
                body = entries.into_iter().collect();
            }
            _ => {}
        }
    }
    body
}

/// What is sent: a body, or the whole body replaced by any value, and possibly cut short.
#[derive(Debug, Clone)]
struct Sent {
    body: Value,
    cut: Option<Index>,
}

fn bodies(
    base: impl Strategy<Value = Map<String, Value>> + 'static,
    fields: &'static [&'static str],
) -> impl Strategy<Value = Sent> {
    let body = (base, vec(edit(fields), 0..4)).prop_map(|(base, edits)| apply(base, &edits)).boxed();
    let body = prop_oneof![
        20 => body.clone().prop_map(Value::Object),
        // serde also reads a struct from an array of its fields in order.
        1 => body.prop_map(|b| Value::Array(b.into_iter().map(|(_, v)| v).collect())),
        1 => any_value(),
    ];
    let cut = prop_oneof![15 => Just(None), 1 => any::<Index>().prop_map(Some)];
    (body, cut).prop_map(|(body, cut)| Sent { body, cut })
}

/// The cancers, editions and qualifiers that have a table.
fn evaluate_configs() -> Vec<(Cancer, Edition, Option<Histology>, Option<Subsite>)> {
    let mut configs = Vec::new();
    for cancer in Cancer::ALL {
        for edition in cancer.editions() {
            let histologies: Vec<_> =
                if cancer.needs_histology() { Histology::ALL.map(Some).to_vec() } else { vec![None] };
            let subsites: Vec<_> = if cancer.has_subsites() { Subsite::ALL.map(Some).to_vec() } else { vec![None] };
            for histology in &histologies {
                for subsite in &subsites {
                    configs.push((cancer, *edition, *histology, *subsite));
                }
            }
        }
    }
    configs
}

/// An evaluation request that is valid as it stands.
fn valid_evaluate() -> impl Strategy<Value = Map<String, Value>> {
    select(evaluate_configs()).prop_flat_map(|(cancer, edition, histology, subsite)| {
        let table = staging::table(cancer, edition, histology, subsite).expect("a table");
        (select(table.t), select(table.n), select(table.m), any::<bool>(), any::<bool>()).prop_map(
            move |(t, n, m, say_edition, nulls)| {
                let mut body = Map::new();
                body.insert("cancer".into(), json!(cancer.as_str()));
                body.insert("t".into(), json!(t));
                body.insert("n".into(), json!(n));
                body.insert("m".into(), json!(m));
                if say_edition || edition != Edition::default() {
                    body.insert("edition".into(), json!(edition.as_str()));
                }
                body.insert("histology".into(), json!(histology.map(Histology::as_str)));
                body.insert("subsite".into(), json!(subsite.map(Subsite::as_str)));
                if !nulls {
                    body.retain(|_, v| !v.is_null());
                }
                body
            },
        )
    })
}

/// A derivation request in the cancer's own terms (which its counts may still contradict).
fn valid_derive() -> impl Strategy<Value = Map<String, Value>> {
    let mut configs: Vec<(Cancer, Edition, Option<Subsite>)> =
        evaluate_configs().into_iter().map(|(c, e, _, s)| (c, e, s)).collect();
    configs.dedup();
    // A larynx without its subsite: its descriptors are refused, N and M still derived.
    configs.push((Cancer::Larynx, Edition::Ajcc8, None));
    select(configs).prop_flat_map(|(cancer, edition, subsite)| {
        let names = |v: Vec<&'static str>| {
            let most = v.len().min(3);
            subsequence(v, 0..=most)
        };
        let descriptors = names(Descriptor::valid(cancer, subsite).into_iter().map(Descriptor::as_str).collect());
        let stations = names(Station::valid(cancer).into_iter().map(Station::as_str).collect());
        let sites = names(DistantSite::valid(cancer).into_iter().map(DistantSite::as_str).collect());
        let measured = (
            proptest::option::of(0.001f64..=500.0),
            proptest::option::of(1u32..5),
            descriptors,
            proptest::option::of(0u32..12),
            stations,
            proptest::option::of(0.5f64..=80.0),
            proptest::option::of(any::<bool>()),
            proptest::option::of(sites),
            proptest::option::of(0u32..4),
        );
        (measured, any::<bool>()).prop_map(move |(m, say_edition)| {
            let (size, count, descriptors, nodes, stations, largest, extension, distant, lesions) = m;
            let mut body = Map::new();
            body.insert("cancer".into(), json!(cancer.as_str()));
            if say_edition || edition != Edition::default() {
                body.insert("edition".into(), json!(edition.as_str()));
            }
            if let Some(subsite) = subsite {
                body.insert("subsite".into(), json!(subsite.as_str()));
            }
            body.insert("tumor_size_mm".into(), json!(size));
            body.insert("descriptors".into(), json!(descriptors));
            body.insert("involved_nodes".into(), json!(nodes));
            body.insert("node_stations".into(), json!(stations));
            body.insert("distant".into(), json!(distant));
            if cancer == Cancer::Liver {
                body.insert("tumor_count".into(), json!(count));
            }
            if cancer == Cancer::Larynx {
                body.insert("largest_node_mm".into(), json!(largest));
                body.insert("extranodal_extension".into(), json!(extension));
            }
            if cancer == Cancer::Lung {
                body.insert("extrathoracic_lesions".into(), json!(lesions));
            }
            body.retain(|_, v| !v.is_null());
            body
        })
    })
}

/// The body's bytes, cut short where the case says.
fn render(sent: &Sent) -> Vec<u8> {
    let mut text = serde_json::to_string(&sent.body).expect("serialises");
    let mut raws = Vec::new();
    strings(&sent.body, &mut |s| {
        if let Some(raw) = s.strip_prefix(RAW) {
            raws.push(raw.to_owned());
        }
    });
    for raw in raws {
        text = text.replace(&format!("\"{RAW}{raw}\""), &raw);
    }
    let mut bytes = text.into_bytes();
    if let Some(cut) = sent.cut {
        bytes.truncate(cut.index(bytes.len()));
    }
    bytes
}

/// Every string of a value, keys included.
fn strings(value: &Value, each: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => each(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, each)),
        Value::Object(fields) => fields.iter().for_each(|(k, v)| {
            each(k);
            strings(v, each)
        }),
        _ => {}
    }
}

/// The strings of the body that are not vocabulary words (nor stand-ins for numbers).
fn foreign(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    strings(value, &mut |s| {
        if !s.starts_with(RAW) && !VOCABULARY.contains(s) {
            found.insert(s.to_owned());
        }
    });
    found
}

/// The body with every foreign string replaced by a marker of its own: a server that repeats
/// none of its input answers it with the same words.
fn marked(value: &Value) -> Value {
    let mut markers = HashMap::new();
    let mut mark = |s: &str| {
        if s.starts_with(RAW) || VOCABULARY.contains(s) {
            return s.to_owned();
        }
        let next = markers.len();
        markers.entry(s.to_owned()).or_insert_with(|| format!("\u{1}{next}")).clone()
    };
    fn walk(value: &Value, mark: &mut impl FnMut(&str) -> String) -> Value {
        match value {
            Value::String(s) => Value::String(mark(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, mark)).collect()),
            Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (mark(k), walk(v, mark))).collect()),
            other => other.clone(),
        }
    }
    walk(value, &mut mark)
}

fn json_request(body: Vec<u8>) -> Request<Body> {
    Request::post("/").header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).expect("request")
}

async fn json_of(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    serde_json::from_slice(&bytes).expect("a JSON answer")
}

/// `POST /api/v1/staging/evaluate` as the router runs it: the extractor, then the handler.
fn post_evaluate(body: Vec<u8>) -> Result<Value, ApiError> {
    futures::executor::block_on(async {
        let request = ApiJson::<EvaluateRequest>::from_request(json_request(body), &()).await?;
        Ok(json_of(evaluate(request).await?).await)
    })
}

/// `POST /api/v1/staging/derive` as the router runs it.
fn post_derive(body: Vec<u8>) -> Result<Value, ApiError> {
    futures::executor::block_on(async {
        let request = ApiJson::<DeriveInput>::from_request(json_request(body), &()).await?;
        Ok(json_of(derive(request).await?).await)
    })
}

/// serde_json's position (`at line 1 column 40`), which moves with the length of what came before.
fn without_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |i| &message[..i])
}

/// The properties both endpoints hold; returns the answer.
fn check_answer(
    sent: &Sent,
    post: fn(Vec<u8>) -> Result<Value, ApiError>,
) -> Result<Result<Value, ApiError>, TestCaseError> {
    let answer = post(render(sent));
    let foreign = foreign(&sent.body);
    let error = match &answer {
        Ok(_) => {
            // Nothing was trimmed, folded or guessed into validity.
            prop_assert!(foreign.is_empty(), "accepted with {foreign:?}");
            return Ok(answer);
        }
        Err(error) => error,
    };
    prop_assert!(
        matches!(error, ApiError::Validation(_) | ApiError::BadRequest(_)),
        "{error:?} is neither a 422 nor a 400"
    );
    let message = error.to_string();
    if foreign.iter().any(|s| s.contains('<')) {
        prop_assert!(!message.contains('<'), "{message}");
    }
    // The same body with every foreign string replaced gets the same words back. (A body cut
    // short is cut elsewhere once its strings change length: there, serde's words and the
    // vocabulary are all a message may share with the input.)
    let same_words = if sent.cut.is_none() {
        let other = match post(render(&Sent { body: marked(&sent.body), cut: None })) {
            Ok(answer) => return Err(TestCaseError::fail(format!("marked, the body is accepted: {answer}"))),
            Err(other) => other,
        };
        let (status, other) = (other.status(), other.to_string());
        prop_assert_eq!(status, error.status());
        prop_assert_eq!(without_position(&other), without_position(&message));
        other
    } else {
        format!("{SYNTAX_WORDS} {}", VOCABULARY.iter().copied().collect::<Vec<_>>().join(", "))
    };
    let words = without_position(&message);
    for given in foreign.iter().filter(|s| s.chars().count() >= 3) {
        prop_assert!(
            !words.contains(given.as_str()) || same_words.contains(given.as_str()),
            "{message} repeats {given:?}"
        );
    }
    Ok(answer)
}

/// What serde_json and axum say about a body that is not JSON (or, cut short to a bare value,
/// not of the request's shape).
const SYNTAX_WORDS: &str = "Failed to parse the request body as JSON: EOF while parsing a list an object a string \
                            a value expected ident value `,` or `]` `}` `:` trailing characters comma invalid escape \
                            number out of range unicode code point control character key must be a string lone \
                            leading surrogate in hex escape unexpected end of recursion limit exceeded at line column \
                            Failed to deserialize the JSON body into the target type: invalid type: null, string, \
                            integer, floating point, boolean, sequence, map, expected struct EvaluateRequest \
                            DeriveInput";

/// The categories the tables list for a cancer in an edition (any histology; the subsite given).
fn listed(cancer: Cancer, edition: Edition, subsite: Option<Subsite>) -> [BTreeSet<&'static str>; 3] {
    let mut lists: [BTreeSet<&'static str>; 3] = Default::default();
    for histology in [None, Some(Histology::Squamous), Some(Histology::Adenocarcinoma)] {
        if let Ok(table) = staging::table(cancer, edition, histology, subsite) {
            lists[0].extend(table.t);
            lists[1].extend(table.n);
            lists[2].extend(table.m);
        }
    }
    lists
}

/// What the evaluation should answer, from the body as serde and the handler read it: the staged
/// combination, or `Err` for a 422. `None` where the body holds a number `Value` cannot.
fn expected_evaluation(body: &Value) -> Option<Result<Value, ()>> {
    if body.to_string().contains(RAW) {
        return None;
    }
    if !foreign(body).is_empty() {
        return Some(Err(()));
    }
    let Value::Object(fields) = body else {
        return None;
    };
    if fields.keys().any(|k| !EVALUATE_FIELDS.contains(&k.as_str())) {
        return Some(Err(()));
    }
    let required = |name: &str| fields.get(name).and_then(Value::as_str).ok_or(());
    let optional = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(()),
    };
    let staged = (|| {
        let (cancer, t, n, m) = (required("cancer")?, required("t")?, required("n")?, required("m")?);
        let (edition, histology, subsite) = (optional("edition")?, optional("histology")?, optional("subsite")?);
        let request = staging::Request {
            cancer: Cancer::parse(cancer).ok_or(())?,
            edition: edition.map_or(Some(Edition::default()), Edition::parse).ok_or(())?,
            t,
            n,
            m,
            histology: histology.map(|h| Histology::parse(h).ok_or(())).transpose()?,
            subsite: subsite.map(|s| Subsite::parse(s).ok_or(())).transpose()?,
        };
        let staged = staging::evaluate(&request).map_err(|_| ())?;
        Ok(serde_json::to_value(staged).expect("serialises"))
    })();
    Some(staged)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Any body to the evaluation: a stage from the tables, exactly as `staging::evaluate` gives
    /// it for exactly valid input, or a refusal that repeats nothing.
    #[test]
    fn evaluate_holds_for_any_body(sent in bodies(valid_evaluate(), &EVALUATE_FIELDS)) {
        let answer = check_answer(&sent, post_evaluate)?;
        if let Ok(staged) = &answer {
            // A field of the body by name, or by position where the body is an array.
            let field = |name: &str| {
                let position = EVALUATE_FIELDS.iter().position(|f| *f == name).unwrap_or_default();
                match &sent.body {
                    Value::Array(items) => items.get(position),
                    other => other.get(name),
                }
                .and_then(Value::as_str)
            };
            let cancer = staged["cancer"].as_str().and_then(Cancer::parse).expect("a cancer");
            let edition = staged["edition"].as_str().and_then(Edition::parse).expect("an edition");
            prop_assert_eq!(field("cancer"), Some(cancer.as_str()));
            let [t, n, m] = listed(cancer, edition, field("subsite").and_then(Subsite::parse));
            for (axis, list) in [("t", t), ("n", n), ("m", m)] {
                let given = staged[axis].as_str().unwrap_or_default();
                prop_assert!(list.contains(given), "{axis} {given} is not listed for {cancer}");
                prop_assert_eq!(field(axis), Some(given), "echoed exactly as given");
            }
        }
        if sent.cut.is_none() && let Some(expected) = expected_evaluation(&sent.body) {
            match (&answer, expected) {
                (Ok(staged), Ok(expected)) => prop_assert_eq!(staged, &expected),
                (Err(ApiError::Validation(_)), Err(())) => {}
                // serde reads a struct from an array too, and finds extra items past its end.
                (Err(ApiError::BadRequest(_)), Err(())) if !sent.body.is_object() => {}
                (answer, expected) => prop_assert!(false, "{answer:?}, expected {expected:?}"),
            }
        }
    }

    /// Any body to the derivation: categories from the cancer's table, or a refusal that repeats
    /// nothing.
    #[test]
    fn derive_holds_for_any_body(sent in bodies(valid_derive(), &DERIVE_FIELDS)) {
        let answer = check_answer(&sent, post_derive)?;
        if let Ok(derived) = &answer {
            // Read from the bytes, as the server does (serde_json's float parsing is not exact to the bit).
            let input: DeriveInput = serde_json::from_slice(&render(&sent)).expect("read as the server did");
            let request = input.parse().expect("parsed as the server did");
            let lists = listed(request.cancer, request.edition, request.subsite);
            for (axis, list) in ["t", "n", "m"].into_iter().zip(lists) {
                let category = &derived[axis];
                let listed = category.as_str().is_some_and(|c| list.contains(c));
                prop_assert!(category.is_null() || listed, "{axis} {category}");
            }
            prop_assert_eq!(derived, &serde_json::to_value(input.derive().expect("derived")).expect("serialises"));
        } else if sent.cut.is_none() && !sent.body.to_string().contains(RAW) {
            let direct = serde_json::from_slice::<DeriveInput>(&render(&sent)).ok().map(|i| i.derive());
            prop_assert!(!matches!(direct, Some(Ok(_))), "refused, yet derived directly");
        }
    }
}

/// Exactly valid requests, every one of them, stage as `staging::evaluate` does.
#[test]
fn every_valid_combination_evaluates_as_the_rules_do() {
    let mut checked = 0;
    for (cancer, edition, histology, subsite) in evaluate_configs() {
        let table = staging::table(cancer, edition, histology, subsite).expect("a table");
        for t in table.t {
            for n in table.n {
                for m in table.m {
                    let body = json!({
                        "cancer": cancer.as_str(), "edition": edition.as_str(), "t": t, "n": n, "m": m,
                        "histology": histology.map(Histology::as_str), "subsite": subsite.map(Subsite::as_str),
                    });
                    let answer = post_evaluate(body.to_string().into_bytes()).expect("staged");
                    let request = staging::Request { cancer, edition, t, n, m, histology, subsite };
                    let direct = staging::evaluate(&request).expect("staged directly");
                    assert_eq!(answer, serde_json::to_value(direct).expect("serialises"), "{body}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// Found by the property: serde's own messages, passed on by the extractor, repeated an unknown
/// field's name (twice: in the path and the message) and a mistyped string value.
#[test]
fn an_unknown_field_or_a_mistyped_value_is_not_repeated_back() {
    let unknown = post_evaluate(br#"{"cancer":"lung","t":"T1a","n":"N0","m":"M0","<script>":1}"#.to_vec());
    assert_eq!(
        unknown.expect_err("refused").to_string(),
        "Failed to deserialize the JSON body into the target type: unknown field; valid: cancer, t, n, m, edition, \
         histology, subsite at line 1 column 55"
    );
    let mistyped = post_derive(br#"{"cancer":"lung","tumor_count":"<script>"}"#.to_vec()).expect_err("refused");
    assert!(matches!(mistyped, ApiError::Validation(_)));
    assert_eq!(
        mistyped.to_string(),
        "Failed to deserialize the JSON body into the target type: tumor_count: invalid type: string, expected u32 \
         at line 1 column 41"
    );
    let listed = post_derive(br#"{"cancer":"lung","descriptors":"pleura <b>"}"#.to_vec()).expect_err("refused");
    assert!(listed.to_string().ends_with("descriptors: invalid type: string, expected a sequence at line 1 column 43"));
}
