//! Who works a referred finding up, and when the sending site is told its outcome. While a
//! referral is active exactly one end records the finding's events: the sending site until the
//! receiving site accepts (a requested referral may still be declined back), the receiving site
//! after; the other end follows the finding read-only. A declined or withdrawn referral gives the
//! finding back to the site that screened it. Pure: the service supplies the referral's status and
//! the actor's sides.

use crate::domain::followup::FindingStatus;
use crate::domain::said::Said;
use crate::said;

use super::lifecycle::{ReferralStatus, Side};

/// The end of an active referral that records the finding's events (`None`: the referral is not
/// active, and the finding is its own site's as if never referred).
pub fn works_up(status: ReferralStatus) -> Option<Side> {
    match status {
        ReferralStatus::Requested => Some(Side::Sending),
        ReferralStatus::Accepted => Some(Side::Receiving),
        ReferralStatus::Declined | ReferralStatus::Withdrawn => None,
    }
}

/// Why an actor may only follow a referred finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WorkUpRefusal {
    /// The receiving site sees a referral it has not accepted.
    #[error("accept the referral before working the finding up here")]
    NotAcceptedYet,
    /// The sending site, once the receiving site has accepted.
    #[error("the receiving site has accepted this finding's referral and works it up; this site follows it read-only")]
    WithTheReceivingSite,
}

impl WorkUpRefusal {
    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(self) -> Said {
        match self {
            WorkUpRefusal::NotAcceptedYet => {
                said!("accept the referral before working the finding up here", "请先接收转诊，再在本院处理此发现")
            }
            WorkUpRefusal::WithTheReceivingSite => said!(
                "the receiving site has accepted this finding's referral and works it up; this site follows it read-only",
                "接收方已接收此发现的转诊并负责后续检查；本院只能查看"
            ),
        }
    }
}

impl WorkUpRefusal {
    /// The refusal of a tumour-board case's work (reviews, signatures, measurements, the agenda)
    /// in both languages.
    pub fn said_of_case(self) -> Said {
        match self {
            WorkUpRefusal::NotAcceptedYet => {
                said!(
                    "accept the referral before the board works on this case here",
                    "请先接收转诊，再由本院 MDT 处理此病例"
                )
            }
            WorkUpRefusal::WithTheReceivingSite => said!(
                "the receiving site has accepted this case's referral and its board decides it; this site follows it read-only",
                "接收方已接收此病例的转诊并由其 MDT 决定；本院只能查看"
            ),
        }
    }
}

/// Whether an actor at `sides` of the finding's active referral (`None`: none active) may record
/// the finding's events. An actor at both ends (or an administrator) always may.
pub fn check_work_up(active: Option<ReferralStatus>, sides: &[Side]) -> Result<(), WorkUpRefusal> {
    match active.and_then(works_up) {
        None => Ok(()),
        Some(side) if sides.contains(&side) => Ok(()),
        Some(Side::Sending) => Err(WorkUpRefusal::NotAcceptedYet),
        Some(Side::Receiving) => Err(WorkUpRefusal::WithTheReceivingSite),
    }
}

/// The outcome the sending site is told of when an event moves a finding from `before` to
/// `after`: the new closed state, when the finding closes (or closes differently) while its
/// referral is accepted. Reopening, or any move between open states, tells nothing.
pub fn outcome_to_report(
    referral: Option<ReferralStatus>,
    before: FindingStatus,
    after: FindingStatus,
) -> Option<FindingStatus> {
    (referral == Some(ReferralStatus::Accepted) && after.is_closed() && after != before).then_some(after)
}
