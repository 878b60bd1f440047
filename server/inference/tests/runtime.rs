//! ONNX Runtime through `ort` with the library `make test` installs (ORT_DYLIB_PATH): a
//! hand-written network whose outputs are known exactly.

use std::path::Path;

use elysium_dicom::volume::Volume;
use elysium_inference::manifest;
use elysium_inference::preprocess::{self, GridMap};
use elysium_inference::runtime::{DevicePreference, ModelSession, RawOutputs, RuntimeError};

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
    let outputs = session.run(&input, [4, 4, 4]).expect("runs");
    assert!(outputs.network_ms > 0.0, "the time inside ONNX Runtime is measured");
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

    let blank = session.run(&[0.0; 512], [8, 8, 8]).expect("runs");
    let read = elysium_inference::staging::read(&model.manifest, &blank).expect("reads");
    assert!(read.iter().all(|c| c.probabilities.iter().all(|(_, p)| (p - 0.25).abs() < 1e-6)), "{read:?}");

    let mut body = vec![0.0; 512];
    body[300] = 0.52;
    let read = elysium_inference::staging::read(&model.manifest, &session.run(&body, [8, 8, 8]).expect("runs"))
        .expect("reads");
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
    let outputs = session.run(&grid, size).expect("runs");
    assert!(outputs.network_ms > 0.0, "the patches' time inside ONNX Runtime is measured");

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
    let outputs = session.run(&full, size).expect("runs");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    for (i, x) in full.iter().enumerate() {
        assert!((heat[i] - x).abs() < 1e-5, "voxel {i}: heat {} for x = {x}", heat[i]);
    }
}

fn tiny_sliding_scan() -> manifest::VerifiedModel {
    manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-sliding-scan"))
        .expect("the tiny sliding model on a grid that follows the scan loads")
}

/// A scan of `slices` × `rows` × `columns` voxels of `spacing` (x, y, z) mm, HU `hu(z, y, x)`.
fn scan(
    slices: usize,
    rows: usize,
    columns: usize,
    spacing: [f64; 3],
    hu: impl Fn(usize, usize, usize) -> i16,
) -> Volume {
    elysium_dicom::testing::volume_from_fn([slices, rows, columns], spacing, [0.0; 3], hu)
}

/// The shape the runtime gave output `name`.
fn shape_of(raw: &RawOutputs, name: &str) -> Option<Vec<usize>> {
    let f32 = raw.f32.iter().map(|(n, shape, _)| (n, shape));
    f32.chain(raw.i64.iter().map(|(n, shape, _)| (n, shape))).find(|(n, _)| *n == name).map(|(_, s)| s.clone())
}

