//! What a refusal says, in every language the interface speaks.
//!
//! A refusal's words belong to the rule that refuses, as a value's names belong to the value
//! ([`Labelled`](super::language::Labelled)): the rule writes its English and its Simplified
//! Chinese side by side with [`said!`](crate::said), so neither can be forgotten (the macro takes
//! both or does not compile). The REST API answers in English, the API's language; a page shows
//! the reader's language; a form posted without JavaScript is redirected with the reader's.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::language::Language;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    pub en: String,
    /// Simplified Chinese; clinical terms as in [`crate::domain::glossary`].
    pub zh: String,
}

impl Said {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Said {
        Said { en: en.into(), zh: zh.into() }
    }

    pub fn in_language(&self, language: Language) -> &str {
        match language {
            Language::English => &self.en,
            Language::SimplifiedChinese => &self.zh,
        }
    }

    /// "valid: a, b, c": the values a field accepts (they are codes, the same in both languages).
    pub fn one_of<S: AsRef<str>>(valid: &[S]) -> Said {
        let valid = valid.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
        Said { en: format!("valid: {valid}"), zh: format!("可选值：{valid}") }
    }

    /// "`{what}`; valid: a, b": what was wrong, then the values accepted.
    pub fn not_one_of<S: AsRef<str>>(what: Said, valid: &[S]) -> Said {
        let valid = valid.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
        Said { en: format!("{}; valid: {valid}", what.en), zh: format!("{}；可选值：{valid}", what.zh) }
    }

    /// "at most N characters".
    pub fn at_most_chars(max: usize) -> Said {
        Said { en: format!("at most {max} characters"), zh: format!("最多 {max} 个字符") }
    }

    /// "a date as YYYY-MM-DD".
    pub fn date() -> Said {
        crate::said!("a date as YYYY-MM-DD", "日期，格式为 YYYY-MM-DD")
    }

    /// The words of a field's refusal, prefixed by the field ("field: message"), for callers that
    /// carry the two together.
    pub fn with_field(&self, field: &str) -> Said {
        Said { en: format!("{field}: {}", self.en), zh: format!("{field}：{}", self.zh) }
    }
}

/// English, the REST API's language and the logs'.
impl fmt::Display for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

/// A [`Said`] from an English and a Simplified Chinese format string:
/// `said!("at most {max} characters", "最多 {max} 个字符")` (variables captured by name), or, where
/// the two languages need different arguments, each with its own in parentheses:
/// `said!(("{} is closed", status.label()), ("{}已关闭", status.label_zh()))`.
#[macro_export]
macro_rules! said {
    ($en:literal, $zh:literal $(,)?) => {
        $crate::domain::said::Said { en: format!($en), zh: format!($zh) }
    };
    (($($en:tt)+), ($($zh:tt)+) $(,)?) => {
        $crate::domain::said::Said { en: format!($($en)+), zh: format!($($zh)+) }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_reads_its_own_words() {
        let max = 12;
        let said = crate::said!("at most {max} characters", "最多 {max} 个字符");
        assert_eq!(said.in_language(Language::English), "at most 12 characters");
        assert_eq!(said.in_language(Language::SimplifiedChinese), "最多 12 个字符");
        assert_eq!(said.to_string(), "at most 12 characters", "Display is the API's English");
        assert_eq!(Said::one_of(&["a", "b"]).zh, "可选值：a, b");
        assert_eq!(Said::at_most_chars(12), said);
        let said = crate::said!(("{} of {}", "a", "b"), ("{} 中的 {}", "乙", "甲"));
        assert_eq!((said.en.as_str(), said.zh.as_str()), ("a of b", "乙 中的 甲"));
    }
}
