//! The tumour board as the server sends it to the pages and to REST clients: case lists, a case
//! with its proposal, decisions (every version) and treatment, meetings with their agendas, and
//! the AI-versus-board agreement statistics.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::mdt::agreement::Agreement;
use crate::domain::mdt::{CaseStatus, CategoryReview, Treatment};
use crate::domain::staging::{Cancer, Edition, Histology, Subsite};

/// Cases per list page.
pub const CASE_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientBrief {
    /// The patient record's id.
    pub id: Uuid,
    /// The PatientID of the assigning authority.
    pub patient_id: String,
    /// DICOM PN as stored (the pages format it with `domain::names`).
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
}

/// T, N and M with their stage group; a category the images could not decide is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tnm {
    pub t: Option<String>,
    pub n: Option<String>,
    pub m: Option<String>,
    pub stage_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionBrief {
    pub version: i32,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub signed_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRef {
    pub id: i64,
    pub title: String,
    pub starts_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseListItem {
    pub id: i64,
    pub status: CaseStatus,
    pub cancer: Cancer,
    pub patient: PatientBrief,
    pub site: Option<String>,
    pub opened_at: String,
    pub proposal: Option<Tnm>,
    pub decision: Option<DecisionBrief>,
    pub version: i32,
    /// The next meeting the case is on (not yet over).
    pub next_meeting: Option<MeetingRef>,
    /// Whether the caller signed the current decision version.
    pub signed_by_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseList {
    pub items: Vec<CaseListItem>,
    pub total: i64,
}

/// A rule the derivation applied, as the proposal's evidence shows it: `rule` in English,
/// `rule_zh` in Simplified Chinese (absent from proposals stored before it was recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleApplied {
    pub category: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_zh: Option<String>,
}

impl RuleApplied {
    /// The rule in `language`; the English where the Chinese was not recorded.
    pub fn in_language(&self, language: crate::domain::language::Language) -> &str {
        match (language, &self.rule_zh) {
            (crate::domain::language::Language::SimplifiedChinese, Some(zh)) => zh,
            _ => &self.rule,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub version: i32,
    pub edition: Edition,
    #[serde(flatten)]
    pub tnm: Tnm,
    pub confidence: f64,
    /// `measurement` (derivation rules on measurements) or `staging_model`.
    pub method: String,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub model_sha256: Option<String>,
    pub rules: Vec<RuleApplied>,
    /// The measurements the proposal was computed from.
    pub measurement_ids: Vec<i64>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub id: i64,
    /// `primary`, `node`, `distant` or `invasion`.
    pub kind: String,
    pub size_mm: Option<f64>,
    pub location: Option<String>,
    pub side: Option<String>,
    pub slice_index: Option<i32>,
    pub position_mm: Option<Vec<f64>>,
    /// `image_analysis`, `screening` or `radiologist`.
    pub source: String,
    /// The measurement this one corrects.
    pub corrects: Option<i64>,
    /// Whether a later measurement corrects this one.
    pub superseded: bool,
    pub note: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub name: String,
    pub signed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub version: i32,
    /// The proposal version the board reviewed.
    pub proposal_version: Option<i32>,
    pub edition: Edition,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub t_reason: Option<String>,
    pub n_reason: Option<String>,
    pub m_reason: Option<String>,
    pub recommendation: Treatment,
    pub note: Option<String>,
    pub guideline_refs: Option<String>,
    pub amendment_reason: Option<String>,
    pub decided_by: String,
    pub decided_at: String,
    pub signatures: Vec<Signature>,
    /// Whether the quorum signed this version.
    pub locked: bool,
    /// What changed from the previous version: (field, before, after).
    pub changes: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreatmentRecord {
    pub treatment: Treatment,
    pub started_on: String,
    pub deviation_reason: Option<String>,
    pub decision_version: i32,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// The screening finding a case came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFinding {
    pub id: i64,
    pub class_label: String,
    pub probability: f64,
    pub model_name: String,
    pub model_version: String,
    pub detected_at: String,
    pub diagnosis: Option<String>,
    /// The lesion's slice in the series (for the viewer link), when the model located it.
    pub slice_index: Option<i64>,
}

/// What the caller may do on the case now (the page shows only these forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaseActions {
    pub review: bool,
    pub sign: bool,
    pub record_treatment: bool,
    pub measure: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    pub id: i64,
    pub status: CaseStatus,
    pub version: i32,
    pub cancer: Cancer,
    pub edition: Edition,
    pub histology: Option<Histology>,
    pub subsite: Option<Subsite>,
    pub diagnosis: Option<String>,
    pub referral_note: Option<String>,
    pub patient: PatientBrief,
    pub site: Option<String>,
    pub study_uid: Option<String>,
    pub series_uid: Option<String>,
    pub opened_at: String,
    pub opened_by: Option<String>,
    pub finding: Option<CaseFinding>,
    /// The latest proposal (older versions in `proposals`).
    pub proposal: Option<Proposal>,
    pub proposals: Vec<Proposal>,
    pub measurements: Vec<Measurement>,
    /// Every decision version, newest first.
    pub decisions: Vec<Decision>,
    pub treatments: Vec<TreatmentRecord>,
    pub meetings: Vec<MeetingRef>,
    pub quorum: u32,
    pub signed_by_me: bool,
    pub actions: CaseActions,
    /// The recommendation options for this cancer.
    pub options: Vec<Treatment>,
    /// The valid T, N and M categories in this case's frame (for the review form).
    pub categories: Categories,
    /// The case's referrals to other sites' boards, where its board work is when the reader only
    /// follows it, and where the reader may refer it.
    #[serde(default)]
    pub referrals: crate::model::referral::FindingReferrals,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Categories {
    pub t: Vec<String>,
    pub n: Vec<String>,
    pub m: Vec<String>,
}

/// A review as the API and the form send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub expected_version: i32,
    pub t: CategoryReview,
    pub n: CategoryReview,
    pub m: CategoryReview,
    pub recommendation: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub guideline_refs: Option<String>,
    #[serde(default)]
    pub amendment_reason: Option<String>,
    /// Esophagus: the histology that decides the stage groups (kept on the case).
    #[serde(default)]
    pub histology: Option<String>,
    /// Larynx: the subsite that decides the T definitions.
    #[serde(default)]
    pub subsite: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub expected_version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentRequest {
    pub expected_version: i32,
    pub treatment: String,
    /// `YYYY-MM-DD`.
    pub started_on: String,
    #[serde(default)]
    pub deviation_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasurementRequest {
    pub expected_version: i32,
    /// `primary`, `node`, `distant` or `invasion`.
    pub kind: String,
    #[serde(default)]
    pub size_mm: Option<f64>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub side: Option<String>,
    pub slice_index: i32,
    #[serde(default)]
    pub position_mm: Option<[f64; 3]>,
    #[serde(default)]
    pub corrects: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A case opened directly (larynx from ENT, and other cancers screening does not raise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCaseRequest {
    /// The patient record's id, or
    #[serde(default)]
    pub patient: Option<Uuid>,
    /// a study of the patient (the CT the board will look at): one of the two is required.
    #[serde(default)]
    pub study_uid: Option<String>,
    pub cancer: String,
    #[serde(default)]
    pub histology: Option<String>,
    #[serde(default)]
    pub subsite: Option<String>,
    #[serde(default)]
    pub diagnosis: Option<String>,
    #[serde(default)]
    pub referral_note: Option<String>,
    /// The CT series to measure on, if any.
    #[serde(default)]
    pub series_uid: Option<String>,
}

/// What a write left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseWritten {
    pub id: i64,
    pub status: CaseStatus,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    pub id: i64,
    pub title: String,
    pub starts_at: String,
    pub site: Option<String>,
    pub chair: Option<String>,
    pub attendees: Vec<String>,
    pub case_count: i64,
    pub upcoming: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingList {
    pub items: Vec<Meeting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingDetail {
    pub meeting: Meeting,
    /// The agenda in order.
    pub cases: Vec<CaseListItem>,
    pub may_edit_agenda: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeetingRequest {
    pub title: String,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` (UTC) from a form.
    pub starts_at: String,
    /// A site code; the caller's only site by default.
    #[serde(default)]
    pub site: Option<String>,
    /// Usernames.
    #[serde(default)]
    pub chair: Option<String>,
    #[serde(default)]
    pub attendees: Vec<String>,
}

/// The surgeon's home: upcoming meetings, cases awaiting the surgeon, recent decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardHome {
    pub upcoming: Vec<Meeting>,
    pub awaiting_review: Vec<CaseListItem>,
    pub awaiting_my_signature: Vec<CaseListItem>,
    pub recently_decided: Vec<CaseListItem>,
}

/// One category's agreement and the cases behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryAgreement {
    /// `t`, `n`, `m` or `stage_group`.
    pub category: String,
    #[serde(flatten)]
    pub agreement: Agreement,
    /// Cases where the AI proposed nothing for this category (left out of the figures).
    pub not_proposed: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discordance {
    pub case_id: i64,
    pub cancer: Cancer,
    pub patient_id: String,
    pub category: String,
    pub proposed: Option<String>,
    pub decided: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancerAgreement {
    pub cancer: Cancer,
    pub cases: Vec<i64>,
    pub categories: Vec<CategoryAgreement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    pub cancer: Option<Cancer>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Every decided case counted, in id order.
    pub cases: Vec<i64>,
    pub categories: Vec<CategoryAgreement>,
    pub per_cancer: Vec<CancerAgreement>,
    pub discordant: Vec<Discordance>,
}

/// The query of `GET /api/v1/mdt/agreement` and the agreement page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementParams {
    pub cancer: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
}
