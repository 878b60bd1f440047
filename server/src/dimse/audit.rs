//! The audit trail of the DICOM listener: one `dicom.association` row for each association
//! request (who called, from where, accepted or refused and why, how it ended, what it stored),
//! and, for what an association stored, the same per-study rows as every other way in
//! (`dicom.cstore.store`, `dicom.cstore.refused`; see [`crate::ingest::audit`]).
//!
//! Rows are written when the association ends, so a long association's studies appear in the
//! trail at its release (at most `ELYSIUM_DICOM_ASSOCIATION_TIMEOUT_SECS` later). A connection
//! that never sends an association request names no one: it is logged, not audited (port
//! scanners and load balancers' health checks would otherwise fill the trail).

use std::net::SocketAddr;
use std::time::Instant;

use app::service::Audit;
use serde_json::json;

use crate::ingest::Outcome;

/// How many refused SOP Instance UIDs an association's row lists (the count is always whole).
const LISTED_REFUSALS: usize = 50;

/// How an association request or association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The sender released it (A-RELEASE): the normal end.
    Released,
    /// The sender aborted it (A-ABORT).
    AbortedBySender,
    /// Nothing arrived for `ELYSIUM_DICOM_IDLE_TIMEOUT_SECS`: aborted by us.
    IdleTimeout,
    /// Open longer than `ELYSIUM_DICOM_ASSOCIATION_TIMEOUT_SECS`: aborted by us.
    AssociationTimeout,
    /// Refused at association (A-ASSOCIATE-RJ), for this reason.
    Refused(String),
    /// No association request could be read (nothing sent in time, or not DICOM).
    NoRequest(String),
    /// A protocol or network error ended it.
    Failed(String),
}

impl Ended {
    fn describe(&self) -> String {
        match self {
            Ended::Released => "released".into(),
            Ended::AbortedBySender => "aborted by the sender".into(),
            Ended::IdleTimeout => "aborted: idle timeout".into(),
            Ended::AssociationTimeout => "aborted: association time limit".into(),
            Ended::Refused(reason) => format!("refused: {reason}"),
            Ended::NoRequest(error) => format!("no association request: {error}"),
            Ended::Failed(error) => format!("failed: {error}"),
        }
    }

    /// The audit outcome: a refusal is `denied`; an accepted association that did not end in a
    /// release is a `failure` (worth a look: a sender that gives up or stalls).
    fn outcome(&self) -> &'static str {
        match self {
            Ended::Released => "success",
            Ended::Refused(_) => "denied",
            _ => "failure",
        }
    }
}

/// What one association request came to, gathered while it runs.
#[derive(Debug)]
pub struct AssociationLog {
    peer: SocketAddr,
    started: Instant,
    /// The calling and called AE titles, once an association request was read.
    pub calling: Option<String>,
    pub called: Option<String>,
    pub accepted: bool,
    /// Every C-STORE's ingest outcome.
    pub outcomes: Vec<Outcome>,
    /// Instances refused for passing `ELYSIUM_DICOM_MAX_INSTANCE_BYTES` (the first few UIDs).
    too_large: Vec<String>,
    too_large_count: usize,
}

impl AssociationLog {
    pub fn new(peer: SocketAddr) -> AssociationLog {
        AssociationLog {
            peer,
            started: Instant::now(),
            calling: None,
            called: None,
            accepted: false,
            outcomes: Vec::new(),
            too_large: Vec::new(),
            too_large_count: 0,
        }
    }

    pub fn too_large(&mut self, sop_instance_uid: String) {
        self.too_large_count += 1;
        if self.too_large.len() < LISTED_REFUSALS {
            self.too_large.push(sop_instance_uid);
        }
    }

    /// `ae:TITLE`, as the audit trail names a sending device (`cli:user`, `system:...`).
    fn actor(&self) -> String {
        format!("ae:{}", self.calling.as_deref().unwrap_or("?"))
    }

    /// Logs the end, then writes its audit rows (none for a connection that named no one). A row
    /// that cannot be written is logged: the association is over, nothing can be refused.
    pub async fn record(&self, pool: &sqlx::PgPool, ended: &Ended) {
        let calling = self.calling.as_deref().unwrap_or("?");
        match ended {
            Ended::Released => tracing::info!(%calling, peer = %self.peer, "DICOM association released"),
            Ended::NoRequest(_) => tracing::info!(peer = %self.peer, "DICOM connection closed: {}", ended.describe()),
            _ => tracing::warn!(%calling, peer = %self.peer, "DICOM association ended: {}", ended.describe()),
        }
        if self.calling.is_none() {
            return;
        }
        let client = Some(self.peer.ip().to_string());
        if !self.outcomes.is_empty() {
            let template = Audit::anonymous("dicom.cstore", Some(&self.actor()), client.clone());
            if let Err(error) = crate::ingest::audit::record_batch(pool, &template, &self.outcomes).await {
                tracing::error!(%error, "could not audit the studies of a DICOM association");
            }
        }
        let event = self.event(ended, client);
        let written: Result<i64, elysium_db::DbError> =
            async { event.record_in(&mut *pool.acquire().await?).await }.await;
        if let Err(error) = written {
            tracing::error!(%error, "could not audit a DICOM association");
        }
    }

    fn event(&self, ended: &Ended, client: Option<String>) -> Audit {
        let count = |label: &str| self.outcomes.iter().filter(|o| o.label() == label).count();
        Audit::anonymous("dicom.association", Some(&self.actor()), client)
            .outcome(ended.outcome())
            .target_kind("dicom_association")
            .detail(json!({
                "calling_ae": self.calling,
                "called_ae": self.called,
                "peer": self.peer.to_string(),
                "accepted": self.accepted,
                "ended": ended.describe(),
                "seconds": self.started.elapsed().as_secs(),
                "stored": count("stored"),
                "duplicates": count("duplicate"),
                "refused": count("rejected") + self.too_large_count,
                "refused_too_large": self.too_large_count,
                "too_large": self.too_large,
            }))
    }
}

/// An AE title as the trail and the logs show it: printable ASCII (AE titles are ASCII without
/// control characters, PS3.5 §6.2; PostgreSQL text refuses NUL), other bytes as `?`.
pub fn printable(ae_title: &str) -> String {
    ae_title.trim().chars().take(16).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_titles_are_shown_printable() {
        assert_eq!(printable(" RC-PACS  "), "RC-PACS");
        assert_eq!(printable("A\0B\u{7}Ü"), "A?B??");
        assert_eq!(printable(&"X".repeat(40)).len(), 16);
    }

    #[test]
    fn a_refusal_is_denied_and_an_unreleased_association_failed() {
        assert_eq!(Ended::Released.outcome(), "success");
        assert_eq!(Ended::Refused("calling AE title unknown".into()).outcome(), "denied");
        assert_eq!(Ended::IdleTimeout.outcome(), "failure");
        assert_eq!(Ended::AssociationTimeout.describe(), "aborted: association time limit");
    }
}
