//! The board's writes on a case: a review (a decision version), a signature, and the treatment
//! that started. Each runs the domain rule inside the transaction that locks the case row and
//! checks the version the user saw; refusals are audited too.

use elysium_db::DbError;
use elysium_db::mdt::{self as db, CaseRow, DecisionRow, ProposalRow};
use sqlx::{PgConnection, PgPool};

use super::{BoardSettings, cancer_of, edition_of, histology_of, stale, status_of, subsite_of};
use crate::domain::language::Labelled;
use crate::domain::mdt::board::{self, Frame, Proposed, Review, SignFacts, TreatmentStarted};
use crate::domain::mdt::{CaseStatus, Refusal, Treatment};
use crate::domain::said::Said;
use crate::domain::staging::{Histology, Subsite};
use crate::format;
use crate::model::mdt::*;
use crate::said;
use crate::service::referral::CaseReferrals;
use crate::service::{Caller, ServiceError};

impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RoleMayNot { .. } => ServiceError::Forbidden,
            Refusal::Invalid { field, message } => ServiceError::invalid(field, message),
            other @ (Refusal::NotInThisState { .. } | Refusal::AlreadySigned) => ServiceError::Conflict(other.said()),
        }
    }
}

/// Locks the case, checks the version the caller saw, and that the caller's board works the case
/// now (a referred case is worked by one end of its referral at a time); the referrals read for
/// that are returned for the signature's outcome report.
async fn locked(
    conn: &mut PgConnection,
    caller: &Caller,
    id: i64,
    expected_version: i32,
) -> Result<(CaseRow, CaseReferrals), ServiceError> {
    let scope = caller.user.site_scope();
    let row = db::get_case(conn, id, scope.as_deref(), true).await?.ok_or(ServiceError::NotFound)?;
    if row.version != expected_version {
        return Err(stale(&row));
    }
    let referrals = CaseReferrals::read(conn, id).await?;
    referrals.may_work(caller)?;
    Ok((row, referrals))
}

/// Records a refused write in the audit trail (best effort: the refusal itself is the answer).
async fn audit_refusal(pool: &PgPool, caller: &Caller, action: &str, id: i64, error: &ServiceError) {
    if matches!(error, ServiceError::NotFound | ServiceError::Internal(_) | ServiceError::AuditUnavailable(_)) {
        return;
    }
    let audit = caller
        .audit(action)
        .failed()
        .target("mdt_case", id.to_string())
        .detail(serde_json::json!({ "refused": error.to_string() }));
    if let Err(unavailable) = audit.record(pool).await {
        tracing::warn!(%unavailable, "a refused board action could not be audited");
    }
}

/// Records the board's review as the next decision version.
pub async fn review(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &ReviewRequest,
) -> Result<CaseWritten, ServiceError> {
    let result = review_in_transaction(pool, caller, id, request).await;
    if let Err(error) = &result {
        audit_refusal(pool, caller, "mdt.review", id, error).await;
    }
    result
}

