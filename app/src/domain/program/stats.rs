//! The statistics the dashboard reports: a proportion with its Wilson score interval, and
//! percentiles of waiting times.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95 % interval (the 0.975 quantile of the standard normal).
const Z_95: f64 = 1.959_963_984_540_054;

/// A proportion `numerator / denominator` with its 95 % Wilson score interval; `None` values
/// when the denominator is zero (no estimate, rather than a misleading 0 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub numerator: u64,
    pub denominator: u64,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The Wilson score interval without continuity correction (Wilson, J Am Stat Assoc 1927;
/// method 3 in Newcombe, Stat Med 1998;17:857-872). Unlike the Wald interval it stays inside
/// [0, 1] and behaves at 0 and n, which matters for a programme's first few outcomes.
pub fn wilson(successes: u64, trials: u64) -> Proportion {
    if trials == 0 {
        return Proportion { numerator: successes, denominator: 0, value: None, ci_low: None, ci_high: None };
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z_95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Proportion {
        numerator: successes,
        denominator: trials,
        value: Some(p),
        // At 0 and n the bound is exactly 0 or 1 (rounding would leave it a hair inside).
        ci_low: Some(if successes == 0 { 0.0 } else { (centre - half).max(0.0) }),
        ci_high: Some(if successes >= trials { 1.0 } else { (centre + half).min(1.0) }),
    }
}

/// The `p`-th percentile (0 to 100) by linear interpolation between closest ranks (Hyndman and
/// Fan's type 7, the default of R's `quantile` and numpy's `percentile`); the median is
/// `percentile(.., 50.0)`. `None` for no values.
pub fn percentile(values: &[i64], p: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let below = h.floor() as usize;
    let above = h.ceil() as usize;
    Some(sorted[below] as f64 + (h - below as f64) * (sorted[above] - sorted[below]) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounded(x: Option<f64>) -> f64 {
        (x.expect("a value") * 10_000.0).round() / 10_000.0
    }

    #[test]
    fn wilson_matches_newcombes_published_examples() {
        // Newcombe 1998, Table I, method 3 (score interval without continuity correction).
        for (k, n, low, high) in
            [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]
        {
            let p = wilson(k, n);
            assert_eq!((rounded(p.ci_low), rounded(p.ci_high)), (low, high), "{k}/{n}");
            assert_eq!(p.value, Some(k as f64 / n as f64));
        }
    }

    #[test]
    fn wilson_of_nothing_is_no_estimate_and_all_is_bounded_by_one() {
        let none = wilson(0, 0);
        assert_eq!((none.value, none.ci_low, none.ci_high), (None, None, None));
        let all = wilson(10, 10);
        assert_eq!(all.ci_high, Some(1.0));
        // 10/10: lower bound n / (n + z²) = 10 / 13.8415 (hand-computed).
        assert_eq!(rounded(all.ci_low), 0.7225);
    }

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 90.0), Some(7.0));
        assert_eq!(percentile(&[3, 1, 2], 50.0), Some(2.0));
        assert_eq!(percentile(&[4, 1, 3, 2], 50.0), Some(2.5));
        // numpy.percentile(range(1, 11), 90) == 9.1
        assert_eq!(percentile(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 90.0).map(|v| (v * 10.0).round()), Some(91.0));
        assert_eq!(percentile(&[1, 2], 101.0), None);
    }
}
