//! Building blocks shared by pages.

pub mod board;
pub mod errors;
pub mod referral;
pub mod shell;
pub mod title;
