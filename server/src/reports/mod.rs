//! Documents rendered from askama templates (`server/templates/`).

pub mod physician_letter;
pub mod recall_letter;
