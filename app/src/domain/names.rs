//! How a patient's name is shown: one rule for every page, list and letter.
//!
//! DICOM stores a person name (PN, PS3.5 §6.2.1.2) as up to three component groups separated by
//! `=` (alphabetic, ideographic, phonetic), each with up to five components separated by `^`
//! (family, given, middle, prefix, suffix). People read it as the components in that order,
//! separated by single spaces; an ideographic group is written without spaces, as Chinese names
//! are. A name with both groups shows the ideographic name (the patient's own written name)
//! followed by its alphabetic form in parentheses: `王小明 (Wang XiaoMing)`. The phonetic group
//! is not shown.

/// The name as people read it, or `None` when nothing is left to show.
pub fn display_name(stored: &str) -> Option<String> {
    let mut groups = stored.split('=');
    let alphabetic = groups.next().map(|g| components(g, " ")).unwrap_or_default();
    let ideographic = groups.next().map(|g| components(g, "")).unwrap_or_default();
    match (alphabetic.is_empty(), ideographic.is_empty()) {
        (true, true) => None,
        (false, true) => Some(alphabetic),
        (true, false) => Some(ideographic),
        (false, false) => Some(format!("{ideographic} ({alphabetic})")),
    }
}

/// The same for an optional stored name.
pub fn display_name_of(stored: Option<&str>) -> Option<String> {
    stored.and_then(display_name)
}

fn components(group: &str, separator: &str) -> String {
    group
        .split('^')
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_in_order_with_single_spaces() {
        assert_eq!(display_name("DOE^JANE").as_deref(), Some("DOE JANE"));
        assert_eq!(display_name("Doe^Jane^Q^Dr^III").as_deref(), Some("Doe Jane Q Dr III"));
        assert_eq!(display_name(" Doe ^  Jane  Ann ").as_deref(), Some("Doe Jane Ann"));
        // Empty components leave no double spaces.
        assert_eq!(display_name("Doe^^^Dr").as_deref(), Some("Doe Dr"));
        assert_eq!(display_name("PHANTOM 0001").as_deref(), Some("PHANTOM 0001"));
    }

    #[test]
    fn the_ideographic_name_with_its_alphabetic_form() {
        assert_eq!(display_name("Wang^XiaoMing=王^小明=wang^xiao ming").as_deref(), Some("王小明 (Wang XiaoMing)"));
        assert_eq!(display_name("Wang^XiaoMing==wang^xiao ming").as_deref(), Some("Wang XiaoMing"));
        assert_eq!(display_name("=王^小明").as_deref(), Some("王小明"));
        assert_eq!(display_name("^=王^小明").as_deref(), Some("王小明"));
    }

    #[test]
    fn nothing_to_show_is_none() {
        for empty in ["", " ", "^", "^^^^", "=", "^=^"] {
            assert_eq!(display_name(empty), None, "{empty:?}");
        }
        assert_eq!(display_name_of(None), None);
        assert_eq!(display_name_of(Some("A^B")).as_deref(), Some("A B"));
    }
}
