//! Shadow mode: a new model version screens the same series as the live one, its results are
//! kept apart (no finding is raised from them), and the two are compared series by series
//! before the new version goes live. What changes for the programme is which series would have
//! raised findings: positives gained (the shadow flags a series the live version did not) and
//! lost (the live version flags a series the shadow does not), overall and per output.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::program::{Proportion, wilson};

/// One series screened by both: the outputs (`organ/class`) each found positive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pair {
    pub live: BTreeSet<String>,
    pub shadow: BTreeSet<String>,
}

/// Agreement on one question (a series positive at all, or one output positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Agreement {
    pub both: u64,
    pub neither: u64,
    /// Positive by the shadow only.
    pub gained: u64,
    /// Positive by the live version only.
    pub lost: u64,
}

impl Agreement {
    fn add(&mut self, live: bool, shadow: bool) {
        match (live, shadow) {
            (true, true) => self.both += 1,
            (false, false) => self.neither += 1,
            (false, true) => self.gained += 1,
            (true, false) => self.lost += 1,
        }
    }

    pub fn series(&self) -> u64 {
        self.both + self.neither + self.gained + self.lost
    }

    /// Series on which the two agree, among all compared (with its Wilson interval).
    pub fn agreement(&self) -> Proportion {
        wilson(self.both + self.neither, self.series())
    }
}

/// The comparison over a set of series: whether each series is positive at all, and each
/// output either version found positive somewhere.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Comparison {
    pub series: Agreement,
    pub outputs: BTreeMap<String, Agreement>,
}

pub fn compare(pairs: &[Pair]) -> Comparison {
    let mut out = Comparison::default();
    let named: BTreeSet<&String> = pairs.iter().flat_map(|p| p.live.iter().chain(&p.shadow)).collect();
    for pair in pairs {
        out.series.add(!pair.live.is_empty(), !pair.shadow.is_empty());
        for output in &named {
            out.outputs
                .entry((*output).clone())
                .or_default()
                .add(pair.live.contains(*output), pair.shadow.contains(*output));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(live: &[&str], shadow: &[&str]) -> Pair {
        Pair {
            live: live.iter().map(|s| (*s).to_owned()).collect(),
            shadow: shadow.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_hand_counted_comparison() {
        let pairs = [
            pair(&["lung/Cancer"], &["lung/Cancer"]),              // both
            pair(&["lung/Cancer"], &[]),                           // lost
            pair(&[], &["liver/HCC"]),                             // gained
            pair(&[], &[]),                                        // neither
            pair(&["liver/HCC"], &["lung/Cancer"]),                // series: both; outputs: swap
            pair(&["lung/Cancer", "liver/HCC"], &["lung/Cancer"]), // both; liver lost
        ];
        let c = compare(&pairs);
        assert_eq!(c.series, Agreement { both: 3, neither: 1, gained: 1, lost: 1 });
        assert_eq!(c.series.agreement().numerator, 4);
        assert_eq!(c.series.agreement().denominator, 6);
        assert_eq!(c.outputs["lung/Cancer"], Agreement { both: 2, neither: 2, gained: 1, lost: 1 });
        assert_eq!(c.outputs["liver/HCC"], Agreement { both: 0, neither: 3, gained: 1, lost: 2 });
        assert_eq!(c.outputs.len(), 2);
        assert_eq!(compare(&[]), Comparison::default());
    }

    fn outputs() -> impl Strategy<Value = BTreeSet<String>> {
        prop::collection::btree_set(
            prop::sample::select(vec!["a/x".to_owned(), "b/y".to_owned(), "c/z".to_owned()]),
            0..3,
        )
    }

    proptest! {
        #[test]
        fn every_series_counts_once_in_every_tally(pairs in prop::collection::vec((outputs(), outputs()), 0..60)) {
            let pairs: Vec<Pair> = pairs.into_iter().map(|(live, shadow)| Pair { live, shadow }).collect();
            let c = compare(&pairs);
            prop_assert_eq!(c.series.series(), pairs.len() as u64);
            for (output, a) in &c.outputs {
                prop_assert_eq!(a.series(), pairs.len() as u64);
                let live = pairs.iter().filter(|p| p.live.contains(output)).count() as u64;
                let shadow = pairs.iter().filter(|p| p.shadow.contains(output)).count() as u64;
                prop_assert_eq!(a.both + a.lost, live);
                prop_assert_eq!(a.both + a.gained, shadow);
            }
            // Identical verdicts agree everywhere.
            let same: Vec<Pair> = pairs.iter().map(|p| Pair { live: p.live.clone(), shadow: p.live.clone() }).collect();
            let c = compare(&same);
            prop_assert_eq!(c.series.gained + c.series.lost, 0);
        }
    }
}
