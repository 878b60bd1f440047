//! The pinyin of a patient's Chinese name, so that a name stored only in characters (the
//! ideographic group of a DICOM person name, PS3.5 §6.2.1.2) is found by typing it in pinyin.
//! Written wherever the server writes a name; [`fill_missing`] fills it in for names stored
//! before it existed.

use pinyin::ToPinyin;
use sqlx::PgPool;

use crate::service::ServiceError;

/// The toneless pinyin of a stored name's Han characters, component by component (family,
/// given, ...), then all of them joined: `=王^小明` gives `wang xiaoming wangxiaoming`, which
/// "wang xiaoming", "xiao ming" and "wangxiaoming" all find (a name with ü also gets its
/// joined form with v and with u). Components without a Han
/// character (an alphabetic group) add nothing; `None` when no component has one. A character
/// with several readings gets its most common one (the first of the pinyin-data tables the
/// `pinyin` crate carries), so a rare reading of a surname is not found this way.
pub fn name_pinyin(stored: &str) -> Option<String> {
    let mut components = Vec::new();
    for component in stored.split(['=', '^']) {
        if !component.to_pinyin().any(|reading| reading.is_some()) {
            continue;
        }
        let mut text = String::new();
        for (character, reading) in component.chars().zip(component.to_pinyin()) {
            match reading {
                Some(reading) => text.push_str(reading.plain()),
                // Letters and digits written among the characters are kept; spaces and marks
                // such as the middle dot of transliterated names are not.
                None if character.is_alphanumeric() => text.extend(character.to_lowercase()),
                None => {}
            }
        }
        components.push(text);
    }
    if components.is_empty() {
        return None;
    }
    let joined = components.concat();
    let mut pinyin = format!("{} {joined}", components.join(" "));
    // ü (lǚ, nǚ) as keyboards write it: `v` in Chinese input methods, `u` by most others.
    if joined.contains('ü') {
        pinyin = format!("{pinyin} {} {}", joined.replace('ü', "v"), joined.replace('ü', "u"));
    }
    Some(pinyin)
}

/// Fills in the pinyin of names stored without it (before the column existed, or written by
/// SQL outside the server). Returns how many names it filled in.
pub async fn fill_missing(pool: &PgPool) -> Result<u64, ServiceError> {
    let mut filled = 0;
    for (id, name) in elysium_db::patients::names_without_pinyin(pool).await? {
        if let Some(pinyin) = name_pinyin(&name) {
            elysium_db::patients::set_name_pinyin(pool, id, &pinyin).await?;
            filled += 1;
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readings from the Xinhua Zidian (新华字典), written out here.
    #[test]
    fn han_components_in_pinyin_then_joined() {
        assert_eq!(name_pinyin("=王^小明").as_deref(), Some("wang xiaoming wangxiaoming"));
        assert_eq!(name_pinyin("Wang^XiaoMing=王^小明=wang^xiao ming").as_deref(), Some("wang xiaoming wangxiaoming"));
        assert_eq!(name_pinyin("张伟").as_deref(), Some("zhangwei zhangwei"));
        assert_eq!(name_pinyin("=欧阳^娜娜").as_deref(), Some("ouyang nana ouyangnana"));
        // Tones are dropped; ü is also written as people type it, v and u.
        assert_eq!(name_pinyin("=吕^洋").as_deref(), Some("lü yang lüyang lvyang luyang"));
        // A transliterated name's middle dot is dropped; letters among the characters are kept.
        assert_eq!(name_pinyin("=阿依古丽·买买提").as_deref(), Some("ayigulimaimaiti ayigulimaimaiti"));
        assert_eq!(name_pinyin("=李^A2").as_deref(), Some("li li"));
    }

    #[test]
    fn names_without_han_characters_have_none() {
        assert_eq!(name_pinyin("DOE^JANE"), None);
        assert_eq!(name_pinyin("Okafor^Grace=="), None);
        assert_eq!(name_pinyin(""), None);
    }
}
