//! The audit trail: one builder for every event ([`Audit`]), and the rule for reads of patient
//! data, which are audited before the data leaves and fail closed: a read whose audit row cannot
//! be written is refused (503) rather than served unrecorded. Writes record their event in the
//! transaction of the change ([`Audit::record_in`]), so a change and its audit row land together.
//!
//! Looking through a series is one *view*, not one row per slice: the viewer's slices, frames
//! and HU read-outs of a series are covered by one row per user and series for
//! [`VIEW_WINDOW`] (the session's idle timeout), kept in [`ViewLog`]. The log is per process;
//! several servers each write their own first row, which over-records, never under-records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use elysium_db::audit::NewAuditEvent;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::model::SessionUser;

/// How long one recorded view of a series covers the same user's further reads of it.
pub const VIEW_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The audit trail could not be written, so the data was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this access could not be recorded in the audit trail, so the data was not sent; try again shortly")]
pub struct AuditUnavailable;

/// One audit event, built up and then recorded:
/// `caller.audit("study.view").study(uid, patient).record(pool)`.
#[derive(Debug, Clone)]
#[must_use = "an audit event does nothing until it is recorded"]
pub struct Audit(NewAuditEvent);

impl Audit {
    /// An event of `action` by `user`, from `client_addr`; its outcome is `success` until told
    /// otherwise.
    pub fn by(user: &SessionUser, client_addr: Option<String>, action: &str) -> Audit {
        Audit(NewAuditEvent {
            actor_user_id: Some(user.id),
            actor_username: Some(user.username.clone()),
            actor_roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            action: action.to_owned(),
            client_addr,
            outcome: "success",
            ..Default::default()
        })
    }

    /// An event with no signed-in actor (a device sending images, the system itself, someone
    /// who failed to sign in); `actor` names it when known.
    pub fn anonymous(action: &str, actor: Option<&str>, client_addr: Option<String>) -> Audit {
        Audit(NewAuditEvent {
            actor_username: actor.map(str::to_owned),
            action: action.to_owned(),
            client_addr,
            outcome: "success",
            ..Default::default()
        })
    }

    /// The same actor and client for another action (a batch's events from one template).
    pub fn action(mut self, action: &str) -> Audit {
        self.0.action = action.to_owned();
        self
    }

    pub fn outcome(mut self, outcome: &'static str) -> Audit {
        self.0.outcome = outcome;
        self
    }

    pub fn failed(self) -> Audit {
        self.outcome("failure")
    }

    pub fn target(mut self, kind: &str, id: impl Into<String>) -> Audit {
        self.0.target_type = Some(kind.to_owned());
        self.0.target_id = Some(id.into());
        self
    }

    /// A kind of target with no single id (the object store as a whole).
    pub fn target_kind(mut self, kind: &str) -> Audit {
        self.0.target_type = Some(kind.to_owned());
        self
    }

    /// The patient whose data this is (the audit search by patient finds it).
    pub fn patient(mut self, patient_id: impl Into<String>) -> Audit {
        self.0.patient_id = Some(patient_id.into());
        self
    }

    /// A study of a patient: the usual target of a read.
    pub fn study(self, study_uid: impl Into<String>, patient_id: impl Into<String>) -> Audit {
        self.target("study", study_uid).patient(patient_id)
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Audit {
        self.0.detail = detail;
        self
    }

    pub fn event(&self) -> &NewAuditEvent {
        &self.0
    }

    pub fn into_event(self) -> NewAuditEvent {
        self.0
    }

    /// Records a read before its data is sent: a failure is logged and refuses the read.
    pub async fn record(&self, pool: &PgPool) -> Result<(), AuditUnavailable> {
        let result = async {
            let mut conn = pool.acquire().await?;
            elysium_db::audit::record(&mut conn, &self.0).await
        }
        .await;
        result.map(drop).map_err(|error| {
            tracing::error!(%error, action = %self.0.action, "could not write an audit event; the read is refused");
            AuditUnavailable
        })
    }

    /// Records the event of a change inside the change's own transaction.
    pub async fn record_in(&self, conn: &mut PgConnection) -> Result<i64, elysium_db::DbError> {
        elysium_db::audit::record(conn, &self.0).await
    }
}

/// The views recorded recently by this process: (user, what was viewed) → when.
#[derive(Debug, Clone, Default)]
pub struct ViewLog {
    recorded: Arc<Mutex<HashMap<(Uuid, String), Instant>>>,
}

impl ViewLog {
    /// Records `audit` unless `user` had `viewed` recorded within [`VIEW_WINDOW`]; only a row
    /// actually written starts a new window (a failed write refuses this read and the next one
    /// tries again).
    pub async fn record_once(
        &self,
        pool: &PgPool,
        user: Uuid,
        viewed: &str,
        audit: &Audit,
    ) -> Result<(), AuditUnavailable> {
        self.record(pool, user, viewed, audit, false).await
    }

    /// Records `audit` always, and starts a window for `viewed` (the viewer opening a series).
    pub async fn record_opening(
        &self,
        pool: &PgPool,
        user: Uuid,
        viewed: &str,
        audit: &Audit,
    ) -> Result<(), AuditUnavailable> {
        self.record(pool, user, viewed, audit, true).await
    }

    async fn record(
        &self,
        pool: &PgPool,
        user: Uuid,
        viewed: &str,
        audit: &Audit,
        always: bool,
    ) -> Result<(), AuditUnavailable> {
        if !always && self.covered(user, viewed, Instant::now()) {
            return Ok(());
        }
        audit.record(pool).await?;
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
