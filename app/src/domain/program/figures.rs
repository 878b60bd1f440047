//! The figures of the programme table and which positives each one counts.
//!
//! Every figure is a predicate over one positive (`Figure::includes`), and the count is the
//! number of positives it includes: the page's number and the list behind it are the same
//! predicate over the same rows, so they reconcile by construction. The outcome figures are the
//! classes of one partition (`Figure::outcome_of`).

use serde::{Deserialize, Serialize};
use time::Date;

use super::stats::{Proportion, percentile, wilson};
use crate::domain::followup::FindingStatus;
use crate::domain::followup::event::ConfirmedBy;

/// One AI-positive finding as the programme counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positive {
    pub status: FindingStatus,
    /// What confirmed a malignancy (required for `confirmed_malignant` and `referred_to_mdt`).
    pub confirmed_by: Option<ConfirmedBy>,
    /// A work-up was ordered at some point (even if the finding was reopened since).
    pub workup_ordered: bool,
    /// Open and past its service-level due date today.
    pub overdue: bool,
    /// The CT's date, and the dates the story reached its milestones.
    pub scan_date: Date,
    pub outcome_date: Option<Date>,
    pub decision_date: Option<Date>,
    pub treatment_date: Option<Date>,
}

impl Positive {
    /// Days from the scan to the outcome, for a positive whose outcome is known (not still
    /// followed): the programme's "days to outcome".
    pub fn days_to_outcome(&self) -> Option<i64> {
        let known = Figure::outcome_of(self).is_some_and(|f| f != Figure::Open);
        self.outcome_date.filter(|_| known).map(|d| (d - self.scan_date).whole_days())
    }

    /// Days from the scan to the tumour board's first decision.
    pub fn days_to_decision(&self) -> Option<i64> {
        self.decision_date.map(|d| (d - self.scan_date).whole_days())
    }

    /// Days from the scan to the start of treatment.
    pub fn days_to_treatment(&self) -> Option<i64> {
        self.treatment_date.map(|d| (d - self.scan_date).whole_days())
    }
}

/// The figures of one cancer's row: the positives, those reviewed and those with a work-up,
/// then the partition of the positives by where they stand, and the overdue open ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    Positive,
    Reviewed,
    WorkupOrdered,
    Dismissed,
    ConfirmedPathology,
    ConfirmedImaging,
    Benign,
    NoLesion,
    Declined,
    Lost,
    Open,
    Overdue,
}

impl Figure {
    pub const ALL: [Figure; 12] = [
        Figure::Positive,
        Figure::Reviewed,
        Figure::WorkupOrdered,
        Figure::Dismissed,
        Figure::ConfirmedPathology,
        Figure::ConfirmedImaging,
        Figure::Benign,
        Figure::NoLesion,
        Figure::Declined,
        Figure::Lost,
        Figure::Open,
        Figure::Overdue,
    ];

    /// The classes that partition the positives: positive = the sum of these.
    pub const OUTCOMES: [Figure; 8] = [
        Figure::Dismissed,
        Figure::ConfirmedPathology,
        Figure::ConfirmedImaging,
        Figure::Benign,
        Figure::NoLesion,
        Figure::Declined,
        Figure::Lost,
        Figure::Open,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Figure::Positive => "positive",
            Figure::Reviewed => "reviewed",
            Figure::WorkupOrdered => "workup_ordered",
            Figure::Dismissed => "dismissed",
            Figure::ConfirmedPathology => "confirmed_pathology",
            Figure::ConfirmedImaging => "confirmed_imaging",
            Figure::Benign => "benign",
            Figure::NoLesion => "no_lesion",
            Figure::Declined => "declined",
            Figure::Lost => "lost",
            Figure::Open => "open",
            Figure::Overdue => "overdue",
        }
    }

    pub fn parse(name: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The partition class of a positive: where it stands now. A finding referred to the
    /// tumour board counts under how its cancer was confirmed; a malignancy recorded without
    /// its basis (which the follow-up rules refuse) has no class.
    pub fn outcome_of(positive: &Positive) -> Option<Figure> {
        use FindingStatus as S;
        Some(match positive.status {
            S::New | S::InReview | S::WorkupOrdered | S::WorkupScheduled | S::WorkupDone => Figure::Open,
            S::Dismissed => Figure::Dismissed,
            S::ConfirmedMalignant | S::ReferredToMdt => match positive.confirmed_by? {
                ConfirmedBy::Pathology => Figure::ConfirmedPathology,
                ConfirmedBy::Imaging => Figure::ConfirmedImaging,
            },
            S::Benign => Figure::Benign,
            S::NoLesion => Figure::NoLesion,
            S::Declined => Figure::Declined,
            S::LostToFollowup => Figure::Lost,
        })
    }

    /// Whether this figure counts `positive`.
    pub fn includes(self, positive: &Positive) -> bool {
        match self {
            Figure::Positive => true,
            // Someone has looked at it: it has left `new`.
            Figure::Reviewed => positive.status != FindingStatus::New,
            Figure::WorkupOrdered => positive.workup_ordered,
            Figure::Overdue => positive.status.is_open() && positive.overdue,
            outcome => Figure::outcome_of(positive) == Some(outcome),
        }
    }
}

