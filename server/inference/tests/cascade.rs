//! The two-stage cascade through ONNX Runtime (the `tiny-cascade` fixture, make_tiny_cascade.py):
//! a first stage that labels liver where the normalised input is above 0.6, and the
//! `tiny-sliding` voxel-by-voxel network (background 1 - x, liver x, liver/HCC x, kidney/RCC
//! x / 2) tiled only around it. Every expected value below is worked out by hand from the scan.

use std::path::Path;

use elysium_dicom::volume::Volume;
use elysium_inference::manifest;
use elysium_inference::preprocess::{self, GridMap};
use elysium_inference::runtime::{DevicePreference, ModelSession, RawOutputs, RuntimeError};

fn tiny_cascade() -> manifest::VerifiedModel {
    manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-cascade"))
        .expect("the tiny cascade loads")
}

/// Whether voxel (z, y, x) of [`scan`] is in the bright block: slices 4 to 7, rows 12 to 19,
/// columns 8 to 15.
fn in_block(z: usize, y: usize, x: usize) -> bool {
    (4..=7).contains(&z) && (12..=19).contains(&y) && (8..=15).contains(&x)
}

/// Soft tissue (0 HU, 0.5 normalised) with, when `block`, 1000 HU (1.0) in the block.
fn scan(block: bool) -> Volume {
    scan_of(|z, y, x| if block && in_block(z, y, x) { 1000 } else { 0 })
}

/// 12 slices of 2 mm, 24 rows and 24 columns of 1 mm (spacing x, y, z = 1, 1, 2), at
/// (-100, -50, 30) mm with the identity orientation, HU `hu(z, y, x)`.
fn scan_of(hu: impl Fn(usize, usize, usize) -> i16) -> Volume {
    elysium_dicom::testing::volume_from_fn([12, 24, 24], [1.0, 1.0, 2.0], [-100.0, -50.0, 30.0], hu)
}

/// `volume` through the cascade, as the screening pipeline runs a case.
fn run(session: &mut ModelSession, volume: &Volume) -> RawOutputs {
    let pre = session.model.manifest.preprocessing.clone();
    let (input, map) = (preprocess::input_tensor(volume, &pre), GridMap::new(volume, &pre));
    assert_eq!(map.size, [12, 12, 12]);
    session.run_case(volume, &input, &map).expect("runs")
}

/// The first stage's 6³ grid of 4 mm samples slice 2k + 0.5 and row and column 4k + 1.5 for
/// grid index k (centred: 5.5 + (k - 2.5) · 2 and 11.5 + (k - 2.5) · 4). Trilinear samples
/// halfway between two voxels, so a sample is 1.0 (above 0.6: liver) only where both voxels
/// along every axis are in the block: slices 4.5 and 6.5 (k = 2, 3), rows 13.5 and 17.5
/// (k = 3, 4), columns 9.5 and 13.5 (k = 2, 3); elsewhere 0.5 (background).
///
/// The organs' box then runs, in the volume's indices, from slice 4.5, row 13.5, column 9.5 to
/// slice 6.5, row 17.5, column 13.5; 4 mm further out is 2 slices (2 mm) and 4 rows and columns
/// (1 mm): slices 2.5 to 8.5, rows 9.5 to 21.5, columns 5.5 to 17.5. The main 12³ grid of 2 mm
/// samples slice k and row and column 2k + 0.5 (5.5 + (k - 5.5) · 2), so the box is grid
/// slices 2.5 to 8.5, rows 4.5 to 10.5, columns 2.5 to 8.5: rounded outward, 2..=9, 4..=11 and
/// 2..=9, 8 voxels each. Its first voxel (2, 4, 2) is the volume's slice 2, row 8.5, column 4.5,
/// at (-100 + 4.5, -50 + 8.5, 30 + 2 · 2) mm; its last (9, 11, 9) slice 9, row 22.5, column
/// 18.5, at (-100 + 18.5, -50 + 22.5, 30 + 9 · 2) mm.
#[test]
fn the_second_stage_runs_only_around_the_organs_the_first_finds() {
    let mut session = ModelSession::open(tiny_cascade(), DevicePreference::Cpu, 1).expect("opens");
    let outputs = run(&mut session, &scan(true));
    let cascade = outputs.cascade.clone().expect("a cascade records its run");
    let region = cascade.region.expect("the block is liver: the second stage ran");
    assert_eq!((region.start, region.size), ([2, 4, 2], [8, 8, 8]));
    for (got, expected) in [(region.first_mm, [-95.5, -41.5, 34.0]), (region.last_mm, [-81.5, -27.5, 48.0])] {
        assert!(got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-6), "{got:?} for {expected:?}");
    }
    assert!(cascade.first_stage_ms > 0.0 && cascade.second_stage_ms > 0.0, "{cascade:?}");
    assert!((outputs.network_ms - cascade.first_stage_ms - cascade.second_stage_ms).abs() < 1e-9);

    // The main grid samples the block (1.0) at slices 4 to 7 and rows and columns whose two
    // voxels 2k and 2k + 1 are in it: rows 6 to 9, columns 4 to 7; elsewhere 0.5.
    let value = |k: usize, j: usize, i: usize| {
        if (4..=7).contains(&k) && (6..=9).contains(&j) && (4..=7).contains(&i) { 1.0 } else { 0.5 }
    };
    let labels = outputs.i64("organ_labels").expect("labels");
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    assert_eq!((labels.len(), heat.len()), (1728, 1728));
    for v in 0..1728 {
        let (k, j, i) = (v / 144, (v / 12) % 12, v % 12);
        let tiled = (2..=9).contains(&k) && (4..=11).contains(&j) && (2..=9).contains(&i);
        // Inside the box the voxel-by-voxel network: liver where x > 1 - x, heat x. Outside it,
        // background with no lesion, never inferred.
        let (label, expected) = if tiled { (i64::from(value(k, j, i) > 0.5), value(k, j, i)) } else { (0, 0.0) };
        assert_eq!(labels[v], label, "voxel ({k}, {j}, {i})");
        assert!((heat[v] - expected).abs() < 1e-5, "voxel ({k}, {j}, {i}): heat {} for {expected}", heat[v]);
    }
    let probabilities = outputs.f32("class_probabilities").expect("probabilities");
    assert!((probabilities[0] - 1.0).abs() < 1e-5 && (probabilities[1] - 0.5).abs() < 1e-5, "{probabilities:?}");
}

