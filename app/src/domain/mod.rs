//! Pure rules of the clinical workflow: no I/O, no async. The server enforces them and the
//! browser reuses them for instant feedback.

pub mod accounts;
pub mod chronic;
pub mod followup;
pub mod geometry;
pub mod glossary;
pub mod governance;
pub mod identity;
pub mod language;
pub mod lesions;
pub mod mdt;
pub mod model_class;
pub mod names;
pub mod organs;
pub mod program;
pub mod referral;
pub mod roles;
pub mod said;
pub mod scopes;
pub mod screening;
pub mod settings;
pub mod sites;
pub mod staging;
