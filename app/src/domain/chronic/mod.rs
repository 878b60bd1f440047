//! The chronic-disease pathway (the talk's "+5"): biomarkers every screened series yields become
//! chronic findings by cited, configurable rules, and each follows a short pathway of its own to
//! the patient's primary-care physician, apart from the cancer worklist.

pub mod kind;
pub mod lifecycle;
pub mod rules;
#[cfg(test)]
mod tests;

pub use kind::{ChronicKind, Criterion};
pub use lifecycle::{ChronicEvent, ChronicEventKind, ChronicStatus, CloseReason, Refusal, apply, available};
pub use rules::{ChronicRules, Measured, Met, evaluate};
