//! The HTTP resource limits every request passes (configured by [`HttpLimits`]): how many
//! requests run at once, how many of them may be ingests (STOW-RS, the upload page), and how long
//! each may take. A server that takes on everything queues without end once the database pool or
//! the memory runs out; this one answers `503 busy` at once instead, so that sign-in and the
//! worklist keep answering while a few senders are slow. (How long a client may take to send its
//! headers is the listener's, see [`crate::listener`].)

use std::sync::Arc;
use std::time::Duration;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::HttpLimits;
use crate::error::ApiError;

/// Seconds a client refused as busy is told to wait (`Retry-After`).
const RETRY_AFTER_SECS: &str = "5";

/// The server's slots and deadlines, shared by every request of one router.
#[derive(Debug)]
pub struct Limits {
    requests: Arc<Semaphore>,
    ingests: Arc<Semaphore>,
    request_timeout: Duration,
    ingest_timeout: Duration,
    body_idle: Duration,
}

impl Limits {
    pub fn new(config: &HttpLimits) -> Self {
        Limits {
            requests: Arc::new(Semaphore::new(slots(config.http_max_requests))),
            ingests: Arc::new(Semaphore::new(slots(config.http_max_ingests))),
            request_timeout: config.request_timeout(),
            ingest_timeout: config.ingest_timeout(),
            body_idle: config.body_idle(),
        }
    }
}

fn slots(configured: u32) -> usize {
    usize::try_from(configured).unwrap_or(Semaphore::MAX_PERMITS).min(Semaphore::MAX_PERMITS)
}

/// What a request is, for its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A liveness probe or a metrics scrape: never refused as busy (a probe that fails under
    /// load gets a busy server restarted, and the metrics are how anyone sees the load), but
    /// still bounded in time.
    Probe,
    /// STOW-RS or the upload page: a body that may take long to arrive, bounded by its own
    /// deadlines instead of the request timeout, and counted against the ingest slots.
    Ingest,
    Ordinary,
}

impl Kind {
    fn of(method: &Method, path: &str) -> Kind {
        if matches!(path, "/healthz" | "/metrics") {
            return Kind::Probe;
        }
        if *method == Method::POST && (path == "/upload" || is_stow(path)) {
            return Kind::Ingest;
        }
        Kind::Ordinary
    }
}

/// `/dicomweb/studies` and `/dicomweb/studies/{study}`, the two STOW-RS routes.
fn is_stow(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/dicomweb/studies") else { return false };
    match rest.strip_prefix('/') {
        None => rest.is_empty(),
        Some(study) => !study.trim_end_matches('/').contains('/'),
    }
}

/// The middleware: a request slot (and an ingest slot) or `503 busy` at once, then the request
/// within its deadline. Slots are held until the response starts; a response body streamed
/// afterwards (a WADO-RS retrieval) no longer holds one.
pub async fn enforce(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Response {
    let kind = Kind::of(request.method(), request.uri().path());
    let _request_slot = match kind {
        Kind::Probe => None,
        _ => match take(
            &limits.requests,
            "the server is handling as many requests as it takes at once; try again shortly",
        ) {
            Ok(slot) => Some(slot),
            Err(busy) => return busy.into_response(),
        },
    };
    if kind == Kind::Ingest {
        let _ingest_slot = match take(
            &limits.ingests,
            "the server is receiving as many studies and uploads as it takes at once; try again shortly",
        ) {
            Ok(slot) => slot,
            Err(busy) => return busy.into_response(),
        };
        let request = request.map(|body| with_deadlines(body, limits.ingest_timeout, limits.body_idle));
        return next.run(request).await;
    }
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?limits.request_timeout, "a request ran past its deadline and was stopped");
            ApiError::TimedOut(limits.request_timeout.as_secs()).into_response()
        }
    }
}

/// A slot of `slots`, or [`Busy`] when none is free.
fn take(slots: &Arc<Semaphore>, why: &'static str) -> Result<OwnedSemaphorePermit, Busy> {
    slots.clone().try_acquire_owned().map_err(|_| Busy(why))
}

/// No slot free: `503 busy` with `Retry-After`, saying which slots are taken.
struct Busy(&'static str);

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        let mut response = ApiError::Saturated(self.0).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        response
    }
}

