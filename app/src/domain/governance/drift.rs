//! Drift: a model version's positive rate (series with at least one positive, among the series
//! it screened) in its most recent window, against the band it showed in its calibration period
//! (its first window in use). A scanner protocol change, a new referral stream or a broken
//! preprocessing step moves the positive rate long before outcomes arrive to move the PPV.
//!
//! The band is the 95 % Wilson interval of the calibration window's rate; the recent window has
//! drifted when its own 95 % interval lies wholly above or below the band. Comparing intervals,
//! not point rates, keeps a few dozen series from raising an alarm on noise; a window with fewer
//! than [`MIN_SERIES`] series decides nothing.

use serde::{Deserialize, Serialize};

use crate::domain::program::{Proportion, wilson};

/// The length of the calibration and recent windows, in days.
pub const WINDOW_DAYS: i64 = 28;
/// Fewer series than this in either window: no verdict.
pub const MIN_SERIES: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// A window has fewer than [`MIN_SERIES`] series.
    TooFew,
    Within,
    /// The recent rate is above the band: more positives than calibrated for.
    Above,
    /// The recent rate is below the band: positives are being missed, or the population changed.
    Below,
}

impl Drift {
    pub fn as_str(self) -> &'static str {
        match self {
            Drift::TooFew => "too_few",
            Drift::Within => "within",
            Drift::Above => "above",
            Drift::Below => "below",
        }
    }

    /// Whether an administrator should look.
    pub fn alert(self) -> bool {
        matches!(self, Drift::Above | Drift::Below)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftCheck {
    /// The calibration window's rate; its interval is the band.
    pub calibration: Proportion,
    pub recent: Proportion,
    pub drift: Drift,
}

/// `(positive series, series)` of the calibration window and of the recent window.
pub fn assess(calibration: (u64, u64), recent: (u64, u64)) -> DriftCheck {
    let (band, now) = (wilson(calibration.0, calibration.1), wilson(recent.0, recent.1));
    let drift = if calibration.1 < MIN_SERIES || recent.1 < MIN_SERIES {
        Drift::TooFew
    } else {
        match (band.ci_low, band.ci_high, now.ci_low, now.ci_high) {
            (_, Some(high), Some(low), _) if low > high => Drift::Above,
            (Some(low), _, _, Some(high)) if high < low => Drift::Below,
            _ => Drift::Within,
        }
    };
    DriftCheck { calibration: band, recent: now, drift }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calibrated at 10 of 100: the band is the Wilson interval [0.0552, 0.1744] (computed
    /// independently: p = 0.1, n = 100, z = 1.95996). Each recent count's interval, computed the
    /// same way, decides the verdict:
    #[test]
    fn each_recent_count_against_a_hand_computed_band() {
        let cases = [
            (28, Drift::Above),  // [0.2014, 0.3749]: wholly above 0.1744
            (27, Drift::Above),  // [0.1927, 0.3643]
            (26, Drift::Above),  // [0.1840, 0.3537]
            (15, Drift::Within), // [0.0931, 0.2328]
            (10, Drift::Within), // the calibration rate itself
            (2, Drift::Within),  // [0.0055, 0.0700]: overlaps the band's 0.0552
            (1, Drift::Below),   // [0.0018, 0.0545]: wholly below 0.0552
            (0, Drift::Below),   // [0, 0.0370]
        ];
        for (positives, expected) in cases {
            let check = assess((10, 100), (positives, 100));
            assert_eq!(check.drift, expected, "{positives} of 100");
            assert_eq!(check.drift.alert(), expected != Drift::Within);
        }
        let band = assess((10, 100), (10, 100)).calibration;
        assert!((band.ci_low.unwrap_or_default() - 0.055_229).abs() < 1e-6);
        assert!((band.ci_high.unwrap_or_default() - 0.174_366).abs() < 1e-6);
    }

    #[test]
    fn small_windows_decide_nothing() {
        assert_eq!(assess((10, 100), (40, 49)).drift, Drift::TooFew);
        assert_eq!(assess((5, 49), (40, 100)).drift, Drift::TooFew);
        assert_eq!(assess((0, 0), (0, 0)).drift, Drift::TooFew);
        assert_eq!(assess((10, 50), (10, 50)).drift, Drift::Within, "50 series is enough");
    }
}
