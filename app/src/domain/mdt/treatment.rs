//! The treatment recommendations a board chooses from, per cancer. Structured so that treatment
//! actually started can be compared with the recommendation (and a deviation asked for its
//! reason); free text and guideline references go alongside.

use serde::{Deserialize, Serialize};

use crate::domain::staging::Cancer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    EndoscopicResection,
    UpfrontResection,
    NeoadjuvantChemotherapyThenSurgery,
    NeoadjuvantChemoradiotherapyThenSurgery,
    DefinitiveChemoradiotherapy,
    DefinitiveRadiotherapy,
    StereotacticRadiotherapy,
    Ablation,
    TransarterialChemoembolisation,
    LiverTransplant,
    LarynxPreservingSurgery,
    TotalLaryngectomy,
    SystemicTherapy,
    ActiveSurveillance,
    Surveillance,
    BestSupportiveCare,
}

impl Treatment {
    pub const ALL: [Treatment; 16] = [
        Treatment::EndoscopicResection,
        Treatment::UpfrontResection,
        Treatment::NeoadjuvantChemotherapyThenSurgery,
        Treatment::NeoadjuvantChemoradiotherapyThenSurgery,
        Treatment::DefinitiveChemoradiotherapy,
        Treatment::DefinitiveRadiotherapy,
        Treatment::StereotacticRadiotherapy,
        Treatment::Ablation,
        Treatment::TransarterialChemoembolisation,
        Treatment::LiverTransplant,
        Treatment::LarynxPreservingSurgery,
        Treatment::TotalLaryngectomy,
        Treatment::SystemicTherapy,
        Treatment::ActiveSurveillance,
        Treatment::Surveillance,
        Treatment::BestSupportiveCare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::EndoscopicResection => "endoscopic_resection",
            Treatment::UpfrontResection => "upfront_resection",
            Treatment::NeoadjuvantChemotherapyThenSurgery => "neoadjuvant_chemotherapy_then_surgery",
            Treatment::NeoadjuvantChemoradiotherapyThenSurgery => "neoadjuvant_chemoradiotherapy_then_surgery",
            Treatment::DefinitiveChemoradiotherapy => "definitive_chemoradiotherapy",
            Treatment::DefinitiveRadiotherapy => "definitive_radiotherapy",
            Treatment::StereotacticRadiotherapy => "stereotactic_radiotherapy",
            Treatment::Ablation => "ablation",
            Treatment::TransarterialChemoembolisation => "transarterial_chemoembolisation",
            Treatment::LiverTransplant => "liver_transplant",
            Treatment::LarynxPreservingSurgery => "larynx_preserving_surgery",
            Treatment::TotalLaryngectomy => "total_laryngectomy",
            Treatment::SystemicTherapy => "systemic_therapy",
            Treatment::ActiveSurveillance => "active_surveillance",
            Treatment::Surveillance => "surveillance",
            Treatment::BestSupportiveCare => "best_supportive_care",
        }
    }

    pub fn parse(name: &str) -> Option<Treatment> {
        Treatment::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The options a board has for `cancer`, in the order the form lists them (curative local
    /// treatment first, then systemic, then supportive). Drawn from the treatment chapters of the
    /// NHC 2022 guidelines and NCCN (lung, esophagus, stomach, colon/rectum, hepatocellular,
    /// pancreas, kidney, breast, larynx): not advice, the menu the board picks from.
    pub fn options_for(cancer: Cancer) -> &'static [Treatment] {
        use Treatment::*;
        match cancer {
            Cancer::Lung => &[
                UpfrontResection,
                StereotacticRadiotherapy,
                NeoadjuvantChemotherapyThenSurgery,
                DefinitiveChemoradiotherapy,
                SystemicTherapy,
                Surveillance,
                BestSupportiveCare,
            ],
            Cancer::Esophagus => &[
                EndoscopicResection,
                UpfrontResection,
                NeoadjuvantChemoradiotherapyThenSurgery,
                DefinitiveChemoradiotherapy,
                SystemicTherapy,
                BestSupportiveCare,
            ],
            Cancer::Stomach => &[
                EndoscopicResection,
                UpfrontResection,
                NeoadjuvantChemotherapyThenSurgery,
                SystemicTherapy,
                BestSupportiveCare,
            ],
            Cancer::Colorectal => &[
                EndoscopicResection,
                UpfrontResection,
                NeoadjuvantChemoradiotherapyThenSurgery,
                NeoadjuvantChemotherapyThenSurgery,
                SystemicTherapy,
                BestSupportiveCare,
            ],
            Cancer::Liver => &[
                UpfrontResection,
                Ablation,
                LiverTransplant,
                TransarterialChemoembolisation,
                SystemicTherapy,
                BestSupportiveCare,
            ],
            Cancer::Pancreas => &[
                UpfrontResection,
                NeoadjuvantChemotherapyThenSurgery,
                DefinitiveChemoradiotherapy,
                SystemicTherapy,
                BestSupportiveCare,
            ],
            Cancer::Kidney => &[UpfrontResection, Ablation, ActiveSurveillance, SystemicTherapy, BestSupportiveCare],
            Cancer::Breast => {
                &[UpfrontResection, NeoadjuvantChemotherapyThenSurgery, SystemicTherapy, BestSupportiveCare]
            }
            Cancer::Larynx => &[
                LarynxPreservingSurgery,
                DefinitiveRadiotherapy,
                DefinitiveChemoradiotherapy,
                TotalLaryngectomy,
                SystemicTherapy,
                BestSupportiveCare,
            ],
        }
    }
}

