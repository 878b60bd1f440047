//! Liveness and readiness.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn health_and_readiness_after_migrations(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    assert_eq!(client.get(app.url("/healthz")).send().await.expect("healthz").status(), 200);
    assert_eq!(client.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
}

#[sqlx::test(migrations = false)]
async fn not_ready_until_migrations_are_applied(pool: PgPool) {
    assert!(!elysium_db::is_ready(&pool).await);
    elysium_db::migrate(&pool).await.expect("migrate");
    assert!(elysium_db::is_ready(&pool).await);
}
