//! The pinyin of a patient's Chinese name, so that a name stored only in characters (the
//! ideographic group of a DICOM person name, PS3.5 §6.2.1.2) is found by typing it in pinyin.
//! Written wherever the server writes a name; [`fill_missing`] fills it in for names stored
//! before it existed.

use pinyin::ToPinyin;
use sqlx::PgPool;

use crate::service::ServiceError;

/// Surnames read otherwise as surnames than the characters' most common reading, which is the
/// one [`name_pinyin`] writes first: the readings the Xinhua Zidian (新华字典, 12th edition) marks
/// as the surname's (姓), written out here. Compound surnames come first, so that 尉迟 is read
/// as one surname before 尉 alone.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("万俟", "moqi"),
    ("尉迟", "yuchi"),
    ("单", "shan"),
    ("解", "xie"),
    ("仇", "qiu"),
    ("区", "ou"),
    ("查", "zha"),
    ("朴", "piao"),
    ("盖", "ge"),
    ("乐", "yue"),
    ("曾", "zeng"),
    ("缪", "miao"),
    ("翟", "zhai"),
    ("尉", "yu"),
    ("秘", "bi"),
    ("繁", "po"),
    ("覃", "qin"),
    ("员", "yun"),
    ("种", "chong"),
    ("召", "shao"),
];

/// The toneless pinyin of a stored name's Han characters, component by component (family,
/// given, ...), then all of them joined: `=王^小明` gives `wang xiaoming wangxiaoming`, which
/// "wang xiaoming", "xiao ming" and "wangxiaoming" all find (a name with ü also gets its
/// joined form with v and with u). Components without a Han
/// character (an alphabetic group) add nothing; `None` when no component has one. A character
/// with several readings gets its most common one (the first of the pinyin-data tables the
/// `pinyin` crate carries); a name that begins with a surname of `SURNAME_READINGS` also gets
/// the surname's own reading, alone and joined (`=单^雄信` is found as "dan" and as "shan").
///
/// A character the tables have no reading for (rare ideographs of CJK Extension B, such as the
/// surname 𠮷) takes its reading from the name itself: an ideographic component holding one is
/// read as the same component of the name's phonetic group (PS3.5 §6.2.1.2, `alphabetic=
/// ideographic=phonetic`), where the sending system wrote it in pinyin. Without a phonetic group
/// such a character adds nothing rather than a guess.
pub fn name_pinyin(stored: &str) -> Option<String> {
    let groups: Vec<&str> = stored.split('=').collect();
    let phonetic: Vec<&str> = groups.get(2).map(|group| group.split('^').collect()).unwrap_or_default();
    let mut han: Vec<&str> = Vec::new();
    let mut components: Vec<String> = Vec::new();
    for (position, group) in groups.iter().enumerate() {
        for (index, component) in group.split('^').enumerate() {
            if !component.chars().any(is_han) {
                continue;
            }
            let spelled = phonetic.get(index).filter(|_| position == 1).copied();
            let reading = component_pinyin(component, spelled);
            if !reading.is_empty() {
                han.push(component);
                components.push(reading);
            }
        }
    }
    let (family, rest) = components.split_first()?;
    let joined = components.concat();
    let mut pinyin = format!("{} {joined}", components.join(" "));
    // The family name is the first component, or the first characters of an undivided name.
    if let Some((surname, reading)) = SURNAME_READINGS.iter().find(|(surname, _)| han[0].starts_with(surname)) {
        let family_as_surname = format!("{reading}{}", component_pinyin(&han[0][surname.len()..], None));
        if &family_as_surname != family {
            pinyin = format!("{pinyin} {family_as_surname} {family_as_surname}{}", rest.concat());
        }
    }
    // ü (lǚ, nǚ) as keyboards write it: `v` in Chinese input methods, `u` by most others.
    if joined.contains('ü') {
        pinyin = format!("{pinyin} {} {}", joined.replace('ü', "v"), joined.replace('ü', "u"));
    }
    Some(pinyin)
}

