//! Test harness: a real Elysium server on a free port over a fresh database, and HTTP clients
//! that keep cookies, signed in as each demo role.

use std::net::SocketAddr;

use clap::Parser;
use elysium_server::config::ServeConfig;
use reqwest::{Client, Response, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinHandle;

pub use elysium_server::demo;

pub const PASSWORD: &str = "correct-horse-battery";

/// The longest any test request may take (a STOW-RS of a phantom series on a busy 2-core
/// machine takes a few seconds; a hung server takes forever).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    serve: ServeConfig,
}

/// The server's configuration as `elysium serve` would read it from these flags.
pub fn config(flags: &[&str]) -> ServeConfig {
    Flags::parse_from(std::iter::once("elysium").chain(flags.iter().copied())).serve
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    /// The object store's folder (a fresh temporary folder per test).
    pub objects: std::sync::Arc<tempfile::TempDir>,
    server: JoinHandle<()>,
}

fn state(pool: &PgPool, flags: &[&str], objects: &tempfile::TempDir) -> elysium_server::AppState {
    state_over(pool, flags, objects, |store| store)
}

/// The state with the object store `wrap` makes of the usual one.
fn state_over(
    pool: &PgPool,
    flags: &[&str],
    objects: &tempfile::TempDir,
    wrap: impl FnOnce(ObjectStoreRef) -> ObjectStoreRef,
) -> elysium_server::AppState {
    let config = config(flags);
    let store = wrap(config.store.open(objects.path()).expect("object store"));
    elysium_server::app_state(pool.clone(), config, store, objects.path()).expect("state")
}

/// Warnings (the server's slow requests, sqlx's slow pool acquires and statements) go to the
/// output of the test whose server wrote them, which the harness shows when that test fails: a
/// test that fails on time then says where the time went. Passing tests' output is dropped.
fn warnings_into_test_output() {
    use elysium_server::{config::LogFormat, logging::fmt_layer};
    use tracing_subscriber::{EnvFilter, fmt::TestWriter, layer::SubscriberExt, util::SubscriberInitExt};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The server's own line format; another subscriber already installed (a test of logging)
        // stays.
        let _ = tracing_subscriber::registry()
            .with(EnvFilter::new("warn"))
            .with(fmt_layer(LogFormat::Text, TestWriter::new()))
            .try_init();
    });
}

/// An object store as the server holds one.
pub type ObjectStoreRef = std::sync::Arc<dyn object_store::ObjectStore>;

