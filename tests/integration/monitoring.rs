//! Prometheus metrics at `/metrics`: requests by route template, ingest, sign-in failures, the
//! screening queue and the database pool; administrators and `metrics:read` tokens only. The
//! recorder is one per process (the tests' servers share it), so the tests check that figures
//! appear and grow, never their absolute values.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, multipart_related, stow_content_type};
use reqwest::Client;
use sqlx::PgPool;

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        if matches { value.parse().ok() } else { None }
    })
}

async fn scrape(app: &TestApp, client: &Client) -> String {
    let response = client.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/plain"));
    response.text().await.expect("text")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn metrics_count_requests_ingest_and_sign_in_failures(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    // A request to a route with a parameter is labelled by its template.
    let finding = admin.get(app.url("/api/v1/findings/987654")).send().await.expect("finding");
    assert_eq!(finding.status(), 404);
    let before = scrape(&app, &admin).await;
    let labels = [("method", "GET"), ("route", "/api/v1/findings/{id}"), ("status", "404")];
    let requests = sample(&before, "elysium_http_requests_total", &labels).expect("requests counted");
    assert!(requests >= 1.0);
    assert!(!before.contains("987654"), "no label carries an id");
    assert!(sample(&before, "elysium_http_request_duration_seconds_count", &labels[..2]).is_some());
    assert!(sample(&before, "elysium_http_request_duration_seconds_bucket", &[("le", "0.005")]).is_some());

    // Read when scraped.
    assert!(sample(&before, "elysium_screening_jobs", &[("status", "queued")]).is_some(), "{before}");
    assert!(sample(&before, "elysium_db_pool_connections", &[("state", "in_use")]).is_some());

    let stored_before =
        sample(&before, "elysium_ingest_instances_total", &[("via", "stow"), ("outcome", "stored")]).unwrap_or(0.0);
    let response = admin
        .post(app.url("/dicomweb/studies?site=DEMO-GH"))
        .header("origin", app.origin())
        .header("content-type", stow_content_type())
        .body(multipart_related(&[fixture("pydicom/CT_small.dcm")]))
        .send()
        .await
        .expect("stow");
    assert_eq!(response.status(), 200);
    let wrong = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "coordinator", "password": "not the password at all"}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);

    let after = scrape(&app, &admin).await;
    let stored = sample(&after, "elysium_ingest_instances_total", &[("via", "stow"), ("outcome", "stored")]);
    assert!(stored.unwrap_or(0.0) >= stored_before + 1.0, "{stored:?}");
    assert!(sample(&after, "elysium_ingest_bytes_total", &[("via", "stow")]).unwrap_or(0.0) > 0.0);
    assert!(sample(&after, "elysium_signin_failures_total", &[("locked", "false")]).unwrap_or(0.0) >= 1.0);
    let again = sample(&after, "elysium_http_requests_total", &labels).expect("requests");
    assert!(again >= requests);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn metrics_are_for_administrators_and_metrics_tokens(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = Client::new();
    assert_eq!(client.get(app.url("/metrics")).send().await.expect("anonymous").status(), 401);
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(coordinator.get(app.url("/metrics")).send().await.expect("coordinator").status(), 403);
    let scraper = app.scoped_token("admin", &["metrics:read"]).await;
    let response = client.get(app.url("/metrics")).bearer_auth(&scraper).send().await.expect("token");
    assert_eq!(response.status(), 200);
    let pacs = app.scoped_token("admin", &["dicom:write"]).await;
    assert_eq!(client.get(app.url("/metrics")).bearer_auth(&pacs).send().await.expect("pacs").status(), 403);
}
