//! Stomach cancer: AJCC 8th edition clinical (cTNM) prognostic stage groups.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 17
//! (Stomach), "AJCC Prognostic Stage Groups", Clinical (cTNM). The 8th edition gives the clinical
//! groups their own table, separate from the pathological (pTNM) and post-neoadjuvant (ypTNM)
//! groups; the pathological groups are the International Gastric Cancer Association proposal
//! (Sano T et al., *Gastric Cancer* 2017;20:217-225) and are not held here.
//!
//! Categories: T is listed as the chapter defines it (T1a, T1b, T4a, T4b); the clinical table
//! prints T1, which covers T1a and T1b, and keeps T4a apart from T4b. N is N0-N3: the clinical
//! table groups N1, N2 and N3 together ("N1, N2, or N3") and never distinguishes N3a (7-15 nodes)
//! from N3b (16 or more), a count-based split that only the pathological groups use, so N3a and
//! N3b are not listed. TX and T0 are not listed: the table has no row for them. Tis with N1-N3
//! has no group, as no row covers it.

use super::Table;

pub static CLINICAL: Table = Table {
    source: "AJCC 8th ed. chapter 17, Stomach, clinical (cTNM)",
    t: &["Tis", "T1a", "T1b", "T2", "T3", "T4a", "T4b"],
    n: &["N0", "N1", "N2", "N3"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let node_positive = matches!(n, "N1" | "N2" | "N3");
    Some(match (m, t) {
        ("M1", _) => "IVB",
        (_, "Tis") => return (n == "N0").then_some("0"),
        (_, "T4b") => "IVA",
        (_, "T1a" | "T1b" | "T2") if node_positive => "IIA",
        (_, "T1a" | "T1b" | "T2") => "I",
        (_, "T3" | "T4a") if node_positive => "III",
        (_, "T3" | "T4a") => "IIB",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::super::{Cancer, Edition, Request, evaluate};
    use super::*;

    #[test]
    fn clinical_every_cell() {
        // AJCC 8th ch. 17, clinical (cTNM), transcribed row by row:
        //   Tis N0 M0 0 | T1 N0 I | T2 N0 I | T1 N1-3 IIA | T2 N1-3 IIA | T3 N0 IIB |
        //   T4a N0 IIB | T3 N1-3 III | T4a N1-3 III | T4b Any N M0 IVA | Any T Any N M1 IVB.
        // The T1 row is repeated for T1a and T1b.
        let printed = Printed {
            n: &["N0", "N1", "N2", "N3"],
            rows: &[
                ("Tis", &["0", "", "", ""]),
                ("T1a", &["I", "IIA", "IIA", "IIA"]),
                ("T1b", &["I", "IIA", "IIA", "IIA"]),
                ("T2", &["I", "IIA", "IIA", "IIA"]),
                ("T3", &["IIB", "III", "III", "III"]),
                ("T4a", &["IIB", "III", "III", "III"]),
                ("T4b", &["IVA", "IVA", "IVA", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&CLINICAL, &printed), 7 * 4 * 2);
    }

    #[test]
    fn staged_through_evaluate() {
        let stage = |t, n, m| {
            let request =
                Request { cancer: Cancer::Stomach, edition: Edition::Ajcc8, t, n, m, histology: None, subsite: None };
            evaluate(&request).expect("valid categories").stage_group
        };
        assert_eq!(stage("T1b", "N2", "M0").as_deref(), Some("IIA"));
        assert_eq!(stage("T4a", "N0", "M0").as_deref(), Some("IIB"));
        assert_eq!(stage("T4b", "N0", "M0").as_deref(), Some("IVA"));
        assert_eq!(stage("Tis", "N3", "M0"), None);
        assert_eq!(stage("Tis", "N3", "M1").as_deref(), Some("IVB"));
    }
}
