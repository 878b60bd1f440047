//! Service levels: when each state's next step is due. Measured from the finding's detection
//! (or its last reopening), as screening programs measure time from a positive screen to a
//! diagnosis. Due dates are derived here on every transition; "overdue" is always computed from
//! the due date and today, never set by hand.

use serde::{Deserialize, Serialize};
use time::Date;

use super::dates::{add_days, add_working_days};
use super::status::FindingStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLevels {
    /// A new finding is reviewed within this many working days.
    pub review_working_days: u32,
    /// Work-up is ordered within this many days.
    pub workup_ordered_days: u32,
    /// Work-up is done within this many days.
    pub workup_done_days: u32,
    /// The outcome is recorded within this many days.
    pub outcome_days: u32,
    /// Unsuccessful contact attempts needed before a patient may be marked lost to follow-up.
    pub contacts_before_lost: u32,
}

impl Default for ServiceLevels {
    fn default() -> Self {
        ServiceLevels {
            review_working_days: 2,
            workup_ordered_days: 7,
            workup_done_days: 30,
            outcome_days: 60,
            contacts_before_lost: 3,
        }
    }
}

impl ServiceLevels {
    /// When the step after `status` is due. `clock_start` is the detection (or reopening) date;
    /// `ordered_due` is the due date the clinician gave the work-up order, which brings the
    /// deadline forward but never pushes it past the service level. Closed states have none.
    pub fn due_date(&self, status: FindingStatus, clock_start: Date, ordered_due: Option<Date>) -> Option<Date> {
        match status {
            FindingStatus::New => Some(add_working_days(clock_start, self.review_working_days)),
            FindingStatus::InReview => Some(add_days(clock_start, self.workup_ordered_days)),
            FindingStatus::WorkupOrdered | FindingStatus::WorkupScheduled => {
                let level = add_days(clock_start, self.workup_done_days);
                Some(ordered_due.map_or(level, |d| d.min(level)))
            }
            FindingStatus::WorkupDone => Some(add_days(clock_start, self.outcome_days)),
            FindingStatus::Dismissed
            | FindingStatus::ConfirmedMalignant
            | FindingStatus::Benign
            | FindingStatus::NoLesion
            | FindingStatus::Declined
            | FindingStatus::LostToFollowup
            | FindingStatus::ReferredToMdt => None,
        }
    }
}

/// Overdue: the due date has passed. Derived, never stored.
pub fn is_overdue(due: Option<Date>, today: Date) -> bool {
    due.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const THURSDAY: Date = date!(2026 - 11 - 26);

    #[test]
    fn default_service_levels_per_state() {
        let levels = ServiceLevels::default();
        let cases = [
            (FindingStatus::New, Some(date!(2026 - 11 - 30))),
            (FindingStatus::InReview, Some(date!(2026 - 12 - 03))),
            (FindingStatus::WorkupOrdered, Some(date!(2026 - 12 - 26))),
            (FindingStatus::WorkupScheduled, Some(date!(2026 - 12 - 26))),
            (FindingStatus::WorkupDone, Some(date!(2027 - 01 - 25))),
            (FindingStatus::Dismissed, None),
            (FindingStatus::ConfirmedMalignant, None),
            (FindingStatus::Benign, None),
            (FindingStatus::NoLesion, None),
            (FindingStatus::Declined, None),
            (FindingStatus::LostToFollowup, None),
            (FindingStatus::ReferredToMdt, None),
        ];
        for (status, expected) in cases {
            assert_eq!(levels.due_date(status, THURSDAY, None), expected, "{status:?}");
        }
        // Every open state has a due date; no closed one does.
        for status in FindingStatus::ALL {
            assert_eq!(levels.due_date(status, THURSDAY, None).is_some(), status.is_open());
        }
    }

    #[test]
    fn an_earlier_order_due_date_brings_the_deadline_forward_but_a_later_one_does_not_extend_it() {
        let levels = ServiceLevels::default();
        let early = date!(2026 - 12 - 10);
        let late = date!(2027 - 03 - 01);
        assert_eq!(levels.due_date(FindingStatus::WorkupOrdered, THURSDAY, Some(early)), Some(early));
        assert_eq!(levels.due_date(FindingStatus::WorkupOrdered, THURSDAY, Some(late)), Some(date!(2026 - 12 - 26)));
    }

    #[test]
    fn overdue_is_strictly_after_the_due_date() {
        assert!(!is_overdue(Some(THURSDAY), THURSDAY));
        assert!(is_overdue(Some(THURSDAY), date!(2026 - 11 - 27)));
        assert!(!is_overdue(None, date!(2030 - 01 - 01)));
    }
}
