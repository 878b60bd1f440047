//! Lesion tracking across a patient's studies: a nodule or mass seen on one scan is the same
//! lesion as one seen on an earlier or later scan when the organ is the same and the positions,
//! aligned on anatomy, lie close ([`matching`]); each tracked lesion has a size history, a growth
//! rate and a volume doubling time ([`growth`]); and a person can split a sighting off a track or
//! join two tracks when the rule got it wrong ([`edits`]). Pure: the service runs this inside
//! the transaction that writes the result.

pub mod edits;
pub mod growth;
pub mod matching;
#[cfg(test)]
mod tests;

pub use edits::{EditRefusal, TrackSighting, check_join, check_split};
pub use growth::{Growth, NelsonCategory, doubling_time_days, growth_between, volume_mm3};
pub use matching::{Candidate, Sighting, assign, distance_mm, tolerance_mm};
