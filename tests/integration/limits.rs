//! The HTTP resource limits (issue 18): a client that never finishes its headers is disconnected
//! (and an idle kept-alive connection is not, until its own longer timeout),
//! an ordinary request that runs too long is stopped while a long STOW-RS is not, a saturated
//! server answers `503 busy` at once, bodies over their limit get 413 and store nothing, an
//! ingest's body that stalls is cut off, and slow object-store writes do not take the database
//! pool from sign-in and the worklist. The moments that matter are held open by a gate in the
//! object store or a lock in the database, never by sleeping; every wait has a bound.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_tests::{
    ObjectStoreRef, STOW_BOUNDARY, TestApp, error_code, fixture, multipart_related, stow_content_type,
};
use futures::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};
use reqwest::Client;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The longest any step of these tests waits: far past every configured limit (a second or two),
/// far short of a server that never answers.
const BOUND: Duration = Duration::from_secs(10);

/// An object store whose writes wait at a gate until the test opens it: an ingest held between
/// parsing its instance and registering it, for as long as the test needs (a slow S3, a large
/// instance on a slow disk).
#[derive(Debug)]
struct GatedStore {
    inner: ObjectStoreRef,
    open: watch::Receiver<bool>,
    arrived: watch::Sender<usize>,
}

/// The test's side of the gate.
struct Gate {
    open: watch::Sender<bool>,
    arrived: watch::Receiver<usize>,
}

impl Gate {
    /// Waits until `n` writes wait at the gate (or went through it).
    async fn until_arrived(&mut self, n: usize) {
        let arrived = tokio::time::timeout(BOUND, self.arrived.wait_for(|a| *a >= n)).await;
        assert!(matches!(arrived, Ok(Ok(_))), "{n} object writes did not arrive within {BOUND:?}");
    }

    fn open(&self) {
        self.open.send_replace(true);
    }
}

/// A gate, and the wrapper that puts it in front of the server's store.
fn gate() -> (Gate, impl FnOnce(ObjectStoreRef) -> ObjectStoreRef) {
    let (open_tx, open_rx) = watch::channel(false);
    let (arrived_tx, arrived_rx) = watch::channel(0);
    let wrap = move |inner| Arc::new(GatedStore { inner, open: open_rx, arrived: arrived_tx }) as ObjectStoreRef;
    (Gate { open: open_tx, arrived: arrived_rx }, wrap)
}

impl fmt::Display for GatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gated({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for GatedStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.arrived.send_modify(|n| *n += 1);
        let mut open = self.open.clone();
        // A closed channel (the test ended) lets it through.
        let _ = open.wait_for(|open| *open).await;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &ObjectPath, to: &ObjectPath, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// STOW-RS of `parts` to DEMO-GH with an API token (no session, so the session table plays no
/// part), bounded: its status.
async fn stow_with_token(app: &TestApp, token: &str, parts: &[Vec<u8>]) -> u16 {
    let request = Client::new()
        .post(app.url("/dicomweb/studies?site=DEMO-GH"))
        .bearer_auth(token)
        .header("content-type", stow_content_type())
        .body(multipart_related(parts))
        .send();
    let response = tokio::time::timeout(BOUND, request).await.expect("STOW-RS answered in time").expect("STOW-RS");
    response.status().as_u16()
}

/// A STOW-RS of `parts` running in the background (it waits at the gate).
fn stow_in_background(app: &TestApp, token: &str, parts: Vec<Vec<u8>>) -> tokio::task::JoinHandle<u16> {
    let request = Client::new()
        .post(app.url("/dicomweb/studies?site=DEMO-GH"))
        .bearer_auth(token)
        .header("content-type", stow_content_type())
        .body(multipart_related(&parts));
    // Unbounded here: it waits for the gate the test opens; the test bounds the join.
    tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) })
}

/// Joins a background request, bounded.
async fn joined(task: tokio::task::JoinHandle<u16>) -> u16 {
    tokio::time::timeout(BOUND, task).await.expect("the request finished in time").expect("request task")
}

