//! Cross-site referrals as the API and the pages send them.

use serde::{Deserialize, Serialize};

use crate::domain::followup::FindingStatus;
use crate::domain::referral::{ReferralEventKind, ReferralStatus, SiteLevel};

/// One referral, from either end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralItem {
    pub id: i64,
    pub finding_id: i64,
    /// The sending site's code (the site that screened the finding).
    pub from_site: String,
    pub to_site: String,
    pub status: ReferralStatus,
    pub reason: String,
    /// A work-up modality code (`colonoscopy`, `biopsy` ...).
    pub requested_workup: String,
    /// The receiving site's note on accepting, its reason on declining, or the sender's reason
    /// for withdrawing.
    pub decision_note: Option<String>,
    pub version: i32,
    pub created_by: Option<String>,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub organ: String,
    pub finding_status: FindingStatus,
    pub patient_id: String,
    pub patient_name: Option<String>,
    /// The outcome the finding reached while the receiving site had it (the sending site is
    /// told of it: see `followup::record`), and when; `None` until then.
    pub outcome: Option<FindingStatus>,
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

/// A finding's referrals as its page shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingReferrals {
    /// Newest first.
    pub items: Vec<ReferralItem>,
    /// The sites this user may refer the finding to now (the open routes from its site, to
    /// sites in the network); empty when the user may not refer it (not a coordinator at its
    /// site, a referral already active, or the finding closed).
    pub targets: Vec<NetworkSite>,
    /// Set when this user only follows the finding: the code of the site that has its work-up
    /// (the receiving site once it accepted the referral; the sending site until then).
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
