//! Bad input gets a clear 4xx in the API's error format, and changes nothing.

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp, error_code};
use serde_json::json;
use sqlx::PgPool;

async fn sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from tower_sessions.session").fetch_one(&app.pool).await.expect("count")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn malformed_sign_in_requests_are_refused_clearly(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let url = app.url("/api/v1/auth/login");
    let huge_name = "a".repeat(10_000);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "malformed JSON",
            client.post(&url).header("content-type", "application/json").body("{\"username\": "),
            400,
            "bad_request",
        ),
        ("not JSON", client.post(&url).body("username=admin"), 415, "unsupported_media_type"),
        (
            "non-UTF-8",
            client.post(&url).header("content-type", "application/json").body(vec![0xff, 0xfe, 0x7b]),
            400,
            "bad_request",
        ),
        (
            "unknown field",
            client.post(&url).json(&json!({"username": "admin", "password": PASSWORD, "role": "admin"})),
            422,
            "validation_failed",
        ),
        ("missing field", client.post(&url).json(&json!({"username": "admin"})), 422, "validation_failed"),
        ("wrong type", client.post(&url).json(&json!({"username": 7, "password": PASSWORD})), 422, "validation_failed"),
        (
            "empty username",
            client.post(&url).json(&json!({"username": " ", "password": PASSWORD})),
            422,
            "validation_failed",
        ),
        (
            "huge username",
            client.post(&url).json(&json!({"username": huge_name, "password": PASSWORD})),
            422,
            "validation_failed",
        ),
        (
            "empty password",
            client.post(&url).json(&json!({"username": "admin", "password": ""})),
            422,
            "validation_failed",
        ),
        (
            "oversized body",
            client.post(&url).json(&json!({"username": "admin", "password": "x".repeat(200_000)})),
            413,
            "payload_too_large",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = request.send().await.expect(name);
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(error_code(response).await, code, "{name}");
    }
    assert_eq!(sessions(&app).await, 0, "no session was created");
    assert!(app.audit_rows("auth.login").await.is_empty(), "no sign-in was attempted");
    let failures: i64 =
        sqlx::query_scalar("select count(*) from signin_failure").fetch_one(&app.pool).await.expect("count");
    assert_eq!(failures, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn odd_usernames_are_just_wrong_credentials(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for name in ["robert'); drop table app_user;--", "zoë", "admin\u{0}"] {
        let response = app.login(&app.client(), name, PASSWORD).await;
        assert_eq!(response.status(), 401, "{name:?}");
    }
    assert_eq!(elysium_db::users::list(&app.pool).await.expect("users").len(), elysium_server::demo::USERS.len());
}
