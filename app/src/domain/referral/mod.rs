//! Cross-site referral in a tiered hospital network (community, county, municipal, provincial): a
//! coordinator at the site that screened a finding refers it to another site of the network (or a
//! tumour-board case to another site's board: `case`); the
//! receiving site's coordinators accept it (and work it up through the finding's own lifecycle) or
//! decline it back to the sender; the sender may withdraw it. Pure rules; the service applies them
//! inside the transaction that writes the result.

pub mod case;
#[cfg(test)]
mod case_tests;
pub mod level;
pub mod lifecycle;
pub mod request;
#[cfg(test)]
mod tests;
pub mod workup;

pub use case::{BOARD_REVIEW, CaseFacts, NewCaseReferral, case_outcome_to_report, check_new_case};
pub use level::{SiteLevel, UnknownSiteLevel};
pub use lifecycle::{
    MAX_TEXT, ReferralEvent, ReferralEventKind, ReferralStatus, Refusal, Side, UnknownReferralStatus, apply, available,
    roles_for, side_for, target,
};
pub use request::{Facts, NewReferral, NewRefusal, Route, check_new, check_route};
pub use workup::{WorkUpRefusal, check_work_up, outcome_to_report, works_up};
