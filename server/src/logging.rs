//! How the process logs: plain text or JSON lines on stderr (`ELYSIUM_LOG_FORMAT`), filtered by
//! `ELYSIUM_LOG`, and the request id that ties every line written while handling one HTTP
//! request together.
//!
//! Each request gets an id: a well-formed `x-request-id` from the caller (a proxy or load
//! balancer that already assigned one) or a new UUID. It goes back in the response's
//! `x-request-id` header and is a field of the request's span, so every log line inside carries
//! it (JSON: `span.request_id` and in `spans`); someone reporting an error can quote the header.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use std::time::Duration;

use tower_http::trace::{DefaultOnRequest, HttpMakeClassifier, OnResponse, TraceLayer};
use tracing::Span;
use tracing_subscriber::{EnvFilter, Layer, fmt::MakeWriter, layer::SubscriberExt, registry::LookupSpan};

use crate::config::LogFormat;

/// The header that carries a request's id both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a caller; longer ones are replaced.
const MAX_REQUEST_ID: usize = 64;

/// What `ELYSIUM_LOG` defaults to.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn";

/// Installs the process's subscriber: `format` lines on stderr, filtered by `ELYSIUM_LOG`.
pub fn init(format: LogFormat) {
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_env("ELYSIUM_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::registry().with(filter).with(fmt_layer(format, std::io::stderr)).init();
}

/// The formatting layer for `format`, writing to `writer`: the one place the log format is
/// decided (the tests build it too, over a buffer).
pub fn fmt_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        // The current span's fields (the request id) and the whole span list, one object a line;
        // never colour codes inside the strings.
        LogFormat::Json => layer.with_ansi(false).json().with_current_span(true).with_span_list(true).boxed(),
        LogFormat::Text => layer.boxed(),
    }
}

/// A request's id, in the request's extensions once [`assign_request_id`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether a caller's request id may be kept: 1 to 64 of `A-Z a-z 0-9 . _ -`. Anything else
/// (spaces, line breaks, quotes) could forge or break log lines and headers downstream.
pub fn is_well_formed(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware (outermost): keeps a well-formed incoming `x-request-id` or makes one, hands it to
/// the span and the handlers, and echoes it on the response, refusals included.
pub async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let kept = request.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| is_well_formed(v));
    let id = kept.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    // Both forms are ASCII letters, digits and `._-`: always a valid header value.
    let value = HeaderValue::from_str(&id).ok();
    if let Some(value) = &value {
        request.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
    }
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    if let Some(value) = value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The request's span: method, path (never the query string, which may name a patient) and the
/// request id. At `INFO`, so that it exists under the default filter.
pub fn request_span(request: &Request) -> Span {
    let id = request.extensions().get::<RequestId>().map_or("", |id| id.0.as_str());
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// A response that took this long or longer is logged at `WARN` with its latency, so that an
/// on-call engineer sees a stalling route (a starved pool, a slow statement) under the default
/// filter. Shorter than the request timeout, so that a request cut by it is logged too.
pub const SLOW_REQUEST: Duration = Duration::from_secs(5);

/// The trace layer's record of each response: `WARN` "slow request" from the threshold on,
/// `DEBUG` below it; with the status and the latency in milliseconds, inside the request's span.
#[derive(Debug, Clone, Copy)]
pub struct WarnWhenSlow(pub Duration);

impl<B> OnResponse<B> for WarnWhenSlow {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, _span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        if latency >= self.0 {
            tracing::warn!(status, latency_ms, "slow request");
        } else {
            tracing::debug!(status, latency_ms, "response");
        }
    }
}

/// The server's trace layer type: [`request_span`] and [`WarnWhenSlow`].
pub type ServerTraceLayer = TraceLayer<HttpMakeClassifier, fn(&Request) -> Span, DefaultOnRequest, WarnWhenSlow>;

/// `tower-http`'s trace layer with [`request_span`], warning at [`SLOW_REQUEST`]; it sits inside
/// [`assign_request_id`].
pub fn trace_layer() -> ServerTraceLayer {
    trace_layer_warning_after(SLOW_REQUEST)
}

