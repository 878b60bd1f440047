//! Laryngeal cancer (squamous cell carcinoma of the larynx, HPV-unrelated): AJCC 8th edition.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 13
//! (Larynx): "Definition of Primary Tumor (T)" for the supraglottis, glottis and subglottis,
//! "Definition of Regional Lymph Node (N)", clinical N (cN), and "AJCC Prognostic Stage Groups";
//! the changes from the 7th edition are summarised in Lydiatt WM et al., "Head and Neck
//! cancers—major changes in the American Joint Committee on Cancer eighth edition cancer staging
//! manual", *CA Cancer J Clin* 2017;67:122-137.
//!
//! T is defined per subsite (only the glottis divides T1 into T1a, one vocal cord, and T1b, both);
//! N, M and the stage groups are shared. N is the clinical N of HPV-unrelated head and neck
//! cancer: size in greatest dimension, laterality, number of nodes and clinically overt
//! extranodal extension (ENE). The categories are the subcategories the stage table is read
//! with (T4a and T4b rather than T4, N2a to N3b rather than N2 and N3).
//!
//! The stage groups, as the manual prints them:
//!
//! | T | N | M | Group |
//! |---|---|---|---|
//! | Tis | N0 | M0 | 0 |
//! | T1 | N0 | M0 | I |
//! | T2 | N0 | M0 | II |
//! | T3 | N0 | M0 | III |
//! | T1, T2, T3 | N1 | M0 | III |
//! | T4a | N0, N1 | M0 | IVA |
//! | T1, T2, T3, T4a | N2 | M0 | IVA |
//! | Any T | N3 | M0 | IVB |
//! | T4b | Any N | M0 | IVB |
//! | Any T | Any N | M1 | IVC |
//!
//! "Any T" is read as printed: Tis N3 M0 is IVB and Tis with any N and M1 is IVC, while Tis N1 and
//! Tis N2 (M0), which no row names, have no group.
//!
//! TX (primary tumour cannot be assessed) and NX (regional nodes cannot be assessed) are listed
//! first, as the chapter defines them for every subsite. T0 is not: the 8th edition defines no T0
//! for the larynx (a neck node without a known primary is staged by chapter 6, "Cervical Lymph
//! Nodes and Unknown Primary Tumors of the Head and Neck", not here). TX and NX are read like Tis:
//! the "any T" and "any N" rows name them, so TX N3 M0 and T4b NX M0 are IVB and any M1 is IVC;
//! no other row does, so TX with N0 to N2 and NX with Tis to T4a (M0) have no group.

use super::{Subsite, Table};

const SOURCE_SUPRAGLOTTIC: &str = "AJCC 8th ed. chapter 13, Larynx (supraglottis)";
const SOURCE_GLOTTIC: &str = "AJCC 8th ed. chapter 13, Larynx (glottis)";
const SOURCE_SUBGLOTTIC: &str = "AJCC 8th ed. chapter 13, Larynx (subglottis)";
const SOURCE_ANY: &str = "AJCC 8th ed. chapter 13, Larynx (subsite not given: the T categories of all subsites)";

/// Clinical N of HPV-unrelated head and neck cancer (cN).
const N: &[&str] = &["NX", "N0", "N1", "N2a", "N2b", "N2c", "N3a", "N3b"];
const M: &[&str] = &["M0", "M1"];

/// Supraglottis and subglottis: T1 is not subdivided.
const T_UNDIVIDED: &[&str] = &["TX", "Tis", "T1", "T2", "T3", "T4a", "T4b"];

pub static SUPRAGLOTTIC: Table = Table { source: SOURCE_SUPRAGLOTTIC, t: T_UNDIVIDED, n: N, m: M, group };

pub static GLOTTIC: Table =
    Table { source: SOURCE_GLOTTIC, t: &["TX", "Tis", "T1a", "T1b", "T2", "T3", "T4a", "T4b"], n: N, m: M, group };

