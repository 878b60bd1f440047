//! TNM staging: the AJCC categories each cancer's primary tumour (T), regional nodes (N) and
//! distant metastasis (M) may take, the prognostic stage group each combination falls in, and
//! the derivation of categories from what imaging measures. Pure rules shared by the server
//! (which stores and signs decisions) and the browser (which recomputes the stage group as a
//! surgeon picks T, N and M).
//!
//! One [`Table`] per cancer, edition and (where the groups differ) histology. Categories are the
//! AJCC strings without the c/p prefix and are matched exactly: `" T2a"` or `"t2a"` is not `T2a`.
//! Each table cites where it was transcribed from, and each module's tests hold the table as the
//! manual prints it, cell by cell, independently of the rules that compute it.

pub mod breast;
pub mod colorectal;
pub mod derive;
pub mod esophagus;
pub mod kidney;
pub mod larynx;
pub mod liver;
pub mod lung;
pub mod pancreas;
pub mod stomach;

#[cfg(test)]
mod grid;

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::said::Said;
use crate::said;

/// The cancers the tumour board stages. Screening raises the first eight; larynx (and other head
/// and neck cancers) come to the board from ENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cancer {
    Lung,
    Esophagus,
    Stomach,
    Colorectal,
    Liver,
    Pancreas,
    Kidney,
    Breast,
    Larynx,
}

impl Cancer {
    pub const ALL: [Cancer; 9] = [
        Cancer::Lung,
        Cancer::Esophagus,
        Cancer::Stomach,
        Cancer::Colorectal,
        Cancer::Liver,
        Cancer::Pancreas,
        Cancer::Kidney,
        Cancer::Breast,
        Cancer::Larynx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cancer::Lung => "lung",
            Cancer::Esophagus => "esophagus",
            Cancer::Stomach => "stomach",
            Cancer::Colorectal => "colorectal",
            Cancer::Liver => "liver",
            Cancer::Pancreas => "pancreas",
            Cancer::Kidney => "kidney",
            Cancer::Breast => "breast",
            Cancer::Larynx => "larynx",
        }
    }

    pub fn parse(name: &str) -> Option<Cancer> {
        Cancer::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The cancer a screening finding of this organ is staged as.
    pub fn of_organ(organ: Organ) -> Cancer {
        match organ {
            Organ::Lung => Cancer::Lung,
            Organ::Breast => Cancer::Breast,
            Organ::Esophagus => Cancer::Esophagus,
            Organ::Stomach => Cancer::Stomach,
            Organ::Colorectal => Cancer::Colorectal,
            Organ::Liver => Cancer::Liver,
            Organ::Pancreas => Cancer::Pancreas,
            Organ::Kidney => Cancer::Kidney,
        }
    }

    /// The editions this engine has tables for.
    pub fn editions(self) -> &'static [Edition] {
        match self {
            Cancer::Lung => &[Edition::Ajcc8, Edition::Ajcc9],
            _ => &[Edition::Ajcc8],
        }
    }

    /// Whether the stage groups depend on histology (esophagus: squamous cell carcinoma and
    /// adenocarcinoma have different clinical groups).
    pub fn needs_histology(self) -> bool {
        self == Cancer::Esophagus
    }

    /// Whether T is defined per subsite (larynx).
    pub fn has_subsites(self) -> bool {
        self == Cancer::Larynx
    }
}

impl std::fmt::Display for Cancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl crate::domain::language::Labelled for Cancer {
    fn label_en(self) -> &'static str {
        match self {
            Cancer::Larynx => "Laryngeal cancer",
            other => organ_of(other).map(Organ::cancer_label).unwrap_or_default(),
        }
    }

    /// As in [`crate::domain::glossary`] (喉癌: NHC 2022 guidelines).
    fn label_zh(self) -> &'static str {
        match self {
            Cancer::Larynx => "喉癌",
            other => organ_of(other).map(|o| o.label_zh()).unwrap_or_default(),
        }
    }
}

