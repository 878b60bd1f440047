//! Documents rendered from askama templates (`server/templates/`).

pub mod recall_letter;