async fn review_in_transaction(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &ReviewRequest,
) -> Result<CaseWritten, ServiceError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let (row, _) = locked(&mut tx, caller, id, request.expected_version).await?;
    let status = status_of(&row.status)?;
    let cancer = cancer_of(&row.cancer)?;
    let histology = match request.histology.as_deref() {
        Some(h) => Some(
            Histology::parse(h)
                .ok_or_else(|| ServiceError::invalid("histology", Said::one_of(&["squamous", "adenocarcinoma"])))?,
        ),
        None => histology_of(row.histology.as_deref())?,
    };
    let subsite = match request.subsite.as_deref() {
        Some(s) => Some(Subsite::parse(s).ok_or_else(|| {
            ServiceError::invalid("subsite", Said::one_of(&["supraglottic", "glottic", "subglottic"]))
        })?),
        None => subsite_of(row.subsite.as_deref())?,
    };
    let frame = Frame { cancer, edition: edition_of(&row.edition)?, histology, subsite };
    let recommendation = Treatment::parse(&request.recommendation).ok_or_else(|| {
        let valid: Vec<&str> = Treatment::options_for(cancer).iter().map(|t| t.as_str()).collect();
        let what = said!(("not an option for {cancer}"), ("不是{}的可选治疗方案", cancer.label_zh()));
        ServiceError::invalid("recommendation", Said::not_one_of(what, &valid))
    })?;
    let proposals = db::proposals(&mut tx, id).await?;
    let latest = proposals.first();
    let proposed = Proposed {
        t: latest.and_then(|p| p.t.as_deref()),
        n: latest.and_then(|p| p.n.as_deref()),
        m: latest.and_then(|p| p.m.as_deref()),
    };
    let review = Review {
        t: request.t.clone(),
        n: request.n.clone(),
        m: request.m.clone(),
        recommendation,
        note: request.note.clone(),
        guideline_refs: request.guideline_refs.clone(),
        amendment_reason: request.amendment_reason.clone(),
    };
    let decision = board::decide(status, &caller.user.roles, frame, &proposed, &review)?;
    let new = db::NewDecision {
        case_id: id,
        proposal_id: latest.map(|p| p.id),
        edition: frame.edition.as_str(),
        t: &decision.t,
        n: &decision.n,
        m: &decision.m,
        stage_group: decision.stage_group.as_deref(),
        t_reason: decision.t_reason.as_deref(),
        n_reason: decision.n_reason.as_deref(),
        m_reason: decision.m_reason.as_deref(),
        recommendation: decision.recommendation.as_str(),
        note: decision.note.as_deref(),
        guideline_refs: decision.guideline_refs.as_deref(),
        amendment_reason: decision.amendment_reason.as_deref(),
        decided_by: caller.user.id,
    };
    let (_, decision_version) = db::insert_decision(&mut tx, &new).await?;
    let next = CaseStatus::AwaitingSignatures;
    let version = db::update_case(
        &mut tx,
        id,
        row.version,
        next.as_str(),
        histology.map(Histology::as_str),
        subsite.map(Subsite::as_str),
    )
    .await?
    .ok_or_else(|| stale(&row))?;
    let overridden: Vec<&str> = [
        decision.t_reason.as_ref().map(|_| "t"),
        decision.n_reason.as_ref().map(|_| "n"),
        decision.m_reason.as_ref().map(|_| "m"),
    ]
    .into_iter()
    .flatten()
    .collect();
    caller
        .audit(if status == CaseStatus::Decided { "mdt.amend" } else { "mdt.review" })
        .target("mdt_case", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "decision_version": decision_version,
            "proposal_version": latest.map(|p| p.version),
            "t": decision.t, "n": decision.n, "m": decision.m, "stage_group": decision.stage_group,
            "overridden": overridden,
            "recommendation": decision.recommendation.as_str(),
            "amendment_reason": decision.amendment_reason,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(CaseWritten { id, status: next, version })
}

/// Signs the current decision version; the signature that completes the quorum locks it.
pub async fn sign(
    pool: &PgPool,
    caller: &Caller,
    settings: &BoardSettings,
    id: i64,
    request: &SignRequest,
) -> Result<CaseWritten, ServiceError> {
    let result = sign_in_transaction(pool, caller, settings, id, request).await;
    if let Err(error) = &result {
        audit_refusal(pool, caller, "mdt.sign", id, error).await;
    }
    result
}

async fn sign_in_transaction(
    pool: &PgPool,
    caller: &Caller,
    settings: &BoardSettings,
    id: i64,
    request: &SignRequest,
) -> Result<CaseWritten, ServiceError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let (row, referrals) = locked(&mut tx, caller, id, request.expected_version).await?;
    let status = status_of(&row.status)?;
    let decisions = db::decisions(&mut tx, id).await?;
    let current = decisions.first();
    let facts = SignFacts {
        status,
        roles: &caller.user.roles,
        already_signed: current.is_some_and(|d| d.signer_ids.contains(&caller.user.id)),
        signatures: current.map_or(0, |d| d.signer_ids.len() as u32),
        quorum: settings.quorum,
    };
    let next = board::sign(&facts)?;
    let decision =
        current.ok_or_else(|| ServiceError::Conflict(said!("there is no decision to sign", "尚无可签署的决议")))?;
    db::insert_signature(&mut tx, decision.id, caller.user.id).await?;
    let version =
        db::update_case(&mut tx, id, row.version, next.as_str(), row.histology.as_deref(), row.subsite.as_deref())
            .await?
            .ok_or_else(|| stale(&row))?;
    caller
        .audit("mdt.sign")
        .target("mdt_case", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "decision_version": decision.version,
            "signatures": facts.signatures + 1,
            "quorum": settings.quorum,
            "locked": next == CaseStatus::Decided,
        }))
        .record_in(&mut tx)
        .await?;
    // The site that referred the case is told when the receiving board's decision is signed.
    referrals.report_outcome(&mut tx, caller, &row, status, next).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(CaseWritten { id, status: next, version })
}

