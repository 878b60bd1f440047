//! Liver: hepatocellular carcinoma (including fibrolamellar carcinoma), AJCC 8th edition.
//!
//! Source: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017, chapter 22
//! (Liver), "AJCC Prognostic Stage Groups"; as summarised by the AJCC hepatobiliary task force in
//! Chun YS, Pawlik TM, Vauthey JN, "8th Edition of the AJCC Cancer Staging Manual: Pancreas and
//! Hepatobiliary Cancers", *Ann Surg Oncol* 2018;25:845-847. Intrahepatic cholangiocarcinoma and
//! combined hepatocellular-cholangiocarcinoma are staged by chapter 23, not here.
//!
//! T: T1a solitary tumour ≤2 cm (with or without vascular invasion); T1b solitary >2 cm without
//! vascular invasion; T2 solitary >2 cm with vascular invasion, or multiple tumours none >5 cm; T3
//! multiple tumours, at least one >5 cm; T4 tumour involving a major branch of the portal or
//! hepatic vein, or directly invading adjacent organs other than the gallbladder, or perforating
//! the visceral peritoneum. N1: regional (hilar, hepatoduodenal ligament, inferior phrenic, caval)
//! node metastasis.
//!
//! TX (primary tumour cannot be assessed), T0 (no evidence of primary tumour) and NX (regional
//! nodes cannot be assessed) are listed first, as the chapter defines them, so a board can record a
//! work-up that could not assess the primary or the nodes. The manual's "any T" rows give TX and
//! T0 IVA with N1 (M0) and IVB with M1, as printed; with N0 M0 they have no group, as the N0 rows
//! are by T alone. NX is named only by "any T, any N, M1" (IVB): with M0 it has no group.

use super::Table;

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 22, Liver (hepatocellular carcinoma); Chun et al., Ann Surg Oncol 2018",
    t: &["TX", "T0", "T1a", "T1b", "T2", "T3", "T4"],
    n: &["NX", "N0", "N1"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    match (m, n) {
        // Any T, any N, M1.
        ("M1", _) => Some("IVB"),
        // Any T (TX and T0 included), N1, M0.
        (_, "N1") => Some("IVA"),
        // NX M0: no row names it.
        (_, "NX") => None,
        // N0 M0: by T alone (no row for TX or T0).
        (_, _) => Some(match t {
            "T1a" => "IA",
            "T1b" => "IB",
            "T2" => "II",
            "T3" => "IIIA",
            "T4" => "IIIB",
            _ => return None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::grid::{Printed, check};
    use super::*;

    #[test]
    fn ajcc8_every_cell() {
        // AJCC 8th chapter 22 prognostic stage groups, transcribed row by row ("any T N1 M0" is
        // IVA, "any T any N M1" is IVB). TX and T0 rows: only "any T N1"; NX column: no M0 row
        // names it.
        let printed = Printed {
            n: &["NX", "N0", "N1"],
            rows: &[
                ("TX", &["", "", "IVA"]),
                ("T0", &["", "", "IVA"]),
                ("T1a", &["", "IA", "IVA"]),
                ("T1b", &["", "IB", "IVA"]),
                ("T2", &["", "II", "IVA"]),
                ("T3", &["", "IIIA", "IVA"]),
                ("T4", &["", "IIIB", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&AJCC8, &printed), 7 * 3 * 2);
    }
}
