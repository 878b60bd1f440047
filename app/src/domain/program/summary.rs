//! The period written up in a sentence per cancer, in the form screening programmes report
//! their deployments: "From 8 May to 23 July 2026, AI screening for colorectal cancer was run on
//! 32,739 patients. Among the positives, 21 were confirmed by imaging and 39 by pathology; 56 are
//! still being followed up."

use time::Date;

use crate::domain::language::{Labelled, Language};
use crate::domain::organs::Organ;

/// What one cancer's sentence says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub cancer: Organ,
    pub from: Date,
    pub to: Date,
    /// Patients with an eligible series screened for this cancer.
    pub patients: u64,
    pub positive: u64,
    pub confirmed_imaging: u64,
    pub confirmed_pathology: u64,
    pub open: u64,
}

/// `32739` as `32,739` (both languages group digits by thousands in reports).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn period_en(from: Date, to: Date) -> String {
    let day = |d: Date| format!("{} {}", d.day(), MONTHS[usize::from(u8::from(d.month())) - 1]);
    if from.year() == to.year() {
        format!("From {} to {} {}", day(from), day(to), to.year())
    } else {
        format!("From {} {} to {} {}", day(from), from.year(), day(to), to.year())
    }
}

fn period_zh(from: Date, to: Date) -> String {
    let day = |d: Date| format!("{}月{}日", u8::from(d.month()), d.day());
    if from.year() == to.year() {
        format!("{}年{}至{}", from.year(), day(from), day(to))
    } else {
        format!("{}年{}至{}年{}", from.year(), day(from), to.year(), day(to))
    }
}

/// "colorectal cancer": the worklist's name, in the middle of a sentence.
fn cancer_en(cancer: Organ) -> String {
    let label = cancer.cancer_label();
    let mut chars = label.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// The NHC guidelines' name (the organ's label table).
fn cancer_zh(cancer: Organ) -> &'static str {
    cancer.label_zh()
}

/// The sentence in `language`.
pub fn sentence(facts: &Facts, language: Language) -> String {
    match language {
        Language::English => sentence_en(facts),
        Language::SimplifiedChinese => sentence_zh(facts),
    }
}

fn sentence_en(f: &Facts) -> String {
    let patients = if f.patients == 1 { "1 patient".to_owned() } else { format!("{} patients", thousands(f.patients)) };
    let opening =
        format!("{}, AI screening for {} was run on {patients}.", period_en(f.from, f.to), cancer_en(f.cancer));
    if f.positive == 0 {
        return format!("{opening} There were no positives.");
    }
    let were = |n: u64| if n == 1 { "was" } else { "were" };
    let are = if f.open == 1 { "is" } else { "are" };
    format!(
        "{opening} Among the positives, {} {} confirmed by imaging and {} by pathology; {} {are} still being followed up.",
        thousands(f.confirmed_imaging),
        were(f.confirmed_imaging),
        thousands(f.confirmed_pathology),
        thousands(f.open),
    )
}

fn sentence_zh(f: &Facts) -> String {
    let opening = format!(
        "{}，{} AI 筛查共覆盖 {} 名患者。",
        period_zh(f.from, f.to),
        cancer_zh(f.cancer),
        thousands(f.patients)
    );
    if f.positive == 0 {
        return format!("{opening}未发现阳性病例。");
    }
    format!(
        "{opening}阳性病例中，{} 例经影像确诊，{} 例经病理确诊；{} 例仍在随访中。",
        thousands(f.confirmed_imaging),
        thousands(f.confirmed_pathology),
        thousands(f.open),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn talk() -> Facts {
        Facts {
            cancer: Organ::Colorectal,
            from: date!(2026 - 05 - 08),
            to: date!(2026 - 07 - 23),
            patients: 32_739,
            positive: 140,
            confirmed_imaging: 21,
            confirmed_pathology: 39,
            open: 56,
        }
    }

    #[test]
    fn the_talks_sentence_in_both_languages() {
        assert_eq!(
            sentence(&talk(), Language::English),
            "From 8 May to 23 July 2026, AI screening for colorectal cancer was run on 32,739 patients. \
             Among the positives, 21 were confirmed by imaging and 39 by pathology; 56 are still being followed up."
        );
        assert_eq!(
            sentence(&talk(), Language::SimplifiedChinese),
            "2026年5月8日至7月23日，结直肠癌 AI 筛查共覆盖 32,739 名患者。\
             阳性病例中，21 例经影像确诊，39 例经病理确诊；56 例仍在随访中。"
        );
    }

    #[test]
    fn singulars_years_and_no_positives() {
        let mut f = talk();
        f.from = date!(2025 - 12 - 01);
        f.patients = 1;
        f.confirmed_imaging = 1;
        f.open = 1;
        assert_eq!(
            sentence(&f, Language::English),
            "From 1 December 2025 to 23 July 2026, AI screening for colorectal cancer was run on 1 patient. \
             Among the positives, 1 was confirmed by imaging and 39 by pathology; 1 is still being followed up."
        );
        f.positive = 0;
        assert!(sentence(&f, Language::English).ends_with("1 patient. There were no positives."));
        assert!(sentence(&f, Language::SimplifiedChinese).starts_with("2025年12月1日至2026年7月23日"));
        assert!(sentence(&f, Language::SimplifiedChinese).ends_with("未发现阳性病例。"));
    }

    #[test]
    fn thousands_are_grouped() {
        for (n, text) in [(0, "0"), (999, "999"), (1000, "1,000"), (32_739, "32,739"), (1_234_567, "1,234,567")] {
            assert_eq!(thousands(n), text);
        }
    }
}
