//! Biomarkers on a synthetic phantom with the ground-truth organ labels standing in for the
//! model's label map: the measured attenuations must match the HU the phantom was built with.

use std::io::Read;

mod common;

use elysium_inference::biomarkers::{self, BoneDensity, LabelMap};
use elysium_inference::manifest::{Interpolation, Normalisation, Orientation, Preprocessing};
use elysium_inference::preprocess::GridMap;
use elysium_phantom as phantom;

#[test]
fn liver_spleen_and_bone_match_the_phantom() {
    let dir = tempfile::tempdir().expect("dir");
    let mut options = phantom::PhantomOptions::new(dir.path());
    options.seed = 4242;
    options.rows = 128;
    let report = phantom::generate(&options).expect("phantom");
    let series = &report.series[0];
    let mut volume = common::load_series(series);
    let v = &volume;

    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(series.dir.join("truth.json")).expect("truth")).expect("json");
    let mut labels = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(series.dir.join("labels.u8.gz")).expect("labels"))
        .read_to_end(&mut labels)
        .expect("gunzip");
    assert_eq!(labels.len(), v.voxels.len());
    // The label file follows the DICOM files' order (head first); the volume ascends to the head.
    let descending = truth["geometry"]["slice_direction"][2].as_f64().unwrap_or(1.0) < 0.0;
    let plane = v.rows * v.columns;
    let truth_label = |z: usize, y: usize, x: usize| -> u8 {
        let file_z = if descending { v.slices - 1 - z } else { z };
        labels[file_z * plane + y * v.columns + x]
    };

    // A 32³ label map at stride 2 over a 64³ grid of 6.5 × 6 × 6 mm, from the truth by nearest
    // neighbour, named with the phantom's label names.
    let pre = Preprocessing {
        target_spacing_mm: [6.5, 6.0, 6.0],
        size: [64, 64, 64],
        orientation: Orientation::Volume,
        interpolation: Interpolation::Trilinear,
        hu_clip: [-1000.0, 1000.0],
        fill_hu: -1000.0,
        normalisation: Normalisation::ClipMinmax,
    };
    let map = GridMap::new(v, &pre);
    let mut coarse = vec![0i64; 32 * 32 * 32];
    for k in 0..32 {
        for j in 0..32 {
            for i in 0..32 {
                let [z, y, x] = map.to_volume(GridMap::coarse_to_grid([k as f64, j as f64, i as f64], 2));
                let inside = z >= 0.0
                    && y >= 0.0
                    && x >= 0.0
                    && z <= (v.slices - 1) as f64
                    && y <= (v.rows - 1) as f64
                    && x <= (v.columns - 1) as f64;
                if inside {
                    coarse[(k * 32 + j) * 32 + i] =
                        i64::from(truth_label(z.round() as usize, y.round() as usize, x.round() as usize));
                }
            }
        }
    }
    let names: Vec<String> =
        (0..=21).map(|l| truth["labels"][l.to_string()].as_str().unwrap_or("?").to_owned()).collect();
    let label_map = LabelMap { labels: &coarse, size: [32, 32, 32], stride: 2, names: &names };
    let measured = biomarkers::measure(v, &map, &label_map);

    let organ_hu = |name: &str| truth["organ_hu"][name].as_f64().unwrap_or(f64::NAN);
    let liver = measured.liver_hu.expect("liver measured");
    let spleen = measured.spleen_hu.expect("spleen measured");
    assert!((liver - organ_hu("liver")).abs() < 3.0, "liver {liver} vs {}", organ_hu("liver"));
    assert!((spleen - organ_hu("spleen")).abs() < 3.0, "spleen {spleen} vs {}", organ_hu("spleen"));
    assert_eq!(measured.steatosis, Some(organ_hu("liver") < 40.0));
    let l1 = measured.l1_trabecular_hu.expect("L1 measured");
    assert!((l1 - organ_hu("vertebra")).abs() < 40.0, "L1 {l1} vs {}", organ_hu("vertebra"));
    assert_eq!(measured.bone_density, Some(BoneDensity::Normal));
    assert!(measured.voxels["liver"] > 1000, "{:?}", measured.voxels);
    assert_eq!(measured.coronary_calcium_mm3, Some(0.0), "the phantom has no calcification");
    assert_eq!(measured.aortic_calcium_mm3, Some(0.0));

    // A 3 × 3 × 3 voxel calcification at 400 HU in the middle of the heart is counted whole.
    let heart = names.iter().position(|n| n == "heart").expect("heart label") as i64;
    let core = (1..31)
        .flat_map(|k| (1..31).flat_map(move |j| (1..31).map(move |i| (k, j, i))))
        .find(|&(k, j, i)| {
            let at = |k: usize, j: usize, i: usize| coarse[(k * 32 + j) * 32 + i];
            at(k, j, i) == heart
                && [
                    at(k - 1, j, i),
                    at(k + 1, j, i),
                    at(k, j - 1, i),
                    at(k, j + 1, i),
                    at(k, j, i - 1),
                    at(k, j, i + 1),
                ]
                .iter()
                .all(|n| *n == heart)
        })
        .expect("a heart voxel surrounded by heart");
    let [z, y, x] = map
        .to_volume(GridMap::coarse_to_grid([core.0 as f64, core.1 as f64, core.2 as f64], 2))
        .map(|c| c.round() as usize);
    let (rows, columns) = (volume.rows, volume.columns);
    for dz in 0..3 {
        for dy in 0..3 {
            for dx in 0..3 {
                volume.voxels[((z + dz - 1) * rows + y + dy - 1) * columns + x + dx - 1] = 400;
            }
        }
    }
    let measured = biomarkers::measure(&volume, &map, &label_map);
    let voxel_mm3: f64 = volume.spacing.iter().product();
    let calcium = measured.coronary_calcium_mm3.expect("measured");
    assert!((calcium - 27.0 * voxel_mm3).abs() < 1e-6, "{calcium} vs {}", 27.0 * voxel_mm3);
}
