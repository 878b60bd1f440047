//! The two tables of a period as CSV: `findings.csv` and `mdt_decisions.csv`, their rows read
//! from the database (the programme's own rows for the findings) and made pseudonymous
//! ([`super::records`]). The columns are fixed here, so a table with no rows still has its
//! header.

use std::collections::{BTreeSet, HashMap};

use elysium_db::program::ProgramFilter;
use serde::Serialize;
use sqlx::PgPool;
use time::Date;
use uuid::Uuid;

use super::ExportError;
use super::key::ExportKey;
use super::records::{self, DecisionRecord, FindingRecord};

pub const FINDINGS_FILE: &str = "findings.csv";
pub const DECISIONS_FILE: &str = "mdt_decisions.csv";

pub const FINDING_COLUMNS: [&str; 23] = [
    "patient_pseudonym",
    "finding_ref",
    "site",
    "cancer",
    "class_label",
    "model_name",
    "model_version",
    "probability",
    "threshold",
    "state",
    "outcome",
    "confirmed_by",
    "workup_ordered",
    "scan_date",
    "outcome_date",
    "days_to_outcome",
    "decision_date",
    "days_to_decision",
    "treatment_date",
    "days_to_treatment",
    "lesion_diameter_mm",
    "study_uid",
    "series_uid",
];

pub const DECISION_COLUMNS: [&str; 28] = [
    "patient_pseudonym",
    "case_ref",
    "finding_ref",
    "site",
    "cancer",
    "edition",
    "histology",
    "subsite",
    "proposed_t",
    "proposed_n",
    "proposed_m",
    "proposed_stage_group",
    "proposal_method",
    "proposal_model",
    "proposal_confidence",
    "t",
    "n",
    "m",
    "stage_group",
    "recommendation",
    "decision_version",
    "signatures",
    "scan_date",
    "decision_date",
    "days_scan_to_decision",
    "treatment",
    "treatment_date",
    "days_decision_to_treatment",
];

/// A period by scan date, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    /// `from` and `to` as `YYYY-MM-DD`; the period may not end before it starts.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ExportError> {
        let day = |field: &'static str, text: Option<&str>| {
            text.filter(|t| !t.trim().is_empty())
                .and_then(|t| app::format::parse_date(t.trim()))
                .ok_or(ExportError::Period { field, message: app::domain::said::Said::date() })
        };
        let (from, to) = (day("from", from)?, day("to", to)?);
        if from > to {
            return Err(ExportError::Period {
                field: "to",
                message: app::said!("the period ends before it starts", "结束日期早于开始日期"),
            });
        }
        Ok(Period { from, to })
    }
}

/// Both tables of a period, and what the images of the period are.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub findings: Vec<FindingRecord>,
    pub decisions: Vec<DecisionRecord>,
    /// The studies of the findings and of the decided cases (whose images the command exports).
    pub studies: BTreeSet<Uuid>,
    /// The pseudonyms of the patients in either table.
    pub patients: BTreeSet<String>,
}

/// The tables of `period` over `scope`'s sites (`None`: every site), as of `today`.
pub async fn read(
    pool: &PgPool,
    key: &ExportKey,
    period: Period,
    scope: Option<Vec<Uuid>>,
    today: Date,
) -> Result<Tables, ExportError> {
    let mut tables = Tables::default();
    let filter =
        ProgramFilter { from: Some(period.from), to: Some(period.to), scope: scope.clone(), ..Default::default() };
    let positives = elysium_db::program::positives(pool, &filter).await?;
    let ids: Vec<i64> = positives.iter().map(|r| r.id).collect();
    let details: HashMap<i64, _> =
        elysium_db::export::finding_details(pool, &ids).await?.into_iter().map(|d| (d.id, d)).collect();
    for row in &positives {
        let detail = details.get(&row.id).ok_or(ExportError::Vanished(row.id))?;
        let positive = app::service::program::positive(row, today)?;
        let alias = key.patient(&detail.assigning_authority, &detail.patient_id);
        tables.findings.push(records::finding(key, row, &positive, detail, &alias));
        tables.studies.insert(detail.study_ref);
        tables.patients.insert(alias.pseudonym);
    }
    for row in elysium_db::export::decisions(pool, period.from, period.to, scope.as_deref()).await? {
        let alias = key.patient(&row.assigning_authority, &row.patient_id);
        tables.decisions.push(records::decision(key, &row, &alias));
        tables.studies.extend(row.study_ref);
        tables.patients.insert(alias.pseudonym);
    }
    Ok(tables)
}

/// `rows` as CSV under `columns` (which name the rows' fields): each text cell defused for
/// spreadsheets ([`crate::spreadsheet`]), since the decisions' recommendations and the
/// work-ups' words are free text that researchers open in one.
pub fn to_csv<T: Serialize>(columns: &[&str], rows: &[T]) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    out.write_record(columns)?;
    for row in rows {
        out.write_record(cells(columns, row)?)?;
    }
    out.into_inner().map_err(|e| ExportError::Csv(e.into_error().into()))
}

