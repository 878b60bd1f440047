//! Elysium's persistence layer: the connection pool, the migrations, and every SQL query the
//! application runs. Functions take `&mut PgConnection` (or `&PgPool` for single reads) so the
//! caller owns the transaction; multi-statement writes are always done inside one.
//!
//! Rows come back as plain structs with database vocabulary (roles as text, for instance); the
//! domain types in the `app` crate give them meaning.

pub mod audit;
pub mod chronic;
pub mod embedded;
pub mod export;
pub mod fhir;
pub mod findings;
pub mod governance;
pub mod images;
pub mod jobs;
pub mod lesions;
pub mod mdt;
pub mod patients;
pub mod program;
pub mod record;
pub mod referral;
pub mod settings;
pub mod signin;
pub mod sites;
pub mod tokens;
pub mod users;
pub mod worklist;

use std::time::Duration;

pub use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// Every migration under the workspace's `migrations/` folder, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Concurrent writers kept a row from settling (retrying the whole operation is safe).
    #[error("{0}")]
    Contended(&'static str),
}

pub type DbResult<T> = Result<T, DbError>;

/// Opens the application's pool. Connections are acquired lazily per request and returned at once.
pub async fn connect(database_url: &str, max_connections: u32) -> DbResult<PgPool> {
    connect_with_timeout(database_url, max_connections, None).await
}

/// A pool whose every statement is cancelled by the server after `statement_timeout` (`None`:
/// the server's own setting): a query that runs away (a pathological search, a lock held by a
/// stuck session) fails instead of holding its connection until the pool is exhausted.
pub async fn connect_with_timeout(
    database_url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> DbResult<PgPool> {
    let mut options: sqlx::postgres::PgConnectOptions = database_url.parse()?;
    if let Some(timeout) = statement_timeout {
        options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Applies every pending migration, on one connection without the pool's statement timeout (a
/// migration of a large table may take longer than any request should); the connection gets the
/// pool's setting back afterwards.
pub async fn migrate(pool: &PgPool) -> DbResult<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("set statement_timeout = 0").execute(&mut *conn).await?;
    let migrated = MIGRATOR.run(&mut *conn).await;
    sqlx::query("reset statement_timeout").execute(&mut *conn).await?;
    migrated?;
    Ok(())
}

/// Whether the database answers and has every migration this binary knows applied
/// successfully (what `/readyz` reports).
pub async fn is_ready(pool: &PgPool) -> bool {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar("select version from _sqlx_migrations where success order by version").fetch_all(pool).await;
    match applied {
        Ok(applied) => {
            MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).all(|m| applied.contains(&m.version))
        }
        Err(_) => false,
    }
}

/// One round trip to the database (the health panel times it).
pub async fn ping(pool: &PgPool) -> DbResult<()> {
    sqlx::query_scalar!(r#"select 1 as "one!""#).fetch_one(pool).await?;
    Ok(())
}

/// Maps a unique-constraint violation to [`DbError::AlreadyExists`] so callers can answer with a
/// field error instead of a 500.
pub(crate) fn unique_violation(err: sqlx::Error, what: &'static str) -> DbError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::AlreadyExists(what),
        _ => DbError::Sqlx(err),
    }
}
