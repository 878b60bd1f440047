//! Follow-up of AI-positive findings: the lifecycle every finding moves through from detection
//! to a confirmed outcome, the events that move it, and the service levels that make a finding
//! overdue. Pure rules; the server applies them inside the transaction that records the event.

pub mod dates;
pub mod event;
pub mod lifecycle;
pub mod service_levels;
pub mod status;
pub mod surveillance;

pub use event::{EventKind, FindingEvent};
pub use lifecycle::{Facts, Refusal, apply, available};
pub use service_levels::{ServiceLevels, is_overdue};
pub use status::FindingStatus;

#[cfg(test)]
mod tests;