/// Records the treatment that started, against the signed decision.
pub async fn record_treatment(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &TreatmentRequest,
) -> Result<CaseWritten, ServiceError> {
    let result = treatment_in_transaction(pool, caller, id, request).await;
    if let Err(error) = &result {
        audit_refusal(pool, caller, "mdt.treatment", id, error).await;
    }
    result
}

async fn treatment_in_transaction(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &TreatmentRequest,
) -> Result<CaseWritten, ServiceError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let (row, _) = locked(&mut tx, caller, id, request.expected_version).await?;
    let status = status_of(&row.status)?;
    let cancer = cancer_of(&row.cancer)?;
    let treatment = Treatment::parse(&request.treatment).ok_or_else(|| {
        let valid: Vec<&str> = Treatment::options_for(cancer).iter().map(|t| t.as_str()).collect();
        ServiceError::invalid("treatment", Said::one_of(&valid))
    })?;
    let started_on =
        format::parse_date(&request.started_on).ok_or_else(|| ServiceError::invalid("started_on", Said::date()))?;
    let decisions = db::decisions(&mut tx, id).await?;
    let decision = decisions.first();
    let recommended = decision.and_then(|d| Treatment::parse(&d.recommendation));
    let started = TreatmentStarted { treatment, started_on, deviation_reason: request.deviation_reason.clone() };
    let checked = board::record_treatment(
        status,
        &caller.user.roles,
        cancer,
        recommended.unwrap_or(treatment),
        row.opened_at.date(),
        super::super::followup::today(),
        &started,
    )?;
    let decision =
        decision.ok_or_else(|| ServiceError::Conflict(said!("there is no signed decision", "尚无已签署的决议")))?;
    db::insert_treatment(
        &mut tx,
        id,
        decision.id,
        checked.treatment.as_str(),
        checked.started_on,
        checked.deviation_reason.as_deref(),
        caller.user.id,
    )
    .await?;
    let version = db::touch_case(&mut tx, id).await?;
    caller
        .audit("mdt.treatment")
        .target("mdt_case", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "treatment": checked.treatment.as_str(),
            "started_on": format::date(checked.started_on),
            "deviation": checked.deviation_reason.is_some(),
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(CaseWritten { id, status, version })
}

/// Decision rows as the page shows them: each with its signatures, whether the quorum locked
/// it, and what changed from the version before.
pub(crate) fn decisions_to_model(
    rows: &[DecisionRow],
    proposals: &[ProposalRow],
    settings: &BoardSettings,
) -> Result<Vec<Decision>, ServiceError> {
    let domain = |d: &DecisionRow| -> Result<board::Decision, ServiceError> {
        Ok(board::Decision {
            t: d.t.clone(),
            n: d.n.clone(),
            m: d.m.clone(),
            stage_group: d.stage_group.clone(),
            t_reason: d.t_reason.clone(),
            n_reason: d.n_reason.clone(),
            m_reason: d.m_reason.clone(),
            recommendation: Treatment::parse(&d.recommendation)
                .ok_or_else(|| super::corrupt_value("recommendation", &d.recommendation))?,
            note: d.note.clone(),
            guideline_refs: d.guideline_refs.clone(),
            amendment_reason: d.amendment_reason.clone(),
        })
    };
    rows.iter()
        .enumerate()
        .map(|(i, d)| {
            let this = domain(d)?;
            // Rows are newest first: the version before is the next row.
            let changes = match rows.get(i + 1) {
                Some(before) => board::diff(&domain(before)?, &this)
                    .into_iter()
                    .map(|(field, a, b)| (field.to_owned(), a, b))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Decision {
                version: d.version,
                proposal_version: d.proposal_id.and_then(|p| proposals.iter().find(|x| x.id == p)).map(|p| p.version),
                edition: edition_of(&d.edition)?,
                t: d.t.clone(),
                n: d.n.clone(),
                m: d.m.clone(),
                stage_group: d.stage_group.clone(),
                t_reason: d.t_reason.clone(),
                n_reason: d.n_reason.clone(),
                m_reason: d.m_reason.clone(),
                recommendation: this.recommendation,
                note: d.note.clone(),
                guideline_refs: d.guideline_refs.clone(),
                amendment_reason: d.amendment_reason.clone(),
                decided_by: d.decided_by_name.clone(),
                decided_at: format::rfc3339(d.decided_at),
                signatures: d
                    .signers
                    .iter()
                    .zip(&d.signed_at)
                    .map(|(name, at)| Signature { name: name.clone(), signed_at: format::rfc3339(*at) })
                    .collect(),
                locked: d.signer_ids.len() as u32 >= settings.quorum.max(1),
                changes,
            })
        })
        .collect()
}
