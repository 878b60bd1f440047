//! The multidisciplinary tumour board: the life of a case from the AI's staging proposal to a
//! signed decision (and its amendments), the treatment options a board recommends per cancer,
//! and the statistics of agreement between the AI and the board. Pure rules; the server applies
//! them inside the transaction that records the result.

pub mod agreement;
pub mod board;
pub mod treatment;

pub use board::{Action, CaseStatus, CategoryReview, Decision, Refusal, Review};
pub use treatment::Treatment;
