//! Referring a tumour-board case: a coordinator at the case's site sends a case its board has not
//! decided to the board of another site of the network (a community hospital's case to the
//! provincial board; a larynx case opened from an ENT clinic, which has no screening finding).
//! The referral then runs the same lifecycle as a finding's (`lifecycle`), one end works the case
//! at a time (`workup::check_work_up`: reviews, signatures, measurements, the agenda), and the
//! sending site is told when the receiving board's decision is signed. Pure: the service reads the
//! facts inside the transaction that writes the referral.

use serde::{Deserialize, Serialize};

use super::lifecycle::{ReferralStatus, text};
use super::request::{NewRefusal, Route, check_route};
use crate::domain::mdt::CaseStatus;

/// What a referred case asks of the receiving site, as `referral.requested_workup` stores it: its
/// board's review and decision.
pub const BOARD_REVIEW: &str = "mdt_review";

/// What the sender asks for. The JSON form is `{"to_site": CODE, "reason": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCaseReferral {
    /// The receiving site's code.
    pub to_site: String,
    pub reason: String,
}

impl NewCaseReferral {
    /// The site code as stored (trimmed, upper case) and the reason trimmed, as a form sends them.
    pub fn normalised(self) -> NewCaseReferral {
        NewCaseReferral { to_site: self.to_site.trim().to_uppercase(), reason: self.reason.trim().to_owned() }
    }
}

/// What a new case referral is checked against beyond its own fields.
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    pub route: Route<'a>,
    pub case_status: CaseStatus,
    /// Whether the case already has a requested or accepted referral.
    pub active_referral_exists: bool,
}

/// Whether `new` may be sent: the case first (not decided, not referred already), then where it
/// goes (as a finding's referral), then its reason. The first refusal is returned.
pub fn check_new_case(new: &NewCaseReferral, facts: &CaseFacts<'_>) -> Result<(), NewRefusal> {
    if facts.case_status == CaseStatus::Decided {
        return Err(NewRefusal::CaseDecided);
    }
    if facts.active_referral_exists {
        return Err(NewRefusal::CaseAlreadyReferred);
    }
    check_route(&Route { to_site: &new.to_site, ..facts.route.clone() })?;
    text(&new.reason, true).map_err(|message| NewRefusal::Reason { message })
}

/// Whether a case moving from `before` to `after` is an outcome the sending site is told of: the
/// receiving board's decision signed (the case decided) while the referral is accepted. An
/// amendment reopens a decided case for signatures; its new signed decision is told again.
pub fn case_outcome_to_report(referral: Option<ReferralStatus>, before: CaseStatus, after: CaseStatus) -> bool {
    referral == Some(ReferralStatus::Accepted) && after == CaseStatus::Decided && before != CaseStatus::Decided
}
