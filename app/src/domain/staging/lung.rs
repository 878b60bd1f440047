//! Lung cancer (non-small cell and small cell carcinoma): AJCC 8th edition and the IASLC 9th
//! edition.
//!
//! Sources:
//! - 8th: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 36
//!   (Lung), "AJCC Prognostic Stage Groups"; as published by the IASLC in Goldstraw P et al.,
//!   *J Thorac Oncol* 2016;11:39-51, table 5.
//! - 9th: Rami-Porta R et al., "The IASLC Lung Cancer Staging Project: Proposals for the TNM Stage
//!   Groups in the Forthcoming (Ninth) Edition of the TNM Classification for Lung Cancer",
//!   *J Thorac Oncol* 2024;19:1007-1027, table 4; adopted by the AJCC 9th edition lung chapter
//!   (effective 1 January 2025). T is unchanged from the 8th; N2 is split into N2a (single N2
//!   station) and N2b (multiple N2 stations); M1c into M1c1 (multiple lesions in one extrathoracic
//!   organ system) and M1c2 (in several).
//!
//! TX, T0 and NX are listed in both editions, as the chapter defines them (NX: regional nodes
//! cannot be assessed). The only M0 rows that name them are the printed "TX N0 M0" (occult
//! carcinoma); no M0 row reads "any T" or "any N", so TX and T0 with any other N, and NX with any
//! T (TX NX M0 included), have no group with M0. The "any T, any N" rows of M1a, M1b and M1c (and
//! M1c1, M1c2 in the 9th) apply to them as to every category.

use super::Table;

const T: &[&str] = &["TX", "T0", "Tis", "T1mi", "T1a", "T1b", "T1c", "T2a", "T2b", "T3", "T4"];

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 36, Lung; Goldstraw et al., J Thorac Oncol 2016, table 5",
    t: T,
    n: &["NX", "N0", "N1", "N2", "N3"],
    m: &["M0", "M1a", "M1b", "M1c"],
    group: group8,
};

pub static AJCC9: Table = Table {
    source: "AJCC 9th ed., Lung; Rami-Porta et al., J Thorac Oncol 2024, table 4",
    t: T,
    n: &["NX", "N0", "N1", "N2a", "N2b", "N3"],
    m: &["M0", "M1a", "M1b", "M1c1", "M1c2"],
    group: group9,
};

/// The size-based T1 and T2 categories with N0, which the two editions share.
fn node_negative(t: &str) -> Option<&'static str> {
    Some(match t {
        "TX" => "Occult carcinoma",
        "Tis" => "0",
        "T1mi" | "T1a" => "IA1",
        "T1b" => "IA2",
        "T1c" => "IA3",
        "T2a" => "IB",
        "T2b" => "IIA",
        "T3" => "IIB",
        "T4" => "IIIA",
        _ => return None,
    })
}

/// T1mi to T4: the categories the stage table has rows for beyond N0.
fn invasive(t: &str) -> bool {
    !matches!(t, "TX" | "T0" | "Tis")
}

fn group8(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let t12 = matches!(t, "T1mi" | "T1a" | "T1b" | "T1c" | "T2a" | "T2b");
    match (m, n) {
        ("M1a" | "M1b", _) => Some("IVA"),
        ("M1c", _) => Some("IVB"),
        (_, "N0") => node_negative(t),
        // TX, T0 and Tis beyond N0, and NX: no M0 row names them.
        _ if !invasive(t) || n == "NX" => None,
        (_, "N1") if t12 => Some("IIB"),
        (_, "N1") => Some("IIIA"),
        (_, "N2") if t12 => Some("IIIA"),
        (_, "N2") => Some("IIIB"),
        (_, _) if t12 => Some("IIIB"),
        (_, _) => Some("IIIC"),
    }
}

