//! Opening the database: the configured server, or the embedded private cluster.

use elysium_db::embedded::{EmbeddedPostgres, RunningCluster};
use sqlx::PgPool;

use crate::config::DatabaseConfig;

pub const EMBEDDED_DATABASE: &str = "elysium";

/// The pool, and the private cluster when this process started one (stopped when dropped).
pub struct Database {
    pub pool: PgPool,
    pub cluster: Option<RunningCluster>,
}

impl Database {
    pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Database> {
        let (url, cluster) = match &config.database_url {
            Some(url) => (url.expose().to_owned(), None),
            None => {
                let embedded = embedded(config)?;
                let cluster = tokio::task::spawn_blocking(move || embedded.start(EMBEDDED_DATABASE)).await??;
                (cluster.url(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        let timeout = (config.db_statement_timeout_secs > 0)
            .then(|| std::time::Duration::from_secs(config.db_statement_timeout_secs));
        let pool = elysium_db::connect_with_timeout(&url, config.db_max_connections, timeout).await?;
        Ok(Database { pool, cluster })
    }

    /// Closes the pool, then stops the private cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// The private cluster under `<data dir>/postgres`.
pub fn embedded(config: &DatabaseConfig) -> anyhow::Result<EmbeddedPostgres> {
    std::fs::create_dir_all(&config.data_dir)?;
    let root = std::fs::canonicalize(&config.data_dir)?.join("postgres");
    Ok(EmbeddedPostgres::new(root))
}
