//! The reviewed Simplified Chinese names of the clinical terms the interface shows, each with
//! its source. The domain's label tables (`Labelled::label_zh`) must agree with this glossary;
//! the test below checks every clinical value against it, so a translation changes here, with
//! its source, or not at all.
//!
//! Sources:
//! - `NHC-2022`: 国家卫生健康委员会《肿瘤诊疗指南（2022年版）》 (National Health Commission of
//!   the PRC, cancer diagnosis and treatment guidelines, 2022 edition): the cancers' names
//!   (原发性肺癌, 乳腺癌, 食管癌, 胃癌, 结直肠癌, 原发性肝癌, 胰腺癌, 肾癌), shortened as the
//!   guidelines' own texts do (肺癌, 肝癌) where the organ is what the worklist sorts by.
//! - `NHC-MDT-2018`: 国家卫生健康委办公厅《关于开展肿瘤多学科诊疗试点工作的通知》(2018):
//!   多学科诊疗（MDT）.
//!   The treatment chapters of the same guidelines name the recommendations (内镜下切除,
//!   新辅助放化疗, 根治性放化疗, 立体定向放疗, 消融治疗, 经动脉化疗栓塞, 全喉切除术, 最佳支持治疗 ...)
//!   and the TNM components (原发肿瘤, 区域淋巴结, 远处转移) and the stage (分期).
//! - `CNCTST`: 全国科学技术名词审定委员会《医学名词》 (China National Committee for Terms in
//!   Sciences and Technologies, medical terms; termonline.cn): examinations and findings
//!   (增强 CT, 增强 MRI, 胃镜, 结肠镜, 活检, 病理, 影像, 良性, 恶性, 病变, 囊肿, 伪影, 假阳性, 失访), and the
//!   chronic conditions' names (脂肪肝, 骨密度降低, 骨量减少, 骨质疏松, 冠状动脉钙化, 体积倍增时间).
//! - `GRADED-CARE-2015`: 国务院办公厅《关于推进分级诊疗制度建设的指导意见》（国办发〔2015〕70号）
//!   (the State Council's guidance on the tiered care system): the network's levels of hospital
//!   (社区卫生服务中心, 县级医院, 市级医院, 省级医院).

/// Where a term's Chinese name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Nhc2022,
    NhcMdt2018,
    Cnctst,
    GradedCare2015,
}

/// (English label as the code shows it, reviewed Simplified Chinese, source).
pub const TERMS: &[(&str, &str, Source)] = &[
    ("Lung cancer", "肺癌", Source::Nhc2022),
    ("Breast cancer", "乳腺癌", Source::Nhc2022),
    ("Esophageal cancer", "食管癌", Source::Nhc2022),
    ("Gastric cancer", "胃癌", Source::Nhc2022),
    ("Colorectal cancer", "结直肠癌", Source::Nhc2022),
    ("Liver cancer", "肝癌", Source::Nhc2022),
    ("Pancreatic cancer", "胰腺癌", Source::Nhc2022),
    ("Kidney cancer", "肾癌", Source::Nhc2022),
    ("Refer to MDT", "提交多学科诊疗（MDT）", Source::NhcMdt2018),
    ("Referred to MDT", "已提交多学科诊疗（MDT）", Source::NhcMdt2018),
    ("Contrast-enhanced CT", "增强 CT", Source::Cnctst),
    ("Contrast-enhanced MRI", "增强 MRI", Source::Cnctst),
    ("Upper endoscopy", "胃镜（上消化道内镜）", Source::Cnctst),
    ("Colonoscopy", "结肠镜", Source::Cnctst),
    ("Biopsy", "活检", Source::Cnctst),
    ("PET-CT", "PET-CT", Source::Cnctst),
    ("Mammography / breast ultrasound", "乳腺 X 线摄影／乳腺超声", Source::Cnctst),
    ("Pathology", "病理", Source::Cnctst),
    ("Imaging", "影像", Source::Cnctst),
    ("Confirmed malignant", "确诊恶性", Source::Cnctst),
    ("Benign", "良性", Source::Cnctst),
    ("No lesion", "未见病灶", Source::Cnctst),
    ("No lesion (AI false positive)", "未见病灶（AI 假阳性）", Source::Cnctst),
    ("Imaging artefact", "影像伪影", Source::Cnctst),
    ("AI false positive", "AI 假阳性", Source::Cnctst),
    ("Lost to follow-up", "失访", Source::Cnctst),
    ("Laryngeal cancer", "喉癌", Source::Nhc2022),
    // The screening models' classes: the pathological types as the guidelines name them
    // (原发性肝癌: 肝细胞癌; 胰腺癌: 胰腺导管腺癌; 肾癌: 肾细胞癌), the rest as the medical terms do.
    ("Hepatocellular carcinoma", "肝细胞癌", Source::Nhc2022),
    ("Pancreatic ductal adenocarcinoma", "胰腺导管腺癌", Source::Nhc2022),
    ("Renal cell carcinoma", "肾细胞癌", Source::Nhc2022),
    ("Other malignant tumour", "其他恶性肿瘤", Source::Cnctst),
    ("Other benign lesion", "其他良性病变", Source::Cnctst),
    ("Other esophageal lesion", "其他食管病变", Source::Cnctst),
    ("Other pancreatic lesion", "其他胰腺病变", Source::Cnctst),
    ("Cyst", "囊肿", Source::Cnctst),
    // TNM staging: the guidelines' own words for the three components and the stage group.
    ("Primary tumour (T)", "原发肿瘤（T）", Source::Nhc2022),
    ("Regional lymph nodes (N)", "区域淋巴结（N）", Source::Nhc2022),
    ("Distant metastasis (M)", "远处转移（M）", Source::Nhc2022),
    ("Stage group", "分期", Source::Nhc2022),
    // Treatment recommendations, as the guidelines' treatment chapters name them.
    ("Endoscopic resection", "内镜下切除", Source::Nhc2022),
    ("Upfront resection", "直接手术切除", Source::Nhc2022),
    ("Neoadjuvant chemotherapy, then surgery", "新辅助化疗后手术", Source::Nhc2022),
    ("Neoadjuvant chemoradiotherapy, then surgery", "新辅助放化疗后手术", Source::Nhc2022),
    ("Definitive chemoradiotherapy", "根治性放化疗", Source::Nhc2022),
    ("Definitive radiotherapy", "根治性放疗", Source::Nhc2022),
    ("Stereotactic body radiotherapy", "立体定向放疗", Source::Nhc2022),
    ("Ablation", "消融治疗", Source::Nhc2022),
    ("Transarterial chemoembolisation", "经动脉化疗栓塞", Source::Nhc2022),
    ("Liver transplantation", "肝移植", Source::Nhc2022),
    ("Larynx-preserving surgery", "保留喉功能手术", Source::Nhc2022),
    ("Total laryngectomy", "全喉切除术", Source::Nhc2022),
    ("Systemic therapy", "系统治疗", Source::Nhc2022),
    ("Active surveillance", "主动监测", Source::Nhc2022),
    ("Surveillance", "随访观察", Source::Nhc2022),
    ("Best supportive care", "最佳支持治疗", Source::Nhc2022),
    // The chronic-disease pathway: the conditions and the rules that raise them.
    ("Fatty liver (steatosis)", "脂肪肝", Source::Cnctst),
    ("Low bone density", "骨密度降低", Source::Cnctst),
    ("Coronary artery calcium", "冠状动脉钙化", Source::Cnctst),
    ("Osteoporosis likely", "可能骨质疏松", Source::Cnctst),
    ("Low bone density (osteopenia range)", "骨量减少", Source::Cnctst),
    // Lung nodule growth by volume doubling time (VDT), in the NELSON categories.
    (
        "Fast growth (VDT under 400 days): work-up advised",
        "快速生长（VDT 小于 400 天）：建议进一步检查",
        Source::Cnctst,
    ),
    ("Indeterminate growth (VDT 400 to 600 days)", "生长速度不确定（VDT 400 至 600 天）", Source::Cnctst),
    ("Slow growth (VDT over 600 days)", "缓慢生长（VDT 大于 600 天）", Source::Cnctst),
    // The referral network's levels of hospital.
    ("Community hospital", "社区卫生服务中心", Source::GradedCare2015),
    ("County hospital", "县级医院", Source::GradedCare2015),
    ("Municipal hospital", "市级医院", Source::GradedCare2015),
    ("Provincial hospital", "省级医院", Source::GradedCare2015),
];

