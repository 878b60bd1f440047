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
//! TX and T0 are left out, as in the pancreas and kidney tables: the board stages a tumour that
//! imaging has found. Were they added, the manual's "any T" rows would give them IVA with N1 and
//! IVB with M1 (no group with N0 M0).

use super::Table;

pub static AJCC8: Table = Table {
    source: "AJCC 8th ed. chapter 22, Liver (hepatocellular carcinoma); Chun et al., Ann Surg Oncol 2018",
    t: &["T1a", "T1b", "T2", "T3", "T4"],
    n: &["N0", "N1"],
    m: &["M0", "M1"],
    group,
};

fn group(t: &str, n: &str, m: &str) -> Option<&'static str> {
    match (m, n) {
        // Any T, any N, M1.
        ("M1", _) => Some("IVB"),
        // Any T, N1, M0.
        (_, "N1") => Some("IVA"),
        // N0 M0: by T alone.
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
        // IVA, "any T any N M1" is IVB).
        let printed = Printed {
            n: &["N0", "N1"],
            rows: &[
                ("T1a", &["IA", "IVA"]),
                ("T1b", &["IB", "IVA"]),
                ("T2", &["II", "IVA"]),
                ("T3", &["IIIA", "IVA"]),
                ("T4", &["IIIB", "IVA"]),
            ],
            m0: "M0",
            metastatic: &[("M1", "IVB")],
        };
        assert_eq!(check(&AJCC8, &printed), 5 * 2 * 2);
    }
}
