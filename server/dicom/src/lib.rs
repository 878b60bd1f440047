//! Elysium's DICOM layer, free of HTTP and database concerns: reading and validating instance
//! headers, assembling CT series into volumes in Hounsfield units, and writing synthetic CT
//! phantoms for demo data, tests and benchmarks.

pub mod eligibility;
pub mod header;
pub mod lengths;
pub mod phantom;
pub mod render;
pub mod uid;
pub mod volume;
