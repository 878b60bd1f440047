//! Building blocks shared by pages.

pub mod shell;
pub mod errors;
