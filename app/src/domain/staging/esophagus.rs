//! Cancer of the esophagus and esophagogastric junction: AJCC 8th edition clinical (cTNM)
//! prognostic stage groups, which differ for squamous cell carcinoma and adenocarcinoma.
//!
//! Sources:
//! - Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 16
//!   (Esophagus and Esophagogastric Junction), "AJCC Prognostic Stage Groups", Clinical (cTNM)
//!   tables for squamous cell carcinoma and for adenocarcinoma.
//! - As published by the chapter's authors in Rice TW, Ishwaran H, Ferguson MK, Blackstone EH,
//!   Goldstraw P, "Cancer of the esophagus and esophagogastric junction: an eighth edition staging
//!   primer", *J Thorac Oncol* 2017;12:36-42; derived in Rice TW, Ishwaran H, Blackstone EH,
//!   Hofstetter WL, Kelsen DP, Apperson-Hansen C, "Recommendations for clinical staging (cTNM) of
//!   cancer of the esophagus and esophagogastric junction for the 8th edition AJCC/UICC staging
//!   manuals", *Dis Esophagus* 2016;29:913-919 (for squamous cell carcinoma the consensus removed
//!   the cT4 subclassification; for adenocarcinoma it kept cT4a apart from cT4b).
//!
//! Categories: T is listed as the chapter defines it (T1a, T1b, T4a, T4b), so one T picker serves
//! both histologies; the clinical tables print T1 (both histologies) and T4 (squamous), which
//! cover the subcategories. TX (primary tumour cannot be assessed) and T0 (no evidence of primary
//! tumour) come first, as the chapter defines them. `N` is NX (regional nodes cannot be assessed)
//! and N0-N3 (1-2, 3-6, 7 or more regional nodes), `M` is M0 or M1.
//!
//! The "Any T, N3, M0" row (IVA in both tables) is applied as printed, Tis, TX and T0 included:
//! "any T" is every T category the chapter defines, and N3 alone decides the group. No other M0
//! row names TX, T0 or NX (T4 in the squamous table and T4b in the adenocarcinoma table are
//! grouped with N0-N2, not with any N), so those combinations have no group, T4 NX included; Tis
//! with N1 or N2 has none either, as no row covers it. "Any T, any N, M1" (IVB) applies to all.
//! Histologic grade and location are not used by the clinical groups (they are by the
//! pathological ones, which this module does not hold).

use super::Table;

const T: &[&str] = &["TX", "T0", "Tis", "T1a", "T1b", "T2", "T3", "T4a", "T4b"];
const N: &[&str] = &["NX", "N0", "N1", "N2", "N3"];
const M: &[&str] = &["M0", "M1"];

pub static SQUAMOUS: Table = Table {
    source: "AJCC 8th ed. chapter 16, Esophagus and EGJ, clinical (squamous); Rice et al., J Thorac Oncol 2017",
    t: T,
    n: N,
    m: M,
    group: squamous,
};

pub static ADENOCARCINOMA: Table = Table {
    source: "AJCC 8th ed. chapter 16, Esophagus and EGJ, clinical (adenocarcinoma); Rice et al., J Thorac Oncol 2017",
    t: T,
    n: N,
    m: M,
    group: adenocarcinoma,
};

/// T1a and T1b, which both clinical tables print as T1.
fn t1(t: &str) -> bool {
    matches!(t, "T1a" | "T1b")
}

/// The categories only the "any T" and "any N" rows name: TX, T0 and NX.
fn unassessed(t: &str, n: &str) -> bool {
    matches!(t, "TX" | "T0") || n == "NX"
}

fn squamous(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let t4 = matches!(t, "T4a" | "T4b");
    Some(match (m, n) {
        ("M1", _) => "IVB",
        // Any T (TX and T0 included), N3, M0.
        (_, "N3") => "IVA",
        _ if unassessed(t, n) => return None,
        _ if t == "Tis" => return (n == "N0").then_some("0"),
        _ if t4 => "IVA",
        (_, "N2") => "III",
        (_, "N0" | "N1") if t1(t) => "I",
        (_, "N0" | "N1") if t == "T2" => "II",
        (_, "N0") if t == "T3" => "II",
        (_, "N1") if t == "T3" => "III",
        _ => return None,
    })
}

