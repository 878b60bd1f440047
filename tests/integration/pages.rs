//! Server-rendered pages: complete HTML for each role without JavaScript.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_role_gets_its_home_and_navigation(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let expectations = [
        ("admin", "Administration", true),
        ("coordinator", "Triage and follow-up", false),
        ("surgeon", "MDT staging", false),
        ("radiologist", "Finding review", false),
    ];
    for (role, card, sees_admin) in expectations {
        let client = app.signed_in(role).await;
        let response = client.get(app.url("/")).send().await.expect("home");
        assert_eq!(response.status(), 200, "{role}");
        let html = response.text().await.expect("html");
        assert!(html.contains(card), "{role} home shows {card}");
        assert!(html.contains("Sign out"), "{role}");
        assert_eq!(html.contains("href=\"/admin/users\""), sees_admin, "{role} admin navigation");
        assert!(html.contains("/pkg/elysium.js"), "the page loads the hydration bundle");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn admin_pages_render_their_tables(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let users = admin.get(app.url("/admin/users")).send().await.expect("users").text().await.expect("html");
    assert!(users.contains("Cora Coordinator") && users.contains("DEMO-RC"));
    let audit = admin.get(app.url("/admin/audit")).send().await.expect("audit").text().await.expect("html");
    assert!(audit.contains("auth.login"));
    let locks = admin.get(app.url("/admin/signin-locks")).send().await.expect("locks").text().await.expect("html");
    assert!(locks.contains("No username is locked"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_pages_are_404(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("coordinator").await;
    let response = client.get(app.url("/no-such-page")).send().await.expect("get");
    assert_eq!(response.status(), 404);
}