pub static SUBGLOTTIC: Table = Table { source: SOURCE_SUBGLOTTIC, t: T_UNDIVIDED, n: N, m: M, group };

/// When no subsite is given: the union of the subsites' T categories (the stage groups do not
/// depend on the subsite, so a T1a staged without a subsite is staged as T1).
pub static ANY: Table =
    Table { source: SOURCE_ANY, t: &["TX", "Tis", "T1", "T1a", "T1b", "T2", "T3", "T4a", "T4b"], n: N, m: M, group };

/// The table of a subsite; the union table when none is given.
pub fn table(subsite: Option<Subsite>) -> &'static Table {
    match subsite {
        Some(Subsite::Supraglottic) => &SUPRAGLOTTIC,
        Some(Subsite::Glottic) => &GLOTTIC,
        Some(Subsite::Subglottic) => &SUBGLOTTIC,
        None => &ANY,
    }
}

/// The stage groups, shared by the subsites (chapter 13, "AJCC Prognostic Stage Groups"). TX and
/// NX reach a group only through the "any T" and "any N" rows; every other row names its T and N.
fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let t1_3 = matches!(t, "T1" | "T1a" | "T1b" | "T2" | "T3");
    let n2 = matches!(n, "N2a" | "N2b" | "N2c");
    Some(match (t, n, m) {
        // Any T, any N, M1.
        (_, _, "M1") => "IVC",
        // Any T (TX included), N3, M0; T4b, any N (NX included), M0.
        (_, "N3a" | "N3b", _) | ("T4b", _, _) => "IVB",
        ("T4a", "N0" | "N1", _) => "IVA",
        (_, _, _) if n2 && (t1_3 || t == "T4a") => "IVA",
        (_, "N1", _) if t1_3 => "III",
        ("T3", "N0", _) => "III",
        ("T2", "N0", _) => "II",
        ("T1" | "T1a" | "T1b", "N0", _) => "I",
        ("Tis", "N0", _) => "0",
        _ => return None,
    })
}