/// The same, warning from `threshold` on.
pub fn trace_layer_warning_after(threshold: Duration) -> ServerTraceLayer {
    TraceLayer::new_for_http().make_span_with(request_span as fn(&Request) -> Span).on_response(WarnWhenSlow(threshold))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::{Router, body::Body, routing::get};
    use tower::ServiceExt;

    use super::*;

    /// A writer into a shared buffer, for reading back what the subscriber wrote.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().expect("buffer").clone();
            String::from_utf8(bytes).expect("UTF-8 logs").lines().map(str::to_owned).collect()
        }
    }

    /// `line` without its ANSI colour sequences (`ESC [ … m`).
    fn without_colours(line: &str) -> String {
        let mut out = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// A router with the server's request id and trace layers around a handler that logs.
    fn app() -> Router {
        Router::new()
            .route(
                "/hello",
                get(|| async {
                    tracing::info!(answer = 42, "handling");
                    "hi"
                }),
            )
            .layer(trace_layer())
            .layer(axum::middleware::from_fn(assign_request_id))
    }

    async fn call(app: Router, request_id: Option<&str>) -> Response {
        let mut request = Request::get("/hello?patient=secret");
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        app.oneshot(request.body(Body::empty()).expect("request")).await.expect("response")
    }

    #[tokio::test]
    async fn json_lines_carry_the_request_id_of_their_request() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(fmt_layer(LogFormat::Json, buffer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);

        let response = call(app(), Some("abc-123.x_y")).await;
        assert_eq!(response.headers()[&REQUEST_ID_HEADER], "abc-123.x_y");

        let lines = buffer.lines();
        let line = lines.iter().find(|l| l.contains("handling")).expect("the handler's line");
        let json: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        assert_eq!(json["level"], "INFO");
        assert_eq!(json["fields"]["message"], "handling");
        assert_eq!(json["fields"]["answer"], 42);
        assert_eq!(json["span"]["name"], "request");
        assert_eq!(json["span"]["request_id"], "abc-123.x_y");
        assert_eq!(json["span"]["path"], "/hello");
        assert_eq!(json["spans"][0]["request_id"], "abc-123.x_y");
        assert!(!line.contains("secret"), "the query string stays out of the logs: {line}");
    }

    #[tokio::test]
    async fn a_generated_request_id_is_the_one_logged() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(fmt_layer(LogFormat::Json, buffer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);

        let response = call(app(), Some("two words")).await;
        let id = response.headers()[&REQUEST_ID_HEADER].to_str().expect("ASCII").to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a malformed id is replaced by a UUID: {id}");
        let lines = buffer.lines();
        let line = lines.iter().find(|l| l.contains("handling")).expect("the handler's line");
        let json: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(json["span"]["request_id"], id.as_str());
    }

    #[tokio::test]
    async fn text_lines_name_the_request_id_too() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(fmt_layer(LogFormat::Text, buffer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);

        call(app(), Some("req-7")).await;
        let lines = buffer.lines();
        let line = lines.iter().find(|l| l.contains("handling")).expect("the handler's line");
        assert!(without_colours(line).contains("request_id=req-7"), "{line}");
    }

    #[tokio::test]
    async fn a_slow_response_is_a_warning_with_its_latency_and_a_quick_one_is_not() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(fmt_layer(LogFormat::Json, buffer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = |threshold: Duration| {
            Router::new()
                .route("/quick", get(|| async { "hi" }))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(60)).await;
                        "late"
                    }),
                )
                .layer(trace_layer_warning_after(threshold))
                .layer(axum::middleware::from_fn(assign_request_id))
        };
        let get_path = |path: &'static str| Request::get(path).body(Body::empty()).expect("request");

        app(Duration::from_millis(50)).oneshot(get_path("/quick")).await.expect("response");
        assert!(buffer.lines().is_empty(), "nothing at INFO or above for a quick response: {:?}", buffer.lines());

        app(Duration::from_millis(50)).oneshot(get_path("/slow")).await.expect("response");
        let lines = buffer.lines();
        let [line] = lines.as_slice() else { panic!("one line for the slow response: {lines:?}") };
        let json: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert_eq!((json["level"].as_str(), json["fields"]["message"].as_str()), (Some("WARN"), Some("slow request")));
        assert_eq!(json["fields"]["status"], 200);
        let latency = json["fields"]["latency_ms"].as_u64().expect("latency in ms");
        assert!(latency >= 60, "at least the handler's sleep: {latency}");
        assert_eq!(json["span"]["path"], "/slow", "inside the request's span");
    }

    #[test]
    fn which_incoming_ids_are_kept() {
        for (id, kept) in [
            ("abc", true),
            ("0f8fad5b-d9cb-469f-a165-70867728950e", true),
            ("lb.node-1_42", true),
            (&"a".repeat(64), true),
            (&"a".repeat(65), false),
            ("", false),
            ("two words", false),
            ("line\nbreak", false),
            ("quote\"", false),
            ("ünïcode", false),
        ] {
            assert_eq!(is_well_formed(id), kept, "{id:?}");
        }
    }
}
