//! Liveness and readiness, and the administrators' system health report and panel.

use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_db::jobs;
use elysium_tests::{TestApp, get_json, get_text};
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn health_and_readiness_after_migrations(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    assert_eq!(client.get(app.url("/healthz")).send().await.expect("healthz").status(), 200);
    assert_eq!(client.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
}

#[sqlx::test(migrations = false)]
async fn not_ready_until_migrations_are_applied(pool: PgPool) {
    assert!(!elysium_db::is_ready(&pool).await);
    elysium_db::migrate(&pool).await.expect("migrate");
    assert!(elysium_db::is_ready(&pool).await);
}

/// Stores a study of `n` series (index rows only) and queues one job for each.
async fn queue_jobs(pool: &PgPool, n: usize) {
    sqlx::query(
        "with p as (insert into patient (patient_id) values ('H-1') returning id)
         insert into study (study_uid, patient_ref) select '2.25.88', id from p",
    )
    .execute(pool)
    .await
    .expect("study");
    for i in 0..n {
        let uid = format!("2.25.88.{i}");
        sqlx::query("insert into series (series_uid, study_ref) select $1, id from study where study_uid = '2.25.88'")
            .bind(&uid)
            .execute(pool)
            .await
            .expect("series");
        let request = jobs::EnqueueRequest {
            series_uid: uid,
            model_name: "reference-screening".into(),
            model_version: "0.1.0".into(),
            reason: jobs::JobReason::Rerun,
            requested_by: None,
            max_attempts: 3,
        };
        let mut conn = pool.acquire().await.expect("conn");
        assert!(matches!(jobs::enqueue(&mut conn, &request).await.expect("enqueue"), jobs::Enqueued::Queued(_)));
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_admin_health_report_counts_the_queue_and_the_disk(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    queue_jobs(&pool, 3).await;
    // One of the three taken by a worker elsewhere: 2 queued, 1 running, 1 worker busy.
    let claimed = jobs::claim(
        &pool,
        &jobs::Claimant { owner: "elsewhere:1:0", model_name: "reference-screening", model_version: "0.1.0" },
        Duration::from_secs(60),
    )
    .await
    .expect("claim");
    assert!(claimed.is_some());

    let admin = app.signed_in("admin").await;
    let response = admin.get(app.url("/api/v1/admin/health")).send().await.expect("health");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("JSON");

    // Reachable; "ok" unless this busy machine made the round trip slow.
    let round_trip = report["database"]["round_trip_ms"].as_f64().expect("round trip");
    let expected = if round_trip > app::model::health::SLOW_DATABASE_MS { "warn" } else { "ok" };
    assert_eq!(report["database"]["status"], expected, "{report:#}");
    let round_trip = report["object_store"]["round_trip_ms"].as_f64().expect("round trip");
    let expected = if round_trip > app::model::health::SLOW_STORE_MS { "warn" } else { "ok" };
    assert_eq!(report["object_store"]["status"], expected, "{report:#}");
    assert_eq!(report["queue"]["queued"], 2);
    assert_eq!(report["queue"]["running"], 1);
    assert_eq!(report["queue"]["status"], "ok");
    assert_eq!(report["workers"]["busy_anywhere"], 1);
    // The test server starts no workers of its own although one is configured by default.
    assert_eq!(report["workers"]["running_here"], 0);
    assert_eq!(report["workers"]["configured_here"], 1);
    assert_eq!(report["workers"]["status"], "failed");
    let free = report["disk"]["free_bytes"].as_u64().expect("free bytes");
    let total = report["disk"]["total_bytes"].as_u64().expect("total bytes");
    assert!(free > 0 && free <= total, "{free} of {total}");
    let folder = app.objects.path().join("objects");
    assert_eq!(report["disk"]["path"], folder.display().to_string());
    // The overall verdict is the worst one.
    assert_eq!(report["status"], "failed");
    assert!(report["checked_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_workers_here_an_empty_queue_is_healthy(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--workers", "0"]).await;
    let admin = app.signed_in("admin").await;
    let report: Value = get_json(&app, &admin, "/api/v1/admin/health").await;
    assert_eq!(report["workers"]["configured_here"], 0);
    assert_eq!(report["workers"]["status"], "ok", "{report:#}");
    assert_eq!(report["queue"]["queued"], 0);
    assert_eq!(report["queue"]["status"], "ok");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn only_administrators_see_system_health(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for user in ["coordinator", "radiologist", "surgeon"] {
        let client = app.signed_in(user).await;
        let response = client.get(app.url("/api/v1/admin/health")).send().await.expect("health");
        assert_eq!(response.status(), 403, "{user}");
        let response = client.get(app.url("/api/fn/admin/health")).send().await.expect("server fn");
        assert_eq!(response.status(), 403, "{user}: the page's server function");
    }
    let anonymous = app.client().get(app.url("/api/v1/admin/health")).send().await.expect("health");
    assert_eq!(anonymous.status(), 401);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_administrators_home_shows_the_health_panel_without_javascript(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    queue_jobs(&pool, 2).await;
    let admin = app.signed_in("admin").await;
    let html = get_text(&app, &admin, "/").await;
    assert!(html.contains(r#"data-testid="system-health""#), "the panel is on the home page");
    assert!(html.contains("System health"));
    assert!(html.contains(r#"data-check="database""#), "{html}");
    assert!(!html.contains(r#"data-check="database" data-status="failed""#), "the database answers");
    assert!(html.contains(r#"data-check="disk""#));
    assert!(html.contains(r#"data-queued="2""#), "the queue depth is rendered on the server");
    // The panel comes before the programme dashboard.
    let panel = html.find("system-health").expect("panel");
    let program = html.find("program-home").expect("programme dashboard");
    assert!(panel < program);

    let coordinator = app.signed_in("coordinator").await;
    let html = get_text(&app, &coordinator, "/").await;
    assert!(!html.contains("system-health"), "only administrators see the panel");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_health_panel_speaks_chinese(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let response = admin.get(app.url("/")).header("accept-language", "zh-Hans").send().await.expect("home");
    // Without Leptos's hydration markers between the sentence's pieces.
    let html = response.text().await.expect("HTML").replace("<!>", "").replace("<!---->", "");
    assert!(html.contains("系统运行状态"), "the panel's title in Chinese");
    assert!(html.contains("排队 0 个，运行中 0 个"), "the queue line in Chinese");
}
