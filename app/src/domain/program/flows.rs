//! The referral flows of a period: for each pair of sites (the one that screened the findings and
//! the one asked to work them up), how many referrals were sent, where they stand now, how many
//! findings reached an outcome at the receiving site, and how long the receiving site took from
//! accepting a referral to having the finding worked up.
//!
//! The findings themselves are not counted here: a finding counts once in the programme table,
//! under the site that screened it, whatever its referrals (a referral moves the work-up, not
//! the finding). As in the table, every count is a predicate over one referral
//! (`FlowFigure::includes`) that the referral list's filter states exactly, so a flow's count and
//! the list behind it reconcile by construction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use super::stats::percentile;
use crate::domain::followup::FindingStatus;
use crate::domain::referral::ReferralStatus;

/// The states that say a finding has been worked up: the work-up done, or the outcome it led to
/// (a finding whose work-up was done before the referral was accepted reaches the receiving
/// site's outcome next).
pub const WORKED_UP: [FindingStatus; 4] =
    [FindingStatus::WorkupDone, FindingStatus::ConfirmedMalignant, FindingStatus::Benign, FindingStatus::NoLesion];

/// One referral as the flows count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referred {
    /// The sending site's code (the site that screened the finding) and the receiving site's.
    pub from_site: String,
    pub to_site: String,
    pub status: ReferralStatus,
    /// The finding reached an outcome while the receiving site had it (the sending site was told).
    pub outcome_reported: bool,
    /// When the receiving site accepted it (for a referral that is accepted now).
    pub accepted_at: Option<OffsetDateTime>,
    /// When the finding first reached a [`WORKED_UP`] state at or after the acceptance.
    pub worked_up_at: Option<OffsetDateTime>,
}

impl Referred {
    /// Days from the acceptance to the work-up done at the receiving site, as calendar days (UTC)
    /// like the programme's other intervals; only while the receiving site has the referral (one
    /// withdrawn after its acceptance was worked up, if at all, back at the sending site).
    pub fn days_to_workup(&self) -> Option<i64> {
        if self.status != ReferralStatus::Accepted {
            return None;
        }
        let (accepted, worked_up) = (self.accepted_at?, self.worked_up_at?);
        (worked_up >= accepted).then(|| (day(worked_up) - day(accepted)).whole_days())
    }
}

fn day(t: OffsetDateTime) -> time::Date {
    t.to_offset(UtcOffset::UTC).date()
}

/// The counts of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowFigure {
    Referred,
    Requested,
    Accepted,
    Declined,
    Withdrawn,
    OutcomeReported,
}

impl FlowFigure {
    pub const ALL: [FlowFigure; 6] = [
        FlowFigure::Referred,
        FlowFigure::Requested,
        FlowFigure::Accepted,
        FlowFigure::Declined,
        FlowFigure::Withdrawn,
        FlowFigure::OutcomeReported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowFigure::Referred => "referred",
            FlowFigure::Requested => "requested",
            FlowFigure::Accepted => "accepted",
            FlowFigure::Declined => "declined",
            FlowFigure::Withdrawn => "withdrawn",
            FlowFigure::OutcomeReported => "outcome_reported",
        }
    }

    /// The referral list's `status` filter for this figure (`None`: every status).
    pub fn status(self) -> Option<ReferralStatus> {
        match self {
            FlowFigure::Referred => None,
            FlowFigure::Requested => Some(ReferralStatus::Requested),
            FlowFigure::Accepted | FlowFigure::OutcomeReported => Some(ReferralStatus::Accepted),
            FlowFigure::Declined => Some(ReferralStatus::Declined),
            FlowFigure::Withdrawn => Some(ReferralStatus::Withdrawn),
        }
    }

    /// Whether the referral list keeps only the referrals whose outcome was reported
    /// (`outcome=reported`).
    pub fn outcome_reported(self) -> bool {
        self == FlowFigure::OutcomeReported
    }

    /// Whether this figure counts `referral`: exactly what its list filter keeps.
    pub fn includes(self, referral: &Referred) -> bool {
        self.status().is_none_or(|s| referral.status == s) && (!self.outcome_reported() || referral.outcome_reported)
    }
}

/// One flow: the referrals from one site to another made in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralFlow {
    pub from_site: String,
    pub to_site: String,
    /// Referrals made in the period, then where each stands now (the four add up to it).
    pub referred: u64,
    pub requested: u64,
    pub accepted: u64,
    pub declined: u64,
    pub withdrawn: u64,
    /// Of the accepted ones, those whose finding reached an outcome at the receiving site.
    pub outcome_reported: u64,
    /// The median of [`Referred::days_to_workup`] over the accepted ones worked up (`None`: none).
    pub median_days_to_workup: Option<f64>,
}

impl ReferralFlow {
    pub fn get(&self, figure: FlowFigure) -> u64 {
        match figure {
            FlowFigure::Referred => self.referred,
            FlowFigure::Requested => self.requested,
            FlowFigure::Accepted => self.accepted,
            FlowFigure::Declined => self.declined,
            FlowFigure::Withdrawn => self.withdrawn,
            FlowFigure::OutcomeReported => self.outcome_reported,
        }
    }

