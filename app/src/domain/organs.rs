//! The organs screened for cancer and the classes each screening model reports for them, named as
//! in the seed's API output (the `tumor_probabilities` block: organ -> class -> probability).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Organ {
    Lung,
    Breast,
    Esophagus,
    Stomach,
    Colorectal,
    Liver,
    Pancreas,
    Kidney,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown organ `{0}` (expected one of lung, breast, esophagus, stomach, colorectal, liver, pancreas, kidney)")]
pub struct UnknownOrgan(pub String);

impl UnknownOrgan {
    pub fn said(&self) -> crate::domain::said::Said {
        let organ = &self.0;
        crate::said!(
            "unknown organ `{organ}` (expected one of lung, breast, esophagus, stomach, colorectal, liver, pancreas, kidney)",
            "未知器官“{organ}”（应为 lung, breast, esophagus, stomach, colorectal, liver, pancreas, kidney 之一）"
        )
    }
}

impl Organ {
    pub const ALL: [Organ; 8] = [
        Organ::Lung,
        Organ::Breast,
        Organ::Esophagus,
        Organ::Stomach,
        Organ::Colorectal,
        Organ::Liver,
        Organ::Pancreas,
        Organ::Kidney,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Organ::Lung => "lung",
            Organ::Breast => "breast",
            Organ::Esophagus => "esophagus",
            Organ::Stomach => "stomach",
            Organ::Colorectal => "colorectal",
            Organ::Liver => "liver",
            Organ::Pancreas => "pancreas",
            Organ::Kidney => "kidney",
        }
    }

    /// The cancer as a coordinator names it on the worklist.
    pub fn cancer_label(self) -> &'static str {
        match self {
            Organ::Lung => "Lung cancer",
            Organ::Breast => "Breast cancer",
            Organ::Esophagus => "Esophageal cancer",
            Organ::Stomach => "Gastric cancer",
            Organ::Colorectal => "Colorectal cancer",
            Organ::Liver => "Liver cancer",
            Organ::Pancreas => "Pancreatic cancer",
            Organ::Kidney => "Kidney cancer",
        }
    }

    /// The classes the screening output reports for this organ (seed API labels).
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            Organ::Lung => &["Cancer"],
            Organ::Breast => &["BC"],
            Organ::Esophagus => &["EC", "nonEC"],
            Organ::Stomach => &["GC"],
            Organ::Colorectal => &["CRC"],
            Organ::Liver => &["HCC", "other_malignant", "other_benign", "cyst"],
            Organ::Pancreas => &["PDAC", "nonPDAC"],
            Organ::Kidney => &["RCC"],
        }
    }
}

impl std::str::FromStr for Organ {
    type Err = UnknownOrgan;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Organ::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| UnknownOrgan(s.to_owned()))
    }
}

impl std::fmt::Display for Organ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The organ's cancer, as [`Organ::cancer_label`] names it.
impl crate::domain::language::Labelled for Organ {
    fn label_en(self) -> &'static str {
        self.cancer_label()
    }

    /// The names of the National Health Commission's diagnosis and treatment guidelines (see
    /// [`crate::domain::glossary`]).
    fn label_zh(self) -> &'static str {
        match self {
            Organ::Lung => "肺癌",
            Organ::Breast => "乳腺癌",
            Organ::Esophagus => "食管癌",
            Organ::Stomach => "胃癌",
            Organ::Colorectal => "结直肠癌",
            Organ::Liver => "肝癌",
            Organ::Pancreas => "胰腺癌",
            Organ::Kidney => "肾癌",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_organ_round_trips_through_its_name() {
        for organ in Organ::ALL {
            assert_eq!(organ.as_str().parse::<Organ>(), Ok(organ));
            assert!(!organ.classes().is_empty());
        }
        assert!("Liver".parse::<Organ>().is_err());
    }

    #[test]
    fn class_labels_match_the_seed_api() {
        assert_eq!(Organ::Liver.classes(), ["HCC", "other_malignant", "other_benign", "cyst"]);
        assert_eq!(Organ::Pancreas.classes(), ["PDAC", "nonPDAC"]);
        assert_eq!(Organ::Esophagus.classes(), ["EC", "nonEC"]);
        assert_eq!(Organ::Lung.classes(), ["Cancer"]);
    }
}
