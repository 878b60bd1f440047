//! The reference screening model 0.2.0 (`models/reference-screening-0.2.0/`: a patch-based
//! network run by sliding window at 3 mm) against the Python pipeline that calibrated it, end to
//! end on the parity cases its training script wrote (`parity/cases.json`). Each phantom series
//! is regenerated and read as the server reads it, then resampled, cropped to the body, tiled,
//! run and blended by the Rust runtime; the Python side is the training script's numpy
//! resampling (float64) and MONAI's `sliding_window_inference` with onnxruntime as predictor.
//!
//! - the class probabilities and the organ label map on the full grid equal Python's;
//! - post-processing flags the organs Python flags at the manifest's thresholds, locates each
//!   lesion where Python's copy of the runtime's rule does, and on the phantom's lesion;
//! - the lesion-free case flags nothing.

use std::path::{Path, PathBuf};

mod common;
mod parity;

use elysium_inference::manifest::{self, VerifiedModel};
use elysium_inference::postprocess;
use elysium_inference::preprocess::{self, GridMap};
use elysium_inference::runtime::{DevicePreference, ModelSession};
use parity::{TruthLesion, distance, unrle};
use serde::Deserialize;

/// Model outputs: the Python side resamples in float64, the runtime in float32 (0.02 HU apart
/// at most, `reference_model.rs`), and the blend sums a few dozen patches in a different order.
const PROBABILITY_ABS: f32 = 1e-3;
/// Arg-max labels may flip where two organ scores tie to within float noise.
const LABEL_MISMATCH_FRACTION: f64 = 1e-3;
/// The same rule on nearly the same heatmap: the refined peak moves by float noise only.
const LOCATION_VS_PYTHON_MM: f64 = 1.5;
/// How far beyond the lesion's radius the located centre may be: one 3 mm grid voxel.
const LOCATION_MARGIN_MM: f64 = 3.0;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/reference-screening-0.2.0")
}

type Case = parity::Case<Expected>;

#[derive(Debug, Deserialize)]
struct Expected {
    volume_shape_zyx: [usize; 3],
    lesions: Vec<TruthLesion>,
    class_probabilities: Vec<f32>,
    positive_organs: Vec<String>,
    lesion_location_mm: std::collections::BTreeMap<String, [f64; 3]>,
    /// `[value, count]` runs over the flat grid.
    organ_labels_rle: Vec<[i64; 2]>,
}

fn cases() -> Vec<Case> {
    parity::cases(&model_dir())
}

fn model() -> VerifiedModel {
    manifest::load(&model_dir()).expect("the reference model 0.2.0 loads (manifest and sha256)")
}

#[test]
fn the_sliding_window_pipeline_matches_python_end_to_end() {
    assert!(
        std::env::var_os("ORT_DYLIB_PATH").is_some(),
        "ORT_DYLIB_PATH is not set: run through `make test` (it installs ONNX Runtime with .ci/setup-ort.sh)"
    );
    let model = model();
    let manifest = model.manifest.clone();
    assert!(manifest.sliding_window.is_some(), "0.2.0 runs by sliding window");
    let mut session = ModelSession::open(model, DevicePreference::Cpu, 1).expect("session");
    let cases = cases();
    assert!(cases.iter().any(|c| c.expected.lesions.is_empty()), "a lesion-free case");
    assert!(cases.iter().any(|c| !c.expected.positive_organs.is_empty()), "a case with a lesion found");
    for case in cases {
        let dir = tempfile::tempdir().expect("dir");
        let volume = common::load_series(&case.generator.regenerate(dir.path()));
        assert_eq!([volume.slices, volume.rows, volume.columns], case.expected.volume_shape_zyx, "{}", case.case);

        let map = GridMap::new(&volume, &manifest.preprocessing);
        let input = preprocess::input_tensor(&volume, &manifest.preprocessing);
        let raw = session.run(&input, map.size).expect("runs");

        let probabilities = raw.f32("class_probabilities").expect("class_probabilities");
        assert_eq!(probabilities.len(), case.expected.class_probabilities.len());
        for (n, (ours, python)) in probabilities.iter().zip(&case.expected.class_probabilities).enumerate() {
            assert!(
                (ours - python).abs() <= PROBABILITY_ABS,
                "{}: class {n}: {ours} here, {python} in Python",
                case.case
            );
        }
        let labels = raw.i64("organ_labels").expect("organ_labels");
        let expected = unrle(&case.expected.organ_labels_rle);
        assert_eq!(labels.len(), expected.len(), "{}: the grid", case.case);
        let mismatched = labels.iter().zip(&expected).filter(|(a, b)| a != b).count();
        assert!(
            mismatched as f64 / labels.len() as f64 <= LABEL_MISMATCH_FRACTION,
            "{}: {mismatched} of {} organ labels differ",
            case.case,
            labels.len()
        );

        let result = postprocess::interpret(&manifest, &raw, &volume, &map).expect("interprets");
        // Python lists the flagged organs by name.
        let mut organs: Vec<String> = result.positives.iter().map(|p| p.organ.clone()).collect();
        organs.sort();
        organs.dedup();
        assert_eq!(organs, case.expected.positive_organs, "{}: organs flagged", case.case);
        for (organ, python) in &case.expected.lesion_location_mm {
            let lesion = result.lesions.iter().find(|l| l.organ == *organ).expect("located");
            let d = distance(lesion.center_mm, *python);
            assert!(d <= LOCATION_VS_PYTHON_MM, "{}: {organ} located {d:.2} mm from Python's", case.case);
        }
        for truth in &case.expected.lesions {
            if let Some(lesion) = result.lesions.iter().find(|l| l.organ == truth.organ) {
                let d = distance(lesion.center_mm, truth.centre_mm);
                assert!(
                    d <= truth.diameter_mm / 2.0 + LOCATION_MARGIN_MM,
                    "{}: located {d:.1} mm from the centre of a {} mm lesion",
                    case.case,
                    truth.diameter_mm
                );
            }
        }
        if case.expected.lesions.is_empty() {
            assert!(organs.is_empty(), "{}: a lesion-free phantom flags {organs:?}", case.case);
        }
    }
}
