//! Program metrics: what a screening programme's director reports to leadership and regulators.
//! How many series the AI read, how many it flagged, and where every flagged finding stands now,
//! with the positive predictive value and its confidence interval.
//!
//! The positives are partitioned by their current state (`Figure::outcome_of`), so that the
//! outcome figures always add up to the positives: a finding counts once, under where it stands
//! today, whatever it went through (a reopened finding counts under its current state), and
//! under the site that screened it, whatever its referrals (the referral flows count the
//! referrals themselves: `flows`).

pub mod figures;
pub mod flows;
pub mod skips;
pub mod stats;
pub mod summary;

pub use figures::{Figure, Positive, Tally};
pub use flows::{FlowFigure, ReferralFlow, Referred};
pub use skips::SkipReason;
pub use stats::{Proportion, percentile, wilson};
