//! Network outputs → what a coordinator and the finding table need: the per-organ, per-class
//! probabilities (the seed API's `tumor_probabilities`), the positives at each class's operating
//! threshold, and for each positive organ the lesion's location (key slice, centre in patient
//! coordinates, approximate diameter) from the lesion heatmap inside that organ.

use std::collections::BTreeMap;

use elysium_dicom::volume::Volume;
use serde::Serialize;

use crate::manifest::{LesionLocation, Manifest, OutputKind};
use crate::preprocess::GridMap;
use crate::runtime::RawOutputs;

/// Heatmap voxels at or above this belong to the lesion when its size is estimated.
pub const LESION_HEAT: f32 = 0.5;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PostprocessError(String);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Positive {
    pub organ: String,
    pub class: String,
    pub probability: f64,
    pub threshold: f64,
    /// The specificity the manifest's threshold was calibrated for.
    pub specificity: f64,
    /// The threshold is an administrator's operating threshold, not the manifest's (whose
    /// calibration `specificity` describes).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub operating: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesion {
    pub organ: String,
    pub class: String,
    /// The key slice: the volume's slice index through the lesion's centre (slices ascend towards
    /// the head).
    pub slice_index: usize,
    /// Centre in the volume's voxel grid (z, y, x), fractional.
    pub center_voxel: [f64; 3],
    /// Centre in patient coordinates (mm).
    pub center_mm: [f64; 3],
    /// The diameter of a sphere of the lesion's volume, where the heatmap outlines one.
    pub diameter_mm: Option<f64>,
    pub peak: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Interpretation {
    /// organ → class → probability.
    pub tumor_probabilities: BTreeMap<String, BTreeMap<String, f64>>,
    pub positives: Vec<Positive>,
    pub lesions: Vec<Lesion>,
}

/// Reads the outputs the manifest describes.
pub fn interpret(
    manifest: &Manifest,
    raw: &RawOutputs,
    volume: &Volume,
    map: &GridMap,
) -> Result<Interpretation, PostprocessError> {
    let classes = manifest
        .output(OutputKind::ClassProbabilities)
        .ok_or_else(|| PostprocessError("the manifest has no class probabilities".into()))?;
    let values = raw.f32(&classes.name).ok_or_else(|| PostprocessError(format!("no `{}` output", classes.name)))?;
    let mut out = Interpretation::default();
    for (label, p) in classes.labels.iter().zip(values) {
        let Some((organ, class)) = label.split_once('/') else { continue };
        let p = f64::from(*p);
        out.tumor_probabilities.entry(organ.to_owned()).or_default().insert(class.to_owned(), p);
        if let Some(t) = manifest.threshold(organ, class)
            && p >= t.threshold
        {
            out.positives.push(Positive {
                organ: organ.to_owned(),
                class: class.to_owned(),
                probability: p,
                threshold: t.threshold,
                specificity: t.specificity,
                operating: t.operating,
            });
        }
    }
    // One lesion per positive organ, for its most probable positive class.
    let mut organs: Vec<&Positive> = Vec::new();
    for positive in &out.positives {
        match organs.iter_mut().find(|p| p.organ == positive.organ) {
            Some(best) if best.probability < positive.probability => *best = positive,
            Some(_) => {}
            None => organs.push(positive),
        }
    }
    if let Some(heat) = manifest.output(OutputKind::LesionHeatmap)
        && let Some(heatmap) = raw.f32(&heat.name)
    {
        let stride = heat.stride.unwrap_or(1);
        let size: [usize; 3] = map.size.map(|s| s / stride);
        let labels = manifest.output(OutputKind::OrganLabelMap).and_then(|o| Some((o, raw.i64(&o.name)?)));
        for positive in organs {
            let organ_value = labels.and_then(|(spec, _)| {
                spec.labels.iter().position(|n| same_organ(n, &positive.organ)).and_then(|i| i64::try_from(i).ok())
            });
            let within = |i: usize| match (labels, organ_value) {
                (Some((_, values)), Some(v)) => values.get(i) == Some(&v),
                _ => true,
            };
            let rule = heat.locate.unwrap_or_default();
            if let Some(lesion) = locate(heatmap, size, stride, rule, &within, volume, map) {
                out.lesions.push(Lesion { organ: positive.organ.clone(), class: positive.class.clone(), ..lesion });
            }
        }
    }
    Ok(out)
}

/// Label maps name anatomy (`colon`); screening names the cancer's organ (`colorectal`).
fn same_organ(label: &str, organ: &str) -> bool {
    label == organ || matches!((label, organ), ("colon", "colorectal") | ("colorectal", "colon"))
}

/// The heatmap's peak among the voxels `within` allows, the lesion's centre around it by the
/// manifest's `rule`, and the size of the connected region above [`LESION_HEAT`].
fn locate(
    heatmap: &[f32],
    dims: [usize; 3],
    stride: usize,
    rule: LesionLocation,
    within: &dyn Fn(usize) -> bool,
    volume: &Volume,
    map: &GridMap,
) -> Option<Lesion> {
    let (peak_index, peak) = heatmap
        .iter()
        .enumerate()
        .filter(|(i, _)| within(*i))
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, v)| (i, *v))?;
    let [d, h, w] = dims;
    let unravel = |i: usize| [i / (h * w), (i / w) % h, i % w];
    let voxels: Vec<usize> = match rule {
        LesionLocation::Peak => {
            let [pz, py, px] = unravel(peak_index);
            let mut around = Vec::with_capacity(27);
            for z in pz.saturating_sub(1)..=(pz + 1).min(d - 1) {
                for y in py.saturating_sub(1)..=(py + 1).min(h - 1) {
                    for x in px.saturating_sub(1)..=(px + 1).min(w - 1) {
                        around.push((z * h + y) * w + x);
                    }
                }
            }
            around
        }
        // A peak of no heat has no region: its voxel alone.
        LesionLocation::Region { fraction } if peak > 0.0 => connected(heatmap, dims, peak_index, fraction * peak),
        LesionLocation::Region { .. } => vec![peak_index],
    };
    let (mut weight, mut centre) = (0.0f64, [0.0f64; 3]);
    for &i in &voxels {
        let heat = f64::from(heatmap[i].max(0.0));
        weight += heat;
        for (c, v) in centre.iter_mut().zip(unravel(i)) {
            *c += heat * v as f64;
        }
    }
    let coarse = if weight > 0.0 { centre.map(|c| c / weight) } else { unravel(peak_index).map(|v| v as f64) };
    let center_voxel = map.to_volume(GridMap::coarse_to_grid(coarse, stride));
    let center_mm = volume.voxel_to_patient(center_voxel);

    let diameter_mm = (peak >= LESION_HEAT).then(|| {
        let count = connected(heatmap, dims, peak_index, LESION_HEAT).len();
        let [sx, sy, sz] = volume.spacing;
        let voxel_mm3: f64 = map.step.iter().zip([sz, sy, sx]).map(|(step, s)| step * s * stride as f64).product();
        (6.0 * count as f64 * voxel_mm3 / std::f64::consts::PI).cbrt()
    });
    Some(Lesion {
        organ: String::new(),
        class: String::new(),
        slice_index: center_voxel[0].round().clamp(0.0, volume.slices.saturating_sub(1) as f64) as usize,
        center_voxel,
        center_mm,
        diameter_mm,
        peak: f64::from(peak),
    })
}

