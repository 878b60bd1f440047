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
    let summary: Vec<(Option<&str>, &str)> = rows.iter().map(|(who, outcome, _)| (who.as_deref(), outcome.as_str())).collect();
    assert_eq!(summary, [(Some("admin"), "failure"), (Some("ghost"), "failure"), (Some("admin"), "success")]);
    let addr: Option<String> = sqlx::query_scalar("select client_addr from audit_event where action = 'auth.login' limit 1")
        .fetch_one(&app.pool)
        .await
        .expect("addr");
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    let leaked: i64 = sqlx::query_scalar("select count(*) from audit_event where detail::text like '%not the password%' or detail::text like $1")
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
    for statement in [
        "update audit_event set outcome = 'success'",
        "delete from audit_event",
        "truncate audit_event",
    ] {
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
    assert_eq!(users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["admin", "coordinator", "radiologist", "surgeon"]);
    assert_eq!(users[2].site_codes, ["DEMO-GH", "DEMO-RC"]);
    assert_eq!(app.login(&app.client(), "admin", "another-demo-password").await.status(), 200);
    assert_eq!(app.audit_rows("demo.seed").await.len(), 2);
}
