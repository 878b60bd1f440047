//! Documents for people: letters rendered from askama templates (`server/templates/`), and the
//! PDF reports typeset by `elysium-pdf` (`server/pdf/templates/`).

pub mod mdt_summary;
mod pdf;
pub mod physician_letter;
pub mod recall_letter;
pub mod screening_report;
