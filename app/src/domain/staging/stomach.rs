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
//! N3b are not listed. Tis with N1-N3 has no group, as no row covers it.
//!
//! TX (primary tumour cannot be assessed), T0 (no evidence of primary tumour) and NX (regional
//! nodes cannot be assessed) are listed first, as the chapter defines them. The clinical table has
//! no M0 row for TX or T0 and no "any T" row with M0, so TX and T0 with M0 have no group. NX is
//! named only by the rows that read "any N": "T4b, any N, M0" (IVA), which is applied as printed
//! (T4b NX M0 is IVA, as invasion of adjacent structures alone decides it), and "any T, any N, M1"
//! (IVB), which applies to TX, T0 and NX alike. Every other NX combination with M0 has no group.

use super::Table;

pub static CLINICAL: Table = Table {
    source: "AJCC 8th ed. chapter 17, Stomach, clinical (cTNM)",
    t: &["TX", "T0", "Tis", "T1a", "T1b", "T2", "T3", "T4a", "T4b"],
    n: &["NX", "N0", "N1", "N2", "N3"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let node_positive = matches!(n, "N1" | "N2" | "N3");
    Some(match (m, t) {
        // Any T, any N, M1.
        ("M1", _) => "IVB",
        // T4b, any N (NX included), M0.
        (_, "T4b") => "IVA",
        // No other M0 row names TX, T0 or NX.
        (_, "TX" | "T0") => return None,
        _ if n == "NX" => return None,
        (_, "Tis") => return (n == "N0").then_some("0"),
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
        // The T1 row is repeated for T1a and T1b. No M0 row names TX or T0; NX only "T4b Any N".
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2", "N3"],
            rows: &[
                ("TX", &["", "", "", "", ""]),
                ("T0", &["", "", "", "", ""]),
                ("Tis", &["", "0", "", "", ""]),
                ("T1a", &["", "I", "IIA", "IIA", "IIA"]),
                ("T1b", &["", "I", "IIA", "IIA", "IIA"]),
                ("T2", &["", "I", "IIA", "IIA", "IIA"]),
                ("T3", &["", "IIB", "III", "III", "III"]),
                ("T4a", &["", "IIB", "III", "III", "III"]),
                ("T4b", &["IVA", "IVA", "IVA", "IVA", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&CLINICAL, &printed), 9 * 5 * 2);
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
        assert_eq!(stage("TX", "N1", "M0"), None);
        assert_eq!(stage("T1b", "NX", "M0"), None);
        assert_eq!(stage("T4b", "NX", "M0").as_deref(), Some("IVA"));
        assert_eq!(stage("T0", "NX", "M1").as_deref(), Some("IVB"));
    }
}
