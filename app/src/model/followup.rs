//! The coordinator's worklist and a finding's page, as the server sends them to the pages and
//! to REST clients.

use serde::{Deserialize, Serialize};

use crate::domain::followup::event::{ConfirmedBy, DismissReason, Outcome, WorkupModality};
use crate::domain::followup::{EventKind, FindingStatus};
use crate::domain::organs::Organ;

/// Rows per worklist page.
pub const WORKLIST_PAGE: i64 = 50;

/// The worklist's filters, sort and page, as they appear in the URL (`/worklist?…` and
/// `GET /api/v1/worklist?…`). Every field is optional text so that a bad value gets a clear
/// message instead of a rejected request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistParams {
    /// `mine`, `unassigned`, `overdue` or `week`.
    pub quick: Option<String>,
    /// `open` (default), `closed`, `all`, or one status name.
    pub status: Option<String>,
    pub organ: Option<String>,
    /// A site code.
    pub site: Option<String>,
    /// `me`, `none`, or a username.
    pub assignee: Option<String>,
    /// Minimum AI probability, 0 to 1.
    pub min_probability: Option<String>,
    /// `F`, `M` or `O`.
    pub sex: Option<String>,
    pub age_min: Option<String>,
    pub age_max: Option<String>,
    /// `priority` (default), `probability`, `due_date`, `study_date`, `detected`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    pub dir: Option<String>,
    /// Zero-based page number.
    pub page: Option<String>,
}

impl WorklistParams {
    /// The same parameters as a query string (for links that keep the current filters).
    pub fn to_query(&self, page: Option<i64>) -> String {
        let page = page.map(|p| p.to_string()).or_else(|| self.page.clone());
        let pairs = [
            ("quick", &self.quick),
            ("status", &self.status),
            ("organ", &self.organ),
            ("site", &self.site),
            ("assignee", &self.assignee),
            ("min_probability", &self.min_probability),
            ("sex", &self.sex),
            ("age_min", &self.age_min),
            ("age_max", &self.age_max),
            ("sort", &self.sort),
            ("dir", &self.dir),
            ("page", &page),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| {
                v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", crate::format::query_value(v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorklistItem {
    pub id: i64,
    pub status: FindingStatus,
    pub version: i32,
    pub organ: Organ,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    pub model_version: String,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub study_date: Option<String>,
    pub detected_on: String,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub sex: Option<String>,
    pub age: Option<i32>,
    pub site: Option<String>,
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    pub status: FindingStatus,
    pub total: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorklistPage {
    pub items: Vec<WorklistItem>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    /// Findings per status within the user's sites (not narrowed by the filters).
    pub counts: Vec<StateCount>,
    /// Who findings may be assigned to.
    pub assignees: Vec<Person>,
    pub today: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionLocation {
    pub sop_instance_uid: Option<String>,
    pub slice_index: Option<i64>,
    /// Centre in patient coordinates (mm).
    pub center_mm: Option<[f64; 3]>,
    pub diameter_mm: Option<f64>,
    /// The centre in the key slice's pixel grid (column, row), for the marker.
    pub pixel: Option<[f64; 2]>,
    /// The lesion's radius in pixels on the key slice.
    pub radius_px: Option<f64>,
    /// The key slice's size in pixels (columns, rows), for scaling the marker.
    pub image_size: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    pub id: i64,
    pub status: FindingStatus,
    pub version: i32,
    pub open: bool,
    pub organ: Organ,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    /// The organ's classes with their probabilities, in the model's order.
    pub class_probabilities: Vec<(String, f64)>,
    pub model_name: String,
    pub model_version: String,
    pub location: Option<LesionLocation>,
    pub due_date: Option<String>,
    pub overdue: bool,
    pub detected_at: String,
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
    pub workup_modality: Option<WorkupModality>,
    pub workup_due: Option<String>,
    pub workup_responsible: Option<String>,
    pub appointment_date: Option<String>,
    pub appointment_site: Option<String>,
    pub outcome: Option<Outcome>,
    pub confirmed_by: Option<ConfirmedBy>,
    pub diagnosis: Option<String>,
    pub outcome_date: Option<String>,
    pub dismiss_reason: Option<DismissReason>,
    pub unsuccessful_contacts: i32,
    pub contacts_before_lost: u32,
    /// Imaging again every so many months, due on `surveillance_due` (`YYYY-MM-DD`).
    pub surveillance_months: Option<i32>,
    pub surveillance_due: Option<String>,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    /// The language chosen for the patient's letters (`None`: not chosen; letters are English).
    pub patient_letter_language: Option<crate::domain::language::Language>,
    pub age: Option<i32>,
    pub study_uid: String,
    pub study_date: Option<String>,
    pub series_uid: Option<String>,
    pub site: Option<String>,
    pub site_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: i32,
    /// The stored event name (`detected` for the screening that raised the finding).
    pub event: String,
    /// The event, when it is one a person records.
    pub kind: Option<EventKind>,
    pub label: String,
    pub from_status: FindingStatus,
    pub to_status: FindingStatus,
    pub actor: String,
    pub actor_name: Option<String>,
    pub role: String,
    pub at: String,
    pub reason: Option<String>,
    /// The payload as recorded: (field, value), machine names for enumerations (the pages word
    /// them in the reader's language).
    pub details: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedFinding {
    pub id: i64,
    pub study_uid: String,
    pub study_date: Option<String>,
    pub organ: Organ,
    pub probability: f64,
    pub status: FindingStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientStudy {
    pub study_uid: String,
    pub study_date: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingDetail {
    pub finding: FindingView,
    pub history: Vec<HistoryEntry>,
    /// Exactly the events the current state and the user's roles allow.
    pub actions: Vec<EventKind>,
    /// The patient's other findings and studies (longitudinal context).
    pub related: Vec<RelatedFinding>,
    pub studies: Vec<PatientStudy>,
    pub assignees: Vec<Person>,
    pub today: String,
    /// The work-up due date the order form suggests (the service level).
    pub suggested_workup_due: String,
    /// The surveillance interval the form offers for this finding's organ and size, and its
    /// source.
    pub surveillance_default: crate::domain::followup::surveillance::SurveillanceDefault,
    /// The dismissal reasons this user may give (image-based ones need a radiologist).
    pub dismiss_reasons: Vec<DismissReason>,
    /// The patient's demographics mismatches still to resolve: whoever calls or writes to the
    /// patient must know that a study states another name or birth date.
    pub open_mismatches: Vec<crate::model::patients::MismatchView>,
    /// Its referrals to other sites of the network, and whether this user may refer it or only
    /// follows it.
    pub referrals: crate::model::referral::FindingReferrals,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_keep_filters_and_encode_values() {
        let params = WorklistParams {
            quick: Some("overdue".into()),
            organ: Some("liver".into()),
            assignee: Some("o'neil & co".into()),
            page: Some("3".into()),
            ..Default::default()
        };
        assert_eq!(params.to_query(None), "quick=overdue&organ=liver&assignee=o%27neil%20%26%20co&page=3");
        assert_eq!(params.to_query(Some(0)), "quick=overdue&organ=liver&assignee=o%27neil%20%26%20co&page=0");
    }
}
