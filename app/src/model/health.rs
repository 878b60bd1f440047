//! The system health panel (`GET /api/v1/admin/health` and the administrator's home): a verdict
//! per check and the facts behind it. The page words them in its own language; the thresholds
//! that turn facts into verdicts are here, pure, so both sides agree and tests can table them.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A check's verdict, ordered from good to bad (the report's verdict is the worst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Warn,
    Failed,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Warn => "warn",
            HealthStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The worst of the checks below.
    pub status: HealthStatus,
    #[serde(with = "crate::format::wire_time")]
    pub checked_at: OffsetDateTime,
    pub database: DatabaseCheck,
    pub object_store: ObjectStoreCheck,
    pub workers: WorkersCheck,
    pub queue: QueueCheck,
    pub disk: DiskCheck,
}

impl HealthReport {
    /// The worst verdict of the checks.
    pub fn worst(&self) -> HealthStatus {
        [self.database.status, self.object_store.status, self.workers.status, self.queue.status, self.disk.status]
            .into_iter()
            .max()
            .unwrap_or(HealthStatus::Ok)
    }
}

/// `select 1` through the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseCheck {
    pub status: HealthStatus,
    /// `None` when it did not answer.
    pub round_trip_ms: Option<f64>,
}

/// Above this a database round trip is slow (a pool at its limit, a distant server).
pub const SLOW_DATABASE_MS: f64 = 250.0;

impl DatabaseCheck {
    pub fn judge(round_trip_ms: Option<f64>) -> DatabaseCheck {
        let status = match round_trip_ms {
            None => HealthStatus::Failed,
            Some(ms) if ms > SLOW_DATABASE_MS => HealthStatus::Warn,
            Some(_) => HealthStatus::Ok,
        };
        DatabaseCheck { status, round_trip_ms }
    }
}

/// A `HEAD` of a key that does not exist: "not found" is an answer, so the store is reachable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectStoreCheck {
    pub status: HealthStatus,
    /// `None` when it did not answer.
    pub round_trip_ms: Option<f64>,
}

/// Above this the object store answers slowly.
pub const SLOW_STORE_MS: f64 = 2000.0;

impl ObjectStoreCheck {
    pub fn judge(round_trip_ms: Option<f64>) -> ObjectStoreCheck {
        let status = match round_trip_ms {
            None => HealthStatus::Failed,
            Some(ms) if ms > SLOW_STORE_MS => HealthStatus::Warn,
            Some(_) => HealthStatus::Ok,
        };
        ObjectStoreCheck { status, round_trip_ms }
    }
}

/// The screening workers. This process knows its own workers; of workers in other processes
/// (`elysium worker`) the database knows only those holding a job's lease right now, and when a
/// job last finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkersCheck {
    pub status: HealthStatus,
    /// Workers this process was configured to start (`ELYSIUM_WORKERS`).
    pub configured_here: usize,
    /// Workers running in this process.
    pub running_here: usize,
    /// The ONNX Runtime execution provider and device of this process's workers.
    pub provider: Option<String>,
    pub device: Option<String>,
    /// "name version" of the model this process's workers run.
    pub model: Option<String>,
    /// Workers in any process holding an unexpired lease on a running job.
    pub busy_anywhere: Option<i64>,
    #[serde(with = "crate::format::wire_time::option")]
    pub last_done_at: Option<OffsetDateTime>,
}

/// Queued work with no worker busy and nothing finished for this long: nobody is screening.
pub const STALLED_AFTER: Duration = Duration::minutes(15);

impl WorkersCheck {
    /// Failed when this process was to run workers and runs none (no model, no ONNX Runtime);
    /// a warning when jobs wait, no worker anywhere holds one, and none finished lately; else
    /// ok (a web server without workers of its own is a normal set-up).
    pub fn judge(mut self, queue: &QueueCheck, now: OffsetDateTime) -> WorkersCheck {
        let idle_too_long = self.last_done_at.is_none_or(|t| now - t > STALLED_AFTER);
        self.status = if self.configured_here > 0 && self.running_here == 0 {
            HealthStatus::Failed
        } else if self.running_here == 0
            && queue.queued.unwrap_or(0) > 0
            && self.busy_anywhere == Some(0)
            && idle_too_long
        {
            HealthStatus::Warn
        } else {
            HealthStatus::Ok
        };
        self
    }
}

/// Jobs waiting and in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueCheck {
    pub status: HealthStatus,
    /// `None` when the database did not answer.
    pub queued: Option<i64>,
    pub running: Option<i64>,
    #[serde(with = "crate::format::wire_time::option")]
    pub oldest_queued_at: Option<OffsetDateTime>,
}

/// A job waiting longer than this is a backlog.
pub const BACKLOG_AFTER: Duration = Duration::minutes(30);

