//! Sign-in, sign-out, the session cookie, throttling, and cross-site refusal.

use std::time::{Duration, Instant};

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp, error_code, set_cookie};
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_returns_the_user_and_sets_a_hardened_cookie(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let response = app.login(&client, "Coordinator", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response);
    assert!(cookie.starts_with("elysium_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not get Secure: {cookie}");
    assert!(cookie.contains("Max-Age=1800") || cookie.contains("Expires"), "idle timeout: {cookie}");
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["username"], "coordinator");
    assert_eq!(user["roles"], json!(["coordinator"]));

    let me: Value = client.get(app.url("/api/v1/me")).send().await.expect("me").json().await.expect("json");
    assert_eq!(me["username"], "coordinator");
    assert_eq!(me["sites"][0]["code"], "DEMO-GH");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn https_deployments_get_secure_cookies(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--public-url", "https://elysium.example.org"]).await;
    let response = app.login(&app.client(), "admin", PASSWORD).await;
    assert!(set_cookie(&response).contains("Secure"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_cycles_the_session_id(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let first = set_cookie(&app.login(&client, "surgeon", PASSWORD).await);
    let second = set_cookie(&app.login(&client, "surgeon", PASSWORD).await);
    // `elysium_session=ID`, from each sign-in's own Set-Cookie (none at all would fail here).
    let id = |c: &str| {
        c.lines().find(|l| l.starts_with("elysium_session=")).and_then(|l| l.split(';').next()).map(str::to_owned)
    };
    let (first, second) =
        (id(&first).expect("the first sign-in sets the cookie"), id(&second).expect("the second sets a new one"));
    assert_ne!(first, second);
    // The session id before the second sign-in no longer signs anyone in; the new one does.
    let me = |cookie: String| {
        let request = app.client().get(app.url("/api/v1/me")).header("cookie", cookie);
        async move { request.send().await.expect("me").status().as_u16() }
    };
    assert_eq!(me(first).await, 401, "the old session id is dead");
    assert_eq!(me(second).await, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_user_and_wrong_password_look_the_same(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let mut timings = Vec::new();
    let mut bodies = Vec::new();
    let attempts = ["radiologist", "nobody-by-this-name"].repeat(5);
    for username in attempts {
        let started = Instant::now();
        let response = app.login(&client, username, "wrong password here").await;
        timings.push((username, started.elapsed()));
        assert_eq!(response.status(), 401);
        bodies.push(response.text().await.expect("body"));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(bodies[0].contains("invalid username or password"));
    // Both paths run argon2. Skipping it for unknown users would make that path about 50 times
    // faster; the margin of 4 keeps the check meaningful on a busy machine.
    let median = |name: &str| {
        let mut t: Vec<Duration> = timings.iter().filter(|(n, _)| *n == name).map(|(_, d)| *d).collect();
        t.sort();
        t[t.len() / 2]
    };
    let (known, unknown) = (median("radiologist"), median("nobody-by-this-name"));
    assert!(unknown * 4 >= known, "unknown user {unknown:?} vs wrong password {known:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_out_ends_the_session_for_good(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("admin").await;
    let cookie_before: i64 =
        sqlx::query_scalar("select count(*) from tower_sessions.session").fetch_one(&app.pool).await.expect("count");
    assert_eq!(cookie_before, 1);
    let response = client.post(app.url("/api/v1/auth/logout")).send().await.expect("logout");
    assert_eq!(response.status(), 204);
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 401);
    let sessions: i64 =
        sqlx::query_scalar("select count(*) from tower_sessions.session").fetch_one(&app.pool).await.expect("count");
    assert_eq!(sessions, 0, "the session is deleted from the store");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sign_out_form_lands_on_the_sign_in_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("surgeon").await;
    let response = client.post(app.url("/logout")).header("origin", app.origin()).send().await.expect("logout");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?notice=signed_out");
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 401);
    assert_eq!(app.audit_rows("auth.logout").await.len(), 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sign_in_form_redirects_with_a_notice(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    let post = |form: Vec<(&'static str, &'static str)>| {
        client.post(app.url("/login")).header("origin", app.origin()).form(&form).send()
    };
    let bad = post(vec![("username", "admin"), ("password", "nope nope nope"), ("next", "/admin/users")])
        .await
        .expect("post");
    assert_eq!(bad.status(), 303);
    assert_eq!(bad.headers()["location"], "/login?notice=invalid&next=%2Fadmin%2Fusers");
    let missing = post(vec![("username", ""), ("password", "")]).await.expect("post");
    assert_eq!(missing.headers()["location"], "/login?notice=missing");
    let good = post(vec![("username", "admin"), ("password", PASSWORD), ("next", "/admin/users")]).await.expect("post");
    assert_eq!(good.headers()["location"], "/admin/users");
    let offsite =
        post(vec![("username", "admin"), ("password", PASSWORD), ("next", "//evil.example")]).await.expect("post");
    assert_eq!(offsite.headers()["location"], "/");
    // `/login?next=/%09/evil.example`: the form sends the tab decoded; followed as written, a
    // browser would strip it and land on //evil.example.
    let hidden =
        post(vec![("username", "admin"), ("password", PASSWORD), ("next", "/\t/evil.example")]).await.expect("post");
    assert_eq!(hidden.headers()["location"], "/");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn repeated_failures_lock_the_username_from_that_address_only(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--trust-proxy"]).await;
    let from = |addr: &'static str| {
        let client = app.client();
        let url = app.url("/api/v1/auth/login");
        move |password: &'static str| {
            client
                .post(url.clone())
                .header("x-forwarded-for", addr)
                .json(&json!({ "username": "coordinator", "password": password }))
                .send()
        }
    };
    let attacker = from("203.0.113.7");
    for _ in 0..5 {
        assert_eq!(attacker("guess guess guess").await.expect("post").status(), 401);
    }
    let locked = attacker(PASSWORD).await.expect("post");
    assert_eq!(locked.status(), 429, "even the right password is refused while locked");
    assert_eq!(error_code(locked).await, "signin_locked");
    // The coordinator at their own workstation is not locked out by someone else's guessing.
    assert_eq!(from("198.51.100.20")(PASSWORD).await.expect("post").status(), 200);

    // Administrators see the lock and can lift it.
    let admin = app.signed_in("admin").await;
    let locks: Value =
        admin.get(app.url("/api/fn/admin/signin_locks")).send().await.expect("locks").json().await.expect("json");
    assert_eq!(locks[0]["username"], "coordinator");
    assert_eq!(locks[0]["client_addr"], "203.0.113.7");
    let lifted = admin
        .post(app.url("/api/fn/admin/unlock_signin"))
        .header("origin", app.origin())
        .form(&[("username", "coordinator"), ("client_addr", "203.0.113.7")])
        .send()
        .await
        .expect("unlock");
    assert!(lifted.status().is_success(), "{}", lifted.status());
    assert_eq!(attacker(PASSWORD).await.expect("post").status(), 200);
    let unlocks = app.audit_rows("signin.unlock").await;
    assert_eq!(unlocks.len(), 1);
    assert_eq!(unlocks[0].0.as_deref(), Some("admin"));
    assert_eq!(app.audit_rows("http.request").await.len(), 0, "the unlock is audited once, by its handler");
}

/// Behind one proxy, X-Forwarded-For ends with the address the proxy saw; whatever the client
/// writes before it is its own to choose. A guesser writing a new address each time is still
/// one address to the throttle and the audit trail.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_client_cannot_choose_its_address_behind_the_proxy(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--trust-proxy"]).await;
    let client = app.client();
    let attempt = |n: u32, password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("192.0.2.{n}, 203.0.113.7"))
            .json(&json!({ "username": "coordinator", "password": password }))
            .send()
    };
    for n in 0..5 {
        assert_eq!(attempt(n, "guess guess guess").await.expect("post").status(), 401);
    }
    assert_eq!(attempt(99, PASSWORD).await.expect("post").status(), 429, "locked, whatever it claims");
    let addresses: Vec<Option<String>> =
        sqlx::query_scalar("select distinct client_addr from audit_event where action = 'auth.login'")
            .fetch_all(&app.pool)
            .await
            .expect("addresses");
    assert_eq!(addresses, [Some("203.0.113.7".to_owned())]);
}

/// Guesses spread over many addresses, each below its own limit, lock the account from every
/// address for a while; a name that is no account is answered exactly the same way.
#[sqlx::test(migrator = "MIGRATOR")]
async fn many_addresses_guessing_one_account_lock_it_everywhere(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--trust-proxy", "--signin-account-max-failures", "4"]).await;
    let client = app.client();
    let attempt = |username: &'static str, n: u32, password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&json!({ "username": username, "password": password }))
            .send()
    };
    for username in ["coordinator", "nobody-here"] {
        for n in 0..4 {
            assert_eq!(attempt(username, n, "guess guess guess").await.expect("post").status(), 401, "{username} {n}");
        }
        let locked = attempt(username, 50, if username == "coordinator" { PASSWORD } else { "x" }).await.expect("post");
        assert_eq!(locked.status(), 429, "{username}: locked from a fresh address, even with the right password");
        assert_eq!(error_code(locked).await, "signin_locked");
    }
    // Another account is not affected.
    assert_eq!(attempt("radiologist", 60, PASSWORD).await.expect("post").status(), 200);
    // Administrators see the account-wide lock (address `*`) and can lift it.
    let admin = app.signed_in("admin").await;
    let lifted = admin
        .post(app.url("/api/fn/admin/unlock_signin"))
        .header("origin", app.origin())
        .form(&[("username", "coordinator"), ("client_addr", "*")])
        .send()
        .await
        .expect("unlock");
    assert!(lifted.status().is_success(), "{}", lifted.status());
    assert_eq!(attempt("coordinator", 51, PASSWORD).await.expect("post").status(), 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cross_site_state_changes_are_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("admin").await;
    for (path, origin) in [("/api/v1/auth/logout", "http://evil.example"), ("/logout", "null")] {
        let response = client.post(app.url(path)).header("origin", origin).send().await.expect("post");
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(error_code(response).await, "cross_site_request");
    }
    let referer_only =
        client.post(app.url("/logout")).header("referer", "http://evil.example/page").send().await.expect("post");
    assert_eq!(referer_only.status(), 403);
    let fetch_metadata =
        client.post(app.url("/api/v1/auth/logout")).header("sec-fetch-site", "cross-site").send().await.expect("post");
    assert_eq!(fetch_metadata.status(), 403);
    // Nothing happened: still signed in.
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 200);
    assert_eq!(app.audit_rows("http.cross_site_refused").await.len(), 4);
    // Cross-site sign-in attempts (login CSRF) are refused too.
    let login = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await
        .expect("post");
    assert_eq!(login.status(), 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn api_tokens_work_without_a_browser_origin(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.api_token("admin").await;
    let mut conn = app.pool.acquire().await.expect("conn");
    elysium_db::signin::lock(&mut conn, "surgeon", "192.0.2.1", time::Duration::minutes(15)).await.expect("lock");
    drop(conn);

    let client = reqwest::Client::new();
    let me: Value =
        client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.expect("me").json().await.expect("json");
    assert_eq!(me["username"], "admin");
    let unlock = client
        .post(app.url("/api/fn/admin/unlock_signin"))
        .bearer_auth(&token)
        .form(&[("username", "surgeon"), ("client_addr", "192.0.2.1")])
        .send()
        .await
        .expect("unlock");
    assert!(unlock.status().is_success(), "{}", unlock.status());
    let forged = client.get(app.url("/api/v1/me")).bearer_auth("ely_not-a-real-token").send().await.expect("me");
    assert_eq!(forged.status(), 401);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_session_survives_a_server_restart(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("radiologist").await;
    let app = app.restart().await;
    let response = client.get(app.url("/api/v1/me")).send().await.expect("me");
    assert_eq!(response.status(), 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn disabled_accounts_lose_their_sessions_at_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("surgeon").await;
    sqlx::query("update app_user set active = false where username = 'surgeon'")
        .execute(&app.pool)
        .await
        .expect("disable");
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 401);
    assert_eq!(app.login(&app.client(), "surgeon", PASSWORD).await.status(), 401);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sessions_end_after_their_absolute_lifetime(pool: PgPool) {
    use elysium_server::auth::identity::{self, Identity, SIGNED_IN_AT, USER_ID};
    use std::sync::Arc;
    use tower_sessions::{MemoryStore, Session};

    let app = TestApp::spawn(pool).await;
    let mut conn = app.pool.acquire().await.expect("conn");
    let user_id = elysium_db::users::id_by_username(&mut conn, "coordinator").await.expect("query").expect("user");
    drop(conn);
    let twelve_hours = time::Duration::hours(12);
    let session_signed_in = |ago: time::Duration| async move {
        let session = Session::new(None, Arc::new(MemoryStore::default()), None);
        session.insert(USER_ID, user_id).await.expect("insert");
        let at = time::OffsetDateTime::now_utc() - ago;
        session.insert(SIGNED_IN_AT, (at.unix_timestamp_nanos() / 1_000_000) as i64).await.expect("insert");
        session
    };

    let fresh = session_signed_in(time::Duration::hours(11)).await;
    assert!(matches!(identity::from_session(&app.pool, &fresh, twelve_hours).await, Ok(Identity::User(_))));
    let stale = session_signed_in(time::Duration::hours(12) + time::Duration::minutes(1)).await;
    assert_eq!(identity::from_session(&app.pool, &stale, twelve_hours).await.expect("identity"), Identity::Expired);
    assert!(stale.get::<uuid::Uuid>(USER_ID).await.expect("get").is_none(), "the expired session is emptied");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_session_idle_for_thirty_minutes_is_signed_out(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("coordinator").await;
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 200);
    // The store keeps the session until 30 minutes after its last request.
    let left: f64 =
        sqlx::query_scalar("select extract(epoch from expiry_date - now())::float8 from tower_sessions.session")
            .fetch_one(&app.pool)
            .await
            .expect("expiry");
    assert!((29.0 * 60.0..=30.0 * 60.0 + 5.0).contains(&left), "{left} s of idle time left");

    // Thirty minutes pass without a request (the clock moved in the store, not by waiting).
    sqlx::query("update tower_sessions.session set expiry_date = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("age the session");
    assert_eq!(client.get(app.url("/api/v1/me")).send().await.expect("me").status(), 401);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_sign_in_lock_lasts_fifteen_minutes_and_then_lets_the_right_password_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let attempt = |password: &'static str| {
        app.client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "username": "radiologist", "password": password }))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(attempt("guess guess guess").await.expect("post").status(), 401);
    }
    assert_eq!(attempt(PASSWORD).await.expect("post").status(), 429);
    let minutes: f64 = sqlx::query_scalar(
        "select extract(epoch from locked_until - locked_at)::float8 / 60 from signin_lock where username = 'radiologist'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("lock");
    assert!((minutes - 15.0).abs() < 0.01, "locked for {minutes} minutes");

    // Fifteen minutes later (the lock's end moved into the past, not waited for).
    sqlx::query("update signin_lock set locked_until = now() - interval '1 second' where username = 'radiologist'")
        .execute(&app.pool)
        .await
        .expect("expire the lock");
    assert_eq!(attempt(PASSWORD).await.expect("post").status(), 200, "the right password is let in");
}
