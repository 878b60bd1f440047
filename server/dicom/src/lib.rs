//! Elysium's DICOM layer, free of HTTP and database concerns: reading and validating instance
//! headers, assembling CT series into volumes in Hounsfield units, and de-identifying instances
//! for research exports. (Synthetic CT phantoms for demo data, tests and benchmarks are the
//! `elysium-phantom` crate's.)

pub mod deidentify;
pub mod eligibility;
pub mod header;
pub mod lengths;
pub mod render;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod uid;
pub mod volume;