impl crate::domain::language::Labelled for Treatment {
    fn label_en(self) -> &'static str {
        match self {
            Treatment::EndoscopicResection => "Endoscopic resection",
            Treatment::UpfrontResection => "Upfront resection",
            Treatment::NeoadjuvantChemotherapyThenSurgery => "Neoadjuvant chemotherapy, then surgery",
            Treatment::NeoadjuvantChemoradiotherapyThenSurgery => "Neoadjuvant chemoradiotherapy, then surgery",
            Treatment::DefinitiveChemoradiotherapy => "Definitive chemoradiotherapy",
            Treatment::DefinitiveRadiotherapy => "Definitive radiotherapy",
            Treatment::StereotacticRadiotherapy => "Stereotactic body radiotherapy",
            Treatment::Ablation => "Ablation",
            Treatment::TransarterialChemoembolisation => "Transarterial chemoembolisation",
            Treatment::LiverTransplant => "Liver transplantation",
            Treatment::LarynxPreservingSurgery => "Larynx-preserving surgery",
            Treatment::TotalLaryngectomy => "Total laryngectomy",
            Treatment::SystemicTherapy => "Systemic therapy",
            Treatment::ActiveSurveillance => "Active surveillance",
            Treatment::Surveillance => "Surveillance",
            Treatment::BestSupportiveCare => "Best supportive care",
        }
    }

    /// As in [`crate::domain::glossary`].
    fn label_zh(self) -> &'static str {
        match self {
            Treatment::EndoscopicResection => "内镜下切除",
            Treatment::UpfrontResection => "直接手术切除",
            Treatment::NeoadjuvantChemotherapyThenSurgery => "新辅助化疗后手术",
            Treatment::NeoadjuvantChemoradiotherapyThenSurgery => "新辅助放化疗后手术",
            Treatment::DefinitiveChemoradiotherapy => "根治性放化疗",
            Treatment::DefinitiveRadiotherapy => "根治性放疗",
            Treatment::StereotacticRadiotherapy => "立体定向放疗",
            Treatment::Ablation => "消融治疗",
            Treatment::TransarterialChemoembolisation => "经动脉化疗栓塞",
            Treatment::LiverTransplant => "肝移植",
            Treatment::LarynxPreservingSurgery => "保留喉功能手术",
            Treatment::TotalLaryngectomy => "全喉切除术",
            Treatment::SystemicTherapy => "系统治疗",
            Treatment::ActiveSurveillance => "主动监测",
            Treatment::Surveillance => "随访观察",
            Treatment::BestSupportiveCare => "最佳支持治疗",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cancer_has_options_and_every_option_is_offered_somewhere() {
        for cancer in Cancer::ALL {
            assert!(Treatment::options_for(cancer).len() >= 4, "{cancer}");
        }
        for treatment in Treatment::ALL {
            assert_eq!(Treatment::parse(treatment.as_str()), Some(treatment));
            assert!(Cancer::ALL.iter().any(|c| Treatment::options_for(*c).contains(&treatment)), "{treatment:?}");
        }
    }

    #[test]
    fn larynx_offers_preservation_against_laryngectomy() {
        let larynx = Treatment::options_for(Cancer::Larynx);
        assert!(larynx.contains(&Treatment::LarynxPreservingSurgery));
        assert!(larynx.contains(&Treatment::TotalLaryngectomy));
        assert!(!Treatment::options_for(Cancer::Lung).contains(&Treatment::TotalLaryngectomy));
    }
}
