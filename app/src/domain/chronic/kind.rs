//! The chronic conditions screening reports beside the eight cancers (the "+5" of "8+5"), and the
//! criterion that raised each finding.

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChronicKind {
    /// Fatty liver.
    Steatosis,
    /// Low bone density, from osteopenia to likely osteoporosis.
    Osteoporosis,
    /// Coronary artery calcium.
    CoronaryCalcium,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chronic finding kind `{0}`")]
pub struct UnknownKind(pub String);

impl ChronicKind {
    pub const ALL: [ChronicKind; 3] = [ChronicKind::Steatosis, ChronicKind::Osteoporosis, ChronicKind::CoronaryCalcium];

    pub fn as_str(self) -> &'static str {
        match self {
            ChronicKind::Steatosis => "steatosis",
            ChronicKind::Osteoporosis => "osteoporosis",
            ChronicKind::CoronaryCalcium => "coronary_calcium",
        }
    }

    /// The unit of the figure the finding follows.
    pub fn unit(self) -> &'static str {
        match self {
            ChronicKind::Steatosis | ChronicKind::Osteoporosis => "HU",
            ChronicKind::CoronaryCalcium => "mm³",
        }
    }

    /// What the followed figure is, in words.
    pub fn measure_en(self) -> &'static str {
        match self {
            ChronicKind::Steatosis => "Liver attenuation",
            ChronicKind::Osteoporosis => "L1 trabecular attenuation",
            ChronicKind::CoronaryCalcium => "Coronary calcium volume",
        }
    }

    pub fn measure_zh(self) -> &'static str {
        match self {
            ChronicKind::Steatosis => "肝脏CT值",
            ChronicKind::Osteoporosis => "L1椎体松质骨CT值",
            ChronicKind::CoronaryCalcium => "冠状动脉钙化体积",
        }
    }

    /// Whether a lower figure is worse (attenuations) or a higher one (calcium).
    pub fn lower_is_worse(self) -> bool {
        !matches!(self, ChronicKind::CoronaryCalcium)
    }
}

impl std::str::FromStr for ChronicKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChronicKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl Labelled for ChronicKind {
    fn label_en(self) -> &'static str {
        match self {
            ChronicKind::Steatosis => "Fatty liver (steatosis)",
            ChronicKind::Osteoporosis => "Low bone density",
            ChronicKind::CoronaryCalcium => "Coronary artery calcium",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            ChronicKind::Steatosis => "脂肪肝",
            ChronicKind::Osteoporosis => "骨密度降低",
            ChronicKind::CoronaryCalcium => "冠状动脉钙化",
        }
    }
}

/// Which rule raised the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    LiverBelow,
    LiverMinusSpleenBelow,
    OsteoporosisLikely,
    LowBoneDensity,
    CoronaryCalciumAbove,
}

impl Criterion {
    pub const ALL: [Criterion; 5] = [
        Criterion::LiverBelow,
        Criterion::LiverMinusSpleenBelow,
        Criterion::OsteoporosisLikely,
        Criterion::LowBoneDensity,
        Criterion::CoronaryCalciumAbove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::LiverBelow => "liver_below",
            Criterion::LiverMinusSpleenBelow => "liver_minus_spleen_below",
            Criterion::OsteoporosisLikely => "osteoporosis_likely",
            Criterion::LowBoneDensity => "low_bone_density",
            Criterion::CoronaryCalciumAbove => "coronary_calcium_above",
        }
    }

    pub fn kind(self) -> ChronicKind {
        match self {
            Criterion::LiverBelow | Criterion::LiverMinusSpleenBelow => ChronicKind::Steatosis,
            Criterion::OsteoporosisLikely | Criterion::LowBoneDensity => ChronicKind::Osteoporosis,
            Criterion::CoronaryCalciumAbove => ChronicKind::CoronaryCalcium,
        }
    }
}

impl std::str::FromStr for Criterion {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Criterion::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl Labelled for Criterion {
    fn label_en(self) -> &'static str {
        match self {
            Criterion::LiverBelow => "Liver attenuation below the cut-off",
            Criterion::LiverMinusSpleenBelow => "Liver minus spleen below the cut-off",
            Criterion::OsteoporosisLikely => "Osteoporosis likely",
            Criterion::LowBoneDensity => "Low bone density (osteopenia range)",
            Criterion::CoronaryCalciumAbove => "Coronary calcium above the cut-off",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            Criterion::LiverBelow => "肝脏CT值低于界值",
            Criterion::LiverMinusSpleenBelow => "肝脾CT值差低于界值",
            Criterion::OsteoporosisLikely => "可能骨质疏松",
            Criterion::LowBoneDensity => "骨量减少",
            Criterion::CoronaryCalciumAbove => "冠状动脉钙化超过界值",
        }
    }
}