impl QueueCheck {
    pub fn judge(
        queued: Option<i64>,
        running: Option<i64>,
        oldest_queued_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> QueueCheck {
        let status = if queued.is_none() {
            HealthStatus::Failed
        } else if oldest_queued_at.is_some_and(|t| now - t > BACKLOG_AFTER) {
            HealthStatus::Warn
        } else {
            HealthStatus::Ok
        };
        QueueCheck { status, queued, running, oldest_queued_at }
    }
}

/// Free space on the filesystem of the data folder (the object store's folder when it is local).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskCheck {
    pub status: HealthStatus,
    pub path: String,
    /// Bytes available to Elysium; `None` when the folder could not be read.
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

/// Below this the disk is nearly full whatever its size.
pub const DISK_FAILED_BYTES: u64 = 1 << 30;
/// Below these percentages of the whole disk: a warning, then a failure.
pub const DISK_WARN_PERCENT: u64 = 10;
pub const DISK_FAILED_PERCENT: u64 = 2;

impl DiskCheck {
    pub fn judge(path: String, space: Option<(u64, u64)>) -> DiskCheck {
        let status = match space {
            None => HealthStatus::Failed,
            Some((free, total)) => {
                // Compared as free × 100 against total × percent, in u128 so nothing overflows.
                let below = |percent: u64| u128::from(free) * 100 < u128::from(total) * u128::from(percent);
                if free < DISK_FAILED_BYTES || below(DISK_FAILED_PERCENT) {
                    HealthStatus::Failed
                } else if below(DISK_WARN_PERCENT) {
                    HealthStatus::Warn
                } else {
                    HealthStatus::Ok
                }
            }
        };
        DiskCheck { status, path, free_bytes: space.map(|s| s.0), total_bytes: space.map(|s| s.1) }
    }

    /// The free share in whole percent, when known.
    pub fn free_percent(&self) -> Option<u64> {
        match (self.free_bytes, self.total_bytes) {
            (Some(free), Some(total)) if total > 0 => Some((u128::from(free) * 100 / u128::from(total)) as u64),
            _ => None,
        }
    }
}

/// `12.3 GiB`, `512 MiB`: a size for people (binary units, one decimal from GiB up).
pub fn human_bytes(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if bytes >= 1024 * GIB {
        format!("{:.1} TiB", bytes as f64 / (1024 * GIB) as f64)
    } else if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use HealthStatus::*;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);
    const GIB: u64 = 1 << 30;

    #[test]
    fn round_trips_are_judged_by_speed() {
        assert_eq!(DatabaseCheck::judge(Some(3.0)).status, Ok);
        assert_eq!(DatabaseCheck::judge(Some(SLOW_DATABASE_MS + 1.0)).status, Warn);
        assert_eq!(DatabaseCheck::judge(None).status, Failed);
        assert_eq!(ObjectStoreCheck::judge(Some(40.0)).status, Ok);
        assert_eq!(ObjectStoreCheck::judge(Some(SLOW_STORE_MS + 1.0)).status, Warn);
        assert_eq!(ObjectStoreCheck::judge(None).status, Failed);
    }

    #[test]
    fn disk_space_by_share_and_by_size() {
        for (free, total, status) in [
            (500 * GIB, 1000 * GIB, Ok),
            (100 * GIB, 1000 * GIB, Ok),
            (99 * GIB, 1000 * GIB, Warn),
            (20 * GIB, 1000 * GIB, Warn),
            (19 * GIB, 1000 * GIB, Failed),
            (GIB - 1, 2 * GIB, Failed),
            (3 * GIB, 4 * GIB, Ok),
            (0, 0, Failed),
        ] {
            assert_eq!(DiskCheck::judge("/data".into(), Some((free, total))).status, status, "{free} of {total}");
        }
        assert_eq!(DiskCheck::judge("/data".into(), None).status, Failed);
        let check = DiskCheck::judge("/data".into(), Some((250 * GIB, 1000 * GIB)));
        assert_eq!(check.free_percent(), Some(25));
    }

    #[test]
    fn a_queue_waiting_too_long_is_a_backlog() {
        assert_eq!(QueueCheck::judge(Some(0), Some(0), None, NOW).status, Ok);
        assert_eq!(QueueCheck::judge(Some(4), Some(1), Some(NOW - Duration::minutes(5)), NOW).status, Ok);
        assert_eq!(QueueCheck::judge(Some(4), Some(1), Some(NOW - Duration::minutes(31)), NOW).status, Warn);
        assert_eq!(QueueCheck::judge(None, None, None, NOW).status, Failed);
    }

    fn workers(configured_here: usize, running_here: usize, busy: i64, last_done: Option<i64>) -> WorkersCheck {
        WorkersCheck {
            status: Ok,
            configured_here,
            running_here,
            provider: None,
            device: None,
            model: None,
            busy_anywhere: Some(busy),
            last_done_at: last_done.map(|m| NOW - Duration::minutes(m)),
        }
    }

    #[test]
    fn workers_that_should_run_here_or_a_stalled_queue() {
        let waiting = QueueCheck::judge(Some(3), Some(0), Some(NOW - Duration::minutes(1)), NOW);
        let empty = QueueCheck::judge(Some(0), Some(0), None, NOW);
        for (check, queue, status) in [
            (workers(2, 2, 0, None), &waiting, Ok),
            (workers(1, 0, 0, Some(1)), &empty, Failed),
            // A web server without workers: fine while someone elsewhere screens.
            (workers(0, 0, 0, None), &empty, Ok),
            (workers(0, 0, 1, None), &waiting, Ok),
            (workers(0, 0, 0, Some(2)), &waiting, Ok),
            (workers(0, 0, 0, Some(16)), &waiting, Warn),
            (workers(0, 0, 0, None), &waiting, Warn),
        ] {
            assert_eq!(check.clone().judge(queue, NOW).status, status, "{check:?}");
        }
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(GIB * 3 / 2), "1.5 GiB");
        assert_eq!(human_bytes(2048 * GIB), "2.0 TiB");
    }
}
