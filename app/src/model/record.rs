//! The longitudinal patient record as the search page, the record page and
//! `GET /api/v1/patients…` carry it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::chronic::ChronicRules;

/// One patient record (an identifier at its assigning authority).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: Uuid,
    pub patient_id: String,
    pub authority: String,
    /// As stored (DICOM person name groups); the pages show it through `domain::names`.
    pub name: Option<String>,
    pub sex: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Studies within the caller's sites.
    pub studies: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientList {
    pub items: Vec<PatientSummary>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// `?q=&page=`: `q` is an identifier, name words, a birth date (`YYYY-MM-DD`) or an accession
/// number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientSearchParams {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
}

/// What the timeline shows, by group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A CT study, with what screening made of it.
    Study,
    /// A finding raised by screening.
    Finding,
    /// A step of a finding's follow-up.
    FindingEvent,
    /// A tumour-board decision (each version).
    MdtDecision,
    /// A chronic finding raised.
    Chronic,
    /// A step of a chronic finding's pathway.
    ChronicEvent,
    /// Surveillance imaging due for a closed finding (dated in the future until it is done).
    SurveillanceDue,
}

impl TimelineKind {
    pub const ALL: [TimelineKind; 7] = [
        TimelineKind::Study,
        TimelineKind::Finding,
        TimelineKind::FindingEvent,
        TimelineKind::MdtDecision,
        TimelineKind::Chronic,
        TimelineKind::ChronicEvent,
        TimelineKind::SurveillanceDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Study => "study",
            TimelineKind::Finding => "finding",
            TimelineKind::FindingEvent => "finding_event",
            TimelineKind::MdtDecision => "mdt_decision",
            TimelineKind::Chronic => "chronic",
            TimelineKind::ChronicEvent => "chronic_event",
            TimelineKind::SurveillanceDue => "surveillance_due",
        }
    }

    /// The filter group it belongs to (`study`, `finding`, `mdt`, `chronic`).
    pub fn group(self) -> &'static str {
        match self {
            TimelineKind::Study => "study",
            TimelineKind::Finding | TimelineKind::FindingEvent | TimelineKind::SurveillanceDue => "finding",
            TimelineKind::MdtDecision => "mdt",
            TimelineKind::Chronic | TimelineKind::ChronicEvent => "chronic",
        }
    }
}

/// The timeline's filter groups.
pub const TIMELINE_GROUPS: [&str; 4] = ["study", "finding", "mdt", "chronic"];

/// One entry of the timeline; `detail` holds the kind's own facts (a study's `positives`,
/// `skipped` codes and `site`; a finding's `probability` and `status`; an event's `event` and
/// `to_status`; a decision's `t`, `n`, `m`, `stage_group`, `recommendation` and `version`; a
/// chronic finding's `condition`, `value`, `unit` and `status`; surveillance's `months` and the
/// finding's `status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// RFC 3339.
    pub at: String,
    /// `YYYY-MM-DD` (the year markers group by it).
    pub day: String,
    pub kind: TimelineKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub study_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organ: Option<String>,
    /// The finding, case or chronic finding it refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<i64>,
    /// Which linked record it belongs to.
    pub patient_id: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub items: Vec<TimelineItem>,
}

/// `?organ=&kind=`: `kind` is one of [`TIMELINE_GROUPS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineParams {
    #[serde(default)]
    pub organ: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
}

/// A link between two records of one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    pub id: i64,
    pub other_id: Uuid,
    pub other_patient_id: String,
    pub other_authority: String,
    pub other_name: Option<String>,
    pub reason: String,
    pub linked_by: String,
    pub linked_at: String,
    pub active: bool,
    pub unlinked_by: Option<String>,
    pub unlinked_at: Option<String>,
    pub unlink_reason: Option<String>,
}

/// One scan's biomarkers (the latest result of its study).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiomarkerPoint {
    pub on: String,
    pub study_uid: String,
    pub liver_hu: Option<f64>,
    pub liver_minus_spleen_hu: Option<f64>,
    pub l1_trabecular_hu: Option<f64>,
    pub coronary_calcium_mm3: Option<f64>,
    pub aortic_calcium_mm3: Option<f64>,
}

/// The record page: the patient, the records linked to it, its timeline and biomarker trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub patient: PatientSummary,
    /// The other records of this person (linked), with their studies within the caller's sites.
    pub linked: Vec<PatientSummary>,
    pub links: Vec<LinkView>,
    pub timeline: Vec<TimelineItem>,
    pub biomarkers: Vec<BiomarkerPoint>,
    /// The person's tracked lesions within the caller's sites.
    pub lesions: Vec<crate::model::lesions::LesionTrack>,
    /// The chronic-finding cut-offs in force (the trend charts draw them).
    pub rules: ChronicRules,
    /// Studies of these records at sites outside the caller's (not shown).
    pub hidden_studies: i64,
    /// Whether the caller may link and unlink records.
    pub may_link: bool,
}

/// `POST /api/v1/patients/{id}/links`: the other record, by its identifier and authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub patient_id: String,
    pub authority: String,
    pub reason: String,
}

/// `POST /api/v1/patients/{id}/links/{link}/end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlinkRequest {
    pub reason: String,
}
