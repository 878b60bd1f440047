//! The audit trail: written for sign-ins and changes, and refused any change by the database.

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_attempts_are_audited_with_outcome_and_address(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    app.login(&client, "admin", "not the password").await;
    app.login(&client, "ghost", "not the password").await;
    app.login(&client, "admin", PASSWORD).await;
    let rows = app.audit_rows("auth.login").await;
    let summary: Vec<(Option<&str>, &str)> =
        rows.iter().map(|(who, outcome, _)| (who.as_deref(), outcome.as_str())).collect();
    assert_eq!(summary, [(Some("admin"), "failure"), (Some("ghost"), "failure"), (Some("admin"), "success")]);
    let addr: Option<String> =
        sqlx::query_scalar("select client_addr from audit_event where action = 'auth.login' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("addr");
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    let leaked: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where detail::text like '%not the password%' or detail::text like $1",
    )
    .bind(format!("%{PASSWORD}%"))
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(leaked, 0, "passwords never reach the audit trail");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_database_refuses_to_alter_or_delete_audit_rows(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.login(&app.client(), "admin", PASSWORD).await;
    let before: i64 = sqlx::query_scalar("select count(*) from audit_event").fetch_one(&app.pool).await.expect("count");
    assert!(before > 0);
    for statement in ["update audit_event set outcome = 'success'", "delete from audit_event", "truncate audit_event"] {
        let error = sqlx::query(statement).execute(&app.pool).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    let after: i64 = sqlx::query_scalar("select count(*) from audit_event").fetch_one(&app.pool).await.expect("count");
    assert_eq!(before, after);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn demo_seeding_is_idempotent(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    elysium_server::demo::seed(&app.pool, &app.state().hasher, "another-demo-password").await.expect("reseed");
    let users = elysium_db::users::list(&app.pool).await.expect("users");
    assert_eq!(
        users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        ["admin", "coordinator", "radiologist", "surgeon", "surgeon2"]
    );
    assert_eq!(users[2].site_codes, ["DEMO-GH", "DEMO-RC"]);
    assert_eq!(app.login(&app.client(), "admin", "another-demo-password").await.status(), 200);
    assert_eq!(app.audit_rows("demo.seed").await.len(), 2);
}

/// Who looked at one patient, and when: `GET /api/v1/audit` for administrators, newest first,
/// filtered by patient, actor, action and time, itself audited.
#[sqlx::test(migrator = "MIGRATOR")]
async fn administrators_read_who_looked_at_a_patient(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // Three looks at two patients, written as the reads would write them (hand-made rows, so the
    // expected answer does not come from the code under test).
    sqlx::raw_sql(
        "insert into audit_event (occurred_at, actor_username, actor_roles, action, target_type, target_id, patient_id, outcome)
         values ('2026-12-01 09:00+00', 'coordinator', '{coordinator}', 'study.view', 'study', '1.2.1', 'MRN-1', 'success'),
                ('2026-12-02 10:00+00', 'radiologist', '{radiologist}', 'series.view', 'study', '1.2.1', 'MRN-1', 'success'),
                ('2026-12-02 11:00+00', 'coordinator', '{coordinator}', 'study.view', 'study', '1.2.2', 'MRN-2', 'success');",
    )
    .execute(&app.pool)
    .await
    .expect("rows");
    let admin = app.signed_in("admin").await;
    let get = |path: &str| {
        let request = admin.get(app.url(path));
        async move { request.send().await.expect("get") }
    };
    let body: serde_json::Value = get("/api/v1/audit?patient_id=MRN-1").await.json().await.expect("json");
    assert_eq!(body["total"], 2);
    let seen: Vec<(&str, &str, &str)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["occurred_at"].as_str().unwrap_or(""),
                i["actor"].as_str().unwrap_or(""),
                i["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("2026-12-02T10:00:00Z", "radiologist", "series.view"), ("2026-12-01T09:00:00Z", "coordinator", "study.view")],
        "newest first"
    );
    assert_eq!(body["items"][0]["target_id"], "1.2.1");
    assert_eq!(body["items"][0]["outcome"], "success");
    let by_actor: serde_json::Value =
        get("/api/v1/audit?actor=coordinator&action=study.view&from=2026-12-02").await.json().await.expect("json");
    assert_eq!(by_actor["total"], 1);
    assert_eq!(by_actor["items"][0]["patient_id"], "MRN-2");
    let until: serde_json::Value =
        get("/api/v1/audit?patient_id=MRN-1&to=2026-12-01").await.json().await.expect("json");
    assert_eq!(until["total"], 1, "`to` as a date includes that day");
    assert_eq!(get("/api/v1/audit?from=last-week").await.status(), 422);
    // Reading the trail about a patient is itself on the trail.
    let searches: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'audit.search' and actor_username = 'admin'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(searches, 3);
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(coordinator.get(app.url("/api/v1/audit")).send().await.expect("get").status(), 403);
}
