//! The programme table's wire types (the administrator's dashboard and
//! `GET /api/v1/metrics/program`).

use serde::{Deserialize, Serialize};

use crate::domain::organs::Organ;
use crate::domain::program::{ReferralFlow, SkipReason, Tally};

/// Records per page of a figure's record list.
pub const RECORDS_PAGE: u64 = 100;

/// The filter, as the query string gives it (every field optional; dates as YYYY-MM-DD).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramParams {
    pub from: Option<String>,
    pub to: Option<String>,
    /// A site code.
    pub site: Option<String>,
    pub cancer: Option<String>,
    pub model_version: Option<String>,
}

/// One cancer's row: its series, then its positives' figures (flattened: `positive`,
/// `reviewed`, ... `ppv_resolved`, `median_days_to_outcome` ...), and the period in a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancerFigures {
    pub cancer: Organ,
    /// Series whose screening finished in the period (screened or skipped as not eligible).
    pub screened: u64,
    /// Of those, the series screened for this cancer (their result covers it).
    pub eligible: u64,
    /// Patients with such a series.
    pub patients: u64,
    #[serde(flatten)]
    pub tally: Tally,
    /// The period in a sentence, in the caller's language.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipCount {
    pub reason: SkipReason,
    pub series: u64,
}

/// One week of the trend (weeks start on Monday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekFigures {
    pub week_start: String,
    pub eligible: u64,
    pub positive: u64,
    pub confirmed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteOption {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramReport {
    pub from: String,
    pub to: String,
    pub site: Option<String>,
    pub cancer: Option<Organ>,
    pub model_version: Option<String>,
    /// The day "overdue" was judged on.
    pub today: String,
    /// Series whose screening finished in the period, those screened (with a result covering
    /// the chosen cancer, or any) and those skipped as not eligible (without a chosen cancer,
    /// screened = eligible_any + skipped).
    pub screened: u64,
    pub eligible_any: u64,
    pub skipped: u64,
    /// Skipped series per reason; a series skipped for two reasons counts under both.
    pub skipped_by_reason: Vec<SkipCount>,
    pub cancers: Vec<CancerFigures>,
    /// All cancers together (positives of every cancer; `eligible` counts series once, as
    /// `eligible_any`).
    pub total: CancerFigures,
    pub weeks: Vec<WeekFigures>,
    /// Chronic findings raised in the period, per condition (see [`ChronicFigures`]).
    pub chronic: Vec<ChronicFigures>,
    /// The referrals made in the period (by the day each was made), per sending and receiving
    /// site; with a site, the flows it sends or receives. The findings stay counted above, once,
    /// under the site that screened them.
    pub referral_flows: Vec<ReferralFlow>,
    pub sites: Vec<SiteOption>,
    pub model_versions: Vec<String>,
}

/// Which records a figure covers: a positives figure (`domain::program::Figure`) or a series
/// figure (`screened`, `eligible`, `skipped`, optionally of one skip `reason`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub site: Option<String>,
    pub cancer: Option<String>,
    pub model_version: Option<String>,
    pub figure: String,
    pub reason: Option<String>,
    pub page: Option<u64>,
}

impl RecordsParams {
    pub fn filter(&self) -> ProgramParams {
        ProgramParams {
            from: self.from.clone(),
            to: self.to.clone(),
            site: self.site.clone(),
            cancer: self.cancer.clone(),
            model_version: self.model_version.clone(),
        }
    }
}

/// One record behind a figure: a finding (with `finding_id`) or a series (with `series_uid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramRecord {
    pub finding_id: Option<i64>,
    pub study_uid: Option<String>,
    pub series_uid: Option<String>,
    pub patient_id: String,
    pub site: Option<String>,
    pub cancer: Option<Organ>,
    pub scan_date: String,
    /// The finding's status, or how the series' screening ended (`done`, `skipped`).
    pub state: String,
    pub model_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramRecords {
    pub figure: String,
    pub reason: Option<SkipReason>,
    pub from: String,
    pub to: String,
    /// Every record the figure counts (the figure's value); `items` is one page of them.
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub items: Vec<ProgramRecord>,
}

/// One condition's chronic findings raised in the period, by where each stands now
/// (`new + letter_sent + acknowledged + closed = raised`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChronicFigures {
    pub kind: crate::domain::chronic::ChronicKind,
    pub raised: u64,
    pub new: u64,
    pub letter_sent: u64,
    pub acknowledged: u64,
    pub closed: u64,
}

impl Default for ChronicFigures {
    fn default() -> Self {
        ChronicFigures {
            kind: crate::domain::chronic::ChronicKind::Steatosis,
            raised: 0,
            new: 0,
            letter_sent: 0,
            acknowledged: 0,
            closed: 0,
        }
    }
}
