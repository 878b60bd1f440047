//! Characters no installed font can draw. Typst leaves such a character out of the page (with a
//! warning no reader sees), so a patient's name with a rare ideograph (𠮷, CJK Extension B, on a
//! server whose CJK font lacks it) would print one character short and look complete. Instead,
//! each such character is replaced in the data by its code point in brackets (`[U+20BB7]`) and
//! the report says which characters were replaced, so the reader knows the printed name is not
//! the whole name and can look it up on the record's page.

use std::collections::BTreeSet;

use serde_json::Value;

/// Replaces, in every string of `value`, each character `covered` refuses by `[U+XXXX]`, and
/// returns the characters replaced. Control characters are left alone: they are not printed.
pub(crate) fn substitute_missing(value: &mut Value, covered: &impl Fn(char) -> bool) -> BTreeSet<char> {
    let mut missing = BTreeSet::new();
    substitute_in(value, covered, &mut missing);
    missing
}

fn substitute_in(value: &mut Value, covered: &impl Fn(char) -> bool, missing: &mut BTreeSet<char>) {
    match value {
        Value::String(text) => {
            if text.chars().all(|c| c.is_control() || covered(c)) {
                return;
            }
            let mut replaced = String::with_capacity(text.len() + 8);
            for c in text.chars() {
                if c.is_control() || covered(c) {
                    replaced.push(c);
                } else {
                    missing.insert(c);
                    replaced.push_str(&code_point(c));
                }
            }
            *text = replaced;
        }
        Value::Array(items) => items.iter_mut().for_each(|item| substitute_in(item, covered, missing)),
        Value::Object(fields) => fields.values_mut().for_each(|field| substitute_in(field, covered, missing)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// `U+20BB7`: the Unicode notation, four to six hex digits (the report's note lists these).
pub(crate) fn unicode(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// `[U+20BB7]`: what is printed in the character's place.
pub(crate) fn code_point(c: char) -> String {
    format!("[{}]", unicode(c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn uncovered_characters_become_their_code_points_everywhere_and_are_listed_once() {
        let covered = |c: char| c.is_ascii() || c == '王';
        let mut data = json!({
            "patient": { "name": "𠮷^王", "id": "P1" },
            "positives": [{ "organ": "肝" }, { "organ": "肝" }],
            "count": 2,
            "none": null,
        });
        let missing = substitute_missing(&mut data, &covered);
        assert_eq!(
            data,
            json!({
                "patient": { "name": "[U+20BB7]^王", "id": "P1" },
                "positives": [{ "organ": "[U+809D]" }, { "organ": "[U+809D]" }],
                "count": 2,
                "none": null,
            })
        );
        assert_eq!(missing.into_iter().collect::<Vec<_>>(), ['肝', '𠮷']);
    }

    #[test]
    fn covered_text_and_control_characters_are_left_as_they_are() {
        let mut data = json!({ "note": "line one\nline two\t!" });
        let before = data.clone();
        assert!(substitute_missing(&mut data, &|c: char| c.is_ascii_graphic() || c == ' ').is_empty());
        assert_eq!(data, before);
    }

    #[test]
    fn code_points_use_at_least_four_hex_digits() {
        assert_eq!(code_point('A'), "[U+0041]");
        assert_eq!(code_point('𠮷'), "[U+20BB7]");
        assert_eq!(code_point('\u{10FFFF}'), "[U+10FFFF]");
    }
}