/// The voxels connected to `start` (6-connectivity) whose heat is at least `threshold`, `start`
/// included whatever its heat.
fn connected(heatmap: &[f32], [d, h, w]: [usize; 3], start: usize, threshold: f32) -> Vec<usize> {
    let mut seen = vec![false; heatmap.len()];
    let mut stack = vec![start];
    let mut region = Vec::new();
    seen[start] = true;
    while let Some(i) = stack.pop() {
        region.push(i);
        let (z, y, x) = (i / (h * w), (i / w) % h, i % w);
        let neighbours = [
            (z > 0).then(|| i - h * w),
            (z + 1 < d).then(|| i + h * w),
            (y > 0).then(|| i - w),
            (y + 1 < h).then(|| i + w),
            (x > 0).then(|| i - 1),
            (x + 1 < w).then(|| i + 1),
        ];
        for n in neighbours.into_iter().flatten() {
            if !seen[n] && heatmap[n] >= threshold {
                seen[n] = true;
                stack.push(n);
            }
        }
    }
    region
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    const MANIFEST: &str = r#"
name = "t"
version = "1"
task = "screening"
onnx = "m.onnx"
sha256 = "x"
opset = 17
clinical_use = false
[input]
name = "ct"
shape = [1, 1, 8, 8, 8]
[preprocessing]
target_spacing_mm = [2.0, 2.0, 2.0]
size = [8, 8, 8]
orientation = "volume"
interpolation = "trilinear"
hu_clip = [-1000.0, 1000.0]
fill_hu = -1000.0
normalisation = "clip_minmax"
[[outputs]]
name = "p"
kind = "class_probabilities"
shape = [1, 3]
labels = ["liver/HCC", "liver/cyst", "kidney/RCC"]
[[outputs]]
name = "labels"
kind = "organ_label_map"
shape = [1, 4, 4, 4]
stride = 2
labels = ["background", "liver", "kidney"]
[[outputs]]
name = "heat"
kind = "lesion_heatmap"
shape = [1, 1, 4, 4, 4]
stride = 2
[[thresholds]]
organ = "liver"
class = "HCC"
threshold = 0.5
specificity = 0.99
[[thresholds]]
organ = "liver"
class = "cyst"
threshold = 0.5
specificity = 0.99
[[thresholds]]
organ = "kidney"
class = "RCC"
threshold = 0.9
specificity = 0.99
"#;

    fn volume() -> Volume {
        Volume {
            voxels: vec![0; 8 * 8 * 8],
            slices: 8,
            rows: 8,
            columns: 8,
            spacing: [2.0, 2.0, 2.0],
            origin: [-7.0, -7.0, 100.0],
            direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        }
    }

    #[test]
    fn probabilities_positives_and_the_lesion_inside_its_organ() {
        let manifest = Manifest::parse(MANIFEST, std::path::Path::new("m.toml")).expect("manifest");
        let v = volume();
        let map = GridMap::new(&v, &manifest.preprocessing);
        // Liver fills the upper half (z ≥ 2 in the 4³ map), kidney the lower.
        let labels: Vec<i64> = (0..64).map(|i| if i / 16 >= 2 { 1 } else { 2 }).collect();
        // Hottest voxel overall is in the kidney; the liver's is at (3, 1, 2) with a neighbour.
        let mut heat = vec![0.0f32; 64];
        heat[(3 * 4 + 1) * 4 + 2] = 0.9;
        heat[(3 * 4 + 1) * 4 + 3] = 0.9;
        heat[0] = 0.99; // voxel (0, 0, 0), in the kidney
        let raw = RawOutputs {
            f32: vec![("p".into(), vec![1, 3], vec![0.7, 0.8, 0.6]), ("heat".into(), vec![1, 1, 4, 4, 4], heat)],
            i64: vec![("labels".into(), vec![1, 4, 4, 4], labels)],
            ..RawOutputs::default()
        };
        let out = interpret(&manifest, &raw, &v, &map).expect("interprets");
        assert_eq!(out.tumor_probabilities["liver"]["cyst"], f64::from(0.8f32));
        assert_eq!(out.tumor_probabilities["kidney"]["RCC"], f64::from(0.6f32));
        let positives: Vec<_> = out.positives.iter().map(|p| format!("{}/{}", p.organ, p.class)).collect();
        assert_eq!(positives, ["liver/HCC", "liver/cyst"], "the kidney is below its threshold");
        assert_eq!(out.lesions.len(), 1, "one lesion per positive organ");
        let lesion = &out.lesions[0];
        assert_eq!((lesion.organ.as_str(), lesion.class.as_str()), ("liver", "cyst"));
        // Coarse (3, 1, 2.5) → grid (6.5, 2.5, 5.5) → the same volume index (same spacing).
        assert_eq!(lesion.center_voxel, [6.5, 2.5, 5.5]);
        assert_eq!(lesion.slice_index, 7);
        assert_eq!(lesion.center_mm, [-7.0 + 5.5 * 2.0, -7.0 + 2.5 * 2.0, 100.0 + 6.5 * 2.0]);
        // Two coarse voxels of 4 mm: 128 mm³ → a sphere of about 6.25 mm.
        let d = lesion.diameter_mm.expect("diameter");
        assert!((d - (6.0 * 128.0 / std::f64::consts::PI).cbrt()).abs() < 1e-9, "{d}");

        // An administrator's operating threshold of 0.5 for the kidney (its manifest says 0.9)
        // makes its 0.6 positive, marked as such.
        let adjusted = manifest.with_operating_thresholds(&[("kidney".into(), "RCC".into(), 0.5)]);
        let out = interpret(&adjusted, &raw, &v, &map).expect("interprets");
        let kidney = out.positives.iter().find(|p| p.organ == "kidney").expect("kidney positive");
        assert_eq!((kidney.threshold, kidney.operating), (0.5, true));
        assert!(out.positives.iter().filter(|p| p.organ == "liver").all(|p| !p.operating));
    }

    #[test]
    fn a_region_rule_centres_the_lesion_on_the_connected_heat_above_its_fraction_of_the_peak() {
        let text = MANIFEST.replace(
            "kind = \"lesion_heatmap\"",
            "kind = \"lesion_heatmap\"\nlocate = { rule = \"region\", fraction = 0.5 }",
        );
        let manifest = Manifest::parse(&text, std::path::Path::new("m.toml")).expect("manifest");
        let v = volume();
        let map = GridMap::new(&v, &manifest.preprocessing);
        let labels: Vec<i64> = (0..64).map(|i| if i / 16 >= 2 { 1 } else { 2 }).collect();
        let at = |z: usize, y: usize, x: usize| (z * 4 + y) * 4 + x;
        let mut heat = vec![0.0f32; 64];
        // The liver's peak (3, 1, 2) and what is connected to it at 0.45 or more: a row of the
        // liver, and through (2, 1, 1) a voxel the label map gives to the kidney.
        for (voxel, value) in
            [(at(3, 1, 0), 0.6), (at(3, 1, 1), 0.8), (at(3, 1, 2), 0.9), (at(2, 1, 1), 0.5), (at(1, 1, 1), 0.7)]
        {
            heat[voxel] = value;
        }
        heat[at(3, 1, 3)] = 0.3; // touches the peak, below half of it
        heat[at(3, 3, 3)] = 0.8; // hot, but not connected
        let raw = RawOutputs {
            f32: vec![("p".into(), vec![1, 3], vec![0.7, 0.8, 0.6]), ("heat".into(), vec![1, 1, 4, 4, 4], heat)],
            i64: vec![("labels".into(), vec![1, 4, 4, 4], labels)],
            ..RawOutputs::default()
        };
        let out = interpret(&manifest, &raw, &v, &map).expect("interprets");
        let lesion = &out.lesions[0];
        assert_eq!((lesion.organ.as_str(), lesion.peak), ("liver", f64::from(0.9f32)));
        // By hand: weights 0.6 + 0.8 + 0.9 + 0.5 + 0.7 = 3.5; z = (3 × 2.3 + 2 × 0.5 + 1 × 0.7) / 3.5,
        // x = (0.8 + 2 × 0.9 + 0.5 + 0.7) / 3.5, y = 1; coarse c → grid 2c + 0.5 (stride 2).
        let expected = [2.0 * 8.6 / 3.5 + 0.5, 2.5, 2.0 * 3.8 / 3.5 + 0.5];
        for (got, want) in lesion.center_voxel.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{:?} against {expected:?}", lesion.center_voxel);
        }
        // The size still comes from the region at or above LESION_HEAT: five coarse voxels of 4 mm.
        let d = lesion.diameter_mm.expect("diameter");
        assert!((d - (6.0 * 5.0 * 64.0 / std::f64::consts::PI).cbrt()).abs() < 1e-9, "{d}");

        // Without the rule the same map gives the peak's neighbourhood: (3, 1, 1), (3, 1, 2),
        // (3, 1, 3) and (2, 1, 1) → x = (0.8 + 1.8 + 0.9 + 0.5) / 2.5.
        let plain = Manifest::parse(MANIFEST, std::path::Path::new("m.toml")).expect("manifest");
        let out = interpret(&plain, &raw, &v, &map).expect("interprets");
        let x = out.lesions[0].center_voxel[2];
        assert!((x - (2.0 * 4.0 / 2.5 + 0.5)).abs() < 1e-6, "{x}");
    }
}
