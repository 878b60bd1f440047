//! The interface language: the browser's Accept-Language by default, a switch that works for
//! visitors and signed-in users alike (without signing out), and a signed-in user's choice kept
//! in their profile and brought back at the next sign-in.

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp, get_text};
use sqlx::PgPool;

async fn page(app: &TestApp, client: &reqwest::Client, path: &str, accept_language: &str) -> String {
    let response = client.get(app.url(path)).header("accept-language", accept_language).send().await.expect("page");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("html")
}

async fn switch(app: &TestApp, client: &reqwest::Client, language: &str, back: &str) -> reqwest::Response {
    client
        .post(app.url("/language"))
        .header("origin", app.origin())
        .form(&[("language", language), ("back", back)])
        .send()
        .await
        .expect("switch")
}

/// The explicit choice the response records, as `name=value`.
fn language_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("elysium_language="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_browser_language_decides_until_someone_chooses(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let visitor = app.client();
    let english = page(&app, &visitor, "/login", "en-GB,en;q=0.9").await;
    assert!(english.contains("lang=\"en\"") && english.contains("Username"), "{english}");
    // A Chinese browser (zh-CN) gets Simplified Chinese.
    let chinese = page(&app, &visitor, "/login", "zh-CN,zh;q=0.9,en;q=0.5").await;
    assert!(
        chinese.contains("lang=\"zh-Hans\"") && chinese.contains("用户名") && chinese.contains("密码"),
        "{chinese}"
    );
    // Neither language offered: English.
    let other = page(&app, &visitor, "/login", "fr-FR").await;
    assert!(other.contains("lang=\"en\""));

    // A visitor switches on the sign-in page and stays there, now in Chinese whatever the browser says.
    let switched = switch(&app, &visitor, "zh-Hans", "/login?next=%2Fworklist").await;
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], "/login?next=%2Fworklist");
    assert_eq!(language_cookie(&switched).as_deref(), Some("elysium_language=zh-Hans"));
    let after = page(&app, &visitor, "/login", "en-GB").await;
    assert!(after.contains("lang=\"zh-Hans\"") && after.contains("用户名"), "the choice beats the browser");

    // Not a language, or a way off the site: refused, or back home.
    let bad = switch(&app, &visitor, "klingon", "/").await;
    assert_eq!(bad.status(), 422);
    let away = switch(&app, &visitor, "en", "https://evil.example/").await;
    assert_eq!(away.headers()["location"], "/");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_signed_in_users_choice_is_kept_and_follows_them(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;
    let home = get_text(&app, &coordinator, "/").await;
    assert!(home.contains("lang=\"en\"") && home.contains("Skip to content"));

    let switched = switch(&app, &coordinator, "zh-Hans", "/worklist").await;
    assert_eq!((switched.status().as_u16(), switched.headers()["location"].to_str().ok()), (303, Some("/worklist")));
    let home = get_text(&app, &coordinator, "/").await;
    assert!(home.contains("lang=\"zh-Hans\"") && home.contains("跳到主要内容"), "switched without signing out");
    let stored: Option<String> = sqlx::query_scalar("select language from app_user where username = 'coordinator'")
        .fetch_one(&app.pool)
        .await
        .expect("user");
    assert_eq!(stored.as_deref(), Some("zh-Hans"));
    let audited = app.audit_rows("user.language").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].2["language"], "zh-Hans");

    // Another browser: the sign-in brings the profile's language with it.
    let elsewhere = app.client();
    let signed_in = app.login(&elsewhere, "coordinator", PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    assert_eq!(language_cookie(&signed_in).as_deref(), Some("elysium_language=zh-Hans"));
    // Someone who never chose gets no cookie at sign-in: their browser keeps deciding.
    let radiologist = app.client();
    let signed_in = app.login(&radiologist, "radiologist", PASSWORD).await;
    assert_eq!(language_cookie(&signed_in), None);
}