fn organ_of(cancer: Cancer) -> Option<Organ> {
    Organ::ALL.into_iter().find(|o| Cancer::of_organ(*o) == cancer)
}

/// The edition of the AJCC Cancer Staging Manual a table follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Edition {
    /// AJCC Cancer Staging Manual, 8th edition (Amin et al., Springer 2017).
    #[default]
    #[serde(rename = "ajcc8")]
    Ajcc8,
    /// AJCC 9th edition; here only lung (IASLC proposals, in use since 2025).
    #[serde(rename = "ajcc9")]
    Ajcc9,
}

impl Edition {
    pub const ALL: [Edition; 2] = [Edition::Ajcc8, Edition::Ajcc9];

    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Ajcc8 => "ajcc8",
            Edition::Ajcc9 => "ajcc9",
        }
    }

    pub fn parse(name: &str) -> Option<Edition> {
        Edition::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// Esophageal histology, which decides the clinical stage groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Histology {
    Squamous,
    Adenocarcinoma,
}

impl Histology {
    pub const ALL: [Histology; 2] = [Histology::Squamous, Histology::Adenocarcinoma];

    pub fn as_str(self) -> &'static str {
        match self {
            Histology::Squamous => "squamous",
            Histology::Adenocarcinoma => "adenocarcinoma",
        }
    }

    pub fn parse(name: &str) -> Option<Histology> {
        Histology::ALL.into_iter().find(|h| h.as_str() == name)
    }
}

/// Laryngeal subsite, which decides the T definitions (the stage groups are shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subsite {
    Supraglottic,
    Glottic,
    Subglottic,
}

impl Subsite {
    pub const ALL: [Subsite; 3] = [Subsite::Supraglottic, Subsite::Glottic, Subsite::Subglottic];

    pub fn as_str(self) -> &'static str {
        match self {
            Subsite::Supraglottic => "supraglottic",
            Subsite::Glottic => "glottic",
            Subsite::Subglottic => "subglottic",
        }
    }

    pub fn parse(name: &str) -> Option<Subsite> {
        Subsite::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One staging table: the valid categories and the stage-group rule.
#[derive(Debug)]
pub struct Table {
    /// Where the table was transcribed from (chapter and table of the manual or the publication).
    pub source: &'static str,
    pub t: &'static [&'static str],
    pub n: &'static [&'static str],
    pub m: &'static [&'static str],
    /// The stage group of a combination of valid categories; `None` where the manual assigns
    /// none (for example lung `Tis N1 M0`). Only ever called with categories from the lists.
    pub group: fn(t: &str, n: &str, m: &str) -> Option<&'static str>,
}

/// What to stage: the cancer and edition, the categories as given, and the qualifiers some
/// cancers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub cancer: Cancer,
    pub edition: Edition,
    pub t: &'a str,
    pub n: &'a str,
    pub m: &'a str,
    pub histology: Option<Histology>,
    pub subsite: Option<Subsite>,
}

/// A staged combination. Categories are the table's own strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    pub cancer: Cancer,
    pub edition: Edition,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub explanation: String,
}

/// A request the tables cannot answer. Messages never repeat the input: they name the field and
/// what it may be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StagingError {
    #[error("edition: {cancer} is staged here in {}", list(available.iter().map(|e| e.as_str())))]
    EditionNotAvailable { cancer: Cancer, available: &'static [Edition] },
    #[error("histology: {cancer} stage groups depend on histology; one of squamous, adenocarcinoma is required")]
    HistologyRequired { cancer: Cancer },
    #[error("histology: only esophageal cancer is staged by histology here")]
    HistologyNotUsed { cancer: Cancer },
    #[error("subsite: only laryngeal cancer has subsites here")]
    SubsiteNotUsed { cancer: Cancer },
    #[error("{field}: not a category of {cancer} in {}; valid: {}", edition.as_str(), list(valid.iter().copied()))]
    InvalidCategory { field: &'static str, cancer: Cancer, edition: Edition, valid: Vec<&'static str> },
}

