//! Audit events for a batch of received instances: one per study touched (with its patient),
//! and one listing what was refused, rather than one row per slice.

use std::collections::BTreeMap;

use app::service::Audit;
use serde_json::json;

use super::Outcome;

/// Writes the batch's events, each a copy of `template` (actor, client, action prefix) with its
/// target filled in.
pub async fn record_batch(pool: &sqlx::PgPool, template: &Audit, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let prefix = &template.event().action;
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
        template
            .clone()
            .action(&format!("{prefix}.store"))
            .study(study_uid, patient_id)
            .detail(json!({ "stored": stored, "duplicates": duplicates }))
            .record_in(&mut tx)
            .await?;
    }
    if !refused.is_empty() {
        let count = refused.len();
        refused.truncate(50);
        template
            .clone()
            .action(&format!("{prefix}.refused"))
            .failed()
            .detail(json!({ "refused": count, "first": refused }))
            .record_in(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
