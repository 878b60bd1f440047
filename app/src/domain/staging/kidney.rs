//! Kidney: renal cell carcinoma, AJCC 8th edition.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 60
//! (Kidney), "AJCC Prognostic Stage Groups"; the same groups are printed by the UICC (Brierley JD
//! et al. (eds.), *TNM Classification of Malignant Tumours*, 8th ed., Wiley 2017, Kidney) and
//! summarised by members of the AJCC genitourinary panel in Paner GP et al., "Updates in the Eighth
//! Edition of the Tumor-Node-Metastasis Staging Classification for Urologic Cancers", *Eur Urol*
//! 2018;73:560-569.
//!
//! T: T1a ≤4 cm and T1b >4 to ≤7 cm, limited to the kidney; T2a >7 to ≤10 cm and T2b >10 cm,
//! limited to the kidney; T3a into the renal vein or its segmental branches, the pelvicalyceal
//! system, or perirenal and/or renal sinus fat, not beyond Gerota's fascia; T3b into the vena cava
//! below the diaphragm; T3c into the vena cava above the diaphragm or invading its wall; T4 beyond
//! Gerota's fascia, including contiguous extension into the ipsilateral adrenal gland.
//!
//! TX (primary tumour cannot be assessed), T0 (no evidence of primary tumour) and NX (regional
//! nodes cannot be assessed) are listed first, as the chapter defines them. The M0 rows name T1 to
//! T3 with N0 or N1, so TX and T0 with M0 have no group, and neither has NX, except under "T4,
//! any N, M0" (IV), applied as printed (T4 NX M0 is IV). "Any T, any N, M1" (IV) applies to TX,
//! T0 and NX alike.

use super::Table;

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 60, Kidney; UICC TNM 8th ed. 2017",
    t: &["TX", "T0", "T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4"],
    n: &["NX", "N0", "N1"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    match (m, t, n) {
        // Any T, any N, M1; T4, any N (NX included), M0.
        ("M1", _, _) | (_, "T4", _) => Some("IV"),
        // T1-T3 N1 M0.
        (_, "T1a" | "T1b" | "T2a" | "T2b" | "T3a" | "T3b" | "T3c", "N1") => Some("III"),
        (_, "T1a" | "T1b", "N0") => Some("I"),
        (_, "T2a" | "T2b", "N0") => Some("II"),
        (_, "T3a" | "T3b" | "T3c", "N0") => Some("III"),
        // TX and T0 with M0; NX with T1-T3.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::*;

    #[test]
    fn ajcc8_every_cell() {
        // AJCC 8th chapter 60 prognostic stage groups, transcribed row by row. No M0 row names TX
        // or T0; NX only "T4 any N".
        let printed = Printed {
            n: &["NX", "N0", "N1"],
            rows: &[
                ("TX", &["", "", ""]),
                ("T0", &["", "", ""]),
                ("T1a", &["", "I", "III"]),
                ("T1b", &["", "I", "III"]),
                ("T2a", &["", "II", "III"]),
                ("T2b", &["", "II", "III"]),
                ("T3a", &["", "III", "III"]),
                ("T3b", &["", "III", "III"]),
                ("T3c", &["", "III", "III"]),
                ("T4", &["IV", "IV", "IV"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IV")],
        };
        assert_eq!(check(&AJCC8, &printed), 10 * 3 * 2);
    }
}
