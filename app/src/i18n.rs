//! The interface's languages: English and Simplified Chinese (zh-Hans). The texts live in
//! `app/locales/<language>/<namespace>.json`; `load_locales!` turns them into code at compile
//! time, so a page cannot use a key that does not exist, and the test below fails when a key is
//! missing from either language.
// `load_locales!` reads the locales when the crate compiles; its replacement generates the same
// code from a build script that brings ICU's data tooling with it, which nothing here needs.
#![expect(deprecated, reason = "load_locales! is the build-script-free way to load the locales")]

leptos_i18n::load_locales!();

pub use self::i18n::*;

use crate::domain::language::Language;

/// The domain's language for a locale of the interface.
pub fn language_of(locale: Locale) -> Language {
    match locale {
        Locale::en => Language::English,
        Locale::zh_Hans => Language::SimplifiedChinese,
    }
}

/// The page's current language (tracked: read it inside the view).
pub fn language(i18n: leptos_i18n::I18nContext<Locale>) -> Language {
    language_of(i18n.get_locale())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every key path of a JSON object (`a.b.c`), with its value's kind.
    fn keys(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    keys(&path, value, out);
                }
            }
            serde_json::Value::String(text) => {
                assert!(!text.trim().is_empty(), "{prefix}: an empty text");
                out.insert(prefix.to_owned());
            }
            other => panic!("{prefix}: expected text, found {other}"),
        }
    }

    fn language_keys(language: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(language);
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("the language's folder") {
            let path = entry.expect("entry").path();
            let namespace = path.file_stem().and_then(|s| s.to_str()).expect("a file name").to_owned();
            let text = std::fs::read_to_string(&path).expect("readable");
            let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            keys(&namespace, &value, &mut out);
        }
        out
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        let english = language_keys("en");
        let chinese = language_keys("zh-Hans");
        assert!(english.len() > 10, "the scan found the texts: {english:?}");
        let only_english: Vec<_> = english.difference(&chinese).collect();
        let only_chinese: Vec<_> = chinese.difference(&english).collect();
        assert!(only_english.is_empty(), "missing in zh-Hans: {only_english:?}");
        assert!(only_chinese.is_empty(), "missing in en: {only_chinese:?}");
    }

    /// A Chinese character (the CJK Unified Ideographs block).
    fn chinese_script(c: char) -> bool {
        matches!(c, '\u{4e00}'..='\u{9fff}')
    }

    /// The ASCII punctuation marks in `text` that touch Chinese: Chinese text takes full-width
    /// marks (GB/T 15834-2011, 标点符号用法), as the glossary's terms are written. A formula's
    /// brackets (`ln(V2/V1)`) touch no Chinese and stay ASCII.
    fn half_width_in_chinese(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let touches =
            |i: usize| (i > 0 && chinese_script(chars[i - 1])) || chars.get(i + 1).copied().is_some_and(chinese_script);
        (0..chars.len())
            .filter(|&i| matches!(chars[i], ',' | ':' | ';' | '(' | ')' | '?' | '!') && touches(i))
            .map(|i| chars[i.saturating_sub(4)..(i + 5).min(chars.len())].iter().collect())
            .collect()
    }

    fn texts(value: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                map.iter().for_each(|(key, value)| texts(value, &format!("{path}.{key}"), out));
            }
            serde_json::Value::String(text) => out.push((path.to_owned(), text.clone())),
            _ => {}
        }
    }

    #[test]
    fn chinese_texts_use_full_width_punctuation() {
        assert_eq!(half_width_in_chinese("未更改:"), vec!["未更改:"], "the check finds a half-width colon");
        assert!(half_width_in_chinese("体积倍增时间 = ln(V2/V1)，").is_empty(), "a formula's brackets stay");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join("zh-Hans");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the language's folder") {
            let path = entry.expect("entry").path();
            let value: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("valid JSON");
            let mut all = Vec::new();
            texts(&value, path.file_stem().and_then(|s| s.to_str()).unwrap_or_default(), &mut all);
            for (key, text) in all {
                found.extend(half_width_in_chinese(&text).into_iter().map(|at| format!("{key}: …{at}…")));
            }
        }
        assert!(found.is_empty(), "half-width punctuation in Chinese: {found:#?}");
    }

    #[test]
    fn every_namespace_on_disk_is_declared() {
        let manifest =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).expect("the manifest");
        let declared = manifest
            .lines()
            .find_map(|l| l.strip_prefix("namespaces = "))
            .expect("namespaces in [package.metadata.leptos-i18n]");
        for language in ["en", "zh-Hans"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(language);
            for entry in std::fs::read_dir(&dir).expect("folder") {
                let path = entry.expect("entry").path();
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
                assert!(declared.contains(&format!("\"{stem}\"")), "{language}/{stem}.json is not declared");
            }
        }
    }
}
