//! Shared by the inference crate's integration tests.

use std::path::Path;

use elysium_dicom::{header, volume};

/// Reads a generated phantom series folder (its `.dcm` files) into a HU volume, as the server
/// loads a stored series.
pub fn load_series_dir(dir: &Path) -> volume::Volume {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("series folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    files.sort();
    let parsed: Vec<_> = files.iter().map(|p| header::parse(&std::fs::read(p).expect("read")).expect("parse")).collect();
    volume::load_series(&parsed).expect("volume").volume
}
