//! Scoped API tokens: a `dicom:write` token stores images and nothing else, even for an
//! administrator; expired and revoked tokens get 401; creating and revoking are for
//! administrators, validated and audited (never the token itself); last use is recorded at most
//! once a minute; the tokens page shows a new token once.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, stow_content_type};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.expect("request").status().as_u16()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_dicom_write_token_stores_images_and_nothing_else(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.scoped_token("admin", &["dicom:write"]).await;
    let client = Client::new();
    let stored = client
        .post(app.url("/dicomweb/studies?site=DEMO-GH"))
        .bearer_auth(&token)
        .header("content-type", stow_content_type())
        .body(elysium_tests::multipart_related(&[fixture("pydicom/CT_small.dcm")]))
        .send()
        .await
        .expect("stow");
    assert_eq!(stored.status(), 200);
    let body: Value = stored.json().await.expect("json");
    let study =
        body["00081190"]["Value"][0].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
    assert!(!study.is_empty(), "{body}");

    // Its owner may do all of these; the token may not.
    for path in [
        format!("/api/v1/studies/{study}/screening"),
        "/api/v1/worklist".to_owned(),
        "/dicomweb/studies".to_owned(),
        "/api/v1/metrics/program".to_owned(),
        "/api/v1/audit".to_owned(),
        "/api/fn/admin/users".to_owned(),
    ] {
        assert_eq!(status(client.get(app.url(&path)).bearer_auth(&token)).await, 403, "{path}");
    }
    let event = client
        .post(app.url("/api/v1/findings/1/events"))
        .bearer_auth(&token)
        .json(&json!({"event": "start_review", "expected_version": 1}));
    assert_eq!(status(event).await, 403);
    assert_eq!(status(client.get(app.url("/api/v1/me")).bearer_auth(&token)).await, 200);

    let denied = app.audit_rows("http.denied").await;
    assert!(
        denied.iter().any(|(actor, _, detail)| actor.as_deref() == Some("admin")
            && detail["token_scopes"] == json!(["dicom:write"])
            && detail["path"] == "/api/v1/worklist"),
        "{denied:?}"
    );

    // Scopes narrow the owner's roles; they never widen them: a coordinator's dicom:write token
    // still cannot store images.
    let coordinator = app.scoped_token("coordinator", &["dicom:write"]).await;
    let refused = client
        .post(app.url("/dicomweb/studies?site=DEMO-GH"))
        .bearer_auth(&coordinator)
        .header("content-type", stow_content_type())
        .body(elysium_tests::multipart_related(&[fixture("pydicom/CT_small.dcm")]));
    assert_eq!(status(refused).await, 403);

    // A metrics scraper's token reads the metrics and nothing else.
    let scraper = app.scoped_token("admin", &["metrics:read"]).await;
    assert_eq!(status(client.get(app.url("/api/v1/metrics/program")).bearer_auth(&scraper)).await, 200);
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&scraper)).await, 403);
    // A results reader reads the worklist but may not act on it.
    let reader = app.scoped_token("coordinator", &["results:read"]).await;
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&reader)).await, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn tokens_are_created_listed_revoked_and_expire(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let created = admin
        .post(app.url("/api/v1/admin/tokens"))
        .json(
            &json!({"username": "Radiologist", "name": "RIS feed", "scopes": ["results:read"], "expires_in_days": 30}),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("ely_"));
    assert_eq!(
        (created["username"].as_str(), created["scopes"].clone()),
        (Some("radiologist"), json!(["results:read"]))
    );

    // Stored hashed only; creation audited without the token.
    let stored: Vec<String> =
        sqlx::query_scalar("select token_sha256 from api_token").fetch_all(&app.pool).await.expect("rows");
    assert!(stored.iter().all(|s| s.len() == 64 && !s.contains(&token[4..])));
    let audit = app.audit_rows("token.create").await;
    assert_eq!(audit.len(), 1);
    assert!(!audit[0].2.to_string().contains(&token[4..]), "{:?}", audit[0]);
    assert_eq!(audit[0].2["scopes"], json!(["results:read"]));

    // Used: last use recorded, but at most once a minute.
    let client = Client::new();
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&token)).await, 200);
    let first: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select last_used_at from api_token").fetch_one(&app.pool).await.expect("used");
    assert!(first.is_some());
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&token)).await, 200);
    let second: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select last_used_at from api_token").fetch_one(&app.pool).await.expect("used");
    assert_eq!(first, second, "no write per request");

    let list: Value =
        admin.get(app.url("/api/v1/admin/tokens")).send().await.expect("list").json().await.expect("json");
    assert_eq!(list[0]["state"], "active");
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    assert!(list[0].get("token").is_none() && list[0].get("token_sha256").is_none(), "{list}");

    // Expired: 401.
    sqlx::query("update api_token set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire");
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&token)).await, 401);
    let list: Value =
        admin.get(app.url("/api/v1/admin/tokens")).send().await.expect("list").json().await.expect("json");
    assert_eq!(list[0]["state"], "expired");

    // Revoked: 401 at once; revoking again is 404; both attempts audited.
    let other = app.scoped_token("radiologist", &["results:read"]).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from api_token order by created_at desc limit 1")
        .fetch_one(&app.pool)
        .await
        .expect("id");
    let revoke = || admin.post(app.url(&format!("/api/v1/admin/tokens/{id}/revoke"))).send();
    assert_eq!(revoke().await.expect("revoke").status(), 204);
    assert_eq!(status(client.get(app.url("/api/v1/worklist")).bearer_auth(&other)).await, 401);
    assert_eq!(revoke().await.expect("revoke").status(), 404);
    let outcomes: Vec<String> =
        app.audit_rows("token.revoke").await.into_iter().map(|(_, outcome, _)| outcome).collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn token_administration_is_for_administrators_and_validates(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    for (body, field) in [
        (json!({"username": "radiologist", "name": "x", "scopes": [], "expires_in_days": 30}), "scopes"),
        (json!({"username": "radiologist", "name": "x", "scopes": ["dicom:admin"], "expires_in_days": 30}), "scopes"),
        (
            json!({"username": "radiologist", "name": "x", "scopes": ["all", "dicom:read"], "expires_in_days": 30}),
            "scopes",
        ),
        (
            json!({"username": "radiologist", "name": "x", "scopes": ["dicom:read"], "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"username": "radiologist", "name": "x", "scopes": ["dicom:read"], "expires_in_days": 731}),
            "expires_in_days",
        ),
        (json!({"username": "nobody", "name": "x", "scopes": ["dicom:read"], "expires_in_days": 30}), "username"),
        (json!({"username": "radiologist", "name": " ", "scopes": ["dicom:read"], "expires_in_days": 30}), "name"),
    ] {
        let response = admin.post(app.url("/api/v1/admin/tokens")).json(&body).send().await.expect("create");
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.expect("json");
        assert!(error["error"]["message"].as_str().unwrap_or_default().starts_with(field), "{body}: {error}");
    }
    let count: i64 = sqlx::query_scalar("select count(*) from api_token").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 0, "nothing was created");

    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(coordinator.get(app.url("/api/v1/admin/tokens")).send().await.expect("list").status(), 403);
    let create = coordinator
        .post(app.url("/api/v1/admin/tokens"))
        .json(&json!({"username": "coordinator", "name": "x", "scopes": ["all"], "expires_in_days": 30}))
        .send()
        .await
        .expect("create");
    assert_eq!(create.status(), 403);
    assert_eq!(coordinator.get(app.url("/admin/tokens")).send().await.expect("page").status(), 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_tokens_page_shows_a_new_token_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let form = [
        ("name", "PACS router"),
        ("username", "radiologist"),
        ("scopes", "dicom:write"),
        ("scopes", "dicom:read"),
        ("expires_in_days", "90"),
    ];
    let response =
        admin.post(app.url("/admin/tokens")).header("origin", app.origin()).form(&form).send().await.expect("post");
    assert_eq!(response.status(), 303);
    let back = response.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/tokens?created="), "{back}");
    let page = admin.get(app.url(&back)).send().await.expect("page").text().await.expect("page");
    let secret = page
        .split("data-testid=\"token-secret\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("the token is shown: {page}"))
        .to_owned();
    assert!(secret.starts_with("ely_"), "{secret}");
    let client = Client::new();
    assert_eq!(status(client.get(app.url("/dicomweb/studies")).bearer_auth(&secret)).await, 200);
    // Shown once.
    let again = admin.get(app.url("/admin/tokens")).send().await.expect("page").text().await.expect("page");
    assert!(!again.contains(&secret) && again.contains("PACS router"));
    // A refusal comes back as a notice and creates nothing.
    let refused = admin
        .post(app.url("/admin/tokens"))
        .header("origin", app.origin())
        .form(&[("name", "No scopes"), ("username", "radiologist"), ("expires_in_days", "90")])
        .send()
        .await
        .expect("post");
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    let refused = admin.get(app.url(&back)).send().await.expect("page").text().await.expect("page");
    assert!(refused.contains("data-testid=\"token-refused\""), "{refused}");
    let count: i64 = sqlx::query_scalar("select count(*) from api_token").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 1);
}
