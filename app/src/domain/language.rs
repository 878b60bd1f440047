//! The languages the interface speaks. A user may choose one in their profile; without a choice
//! the browser's `Accept-Language` decides, and English is the fallback.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    /// Simplified Chinese, as written in mainland China.
    #[serde(rename = "zh-Hans")]
    SimplifiedChinese,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::SimplifiedChinese];

    /// The BCP 47 tag: the stored value, the `lang` attribute and the cookie value.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-Hans",
        }
    }

    pub fn parse(tag: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == tag)
    }

    /// The language an `Accept-Language` header asks for, of those spoken here: the first range
    /// (by weight, then order) that one of them satisfies. Chinese is Simplified Chinese when the
    /// range says so (`zh-Hans…`), names a region that writes it (`zh-CN`, `zh-SG`, `zh-MY`) or
    /// names no script or region (`zh`); Traditional Chinese (`zh-Hant…`, `zh-TW`, `zh-HK`,
    /// `zh-MO`) is not offered, so such a range is passed over. RFC 9110 §12.5.4: `q=0` means "not
    /// acceptable"; a malformed weight counts as 1.
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut ranges: Vec<(f32, usize, &str)> = accept_language
            .split(',')
            .enumerate()
            .filter_map(|(order, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(1.0)))
                    .unwrap_or(1.0);
                (!tag.is_empty() && weight > 0.0).then_some((weight, order, tag))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.into_iter().find_map(|(_, _, tag)| Language::for_range(tag))
    }

    fn for_range(tag: &str) -> Option<Language> {
        let lower = tag.to_ascii_lowercase();
        let mut subtags = lower.split(['-', '_']);
        match subtags.next()? {
            "en" => Some(Language::English),
            "zh" => match subtags.next() {
                None | Some("hans" | "cn" | "sg" | "my") => Some(Language::SimplifiedChinese),
                Some(_) => None,
            },
            _ => None,
        }
    }

    /// The language's own name for itself (what a switcher offers).
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::SimplifiedChinese => "简体中文",
        }
    }
}

/// A value people read, named in each language. English names stay in the code that uses them
/// (`label()`); the Simplified Chinese names follow the clinical usage cited in
/// [`crate::domain::glossary`].
pub trait Labelled: Copy {
    fn label_en(self) -> &'static str;
    fn label_zh(self) -> &'static str;

    fn label_in(self, language: Language) -> &'static str {
        match language {
            Language::English => self.label_en(),
            Language::SimplifiedChinese => self.label_zh(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_bcp47_and_round_trip() {
        assert_eq!(Language::parse("en"), Some(Language::English));
        assert_eq!(Language::parse("zh-Hans"), Some(Language::SimplifiedChinese));
        assert_eq!(Language::parse("zh-hans"), None, "stored tags are exact");
        assert_eq!(Language::parse("fr"), None);
    }

    #[test]
    fn accept_language_cell_by_cell() {
        use Language::{English as En, SimplifiedChinese as Zh};
        let cases: &[(&str, Option<Language>)] = &[
            ("en", Some(En)),
            ("en-GB,en;q=0.9", Some(En)),
            ("zh-CN,zh;q=0.9,en;q=0.5", Some(Zh)),
            ("zh", Some(Zh)),
            ("zh-Hans", Some(Zh)),
            ("zh-Hans-CN", Some(Zh)),
            ("zh-SG", Some(Zh)),
            ("zh_CN", Some(Zh)),
            ("ZH-cn", Some(Zh)),
            // Traditional Chinese is not offered: the next acceptable range decides.
            ("zh-TW,en;q=0.8", Some(En)),
            ("zh-Hant-HK,zh-HK;q=0.9", None),
            ("zh-HK,zh-CN;q=0.5", Some(Zh)),
            // Weights, then order; q=0 is "not acceptable".
            ("en;q=0.4,zh-CN;q=0.8", Some(Zh)),
            ("zh-CN;q=0,en;q=0.1", Some(En)),
            ("en;q=0.5,zh;q=0.5", Some(En)),
            ("fr-FR,de;q=0.9", None),
            ("*", None),
            ("", None),
            (" , ;q=1", None),
            ("zh;q=abc", Some(Zh)),
        ];
        for (header, expected) in cases {
            assert_eq!(Language::negotiate(header), *expected, "{header:?}");
        }
        for language in Language::ALL {
            assert_eq!(serde_json::to_value(language).ok(), Some(serde_json::json!(language.as_str())));
        }
    }
}
