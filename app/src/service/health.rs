//! The system health checks behind the administrator's panel and `GET /api/v1/admin/health`:
//! the database, the object store, the screening workers, the queue and the data folder's
//! disk. Each check has a time limit and turns any failure into its verdict (logged here, with
//! the request's id, never sent: the panel says what failed, the log says why), so the report
//! itself always comes back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::{ObjectStore, ObjectStoreExt};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::model::health::{
    DatabaseCheck, DiskCheck, HealthReport, HealthStatus, ObjectStoreCheck, QueueCheck, WorkersCheck,
};

/// The longest any one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What this process knows of its own screening workers when asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkersHere {
    /// Workers it was configured to start.
    pub configured: usize,
    /// Workers running (0 until they start, or when they could not).
    pub running: usize,
    pub provider: Option<String>,
    pub device: Option<String>,
    /// "name version".
    pub model: Option<String>,
}

/// What the checks need besides the pool; the server builds it once.
#[derive(Clone)]
pub struct HealthSources {
    pub store: Arc<dyn ObjectStore>,
    /// The folder whose disk is reported: the object store's folder when it is local, else the
    /// data folder.
    pub data_folder: PathBuf,
    /// Read at each check: the workers start after the server does.
    pub workers: Arc<dyn Fn() -> WorkersHere + Send + Sync>,
}

impl std::fmt::Debug for HealthSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthSources").field("store", &self.store).field("data_folder", &self.data_folder).finish()
    }
}

/// Runs every check (concurrently) and judges them.
pub async fn report(
    pool: &PgPool,
    caller: &crate::service::Caller,
    sources: &HealthSources,
) -> Result<HealthReport, crate::service::ServiceError> {
    caller.require_admin()?;
    Ok(gather(pool, sources).await)
}

async fn gather(pool: &PgPool, sources: &HealthSources) -> HealthReport {
    let (database, object_store, queue, disk) =
        tokio::join!(database(pool), object_store(&sources.store), queue(pool), disk(sources.data_folder.clone()));
    let now = OffsetDateTime::now_utc();
    let stats = queue.as_ref();
    let queue = QueueCheck::judge(
        stats.map(|q| q.queued),
        stats.map(|q| q.running),
        stats.and_then(|q| q.oldest_queued_at),
        now,
    );
    let here = (sources.workers)();
    let workers = WorkersCheck {
        status: HealthStatus::Ok,
        configured_here: here.configured,
        running_here: here.running,
        provider: here.provider,
        device: here.device,
        model: here.model,
        busy_anywhere: stats.map(|q| q.live_workers),
        last_done_at: stats.and_then(|q| q.last_done_at),
    }
    .judge(&queue, now);
    let mut report =
        HealthReport { status: HealthStatus::Ok, checked_at: now, database, object_store, workers, queue, disk };
    report.status = report.worst();
    report
}

/// `f`, failing after [`CHECK_TIMEOUT`]; the error is logged under `what`.
async fn limited<T, E: std::fmt::Display>(
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Option<T> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            tracing::warn!(%error, check = what, "health check failed");
            None
        }
        Err(_) => {
            tracing::warn!(check = what, timeout_s = CHECK_TIMEOUT.as_secs(), "health check timed out");
            None
        }
    }
}

fn millis(since: Instant) -> f64 {
    // Two decimals are plenty for a round trip.
    (since.elapsed().as_secs_f64() * 100_000.0).round() / 100.0
}

async fn database(pool: &PgPool) -> DatabaseCheck {
    let started = Instant::now();
    let answered = limited("database", elysium_db::ping(pool)).await;
    DatabaseCheck::judge(answered.map(|()| millis(started)))
}

/// A key no instance can have (instances live under study UIDs, which are digits and dots).
const PROBE_KEY: &str = "elysium-health-probe";

async fn object_store(store: &Arc<dyn ObjectStore>) -> ObjectStoreCheck {
    let started = Instant::now();
    let head = async {
        match store.head(&object_store::path::Path::from(PROBE_KEY)).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    };
    let answered = limited("object store", head).await;
    ObjectStoreCheck::judge(answered.map(|()| millis(started)))
}

async fn queue(pool: &PgPool) -> Option<elysium_db::jobs::QueueHealth> {
    limited("screening queue", elysium_db::jobs::health(pool)).await
}

/// Why the free space of a folder is unknown.
#[derive(Debug, thiserror::Error)]
enum DiskError {
    #[error("statvfs {path}: {source}")]
    Stat { path: String, source: std::io::Error },
    #[error("the disk check stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

async fn disk(folder: PathBuf) -> DiskCheck {
    let path = folder.display().to_string();
    let stat = {
        let path = path.clone();
        async move {
            // A statvfs can block (a network filesystem that stopped answering): off the async threads.
            tokio::task::spawn_blocking(move || free_space(&folder))
                .await?
                .map_err(|source| DiskError::Stat { path, source })
        }
    };
    DiskCheck::judge(path, limited("disk", stat).await)
}

/// (bytes available to this process, bytes of the whole filesystem) holding `folder`.
fn free_space(folder: &std::path::Path) -> std::io::Result<(u64, u64)> {
    let stat = rustix::fs::statvfs(folder)?;
    Ok((stat.f_bavail.saturating_mul(stat.f_frsize), stat.f_blocks.saturating_mul(stat.f_frsize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_space_of_this_folder_is_known() {
        let (free, total) = free_space(std::path::Path::new(".")).expect("statvfs");
        assert!(total > 0 && free <= total, "{free} of {total}");
    }

    #[test]
    fn a_missing_folder_has_no_free_space() {
        assert!(free_space(std::path::Path::new("/no/such/elysium/folder")).is_err());
    }
}
