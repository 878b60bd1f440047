//! Building blocks shared by pages.

pub mod errors;
pub mod shell;
