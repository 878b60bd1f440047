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

/// The administration services check the role themselves, beside the path policy: a route or
/// server function added outside `/admin/` cannot reach them without it. Each is called directly
/// as every other demo role and refused, and nothing is written; the administrator's own reads
/// pass the same check.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_administration_services_refuse_every_other_role_themselves(pool: PgPool) {
    use app::model::admin::{NewSite, NewUserRequest, UserUpdate};
    use app::model::referral::{LevelRequest, Route};
    use app::service::{Caller, ServiceError, admin, program, referral, sites, tokens};

    let _app = TestApp::spawn(pool.clone()).await;
    let caller = |username: &'static str| {
        let pool = pool.clone();
        async move {
            let id = app::service::followup::user_id(&pool, username).await.expect("id").expect("demo user");
            let user = elysium_server::auth::identity::load_user(&pool, id).await.expect("load").expect("active");
            Caller::new(user, None)
        }
    };
    let audit_rows = || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_event").fetch_one(&pool);
    let before = audit_rows().await.expect("count");
    let query = std::collections::BTreeMap::new();
    let new_user = NewUserRequest {
        username: "intruder".into(),
        display_name: String::new(),
        roles: vec!["admin".into()],
        sites: vec![],
        must_change_password: true,
    };
    let promote = UserUpdate { display_name: "Me".into(), active: true, roles: vec!["admin".into()], sites: vec![] };
    let site = NewSite { code: "EVIL".into(), name: "Evil".into(), ..NewSite::default() };
    let level = LevelRequest { site: "DEMO-GH".into(), level: None };
    let route = Route { from: "DEMO-GH".into(), to: "DEMO-RC".into() };
    let today = app::service::followup::today();
    for username in ["coordinator", "surgeon", "radiologist"] {
        let c = caller(username).await;
        let refusals: Vec<(&str, Result<(), ServiceError>)> = vec![
            ("overview", admin::overview(&pool, &c).await.map(drop)),
            ("users", admin::users(&pool, &c).await.map(drop)),
            ("create_user", admin::create_user(&pool, &c, &new_user, "hash").await.map(drop)),
            ("reset_password", admin::reset_password(&pool, &c, "surgeon2", "hash").await.map(drop)),
            ("update_user", admin::update_user(&pool, &c, username, &promote).await.map(drop)),
            ("sites", admin::sites(&pool, &c).await.map(drop)),
            ("end_sessions", admin::end_sessions(&pool, &c, "admin").await),
            ("signin_locks", admin::signin_locks(&pool, &c).await.map(drop)),
            ("unlock_signin", admin::unlock_signin(&pool, &c, "admin", "127.0.0.1").await),
            ("search_audit", admin::search_audit(&pool, &c, &query).await.map(drop)),
            ("export_audit", admin::export_audit(&pool, &c, &query).await.map(drop)),
            ("audit_actions", admin::audit_actions(&pool, &c).await.map(drop)),
            ("sites::list", sites::list(&pool, &c).await.map(drop)),
            ("sites::create", sites::create(&pool, &c, &site).await.map(drop)),
            ("tokens::list", tokens::list(&pool, &c).await.map(drop)),
            ("tokens::revoke", tokens::revoke(&pool, &c, &uuid::Uuid::nil().to_string()).await),
            ("network", referral::network(&pool, &c).await.map(drop)),
            ("set_level", referral::set_level(&pool, &c, &level).await.map(drop)),
            ("set_route", referral::set_route(&pool, &c, &route, false).await.map(drop)),
            ("program", program::report(&pool, &c, &Default::default(), today).await.map(drop)),
        ];
        for (service, result) in refusals {
            assert!(matches!(result, Err(ServiceError::Forbidden)), "{username} reached {service}: {result:?}");
        }
    }
    assert_eq!(audit_rows().await.expect("count"), before, "a refused call wrote to the audit trail");
    let admin = caller("admin").await;
    assert!(admin::users(&pool, &admin).await.expect("the administrator's users").len() >= 4);
    assert!(!sites::list(&pool, &admin).await.expect("the administrator's sites").is_empty());
}
