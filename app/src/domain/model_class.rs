//! The classes the screening models report, named for people in each language.
//!
//! The models' output names its classes with short codes (`HCC`, `PDAC`, `nonEC`; see
//! [`crate::domain::organs::Organ::classes`]). The codes stay what is stored, exported and sent in FHIR, because they are
//! the model's own words; pages show the clinical name with the code beside it, so that a reader
//! can still match the page to the model's output. A code this table does not know (a newer
//! model's class) is shown as it is rather than guessed at.

use crate::domain::language::{Labelled, Language};

/// Every class code the screening models report today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelClass {
    /// Lung: `Cancer`.
    LungCancer,
    /// Breast: `BC`.
    BreastCancer,
    /// Esophagus: `EC`.
    EsophagealCancer,
    /// Esophagus: `nonEC`, a lesion that is not esophageal cancer.
    OtherEsophageal,
    /// Stomach: `GC`.
    GastricCancer,
    /// Colorectum: `CRC`.
    ColorectalCancer,
    /// Liver: `HCC`.
    Hepatocellular,
    /// Liver: `other_malignant`.
    OtherMalignant,
    /// Liver: `other_benign`.
    OtherBenign,
    /// Liver: `cyst`.
    Cyst,
    /// Pancreas: `PDAC`.
    PancreaticDuctal,
    /// Pancreas: `nonPDAC`, a pancreatic lesion that is not ductal adenocarcinoma.
    OtherPancreatic,
    /// Kidney: `RCC`.
    RenalCell,
}

impl ModelClass {
    pub const ALL: [ModelClass; 13] = [
        ModelClass::LungCancer,
        ModelClass::BreastCancer,
        ModelClass::EsophagealCancer,
        ModelClass::OtherEsophageal,
        ModelClass::GastricCancer,
        ModelClass::ColorectalCancer,
        ModelClass::Hepatocellular,
        ModelClass::OtherMalignant,
        ModelClass::OtherBenign,
        ModelClass::Cyst,
        ModelClass::PancreaticDuctal,
        ModelClass::OtherPancreatic,
        ModelClass::RenalCell,
    ];

    /// The code in the model's output.
    pub fn code(self) -> &'static str {
        match self {
            ModelClass::LungCancer => "Cancer",
            ModelClass::BreastCancer => "BC",
            ModelClass::EsophagealCancer => "EC",
            ModelClass::OtherEsophageal => "nonEC",
            ModelClass::GastricCancer => "GC",
            ModelClass::ColorectalCancer => "CRC",
            ModelClass::Hepatocellular => "HCC",
            ModelClass::OtherMalignant => "other_malignant",
            ModelClass::OtherBenign => "other_benign",
            ModelClass::Cyst => "cyst",
            ModelClass::PancreaticDuctal => "PDAC",
            ModelClass::OtherPancreatic => "nonPDAC",
            ModelClass::RenalCell => "RCC",
        }
    }

    /// The class a code names; codes are unique across organs, so the code alone decides.
    pub fn from_code(code: &str) -> Option<ModelClass> {
        ModelClass::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl Labelled for ModelClass {
    fn label_en(self) -> &'static str {
        match self {
            ModelClass::LungCancer => "Lung cancer",
            ModelClass::BreastCancer => "Breast cancer",
            ModelClass::EsophagealCancer => "Esophageal cancer",
            ModelClass::OtherEsophageal => "Other esophageal lesion",
            ModelClass::GastricCancer => "Gastric cancer",
            ModelClass::ColorectalCancer => "Colorectal cancer",
            ModelClass::Hepatocellular => "Hepatocellular carcinoma",
            ModelClass::OtherMalignant => "Other malignant tumour",
            ModelClass::OtherBenign => "Other benign lesion",
            ModelClass::Cyst => "Cyst",
            ModelClass::PancreaticDuctal => "Pancreatic ductal adenocarcinoma",
            ModelClass::OtherPancreatic => "Other pancreatic lesion",
            ModelClass::RenalCell => "Renal cell carcinoma",
        }
    }

    /// As [`crate::domain::glossary`] cites them.
    fn label_zh(self) -> &'static str {
        match self {
            ModelClass::LungCancer => "肺癌",
            ModelClass::BreastCancer => "乳腺癌",
            ModelClass::EsophagealCancer => "食管癌",
            ModelClass::OtherEsophageal => "其他食管病变",
            ModelClass::GastricCancer => "胃癌",
            ModelClass::ColorectalCancer => "结直肠癌",
            ModelClass::Hepatocellular => "肝细胞癌",
            ModelClass::OtherMalignant => "其他恶性肿瘤",
            ModelClass::OtherBenign => "其他良性病变",
            ModelClass::Cyst => "囊肿",
            ModelClass::PancreaticDuctal => "胰腺导管腺癌",
            ModelClass::OtherPancreatic => "其他胰腺病变",
            ModelClass::RenalCell => "肾细胞癌",
        }
    }
}

/// A class code as a page shows it: the clinical name in `language` with the model's code in
/// brackets ("肝细胞癌（HCC）", "Hepatocellular carcinoma (HCC)"), or the code alone when this
/// table does not know it.
pub fn shown(code: &str, language: Language) -> String {
    match (ModelClass::from_code(code), language) {
        (None, _) => code.to_owned(),
        (Some(class), Language::English) => format!("{} ({code})", class.label_en()),
        (Some(class), Language::SimplifiedChinese) => format!("{}（{code}）", class.label_zh()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::organs::Organ;

    /// The organ whose output holds `class` (the inverse of [`Organ::classes`]).
    fn organ_of(class: ModelClass) -> Option<Organ> {
        Organ::ALL.into_iter().find(|organ| organ.classes().contains(&class.code()))
    }

    #[test]
    fn every_code_the_models_report_has_a_class_and_back() {
        let mut seen = 0;
        for organ in Organ::ALL {
            for code in organ.classes() {
                let class = ModelClass::from_code(code).unwrap_or_else(|| panic!("{code} has no class"));
                assert_eq!(class.code(), *code);
                assert_eq!(organ_of(class), Some(organ), "{code}");
                seen += 1;
            }
        }
        assert_eq!(seen, ModelClass::ALL.len(), "no class without a code in the models' output");
    }

    #[test]
    fn pages_show_the_name_and_the_code_and_unknown_codes_as_they_are() {
        assert_eq!(shown("HCC", Language::English), "Hepatocellular carcinoma (HCC)");
        assert_eq!(shown("HCC", Language::SimplifiedChinese), "肝细胞癌（HCC）");
        assert_eq!(shown("nonPDAC", Language::SimplifiedChinese), "其他胰腺病变（nonPDAC）");
        assert_eq!(shown("Cancer", Language::SimplifiedChinese), "肺癌（Cancer）");
        assert_eq!(shown("GIST", Language::SimplifiedChinese), "GIST");
        assert_eq!(shown("hcc", Language::English), "hcc", "codes are exact");
    }

    #[test]
    fn a_class_that_is_its_organs_cancer_is_named_as_the_cancer() {
        for class in [
            ModelClass::LungCancer,
            ModelClass::BreastCancer,
            ModelClass::EsophagealCancer,
            ModelClass::GastricCancer,
            ModelClass::ColorectalCancer,
        ] {
            let organ = organ_of(class).expect("every class has its organ");
            assert_eq!(class.label_en(), organ.label_en());
            assert_eq!(class.label_zh(), organ.label_zh());
        }
    }
}