impl crate::domain::language::Labelled for Figure {
    fn label_en(self) -> &'static str {
        match self {
            Figure::Positive => "AI-positive",
            Figure::Reviewed => "Reviewed",
            Figure::WorkupOrdered => "Work-up ordered",
            Figure::Dismissed => "Dismissed",
            Figure::ConfirmedPathology => "Confirmed by pathology",
            Figure::ConfirmedImaging => "Confirmed by imaging",
            Figure::Benign => "Benign",
            Figure::NoLesion => "No lesion (false positive)",
            Figure::Declined => "Declined",
            Figure::Lost => "Lost to follow-up",
            Figure::Open => "Still followed",
            Figure::Overdue => "Overdue",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            Figure::Positive => "AI 阳性",
            Figure::Reviewed => "已审核",
            Figure::WorkupOrdered => "已申请检查",
            Figure::Dismissed => "已排除",
            Figure::ConfirmedPathology => "病理确诊",
            Figure::ConfirmedImaging => "影像确诊",
            Figure::Benign => "良性",
            Figure::NoLesion => "未见病灶（假阳性）",
            Figure::Declined => "患者拒绝",
            Figure::Lost => "失访",
            Figure::Open => "仍在随访",
            Figure::Overdue => "已逾期",
        }
    }
}

/// One cancer's (or the programme's) figures over its positives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub positive: u64,
    pub reviewed: u64,
    pub workup_ordered: u64,
    pub dismissed: u64,
    pub confirmed_pathology: u64,
    pub confirmed_imaging: u64,
    pub benign: u64,
    pub no_lesion: u64,
    pub declined: u64,
    pub lost: u64,
    pub open: u64,
    pub overdue: u64,
    /// Confirmed among the positives whose work-up reached an outcome (confirmed, benign, no
    /// lesion): the PPV as outcomes arrive. Dismissed, declined, lost and open positives have no
    /// verified outcome and are left out of both sides.
    pub ppv_resolved: Proportion,
    /// Confirmed among all positives: a lower bound while positives are still followed.
    pub ppv_all: Proportion,
    pub median_days_to_outcome: Option<f64>,
    pub p90_days_to_outcome: Option<f64>,
    pub median_days_to_decision: Option<f64>,
    pub p90_days_to_decision: Option<f64>,
    pub median_days_to_treatment: Option<f64>,
    pub p90_days_to_treatment: Option<f64>,
}

impl Tally {
    pub fn of(positives: &[Positive]) -> Tally {
        let count = |figure: Figure| positives.iter().filter(|p| figure.includes(p)).count() as u64;
        let confirmed = count(Figure::ConfirmedPathology) + count(Figure::ConfirmedImaging);
        let resolved = confirmed + count(Figure::Benign) + count(Figure::NoLesion);
        let days =
            |interval: fn(&Positive) -> Option<i64>| -> Vec<i64> { positives.iter().filter_map(interval).collect() };
        let outcome = days(Positive::days_to_outcome);
        let decision = days(Positive::days_to_decision);
        let treatment = days(Positive::days_to_treatment);
        Tally {
            positive: count(Figure::Positive),
            reviewed: count(Figure::Reviewed),
            workup_ordered: count(Figure::WorkupOrdered),
            dismissed: count(Figure::Dismissed),
            confirmed_pathology: count(Figure::ConfirmedPathology),
            confirmed_imaging: count(Figure::ConfirmedImaging),
            benign: count(Figure::Benign),
            no_lesion: count(Figure::NoLesion),
            declined: count(Figure::Declined),
            lost: count(Figure::Lost),
            open: count(Figure::Open),
            overdue: count(Figure::Overdue),
            ppv_resolved: wilson(confirmed, resolved),
            ppv_all: wilson(confirmed, positives.len() as u64),
            median_days_to_outcome: percentile(&outcome, 50.0),
            p90_days_to_outcome: percentile(&outcome, 90.0),
            median_days_to_decision: percentile(&decision, 50.0),
            p90_days_to_decision: percentile(&decision, 90.0),
            median_days_to_treatment: percentile(&treatment, 50.0),
            p90_days_to_treatment: percentile(&treatment, 90.0),
        }
    }

