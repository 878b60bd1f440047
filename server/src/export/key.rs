//! The export key and what it derives: each patient's pseudonym and date shift, the replacement
//! of every UID, and the pseudonymous references of findings and board cases. Everything is an
//! HMAC-SHA256 under the key (`ELYSIUM_EXPORT_KEY`) of what it replaces, so the same key gives
//! the same pseudonyms, shifts and UIDs in every export (a later export of the same patients
//! links to an earlier one), and nobody without the key can compute or reverse them.
//!
//! | Derived | Message | From the HMAC |
//! |---|---|---|
//! | patient pseudonym | `patient` NUL assigning authority NUL patient ID | `P` and bytes 0..8 in upper-case hex |
//! | date shift (days) | the same | −1 − (bytes 8..16 as a big-endian integer mod 365): −365 to −1 |
//! | replacement UID | `uid` NUL the original UID | `2.25.` and bytes 0..16 as a big-endian integer, in decimal |
//! | finding / case reference | `finding` (or `mdt_case`) NUL its id in decimal | `F-` (or `C-`) and bytes 0..6 in lower-case hex |

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The shortest key accepted (the server's configuration checks it at start too).
pub use crate::config::MIN_EXPORT_KEY_CHARS as MIN_KEY_CHARS;

/// The days a patient's dates move by lie in `-SHIFT_RANGE_DAYS..=-1`.
pub const SHIFT_RANGE_DAYS: i64 = 365;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "ELYSIUM_EXPORT_KEY is not set: the de-identified export needs a secret key of at least \
         {MIN_KEY_CHARS} characters (it derives the pseudonyms, date shifts and UIDs; keep it secret, \
         and keep it to get the same pseudonyms in later exports)"
    )]
    Missing,
    #[error("ELYSIUM_EXPORT_KEY is {0} characters long; it must have at least {MIN_KEY_CHARS}")]
    TooShort(usize),
}

impl KeyError {
    /// The refusal as an administrator's page shows it, in both languages.
    pub fn said(&self) -> app::domain::said::Said {
        match self {
            KeyError::Missing => app::said!(
                "ELYSIUM_EXPORT_KEY is not set: the de-identified export needs a secret key of at least \
                 {MIN_KEY_CHARS} characters (it derives the pseudonyms, date shifts and UIDs; keep it secret, \
                 and keep it to get the same pseudonyms in later exports)",
                "未设置 ELYSIUM_EXPORT_KEY：去标识化导出需要至少 {MIN_KEY_CHARS} 个字符的密钥（用于生成假名、\
                 日期偏移和 UID；请妥善保密，并保留它以便以后的导出得到相同的假名）"
            ),
            KeyError::TooShort(chars) => app::said!(
                "ELYSIUM_EXPORT_KEY is {chars} characters long; it must have at least {MIN_KEY_CHARS}",
                "ELYSIUM_EXPORT_KEY 长 {chars} 个字符；至少需要 {MIN_KEY_CHARS} 个"
            ),
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The secret key, ready to derive with. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ExportKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for ExportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportKey(***)")
    }
}

/// A patient as the export shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientAlias {
    pub pseudonym: String,
    /// Whole days every date of the patient moves by, in `-365..=-1`.
    pub shift_days: i64,
}

impl ExportKey {
    /// The key from its configured text; refused when missing or shorter than
    /// [`MIN_KEY_CHARS`] characters.
    pub fn new(secret: Option<&str>) -> Result<ExportKey, KeyError> {
        let secret = secret.filter(|s| !s.is_empty()).ok_or(KeyError::Missing)?;
        let chars = secret.chars().count();
        if chars < MIN_KEY_CHARS {
            return Err(KeyError::TooShort(chars));
        }
        // HMAC takes a key of any length; this cannot fail.
        let mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| KeyError::TooShort(chars))?;
        Ok(ExportKey { mac })
    }

    fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(&[0]);
            }
            mac.update(part);
        }
        first::<32>(&mac.finalize().into_bytes())
    }

    /// The pseudonym and date shift of the patient `patient_id` of `authority`.
    pub fn patient(&self, authority: &str, patient_id: &str) -> PatientAlias {
        let digest = self.digest(&[b"patient", authority.as_bytes(), patient_id.as_bytes()]);
        let pseudonym = format!("P{}", hex(&digest[..8], true));
        let spread = u64::from_be_bytes(first::<8>(&digest[8..16])) % SHIFT_RANGE_DAYS as u64;
        PatientAlias { pseudonym, shift_days: -1 - spread as i64 }
    }

    /// The replacement of `uid`: `2.25.` and a 128-bit integer (PS3.5 B.2), at most 44 characters.
    pub fn uid(&self, uid: &str) -> String {
        let digest = self.digest(&[b"uid", uid.trim_end_matches(['\0', ' ']).as_bytes()]);
        format!("2.25.{}", u128::from_be_bytes(first::<16>(&digest[..16])))
    }

    /// A finding's pseudonymous reference (the same in both tables, so they join).
    pub fn finding(&self, id: i64) -> String {
        format!("F-{}", hex(&self.digest(&[b"finding", id.to_string().as_bytes()])[..6], false))
    }

    /// A tumour-board case's pseudonymous reference.
    pub fn case(&self, id: i64) -> String {
        format!("C-{}", hex(&self.digest(&[b"mdt_case", id.to_string().as_bytes()])[..6], false))
    }
}