/// GET `path` with `client`, bounded: its status and error code (if any).
async fn get_bounded(app: &TestApp, client: &Client, path: &str) -> (u16, Option<String>) {
    let response = tokio::time::timeout(BOUND, client.get(app.url(path)).send())
        .await
        .unwrap_or_else(|_| panic!("GET {path} did not answer within {BOUND:?}"))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["error"]["code"].as_str().map(str::to_owned))
}

async fn instances(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from instance").fetch_one(&app.pool).await.expect("count")
}

fn object_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { object_files(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

/// A raw HTTP/1.1 exchange, for what a well-behaved client never does: stop halfway through its
/// headers, announce more body than it sends, stall.
async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.expect("connect")
}

/// Reads until the server closes the connection; true when it does within [`BOUND`] (a reset
/// counts as closed).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    let read_to_end = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, read_to_end).await.is_ok()
}

/// Reads one response (status line, headers, and a body of its `content-length`), bounded: the
/// status and the body.
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let read = async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
                    return (status, String::from_utf8_lossy(&received[end + 4..end + 4 + length]).into_owned());
                }
            }
            let n = stream.read(&mut buffer).await.expect("read the response");
            assert!(n > 0, "the connection closed before a whole response: {}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(BOUND, read).await.expect("a response within the bound")
}

/// The head of a STOW-RS request with an API token, and `framing` (`content-length: N` or
/// `transfer-encoding: chunked`).
fn stow_head(app: &TestApp, token: &str, framing: &str) -> String {
    format!(
        "POST /dicomweb/studies?site=DEMO-GH HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: {}\r\n{framing}\r\n\r\n",
        app.addr,
        stow_content_type()
    )
}

