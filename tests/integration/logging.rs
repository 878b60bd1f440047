//! Request ids: every response carries `x-request-id`, the caller's own when it is well formed,
//! else a new UUID (the JSON log format itself is tested beside `elysium_server::logging`).

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Response;
use sqlx::PgPool;

fn request_id(response: &Response) -> String {
    response.headers().get("x-request-id").expect("x-request-id").to_str().expect("ASCII").to_owned()
}

fn is_generated(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_response_carries_a_generated_request_id(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let mut seen = Vec::new();
    // A page, the API, a refusal (no session) and an unknown path: all of them.
    for path in ["/healthz", "/login", "/api/v1/me", "/api/v1/no-such-thing"] {
        let response = client.get(app.url(path)).send().await.expect(path);
        let id = request_id(&response);
        assert!(is_generated(&id), "{path}: {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "one id per request");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_well_formed_incoming_request_id_is_echoed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    for id in ["lb-7f3a.request_0042", "0f8fad5b-d9cb-469f-a165-70867728950e", &"x".repeat(64)] {
        let response = admin.get(app.url("/api/v1/admin/health")).header("x-request-id", id).send().await.expect("get");
        assert_eq!(response.status(), 200);
        assert_eq!(request_id(&response), id);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_malformed_incoming_request_id_is_replaced(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let too_long = "y".repeat(65);
    for id in [too_long.as_str(), "two words", "semi;colon", "quote\"d", "tab\there"] {
        let response = client.get(app.url("/healthz")).header("x-request-id", id).send().await.expect("get");
        let echoed = request_id(&response);
        assert!(is_generated(&echoed), "{id:?} replaced by a UUID, got {echoed}");
    }
    // A line break cannot travel inside a header (the unit test covers it); bytes beyond ASCII and
    // an empty value can, and are replaced too.
    let utf8 = reqwest::header::HeaderValue::from_bytes("café".as_bytes()).expect("opaque bytes");
    for value in [utf8, reqwest::header::HeaderValue::from_static("")] {
        let response = client.get(app.url("/healthz")).header("x-request-id", value).send().await.expect("get");
        assert!(is_generated(&request_id(&response)));
    }
}
