//! Biomarkers on a synthetic phantom with the ground-truth organ labels standing in for the
//! model's label map: the measured attenuations must match the HU the phantom was built with.

use std::io::Read;

mod common;

use elysium_dicom::volume::Volume;
use elysium_inference::biomarkers::{self, BoneDensity, L1Unmeasured, LabelMap};
use elysium_inference::manifest::{Interpolation, Normalisation, Orientation, Preprocessing};
use elysium_inference::preprocess::GridMap;
use elysium_phantom as phantom;

/// The reference model's grid: 64³ at 6.5 × 6 × 6 mm, its label map 32³ at stride 2.
fn preprocessing() -> Preprocessing {
    Preprocessing {
        target_spacing_mm: [6.5, 6.0, 6.0],
        size: Some([64, 64, 64]),
        max_size: None,
        orientation: Orientation::Volume,
        interpolation: Interpolation::Trilinear,
        hu_clip: [-1000.0, 1000.0],
        fill_hu: -1000.0,
        normalisation: Normalisation::ClipMinmax,
    }
}

/// A generated phantom series: its volume, its `truth.json` and its ground-truth label per volume
/// voxel (in the volume's order, which ascends to the head).
struct Phantom {
    volume: Volume,
    truth: serde_json::Value,
    labels: Vec<u8>,
}

impl Phantom {
    fn generate(seed: u64, rows: u16) -> Phantom {
        let dir = tempfile::tempdir().expect("dir");
        let mut options = phantom::PhantomOptions::new(dir.path());
        options.seed = seed;
        options.rows = rows;
        let report = phantom::generate(&options).expect("phantom");
        let series = &report.series[0];
        let volume = common::load_series(series);
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(series.dir.join("truth.json")).expect("truth"))
                .expect("json");
        let mut file_order = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(series.dir.join("labels.u8.gz")).expect("labels"))
            .read_to_end(&mut file_order)
            .expect("gunzip");
        assert_eq!(file_order.len(), volume.voxels.len());
        // The label file follows the DICOM files' order (head first); the volume ascends to the head.
        let descending = truth["geometry"]["slice_direction"][2].as_f64().unwrap_or(1.0) < 0.0;
        let plane = volume.plane();
        let labels = (0..volume.slices)
            .flat_map(|z| {
                let file_z = if descending { volume.slices - 1 - z } else { z };
                file_order[file_z * plane..(file_z + 1) * plane].iter().copied()
            })
            .collect();
        Phantom { volume, truth, labels }
    }

    /// The HU the phantom gave `organ` (before noise).
    fn organ_hu(&self, organ: &str) -> f64 {
        self.truth["organ_hu"][organ].as_f64().unwrap_or(f64::NAN)
    }

    /// The phantom's label value for `organ`.
    fn label_of(&self, organ: &str) -> u8 {
        (0..=255u8).find(|l| self.truth["labels"][l.to_string()] == organ).expect("label")
    }

    /// The label names, indexed by label value.
    fn names(&self) -> Vec<String> {
        (0..=21).map(|l| self.truth["labels"][l.to_string()].as_str().unwrap_or("?").to_owned()).collect()
    }

    /// Slices `from..to` only, as a series covering less of the body.
    fn crop(&self, from: usize, to: usize) -> Phantom {
        let v = &self.volume;
        let plane = v.plane();
        let mut volume = v.clone();
        volume.voxels = v.voxels[from * plane..to * plane].to_vec();
        volume.slices = to - from;
        volume.origin = std::array::from_fn(|a| v.origin[a] + from as f64 * v.spacing[2] * v.direction[2][a]);
        Phantom { volume, truth: self.truth.clone(), labels: self.labels[from * plane..to * plane].to_vec() }
    }

    /// The slices that hold `organ`.
    fn slices_with(&self, organ: &str) -> Vec<usize> {
        let label = self.label_of(organ);
        let plane = self.volume.plane();
        (0..self.volume.slices).filter(|z| self.labels[z * plane..(z + 1) * plane].contains(&label)).collect()
    }

    /// The model's grid on this volume and a 32³ label map at stride 2 over it, from the truth by
    /// nearest neighbour, as the model would give it.
    fn label_map(&self) -> (GridMap, Vec<i64>) {
        let v = &self.volume;
        let map = GridMap::new(v, &preprocessing());
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
                        let (z, y, x) = (z.round() as usize, y.round() as usize, x.round() as usize);
                        coarse[(k * 32 + j) * 32 + i] = i64::from(self.labels[(z * v.rows + y) * v.columns + x]);
                    }
                }
            }
        }
        (map, coarse)
    }

    /// The biomarkers with the ground-truth label map, named `names`.
    fn measure_with(&self, names: &[String]) -> biomarkers::Biomarkers {
        let (map, coarse) = self.label_map();
        biomarkers::measure(&self.volume, &map, &LabelMap { labels: &coarse, size: [32, 32, 32], stride: 2, names })
    }

    fn measure(&self) -> biomarkers::Biomarkers {
        self.measure_with(&self.names())
    }
}

