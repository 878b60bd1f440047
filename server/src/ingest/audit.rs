//! Audit events for a batch of received instances: one per study touched (with its patient),
//! and one listing what was refused, rather than one row per slice.

use std::collections::BTreeMap;

use elysium_db::audit::NewAuditEvent;
use serde_json::json;

use super::Outcome;

/// Writes the batch's events, each a copy of `template` (actor, client, action prefix) with its
/// target filled in.
pub async fn record_batch(pool: &sqlx::PgPool, template: &NewAuditEvent, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut studies: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut refused = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Stored(r) => studies.entry((&r.study_uid, &r.patient_id)).or_default().0 += 1,
            Outcome::Duplicate(r) => studies.entry((&r.study_uid, &r.patient_id)).or_default().1 += 1,
            Outcome::Rejected { sop_instance_uid, reason, .. } => {
                refused.push(json!({ "sop_instance_uid": sop_instance_uid, "reason": reason.to_string() }));
            }
        }
    }
    let mut tx = pool.begin().await?;
    for ((study_uid, patient_id), (stored, duplicates)) in studies {
        let event = NewAuditEvent {
            action: format!("{}.store", template.action),
            target_type: Some("study".into()),
            target_id: Some(study_uid.to_owned()),
            patient_id: Some(patient_id.to_owned()),
            outcome: "success",
            detail: json!({ "stored": stored, "duplicates": duplicates }),
            ..template.clone()
        };
        elysium_db::audit::record(&mut tx, &event).await?;
    }
    if !refused.is_empty() {
        let count = refused.len();
        refused.truncate(50);
        let event = NewAuditEvent {
            action: format!("{}.refused", template.action),
            outcome: "failure",
            detail: json!({ "refused": count, "first": refused }),
            ..template.clone()
        };
        elysium_db::audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(())
}
