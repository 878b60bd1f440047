//! Exocrine pancreas (ductal adenocarcinoma and the other carcinomas of chapter 28), AJCC 8th
//! edition. Well-differentiated neuroendocrine tumours are staged by chapter 34, not here.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 28
//! (Exocrine Pancreas), "AJCC Prognostic Stage Groups"; as summarised by the AJCC hepatobiliary
//! task force in Chun YS, Pawlik TM, Vauthey JN, "8th Edition of the AJCC Cancer Staging Manual:
//! Pancreas and Hepatobiliary Cancers", *Ann Surg Oncol* 2018;25:845-847.
//!
//! T (size-based in the 8th): Tis carcinoma in situ (including high-grade PanIN); T1a ≤0.5 cm;
//! T1b >0.5 and <1 cm; T1c 1-2 cm; T2 >2 and ≤4 cm; T3 >4 cm; T4 involving the coeliac axis,
//! superior mesenteric artery and/or common hepatic artery, whatever the size. N1: 1-3 regional
//! nodes; N2: 4 or more.
//!
//! The manual prints no group for Tis with N1 or N2; those combinations stage as `None`.
//!
//! TX (primary tumour cannot be assessed), T0 (no evidence of primary tumour) and NX (regional
//! nodes cannot be assessed) are listed first, as the chapter defines them. No M0 row names TX or
//! T0 (the N1 and N2 rows are T1-T3), so with M0 they have no group. NX is named only by the rows
//! that read "any N": "T4, any N, M0" (III), applied as printed (T4 NX M0 is III, arterial
//! involvement alone deciding it), and "any T, any N, M1" (IV), which applies to TX, T0 and NX
//! alike. Every other NX combination with M0 has no group.

use super::Table;

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 28, Exocrine Pancreas; Chun et al., Ann Surg Oncol 2018",
    t: &["TX", "T0", "Tis", "T1a", "T1b", "T1c", "T2", "T3", "T4"],
    n: &["NX", "N0", "N1", "N2"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let t1 = matches!(t, "T1a" | "T1b" | "T1c");
    let t1_to_t3 = t1 || matches!(t, "T2" | "T3");
    match (m, n) {
        // Any T, any N, M1.
        ("M1", _) => Some("IV"),
        // T4, any N (NX included), M0.
        _ if t == "T4" => Some("III"),
        // The rows below name a T and an N each: none is TX, T0 or NX, which fall through.
        (_, "N0") if t == "Tis" => Some("0"),
        (_, "N0") if t1 => Some("IA"),
        (_, "N0") if t == "T2" => Some("IB"),
        (_, "N0") if t == "T3" => Some("IIA"),
        (_, "N1") if t1_to_t3 => Some("IIB"),
        (_, "N2") if t1_to_t3 => Some("III"),
        // Tis with N1 or N2; TX, T0 and NX (but T4 NX).
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::*;

    #[test]
    fn ajcc8_every_cell() {
        // AJCC 8th chapter 28 prognostic stage groups, transcribed row by row (Tis row: only the
        // group the manual prints). No M0 row names TX or T0; NX only "T4 any N".
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2"],
            rows: &[
                ("TX", &["", "", "", ""]),
                ("T0", &["", "", "", ""]),
                ("Tis", &["", "0", "", ""]),
                ("T1a", &["", "IA", "IIB", "III"]),
                ("T1b", &["", "IA", "IIB", "III"]),
                ("T1c", &["", "IA", "IIB", "III"]),
                ("T2", &["", "IB", "IIB", "III"]),
                ("T3", &["", "IIA", "IIB", "III"]),
                ("T4", &["III", "III", "III", "III"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IV")],
        };
        assert_eq!(check(&AJCC8, &printed), 9 * 4 * 2);
    }
}
