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
        let html = page.text().await.expect("html");
        assert!(html.contains(r#"<html lang="en">"#) && html.contains("<h1>Not allowed</h1>"), "{html}");
    }
    let admin = app.signed_in("admin").await;
    for path in ADMIN_ONLY {
        assert_eq!(admin.get(app.url(path)).send().await.expect("get").status(), 200, "admin {path}");
    }
    let denied = app.audit_rows("http.denied").await;
    assert_eq!(denied.len(), 3 * (ADMIN_ONLY.len() + 1), "every refusal is audited");
}

/// The page refusing a signed-in user speaks the reader's language, as every page does.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_not_allowed_page_speaks_the_readers_language(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let surgeon = app.signed_in("surgeon").await;
    let (status, english) = page(&app, &surgeon, "/admin/users", None).await;
    assert_eq!(status, 403);
    assert!(english.contains(r#"<html lang="en">"#), "{english}");
    assert!(english.contains("<h1>Not allowed</h1>"), "{english}");
    assert!(english.contains(r#"<a href="/">Go to your home page</a>."#), "{english}");
    let (status, chinese) = page(&app, &surgeon, "/admin/users", Some("zh-CN,zh;q=0.9")).await;
    assert_eq!(status, 403);
    assert!(chinese.contains(r#"<html lang="zh-Hans">"#), "{chinese}");
    assert!(chinese.contains("<title>无权访问 · Elysium</title>"), "{chinese}");
    assert!(chinese.contains("<p>您的角色无权访问此页面。<a href=\"/\">返回您的首页</a>。</p>"), "{chinese}");
    assert!(!chinese.contains("Not allowed"), "{chinese}");
}

/// Without the OHIF viewer installed (a folder without its `index.html`, whatever
/// `ELYSIUM_OHIF_DIR` the machine running the tests has), `/ohif` and below say so in the
/// reader's language.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_ohif_not_installed_page_speaks_the_readers_language(pool: PgPool) {
    let empty = tempfile::tempdir().expect("an empty folder");
    let folder = empty.path().to_str().expect("a UTF-8 path");
    let app = TestApp::spawn_with(pool, &["--ohif-dir", folder]).await;
    let radiologist = app.signed_in("radiologist").await;
    let (status, english) = page(&app, &radiologist, "/ohif", None).await;
    assert_eq!(status, 404);
    assert!(english.contains(r#"<html lang="en">"#), "{english}");
    assert!(english.contains("The OHIF viewer is not installed on this server"), "{english}");
    assert!(english.contains(r#"<a href="/studies">Studies</a>"#), "{english}");
    let (status, chinese) = page(&app, &radiologist, "/ohif/viewer", Some("zh-CN,zh;q=0.9")).await;
    assert_eq!(status, 404);
    assert!(chinese.contains(r#"<html lang="zh-Hans">"#), "{chinese}");
    assert!(chinese.contains("此服务器未安装 OHIF 阅片器"), "{chinese}");
    assert!(chinese.contains(r#"<a href="/studies">检查</a>"#), "{chinese}");
    assert!(!chinese.contains("not installed"), "{chinese}");
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str, accept_language: Option<&str>) -> (u16, String) {
    let mut request = client.get(app.url(path));
    if let Some(language) = accept_language {
        request = request.header("accept-language", language);
    }
    let response = request.send().await.expect("page");
    (response.status().as_u16(), response.text().await.expect("html"))
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