impl StagingError {
    /// The message without its leading `field: ` (for callers that carry the field apart).
    pub fn detail(&self) -> String {
        let message = self.to_string();
        match message.strip_prefix(self.field()).and_then(|rest| rest.strip_prefix(": ")) {
            Some(rest) => rest.to_owned(),
            None => message,
        }
    }

    /// The message without its leading `field: ` ([`Self::detail`]), in both languages.
    pub fn said(&self) -> Said {
        match self {
            StagingError::EditionNotAvailable { cancer, available } => {
                let editions = list(available.iter().map(|e| e.as_str()));
                said!(("{cancer} is staged here in {editions}"), ("此处{}按 {editions} 分期", cancer.label_zh()))
            }
            StagingError::HistologyRequired { cancer } => said!(
                ("{cancer} stage groups depend on histology; one of squamous, adenocarcinoma is required"),
                ("{}的分期取决于组织学类型；须为 squamous, adenocarcinoma 之一", cancer.label_zh())
            ),
            StagingError::HistologyNotUsed { .. } => {
                said!("only esophageal cancer is staged by histology here", "此处仅食管癌按组织学类型分期")
            }
            StagingError::SubsiteNotUsed { .. } => {
                said!("only laryngeal cancer has subsites here", "此处仅喉癌区分亚区")
            }
            StagingError::InvalidCategory { cancer, edition, valid, .. } => Said::not_one_of(
                said!(
                    ("not a category of {cancer} in {}", edition.as_str()),
                    ("不是 {} 中{}的分类", edition.as_str(), cancer.label_zh())
                ),
                valid,
            ),
        }
    }

    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            StagingError::EditionNotAvailable { .. } => "edition",
            StagingError::HistologyRequired { .. } | StagingError::HistologyNotUsed { .. } => "histology",
            StagingError::SubsiteNotUsed { .. } => "subsite",
            StagingError::InvalidCategory { field, .. } => field,
        }
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The table for a cancer in an edition, with the qualifiers it needs.
pub fn table(
    cancer: Cancer,
    edition: Edition,
    histology: Option<Histology>,
    subsite: Option<Subsite>,
) -> Result<&'static Table, StagingError> {
    if !cancer.editions().contains(&edition) {
        return Err(StagingError::EditionNotAvailable { cancer, available: cancer.editions() });
    }
    if histology.is_some() && !cancer.needs_histology() {
        return Err(StagingError::HistologyNotUsed { cancer });
    }
    if subsite.is_some() && !cancer.has_subsites() {
        return Err(StagingError::SubsiteNotUsed { cancer });
    }
    Ok(match (cancer, edition) {
        (Cancer::Lung, Edition::Ajcc9) => &lung::AJCC9,
        (Cancer::Lung, _) => &lung::AJCC8,
        (Cancer::Esophagus, _) => match histology {
            Some(Histology::Squamous) => &esophagus::SQUAMOUS,
            Some(Histology::Adenocarcinoma) => &esophagus::ADENOCARCINOMA,
            None => return Err(StagingError::HistologyRequired { cancer }),
        },
        (Cancer::Stomach, _) => &stomach::CLINICAL,
        (Cancer::Colorectal, _) => &colorectal::AJCC8,
        (Cancer::Liver, _) => &liver::AJCC8,
        (Cancer::Pancreas, _) => &pancreas::AJCC8,
        (Cancer::Kidney, _) => &kidney::AJCC8,
        (Cancer::Breast, _) => &breast::ANATOMIC,
        (Cancer::Larynx, _) => larynx::table(subsite),
    })
}