#[test]
fn liver_spleen_and_bone_match_the_phantom() {
    let phantom = Phantom::generate(4242, 128);
    let (map, coarse) = phantom.label_map();
    let names = phantom.names();
    let label_map = LabelMap { labels: &coarse, size: [32, 32, 32], stride: 2, names: &names };
    let mut volume = phantom.volume.clone();
    let measured = biomarkers::measure(&volume, &map, &label_map);

    let organ_hu = |name: &str| phantom.organ_hu(name);
    let liver = measured.liver_hu.expect("liver measured");
    let spleen = measured.spleen_hu.expect("spleen measured");
    assert!((liver - organ_hu("liver")).abs() < 3.0, "liver {liver} vs {}", organ_hu("liver"));
    assert!((spleen - organ_hu("spleen")).abs() < 3.0, "spleen {spleen} vs {}", organ_hu("spleen"));
    assert_eq!(measured.steatosis, Some(organ_hu("liver") < 40.0));
    let l1 = measured.l1_trabecular_hu.expect("L1 measured");
    assert!((l1 - organ_hu("vertebra")).abs() < 40.0, "L1 {l1} vs {}", organ_hu("vertebra"));
    assert_eq!(measured.l1_unmeasured, None);
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

/// How far the L1 figure may be from the HU the phantom gave the vertebrae: the median of a few
/// hundred noisy voxels (sd 60 HU, smoothed in-plane) per slice, at 256 rows.
const L1_TOLERANCE_HU: f64 = 20.0;

/// The demo's full-size phantom (256 rows), where the label map's vertebra is two label columns
/// wide: L1 is measured on its trabecular bone.
#[test]
fn l1_is_measured_on_a_full_size_phantom() {
    let phantom = Phantom::generate(2601, 256);
    let measured = phantom.measure();
    let truth = phantom.organ_hu("vertebra");
    let l1 = measured.l1_trabecular_hu.unwrap_or_else(|| panic!("L1 not measured: {:?}", measured.l1_unmeasured));
    assert!((l1 - truth).abs() < L1_TOLERANCE_HU, "L1 {l1} HU vs the phantom's {truth} HU");
    assert_eq!(measured.l1_unmeasured, None);
    assert_eq!(measured.bone_density, Some(BoneDensity::from_l1_hu(l1)));
    assert!(measured.voxels["l1"] > 500, "{:?}", measured.voxels);
}

/// The ROI is found by where the bone is, not by how dense it is: an osteoporotic vertebra (its
/// HU lowered to 80 throughout, next to the spinal canal's 15 HU and the discs' 80 HU) is
/// measured as such.
#[test]
fn l1_measures_low_density_bone() {
    let mut phantom = Phantom::generate(2601, 256);
    let vertebra = phantom.label_of("vertebra");
    let shift = (80.0 - phantom.organ_hu("vertebra")).round() as i16;
    for (hu, label) in phantom.volume.voxels.iter_mut().zip(&phantom.labels) {
        if *label == vertebra {
            *hu += shift;
        }
    }
    let measured = phantom.measure();
    let l1 = measured.l1_trabecular_hu.unwrap_or_else(|| panic!("L1 not measured: {:?}", measured.l1_unmeasured));
    assert!((l1 - 80.0).abs() < L1_TOLERANCE_HU, "L1 {l1} HU vs 80 HU");
    assert_eq!(measured.bone_density, Some(BoneDensity::OsteoporosisLikely));
}

/// Where L1 cannot be placed or measured, the result says why.
#[test]
fn l1_says_why_it_is_not_measured() {
    let phantom = Phantom::generate(2601, 128);
    let kidneys = phantom.slices_with("kidney");
    let (first, last) = (kidneys[0], kidneys[kidneys.len() - 1]);

    // A chest series: every slice above the kidneys.
    let chest = phantom.crop(last + 4, phantom.volume.slices);
    assert!(chest.slices_with("kidney").is_empty());
    let measured = chest.measure();
    assert_eq!(measured.l1_trabecular_hu, None);
    assert_eq!(measured.l1_unmeasured, Some(L1Unmeasured::KidneysNotInField));
    assert_eq!(measured.bone_density, None);
    assert!(measured.liver_hu.is_some(), "the other biomarkers are still measured");

    // A series that begins halfway up the kidneys: their upper third is not L1's level.
    let cut = phantom.crop((first + last) / 2, phantom.volume.slices).measure();
    assert_eq!(cut.l1_unmeasured, Some(L1Unmeasured::KidneysCutByField));
    assert_eq!(cut.l1_trabecular_hu, None);

    // A label map that names no kidney, or no vertebra.
    let without = |organ: &str| {
        phantom.names().into_iter().map(|n| if n == organ { "other".to_owned() } else { n }).collect::<Vec<_>>()
    };
    assert_eq!(phantom.measure_with(&without("kidney")).l1_unmeasured, Some(L1Unmeasured::NoKidneyLabel));
    assert_eq!(phantom.measure_with(&without("vertebra")).l1_unmeasured, Some(L1Unmeasured::NoVertebraLabel));

    // Measured, the reason is absent, and both go into the result as JSON (null when absent).
    let measured = phantom.measure();
    assert_eq!(measured.l1_unmeasured, None);
    let json = serde_json::to_value(&measured).expect("json");
    assert!(json["l1_trabecular_hu"].is_f64() && json["l1_unmeasured"].is_null(), "{json}");
    let json = serde_json::to_value(chest.measure()).expect("json");
    assert_eq!(json["l1_unmeasured"], "kidneys_not_in_field");
    assert!(json["l1_trabecular_hu"].is_null());
}
