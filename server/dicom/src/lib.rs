//! Elysium's DICOM layer, free of HTTP and database concerns: reading and validating instance
//! headers, assembling CT series into volumes in Hounsfield units, de-identifying instances
//! for research exports, and the pure parts of receiving them (DIMSE P-DATA reassembly, STOW-RS
//! multipart bodies). (Synthetic CT phantoms for demo data, tests and benchmarks are the
//! `elysium-phantom` crate's.)

pub mod deidentify;
pub mod dimse;
pub mod eligibility;
pub mod header;
pub mod lengths;
pub mod multipart;
pub mod render;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod uid;
pub mod volume;
