//! Sliding-window inference against MONAI: `tests/fixtures/sliding-window` holds a small ONNX
//! network, a volume, and MONAI's `sliding_window_inference` of that network on that volume for
//! several windows (made by `make_sliding_window.py` with the pinned MONAI; see its README).
//! Here the same network runs through ONNX Runtime under `elysium_inference::sliding`, and the
//! window starts, the Gaussian weights and every output voxel must agree with MONAI's.

use std::path::{Path, PathBuf};

use elysium_inference::runtime::{PatchSession, RuntimeError};
use elysium_inference::sliding::{self, Blend, Window, WindowError};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sliding-window")
}

fn floats(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(name)).expect("fixture file");
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn shape3(value: &Value) -> [usize; 3] {
    let v: Vec<usize> = value.as_array().expect("array").iter().map(|d| d.as_u64().expect("size") as usize).collect();
    v.try_into().expect("three sizes")
}

/// Why a prediction failed; read through `Debug` when a test fails.
#[derive(Debug)]
#[expect(dead_code, reason = "the fields are read by Debug in a failing test's message")]
enum Failure {
    Window(WindowError),
    Runtime(RuntimeError),
}

impl From<WindowError> for Failure {
    fn from(e: WindowError) -> Self {
        Failure::Window(e)
    }
}

fn window_of(case: &Value) -> Window {
    Window {
        patch: shape3(&case["patch"]),
        overlap: case["overlap"].as_f64().expect("overlap"),
        blend: match case["mode"].as_str() {
            Some("gaussian") => Blend::Gaussian,
            Some("constant") => Blend::Constant,
            other => panic!("unknown mode {other:?}"),
        },
        sigma_scale: case["sigma_scale"].as_f64().expect("sigma"),
        mirror_axes: case["mirror_axes"]
            .as_array()
            .expect("axes")
            .iter()
            .map(|a| a.as_u64().expect("axis") as usize)
            .collect(),
        batch: case["batch"].as_u64().expect("batch") as usize,
    }
}

#[test]
fn tiling_weights_and_blending_match_monai() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).expect("cases")).expect("json");
    let shape = shape3(&spec["shape"]);
    let channels = spec["channels"].as_u64().expect("channels") as usize;
    let volume = floats(spec["input"].as_str().expect("input"));
    assert_eq!(volume.len(), shape.iter().product::<usize>());

    // MONAI's Gaussian weights of a 16³ patch.
    let monai = floats("importance-16x16x16.f32");
    let ours = sliding::importance_map([16, 16, 16], Blend::Gaussian, 0.125);
    assert_eq!(monai.len(), ours.len());
    let worst = monai.iter().zip(&ours).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "importance map differs by {worst}");

    let mut session =
        PatchSession::open(&fixtures().join(spec["model"].as_str().expect("model")), "patch", "logits", 1)
            .expect("the fixture network opens");
    let cases = spec["cases"].as_array().expect("cases");
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let window = window_of(case);
        // The window starts MONAI used, in its order, on its padded volume.
        let padded: [usize; 3] = std::array::from_fn(|a| shape[a].max(window.patch[a]));
        let expected_starts: Vec<[usize; 3]> = case["starts"].as_array().expect("starts").iter().map(shape3).collect();
        assert_eq!(sliding::window_starts(padded, &window), expected_starts, "{name}: window starts");
        if let Some(before) = case.get("pad_before") {
            assert_eq!(sliding::padding_before(shape, window.patch), shape3(before), "{name}: padding");
        }

        let patch = window.patch;
        let predict = |batch: &[f32], n: usize| -> Result<Vec<f32>, Failure> {
            session.run(batch, [n, 1, patch[0], patch[1], patch[2]], channels).map_err(Failure::Runtime)
        };
        let ours = sliding::infer(&volume, shape, channels, &window, predict).expect("infers");
        let monai = floats(case["output"].as_str().expect("output"));
        assert_eq!(ours.len(), monai.len(), "{name}");
        let (worst, at) = ours
            .iter()
            .zip(&monai)
            .enumerate()
            .map(|(i, (a, b))| ((a - b).abs(), i))
            .fold((0.0f32, 0), |m, d| if d.0 > m.0 { d } else { m });
        assert!(worst <= 1e-4, "{name}: voxel {at} differs from MONAI's by {worst}");
    }
}