    fn of(from_site: &str, to_site: &str, referrals: &[&Referred]) -> ReferralFlow {
        let count = |figure: FlowFigure| referrals.iter().filter(|r| figure.includes(r)).count() as u64;
        let days: Vec<i64> = referrals.iter().filter_map(|r| r.days_to_workup()).collect();
        ReferralFlow {
            from_site: from_site.to_owned(),
            to_site: to_site.to_owned(),
            referred: count(FlowFigure::Referred),
            requested: count(FlowFigure::Requested),
            accepted: count(FlowFigure::Accepted),
            declined: count(FlowFigure::Declined),
            withdrawn: count(FlowFigure::Withdrawn),
            outcome_reported: count(FlowFigure::OutcomeReported),
            median_days_to_workup: percentile(&days, 50.0),
        }
    }
}

/// The flows of `referrals`, one per pair of sites that has any, by sending then receiving site.
pub fn flows(referrals: &[Referred]) -> Vec<ReferralFlow> {
    let mut by_pair: BTreeMap<(&str, &str), Vec<&Referred>> = BTreeMap::new();
    for r in referrals {
        by_pair.entry((r.from_site.as_str(), r.to_site.as_str())).or_default().push(r);
    }
    by_pair.into_iter().map(|((from, to), rows)| ReferralFlow::of(from, to, &rows)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const ACCEPTED: OffsetDateTime = datetime!(2026-05-08 16:30 UTC);

    fn referral(to: &str, status: ReferralStatus) -> Referred {
        Referred {
            from_site: "RC".into(),
            to_site: to.into(),
            status,
            outcome_reported: false,
            accepted_at: (status == ReferralStatus::Accepted).then_some(ACCEPTED),
            worked_up_at: None,
        }
    }

    fn worked_up(to: &str, after: Duration, outcome: bool) -> Referred {
        Referred {
            outcome_reported: outcome,
            worked_up_at: Some(ACCEPTED + after),
            ..referral(to, ReferralStatus::Accepted)
        }
    }

    #[test]
    fn a_hand_counted_network() {
        use ReferralStatus::*;
        let rows = vec![
            // To GH: accepted and worked up in 10 and 3 days (one to an outcome), accepted and
            // waiting, one waiting for GH's answer, one declined, one withdrawn.
            worked_up("GH", Duration::days(10), true),
            worked_up("GH", Duration::days(3), false),
            referral("GH", Accepted),
            referral("GH", Requested),
            referral("GH", Declined),
            referral("GH", Withdrawn),
            // To CT: worked up the evening of the acceptance (0 days), then the next morning (1 day,
            // though under 24 hours), and one accepted whose work-up predates the acceptance.
            worked_up("CT", Duration::hours(6), true),
            worked_up("CT", Duration::hours(16), false),
            Referred { worked_up_at: Some(ACCEPTED - Duration::days(2)), ..referral("CT", Accepted) },
        ];
        let flows = flows(&rows);
        assert_eq!(
            flows,
            [
                ReferralFlow {
                    from_site: "RC".into(),
                    to_site: "CT".into(),
                    referred: 3,
                    requested: 0,
                    accepted: 3,
                    declined: 0,
                    withdrawn: 0,
                    outcome_reported: 1,
                    // 0 and 1 day: the median is their mean.
                    median_days_to_workup: Some(0.5),
                },
                ReferralFlow {
                    from_site: "RC".into(),
                    to_site: "GH".into(),
                    referred: 6,
                    requested: 1,
                    accepted: 3,
                    declined: 1,
                    withdrawn: 1,
                    outcome_reported: 1,
                    median_days_to_workup: Some(6.5),
                },
            ]
        );
    }

    #[test]
    fn only_an_accepted_referral_has_days_to_workup() {
        let mut withdrawn = worked_up("GH", Duration::days(4), false);
        assert_eq!(withdrawn.days_to_workup(), Some(4));
        withdrawn.status = ReferralStatus::Withdrawn;
        assert_eq!(withdrawn.days_to_workup(), None);
        assert_eq!(referral("GH", ReferralStatus::Accepted).days_to_workup(), None);
        assert!(flows(&[]).is_empty());
    }

    #[test]
    fn each_figure_is_its_list_filter() {
        let reported = worked_up("GH", Duration::days(1), true);
        for figure in FlowFigure::ALL {
            let by_filter = figure.status().is_none_or(|s| s == ReferralStatus::Accepted)
                && (!figure.outcome_reported() || reported.outcome_reported);
            assert_eq!(figure.includes(&reported), by_filter, "{}", figure.as_str());
        }
        assert_eq!(serde_json::to_string(&FlowFigure::OutcomeReported).expect("json"), "\"outcome_reported\"");
    }

    fn any_referral() -> impl Strategy<Value = Referred> {
        (
            proptest::sample::select(vec!["GH", "CT", "MH"]),
            proptest::sample::select(ReferralStatus::ALL.to_vec()),
            any::<bool>(),
            proptest::option::of(-3i64..40),
        )
            .prop_map(|(to, status, outcome, days)| Referred {
                outcome_reported: outcome && status == ReferralStatus::Accepted,
                worked_up_at: days.map(|d| ACCEPTED + Duration::days(d)),
                ..referral(to, status)
            })
    }

    proptest! {
        #[test]
        fn the_statuses_partition_the_referrals(rows in proptest::collection::vec(any_referral(), 0..60)) {
            let flows = flows(&rows);
            prop_assert_eq!(flows.iter().map(|f| f.referred).sum::<u64>(), rows.len() as u64);
            for f in &flows {
                prop_assert_eq!(f.requested + f.accepted + f.declined + f.withdrawn, f.referred);
                prop_assert!(f.outcome_reported <= f.accepted);
                prop_assert!(f.median_days_to_workup.is_none_or(|d| d >= 0.0));
            }
        }
    }
}
