//! The tumour board's service: case lists and pages, reviews, signatures and treatment records,
//! measurements and the AI's proposals, meetings and agendas, and the agreement statistics.
//! Every read of a case is audited before it leaves; every write runs the board's domain rules
//! inside the transaction that holds the case's row lock and names the version the user saw.

pub mod agreement;
pub mod cases;
pub mod meetings;
pub mod proposal;
pub mod review;

use elysium_db::mdt::{CaseListRow, CaseRow};
use time::OffsetDateTime;

use crate::domain::language::Labelled;
use crate::domain::mdt::CaseStatus;
use crate::domain::mdt::board::DEFAULT_QUORUM;
use crate::domain::staging::{Cancer, Edition, Histology, Subsite};
use crate::format;
use crate::model::mdt::{CaseListItem, DecisionBrief, MeetingRef, PatientBrief, Tnm};
use crate::said;
use crate::service::ServiceError;

/// The board's settings (from the server's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardSettings {
    /// How many surgeons sign a decision before it is locked.
    pub quorum: u32,
}

impl Default for BoardSettings {
    fn default() -> Self {
        BoardSettings { quorum: DEFAULT_QUORUM }
    }
}

/// Stored names back to the domain's enums; a value the schema's checks let through but the
/// domain does not know is a server fault, not the user's.
pub(crate) fn status_of(name: &str) -> Result<CaseStatus, ServiceError> {
    CaseStatus::parse(name).ok_or_else(|| corrupt_value("case status", name))
}

pub(crate) fn cancer_of(name: &str) -> Result<Cancer, ServiceError> {
    Cancer::parse(name).ok_or_else(|| corrupt_value("cancer", name))
}

pub(crate) fn edition_of(name: &str) -> Result<Edition, ServiceError> {
    Edition::parse(name).ok_or_else(|| corrupt_value("edition", name))
}

pub(crate) fn histology_of(name: Option<&str>) -> Result<Option<Histology>, ServiceError> {
    name.map(|h| Histology::parse(h).ok_or_else(|| corrupt_value("histology", h))).transpose()
}

pub(crate) fn subsite_of(name: Option<&str>) -> Result<Option<Subsite>, ServiceError> {
    name.map(|s| Subsite::parse(s).ok_or_else(|| corrupt_value("subsite", s))).transpose()
}

pub(crate) fn corrupt_value(what: &str, value: &str) -> ServiceError {
    ServiceError::internal(std::io::Error::other(format!("stored {what} `{value}` is not known")))
}

pub(crate) fn patient_of(row: &CaseRow) -> PatientBrief {
    PatientBrief {
        id: row.patient_ref,
        patient_id: row.patient_id.clone(),
        name: row.patient_name.clone(),
        birth_date: row.patient_birth_date.map(format::date),
        sex: row.patient_sex.clone(),
    }
}

pub(crate) fn list_item(row: CaseListRow, me: uuid::Uuid) -> Result<CaseListItem, ServiceError> {
    let proposal = (row.proposal_t.is_some() || row.proposal_n.is_some() || row.proposal_m.is_some()).then(|| Tnm {
        t: row.proposal_t.clone(),
        n: row.proposal_n.clone(),
        m: row.proposal_m.clone(),
        stage_group: row.proposal_group.clone(),
    });
    let decision = match (row.decision_version, &row.decision_t, &row.decision_n, &row.decision_m) {
        (Some(version), Some(t), Some(n), Some(m)) => Some(DecisionBrief {
            version,
            t: t.clone(),
            n: n.clone(),
            m: m.clone(),
            stage_group: row.decision_group.clone(),
            signed_by: row.signed_by.clone(),
        }),
        _ => None,
    };
    Ok(CaseListItem {
        id: row.id,
        status: status_of(&row.status)?,
        cancer: cancer_of(&row.cancer)?,
        patient: PatientBrief {
            id: row.patient_ref,
            patient_id: row.patient_id,
            name: row.patient_name,
            birth_date: None,
            sex: None,
        },
        site: row.site_code,
        opened_at: format::rfc3339(row.opened_at),
        proposal,
        decision,
        version: row.version,
        next_meeting: row.next_meeting_id.zip(row.next_meeting_at).map(|(id, at)| MeetingRef {
            id,
            title: row.next_meeting_title.clone().unwrap_or_default(),
            starts_at: format::rfc3339(at),
        }),
        signed_by_me: row.signer_ids.contains(&me),
    })
}

/// A meeting is upcoming until 12 hours after it started (the day of the board).
pub(crate) fn is_upcoming(starts_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    starts_at >= now - time::Duration::hours(12)
}

/// The refusal of a write whose version is stale.
pub(crate) fn stale(current: &CaseRow) -> ServiceError {
    let (en, version) = (current.status.replace('_', " "), current.version);
    let zh: &str = match CaseStatus::parse(&current.status) {
        Some(status) => status.label_zh(),
        None => &current.status,
    };
    ServiceError::Conflict(said!(
        "the case was changed by someone else since you loaded it (it is now {en} at version {version}); reload it and try again",
        "此病例在您打开后已被他人修改（现为“{zh}”，版本 {version}）；请重新加载后再试"
    ))
}
