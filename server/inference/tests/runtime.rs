//! ONNX Runtime through `ort` with the library `make test` installs (ORT_DYLIB_PATH): a
//! hand-written network whose outputs are known exactly.

use std::path::Path;

use elysium_inference::manifest;
use elysium_inference::runtime::{DevicePreference, ModelSession, RuntimeError};

fn tiny() -> manifest::VerifiedModel {
    manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")).expect("the tiny model loads")
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn a_session_runs_on_the_cpu_and_its_outputs_are_exact() {
    assert!(
        std::env::var_os("ORT_DYLIB_PATH").is_some(),
        "ORT_DYLIB_PATH is not set: run through `make test` (it installs ONNX Runtime with .ci/setup-ort.sh)"
    );
    let mut session = ModelSession::open(tiny(), DevicePreference::Auto, 1).expect("opens");
    // This machine's library is the CPU build: `auto` falls back to the CPU and says so.
    assert_eq!(session.provider.provider, "CPUExecutionProvider");
    assert_eq!(session.provider.device, "cpu");

    // The first octant (z, y, x < 2) at 1.0, the rest at 0.25.
    let input: Vec<f32> =
        (0..64).map(|i| if i / 16 < 2 && (i / 4) % 4 < 2 && i % 4 < 2 { 1.0 } else { 0.25 }).collect();
    let outputs = session.run(&input).expect("runs");
    let mean = (8.0 * 1.0 + 56.0 * 0.25) / 64.0;
    let probabilities = outputs.f32("class_probabilities").expect("probabilities");
    assert!((probabilities[0] - sigmoid(2.0 * mean)).abs() < 1e-6);
    assert!((probabilities[1] - sigmoid(-2.0 * mean)).abs() < 1e-6);
    assert_eq!(outputs.i64("organ_labels"), Some(&[1, 0, 0, 0, 0, 0, 0, 0][..]));
    let heatmap = outputs.f32("lesion_heatmap").expect("heatmap");
    assert!((heatmap[0] - 1.0).abs() < 1e-6 && (heatmap[7] - 0.25).abs() < 1e-6);
}

#[test]
fn cuda_on_demand_fails_loudly_without_it() {
    let refused = ModelSession::open(tiny(), DevicePreference::Cuda, 1);
    assert!(matches!(refused, Err(RuntimeError::CudaUnavailable(_))), "{refused:?}");
}

/// The `tiny-staging` fixture (make_tiny_staging.py): uniform T and N for a blank input, the
/// script's fixed distributions once any input value is above 0.5 (water, after HU scaling).
#[test]
fn a_staging_model_proposes_its_declared_categories_from_the_input() {
    let model = manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-staging"))
        .expect("the tiny staging model loads");
    assert_eq!(model.manifest.task, manifest::Task::Staging);
    let mut session = ModelSession::open(model.clone(), DevicePreference::Cpu, 1).expect("opens");

    let blank = session.run(&[0.0; 512]).expect("runs");
    let read = elysium_inference::staging::read(&model.manifest, &blank).expect("reads");
    assert!(read.iter().all(|c| c.probabilities.iter().all(|(_, p)| (p - 0.25).abs() < 1e-6)), "{read:?}");

    let mut body = vec![0.0; 512];
    body[300] = 0.52;
    let read = elysium_inference::staging::read(&model.manifest, &session.run(&body).expect("runs")).expect("reads");
    let chosen: Vec<(&str, &str)> = read.iter().map(|c| (c.category.as_str(), c.label.as_str())).collect();
    assert_eq!(chosen, [("t", "T1c"), ("n", "N1")], "no M output: M is left to the measurements");
    assert!((read[0].probability - 0.6).abs() < 1e-6 && (read[1].probability - 0.7).abs() < 1e-6);
    let t: Vec<f64> = read[0].probabilities.iter().map(|(_, p)| *p).collect();
    for (got, expected) in t.iter().zip([0.1, 0.2, 0.6, 0.1]) {
        assert!((got - expected).abs() < 1e-6, "{t:?}");
    }
}

/// The `tiny-sliding` fixture (make_tiny_sliding.py) works voxel by voxel (background 1 - x,
/// liver x, liver/HCC x, kidney/RCC x / 2), so after any tiling and blending its outputs follow
/// by hand from the grid.
#[test]
fn a_sliding_window_model_runs_patch_by_patch_and_its_maps_make_the_outputs() {
    let model = manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-sliding"))
        .expect("the tiny sliding model loads");
    let mut session = ModelSession::open(model, DevicePreference::Cpu, 1).expect("opens");
    // A 10 × 11 × 12 grid: values from 0 to 0.9 along x, 0.95 at one voxel.
    let size = [10usize, 11, 12];
    let voxels: usize = size.iter().product();
    let mut grid: Vec<f32> = (0..voxels).map(|i| (i % 12) as f32 * 0.9 / 11.0).collect();
    let peak = (4 * 11 + 5) * 12 + 6;
    grid[peak] = 0.95;
    let outputs = session.run(&grid).expect("runs");

    let probabilities = outputs.f32("class_probabilities").expect("probabilities");
    assert!((probabilities[0] - 0.95).abs() < 1e-5, "HCC is the highest x: {probabilities:?}");
    assert!((probabilities[1] - 0.475).abs() < 1e-5, "RCC the highest x / 2: {probabilities:?}");
    let labels = outputs.i64("organ_labels").expect("labels");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    assert_eq!((labels.len(), heat.len()), (voxels, voxels));
    for (i, x) in grid.iter().enumerate() {
        // Liver where x > 1 - x; at 0.5 exactly or below, background (the first label wins a tie).
        assert_eq!(labels[i], i64::from(*x > 0.5 + 1e-6), "voxel {i}: x = {x}");
        // The manifest crops to the body (above -500 HU, 0.25 normalised): every voxel has x up to
        // 0.9 along its row, so the box spans z and y whole and starts at x index 4 (0.327),
        // and the columns before it are background with no lesion, never inferred.
        let expected = if i % 12 >= 4 { *x } else { 0.0 };
        assert!((heat[i] - expected).abs() < 1e-5, "voxel {i}: heat {} for x = {x}", heat[i]);
    }

    // A body filling the grid (every voxel above 0.25): the box is the whole grid, tiled as is.
    let full: Vec<f32> = grid.iter().map(|x| 0.3 + x * 0.5).collect();
    let outputs = session.run(&full).expect("runs");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    for (i, x) in full.iter().enumerate() {
        assert!((heat[i] - x).abs() < 1e-5, "voxel {i}: heat {} for x = {x}", heat[i]);
    }
}
