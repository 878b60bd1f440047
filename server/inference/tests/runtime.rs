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
