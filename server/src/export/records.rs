//! The rows of the two tables, built from the database's rows with the key: pseudonyms instead
//! of patients, pseudonymous references instead of ids, replacement UIDs, and every date moved by
//! its patient's shift (the days between two dates are computed before the shift and equal after
//! it). The finding's outcome and its intervals are the programme dashboard's own
//! (`app::domain::program`): the same partition and the same milestones.
//!
//! No name, patient ID, birth date, accession number, original UID or free text (diagnoses,
//! reasons, notes) is ever a column.

use app::domain::program::{Figure, Positive};
use elysium_db::export::{DecisionExportRow, FindingDetail};
use elysium_db::program::PositiveRow;
use serde::Serialize;
use time::{Date, Duration};

use super::key::{ExportKey, PatientAlias};

/// One row of `findings.csv`: an AI-positive finding of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRecord {
    pub patient_pseudonym: String,
    pub finding_ref: String,
    pub site: Option<String>,
    pub cancer: String,
    pub class_label: String,
    pub model_name: String,
    pub model_version: String,
    pub probability: f64,
    pub threshold: f64,
    /// The follow-up state (`workup_ordered`, `benign`, ...).
    pub state: String,
    /// Where the programme counts it (`open`, `dismissed`, `confirmed_pathology`, ...).
    pub outcome: String,
    pub confirmed_by: Option<String>,
    pub workup_ordered: bool,
    pub scan_date: String,
    pub outcome_date: Option<String>,
    pub days_to_outcome: Option<i64>,
    pub decision_date: Option<String>,
    pub days_to_decision: Option<i64>,
    pub treatment_date: Option<String>,
    pub days_to_treatment: Option<i64>,
    pub lesion_diameter_mm: Option<f64>,
    /// The replacement UIDs, as the exported images carry them.
    pub study_uid: String,
    pub series_uid: Option<String>,
}

/// One row of `mdt_decisions.csv`: a tumour-board case's signed decision beside the AI's
/// proposal it reviewed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub patient_pseudonym: String,
    pub case_ref: String,
    /// The finding that raised the case (`finding_ref` in `findings.csv`), if any.
    pub finding_ref: Option<String>,
    pub site: Option<String>,
    pub cancer: String,
    pub edition: String,
    pub histology: Option<String>,
    pub subsite: Option<String>,
    pub proposed_t: Option<String>,
    pub proposed_n: Option<String>,
    pub proposed_m: Option<String>,
    pub proposed_stage_group: Option<String>,
    pub proposal_method: Option<String>,
    pub proposal_model: Option<String>,
    pub proposal_confidence: Option<f64>,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub recommendation: String,
    pub decision_version: i32,
    pub signatures: i64,
    pub scan_date: String,
    pub decision_date: String,
    pub days_scan_to_decision: i64,
    pub treatment: Option<String>,
    pub treatment_date: Option<String>,
    pub days_decision_to_treatment: Option<i64>,
}

fn shifted(date: Date, alias: &PatientAlias) -> String {
    app::format::date(date + Duration::days(alias.shift_days))
}

/// A finding's row. `positive` is the programme's reading of `row` (`service::program::positive`).
pub fn finding(
    key: &ExportKey,
    row: &PositiveRow,
    positive: &Positive,
    detail: &FindingDetail,
    alias: &PatientAlias,
) -> FindingRecord {
    // `service::program::positive` refuses a row without an outcome class.
    let outcome = Figure::outcome_of(positive).unwrap_or(Figure::Open);
    FindingRecord {
        patient_pseudonym: alias.pseudonym.clone(),
        finding_ref: key.finding(row.id),
        site: row.site_code.clone(),
        cancer: row.organ.clone(),
        class_label: detail.class_label.clone(),
        model_name: row.model_name.clone(),
        model_version: row.model_version.clone(),
        probability: detail.probability,
        threshold: detail.threshold,
        state: row.status.clone(),
        outcome: outcome.as_str().to_owned(),
        confirmed_by: row.confirmed_by.clone(),
        workup_ordered: row.workup_ordered,
        scan_date: shifted(positive.scan_date, alias),
        outcome_date: positive.outcome_date.map(|d| shifted(d, alias)),
        days_to_outcome: positive.days_to_outcome(),
        decision_date: positive.decision_date.map(|d| shifted(d, alias)),
        days_to_decision: positive.days_to_decision(),
        treatment_date: positive.treatment_date.map(|d| shifted(d, alias)),
        days_to_treatment: positive.days_to_treatment(),
        lesion_diameter_mm: detail.diameter_mm,
        study_uid: key.uid(&detail.study_uid),
        series_uid: detail.series_uid.as_deref().map(|uid| key.uid(uid)),
    }
}