/// Stages a combination: checks each category against the table (exactly, as given) and looks
/// up the stage group.
pub fn evaluate(request: &Request<'_>) -> Result<Staged, StagingError> {
    let table = table(request.cancer, request.edition, request.histology, request.subsite)?;
    let t = category("t", request, table.t, request.t)?;
    let n = category("n", request, table.n, request.n)?;
    let m = category("m", request, table.m, request.m)?;
    let group = (table.group)(t, n, m);
    let explanation = match group {
        Some(g) => format!("{t} {n} {m} is stage {g} ({})", table.source),
        None => format!("{t} {n} {m} has no stage group in {} ({})", request.edition.as_str(), table.source),
    };
    Ok(Staged {
        cancer: request.cancer,
        edition: request.edition,
        t: t.to_owned(),
        n: n.to_owned(),
        m: m.to_owned(),
        stage_group: group.map(str::to_owned),
        explanation,
    })
}

fn category(
    field: &'static str,
    request: &Request<'_>,
    valid: &'static [&'static str],
    given: &str,
) -> Result<&'static str, StagingError> {
    valid.iter().copied().find(|v| *v == given).ok_or_else(|| StagingError::InvalidCategory {
        field,
        cancer: request.cancer,
        edition: request.edition,
        valid: valid.to_vec(),
    })
}

/// Stage groups in the order of the manual (lower first), for sorting and for the agreement
/// statistics' confusion matrices.
pub const GROUP_ORDER: &[&str] = &[
    "Occult carcinoma",
    "0",
    "I",
    "IA",
    "IA1",
    "IA2",
    "IA3",
    "IB",
    "II",
    "IIA",
    "IIB",
    "IIC",
    "III",
    "IIIA",
    "IIIB",
    "IIIC",
    "IV",
    "IVA",
    "IVB",
    "IVC",
];

/// Every T, N and M category of the tables in the manual's order (lower first), for sorting
/// and for the confusion matrices.
pub const CATEGORY_ORDER: &[&str] = &[
    "TX", "T0", "Tis", "T1mi", "T1", "T1a", "T1b", "T1c", "T2", "T2a", "T2b", "T3", "T3a", "T3b", "T3c", "T4", "T4a",
    "T4b", "T4c", "T4d", "NX", "N0", "N1mi", "N1", "N1a", "N1b", "N1c", "N2", "N2a", "N2b", "N2c", "N3", "N3a", "N3b",
    "N3c", "M0", "M1", "M1a", "M1b", "M1c", "M1c1", "M1c2",
];

