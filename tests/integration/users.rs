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

// Creating accounts, temporary passwords, resets and changing one's own password.

/// A new account's (or a reset's) temporary password: four groups of four characters.
fn temporary_password(body: &Value) -> String {
    let password = body["temporary_password"].as_str().expect("temporary_password").to_owned();
    assert_eq!(password.len(), 19, "{password}");
    assert_eq!(password.split('-').count(), 4, "{password}");
    password
}

async fn create(app: &TestApp, admin: &Client, body: &Value) -> reqwest::Response {
    admin.post(app.url("/api/v1/admin/users")).json(body).send().await.expect("create")
}

async fn change_password(app: &TestApp, client: &Client, current: &str, new: &str) -> reqwest::Response {
    client
        .post(app.url("/api/v1/auth/password"))
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .expect("change password")
}

/// Where a page request is sent (`None`: it was answered).
async fn page_redirect(app: &TestApp, client: &Client, path: &str) -> Option<String> {
    let response = client.get(app.url(path)).send().await.expect("page");
    if response.status().is_redirection() {
        return Some(response.headers()["location"].to_str().expect("location").to_owned());
    }
    assert_eq!(response.status(), 200, "{path}");
    None
}

/// The temporary password the users page shows once (`None`: none is shown).
async fn shown_password(app: &TestApp, admin: &Client) -> Option<String> {
    let page = admin.get(app.url("/admin/users")).send().await.expect("page").text().await.expect("html");
    let after = page.split("data-testid=\"temporary-password\"").nth(1)?;
    after.split_once('>')?.1.split("</code>").next().map(str::to_owned)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_new_account_signs_in_with_its_temporary_password_only_to_choose_its_own(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let body = json!({ "username": " Nina.Nurse ", "display_name": "Nina Nurse", "roles": ["coordinator"], "sites": ["DEMO-GH"] });
    let response = create(&app, &admin, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["username"], "nina.nurse");
    assert_eq!(created["display_name"], "Nina Nurse");
    assert_eq!(created["roles"], json!(["coordinator"]));
    assert_eq!(created["sites"], json!(["DEMO-GH"]));
    assert_eq!(created["must_change_password"], true);
    let temporary = temporary_password(&created);

    let rows = app.audit_rows("user.create").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (actor, outcome, detail) = &rows[0];
    assert_eq!((actor.as_deref(), outcome.as_str()), (Some("admin"), "success"));
    assert_eq!(detail["roles"], json!(["coordinator"]));
    assert_eq!(detail["must_change_password"], true);
    assert!(!detail.to_string().contains(&temporary), "the audit trail never holds the password");

    // The temporary password signs in, to the password change and nothing else.
    let nina = app.client();
    let signed_in = app.login(&nina, "nina.nurse", &temporary).await;
    assert_eq!(signed_in.status(), 200);
    assert_eq!(signed_in.json::<Value>().await.expect("json")["must_change_password"], true);
    let (status, me_body) = me(&app, &nina).await;
    assert_eq!((status, me_body["must_change_password"].clone()), (200, json!(true)));
    let worklist = nina.get(app.url("/api/v1/worklist")).send().await.expect("worklist");
    assert_eq!(worklist.status(), 403);
    assert_eq!(error_code(worklist).await, "password_change_required");
    for page in ["/", "/worklist", "/profile", "/studies"] {
        assert_eq!(page_redirect(&app, &nina, page).await.as_deref(), Some("/account/password"), "{page}");
    }
    let page = nina.get(app.url("/account/password")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("data-testid=\"must-change\""), "the page says why");
    assert!(page.contains("action=\"/account/password\""));
    let chinese = elysium_tests::get_text_in_chinese(&app, &nina, "/account/password").await;
    assert!(chinese.contains("您使用临时密码登录。请先设置您自己的密码再继续。") && chinese.contains("再次输入新密码"));
    // A token is not the password: integrations of the account are not held back.
    let token = app.api_token("nina.nurse").await;
    let by_token = app.client().get(app.url("/api/v1/worklist")).bearer_auth(&token).send().await.expect("worklist");
    assert_eq!(by_token.status(), 200);

    assert_eq!(change_password(&app, &nina, &temporary, "Nina's own long passphrase").await.status(), 204);
    let (status, me_body) = me(&app, &nina).await;
    assert_eq!((status, me_body["must_change_password"].clone()), (200, json!(false)), "the same session goes on");
    assert_eq!(nina.get(app.url("/api/v1/worklist")).send().await.expect("worklist").status(), 200);
    assert_eq!(page_redirect(&app, &nina, "/worklist").await, None);
    assert_eq!(app.login(&app.client(), "nina.nurse", &temporary).await.status(), 401, "the temporary one is spent");
    assert_eq!(app.login(&app.client(), "nina.nurse", "Nina's own long passphrase").await.status(), 200);
    let changes = app.audit_rows("user.password_change").await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].0.as_deref(), changes[0].1.as_str()), (Some("nina.nurse"), "success"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_users_page_creates_an_account_and_shows_its_password_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let page = admin.get(app.url("/admin/users")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("action=\"/admin/users\""), "the new-user form");
    assert!(page.contains("action=\"/admin/users/surgeon/reset-password\""), "a reset button per user");

    let form = |fields: &'static [(&'static str, &'static str)]| {
        admin.post(app.url("/admin/users")).header("origin", app.origin()).form(fields).send()
    };
    let created = form(&[
        ("username", "omar"),
        ("display_name", "Omar Ortho"),
        ("roles", "surgeon"),
        ("roles", "radiologist"),
        ("sites", "DEMO-RC"),
        ("must_change_password", "true"),
    ])
    .await
    .expect("form");
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/admin/users?created=omar");
    let temporary = shown_password(&app, &admin).await.expect("shown after creating");
    assert_eq!(temporary.len(), 19, "{temporary}");
    assert_eq!(shown_password(&app, &admin).await, None, "and never again");

    let omar = app.client();
    assert_eq!(app.login(&omar, "omar", &temporary).await.status(), 200);
    assert_eq!(page_redirect(&app, &omar, "/studies").await.as_deref(), Some("/account/password"));
    let changed = omar
        .post(app.url("/account/password"))
        .header("origin", app.origin())
        .form(&[
            ("current_password", temporary.as_str()),
            ("new_password", "orthopaedic passphrase"),
            ("new_password_again", "orthopaedic passphrase"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(changed.status(), 303);
    assert_eq!(changed.headers()["location"], "/account/password?changed=1");
    assert_eq!(page_redirect(&app, &omar, "/studies").await, None);

    // Without "must choose their own", the temporary password simply is the password.
    let kept = form(&[("username", "pat"), ("roles", "coordinator"), ("sites", "DEMO-GH")]).await.expect("form");
    assert_eq!(kept.headers()["location"], "/admin/users?created=pat");
    let temporary = shown_password(&app, &admin).await.expect("shown");
    let pat = app.client();
    assert_eq!(app.login(&pat, "pat", &temporary).await.status(), 200);
    assert_eq!(pat.get(app.url("/api/v1/worklist")).send().await.expect("worklist").status(), 200);
    assert_eq!(me(&app, &pat).await.1["display_name"], "pat", "a blank name is the username");

    // A refusal comes back to the page with its reason and shows no password.
    let refused = form(&[("username", "omar"), ("roles", "surgeon"), ("sites", "DEMO-RC")]).await.expect("form");
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/users?error="), "{back}");
    let shown = admin.get(app.url(&back)).send().await.expect("page").text().await.expect("html");
    assert!(shown.contains("username already exists"), "the reason is shown");
    assert!(!shown.contains("temporary-password"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn duplicate_and_invalid_accounts_are_refused_and_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let before: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");

    let duplicate =
        create(&app, &admin, &json!({ "username": "Surgeon", "roles": ["surgeon"], "sites": ["DEMO-GH"] })).await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(error_code(duplicate).await, "conflict");

    let refusals = [
        (json!({ "username": ".hidden", "roles": ["surgeon"], "sites": ["DEMO-GH"] }), "username"),
        (json!({ "username": "zoë", "roles": ["surgeon"], "sites": ["DEMO-GH"] }), "username"),
        (
            json!({ "username": "new.one", "roles": ["janitor"], "sites": ["DEMO-GH"] }),
            "valid: coordinator, surgeon, radiologist, admin",
        ),
        (json!({ "username": "new.one", "roles": [], "sites": ["DEMO-GH"] }), "roles"),
        (json!({ "username": "new.one", "roles": ["surgeon"], "sites": ["NOPE"] }), "valid: DEMO-GH, DEMO-RC"),
        (json!({ "username": "new.one", "roles": ["surgeon"], "sites": [] }), "sites"),
        (
            json!({ "username": "new.one", "roles": ["surgeon"], "sites": ["DEMO-GH"], "password": "chosen by me" }),
            "password",
        ),
    ];
    for (body, named) in &refusals {
        let response = create(&app, &admin, body).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["code"], "validation_failed", "{body}");
        assert!(error["error"]["message"].as_str().expect("message").contains(named), "{body}: {error}");
    }
    let after: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");
    assert_eq!(before, after, "nothing was created");
    assert!(app.audit_rows("user.create").await.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_reset_ends_the_users_sessions_and_makes_them_choose_a_new_password(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let laptop = app.signed_in("surgeon").await;

    let reset = admin.post(app.url("/api/v1/admin/users/surgeon/reset-password")).send().await.expect("reset");
    assert_eq!(reset.status(), 200);
    let body: Value = reset.json().await.expect("json");
    assert_eq!((body["username"].as_str(), body["must_change_password"].as_bool()), (Some("surgeon"), Some(true)));
    let temporary = temporary_password(&body);
    assert_eq!(me(&app, &laptop).await.0, 401, "the open session ended");
    assert_eq!(app.login(&app.client(), "surgeon", PASSWORD).await.status(), 401, "the old password is gone");
    let again = app.client();
    assert_eq!(app.login(&again, "surgeon", &temporary).await.status(), 200);
    let worklist = again.get(app.url("/api/v1/worklist")).send().await.expect("worklist");
    assert_eq!(worklist.status(), 403);
    assert_eq!(error_code(worklist).await, "password_change_required");
    assert_eq!(again.post(app.url("/api/v1/auth/logout")).send().await.expect("logout").status(), 204);

    let rows = app.audit_rows("user.password_reset").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0.as_deref(), rows[0].1.as_str()), (Some("admin"), "success"));
    assert!(!rows[0].2.to_string().contains(&temporary));
    let users: Value =
        admin.get(app.url("/api/fn/admin/users")).send().await.expect("users").json().await.expect("json");
    let surgeon = users.as_array().expect("list").iter().find(|u| u["username"] == "surgeon").expect("surgeon");
    assert_eq!(surgeon["must_change_password"], true);

    let unknown = admin.post(app.url("/api/v1/admin/users/nobody/reset-password")).send().await.expect("reset");
    assert_eq!(unknown.status(), 404);
    let own = admin.post(app.url("/api/v1/admin/users/admin/reset-password")).send().await.expect("reset");
    assert_eq!(own.status(), 422, "an administrator changes their own password on /account/password");
    assert_eq!(me(&app, &admin).await.0, 200);

    // The page's button: the new password is shown once, on the page.
    let form = admin
        .post(app.url("/admin/users/surgeon2/reset-password"))
        .header("origin", app.origin())
        .send()
        .await
        .expect("form");
    assert_eq!(form.headers()["location"], "/admin/users?reset=surgeon2");
    let shown = shown_password(&app, &admin).await.expect("shown once");
    assert_eq!(app.login(&app.client(), "surgeon2", &shown).await.status(), 200);
    assert_eq!(shown_password(&app, &admin).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn changing_ones_own_password_keeps_this_session_and_ends_the_others(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let desk = app.signed_in("radiologist").await;
    let phone = app.signed_in("radiologist").await;
    let colleague = app.signed_in("surgeon").await;

    assert_eq!(change_password(&app, &desk, PASSWORD, "reading room passphrase").await.status(), 204);
    assert_eq!(me(&app, &desk).await.0, 200, "the session that changed it goes on");
    assert_eq!(desk.get(app.url("/api/v1/worklist")).send().await.expect("worklist").status(), 200);
    assert_eq!(me(&app, &phone).await.0, 401, "another session of the same user ends");
    assert_eq!(me(&app, &colleague).await.0, 200, "other users are unaffected");
    assert_eq!(app.login(&app.client(), "radiologist", PASSWORD).await.status(), 401);
    assert_eq!(app.login(&app.client(), "radiologist", "reading room passphrase").await.status(), 200);
    let rows = app.audit_rows("user.password_change").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(!rows[0].2.to_string().contains("reading room"), "{rows:?}");
}

/// A wrong current password is 422 (`validation_failed`, naming `current_password`), not 401:
/// the session is still good. It counts as a failed sign-in and changes nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_wrong_current_password_or_a_weak_new_one_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;

    let wrong = change_password(&app, &coordinator, "not my password", "a perfectly good passphrase").await;
    assert_eq!(wrong.status(), 422);
    let error: Value = wrong.json().await.expect("json");
    assert_eq!(error["error"]["code"], "validation_failed");
    assert!(error["error"]["message"].as_str().expect("message").starts_with("current_password"), "{error}");
    let weak = [
        ("short one", "new_password: password must be at least 12 characters"),
        ("my coordinator passphrase", "new_password: password must not be the username or contain it"),
        (PASSWORD, "new_password: choose a password other than the current one"),
    ];
    for (new, message) in weak {
        let response = change_password(&app, &coordinator, PASSWORD, new).await;
        assert_eq!(response.status(), 422, "{new}");
        assert_eq!(response.json::<Value>().await.expect("json")["error"]["message"], message);
    }
    let extra = coordinator
        .post(app.url("/api/v1/auth/password"))
        .json(&json!({ "current_password": PASSWORD, "new_password": "a perfectly good passphrase", "username": "admin" }))
        .send()
        .await
        .expect("change");
    assert_eq!(extra.status(), 422, "unknown fields are refused");

    // The form says why in the page's language.
    let form = |fields: [(&'static str, &'static str); 3]| {
        coordinator.post(app.url("/account/password")).header("origin", app.origin()).form(&fields).send()
    };
    let wrong_form = form([
        ("current_password", "not my password"),
        ("new_password", "a perfectly good passphrase"),
        ("new_password_again", "a perfectly good passphrase"),
    ])
    .await
    .expect("form");
    assert_eq!(wrong_form.headers()["location"], "/account/password?error=wrong_current");
    let mismatch = form([
        ("current_password", PASSWORD),
        ("new_password", "a perfectly good passphrase"),
        ("new_password_again", "a perfectly good passphrasf"),
    ])
    .await
    .expect("form");
    assert_eq!(mismatch.headers()["location"], "/account/password?error=mismatch");
    let page = coordinator
        .get(app.url("/account/password?error=wrong_current"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("That is not your current password. Nothing was changed."), "the reason is shown");

    assert_eq!(me(&app, &coordinator).await.0, 200);
    assert_eq!(app.login(&app.client(), "coordinator", PASSWORD).await.status(), 200, "the password is unchanged");
    let outcomes: Vec<String> = app.audit_rows("user.password_change").await.into_iter().map(|r| r.1).collect();
    assert_eq!(outcomes, ["failure", "failure"], "both wrong current passwords are audited, nothing succeeded");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn coordinators_cannot_create_users_or_reset_passwords(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;
    let body = json!({ "username": "mallory", "roles": ["admin"], "sites": ["DEMO-GH"] });
    assert_eq!(create(&app, &coordinator, &body).await.status(), 403);
    let reset = coordinator.post(app.url("/api/v1/admin/users/surgeon/reset-password")).send().await.expect("reset");
    assert_eq!(reset.status(), 403);
    for path in ["/admin/users", "/admin/users/surgeon/reset-password"] {
        let form = coordinator
            .post(app.url(path))
            .header("origin", app.origin())
            .form(&[("username", "mallory"), ("roles", "admin"), ("sites", "DEMO-GH")])
            .send()
            .await
            .expect("form");
        assert_eq!(form.status(), 403, "{path}");
    }
    let issued = coordinator.get(app.url("/api/fn/admin/issued_password")).send().await.expect("issued");
    assert_eq!(issued.status(), 403);
    assert_eq!(app.login(&app.client(), "mallory", "anything at all").await.status(), 401);
    assert_eq!(app.login(&app.client(), "surgeon", PASSWORD).await.status(), 200, "no reset happened");
}