impl TestApp {
    /// Seeds the demo sites and users (password [`PASSWORD`]) and starts a server.
    pub async fn spawn(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, &[]).await
    }

    pub async fn spawn_with(pool: PgPool, flags: &[&str]) -> TestApp {
        let objects = std::sync::Arc::new(tempfile::tempdir().expect("temporary folder"));
        let state = state(&pool, flags, &objects);
        demo::seed(&pool, &state.hasher, PASSWORD).await.expect("demo seed");
        Self::start(pool, state, objects).await
    }

    /// Like [`TestApp::spawn_with`], with the originals kept in the store that `wrap` makes of the
    /// usual one (a store that is slow or fails on purpose).
    pub async fn spawn_over_store(
        pool: PgPool,
        flags: &[&str],
        wrap: impl FnOnce(ObjectStoreRef) -> ObjectStoreRef,
    ) -> TestApp {
        let objects = std::sync::Arc::new(tempfile::tempdir().expect("temporary folder"));
        let state = state_over(&pool, flags, &objects, wrap);
        demo::seed(&pool, &state.hasher, PASSWORD).await.expect("demo seed");
        Self::start(pool, state, objects).await
    }

    /// Stops this server and starts a new one over the same database, without seeding (a
    /// restart). The new server listens on another port, so no connection carries over.
    pub async fn restart(self) -> TestApp {
        self.server.abort();
        let state = state(&self.pool, &[], &self.objects);
        Self::start(self.pool.clone(), state, self.objects.clone()).await
    }

    /// The shared state of a server like this one (for calling services directly).
    pub fn state(&self) -> elysium_server::AppState {
        self.state_with(&[])
    }

    /// The same, for a server started with these flags (its model registry, its settings).
    pub fn state_with(&self, flags: &[&str]) -> elysium_server::AppState {
        state(&self.pool, flags, &self.objects)
    }

    async fn start(
        pool: PgPool,
        state: elysium_server::AppState,
        objects: std::sync::Arc<tempfile::TempDir>,
    ) -> TestApp {
        warnings_into_test_output();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // The listener `elysium serve` uses, with its connection deadlines.
        let deadlines = state.config.http.deadlines();
        let app = elysium_server::router(state);
        let server = tokio::spawn(async move {
            elysium_server::listener::serve(listener, app, deadlines, std::future::pending()).await.expect("serve");
        });
        TestApp { addr, pool, objects, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The origin a same-site browser would send.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client with a cookie jar that does not follow redirects (so tests can see them). Every
    /// request has a bound: a server that never answers fails the test with the request's URL
    /// (reqwest names it in the error) instead of hanging the run.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("client")
    }

    pub async fn login(&self, client: &Client, username: &str, password: &str) -> Response {
        client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// A client signed in as a demo user.
    pub async fn signed_in(&self, username: &str) -> Client {
        let client = self.client();
        let response = self.login(&client, username, PASSWORD).await;
        assert_eq!(response.status(), 200, "sign-in as {username}");
        client
    }

    /// A new API token for `username` with every right of its owner (scope `all`).
    pub async fn api_token(&self, username: &str) -> String {
        self.scoped_token(username, &["all"]).await
    }

    /// A new API token for `username` with these scopes, as `elysium token create` makes one.
    pub async fn scoped_token(&self, username: &str, scopes: &[&str]) -> String {
        let request = app::model::tokens::NewTokenRequest {
            username: username.to_owned(),
            name: "test".to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_in_days: 30,
        };
        let audit = app::service::Audit::anonymous("token.create", Some("test"), None);
        app::service::tokens::create(&self.pool, audit, None, &request).await.expect("token").token
    }

    /// The id of the site with this code (the demo seeds DEMO-GH and DEMO-RC).
    pub async fn site_id(&self, code: &str) -> uuid::Uuid {
        let mut conn = self.pool.acquire().await.expect("conn");
        elysium_db::sites::by_code(&mut conn, code).await.expect("query").unwrap_or_else(|| panic!("no site {code}")).id
    }

    /// Audit rows with this action, oldest first.
    pub async fn audit_rows(&self, action: &str) -> Vec<(Option<String>, String, Value)> {
        sqlx::query_as("select actor_username, outcome, detail from audit_event where action = $1 order by id")
            .bind(action)
            .fetch_all(&self.pool)
            .await
            .expect("audit rows")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The `{"error":{"code":..}}` code of an API error response.
pub async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.expect("JSON error body");
    body["error"]["code"].as_str().expect("error.code").to_owned()
}

pub fn set_cookie(response: &Response) -> String {
    response.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("\n")
}

/// A request that failed, with every cause and how long it had run: reqwest's own message
/// ("error decoding response body") does not say whether the client's timeout ended the body or
/// the server closed the connection mid-body.
fn failed(request: &str, started: std::time::Instant, error: reqwest::Error) -> ! {
    let mut causes = String::new();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        causes.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    panic!("{request}: {error}{causes} (after {:.1} s)", started.elapsed().as_secs_f64())
}

/// GET `path` on `app` with `client` and read the JSON body (QIDO-RS, metadata).
pub async fn get_json(app: &TestApp, client: &Client, path: &str) -> serde_json::Value {
    let started = std::time::Instant::now();
    let response =
        client.get(app.url(path)).send().await.unwrap_or_else(|e| failed(&format!("GET {path}"), started, e));
    response.json().await.unwrap_or_else(|e| failed(&format!("GET {path}: not JSON"), started, e))
}

/// GET `path` on `app` with `client` and read the body as text (a server-rendered page).
pub async fn get_text(app: &TestApp, client: &Client, path: &str) -> String {
    let started = std::time::Instant::now();
    let response =
        client.get(app.url(path)).send().await.unwrap_or_else(|e| failed(&format!("GET {path}"), started, e));
    response.text().await.unwrap_or_else(|e| failed(&format!("GET {path}"), started, e))
}

/// A page as a browser set to Chinese (`Accept-Language: zh-CN`) gets it, for a user who has
/// chosen no language.
pub async fn get_text_in_chinese(app: &TestApp, client: &Client, path: &str) -> String {
    let started = std::time::Instant::now();
    let response = client
        .get(app.url(path))
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap_or_else(|e| failed(&format!("GET {path}"), started, e));
    response.text().await.unwrap_or_else(|e| failed(&format!("GET {path}"), started, e))
}

/// A public sample DICOM file from `tests/fixtures/dicom/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/fixtures/dicom/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// pydicom's CT_small.dcm (as it is, or its data set in other file meta) with its last pixel
/// changed: the same UIDs, other content. The file ends in 138 bytes of Data Set Trailing
/// Padding (FFFC,FFFC), which is no content, so the pixel is the last byte before them.
pub fn ct_small_one_pixel_changed(ct_small: &[u8]) -> Vec<u8> {
    let mut bytes = ct_small.to_vec();
    let padding = bytes.len() - 138;
    assert_eq!(bytes[padding..padding + 4], [0xFC, 0xFF, 0xFC, 0xFF], "CT_small's trailing padding");
    bytes[padding - 1] ^= 0x5a;
    bytes
}

pub const STOW_BOUNDARY: &str = "elysium-test-boundary-7c1f";

/// A STOW-RS body: one `application/dicom` part per item.
pub fn multipart_related(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{STOW_BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{STOW_BOUNDARY}--\r\n").as_bytes());
    body
}

/// STOW-RS of `parts` to `path` (with its query, e.g. `?site=`) as `client`: the status and the
/// JSON body (`null` when there is none).
pub async fn stow(app: &TestApp, client: &Client, path: &str, parts: &[Vec<u8>]) -> (u16, Value) {
    let response = client
        .post(app.url(path))
        .header("origin", app.origin())
        .header("content-type", stow_content_type())
        .body(multipart_related(parts))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn stow_content_type() -> String {
    format!("multipart/related; type=\"application/dicom\"; boundary={STOW_BOUNDARY}")
}

/// A screening finding on `study_uid` raised `days_ago` days ago, through the follow-up service
/// as the screening pipeline registers one.
pub async fn finding(pool: &PgPool, study_uid: &str, organ: &str, class: &str, probability: f64, days_ago: i64) -> i64 {
    let new = elysium_db::findings::NewFinding {
        study_uid: study_uid.to_owned(),
        series_uid: None,
        organ: organ.into(),
        class_label: class.into(),
        probability,
        threshold: 0.5,
        class_probabilities: json!({ class: probability }),
        model_name: "reference-screening".into(),
        model_version: "0.1.0".into(),
        location: None,
        detected_at: time::OffsetDateTime::now_utc() - time::Duration::days(days_ago),
        due_date: None,
        screening_result_ref: None,
    };
    app::service::followup::create(pool, &app::domain::followup::ServiceLevels::default(), new, "test-screening")
        .await
        .expect("create finding")
        .expect("study exists")
}

/// The SQLSTATE with which the database refused a statement (`None` when it was not refused,
/// or failed some other way), so a test asserts the refusal it expects rather than any error:
/// `42501` for the append-only tables' trigger (`refuse_history_change`), `23505` for a unique
/// key, `23514` for a check constraint.
pub fn sqlstate<T>(result: &Result<T, sqlx::Error>) -> Option<String> {
    match result {
        Err(sqlx::Error::Database(error)) => error.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// The append-only trigger's SQLSTATE (`insufficient_privilege`).
pub const APPEND_ONLY: &str = "42501";

/// `GET path` with its status and JSON body (`null` when the body is not JSON).
pub async fn get(app: &TestApp, client: &Client, path: &str) -> (u16, serde_json::Value) {
    let started = std::time::Instant::now();
    let response =
        client.get(app.url(path)).send().await.unwrap_or_else(|e| failed(&format!("GET {path}"), started, e));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// `POST path` with a JSON body; its status and JSON body (`null` when the body is not JSON).
pub async fn post(app: &TestApp, client: &Client, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let started = std::time::Instant::now();
    let response = client
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| failed(&format!("POST {path}"), started, e));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}