fn adenocarcinoma(t: &str, n: &str, m: &str) -> Option<&'static str> {
    Some(match (m, n) {
        ("M1", _) => "IVB",
        // Any T (TX and T0 included), N3, M0.
        (_, "N3") => "IVA",
        _ if unassessed(t, n) => return None,
        _ if t == "Tis" => return (n == "N0").then_some("0"),
        _ if t == "T4b" => "IVA",
        (_, "N2") => "IVA",
        (_, "N0") if t1(t) => "I",
        (_, "N1") if t1(t) => "IIA",
        (_, "N0") if t == "T2" => "IIB",
        (_, "N0" | "N1") if matches!(t, "T2" | "T3" | "T4a") => "III",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::super::{Cancer, Edition, Histology, Request, evaluate};
    use super::*;

    #[test]
    fn squamous_every_cell() {
        // AJCC 8th ch. 16, clinical (cTNM), squamous cell carcinoma, transcribed row by row:
        //   Tis N0 M0 0 | T1 N0-1 I | T2 N0-1 II | T3 N0 II | T3 N1 III | T1-3 N2 III |
        //   T4 N0-2 IVA | Any T N3 M0 IVA | Any T Any N M1 IVB.
        // T1 and T4 rows are repeated for their subcategories. TX and T0 rows: only "Any T N3";
        // NX column: no row names it.
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2", "N3"],
            rows: &[
                ("TX", &["", "", "", "", "IVA"]),
                ("T0", &["", "", "", "", "IVA"]),
                ("Tis", &["", "0", "", "", "IVA"]),
                ("T1a", &["", "I", "I", "III", "IVA"]),
                ("T1b", &["", "I", "I", "III", "IVA"]),
                ("T2", &["", "II", "II", "III", "IVA"]),
                ("T3", &["", "II", "III", "III", "IVA"]),
                ("T4a", &["", "IVA", "IVA", "IVA", "IVA"]),
                ("T4b", &["", "IVA", "IVA", "IVA", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&SQUAMOUS, &printed), 9 * 5 * 2);
    }

    #[test]
    fn adenocarcinoma_every_cell() {
        // AJCC 8th ch. 16, clinical (cTNM), adenocarcinoma, transcribed row by row:
        //   Tis N0 M0 0 | T1 N0 I | T1 N1 IIA | T2 N0 IIB | T2 N1 III | T3 N0-1 III |
        //   T4a N0-1 III | T1-4a N2 IVA | T4b N0-2 IVA | Any T N3 M0 IVA | Any T Any N M1 IVB.
        // TX and T0 rows: only "Any T N3"; NX column: no row names it.
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2", "N3"],
            rows: &[
                ("TX", &["", "", "", "", "IVA"]),
                ("T0", &["", "", "", "", "IVA"]),
                ("Tis", &["", "0", "", "", "IVA"]),
                ("T1a", &["", "I", "IIA", "IVA", "IVA"]),
                ("T1b", &["", "I", "IIA", "IVA", "IVA"]),
                ("T2", &["", "IIB", "III", "IVA", "IVA"]),
                ("T3", &["", "III", "III", "IVA", "IVA"]),
                ("T4a", &["", "III", "III", "IVA", "IVA"]),
                ("T4b", &["", "IVA", "IVA", "IVA", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&ADENOCARCINOMA, &printed), 9 * 5 * 2);
    }

    fn staged(histology: Histology, t: &str, n: &str, m: &str) -> Option<String> {
        let request = Request {
            cancer: Cancer::Esophagus,
            edition: Edition::Ajcc8,
            t,
            n,
            m,
            histology: Some(histology),
            subsite: None,
        };
        evaluate(&request).expect("valid categories").stage_group
    }

    #[test]
    fn histology_decides_the_group() {
        use Histology::{Adenocarcinoma, Squamous};
        for (t, n, squamous, adenocarcinoma) in [
            ("T1b", "N1", "I", "IIA"),
            ("T2", "N0", "II", "IIB"),
            ("T2", "N1", "II", "III"),
            ("T3", "N0", "II", "III"),
            ("T1a", "N2", "III", "IVA"),
            ("T4a", "N1", "IVA", "III"),
        ] {
            assert_eq!(staged(Squamous, t, n, "M0").as_deref(), Some(squamous), "squamous {t} {n}");
            assert_eq!(staged(Adenocarcinoma, t, n, "M0").as_deref(), Some(adenocarcinoma), "adenocarcinoma {t} {n}");
        }
        assert_eq!(staged(Squamous, "Tis", "N1", "M0"), None);
        for histology in [Squamous, Adenocarcinoma] {
            assert_eq!(staged(histology, "TX", "N2", "M0"), None, "{histology:?}");
            assert_eq!(staged(histology, "T4b", "NX", "M0"), None, "{histology:?}");
            assert_eq!(staged(histology, "TX", "N3", "M0").as_deref(), Some("IVA"), "{histology:?}");
            assert_eq!(staged(histology, "T0", "NX", "M1").as_deref(), Some("IVB"), "{histology:?}");
        }
        assert_eq!(staged(Adenocarcinoma, "T3", "N3", "M1").as_deref(), Some("IVB"));
    }
}