/// A Han character: one the reading tables have, or one of the CJK ideograph blocks (whose
/// rarer characters the tables lack).
fn is_han(c: char) -> bool {
    c.to_pinyin().is_some()
        || matches!(c as u32,
            0x3400..=0x4DBF // extension A
            | 0x4E00..=0x9FFF // unified ideographs
            | 0xF900..=0xFAFF // compatibility ideographs
            | 0x20000..=0x323AF) // extensions B to H and the compatibility supplement
}

/// One component's characters in pinyin, joined. Letters and digits written among the
/// characters are kept; spaces and marks such as the middle dot of transliterated names are not.
/// When a Han character has no reading, `spelled` (the component as the name's phonetic group
/// writes it, if it is written in Latin letters) is the component's reading instead.
fn component_pinyin(component: &str, spelled: Option<&str>) -> String {
    let unread = component.chars().any(|c| is_han(c) && c.to_pinyin().is_none());
    if let Some(spelled) = spelled.filter(|s| unread && s.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')) {
        return spelled.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_lowercase()).collect();
    }
    let mut text = String::new();
    for (character, reading) in component.chars().zip(component.to_pinyin()) {
        match reading {
            Some(reading) => text.push_str(reading.plain()),
            None if character.is_alphanumeric() && !is_han(character) => text.extend(character.to_lowercase()),
            None => {}
        }
    }
    text
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

    /// Surname readings from the Xinhua Zidian's entries, written out here: the character's
    /// common reading comes first, the surname's after it.
    #[test]
    fn a_surname_read_otherwise_is_found_by_both_readings() {
        assert_eq!(name_pinyin("=单^雄信").as_deref(), Some("dan xiongxin danxiongxin shan shanxiongxin"));
        assert_eq!(name_pinyin("=解^缙").as_deref(), Some("jie jin jiejin xie xiejin"));
        assert_eq!(name_pinyin("=仇^英").as_deref(), Some("chou ying chouying qiu qiuying"));
        // An undivided name: the surname is its first characters.
        assert_eq!(name_pinyin("区家明").as_deref(), Some("qujiaming qujiaming oujiaming oujiaming"));
        // A compound surname is read as one before its first character alone.
        assert_eq!(name_pinyin("=尉迟^恭").as_deref(), Some("weichi gong weichigong yuchi yuchigong"));
        // A surname whose common reading is already the surname's adds nothing.
        assert_eq!(name_pinyin("=王^小明").as_deref(), Some("wang xiaoming wangxiaoming"));
        // Only at the start: 单 inside a given name keeps its common reading alone.
        assert_eq!(name_pinyin("=李^单").as_deref(), Some("li dan lidan"));
    }

    /// 𠮷 (U+20BB7, Extension B) has no reading in the tables; 㐀 (U+3400) and 兰 have (qiū,
    /// lán, as the Unihan database's kMandarin gives them).
    #[test]
    fn a_character_without_a_reading_is_read_from_the_names_phonetic_group() {
        assert_eq!(name_pinyin("Ji^QiuLan=𠮷^㐀兰=ji^qiu lan").as_deref(), Some("ji qiulan jiqiulan"));
        // Only the component that needs it: 㐀兰 keeps the tables' reading, not the group's.
        assert_eq!(name_pinyin("Ji^QiuLan=𠮷^㐀兰=ji^Chiu Lan").as_deref(), Some("ji qiulan jiqiulan"));
        // Without a phonetic group, or with one not in Latin letters, the character adds nothing.
        assert_eq!(name_pinyin("Ji^QiuLan=𠮷^㐀兰").as_deref(), Some("qiulan qiulan"));
        assert_eq!(name_pinyin("=𠮷^㐀兰=きち^しゅうらん").as_deref(), Some("qiulan qiulan"));
        assert_eq!(name_pinyin("=𠮷"), None);
        // The phonetic group is read against the ideographic one only, not the alphabetic.
        assert_eq!(name_pinyin("𠮷^兰==ji^lan").as_deref(), Some("lan lan"));
    }

    #[test]
    fn names_without_han_characters_have_none() {
        assert_eq!(name_pinyin("DOE^JANE"), None);
        assert_eq!(name_pinyin("Okafor^Grace=="), None);
        assert_eq!(name_pinyin(""), None);
    }
}
