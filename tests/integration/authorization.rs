//! 401 without a session, 403 with the wrong role, for the REST API, server functions and pages.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, error_code};
use sqlx::PgPool;

const ADMIN_ONLY: &[&str] =
    &["/api/fn/admin/users", "/api/fn/admin/signin_locks", "/api/fn/admin/audit_log", "/api/fn/admin/overview"];

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_a_session_the_api_answers_401(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    for path in ["/api/v1/me", "/api/fn/current_user"].iter().chain(ADMIN_ONLY) {
        let response = client.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(error_code(response).await, "unauthorized");
    }
    let logout = client.post(app.url("/api/v1/auth/logout")).send().await.expect("post");
    assert_eq!(logout.status(), 401);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn admin_areas_answer_403_to_every_other_role(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for role in ["coordinator", "surgeon", "radiologist"] {
        let client = app.signed_in(role).await;
        for path in ADMIN_ONLY {
            let response = client.get(app.url(path)).send().await.expect("get");
            assert_eq!(response.status(), 403, "{role} {path}");
            assert_eq!(error_code(response).await, "forbidden");
        }
        let page = client.get(app.url("/admin/users")).send().await.expect("page");
        assert_eq!(page.status(), 403, "{role} page");
        assert!(page.text().await.expect("html").contains("Not allowed"));
    }
    let admin = app.signed_in("admin").await;
    for path in ADMIN_ONLY {
        assert_eq!(admin.get(app.url(path)).send().await.expect("get").status(), 200, "admin {path}");
    }
    let denied = app.audit_rows("http.denied").await;
    assert_eq!(denied.len(), 3 * (ADMIN_ONLY.len() + 1), "every refusal is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pages_send_strangers_to_the_sign_in_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let home = client.get(app.url("/")).send().await.expect("get");
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/login");
    let admin = client.get(app.url("/admin/users")).send().await.expect("get");
    assert_eq!(admin.headers()["location"], "/login?next=%2Fadmin%2Fusers");
    let login = client.get(app.url("/login")).send().await.expect("get");
    assert_eq!(login.status(), 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_api_paths_are_json_404s_for_signed_in_users(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("coordinator").await;
    let response = client.get(app.url("/api/v1/nothing-here")).send().await.expect("get");
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "not_found");
}