/// The reviewed Chinese name of an English clinical label, if it is in the glossary.
pub fn chinese(english: &str) -> Option<&'static str> {
    TERMS.iter().find(|(en, _, _)| *en == english).map(|(_, zh, _)| *zh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::followup::event::{ConfirmedBy, DismissReason, Outcome, WorkupModality};
    use crate::domain::followup::{EventKind, FindingStatus};
    use crate::domain::language::Labelled;
    use crate::domain::organs::Organ;

    /// Every value whose English label is a glossary term has the glossary's Chinese name.
    fn agrees<T: Labelled>(values: impl IntoIterator<Item = T>) -> usize {
        let mut checked = 0;
        for value in values {
            if let Some(zh) = chinese(value.label_en()) {
                assert_eq!(value.label_zh(), zh, "{}", value.label_en());
                checked += 1;
            }
        }
        checked
    }

    #[test]
    fn the_label_tables_follow_the_glossary() {
        assert_eq!(agrees(Organ::ALL), 8, "every cancer is a glossary term");
        assert_eq!(agrees(crate::domain::model_class::ModelClass::ALL), 13, "every class the models report");
        assert_eq!(agrees(WorkupModality::ALL.iter().copied()), 7, "every examination but the referral");
        assert_eq!(agrees(Outcome::ALL.iter().copied()), 3);
        assert_eq!(agrees(ConfirmedBy::ALL.iter().copied()), 2);
        assert!(agrees(DismissReason::ALL.iter().copied()) >= 2);
        assert!(agrees(FindingStatus::ALL) >= 5);
        assert!(agrees(EventKind::ALL) >= 1);
        assert_eq!(agrees(crate::domain::staging::Cancer::ALL), 9, "every staged cancer, larynx included");
        assert_eq!(agrees(crate::domain::mdt::Treatment::ALL), 16, "every treatment option");
        assert_eq!(agrees(crate::domain::chronic::ChronicKind::ALL), 3, "every chronic condition");
        assert!(agrees(crate::domain::chronic::Criterion::ALL) >= 2);
        assert_eq!(agrees(crate::domain::lesions::NelsonCategory::ALL), 3, "every NELSON category");
        assert_eq!(agrees(crate::domain::referral::SiteLevel::ALL), 4, "every level of the network");
    }

    #[test]
    fn terms_are_unique() {
        for (i, (en, _, _)) in TERMS.iter().enumerate() {
            assert!(TERMS[i + 1..].iter().all(|(other, _, _)| other != en), "{en} twice");
        }
    }
}