/// `row`'s fields named by `columns`, in that order, as CSV cells: text defused, numbers and
/// booleans as written, an absent value empty.
fn cells<T: Serialize>(columns: &[&str], row: &T) -> Result<Vec<String>, ExportError> {
    let serde_json::Value::Object(mut fields) = serde_json::to_value(row)? else {
        return Err(ExportError::Json(serde::ser::Error::custom("a table row is not a record")));
    };
    columns
        .iter()
        .map(|column| match fields.remove(*column) {
            Some(serde_json::Value::String(text)) => Ok(crate::spreadsheet::defused(text)),
            Some(serde_json::Value::Null) => Ok(String::new()),
            Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(value.to_string()),
            Some(other) => {
                Err(ExportError::Json(serde::ser::Error::custom(format!("column {column} holds {other}, not a cell"))))
            }
            None => Err(ExportError::Json(serde::ser::Error::custom(format!("no field for column {column}")))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header serde writes for a record: its field names in order.
    fn serde_header<T: Serialize>(row: &T) -> Vec<String> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.serialize(row).expect("serialize");
        let text = String::from_utf8(out.into_inner().expect("flush")).expect("utf-8");
        text.lines().next().expect("header").split(',').map(str::to_owned).collect()
    }

    #[test]
    fn the_fixed_columns_name_the_fields() {
        let finding = FindingRecord {
            patient_pseudonym: "P".into(),
            finding_ref: "F".into(),
            site: None,
            cancer: "lung".into(),
            class_label: "c".into(),
            model_name: "m".into(),
            model_version: "v".into(),
            probability: 0.5,
            threshold: 0.5,
            state: "new".into(),
            outcome: "open".into(),
            confirmed_by: None,
            workup_ordered: false,
            scan_date: "2026-01-01".into(),
            outcome_date: None,
            days_to_outcome: None,
            decision_date: None,
            days_to_decision: None,
            treatment_date: None,
            days_to_treatment: None,
            lesion_diameter_mm: None,
            study_uid: "2.25.1".into(),
            series_uid: None,
        };
        assert_eq!(serde_header(&finding), FINDING_COLUMNS);
        let decision = DecisionRecord {
            patient_pseudonym: "P".into(),
            case_ref: "C".into(),
            finding_ref: None,
            site: None,
            cancer: "lung".into(),
            edition: "ajcc8".into(),
            histology: None,
            subsite: None,
            proposed_t: None,
            proposed_n: None,
            proposed_m: None,
            proposed_stage_group: None,
            proposal_method: None,
            proposal_model: None,
            proposal_confidence: None,
            t: "T1".into(),
            n: "N0".into(),
            m: "M0".into(),
            stage_group: None,
            recommendation: "surgery".into(),
            decision_version: 1,
            signatures: 2,
            scan_date: "2026-01-01".into(),
            decision_date: "2026-01-02".into(),
            days_scan_to_decision: 1,
            treatment: None,
            treatment_date: None,
            days_decision_to_treatment: None,
        };
        assert_eq!(serde_header(&decision), DECISION_COLUMNS);
        let empty: Vec<DecisionRecord> = Vec::new();
        let text = String::from_utf8(to_csv(&DECISION_COLUMNS, &empty).expect("csv")).expect("utf-8");
        assert_eq!(text.trim_end(), DECISION_COLUMNS.join(","), "an empty table keeps its header");

        // Free text that a spreadsheet would run is defused; numbers, booleans and absent values
        // are written as serde's CSV writer writes them (`serde_row`, the writer before).
        let hostile = DecisionRecord {
            recommendation: "=HYPERLINK(\"http://evil.example\",\"x\")".into(),
            treatment: Some("@SUM(A1)".into()),
            proposal_confidence: Some(0.25),
            days_decision_to_treatment: Some(-3),
            ..decision.clone()
        };
        let text =
            String::from_utf8(to_csv(&DECISION_COLUMNS, &[decision.clone(), hostile]).expect("csv")).expect("utf-8");
        let rows: Vec<csv::StringRecord> =
            csv::Reader::from_reader(text.as_bytes()).records().collect::<Result<_, _>>().expect("reads back");
        let column = |name: &str| DECISION_COLUMNS.iter().position(|c| *c == name).expect("a column");
        assert_eq!(&rows[1][column("recommendation")], "'=HYPERLINK(\"http://evil.example\",\"x\")");
        assert_eq!(&rows[1][column("treatment")], "'@SUM(A1)");
        assert_eq!(&rows[1][column("proposal_confidence")], "0.25");
        assert_eq!(&rows[1][column("days_decision_to_treatment")], "-3", "a negative number is a number");
        assert_eq!(rows[0].iter().collect::<Vec<_>>(), serde_row(&decision), "a harmless row as serde writes it");
        let finding_text =
            String::from_utf8(to_csv(&FINDING_COLUMNS, std::slice::from_ref(&finding)).expect("csv")).expect("utf-8");
        assert_eq!(finding_text.lines().nth(1).expect("a row").split(',').collect::<Vec<_>>(), serde_row(&finding));
    }

    /// `row` as the csv crate's own serializer writes it.
    fn serde_row<T: Serialize>(row: &T) -> Vec<String> {
        let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        out.serialize(row).expect("serialize");
        let text = String::from_utf8(out.into_inner().expect("flush")).expect("utf-8");
        text.trim_end().split(',').map(str::to_owned).collect()
    }

    #[test]
    fn periods_are_checked() {
        let period = Period::parse(Some("2026-01-01"), Some("2026-06-30")).expect("valid");
        assert_eq!(app::format::date(period.from), "2026-01-01");
        assert!(matches!(
            Period::parse(Some("2026-07-01"), Some("2026-06-30")),
            Err(ExportError::Period { field: "to", .. })
        ));
        assert!(matches!(Period::parse(None, Some("2026-06-30")), Err(ExportError::Period { field: "from", .. })));
        assert!(matches!(
            Period::parse(Some("2026-02-30"), Some("2026-06-30")),
            Err(ExportError::Period { field: "from", .. })
        ));
    }
}
