//! Synthetic patient names: plausible, distinct per (seed, patient), and obviously made up
//! together with the `PH-` patient IDs. Drawn from a random stream of their own, so that adding
//! names changed no other value of any existing phantom (pixels, dates, UIDs).

use super::rng::{Rng, stream};
use super::spec::Sex;

const FAMILY: &[&str] = &[
    "ADEYEMI",
    "ALVAREZ",
    "BERGSTROM",
    "CHEN",
    "DUBOIS",
    "ESPOSITO",
    "FISCHER",
    "GARCIA",
    "HASHEMI",
    "IVANOVA",
    "JENSEN",
    "KOWALSKI",
    "LI",
    "MORALES",
    "NAKAMURA",
    "NOVAK",
    "OKAFOR",
    "PATEL",
    "QUINN",
    "ROSSI",
    "SANTOS",
    "SCHMIDT",
    "TANAKA",
    "USMANOV",
    "VARGA",
    "WANG",
    "WEBER",
    "XU",
    "YILMAZ",
    "ZHANG",
];
const GIVEN_FEMALE: &[&str] = &[
    "AMARA",
    "BEATRIZ",
    "CHIARA",
    "DANA",
    "ELIF",
    "FATIMA",
    "GRETA",
    "HANA",
    "INGRID",
    "JUN",
    "KATARZYNA",
    "LEILA",
    "MEI",
    "NADIA",
    "OLGA",
    "PRIYA",
    "ROSA",
    "SAKURA",
    "TOVE",
    "XIAOMEI",
];
const GIVEN_MALE: &[&str] = &[
    "AHMED", "BRUNO", "CARLOS", "DMITRI", "EMEKA", "FELIX", "GIOVANNI", "HIROSHI", "IBRAHIM", "JONAS", "KENJI",
    "LUCAS", "MATEO", "NIKOLAI", "OMAR", "PAVEL", "RAVI", "SVEN", "TOMAS", "WEI",
];

/// `FAMILY^GIVEN` (DICOM PN) for patient `index` of a phantom with `seed`.
pub(crate) fn synthetic_name(seed: u64, index: u32, sex: Sex) -> String {
    let mut rng = Rng::for_stream(seed, &[stream::NAMES, u64::from(index)]);
    let family = FAMILY[pick(&mut rng, FAMILY.len())];
    let given = match sex {
        Sex::F => GIVEN_FEMALE,
        Sex::M => GIVEN_MALE,
    };
    format!("{family}^{}", given[pick(&mut rng, given.len())])
}

fn pick(rng: &mut Rng, len: usize) -> usize {
    usize::try_from(rng.below(len as u64)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_plausible_and_varied() {
        assert_eq!(synthetic_name(2601, 1, Sex::F), synthetic_name(2601, 1, Sex::F));
        let names: std::collections::BTreeSet<String> = (0..40).map(|seed| synthetic_name(seed, 1, Sex::M)).collect();
        // 40 draws from 30 x 20 names: nearly all distinct, never one name for everyone.
        assert!(names.len() >= 30, "{names:?}");
        for name in &names {
            let (family, given) = name.split_once('^').expect("FAMILY^GIVEN");
            assert!(FAMILY.contains(&family) && GIVEN_MALE.contains(&given), "{name}");
        }
    }
}
