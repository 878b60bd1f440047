//! Breast carcinoma, AJCC 8th edition: the anatomic stage groups, which the manual keeps for
//! settings where the biomarkers of the prognostic stage groups (grade, ER, PR, HER2) are not
//! available. The prognostic stage groups are not modelled here.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 48
//! (Breast; chapter revised 2018), "AJCC Anatomic Stage Groups"; as published by the breast expert
//! panel in Giuliano AE et al., "Breast Cancer—Major changes in the American Joint Committee on
//! Cancer eighth edition cancer staging manual", *CA Cancer J Clin* 2017;67:290-303. The 2018
//! revision of the chapter corrected the prognostic tables; the anatomic groups are unchanged.
//!
//! N is the clinical (cN) classification, with cN1mi (micrometastasis, rarely used clinically, for
//! a sentinel node biopsied before resection). How the manual's notes are read here:
//! - "T1 includes T1mi": T1mi, T1a, T1b and T1c stage alike.
//! - "T0 and T1 tumours with nodal micrometastases only are excluded from stage IIA and are
//!   classified stage IB": the table prints N1mi only with T0 and T1. N1mi is otherwise a
//!   subcategory of N1, so T2, T3 and T4 with N1mi stage as with N1 (IIB, IIIA, IIIB).
//! - N2a and N2b stage as N2, N3a, N3b and N3c as N3; T4a to T4d as T4.
//! - Tis: the table prints Tis N0 (stage 0) and the "any T" rows N3 (IIIC) and M1 (IV), and nothing
//!   for Tis with N1mi, N1 or N2, which therefore stage as `None`. Nodal metastasis beside what is
//!   called pure in situ disease suggests an unsampled invasive component: the T category should be
//!   reviewed rather than the stage guessed.
//! - T0 N0 M0 (no tumour found anywhere) has no group.
//! - TX (primary tumour cannot be assessed) and cNX (regional nodes cannot be assessed, for
//!   example previously removed) are listed first, as the chapter defines them. TX is named only
//!   by the "any T" rows: "any T, N3, M0" (IIIC), applied as printed as it is for Tis and T0, and
//!   "any T, any N, M1" (IV). NX is named only by the latter: no M0 row reads "any N" (T4 is
//!   grouped with N0-N2), so NX with M0 has no group, and neither has TX with N0 to N2.

use super::Table;

pub static ANATOMIC: Table = Table {
    source: "AJCC 8th ed. chapter 48, Breast, anatomic stage groups; Giuliano et al., CA Cancer J Clin 2017",
    t: &["TX", "T0", "Tis", "T1mi", "T1a", "T1b", "T1c", "T2", "T3", "T4a", "T4b", "T4c", "T4d"],
    n: &["NX", "N0", "N1mi", "N1", "N2a", "N2b", "N3a", "N3b", "N3c"],
    m: &["M0", "M1"],
    group,
};

/// The T category as the stage table names it (T1 for T1mi to T1c, T4 for T4a to T4d).
fn t_row(t: &str) -> Option<&'static str> {
    Some(match t {
        "TX" => "TX",
        "T0" => "T0",
        "Tis" => "Tis",
        "T1mi" | "T1a" | "T1b" | "T1c" => "T1",
        "T2" => "T2",
        "T3" => "T3",
        "T4a" | "T4b" | "T4c" | "T4d" => "T4",
        _ => return None,
    })
}

/// The N category as the stage table names it (N1mi kept apart from N1, N2 for N2a and N2b, N3
/// for N3a to N3c).
fn n_column(n: &str) -> Option<&'static str> {
    Some(match n {
        "NX" => "NX",
        "N0" => "N0",
        "N1mi" => "N1mi",
        "N1" => "N1",
        "N2a" | "N2b" => "N2",
        "N3a" | "N3b" | "N3c" => "N3",
        _ => return None,
    })
}

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let (t, n) = (t_row(t)?, n_column(n)?);
    match (m, t, n) {
        // Any T, any N, M1.
        ("M1", _, _) => Some("IV"),
        // Any T (Tis, T0 and TX included), N3, M0.
        (_, _, "N3") => Some("IIIC"),
        // TX with N0 to N2, and NX: no other row names them.
        (_, "TX", _) | (_, _, "NX") => None,
        (_, "Tis", "N0") => Some("0"),
        // Tis with N1mi, N1 or N2, and T0 N0: not in the table.
        (_, "Tis", _) | (_, "T0", "N0") => None,
        (_, "T4", _) => Some("IIIB"),
        (_, "T1", "N0") => Some("IA"),
        (_, "T0" | "T1", "N1mi") => Some("IB"),
        (_, "T0" | "T1", "N1") | (_, "T2", "N0") => Some("IIA"),
        // N1mi is part of N1 beyond T0 and T1.
        (_, "T2", "N1mi" | "N1") | (_, "T3", "N0") => Some("IIB"),
        (_, "T3", "N1mi" | "N1") | (_, "T0" | "T1" | "T2" | "T3", "N2") => Some("IIIA"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::*;

    #[test]
    fn anatomic_every_cell() {
        // AJCC 8th chapter 48 anatomic stage groups, transcribed row by row: one row per T
        // subcategory, N2a/N2b as the printed N2, N3a-c as the printed "any T N3" (IIIC, Tis and
        // T0 included). Not printed, from the notes: the N1mi cells of T2, T3 and T4 (staged as
        // N1). Empty: Tis with N1mi to N2, T0 N0, TX with N0 to N2 (TX is named only by the
        // "any T" rows), and the NX column (no M0 row reads "any N").
        let printed = Printed {
            n: &["NX", "N0", "N1mi", "N1", "N2a", "N2b", "N3a", "N3b", "N3c"],
            rows: &[
                ("TX", &["", "", "", "", "", "", "IIIC", "IIIC", "IIIC"]),
                ("T0", &["", "", "IB", "IIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("Tis", &["", "0", "", "", "", "", "IIIC", "IIIC", "IIIC"]),
                ("T1mi", &["", "IA", "IB", "IIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T1a", &["", "IA", "IB", "IIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T1b", &["", "IA", "IB", "IIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T1c", &["", "IA", "IB", "IIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T2", &["", "IIA", "IIB", "IIB", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T3", &["", "IIB", "IIIA", "IIIA", "IIIA", "IIIA", "IIIC", "IIIC", "IIIC"]),
                ("T4a", &["", "IIIB", "IIIB", "IIIB", "IIIB", "IIIB", "IIIC", "IIIC", "IIIC"]),
                ("T4b", &["", "IIIB", "IIIB", "IIIB", "IIIB", "IIIB", "IIIC", "IIIC", "IIIC"]),
                ("T4c", &["", "IIIB", "IIIB", "IIIB", "IIIB", "IIIB", "IIIC", "IIIC", "IIIC"]),
                ("T4d", &["", "IIIB", "IIIB", "IIIB", "IIIB", "IIIB", "IIIC", "IIIC", "IIIC"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IV")],
        };
        assert_eq!(check(&ANATOMIC, &printed), 13 * 9 * 2);
    }

    #[test]
    fn micrometastases_lower_the_stage_only_for_t0_and_t1() {
        for t in ["T0", "T1mi", "T1c"] {
            assert_eq!(group(t, "N1mi", "M0"), Some("IB"), "{t}");
            assert_eq!(group(t, "N1", "M0"), Some("IIA"), "{t}");
        }
        for t in ["T2", "T3", "T4a"] {
            assert_eq!(group(t, "N1mi", "M0"), group(t, "N1", "M0"), "{t}");
        }
    }
}
