//! Size history → growth: the change in diameter, the volume change, and the volume doubling
//! time between two sightings.
//!
//! Volumes are those of the sphere of the sighting's diameter (the screening model reports the
//! diameter of a sphere of the lesion's volume), V = π d³ / 6. The volume doubling time is
//! VDT = t · ln 2 / ln(V₂ / V₁) (Schwartz M, Cancer 1961;14:1272-1294), t in days; with spherical
//! volumes ln(V₂/V₁) = 3 · ln(d₂/d₁). It is only defined for growth: a lesion that shrank or kept
//! its size has none.
//!
//! For lung nodules the NELSON trial's categories apply (Horeweg N et al., Lancet Oncol
//! 2014;15:1332-1341): a VDT below 400 days calls for work-up, 400 to 600 days is
//! indeterminate, above 600 days is slow growth. Other organs have no validated VDT cut-off and
//! get no category.

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;

/// NELSON: a lung nodule doubling faster than this (days) calls for work-up.
pub const NELSON_FAST_DAYS: f64 = 400.0;
/// NELSON: slower than this (days) is slow growth.
pub const NELSON_SLOW_DAYS: f64 = 600.0;

/// The volume of a sphere of `diameter_mm` (mm³).
pub fn volume_mm3(diameter_mm: f64) -> f64 {
    std::f64::consts::PI * diameter_mm.powi(3) / 6.0
}

/// VDT in days between a lesion of `first_mm` and one of `second_mm` `days` later; `None`
/// unless it grew over a positive interval.
pub fn doubling_time_days(first_mm: f64, second_mm: f64, days: f64) -> Option<f64> {
    let valid = first_mm.is_finite() && second_mm.is_finite() && days.is_finite();
    if !valid || first_mm <= 0.0 || second_mm <= first_mm || days <= 0.0 {
        return None;
    }
    Some(days * std::f64::consts::LN_2 / (3.0 * (second_mm / first_mm).ln()))
}

/// NELSON's reading of a lung nodule's VDT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NelsonCategory {
    /// Below 400 days.
    Fast,
    /// 400 to 600 days.
    Indeterminate,
    /// Above 600 days.
    Slow,
}

impl NelsonCategory {
    pub const ALL: [NelsonCategory; 3] = [NelsonCategory::Fast, NelsonCategory::Indeterminate, NelsonCategory::Slow];

    pub fn of(vdt_days: f64) -> NelsonCategory {
        if vdt_days < NELSON_FAST_DAYS {
            NelsonCategory::Fast
        } else if vdt_days <= NELSON_SLOW_DAYS {
            NelsonCategory::Indeterminate
        } else {
            NelsonCategory::Slow
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NelsonCategory::Fast => "fast",
            NelsonCategory::Indeterminate => "indeterminate",
            NelsonCategory::Slow => "slow",
        }
    }
}

impl Labelled for NelsonCategory {
    fn label_en(self) -> &'static str {
        match self {
            NelsonCategory::Fast => "Fast growth (VDT under 400 days): work-up advised",
            NelsonCategory::Indeterminate => "Indeterminate growth (VDT 400 to 600 days)",
            NelsonCategory::Slow => "Slow growth (VDT over 600 days)",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            NelsonCategory::Fast => "快速生长（VDT 小于 400 天）：建议进一步检查",
            NelsonCategory::Indeterminate => "生长速度不确定（VDT 400 至 600 天）",
            NelsonCategory::Slow => "缓慢生长（VDT 大于 600 天）",
        }
    }
}

/// Growth from one sighting to a later one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    pub days: i64,
    pub diameter_change_mm: f64,
    /// Diameter change per year (mm/year); `None` over a zero interval.
    pub diameter_mm_per_year: Option<f64>,
    /// Volume change in percent of the first volume.
    pub volume_change_percent: f64,
    pub doubling_time_days: Option<f64>,
    /// Lung nodules only.
    pub nelson: Option<NelsonCategory>,
}

/// Growth between a lesion of `first_mm` and one of `second_mm` `days` later in `organ`.
pub fn growth_between(organ: &str, first_mm: f64, second_mm: f64, days: i64) -> Growth {
    let vdt = doubling_time_days(first_mm, second_mm, days as f64);
    let change = second_mm - first_mm;
    Growth {
        days,
        diameter_change_mm: change,
        diameter_mm_per_year: (days > 0).then(|| change * 365.25 / days as f64),
        volume_change_percent: if first_mm > 0.0 {
            (volume_mm3(second_mm) / volume_mm3(first_mm) - 1.0) * 100.0
        } else {
            0.0
        },
        doubling_time_days: vdt,
        nelson: vdt.filter(|_| organ == "lung").map(NelsonCategory::of),
    }
}