/// A decided case's row.
pub fn decision(key: &ExportKey, row: &DecisionExportRow, alias: &PatientAlias) -> DecisionRecord {
    let decided = row.decided_at.date();
    let model = match (&row.proposal_model_name, &row.proposal_model_version) {
        (Some(name), Some(version)) => Some(format!("{name} {version}")),
        (Some(name), None) => Some(name.clone()),
        _ => None,
    };
    DecisionRecord {
        patient_pseudonym: alias.pseudonym.clone(),
        case_ref: key.case(row.case_id),
        finding_ref: row.finding_id.map(|id| key.finding(id)),
        site: row.site_code.clone(),
        cancer: row.cancer.clone(),
        edition: row.edition.clone(),
        histology: row.histology.clone(),
        subsite: row.subsite.clone(),
        proposed_t: row.proposal_t.clone(),
        proposed_n: row.proposal_n.clone(),
        proposed_m: row.proposal_m.clone(),
        proposed_stage_group: row.proposal_group.clone(),
        proposal_method: row.proposal_method.clone(),
        proposal_model: model,
        proposal_confidence: row.proposal_confidence,
        t: row.t.clone(),
        n: row.n.clone(),
        m: row.m.clone(),
        stage_group: row.stage_group.clone(),
        recommendation: row.recommendation.clone(),
        decision_version: row.decision_version,
        signatures: row.signatures,
        scan_date: shifted(row.scan_date, alias),
        decision_date: shifted(decided, alias),
        days_scan_to_decision: (decided - row.scan_date).whole_days(),
        treatment: row.treatment.clone(),
        treatment_date: row.treatment_started_on.map(|d| shifted(d, alias)),
        days_decision_to_treatment: row.treatment_started_on.map(|d| (d - decided).whole_days()),
    }
}

#[cfg(test)]
mod tests {
    use app::domain::followup::FindingStatus;
    use app::domain::followup::event::ConfirmedBy;
    use time::macros::{date, datetime};

    use super::*;

    fn key() -> ExportKey {
        ExportKey::new(Some("a-test-key-that-is-long-enough-0001")).expect("key")
    }

    fn positive_row() -> PositiveRow {
        PositiveRow {
            id: 41,
            organ: "lung".into(),
            status: "referred_to_mdt".into(),
            confirmed_by: Some("pathology".into()),
            scan_date: date!(2026 - 03 - 02),
            outcome_date: Some(date!(2026 - 03 - 30)),
            due_date: None,
            workup_ordered: true,
            decision_date: Some(date!(2026 - 04 - 06)),
            treatment_date: None,
            model_name: "reference-screening".into(),
            model_version: "0.2.0".into(),
            site_code: Some("DEMO-GH".into()),
            patient_id: "PL-0001".into(),
        }
    }

    #[test]
    fn a_finding_row_shifts_dates_and_keeps_intervals() {
        let row = positive_row();
        let positive = Positive {
            status: FindingStatus::ReferredToMdt,
            confirmed_by: Some(ConfirmedBy::Pathology),
            workup_ordered: true,
            overdue: false,
            scan_date: row.scan_date,
            outcome_date: row.outcome_date,
            decision_date: row.decision_date,
            treatment_date: None,
        };
        let detail = FindingDetail {
            id: 41,
            assigning_authority: "DEMO-GH".into(),
            patient_id: "PL-0001".into(),
            study_ref: uuid::Uuid::nil(),
            study_uid: "1.2.3".into(),
            series_uid: Some("1.2.3.4".into()),
            class_label: "malignant".into(),
            probability: 0.91,
            threshold: 0.5,
            diameter_mm: Some(11.0),
        };
        let k = key();
        let alias = PatientAlias { pseudonym: "P0011223344556677".into(), shift_days: -10 };
        let record = finding(&k, &row, &positive, &detail, &alias);
        assert_eq!(record.scan_date, "2026-02-20");
        assert_eq!(record.outcome_date.as_deref(), Some("2026-03-20"));
        assert_eq!(record.days_to_outcome, Some(28));
        assert_eq!(record.days_to_decision, Some(35));
        assert_eq!(record.outcome, "confirmed_pathology");
        assert_eq!(record.study_uid, k.uid("1.2.3"));
        assert_eq!(record.finding_ref, k.finding(41));
        let text = format!("{record:?}");
        assert!(!text.contains("PL-0001") && !text.contains("1.2.3.4\""), "{text}");
    }

    #[test]
    fn a_decision_row_compares_the_proposal_with_the_decision() {
        let row = DecisionExportRow {
            case_id: 5,
            finding_id: Some(41),
            assigning_authority: "DEMO-GH".into(),
            patient_id: "PL-0001".into(),
            site_code: Some("DEMO-GH".into()),
            cancer: "lung".into(),
            edition: "ajcc8".into(),
            histology: None,
            subsite: None,
            scan_date: date!(2026 - 03 - 02),
            study_ref: None,
            decision_version: 2,
            decided_at: datetime!(2026-04-06 23:30 UTC),
            signatures: 2,
            proposal_t: Some("T1b".into()),
            proposal_n: Some("N0".into()),
            proposal_m: Some("M0".into()),
            proposal_group: Some("IA2".into()),
            proposal_confidence: Some(0.8),
            proposal_method: Some("measurement".into()),
            proposal_model_name: None,
            proposal_model_version: None,
            t: "T1c".into(),
            n: "N0".into(),
            m: "M0".into(),
            stage_group: Some("IA3".into()),
            recommendation: "surgery".into(),
            treatment: Some("surgery".into()),
            treatment_started_on: Some(date!(2026 - 04 - 20)),
        };
        let alias = PatientAlias { pseudonym: "P0011223344556677".into(), shift_days: -100 };
        let k = key();
        let record = decision(&k, &row, &alias);
        assert_eq!((record.proposed_t.as_deref(), record.t.as_str()), (Some("T1b"), "T1c"));
        assert_eq!(record.decision_date, "2025-12-27");
        assert_eq!(record.days_scan_to_decision, 35);
        assert_eq!(record.days_decision_to_treatment, Some(14));
        assert_eq!(record.finding_ref, Some(k.finding(41)));
        assert_eq!(record.case_ref, k.case(5));
    }
}
