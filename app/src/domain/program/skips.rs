//! Why a series was not screened: the codes a skipped screening job records (the eligibility
//! rules of `elysium_dicom::eligibility`, the model's own requirements, an unreadable header),
//! with their labels in both languages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    NotCt,
    Localizer,
    NotAxial,
    SliceThickness,
    TooFewSlices,
    BodyPart,
    Contrast,
    UnusableVolume,
    ModelRequirements,
    Unreadable,
    /// Skipped before reasons were recorded as codes (the job's message still says why).
    Unrecorded,
}

impl SkipReason {
    pub const ALL: [SkipReason; 11] = [
        SkipReason::NotCt,
        SkipReason::Localizer,
        SkipReason::NotAxial,
        SkipReason::SliceThickness,
        SkipReason::TooFewSlices,
        SkipReason::BodyPart,
        SkipReason::Contrast,
        SkipReason::UnusableVolume,
        SkipReason::ModelRequirements,
        SkipReason::Unreadable,
        SkipReason::Unrecorded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotCt => "not_ct",
            SkipReason::Localizer => "localizer",
            SkipReason::NotAxial => "not_axial",
            SkipReason::SliceThickness => "slice_thickness",
            SkipReason::TooFewSlices => "too_few_slices",
            SkipReason::BodyPart => "body_part",
            SkipReason::Contrast => "contrast",
            SkipReason::UnusableVolume => "unusable_volume",
            SkipReason::ModelRequirements => "model_requirements",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Unrecorded => "unrecorded",
        }
    }

    pub fn parse(code: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl crate::domain::language::Labelled for SkipReason {
    fn label_en(self) -> &'static str {
        match self {
            SkipReason::NotCt => "Not CT",
            SkipReason::Localizer => "Localizer (scout)",
            SkipReason::NotAxial => "Not axial",
            SkipReason::SliceThickness => "Slices too thick",
            SkipReason::TooFewSlices => "Too few slices",
            SkipReason::BodyPart => "Not chest or abdomen",
            SkipReason::Contrast => "Contrast-enhanced",
            SkipReason::UnusableVolume => "Unusable volume",
            SkipReason::ModelRequirements => "Outside the model's requirements",
            SkipReason::Unreadable => "Unreadable",
            SkipReason::Unrecorded => "Reason not recorded",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            SkipReason::NotCt => "非 CT",
            SkipReason::Localizer => "定位像",
            SkipReason::NotAxial => "非轴位",
            SkipReason::SliceThickness => "层厚过大",
            SkipReason::TooFewSlices => "层数不足",
            SkipReason::BodyPart => "非胸部或腹部",
            SkipReason::Contrast => "增强扫描",
            SkipReason::UnusableVolume => "容积数据不可用",
            SkipReason::ModelRequirements => "不符合模型要求",
            SkipReason::Unreadable => "无法读取",
            SkipReason::Unrecorded => "未记录原因",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_through_its_code_and_serde() {
        for reason in SkipReason::ALL {
            assert_eq!(SkipReason::parse(reason.as_str()), Some(reason));
            assert_eq!(serde_json::to_string(&reason).expect("json"), format!("\"{}\"", reason.as_str()));
        }
    }
}
