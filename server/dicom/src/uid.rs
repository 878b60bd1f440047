//! DICOM unique identifiers (PS3.5 §9.1): validated before they name anything (object keys,
//! database rows), so that no header text ever becomes a path.

use std::fmt;

/// The longest UID PS3.5 allows.
pub const MAX_LEN: usize = 64;

/// A UID that passed [`Uid::parse`]: 1-64 characters, dot-separated numeric components, no
/// empty components and no leading zeros (except the component `0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Uid(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    #[error("empty UID")]
    Empty,
    #[error("UID longer than {MAX_LEN} characters")]
    TooLong,
    #[error("UID `{0}` has a character other than digits and dots")]
    BadCharacter(String),
    #[error("UID `{0}` has an empty component")]
    EmptyComponent(String),
    #[error("UID `{0}` has a component with a leading zero")]
    LeadingZero(String),
}

impl Uid {
    /// Parses a UID as found in a header: trailing NUL and space padding is removed first.
    pub fn parse(raw: &str) -> Result<Uid, UidError> {
        let uid = raw.trim_end_matches(['\0', ' ']).trim_start_matches(' ');
        if uid.is_empty() {
            return Err(UidError::Empty);
        }
        if uid.len() > MAX_LEN {
            return Err(UidError::TooLong);
        }
        let shown = || uid.chars().take(MAX_LEN).collect::<String>();
        if !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(UidError::BadCharacter(shown()));
        }
        for component in uid.split('.') {
            if component.is_empty() {
                return Err(UidError::EmptyComponent(shown()));
            }
            if component.len() > 1 && component.starts_with('0') {
                return Err(UidError::LeadingZero(shown()));
            }
        }
        Ok(Uid(uid.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_uids() {
        for uid in ["1.2.840.10008.5.1.4.1.1.2", "0", "2.25.0", "1.2.3\0", "1.2.3 "] {
            assert!(Uid::parse(uid).is_ok(), "{uid:?}");
        }
        assert_eq!(Uid::parse("1.2.3\0").map(|u| u.0), Ok("1.2.3".into()));
    }

    #[test]
    fn invalid_uids_are_named() {
        assert_eq!(Uid::parse(""), Err(UidError::Empty));
        assert_eq!(Uid::parse(&"1".repeat(65)), Err(UidError::TooLong));
        assert!(matches!(Uid::parse("1.2.a"), Err(UidError::BadCharacter(_))));
        assert!(matches!(Uid::parse("../../etc/passwd"), Err(UidError::BadCharacter(_))));
        assert!(matches!(Uid::parse("1..2"), Err(UidError::EmptyComponent(_))));
        assert!(matches!(Uid::parse("1.2."), Err(UidError::EmptyComponent(_))));
        assert!(matches!(Uid::parse("1.02"), Err(UidError::LeadingZero(_))));
    }

    /// UID-like text: mostly digits and dots (so that many parse), with padding, and sometimes a
    /// character that must be refused; and a share of arbitrary text.
    fn uid_like() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[0-9.]{1,70}[\\x00 ]{0,2}",
            1 => "[0-9.]{0,30}[a-z/\\\\ ][0-9.]{0,30}",
            1 => "\\PC{0,80}",
        ]
    }

    /// A valid UID built from its definition (components without leading zeros).
    fn valid_uid() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,8}"], 1..8)
            .prop_map(|components| components.join("."))
            .prop_filter("at most 64 characters", |uid| uid.len() <= MAX_LEN)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn parsed_uids_are_safe_path_components(raw in uid_like()) {
            if let Ok(uid) = Uid::parse(&raw) {
                prop_assert!(uid.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'.'));
                prop_assert!(!uid.as_str().contains(".."));
                prop_assert!(!uid.as_str().starts_with('.') && !uid.as_str().ends_with('.'));
                prop_assert!(uid.as_str().len() <= MAX_LEN);
            }
        }

        /// Every UID the definition allows is accepted as it is, padded or not.
        #[test]
        fn every_valid_uid_is_accepted(uid in valid_uid(), padding in "[\\x00 ]{0,2}") {
            prop_assert_eq!(Uid::parse(&format!("{uid}{padding}")).map(|u| u.0), Ok(uid));
        }
    }
}
