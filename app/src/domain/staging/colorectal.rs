//! Colon and rectum cancer: AJCC 8th edition prognostic stage groups (one table, used for clinical
//! and pathological classification).
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 20
//! (Colon and Rectum; Jessup JM et al.), "AJCC Prognostic Stage Groups"; as summarised in Weiser MR,
//! "AJCC 8th Edition: Colorectal Cancer", *Ann Surg Oncol* 2018;25:1454-1455.
//!
//! Categories: N1 is split as the chapter defines it (N1a: one node, N1b: 2-3 nodes, N1c: tumour
//! deposits without nodal metastasis), the table's "N1/N1c" covering all three; N2 into N2a (4-6
//! nodes) and N2b (7 or more). M1 into M1a (one organ or site), M1b (two or more) and M1c
//! (peritoneum). Tis with any N other than N0 has no group.
//!
//! TX (primary tumour cannot be assessed), T0 (no evidence of primary tumour) and NX (regional
//! nodes cannot be assessed) are listed as the chapter defines them, so a board can record a
//! work-up that could not assess the primary or the nodes. The table prints no M0 row for them
//! (T0 with positive nodes is not grouped by the 8th edition) and no M0 row reads "any T" or
//! "any N" (T4b is grouped with N1-N2 only), so with M0 they have no group, T4b NX included. The
//! "any T, any N" rows of M1a, M1b and M1c apply to them as to every category: TX NX M1a is IVA.

use super::Table;

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 20, Colon and Rectum",
    t: &["TX", "T0", "Tis", "T1", "T2", "T3", "T4a", "T4b"],
    n: &["NX", "N0", "N1a", "N1b", "N1c", "N2a", "N2b"],
    m: &["M0", "M1a", "M1b", "M1c"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let n1 = matches!(n, "N1a" | "N1b" | "N1c");
    Some(match (m, t, n) {
        ("M1a", _, _) => "IVA",
        ("M1b", _, _) => "IVB",
        ("M1c", _, _) => "IVC",
        // TX, T0 and NX with M0: no row of the table names them.
        (_, "TX" | "T0", _) | (_, _, "NX") => return None,
        (_, "Tis", "N0") => "0",
        (_, "Tis", _) => return None,
        (_, "T1" | "T2", "N0") => "I",
        (_, "T3", "N0") => "IIA",
        (_, "T4a", "N0") => "IIB",
        (_, "T4b", "N0") => "IIC",
        // T4b N1-N2 (NX is ruled out above).
        (_, "T4b", _) => "IIIC",
        (_, "T1" | "T2", _) if n1 => "IIIA",
        (_, "T3" | "T4a", _) if n1 => "IIIB",
        (_, "T1", "N2a") => "IIIA",
        (_, "T2" | "T3", "N2a") => "IIIB",
        (_, "T4a", "N2a") => "IIIC",
        (_, "T1" | "T2", "N2b") => "IIIB",
        (_, "T3" | "T4a", "N2b") => "IIIC",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::super::{Cancer, Edition, Request, evaluate};
    use super::*;

    #[test]
    fn every_cell() {
        // AJCC 8th ch. 20, transcribed row by row:
        //   Tis N0 M0 0 | T1, T2 N0 I | T3 N0 IIA | T4a N0 IIB | T4b N0 IIC |
        //   T1-T2 N1/N1c IIIA | T1 N2a IIIA | T3-T4a N1/N1c IIIB | T2-T3 N2a IIIB |
        //   T1-T2 N2b IIIB | T4a N2a IIIC | T3-T4a N2b IIIC | T4b N1-N2 IIIC |
        //   Any T Any N M1a IVA | M1b IVB | M1c IVC.
        // No M0 row names TX, T0 or NX: their M0 cells are empty.
        let printed = Printed {
            n: &["NX", "N0", "N1a", "N1b", "N1c", "N2a", "N2b"],
            rows: &[
                ("TX", &["", "", "", "", "", "", ""]),
                ("T0", &["", "", "", "", "", "", ""]),
                ("Tis", &["", "0", "", "", "", "", ""]),
                ("T1", &["", "I", "IIIA", "IIIA", "IIIA", "IIIA", "IIIB"]),
                ("T2", &["", "I", "IIIA", "IIIA", "IIIA", "IIIB", "IIIB"]),
                ("T3", &["", "IIA", "IIIB", "IIIB", "IIIB", "IIIB", "IIIC"]),
                ("T4a", &["", "IIB", "IIIB", "IIIB", "IIIB", "IIIC", "IIIC"]),
                ("T4b", &["", "IIC", "IIIC", "IIIC", "IIIC", "IIIC", "IIIC"]),
            ],
            m0: "M0",
            metastatic: &[("M1a", "IVA"), ("M1b", "IVB"), ("M1c", "IVC")],
        };
        assert_eq!(check(&AJCC8, &printed), 8 * 7 * 4);
    }

    #[test]
    fn staged_through_evaluate() {
        let stage = |t, n, m| {
            let request = Request {
                cancer: Cancer::Colorectal,
                edition: Edition::Ajcc8,
                t,
                n,
                m,
                histology: None,
                subsite: None,
            };
            evaluate(&request).expect("valid categories").stage_group
        };
        assert_eq!(stage("T3", "N1c", "M0").as_deref(), Some("IIIB"));
        assert_eq!(stage("T1", "N2a", "M0").as_deref(), Some("IIIA"));
        assert_eq!(stage("T4b", "N0", "M0").as_deref(), Some("IIC"));
        assert_eq!(stage("T2", "N0", "M1c").as_deref(), Some("IVC"));
        assert_eq!(stage("Tis", "N1a", "M0"), None);
        assert_eq!(stage("TX", "N0", "M0"), None);
        assert_eq!(stage("T0", "N2b", "M0"), None);
        assert_eq!(stage("T4b", "NX", "M0"), None);
        assert_eq!(stage("TX", "NX", "M1a").as_deref(), Some("IVA"));
        assert_eq!(stage("T0", "N1c", "M1c").as_deref(), Some("IVC"));
    }
}