/// Why an ingest's body was cut off. The handler sees it as a failed body read (STOW-RS keeps
/// what arrived whole and says so; the upload page shows it).
#[derive(Debug, thiserror::Error)]
pub enum BodyCutOff {
    #[error("the request body did not arrive within {} seconds", .0.as_secs())]
    Deadline(Duration),
    #[error("no part of the request body arrived for {} seconds", .0.as_secs())]
    Idle(Duration),
}

/// `body`, failing once it has taken longer than `total` in all or `idle` between two chunks.
/// The request timeout would cut a long upload off whatever its progress; these cut off only a
/// stalled or endless one.
pub fn with_deadlines(body: Body, total: Duration, idle: Duration) -> Body {
    let deadline = Instant::now() + total;
    let chunks = futures::stream::unfold(Some(body.into_data_stream()), move |stream| async move {
        let mut stream = stream?;
        let wait_until = deadline.min(Instant::now() + idle);
        match tokio::time::timeout_at(wait_until, stream.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(stream))),
            Ok(None) => None,
            Err(_) => {
                let why = if Instant::now() >= deadline { BodyCutOff::Deadline(total) } else { BodyCutOff::Idle(idle) };
                tracing::warn!(%why, "an ingest's body was cut off");
                // The stream ends after the error: nothing more is read from this client.
                Some((Err(axum::Error::new(why)), None))
            }
        }
    });
    Body::from_stream(chunks)
}

/// `413` when the request's `Content-Length` is over `limit` bytes: a sender that says how much
/// it sends learns before it sends it, and nothing is read or stored. A body without a length
/// is held to the limit as it is read (see [`over_limit`]).
pub fn refuse_declared_over(headers: &axum::http::HeaderMap, limit: u64) -> Result<(), ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => Err(ApiError::BodyOverLimit(limit)),
        _ => Ok(()),
    }
}

/// Whether a multipart body failed because it went past its size limit (the whole body's or
/// one part's).
pub fn over_limit(error: &multer::Error) -> bool {
    matches!(error, multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. })
}

/// A multipart body's failure with its causes (`failed to read stream: no part of the request
/// body arrived for 60 seconds`): multer's own text leaves out why the stream failed.
pub fn why(error: &multer::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.ends_with(&said) {
            text = format!("{text}: {said}");
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stow_and_upload_posts_are_ingests() {
        let post = Method::POST;
        assert_eq!(Kind::of(&post, "/dicomweb/studies"), Kind::Ingest);
        assert_eq!(Kind::of(&post, "/dicomweb/studies/1.2.3"), Kind::Ingest);
        assert_eq!(Kind::of(&post, "/dicomweb/studies/1.2.3/"), Kind::Ingest);
        assert_eq!(Kind::of(&post, "/upload"), Kind::Ingest);
        assert_eq!(Kind::of(&Method::GET, "/dicomweb/studies"), Kind::Ordinary, "QIDO-RS");
        assert_eq!(Kind::of(&Method::GET, "/upload"), Kind::Ordinary, "the upload page");
        assert_eq!(Kind::of(&post, "/dicomweb/studies/1.2.3/series"), Kind::Ordinary);
        assert_eq!(Kind::of(&post, "/dicomweb/studiesx"), Kind::Ordinary);
        assert_eq!(Kind::of(&post, "/api/v1/auth/login"), Kind::Ordinary);
        assert_eq!(Kind::of(&Method::GET, "/healthz"), Kind::Probe);
        assert_eq!(Kind::of(&Method::GET, "/metrics"), Kind::Probe);
        assert_eq!(Kind::of(&Method::GET, "/readyz"), Kind::Ordinary, "not ready when saturated");
    }

    #[tokio::test]
    async fn a_stalled_body_is_cut_off_after_its_idle_time() {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Result<bytes::Bytes, std::io::Error>>();
        sender.unbounded_send(Ok(bytes::Bytes::from_static(b"first"))).expect("send");
        let body = with_deadlines(Body::from_stream(receiver), Duration::from_secs(60), Duration::from_millis(50));
        let mut chunks = body.into_data_stream();
        assert_eq!(chunks.next().await.and_then(Result::ok).as_deref(), Some(&b"first"[..]));
        let cut = chunks.next().await.expect("an error, not the end");
        assert!(cut.is_err_and(|e| e.to_string().contains("no part of the request body arrived")));
        assert!(chunks.next().await.is_none(), "nothing after the error");
        drop(sender);
    }
}