    pub fn get(&self, figure: Figure) -> u64 {
        match figure {
            Figure::Positive => self.positive,
            Figure::Reviewed => self.reviewed,
            Figure::WorkupOrdered => self.workup_ordered,
            Figure::Dismissed => self.dismissed,
            Figure::ConfirmedPathology => self.confirmed_pathology,
            Figure::ConfirmedImaging => self.confirmed_imaging,
            Figure::Benign => self.benign,
            Figure::NoLesion => self.no_lesion,
            Figure::Declined => self.declined,
            Figure::Lost => self.lost,
            Figure::Open => self.open,
            Figure::Overdue => self.overdue,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    fn positive(status: FindingStatus, confirmed_by: Option<ConfirmedBy>) -> Positive {
        Positive {
            status,
            confirmed_by,
            workup_ordered: false,
            overdue: false,
            scan_date: date!(2026 - 05 - 08),
            outcome_date: None,
            decision_date: None,
            treatment_date: None,
        }
    }

    #[test]
    fn a_referred_cancer_counts_under_how_it_was_confirmed() {
        let p = positive(FindingStatus::ReferredToMdt, Some(ConfirmedBy::Pathology));
        assert_eq!(Figure::outcome_of(&p), Some(Figure::ConfirmedPathology));
        let i = positive(FindingStatus::ConfirmedMalignant, Some(ConfirmedBy::Imaging));
        assert_eq!(Figure::outcome_of(&i), Some(Figure::ConfirmedImaging));
        assert_eq!(Figure::outcome_of(&positive(FindingStatus::ConfirmedMalignant, None)), None);
    }

    #[test]
    fn a_hand_counted_programme() {
        use ConfirmedBy::*;
        use FindingStatus as S;
        let mut rows = vec![
            positive(S::New, None),
            positive(S::InReview, None),
            positive(S::WorkupScheduled, None),
            positive(S::Dismissed, None),
            positive(S::ConfirmedMalignant, Some(Pathology)),
            positive(S::ReferredToMdt, Some(Pathology)),
            positive(S::ConfirmedMalignant, Some(Imaging)),
            positive(S::Benign, None),
            positive(S::NoLesion, None),
            positive(S::NoLesion, None),
            positive(S::Declined, None),
            positive(S::LostToFollowup, None),
        ];
        rows[2].workup_ordered = true;
        rows[2].overdue = true;
        // Overdue counts open findings only.
        rows[3].overdue = true;
        rows[4].outcome_date = Some(date!(2026 - 05 - 18));
        rows[5].outcome_date = Some(date!(2026 - 05 - 28));
        rows[5].decision_date = Some(date!(2026 - 06 - 04));
        rows[5].treatment_date = Some(date!(2026 - 06 - 20));
        rows[6].outcome_date = Some(date!(2026 - 05 - 12));
        let t = Tally::of(&rows);
        assert_eq!((t.positive, t.reviewed, t.workup_ordered, t.open, t.overdue), (12, 11, 1, 3, 1));
        assert_eq!((t.confirmed_pathology, t.confirmed_imaging, t.benign, t.no_lesion), (2, 1, 1, 2));
        assert_eq!((t.dismissed, t.declined, t.lost), (1, 1, 1));
        // 3 confirmed of 6 resolved (3 + 1 benign + 2 no lesion); 3 of 12 positives.
        assert_eq!((t.ppv_resolved.numerator, t.ppv_resolved.denominator), (3, 6));
        assert_eq!((t.ppv_all.numerator, t.ppv_all.denominator), (3, 12));
        // Days to outcome 10, 20, 4: median 10, p90 = 10 + 0.8 * 10.
        assert_eq!((t.median_days_to_outcome, t.p90_days_to_outcome), (Some(10.0), Some(18.0)));
        assert_eq!((t.median_days_to_decision, t.median_days_to_treatment), (Some(27.0), Some(43.0)));
    }

    #[test]
    fn no_positives_is_all_zero_and_no_estimate() {
        let t = Tally::of(&[]);
        assert!(Figure::ALL.iter().all(|f| t.get(*f) == 0));
        assert_eq!((t.ppv_resolved.value, t.ppv_all.value, t.median_days_to_outcome), (None, None, None));
    }

    #[test]
    fn every_figure_parses_from_its_name() {
        for figure in Figure::ALL {
            assert_eq!(Figure::parse(figure.as_str()), Some(figure));
        }
        assert_eq!(Figure::parse("Positive"), None);
    }

    fn any_positive() -> impl Strategy<Value = Positive> {
        (
            proptest::sample::select(FindingStatus::ALL.to_vec()),
            proptest::option::of(proptest::sample::select(ConfirmedBy::ALL.to_vec())),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(status, by, workup, overdue)| {
                let mut p = positive(status, by);
                if matches!(status, FindingStatus::ConfirmedMalignant | FindingStatus::ReferredToMdt) {
                    p.confirmed_by = Some(by.unwrap_or(ConfirmedBy::Pathology));
                }
                p.workup_ordered = workup;
                p.overdue = overdue;
                p
            })
    }

    proptest! {
        #[test]
        fn the_outcomes_partition_the_positives(rows in proptest::collection::vec(any_positive(), 0..60)) {
            let t = Tally::of(&rows);
            let sum: u64 = Figure::OUTCOMES.iter().map(|f| t.get(*f)).sum();
            prop_assert_eq!(sum, t.positive);
            for row in &rows {
                let classes = Figure::OUTCOMES.iter().filter(|f| f.includes(row)).count();
                prop_assert_eq!(classes, 1);
            }
            prop_assert!(t.overdue <= t.open);
            prop_assert!(t.reviewed <= t.positive);
        }
    }
}
