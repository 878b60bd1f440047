//! Reads of patient data are audited before the data leaves, and fail closed: a read whose
//! audit row cannot be written is refused (503) rather than served unrecorded.
//!
//! Looking through a series is one *view*, not one row per slice: the viewer's slices, frames
//! and HU read-outs of a series are covered by one row per user and series for
//! [`VIEW_WINDOW`] (the session's idle timeout), kept in [`ViewLog`]. The log is per process;
//! several servers each write their own first row, which over-records, never under-records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use elysium_db::audit::NewAuditEvent;
use sqlx::PgPool;
use uuid::Uuid;

/// How long one recorded view of a series covers the same user's further reads of it.
pub const VIEW_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The audit trail could not be written, so the data was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this access could not be recorded in the audit trail, so the data was not sent; try again shortly")]
pub struct AuditUnavailable;

impl From<AuditUnavailable> for crate::api::AppError {
    /// A server function answers 503, like the REST and DICOMweb routes.
    fn from(_: AuditUnavailable) -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
        }
        crate::api::AppError::AuditUnavailable
    }
}

/// Writes one audit row; a failure is logged and refuses the read.
pub async fn record(pool: &PgPool, event: &NewAuditEvent) -> Result<(), AuditUnavailable> {
    let result = async {
        let mut conn = pool.acquire().await?;
        elysium_db::audit::record(&mut conn, event).await
    }
    .await;
    result.map(drop).map_err(|error| {
        tracing::error!(%error, action = %event.action, "could not write an audit event; the read is refused");
        AuditUnavailable
    })
}

/// The views recorded recently by this process: (user, what was viewed) → when.
#[derive(Debug, Clone, Default)]
pub struct ViewLog {
    recorded: Arc<Mutex<HashMap<(Uuid, String), Instant>>>,
}

impl ViewLog {
    /// Records `event` unless `user` had `viewed` recorded within [`VIEW_WINDOW`]; only a row
    /// actually written starts a new window (a failed write refuses this read and the next one
    /// tries again).
    pub async fn record_once(
        &self,
        pool: &PgPool,
        user: Uuid,
        viewed: &str,
        event: &NewAuditEvent,
    ) -> Result<(), AuditUnavailable> {
        if self.covered(user, viewed, Instant::now()) {
            return Ok(());
        }
        record(pool, event).await?;
        self.mark(user, viewed, Instant::now());
        Ok(())
    }

    /// Records `event` always, and starts a window for `viewed` (the viewer opening a series).
    pub async fn record_opening(
        &self,
        pool: &PgPool,
        user: Uuid,
        viewed: &str,
        event: &NewAuditEvent,
    ) -> Result<(), AuditUnavailable> {
        record(pool, event).await?;
        self.mark(user, viewed, Instant::now());
        Ok(())
    }

    fn covered(&self, user: Uuid, viewed: &str, now: Instant) -> bool {
        let recorded = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recorded.get(&(user, viewed.to_owned())).is_some_and(|at| now.duration_since(*at) < VIEW_WINDOW)
    }

    fn mark(&self, user: Uuid, viewed: &str, now: Instant) {
        let mut recorded = self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget expired windows as we go, so the log stays the size of the current views.
        recorded.retain(|_, at| now.duration_since(*at) < VIEW_WINDOW);
        recorded.insert((user, viewed.to_owned()), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_covers_the_same_user_and_series_for_the_window_only() {
        let log = ViewLog::default();
        let (ada, ravi) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let start = Instant::now();
        assert!(!log.covered(ada, "series:1", start));
        log.mark(ada, "series:1", start);
        assert!(log.covered(ada, "series:1", start + Duration::from_secs(60)));
        assert!(log.covered(ada, "series:1", start + VIEW_WINDOW - Duration::from_secs(1)));
        assert!(!log.covered(ada, "series:1", start + VIEW_WINDOW), "a new window after 30 minutes");
        assert!(!log.covered(ada, "series:2", start), "another series is another view");
        assert!(!log.covered(ravi, "series:1", start), "another user is another view");
    }
}