/// The start of a STOW-RS part, with `filler` bytes of its content.
fn part_start(filler: usize) -> Vec<u8> {
    let mut body = format!("--{STOW_BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").into_bytes();
    body.resize(body.len() + filler, b'x');
    body
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_client_that_never_finishes_its_headers_is_disconnected(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--http-header-timeout-secs", "1", "--http-idle-timeout-secs", "2"]).await;
    // Half a request's headers, and then nothing (slowloris)...
    let mut partial = connect(&app).await;
    partial.write_all(b"GET /api/v1/me HTTP/1.1\r\nhost: elysium\r\nx-slow: ").await.expect("write");
    // ...or nothing at all, past the idle timeout.
    let mut silent = connect(&app).await;
    assert!(closed_by_server(&mut partial).await, "a connection with half its headers stays open");
    assert!(closed_by_server(&mut silent).await, "a connection that sends nothing stays open");
    // Whole requests are served as ever.
    assert_eq!(get_bounded(&app, &app.client(), "/healthz").await.0, 200);
}

/// Browsers keep idle connections (and ones opened ahead of need, about 10 s in Chromium) and
/// send on them later: a connection idle past the header timeout, but not the idle timeout, is
/// still served, before its first request and between two.
#[sqlx::test(migrator = "MIGRATOR")]
async fn an_idle_connection_outlives_the_header_timeout(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--http-header-timeout-secs", "1", "--http-idle-timeout-secs", "60"]).await;
    let request = b"GET /healthz HTTP/1.1\r\nhost: elysium\r\n\r\n";
    let mut stream = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stream.write_all(request).await.expect("write the first request");
    assert_eq!(read_response(&mut stream).await.0, 200, "the first request, after an idle start");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stream.write_all(request).await.expect("write the second request");
    assert_eq!(read_response(&mut stream).await.0, 200, "the second request, on the kept-alive connection");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_ordinary_request_past_its_deadline_is_stopped_and_a_long_stow_is_not(pool: PgPool) {
    let (mut gate, wrap) = gate();
    let app = TestApp::spawn_over_store(pool, &["--http-request-timeout-secs", "1"], wrap).await;
    let token = app.api_token("admin").await;
    let admin = app.signed_in("admin").await;
    let stow = stow_in_background(&app, &token, vec![fixture("pydicom/CT_small.dcm")]);
    gate.until_arrived(1).await;

    // The session table locked: reading the session waits for as long as the lock is held.
    let mut blocker = app.pool.begin().await.expect("begin");
    sqlx::query("lock table tower_sessions.session in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let (status, code) = get_bounded(&app, &admin, "/api/v1/me").await;
    assert_eq!((status, code.as_deref()), (503, Some("timed_out")));
    blocker.rollback().await.expect("release");
    assert_eq!(get_bounded(&app, &admin, "/api/v1/me").await.0, 200);

    // The STOW-RS began before that request and has run longer than its deadline since: an
    // ingest is held to its body's deadlines, not to the request timeout.
    gate.open();
    assert_eq!(joined(stow).await, 200);
    assert_eq!(instances(&app).await, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_saturated_server_answers_busy_at_once(pool: PgPool) {
    let (mut gate, wrap) = gate();
    let app = TestApp::spawn_over_store(pool, &["--http-max-requests", "1"], wrap).await;
    let token = app.api_token("admin").await;
    let stow = stow_in_background(&app, &token, vec![fixture("pydicom/CT_small.dcm")]);
    gate.until_arrived(1).await;

    // The one request slot is taken by the STOW-RS.
    let response = tokio::time::timeout(BOUND, app.client().get(app.url("/api/v1/me")).send())
        .await
        .expect("answered at once")
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(error_code(response).await, "busy");
    // A liveness probe is never refused as busy.
    assert_eq!(get_bounded(&app, &app.client(), "/healthz").await.0, 200);

    gate.open();
    assert_eq!(joined(stow).await, 200);
    assert_eq!(get_bounded(&app, &app.client(), "/api/v1/me").await, (401, Some("unauthorized".into())));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn ingests_have_their_own_smaller_limit(pool: PgPool) {
    let (mut gate, wrap) = gate();
    let app = TestApp::spawn_over_store(pool, &["--http-max-ingests", "1"], wrap).await;
    let token = app.api_token("admin").await;
    let admin = app.signed_in("admin").await;
    let stow = stow_in_background(&app, &token, vec![fixture("pydicom/CT_small.dcm")]);
    gate.until_arrived(1).await;

    // A second ingest (a tiny body: refused before it is read) waits for no one...
    assert_eq!(stow_with_token(&app, &token, &[]).await, 503);
    let upload = admin
        .post(app.url("/upload"))
        .header("origin", app.origin())
        .header("content-type", "multipart/form-data; boundary=b")
        .body("--b--\r\n")
        .send();
    let upload = tokio::time::timeout(BOUND, upload).await.expect("answered at once").expect("upload");
    assert_eq!(upload.status(), 503);
    assert_eq!(error_code(upload).await, "busy");
    // ...and everything else goes on.
    assert_eq!(get_bounded(&app, &admin, "/api/v1/me").await.0, 200);
    assert_eq!(get_bounded(&app, &admin, "/api/v1/worklist").await.0, 200);

    gate.open();
    assert_eq!(joined(stow).await, 200);
    assert_eq!(stow_with_token(&app, &token, &[fixture("pydicom/CT_small.dcm")]).await, 200, "the slot is free again");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_bodies_over_the_limit_get_413_and_store_nothing(pool: PgPool) {
    const LIMIT: usize = 64 * 1024;
    let app = TestApp::spawn_with(pool, &["--max-stow-bytes", "65536"]).await;
    let token = app.api_token("admin").await;

    // Announced: refused before a byte of the body is sent.
    let mut announced = connect(&app).await;
    let head = stow_head(&app, &token, &format!("content-length: {}", LIMIT + 1));
    announced.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut announced).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large") && body.contains("64 KiB"), "{body}");

    // Not announced (chunked): refused at the byte past the limit.
    let mut chunked = connect(&app).await;
    chunked.write_all(stow_head(&app, &token, "transfer-encoding: chunked").as_bytes()).await.expect("write");
    let part = part_start(LIMIT + 1 - part_start(0).len());
    chunked.write_all(format!("{:x}\r\n", part.len()).as_bytes()).await.expect("write");
    chunked.write_all(&part).await.expect("write");
    chunked.write_all(b"\r\n").await.expect("write");
    let (status, body) = read_response(&mut chunked).await;
    assert_eq!(status, 413, "{body}");

    assert_eq!(instances(&app).await, 0);
    assert_eq!(object_files(app.objects.path()), 0, "nothing was written");
    // Within the limit, STOW-RS works as ever.
    assert_eq!(stow_with_token(&app, &token, &[fixture("pydicom/CT_small.dcm")]).await, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_upload_over_the_limit_gets_413_and_stores_nothing(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--max-upload-bytes", "65536"]).await;
    let token = app.api_token("admin").await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /upload HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: multipart/form-data; boundary=b\r\ncontent-length: 65537\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");
    assert_eq!(instances(&app).await, 0);
    assert_eq!(object_files(app.objects.path()), 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_stalled_or_endless_stow_body_is_cut_off(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--http-body-idle-secs", "1", "--http-ingest-timeout-secs", "3"]).await;
    let token = app.api_token("admin").await;

    // Stalled: a tenth of the announced body, then nothing.
    let mut stalled = connect(&app).await;
    stalled.write_all(stow_head(&app, &token, "content-length: 10000").as_bytes()).await.expect("write");
    stalled.write_all(&part_start(900)).await.expect("write");
    let (status, body) = read_response(&mut stalled).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no part of the request body arrived for 1 seconds"), "{body}");

    // Endless: a byte every 200 ms, never idle, past the whole body's deadline.
    let mut endless = connect(&app).await;
    endless.write_all(stow_head(&app, &token, "content-length: 1000000").as_bytes()).await.expect("write");
    endless.write_all(&part_start(0)).await.expect("write");
    let (mut reader, mut writer) = endless.into_split();
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"x").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let response = async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&received).contains("}}") {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8_lossy(&received).into_owned()
    };
    let response = tokio::time::timeout(BOUND, response).await.expect("cut off within the bound");
    trickle.abort();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("did not arrive within 3 seconds"), "{response}");
    assert_eq!(instances(&app).await, 0);
}

/// Issue 18's starvation: with a pool of three connections, four STOW-RS requests whose object
/// writes are slow are in flight, and sign-in's session check and the worklist still answer.
/// (The ingest used to hold a connection, in a transaction, while writing the object: three such
/// requests took the whole pool.)
#[sqlx::test(migrator = "MIGRATOR")]
async fn slow_object_writes_leave_the_pool_to_everyone_else(pool_options: PgPoolOptions, connect: PgConnectOptions) {
    const POOL: u32 = 3;
    let pool = pool_options
        .max_connections(POOL)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(connect)
        .await
        .expect("pool");
    let (mut gate, wrap) = gate();
    let app = TestApp::spawn_over_store(pool, &[], wrap).await;
    let token = app.api_token("admin").await;
    let coordinator = app.signed_in("coordinator").await;

    let stows: Vec<_> =
        (0..=POOL).map(|_| stow_in_background(&app, &token, vec![fixture("pydicom/CT_small.dcm")])).collect();
    // As many object writes wait as the pool has connections.
    gate.until_arrived(POOL as usize).await;
    assert_eq!(get_bounded(&app, &coordinator, "/api/v1/me").await.0, 200, "the session check has a connection");
    assert_eq!(get_bounded(&app, &coordinator, "/api/v1/worklist").await.0, 200);
    let fresh = app.signed_in("radiologist").await;
    assert_eq!(get_bounded(&app, &fresh, "/api/v1/me").await.0, 200, "sign-in works");
    // And the fourth request got as far as its write too.
    gate.until_arrived(POOL as usize + 1).await;

    gate.open();
    for stow in stows {
        assert_eq!(joined(stow).await, 200);
    }
    assert_eq!(instances(&app).await, 1, "four times the same instance: one row");
}