fn group9(t: &str, n: &str, m: &str) -> Option<&'static str> {
    let t1 = matches!(t, "T1mi" | "T1a" | "T1b" | "T1c");
    let t2 = matches!(t, "T2a" | "T2b");
    match (m, n) {
        ("M1a" | "M1b", _) => Some("IVA"),
        ("M1c1" | "M1c2", _) => Some("IVB"),
        (_, "N0") => node_negative(t),
        // TX, T0 and Tis beyond N0, and NX: no M0 row names them.
        _ if !invasive(t) || n == "NX" => None,
        (_, "N1") if t1 => Some("IIA"),
        (_, "N1") if t2 => Some("IIB"),
        (_, "N1") => Some("IIIA"),
        (_, "N2a") if t1 => Some("IIB"),
        (_, "N2a") if t2 || t == "T3" => Some("IIIA"),
        (_, "N2a") => Some("IIIB"),
        (_, "N2b") if t1 => Some("IIIA"),
        (_, "N2b") => Some("IIIB"),
        (_, _) if t1 || t2 => Some("IIIB"),
        (_, _) => Some("IIIC"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::*;

    #[test]
    fn ajcc8_every_cell() {
        // Goldstraw 2016 table 5, transcribed row by row (TX, T0 and Tis rows: only the groups
        // the manual prints; NX column: no M0 row names it).
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2", "N3"],
            rows: &[
                ("TX", &["", "Occult carcinoma", "", "", ""]),
                ("T0", &["", "", "", "", ""]),
                ("Tis", &["", "0", "", "", ""]),
                ("T1mi", &["", "IA1", "IIB", "IIIA", "IIIB"]),
                ("T1a", &["", "IA1", "IIB", "IIIA", "IIIB"]),
                ("T1b", &["", "IA2", "IIB", "IIIA", "IIIB"]),
                ("T1c", &["", "IA3", "IIB", "IIIA", "IIIB"]),
                ("T2a", &["", "IB", "IIB", "IIIA", "IIIB"]),
                ("T2b", &["", "IIA", "IIB", "IIIA", "IIIB"]),
                ("T3", &["", "IIB", "IIIA", "IIIB", "IIIC"]),
                ("T4", &["", "IIIA", "IIIA", "IIIB", "IIIC"]),
            ],
            m0: "M0",
            metastatic: &[("M1a", "IVA"), ("M1b", "IVA"), ("M1c", "IVB")],
        };
        assert_eq!(check(&AJCC8, &printed), 11 * 5 * 4);
    }

    #[test]
    fn ajcc9_every_cell() {
        // Rami-Porta 2024 table 4, transcribed row by row (NX column: no M0 row names it).
        let printed = Printed {
            n: &["NX", "N0", "N1", "N2a", "N2b", "N3"],
            rows: &[
                ("TX", &["", "Occult carcinoma", "", "", "", ""]),
                ("T0", &["", "", "", "", "", ""]),
                ("Tis", &["", "0", "", "", "", ""]),
                ("T1mi", &["", "IA1", "IIA", "IIB", "IIIA", "IIIB"]),
                ("T1a", &["", "IA1", "IIA", "IIB", "IIIA", "IIIB"]),
                ("T1b", &["", "IA2", "IIA", "IIB", "IIIA", "IIIB"]),
                ("T1c", &["", "IA3", "IIA", "IIB", "IIIA", "IIIB"]),
                ("T2a", &["", "IB", "IIB", "IIIA", "IIIB", "IIIB"]),
                ("T2b", &["", "IIA", "IIB", "IIIA", "IIIB", "IIIB"]),
                ("T3", &["", "IIB", "IIIA", "IIIA", "IIIB", "IIIC"]),
                ("T4", &["", "IIIA", "IIIA", "IIIB", "IIIB", "IIIC"]),
            ],
            m0: "M0",
            metastatic: &[("M1a", "IVA"), ("M1b", "IVA"), ("M1c1", "IVB"), ("M1c2", "IVB")],
        };
        assert_eq!(check(&AJCC9, &printed), 11 * 6 * 5);
    }
}