/// A category's or stage group's rank in the manual's order; unknown ones last.
pub fn rank(label: &str) -> usize {
    CATEGORY_ORDER.iter().chain(GROUP_ORDER).position(|known| *known == label).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_category_has_a_rank() {
        for cancer in Cancer::ALL {
            for edition in cancer.editions() {
                for histology in [None, Some(Histology::Squamous)] {
                    for subsite in
                        [None, Some(Subsite::Glottic), Some(Subsite::Supraglottic), Some(Subsite::Subglottic)]
                    {
                        let Ok(table) = table(cancer, *edition, histology, subsite) else { continue };
                        for category in table.t.iter().chain(table.n).chain(table.m) {
                            assert!(CATEGORY_ORDER.contains(category), "{cancer}: {category}");
                        }
                    }
                }
            }
        }
    }

    /// Every table lists TX and NX first, and T0 after TX where the chapter defines it (all but
    /// the larynx); the "any T, any N" rows of the metastatic M categories group them.
    #[test]
    fn every_table_lists_the_unassessed_categories_first() {
        for cancer in Cancer::ALL {
            for edition in cancer.editions() {
                for histology in [None, Some(Histology::Squamous), Some(Histology::Adenocarcinoma)] {
                    for subsite in
                        [None, Some(Subsite::Glottic), Some(Subsite::Supraglottic), Some(Subsite::Subglottic)]
                    {
                        let Ok(table) = table(cancer, *edition, histology, subsite) else { continue };
                        assert_eq!(table.t.first(), Some(&"TX"), "{cancer} {edition:?}");
                        assert_eq!(table.n.first(), Some(&"NX"), "{cancer} {edition:?}");
                        let t0 = (cancer != Cancer::Larynx).then_some(&"T0");
                        assert_eq!(table.t.get(1).filter(|t| **t == "T0"), t0, "{cancer} {edition:?}");
                        assert_eq!(table.m.first(), Some(&"M0"), "{cancer} {edition:?}");
                        for m in &table.m[1..] {
                            for t in ["TX", "T0"].into_iter().filter(|t| table.t.contains(t)) {
                                assert!((table.group)(t, "NX", m).is_some(), "{cancer} {edition:?} {t} NX {m}");
                            }
                        }
                    }
                }
            }
        }
    }

    fn request<'a>(cancer: Cancer, t: &'a str, n: &'a str, m: &'a str) -> Request<'a> {
        Request { cancer, edition: Edition::Ajcc8, t, n, m, histology: None, subsite: None }
    }

    #[test]
    fn input_is_matched_exactly_and_never_echoed() {
        for given in [" T2a", "T2a ", "t2a", "cT2a", "T2A", "<script>", ""] {
            let err = evaluate(&request(Cancer::Lung, given, "N1", "M0")).expect_err("refused");
            assert_eq!(err.field(), "t");
            let message = err.to_string();
            assert!(message.contains("valid: TX, T0, Tis"), "{message}");
            assert_eq!(err.said().en, err.detail());
            assert!(err.said().zh.starts_with("不是 ajcc8 中肺癌的分类；可选值：TX, T0, Tis"), "{}", err.said().zh);
            for foreign in ["<script>", "cT2a", "T2A", "t2a"] {
                assert!(!message.contains(foreign), "{message} echoes {foreign}");
            }
        }
    }

    #[test]
    fn every_cancer_has_an_ajcc8_table_whose_groups_are_known() {
        for cancer in Cancer::ALL {
            for edition in cancer.editions() {
                for histology in [None, Some(Histology::Squamous), Some(Histology::Adenocarcinoma)] {
                    for subsite in [None, Some(Subsite::Glottic)] {
                        let Ok(table) = table(cancer, *edition, histology, subsite) else { continue };
                        assert!(!table.source.is_empty());
                        for t in table.t {
                            for n in table.n {
                                for m in table.m {
                                    if let Some(g) = (table.group)(t, n, m) {
                                        assert!(GROUP_ORDER.contains(&g), "{cancer} {t} {n} {m}: {g}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn qualifiers_are_required_where_needed_and_refused_elsewhere() {
        let mut esophagus = request(Cancer::Esophagus, "T2", "N0", "M0");
        assert_eq!(
            evaluate(&esophagus).expect_err("refused"),
            StagingError::HistologyRequired { cancer: Cancer::Esophagus }
        );
        esophagus.histology = Some(Histology::Squamous);
        assert!(evaluate(&esophagus).is_ok());

        let mut lung = request(Cancer::Lung, "T2a", "N1", "M0");
        lung.histology = Some(Histology::Squamous);
        assert_eq!(evaluate(&lung).expect_err("refused").field(), "histology");
        lung.histology = None;
        lung.subsite = Some(Subsite::Glottic);
        assert_eq!(evaluate(&lung).expect_err("refused").field(), "subsite");

        let mut kidney = request(Cancer::Kidney, "T1a", "N0", "M0");
        kidney.edition = Edition::Ajcc9;
        assert_eq!(evaluate(&kidney).expect_err("refused").to_string(), "edition: kidney is staged here in ajcc8");
        assert_eq!(evaluate(&kidney).expect_err("refused").detail(), "kidney is staged here in ajcc8");
        assert_eq!(evaluate(&kidney).expect_err("refused").said().zh, "此处肾癌按 ajcc8 分期");
    }

    #[test]
    fn the_issue_example_stages_as_iib() {
        let staged = evaluate(&request(Cancer::Lung, "T2a", "N1", "M0")).expect("present");
        assert_eq!(staged.stage_group.as_deref(), Some("IIB"));
        assert!(staged.explanation.contains("T2a N1 M0 is stage IIB"));
    }
}