fn first<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a-test-key-that-is-long-enough-0001";
    const OTHER: &str = "a-test-key-that-is-long-enough-0002";

    fn key(secret: &str) -> ExportKey {
        ExportKey::new(Some(secret)).expect("key")
    }

    #[test]
    fn a_missing_or_short_key_is_refused() {
        assert_eq!(ExportKey::new(None).expect_err("missing"), KeyError::Missing);
        assert_eq!(ExportKey::new(Some("")).expect_err("empty"), KeyError::Missing);
        assert_eq!(ExportKey::new(Some(&"k".repeat(31))).expect_err("short"), KeyError::TooShort(31));
        assert!(ExportKey::new(Some(&"k".repeat(32))).is_ok());
        assert!(!format!("{:?}", key(KEY)).contains("test-key"));
    }

    #[test]
    fn pseudonyms_are_stable_and_depend_on_the_key_and_the_identity() {
        let alias = key(KEY).patient("DEMO-GH", "PL-0001");
        assert_eq!(alias, key(KEY).patient("DEMO-GH", "PL-0001"), "the same in every export");
        assert_ne!(alias.pseudonym, key(OTHER).patient("DEMO-GH", "PL-0001").pseudonym, "another key");
        assert_ne!(alias.pseudonym, key(KEY).patient("DEMO-RC", "PL-0001").pseudonym, "another authority");
        assert_ne!(alias.pseudonym, key(KEY).patient("DEMO-GH", "PL-0002").pseudonym, "another patient");
        // The separator keeps ("AB", "C") and ("A", "BC") apart.
        assert_ne!(key(KEY).patient("AB", "C").pseudonym, key(KEY).patient("A", "BC").pseudonym);
        assert_eq!(alias.pseudonym.len(), 17);
        assert!(alias.pseudonym.starts_with('P'));
        assert!(alias.pseudonym[1..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        assert!(!alias.pseudonym.contains("PL-0001"));
    }

    #[test]
    fn date_shifts_cover_the_year_before_and_nothing_else() {
        let k = key(KEY);
        let shifts: Vec<i64> = (0..5000).map(|i| k.patient("SITE", &format!("ID-{i}")).shift_days).collect();
        assert!(shifts.iter().all(|d| (-SHIFT_RANGE_DAYS..=-1).contains(d)), "in range");
        assert!(shifts.contains(&-1) && shifts.contains(&-SHIFT_RANGE_DAYS), "both ends reached");
        let distinct: std::collections::BTreeSet<_> = shifts.iter().collect();
        assert!(distinct.len() > 300, "spread over the year: {}", distinct.len());
        assert_ne!(k.patient("SITE", "ID-1").shift_days, key(OTHER).patient("SITE", "ID-1").shift_days);
    }

    #[test]
    fn replacement_uids_are_valid_stable_and_distinct() {
        let k = key(KEY);
        let original = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
        let new = k.uid(original);
        assert_eq!(new, k.uid(original));
        assert_eq!(new, k.uid(&format!("{original}\0")), "padding is not part of a UID");
        assert_ne!(new, k.uid("1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"));
        assert_ne!(new, key(OTHER).uid(original));
        assert!(new.starts_with("2.25.") && new.len() <= 44);
        elysium_dicom::uid::Uid::parse(&new).expect("a valid UID");
    }

    #[test]
    fn record_references_are_stable_and_apart() {
        let k = key(KEY);
        assert_eq!(k.finding(7), k.finding(7));
        assert_ne!(k.finding(7), k.finding(8));
        assert!(k.finding(7).starts_with("F-") && k.case(7).starts_with("C-"));
        assert_eq!(k.finding(7).len(), 14);
    }
}