/// Soft tissue only (0.5 everywhere, not above 0.6): the first stage finds no organ, the second
/// is not run, and every output is background with no lesion and class probabilities 0.
#[test]
fn without_organs_the_second_stage_is_not_run() {
    let mut session = ModelSession::open(tiny_cascade(), DevicePreference::Cpu, 1).expect("opens");
    let outputs = run(&mut session, &scan(false));
    let cascade = outputs.cascade.clone().expect("a cascade records its run");
    assert_eq!(cascade.region, None, "no organ, no box");
    assert_eq!(cascade.second_stage_ms, 0.0, "the second stage took no time: it was not run");
    assert!(cascade.first_stage_ms > 0.0 && outputs.network_ms == cascade.first_stage_ms);
    assert!(outputs.i64("organ_labels").expect("labels").iter().all(|l| *l == 0));
    assert!(outputs.f32("lesion_heatmap").expect("heatmap").iter().all(|h| *h == 0.0));
    assert_eq!(outputs.f32("class_probabilities"), Some(&[0.0, 0.0][..]));
}

/// A cascade needs the volume for its first stage: run on a grid alone it is refused, not run
/// without its first stage.
#[test]
fn a_cascade_is_not_run_on_a_grid_alone() {
    let mut session = ModelSession::open(tiny_cascade(), DevicePreference::Cpu, 1).expect("opens");
    match session.run(&[0.5; 1728], [12, 12, 12]) {
        Err(error @ RuntimeError::Input { .. }) => assert!(error.to_string().contains("run_case"), "{error}"),
        other => panic!("{other:?}"),
    }
}

/// The `tiny-cascade` fixture cropping to the body above -500 HU (0.25 normalised), from a
/// folder of its own.
fn cropping_cascade(dir: &Path) -> manifest::VerifiedModel {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-cascade");
    for file in ["model.onnx", "organs.onnx"] {
        std::fs::copy(fixture.join(file), dir.join(file)).expect("copied");
    }
    let text = std::fs::read_to_string(fixture.join("manifest.toml")).expect("manifest");
    let window = "output = \"probabilities\"\n";
    assert!(text.contains(window));
    let cropping = text.replace(window, &format!("{window}crop_to_body_hu = -500.0\n"));
    std::fs::write(dir.join("manifest.toml"), cropping).expect("written");
    manifest::load(dir).expect("the cropping cascade loads")
}

/// With the body box too, the second stage tiles where both boxes meet. The scan is the block in
/// air (-1000 HU, 0) with soft tissue (0.5) from column 12 on: the first stage sees what it saw
/// in [`the_second_stage_runs_only_around_the_organs_the_first_finds`] (its samples straddle no
/// edge: columns 4k + 1 and 4k + 2 are both in air, tissue or block), so the organs' box is
/// again 2..=9, 4..=11, 2..=9. The main grid's column i samples columns 2i and 2i + 1: body
/// (above 0.25) in the block's columns 4 to 7 and the tissue's from 6 (columns 12, 13) on, every
/// slice and row, so the body box is 0..=11, 0..=11, 4..=11 and the common box 2..=9, 4..=11,
/// 4..=9: 8, 8 and 6 voxels.
#[test]
fn the_second_stage_stays_within_the_body() {
    let dir = tempfile::tempdir().expect("dir");
    let mut session = ModelSession::open(cropping_cascade(dir.path()), DevicePreference::Cpu, 1).expect("opens");
    let volume = scan_of(|z, y, x| {
        if in_block(z, y, x) {
            1000
        } else if x >= 12 {
            0
        } else {
            -1000
        }
    });
    let outputs = run(&mut session, &volume);
    let region = outputs.cascade.as_ref().and_then(|c| c.region).expect("the second stage ran");
    assert_eq!((region.start, region.size), ([2, 4, 4], [8, 8, 6]));
    let value = |k: usize, j: usize, i: usize| {
        if (4..=7).contains(&k) && (6..=9).contains(&j) && (4..=7).contains(&i) {
            1.0
        } else if i >= 6 {
            0.5
        } else {
            0.0
        }
    };
    let heat = outputs.f32("lesion_heatmap").expect("heatmap");
    for (v, h) in heat.iter().enumerate() {
        let (k, j, i) = (v / 144, (v / 12) % 12, v % 12);
        let tiled = (2..=9).contains(&k) && (4..=11).contains(&j) && (4..=9).contains(&i);
        let expected = if tiled { value(k, j, i) } else { 0.0 };
        assert!((h - expected).abs() < 1e-5, "voxel ({k}, {j}, {i}): heat {h} for {expected}");
    }
}