/// The AJCC definition of a T category in a subsite (chapter 13, "Definition of Primary Tumor
/// (T)"), so the board can see why the same T reads differently by subsite. `None` where the
/// category is not one of the subsite's.
pub fn t_definition(subsite: Subsite, t: &str) -> Option<&'static str> {
    const TX: &str = "Primary tumor cannot be assessed";
    const TIS: &str = "Carcinoma in situ";
    const T4B: &str = "Very advanced local disease. Tumor invades prevertebral space, encases carotid artery, or \
                       invades mediastinal structures";
    Some(match (subsite, t) {
        (_, "TX") => TX,
        (_, "Tis") => TIS,
        (_, "T4b") => T4B,

        (Subsite::Supraglottic, "T1") => "Tumor limited to one subsite of supraglottis with normal vocal cord mobility",
        (Subsite::Supraglottic, "T2") => {
            "Tumor invades mucosa of more than one adjacent subsite of supraglottis or glottis or region outside the \
             supraglottis (e.g., mucosa of base of tongue, vallecula, medial wall of pyriform sinus) without fixation \
             of the larynx"
        }
        (Subsite::Supraglottic, "T3") => {
            "Tumor limited to larynx with vocal cord fixation and/or invades any of the following: postcricoid area, \
             preepiglottic space, paraglottic space, and/or inner cortex of thyroid cartilage"
        }
        (Subsite::Supraglottic, "T4a") => {
            "Moderately advanced local disease. Tumor invades through the outer cortex of the thyroid cartilage \
             and/or invades tissues beyond the larynx (e.g., trachea, soft tissues of neck including deep extrinsic \
             muscle of the tongue, strap muscles, thyroid, or esophagus)"
        }

        (Subsite::Glottic, "T1a") => {
            "Tumor limited to one vocal cord (T1: tumor limited to the vocal cord(s), may involve anterior or \
             posterior commissure, with normal mobility)"
        }
        (Subsite::Glottic, "T1b") => {
            "Tumor involves both vocal cords (T1: tumor limited to the vocal cord(s), may involve anterior or \
             posterior commissure, with normal mobility)"
        }
        (Subsite::Glottic, "T2") => {
            "Tumor extends to supraglottis and/or subglottis, and/or with impaired vocal cord mobility"
        }
        (Subsite::Glottic, "T3") => {
            "Tumor limited to the larynx with vocal cord fixation and/or invasion of paraglottic space and/or inner \
             cortex of the thyroid cartilage"
        }
        (Subsite::Glottic, "T4a") => {
            "Moderately advanced local disease. Tumor invades through the outer cortex of the thyroid cartilage \
             and/or invades tissues beyond the larynx (e.g., trachea, cricoid cartilage, soft tissues of neck \
             including deep extrinsic muscle of the tongue, strap muscles, thyroid, or esophagus)"
        }

        (Subsite::Subglottic, "T1") => "Tumor limited to the subglottis",
        (Subsite::Subglottic, "T2") => "Tumor extends to vocal cord(s) with normal or impaired mobility",
        (Subsite::Subglottic, "T3") => {
            "Tumor limited to larynx with vocal cord fixation and/or invasion of paraglottic space and/or inner \
             cortex of the thyroid cartilage"
        }
        (Subsite::Subglottic, "T4a") => {
            "Moderately advanced local disease. Tumor invades cricoid or thyroid cartilage and/or invades tissues \
             beyond the larynx (e.g., trachea, soft tissues of neck including deep extrinsic muscles of the tongue, \
             strap muscles, thyroid, or esophagus)"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::super::{Cancer, Edition, Request, StagingError, evaluate};
    use super::*;

    const N_PRINTED: &[&str] = &["NX", "N0", "N1", "N2a", "N2b", "N2c", "N3a", "N3b"];
    const METASTATIC: &[(&str, &str)] = &[("M1", "IVC")];

    // Chapter 13, "AJCC Prognostic Stage Groups", one row per T, transcribed from the table above
    // (the same for every subsite; a glottic T1a or T1b row is the T1 row). TX is named only by
    // "any T N3"; NX only by "T4b any N".
    const TX: &[&str] = &["", "", "", "", "", "", "IVB", "IVB"];
    const TIS: &[&str] = &["", "0", "", "", "", "", "IVB", "IVB"];
    const T1: &[&str] = &["", "I", "III", "IVA", "IVA", "IVA", "IVB", "IVB"];
    const T2: &[&str] = &["", "II", "III", "IVA", "IVA", "IVA", "IVB", "IVB"];
    const T3: &[&str] = &["", "III", "III", "IVA", "IVA", "IVA", "IVB", "IVB"];
    const T4A: &[&str] = &["", "IVA", "IVA", "IVA", "IVA", "IVA", "IVB", "IVB"];
    const T4B: &[&str] = &["IVB", "IVB", "IVB", "IVB", "IVB", "IVB", "IVB", "IVB"];

    fn printed<'a>(rows: &'a [(&'a str, &'a [&'a str])]) -> Printed<'a> {
        Printed { n: N_PRINTED, rows, m0: "M0", metastatic: METASTATIC }
    }

    #[test]
    fn supraglottic_every_cell() {
        let rows: &[(&str, &[&str])] =
            &[("TX", TX), ("Tis", TIS), ("T1", T1), ("T2", T2), ("T3", T3), ("T4a", T4A), ("T4b", T4B)];
        assert_eq!(check(&SUPRAGLOTTIC, &printed(rows)), 7 * 8 * 2);
    }

    #[test]
    fn glottic_every_cell() {
        let rows: &[(&str, &[&str])] =
            &[("TX", TX), ("Tis", TIS), ("T1a", T1), ("T1b", T1), ("T2", T2), ("T3", T3), ("T4a", T4A), ("T4b", T4B)];
        assert_eq!(check(&GLOTTIC, &printed(rows)), 8 * 8 * 2);
    }

    #[test]
    fn subglottic_every_cell() {
        let rows: &[(&str, &[&str])] =
            &[("TX", TX), ("Tis", TIS), ("T1", T1), ("T2", T2), ("T3", T3), ("T4a", T4A), ("T4b", T4B)];
        assert_eq!(check(&SUBGLOTTIC, &printed(rows)), 7 * 8 * 2);
    }

    #[test]
    fn no_subsite_every_cell() {
        let rows: &[(&str, &[&str])] = &[
            ("TX", TX),
            ("Tis", TIS),
            ("T1", T1),
            ("T1a", T1),
            ("T1b", T1),
            ("T2", T2),
            ("T3", T3),
            ("T4a", T4A),
            ("T4b", T4B),
        ];
        assert_eq!(check(&ANY, &printed(rows)), 9 * 8 * 2);
    }

    #[test]
    fn table_follows_the_subsite() {
        assert!(std::ptr::eq(table(Some(Subsite::Supraglottic)), &SUPRAGLOTTIC));
        assert!(std::ptr::eq(table(Some(Subsite::Glottic)), &GLOTTIC));
        assert!(std::ptr::eq(table(Some(Subsite::Subglottic)), &SUBGLOTTIC));
        assert!(std::ptr::eq(table(None), &ANY));
    }

    fn request(t: &str, subsite: Option<Subsite>) -> Request<'_> {
        Request { cancer: Cancer::Larynx, edition: Edition::Ajcc8, t, n: "N0", m: "M0", histology: None, subsite }
    }

    #[test]
    fn glottic_t1a_is_refused_for_the_supraglottis_with_the_valid_list() {
        let err = evaluate(&request("T1a", Some(Subsite::Supraglottic))).expect_err("glottic T1a");
        assert_eq!(
            err,
            StagingError::InvalidCategory {
                field: "t",
                cancer: Cancer::Larynx,
                edition: Edition::Ajcc8,
                valid: vec!["TX", "Tis", "T1", "T2", "T3", "T4a", "T4b"],
            }
        );
        assert_eq!(err.to_string(), "t: not a category of larynx in ajcc8; valid: TX, Tis, T1, T2, T3, T4a, T4b");
        assert!(evaluate(&request("T1a", Some(Subsite::Subglottic))).is_err());
        assert_eq!(evaluate(&request("T1", Some(Subsite::Glottic))).expect_err("glottic T1").field(), "t");

        let glottic = evaluate(&request("T1a", Some(Subsite::Glottic))).expect("glottic T1a");
        assert_eq!(glottic.stage_group.as_deref(), Some("I"));
        let unspecified = evaluate(&request("T1a", None)).expect("T1a without subsite");
        assert_eq!(unspecified.stage_group.as_deref(), Some("I"));
    }

    #[test]
    fn every_t_of_every_subsite_has_a_definition_and_no_other() {
        for subsite in Subsite::ALL {
            let valid = table(Some(subsite)).t;
            for t in ANY.t {
                let definition = t_definition(subsite, t);
                assert_eq!(definition.is_some(), valid.contains(t), "{subsite:?} {t}");
                if let Some(text) = definition {
                    assert!(!text.contains("  "), "{subsite:?} {t}: {text}");
                }
            }
        }
        assert!(t_definition(Subsite::Glottic, "T1a").expect("T1a").contains("one vocal cord"));
        assert!(t_definition(Subsite::Subglottic, "T4a").expect("T4a").starts_with("Moderately advanced"));
        assert!(t_definition(Subsite::Supraglottic, "T3").expect("T3").contains("preepiglottic space"));
        assert_eq!(t_definition(Subsite::Glottic, "TX"), Some("Primary tumor cannot be assessed"));
        for subsite in Subsite::ALL {
            assert_eq!(t_definition(subsite, "T0"), None, "{subsite:?}: the 8th edition defines no laryngeal T0");
        }
    }
}
