//! Shared by the inference crate's integration tests.

use elysium_dicom::{header, volume};
use elysium_phantom as phantom;

/// Reads a generated phantom series into a HU volume, as the server loads a stored series.
pub fn load_series(series: &phantom::GeneratedSeries) -> volume::Volume {
    let files = series.dicom_files().expect("series files");
    let parsed: Vec<_> =
        files.iter().map(|p| header::parse(&std::fs::read(p).expect("read")).expect("parse")).collect();
    volume::load_series(&parsed).expect("volume").volume
}
