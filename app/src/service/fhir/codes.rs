//! The terminology a FHIR bundle uses, each code with its system and source. Where no standard
//! code exists (an AI model's class probability, a CT attenuation), the concept is given as text
//! only, as FHIR allows.

pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// AJCC staging categories (`cT1b`, `cN0`...), as the mCODE implementation guide codes them.
pub const AJCC: &str = "http://cancerstaging.org";
pub const DICOM_UID: &str = "urn:dicom:uid";
pub const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const DIAGNOSTIC_SERVICE: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";

/// mCODE STU3 profiles (<http://hl7.org/fhir/us/mcode/>).
pub mod mcode {
    const BASE: &str = "http://hl7.org/fhir/us/mcode/StructureDefinition/";
    pub fn profile(name: &str) -> String {
        format!("{BASE}{name}")
    }
    pub const CANCER_PATIENT: &str = "mcode-cancer-patient";
    pub const PRIMARY_CANCER_CONDITION: &str = "mcode-primary-cancer-condition";
    pub const TNM_T: &str = "mcode-tnm-primary-tumor-category";
    pub const TNM_N: &str = "mcode-tnm-regional-nodes-category";
    pub const TNM_M: &str = "mcode-tnm-distant-metastases-category";
    pub const TNM_STAGE_GROUP: &str = "mcode-tnm-stage-group";
}

/// LOINC codes of the clinical TNM categories and stage group (LOINC 21905-5, 21906-3, 21907-1,
/// 21908-9), as mCODE's TNM profiles require for clinical staging.
pub const LOINC_CLINICAL_T: (&str, &str) = ("21905-5", "Primary tumor.clinical [Class] Cancer");
pub const LOINC_CLINICAL_N: (&str, &str) = ("21906-3", "Regional lymph nodes.clinical [Class] Cancer");
pub const LOINC_CLINICAL_M: (&str, &str) = ("21907-1", "Distant metastases.clinical [Class] Cancer");
pub const LOINC_CLINICAL_STAGE: (&str, &str) = ("21908-9", "Stage group.clinical Cancer");
/// LOINC 18748-4, Diagnostic imaging study: the screening report's code.
pub const LOINC_IMAGING_REPORT: (&str, &str) = ("18748-4", "Diagnostic imaging study");

/// The staging method: SNOMED 897275008 for AJCC 8th edition, 1269566009 for 9th.
pub fn ajcc_edition(edition: &str) -> Option<(&'static str, &'static str)> {
    match edition {
        "ajcc8" => Some((
            "897275008",
            "American Joint Commission on Cancer, Cancer Staging Manual, 8th edition neoplasm staging system (tumor staging)",
        )),
        "ajcc9" => Some((
            "1269566009",
            "American Joint Committee on Cancer, Cancer Staging System, version 9 neoplasm staging system (tumor staging)",
        )),
        _ => None,
    }
}

/// SNOMED CT body structures of the screened organs (and the larynx, which the board stages).
pub fn body_site(organ: &str) -> Option<(&'static str, &'static str)> {
    Some(match organ {
        "lung" => ("39607008", "Lung structure"),
        "breast" => ("76752008", "Breast structure"),
        "esophagus" => ("32849002", "Esophageal structure"),
        "stomach" => ("69695003", "Stomach structure"),
        "colorectal" => ("71854001", "Colon structure"),
        "liver" => ("10200004", "Liver structure"),
        "pancreas" => ("15776009", "Pancreatic structure"),
        "kidney" => ("64033007", "Kidney structure"),
        "larynx" => ("4596009", "Laryngeal structure"),
        _ => return None,
    })
}

/// SNOMED CT disorders for a primary malignant neoplasm of each organ (mCODE's primary cancer
/// condition value set draws on these).
pub fn primary_cancer(organ: &str) -> Option<(&'static str, &'static str)> {
    Some(match organ {
        "lung" => ("363358000", "Malignant tumor of lung"),
        "breast" => ("254837009", "Malignant neoplasm of breast"),
        "esophagus" => ("363402007", "Malignant tumor of esophagus"),
        "stomach" => ("363349007", "Malignant tumor of stomach"),
        "colorectal" => ("363406005", "Malignant tumor of colon"),
        "liver" => ("93870000", "Malignant neoplasm of liver"),
        "pancreas" => ("363418001", "Malignant tumor of pancreas"),
        "kidney" => ("363518003", "Malignant tumor of kidney"),
        "larynx" => ("363429002", "Malignant tumor of larynx"),
        _ => return None,
    })
}

/// The UCUM unit of a biomarker's figure: Hounsfield units (`[hnsf'U]`) or cubic millimetres.
pub fn ucum(unit: &str) -> &'static str {
    match unit {
        "HU" => "[hnsf'U]",
        "mm³" => "mm3",
        _ => "1",
    }
}
