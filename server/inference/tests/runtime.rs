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
