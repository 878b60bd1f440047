//! Cross-site referrals as the API and the pages send them.

use serde::{Deserialize, Serialize};

use crate::domain::followup::FindingStatus;
use crate::domain::language::{Labelled, Language};
use crate::domain::mdt::CaseStatus;
use crate::domain::referral::{ReferralEventKind, ReferralStatus, SiteLevel};

/// What the receiving site reached with a referral: the finding's closed state, or for a case its
/// board's signed decision. In JSON, the finding's status (`confirmed_pathology` ...) or `decided`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReferredOutcome {
    Finding(FindingStatus),
    Board(BoardOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardOutcome {
    /// The receiving board's decision is signed by its quorum.
    Decided,
}

impl ReferredOutcome {
    /// As `referral.outcome` stores it.
    pub fn parse(stored: &str) -> Option<ReferredOutcome> {
        match stored {
            "decided" => Some(ReferredOutcome::Board(BoardOutcome::Decided)),
            other => other.parse().ok().map(ReferredOutcome::Finding),
        }
    }

    pub fn label_in(self, language: Language) -> &'static str {
        match (self, language) {
            (ReferredOutcome::Finding(status), language) => status.label_in(language),
            (ReferredOutcome::Board(BoardOutcome::Decided), Language::English) => "Board decision signed",
            (ReferredOutcome::Board(BoardOutcome::Decided), Language::SimplifiedChinese) => "MDT 决定已签署",
        }
    }
}

/// One referral, from either end: of a finding or of a tumour-board case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralItem {
    pub id: i64,
    /// Exactly one of the two is set.
    pub finding_id: Option<i64>,
    pub case_id: Option<i64>,
    /// The sending site's code (the site that screened the finding, or holds the case).
    pub from_site: String,
    pub to_site: String,
    pub status: ReferralStatus,
    pub reason: String,
    /// A work-up modality code (`colonoscopy`, `biopsy` ...), or `mdt_review` for a case.
    pub requested_workup: String,
    /// The receiving site's note on accepting, its reason on declining, or the sender's reason
    /// for withdrawing.
    pub decision_note: Option<String>,
    pub version: i32,
    pub created_by: Option<String>,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// The finding's organ, or the case's cancer.
    pub organ: String,
    /// The finding's state (a finding's referral), or the case's (a case's).
    pub finding_status: Option<FindingStatus>,
    pub case_status: Option<CaseStatus>,
    pub patient_id: String,
    pub patient_name: Option<String>,
    /// The outcome the finding reached (the case's decision signed) while the receiving site had
    /// it (the sending site is told of it: see `followup::record`, `mdt::review::sign`), and
    /// when; `None` until then.
    pub outcome: Option<ReferredOutcome>,
    pub outcome_at: Option<String>,
    /// What the caller may do with it now.
    pub actions: Vec<ReferralEventKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralList {
    pub items: Vec<ReferralItem>,
    pub total: i64,
}

/// `GET /api/v1/referrals?direction=incoming|outgoing&status=&page=&from_site=&to_site=&created_from=&created_to=&outcome=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralListParams {
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub page: Option<i64>,
    /// The sending and the receiving site, by code.
    #[serde(default)]
    pub from_site: Option<String>,
    #[serde(default)]
    pub to_site: Option<String>,
    /// Made from and to these days (YYYY-MM-DD, inclusive, UTC).
    #[serde(default)]
    pub created_from: Option<String>,
    #[serde(default)]
    pub created_to: Option<String>,
    /// `reported`: the finding reached an outcome at the receiving site; `none`: not (yet).
    #[serde(default)]
    pub outcome: Option<String>,
}

/// A page of the list holds this many referrals.
pub const REFERRAL_PAGE: i64 = 50;

impl ReferralItem {
    /// The page of what was referred: the finding's or the case's.
    pub fn subject_href(&self) -> String {
        match (self.finding_id, self.case_id) {
            (Some(finding), _) => format!("/findings/{finding}"),
            (None, Some(case)) => format!("/mdt/cases/{case}"),
            (None, None) => "/referrals".to_owned(),
        }
    }
}

/// A finding's (or a case's) referrals as its page shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingReferrals {
    /// Newest first.
    pub items: Vec<ReferralItem>,
    /// The sites this user may refer the finding (the case) to now (the open routes from its
    /// site, to sites in the network); empty when the user may not refer it (not a coordinator
    /// at its site, a referral already active, or the finding closed, the case decided).
    pub targets: Vec<NetworkSite>,
    /// Set when this user only follows the finding: the code of the site that has its work-up
    /// (the receiving site once it accepted the referral; the sending site until then), or the
    /// case's board work.
    pub work_up_at: Option<String>,
}

/// The referral network as administrators configure it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub sites: Vec<NetworkSite>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSite {
    pub code: String,
    pub name: String,
    /// `None`: not in the network.
    pub level: Option<SiteLevel>,
}

/// A route a referral may take: from the site that screened the finding to one that works it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub from: String,
    pub to: String,
}

/// `POST /api/v1/admin/network/levels`: a site's level (`null`: out of the network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelRequest {
    pub site: String,
    pub level: Option<String>,
}
