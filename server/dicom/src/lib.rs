//! Elysium's DICOM layer, free of HTTP and database concerns: reading and validating instance
//! headers and assembling CT series into volumes in Hounsfield units. (Synthetic CT phantoms
//! for demo data, tests and benchmarks are the `elysium-phantom` crate's.)

pub mod eligibility;
pub mod header;
pub mod lengths;
pub mod render;
pub mod uid;
pub mod volume;