/// The `tiny-sliding-scan` fixture: the `tiny-sliding` network on a grid that follows the scan
/// (2 mm, at most 8 × 9 × 10, cropped to the body above -500 HU, 0.25 normalised). Two scans of
/// different sizes get grids of their own sizes, worked out by hand, and maps of those shapes
/// whose values follow by hand from the grid (background 1 - x, liver x, HCC x, RCC x / 2).
#[test]
fn a_sliding_window_grid_follows_the_scan() {
    let model = tiny_sliding_scan();
    let pre = model.manifest.preprocessing.clone();
    let mut session = ModelSession::open(model, DevicePreference::Cpu, 1).expect("opens");

    // 9 slices, 7 rows, 11 columns of 1 mm: z ceil(8 / 2) + 1 = 5, y ceil(6 / 2) + 1 = 4,
    // x ceil(10 / 2) + 1 = 6. The grid samples every other voxel, so with HU -1000 + 150 x grid
    // column i (volume column 2i) is -1000 + 300 i HU, 0.15 i normalised.
    let short = scan(9, 7, 11, [1.0; 3], |_, _, x| -1000 + 150 * x as i16);
    let map = GridMap::new(&short, &pre);
    assert_eq!(map.size, [5, 4, 6]);
    let grid = preprocess::input_tensor(&short, &pre);
    assert_eq!(grid.len(), 5 * 4 * 6);
    for (v, x) in grid.iter().enumerate() {
        assert!((x - 0.15 * (v % 6) as f32).abs() < 1e-6, "voxel {v}: {x}");
    }
    let outputs = session.run(&grid, map.size).expect("runs");
    assert_eq!(shape_of(&outputs, "organ_labels"), Some(vec![1, 5, 4, 6]));
    assert_eq!(shape_of(&outputs, "lesion_heatmap"), Some(vec![1, 1, 5, 4, 6]));
    let probabilities = outputs.f32("class_probabilities").expect("probabilities");
    assert!((probabilities[0] - 0.75).abs() < 1e-5, "HCC is the highest x, column 5: {probabilities:?}");
    assert!((probabilities[1] - 0.375).abs() < 1e-5, "RCC half of it: {probabilities:?}");
    let labels = outputs.i64("organ_labels").expect("labels");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    assert_eq!((labels.len(), heat.len()), (120, 120));
    for v in 0..120 {
        let column = v % 6;
        // Liver from column 4 (0.6 > 0.5); columns 0 and 1 (0 and 0.15) are outside the body.
        assert_eq!(labels[v], i64::from(column >= 4), "voxel {v}");
        let expected = if column >= 2 { 0.15 * column as f32 } else { 0.0 };
        assert!((heat[v] - expected).abs() < 1e-5, "voxel {v}: heat {} for {expected}", heat[v]);
    }

    // 30 slices of 1 mm, 6 rows and 3 columns of 1.5 mm: z ceil(29 / 2) + 1 = 16, capped at 8;
    // y ceil(5 · 1.5 / 2) + 1 = ceil(3.75) + 1 = 5; x ceil(2 · 1.5 / 2) + 1 = ceil(1.5) + 1 = 3
    // (smaller than the patch along y and x: padded by the tiling).
    let long = scan(30, 6, 3, [1.5, 1.5, 1.0], |z, _, _| -1000 + 50 * z as i16);
    let map = GridMap::new(&long, &pre);
    assert_eq!(map.size, [8, 5, 3]);
    // The centred window: grid slice k samples slice 14.5 + (k - 3.5) · 2 = 7.5 + 2k, HU
    // -625 + 100k, 0.1875 + 0.05k normalised. Row j samples 2.5 + (j - 2) · 4/3 (-1/6, 7/6, 5/2,
    // 23/6, 31/6: rows 1 to 3 inside), column i samples 1 + (i - 1) · 4/3 (-1/3, 1, 7/3: column
    // 1 inside); outside the scan the grid is air (0).
    let value = |v: usize| {
        let (k, j, i) = (v / 15, (v / 3) % 5, v % 3);
        if (1..=3).contains(&j) && i == 1 { 0.1875 + 0.05 * k as f32 } else { 0.0 }
    };
    let grid = preprocess::input_tensor(&long, &pre);
    assert_eq!(grid.len(), 8 * 5 * 3);
    for (v, x) in grid.iter().enumerate() {
        assert!((x - value(v)).abs() < 1e-6, "voxel {v}: {x} for {}", value(v));
    }
    let outputs = session.run(&grid, map.size).expect("runs");
    assert_eq!(shape_of(&outputs, "organ_labels"), Some(vec![1, 8, 5, 3]));
    assert_eq!(shape_of(&outputs, "lesion_heatmap"), Some(vec![1, 1, 8, 5, 3]));
    let probabilities = outputs.f32("class_probabilities").expect("probabilities");
    assert!((probabilities[0] - 0.5375).abs() < 1e-5, "HCC is the highest x, slice 7: {probabilities:?}");
    assert!((probabilities[1] - 0.26875).abs() < 1e-5, "RCC half of it: {probabilities:?}");
    let labels = outputs.i64("organ_labels").expect("labels");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    assert_eq!((labels.len(), heat.len()), (120, 120));
    for v in 0..120 {
        // The body is the scan's voxels from slice 2 (0.2875 > 0.25); liver at slice 7 only
        // (0.5375; slice 6 is 0.4875).
        let body = v / 15 >= 2 && value(v) > 0.0;
        assert_eq!(labels[v], i64::from(body && value(v) > 0.5), "voxel {v}");
        let expected = if body { value(v) } else { 0.0 };
        assert!((heat[v] - expected).abs() < 1e-5, "voxel {v}: heat {} for {expected}", heat[v]);
    }
}

/// A grid the manifest does not make, or an input that is not its voxels, is refused with why,
/// never run into a wrong shape.
#[test]
fn a_grid_the_model_does_not_make_is_refused() {
    let mut following = ModelSession::open(tiny_sliding_scan(), DevicePreference::Cpu, 1).expect("opens");
    let refused = |result: Result<RawOutputs, RuntimeError>, why: &str| match result {
        Err(error @ RuntimeError::Input { .. }) => assert!(error.to_string().contains(why), "{error}"),
        other => panic!("{other:?}"),
    };
    refused(following.run(&[0.0; 10], [5, 4, 6]), "the input has 10 values");
    refused(following.run(&[0.0; 9 * 9 * 10], [9, 9, 10]), "within max_size [8, 9, 10]");
    refused(following.run(&[], [0, 4, 6]), "within max_size");
    let mut fixed = ModelSession::open(tiny(), DevicePreference::Cpu, 1).expect("opens");
    refused(fixed.run(&[0.0; 48], [4, 4, 3]), "the fixed size [4, 4, 4]");
    assert!(fixed.run(&[0.0; 64], [4, 4, 4]).is_ok());
}
