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

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_study_list_and_page_show_stored_studies_and_audit_the_view(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut conn = app.pool.acquire().await.expect("conn");
    let general = elysium_db::sites::by_code(&mut conn, "DEMO-GH").await.expect("query").expect("site");
    drop(conn);
    let received = elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, general.id);
    let outcome = app.state().ingestor.ingest(elysium_tests::fixture("pydicom/CT_small.dcm").into(), &received).await;
    let elysium_server::ingest::Outcome::Stored(stored) = outcome else { panic!("{outcome:?}") };

    let coordinator = app.signed_in("coordinator").await;
    let list = coordinator.get(app.url("/studies")).send().await.expect("list").text().await.expect("html");
    assert!(list.contains(&stored.patient_id), "the list shows the patient ID");
    assert!(list.contains(&format!("/studies/{}", stored.study_uid)));
    let page = coordinator.get(app.url(&format!("/studies/{}", stored.study_uid))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("data-testid=\"series\"") && html.contains("128 × 128"), "series table with the matrix");
    // One 128 × 128 slice is far too little to screen: the verdict says so.
    assert!(html.contains("not eligible"), "eligibility verdict");
    let views: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("select actor_username, patient_id from audit_event where action = 'study.view'")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(views, [(Some("coordinator".to_owned()), Some(stored.patient_id.clone()))]);

    // A surgeon at the general hospital may look; nobody outside its sites sees it.
    let none = coordinator
        .get(app.url("/studies?patient_id=someone-else"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("html");
    assert!(none.contains("No studies match"));
}
