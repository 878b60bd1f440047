//! User administration: an administrator edits a user's roles, sites and whether they may sign in
//! (applied from the user's next request), deactivation and "end sessions" end the user's
//! sessions at once, an administrator cannot lock themselves out, coordinators cannot edit users,
//! the users page shows the last sign-in, and every edit is audited with before and after.

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp, error_code};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn me(app: &TestApp, client: &Client) -> (u16, Value) {
    let response = client.get(app.url("/api/v1/me")).send().await.expect("me");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn edit(active: bool, roles: &[&str], sites: &[&str]) -> Value {
    json!({ "display_name": "Cora Coordinator", "active": active, "roles": roles, "sites": sites })
}

async fn update(app: &TestApp, admin: &Client, username: &str, body: &Value) -> reqwest::Response {
    admin.post(app.url(&format!("/api/v1/admin/users/{username}"))).json(body).send().await.expect("update")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn role_and_site_edits_apply_from_the_next_request_and_are_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let coordinator = app.signed_in("coordinator").await;
    let metrics = || coordinator.get(app.url("/api/v1/metrics/program")).send();
    assert_eq!(metrics().await.expect("metrics").status(), 403);

    let response = update(&app, &admin, "coordinator", &edit(true, &["coordinator", "admin"], &["DEMO-RC"])).await;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.expect("json");
    assert_eq!(summary["roles"], json!(["admin", "coordinator"]));
    assert_eq!(summary["sites"], json!(["DEMO-RC"]));

    // The same session, no new sign-in: the new role and site are in force.
    let (status, body) = me(&app, &coordinator).await;
    assert_eq!(status, 200);
    assert_eq!(body["roles"], json!(["admin", "coordinator"]), "{body}");
    let sites: Vec<&str> = body["sites"].as_array().expect("sites").iter().filter_map(|s| s["code"].as_str()).collect();
    assert_eq!(sites, ["DEMO-RC"], "{body}");
    assert_eq!(metrics().await.expect("metrics").status(), 200);

    let rows = app.audit_rows("user.update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (actor, outcome, detail) = &rows[0];
    assert_eq!((actor.as_deref(), outcome.as_str()), (Some("admin"), "success"));
    assert_eq!(detail["before"]["roles"], json!(["coordinator"]));
    assert_eq!(detail["before"]["sites"], json!(["DEMO-GH"]));
    assert_eq!(detail["after"]["roles"], json!(["admin", "coordinator"]));
    assert_eq!(detail["after"]["sites"], json!(["DEMO-RC"]));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn deactivation_ends_the_users_sessions_at_once_and_reactivation_lets_them_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(me(&app, &coordinator).await.0, 200);

    assert_eq!(update(&app, &admin, "coordinator", &edit(false, &["coordinator"], &["DEMO-GH"])).await.status(), 200);
    assert_eq!(me(&app, &coordinator).await.0, 401, "the open session ended with the deactivation");
    assert_eq!(app.login(&app.client(), "coordinator", PASSWORD).await.status(), 401);

    assert_eq!(update(&app, &admin, "coordinator", &edit(true, &["coordinator"], &["DEMO-GH"])).await.status(), 200);
    assert_eq!(me(&app, &coordinator).await.0, 401, "an ended session stays ended");
    let again = app.signed_in("coordinator").await;
    assert_eq!(me(&app, &again).await.0, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn ending_sessions_signs_the_user_out_everywhere_but_not_others(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let laptop = app.signed_in("surgeon").await;
    let phone = app.signed_in("surgeon").await;
    let colleague = app.signed_in("surgeon2").await;

    let ended = admin.post(app.url("/api/v1/admin/users/surgeon/end-sessions")).send().await.expect("end");
    assert_eq!(ended.status(), 204);
    assert_eq!(me(&app, &laptop).await.0, 401);
    assert_eq!(me(&app, &phone).await.0, 401);
    assert_eq!(me(&app, &colleague).await.0, 200, "only that user's sessions end");
    assert_eq!(me(&app, &admin).await.0, 200);
    // Signing in again works at once (a new session is not one of the ended ones).
    let fresh = app.signed_in("surgeon").await;
    assert_eq!(me(&app, &fresh).await.0, 200);

    let rows = app.audit_rows("user.sessions_end").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0.as_deref(), Some("admin"));
    let unknown = admin.post(app.url("/api/v1/admin/users/nobody/end-sessions")).send().await.expect("end");
    assert_eq!(unknown.status(), 404);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_administrator_cannot_lock_themselves_out_and_bad_edits_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let before: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");

    let refusals = [
        ("admin", json!({"display_name": "Ada", "active": false, "roles": ["admin"], "sites": ["DEMO-GH"]})),
        ("admin", json!({"display_name": "Ada", "active": true, "roles": ["coordinator"], "sites": ["DEMO-GH"]})),
        ("coordinator", json!({"display_name": "Cora", "active": true, "roles": ["janitor"], "sites": ["DEMO-GH"]})),
        ("coordinator", json!({"display_name": "Cora", "active": true, "roles": [], "sites": ["DEMO-GH"]})),
        ("coordinator", json!({"display_name": "Cora", "active": true, "roles": ["coordinator"], "sites": ["NOPE"]})),
        ("coordinator", json!({"display_name": "Cora", "active": true, "roles": ["coordinator"], "sites": []})),
        ("coordinator", json!({"display_name": "  ", "active": true, "roles": ["coordinator"], "sites": ["DEMO-GH"]})),
    ];
    for (username, body) in &refusals {
        let response = update(&app, &admin, username, body).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(error_code(response).await, "validation_failed", "{body}");
    }
    let unknown = update(&app, &admin, "nobody", &edit(true, &["coordinator"], &["DEMO-GH"])).await;
    assert_eq!(unknown.status(), 404);
    let extra = json!({"display_name": "Cora", "active": true, "roles": ["coordinator"], "sites": ["DEMO-GH"], "password": "x"});
    assert_eq!(update(&app, &admin, "coordinator", &extra).await.status(), 422, "unknown fields are refused");

    let after: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");
    assert_eq!(before, after, "a refused edit changes nothing");
    assert!(app.audit_rows("user.update").await.is_empty());
    assert_eq!(me(&app, &admin).await.0, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn only_administrators_edit_users(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;
    let body = edit(true, &["coordinator", "admin"], &["DEMO-GH"]);
    assert_eq!(update(&app, &coordinator, "coordinator", &body).await.status(), 403);
    let ended = coordinator.post(app.url("/api/v1/admin/users/surgeon/end-sessions")).send().await.expect("end");
    assert_eq!(ended.status(), 403);
    let form = coordinator
        .post(app.url("/admin/users/coordinator"))
        .header("origin", app.origin())
        .form(&[("display_name", "Cora"), ("active", "true"), ("roles", "admin"), ("sites", "DEMO-GH")])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 403);
    assert_eq!(me(&app, &coordinator).await.1["roles"], json!(["coordinator"]));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_users_page_edits_by_form_and_shows_the_last_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let page = admin.get(app.url("/admin/users")).send().await.expect("page").text().await.expect("html");
    // Only the administrator has signed in: one row shows a sign-in time, the others a dash.
    let admin_row = page.split("data-user=\"admin\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("row");
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(admin_row.contains(&year), "{admin_row}");
    let surgeon_row = page.split("data-user=\"surgeon\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("row");
    assert!(!surgeon_row.contains(&year) && surgeon_row.contains('—'), "{surgeon_row}");
    assert!(page.contains("action=\"/admin/users/surgeon/end-sessions\""), "the end-sessions form");

    // Two roles ticked in one form post (repeated fields), as the browser sends them.
    let saved = admin
        .post(app.url("/admin/users/surgeon"))
        .header("origin", app.origin())
        .form(&[
            ("display_name", "Sam Surgeon"),
            ("active", "true"),
            ("roles", "surgeon"),
            ("roles", "radiologist"),
            ("sites", "DEMO-GH"),
            ("sites", "DEMO-RC"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], "/admin/users?saved=surgeon");
    let users: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");
    let surgeon = users.as_array().expect("list").iter().find(|u| u["username"] == "surgeon").expect("surgeon");
    assert_eq!(surgeon["roles"], json!(["radiologist", "surgeon"]), "roles are listed by name");
    assert_eq!(surgeon["sites"], json!(["DEMO-GH", "DEMO-RC"]));

    // Unticking "may sign in" on one's own row is refused, with the reason on the page.
    let refused = admin
        .post(app.url("/admin/users/admin"))
        .header("origin", app.origin())
        .form(&[("display_name", "Ada Admin"), ("roles", "admin"), ("sites", "DEMO-GH")])
        .send()
        .await
        .expect("form");
    assert_eq!(refused.status(), 303);
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/users?error="), "{back}");
    let shown = admin.get(app.url(&back)).send().await.expect("page").text().await.expect("html");
    assert!(shown.contains("cannot deactivate yourself"), "the reason is shown");
    assert_eq!(me(&app, &admin).await.0, 200);
}
