//! Documents for people: letters rendered from askama templates (`server/templates/`), and the
//! PDF reports typeset by `elysium-pdf` (`server/pdf/templates/`). The administrator's CSV exports
//! (`routes::metrics`, `routes::audit`) share the reader's language with them.

pub mod mdt_summary;
mod pdf;
pub mod physician_letter;
pub mod recall_letter;
pub mod screening_report;

pub use pdf::asked_language;

use app::domain::language::Language;

/// What a CSV export in `language` starts with: a UTF-8 byte order mark for Chinese, nothing
/// for English. Excel opens a CSV without a BOM in the computer's legacy code page (GBK on a
/// Chinese Windows), which garbles UTF-8 Chinese; with the BOM it reads the file as UTF-8. Only
/// the Chinese file has one: the English file, which is also the file without `?lang=` that API
/// clients and scripts read, stays byte for byte as it was (it needs no BOM, and many CSV readers
/// take one for part of the first column's name).
pub fn csv_start(language: Language) -> &'static str {
    match language {
        Language::English => "",
        Language::SimplifiedChinese => "\u{feff}",
    }
}
