//! Chronic-disease biomarkers measured on the HU volume inside the model's organ label map:
//! liver attenuation and the liver-minus-spleen difference (steatosis), L1 trabecular attenuation
//! (osteoporosis), and calcium above 130 HU in the heart and aorta (cardiovascular risk).
//!
//! Cut-offs, each with its source:
//! - Steatosis: liver attenuation below 40 HU on unenhanced CT is highly specific for moderate to
//!   severe steatosis (Pickhardt PJ et al., Eur Radiol 2012;22:1075-1082). The liver-minus-spleen
//!   difference is reported with it (a difference below -10 HU also suggests steatosis; Boyce CJ
//!   et al., AJR 2010;194:623-628).
//! - Osteoporosis: L1 trabecular attenuation of at most 110 HU makes osteoporosis likely; at most
//!   160 HU is the range where DXA is advised; above 160 HU bone density is likely normal
//!   (Pickhardt PJ et al., Ann Intern Med 2013;158:588-595).
//! - Calcium: voxels of at least 130 HU, the Agatston threshold (Agatston AS et al., J Am Coll
//!   Cardiol 1990;15:827-832); reported as a volume, not an Agatston score (which needs ECG-gated
//!   acquisition).

use std::collections::BTreeMap;

use elysium_dicom::volume::Volume;
use rayon::prelude::*;
use serde::Serialize;

use crate::preprocess::GridMap;

/// Liver attenuation below this (HU) flags steatosis (Pickhardt 2012).
pub const STEATOSIS_LIVER_HU: f64 = 40.0;
/// L1 trabecular attenuation at or below this (HU): osteoporosis likely (Pickhardt 2013).
pub const OSTEOPOROSIS_L1_HU: f64 = 110.0;
/// At or below this (HU) and above the osteoporosis cut-off: low bone density, DXA advised.
pub const LOW_DENSITY_L1_HU: f64 = 160.0;
/// The Agatston calcium threshold (HU).
pub const CALCIUM_HU: f64 = 130.0;
/// Voxels outside this window are not soft tissue (air, bone) and are left out of organ means.
const SOFT_TISSUE_HU: (f64, f64) = (-200.0, 300.0);
/// Half the thickness of the slab through L1 in which the vertebra is measured (mm).
const L1_SLAB_HALF_MM: f64 = 10.0;
/// Trabecular bone in the L1 ROI: a voxel above the upper bound is cortex; one whose
/// neighbourhood averages below the lower bound is spinal canal, fat or air. The lower bound is
/// well under the osteoporosis cut-off so that low density is measured, not cut off (a body
/// below it, rare, reads high or not at all).
const TRABECULAR_HU: (f64, f64) = (30.0, 700.0);
/// How far (in-plane) the L1 ROI keeps from cortex, canal and the vertebra label's edge (mm).
const L1_CORE_MARGIN_MM: f64 = 3.0;
/// A slice's ROI smaller than this (mm²) is a corner of a label voxel, not a vertebral body
/// (whose trabecular centre spans several hundred mm²): it does not count.
const L1_MIN_CORE_MM2: f64 = 150.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoneDensity {
    /// At most 110 HU.
    OsteoporosisLikely,
    /// Above 110 and at most 160 HU.
    Low,
    /// Above 160 HU.
    Normal,
}

impl BoneDensity {
    pub fn from_l1_hu(hu: f64) -> BoneDensity {
        if hu <= OSTEOPOROSIS_L1_HU {
            BoneDensity::OsteoporosisLikely
        } else if hu <= LOW_DENSITY_L1_HU {
            BoneDensity::Low
        } else {
            BoneDensity::Normal
        }
    }
}

pub fn steatosis_flag(liver_hu: f64) -> bool {
    liver_hu < STEATOSIS_LIVER_HU
}

/// Why the L1 trabecular attenuation could not be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L1Unmeasured {
    /// The label map has no vertebra label.
    NoVertebraLabel,
    /// The label map has no kidney label, the landmark that places L1.
    NoKidneyLabel,
    /// No kidney in the field (a chest-only series, for one): L1 cannot be placed.
    KidneysNotInField,
    /// The kidneys run off the edge of the field, so their upper third, where L1 is, is unknown.
    KidneysCutByField,
    /// No vertebra labelled at the L1 level.
    NoVertebraAtLevel,
    /// Vertebra labelled at the L1 level, but no voxel of it lies clear of its edge within the
    /// trabecular window (a collapsed or cemented vertebra, metal, or a label off the bone).
    NoTrabecularCore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Biomarkers {
    pub liver_hu: Option<f64>,
    pub spleen_hu: Option<f64>,
    pub liver_minus_spleen_hu: Option<f64>,
    pub steatosis: Option<bool>,
    pub l1_trabecular_hu: Option<f64>,
    /// Why `l1_trabecular_hu` is absent (`None` when it was measured).
    pub l1_unmeasured: Option<L1Unmeasured>,
    pub bone_density: Option<BoneDensity>,
    pub coronary_calcium_mm3: Option<f64>,
    pub aortic_calcium_mm3: Option<f64>,
    /// Volume voxels measured per organ (so a reader can judge each figure).
    pub voxels: BTreeMap<String, u64>,
}

/// The organ label map as the model gave it: a `size`³ grid (z, y, x) at `stride` network-grid
/// voxels per label voxel, with a name per label value.
#[derive(Debug, Clone, Copy)]
pub struct LabelMap<'a> {
    pub labels: &'a [i64],
    pub size: [usize; 3],
    pub stride: usize,
    pub names: &'a [String],
}

impl LabelMap<'_> {
    fn value_of(&self, organ: &str) -> Option<i64> {
        self.names.iter().position(|n| n == organ || aliases(n).contains(&organ)).and_then(|i| i64::try_from(i).ok())
    }
}

/// Other names a label map may use for an organ.
fn aliases(name: &str) -> &'static [&'static str] {
    match name {
        "colon" => &["colorectal"],
        "colorectal" => &["colon"],
        "vertebra" => &["vertebrae", "spine"],
        _ => &[],
    }
}

/// For each volume index along one axis, the label-map index it falls in (or `None` outside).
fn label_axis(n_volume: usize, axis: usize, map: &GridMap, labels: &LabelMap<'_>) -> Vec<Option<usize>> {
    (0..n_volume)
        .map(|v| {
            let mut point = map.centre_in;
            point[axis] = v as f64;
            let grid = map.to_grid(point)[axis];
            let label = ((grid - (labels.stride as f64 - 1.0) / 2.0) / labels.stride as f64).round();
            (label >= 0.0 && label < labels.size[axis] as f64).then_some(label as usize)
        })
        .collect()
}

/// Volume columns `from..to` that all fall in label-map column `label_x`.
#[derive(Debug, Clone, Copy)]
struct Run {
    from: usize,
    to: usize,
    label_x: usize,
}

/// Where the volume's voxels fall in the label map. A label voxel covers a dozen or so volume
/// voxels along a row, so rows are walked in runs of one label voxel: a run whose label is of no
/// interest is skipped without reading its HU (most of the body), which keeps the pass from
/// streaming the whole volume through memory.
struct Placement<'a> {
    labels: &'a LabelMap<'a>,
    /// Label slice of each volume slice.
    z: Vec<Option<usize>>,
    /// Label row of each volume row.
    y: Vec<Option<usize>>,
    /// Label column of each volume column.
    x: Vec<Option<usize>>,
    /// Each volume row's columns, in runs of one label column; columns outside the map are left out.
    runs: Vec<Run>,
}

impl<'a> Placement<'a> {
    fn new(volume: &Volume, map: &GridMap, labels: &'a LabelMap<'a>) -> Placement<'a> {
        let x = label_axis(volume.columns, 2, map, labels);
        let mut runs: Vec<Run> = Vec::new();
        for (column, label_x) in x.iter().enumerate() {
            let Some(label_x) = *label_x else { continue };
            match runs.last_mut() {
                Some(run) if run.to == column && run.label_x == label_x => run.to = column + 1,
                _ => runs.push(Run { from: column, to: column + 1, label_x }),
            }
        }
        Placement {
            labels,
            z: label_axis(volume.slices, 0, map, labels),
            y: label_axis(volume.rows, 1, map, labels),
            x,
            runs,
        }
    }

    /// The label-map index of label voxel (z, y, x).
    fn index(&self, z: usize, y: usize, x: usize) -> usize {
        let [_, ly, lx] = self.labels.size;
        (z * ly + y) * lx + x
    }

    /// Calls `visit(label index, label, HU of the run)` for every run of volume slice `z`
    /// (its voxels `slice`) that lies inside the label map.
    fn for_each_run(&self, z: usize, slice: &[i16], columns: usize, mut visit: impl FnMut(usize, i64, &[i16])) {
        let Some(label_z) = self.z.get(z).copied().flatten() else { return };
        for (y, label_y) in self.y.iter().enumerate() {
            let Some(label_y) = *label_y else { continue };
            let Some(row) = slice.get(y * columns..(y + 1) * columns) else { return };
            for run in &self.runs {
                let i = self.index(label_z, label_y, run.label_x);
                if let (Some(label), Some(hu)) = (self.labels.labels.get(i), row.get(run.from..run.to)) {
                    visit(i, *label, hu);
                }
            }
        }
    }
}

/// For every label voxel `i`, whether `test(neighbour, i)` holds for all six of its neighbours
/// (`any == false`; a neighbour outside the map fails), or for any of them or the voxel itself
/// (`any == true`).
fn neighbourhood(labels: &LabelMap<'_>, test: impl Fn(usize, usize) -> bool, any: bool) -> Vec<bool> {
    let [lz, ly, lx] = labels.size;
    (0..labels.labels.len())
        .map(|i| {
            let (z, y, x) = (i / (ly * lx), (i / lx) % ly, i % lx);
            let mut neighbours = [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)].into_iter().map(
                |(dz, dy, dx)| {
                    let (nz, ny, nx) = (z as isize + dz, y as isize + dy, x as isize + dx);
                    let inside =
                        nz >= 0 && ny >= 0 && nx >= 0 && (nz as usize) < lz && (ny as usize) < ly && (nx as usize) < lx;
                    inside.then(|| (nz as usize * ly + ny as usize) * lx + nx as usize)
                },
            );
            if any {
                test(i, i) || neighbours.any(|n| n.is_some_and(|n| test(n, i)))
            } else {
                neighbours.all(|n| n.is_some_and(|n| test(n, i)))
            }
        })
        .collect()
}

#[derive(Default, Clone)]
struct Tally {
    sum: BTreeMap<i64, (i64, u64)>,
    calcium: BTreeMap<i64, u64>,
}

/// Measures the biomarkers of `volume` with the model's label map.
pub fn measure(volume: &Volume, map: &GridMap, labels: &LabelMap<'_>) -> Biomarkers {
    let placement = Placement::new(volume, map, labels);
    let label = |i: usize| labels.labels.get(i).copied();
    // A label voxel is 12 mm or so across: organ means use only label voxels whose six
    // neighbours carry the same label, so that the organ's edge (and its neighbours) stay out.
    let interior = neighbourhood(labels, |n, i| label(n) == label(i), false);
    let liver = labels.value_of("liver");
    let spleen = labels.value_of("spleen");
    let heart = labels.value_of("heart");
    let aorta = labels.value_of("aorta");
    let vertebra = labels.value_of("vertebra");
    let kidney = labels.value_of("kidney");
    let bones: Vec<i64> = ["vertebra", "ribs", "sternum"].iter().filter_map(|b| labels.value_of(b)).collect();
    // Calcium is counted only in heart and aorta label voxels with no bone next to them: at this
    // resolution a label voxel by the spine or the sternum holds bone, which is not calcium.
    let near_bone = neighbourhood(labels, |n, _| label(n).is_some_and(|l| bones.contains(&l)), true);

    // One pass over the volume, slices in parallel: soft-tissue sums per organ and calcium counts.
    let (soft_low, soft_high) = (SOFT_TISSUE_HU.0 as i16, SOFT_TISSUE_HU.1 as i16);
    let calcium_hu = CALCIUM_HU as i16;
    let plane = volume.rows * volume.columns;
    let tally = volume
        .voxels
        .par_chunks(plane.max(1))
        .enumerate()
        .fold(Tally::default, |mut tally, (z, slice)| {
            placement.for_each_run(z, slice, volume.columns, |i, label, hu| {
                if Some(label) == liver || Some(label) == spleen {
                    if interior[i] {
                        let soft = hu.iter().filter(|v| (soft_low..=soft_high).contains(*v));
                        let (sum, count) = soft.fold((0i64, 0u64), |(s, n), v| (s + i64::from(*v), n + 1));
                        let entry = tally.sum.entry(label).or_default();
                        entry.0 += sum;
                        entry.1 += count;
                    }
                } else if (Some(label) == heart || Some(label) == aorta) && !near_bone[i] {
                    *tally.calcium.entry(label).or_default() += hu.iter().filter(|v| **v >= calcium_hu).count() as u64;
                }
            });
            tally
        })
        .reduce(Tally::default, |mut a, b| {
            for (k, (s, n)) in b.sum {
                let e = a.sum.entry(k).or_default();
                e.0 += s;
                e.1 += n;
            }
            for (k, n) in b.calcium {
                *a.calcium.entry(k).or_default() += n;
            }
            a
        });

    let mean = |label: Option<i64>| {
        label.and_then(|l| tally.sum.get(&l)).filter(|(_, n)| *n > 0).map(|(s, n)| *s as f64 / *n as f64)
    };
    let voxel_mm3 = volume.spacing.iter().product::<f64>();
    let calcium = |label: Option<i64>| label.map(|l| tally.calcium.get(&l).copied().unwrap_or(0) as f64 * voxel_mm3);
    let mut voxels = BTreeMap::new();
    for (name, label) in [("liver", liver), ("spleen", spleen)] {
        if let Some((_, n)) = label.and_then(|l| tally.sum.get(&l)).filter(|(_, n)| *n > 0) {
            voxels.insert(name.to_owned(), *n);
        }
    }
    let liver_hu = mean(liver);
    let spleen_hu = mean(spleen);
    let l1 = l1_trabecular(volume, &placement, vertebra, kidney);
    if let Ok((_, n)) = l1 {
        voxels.insert("l1".to_owned(), n);
    }
    Biomarkers {
        liver_hu,
        spleen_hu,
        liver_minus_spleen_hu: liver_hu.zip(spleen_hu).map(|(l, s)| l - s),
        steatosis: liver_hu.map(steatosis_flag),
        l1_trabecular_hu: l1.ok().map(|(hu, _)| hu),
        l1_unmeasured: l1.err(),
        bone_density: l1.ok().map(|(hu, _)| BoneDensity::from_l1_hu(hu)),
        coronary_calcium_mm3: calcium(heart),
        aortic_calcium_mm3: calcium(aorta),
        voxels,
    }
}

/// The L1 trabecular attenuation and how many voxels it used, or why it cannot be measured.
///
/// L1 is taken at the level of the upper third of the kidneys (a landmark the coarse label map
/// holds; it does not number the vertebrae): an approximation that lands on T12-L2 in adult
/// anatomy. In a slab through that level the vertebral body's trabecular core is found in the HU
/// volume, inside the vertebra label: each slice's core is one ROI, as a reader places it in the
/// trabecular centre of the body, away from the cortex and the tissue around it (Pickhardt 2013).
fn l1_trabecular(
    volume: &Volume,
    placement: &Placement<'_>,
    vertebra: Option<i64>,
    kidney: Option<i64>,
) -> Result<(f64, u64), L1Unmeasured> {
    let vertebra = vertebra.ok_or(L1Unmeasured::NoVertebraLabel)?;
    let kidney = kidney.ok_or(L1Unmeasured::NoKidneyLabel)?;
    let labels = placement.labels;
    let label_at = |z: usize, y: usize, x: usize| labels.labels.get(placement.index(z, y, x)).copied();
    // A slice holds kidney when any label voxel under every fourth row and column is kidney.
    let sampled = |axis: &[Option<usize>]| {
        let mut sampled: Vec<usize> = axis.iter().step_by(4).flatten().copied().collect();
        sampled.dedup();
        sampled
    };
    let (rows, columns) = (sampled(&placement.y), sampled(&placement.x));
    let has_kidney = |z: &usize| {
        placement.z[*z]
            .is_some_and(|lz| rows.iter().any(|y| columns.iter().any(|x| label_at(lz, *y, *x) == Some(kidney))))
    };
    let kidney_slices: Vec<usize> = (0..volume.slices).filter(has_kidney).collect();
    let (Some(&first), Some(&last)) = (kidney_slices.first(), kidney_slices.last()) else {
        return Err(L1Unmeasured::KidneysNotInField);
    };
    // Kidneys that reach the label slice at either end of the field, or the one next to it (a
    // label voxel straddling the edge is part fill), are cut by it: their upper third is not
    // where L1 is.
    let ends = (placement.z.iter().flatten().min(), placement.z.iter().flatten().max());
    let (bottom, top) = (placement.z[first].unwrap_or(0), placement.z[last].unwrap_or(0));
    if ends.0.is_some_and(|end| bottom <= end + 1) || ends.1.is_some_and(|end| top + 1 >= *end) {
        return Err(L1Unmeasured::KidneysCutByField);
    }
    // Slices ascend towards the head: the upper third is near `last`.
    let level = last as f64 - (last - first) as f64 / 3.0;
    let half = (L1_SLAB_HALF_MM / volume.spacing[2]).max(0.5);
    let from = (level - half).floor().max(0.0) as usize;
    let to = ((level + half).ceil() as usize).min(volume.slices.saturating_sub(1));

    let margin = disc_offsets(L1_CORE_MARGIN_MM, volume.spacing[0], volume.spacing[1]);
    let min_core = (L1_MIN_CORE_MM2 / (volume.spacing[0] * volume.spacing[1])).ceil() as usize;
    let mut vertebra_at_level = false;
    let mut rois: Vec<f64> = Vec::new();
    let mut used = 0u64;
    for z in from..=to {
        let Some(core) = trabecular_core(volume, placement, z, vertebra, &margin) else { continue };
        vertebra_at_level = true;
        if core.len() >= min_core {
            used += core.len() as u64;
            rois.extend(median(core.into_iter().map(f64::from).collect()));
        }
    }
    if !vertebra_at_level {
        return Err(L1Unmeasured::NoVertebraAtLevel);
    }
    // The slab's ROIs are summarised by their median, so that slices through a disc or an
    // endplate, where the slab crosses one, do not pull the figure: a reader places the ROI in
    // the middle of the body.
    median(rois).map(|hu| (hu, used)).ok_or(L1Unmeasured::NoTrabecularCore)
}

/// The HU of the trabecular core in slice `z`, or `None` when no vertebra is labelled there.
///
/// The label map places the vertebra to within a label voxel (12 mm or so, a third of a vertebral
/// body), not its trabecular bone: a body on the midline falls on the border of two label
/// columns, so a label voxel with vertebra on all four sides is rare, and every label voxel holds
/// cortex, spinal canal or soft tissue as well. The core is therefore found on the HU volume's
/// own grid, inside the vertebra label: a voxel is trabecular when it is not above
/// [`TRABECULAR_HU`] and the mean HU within `margin` of it is not below (a mean, because single
/// voxels of low-density bone are as noisy as the canal next to it); the core is the trabecular
/// voxels whose every in-plane neighbour within `margin` is trabecular too.
fn trabecular_core(
    volume: &Volume,
    placement: &Placement<'_>,
    z: usize,
    vertebra: i64,
    margin: &[(isize, isize)],
) -> Option<Vec<i16>> {
    let label_z = placement.z.get(z).copied().flatten()?;
    let (rows, columns) = (volume.rows, volume.columns);
    let slice = volume.slice(z);
    if slice.len() < rows * columns {
        return None;
    }
    let mut labelled = vec![false; rows * columns];
    let (mut y0, mut y1, mut x0, mut x1) = (rows, 0, columns, 0);
    for (y, label_y) in placement.y.iter().enumerate() {
        let Some(label_y) = *label_y else { continue };
        for run in &placement.runs {
            let i = placement.index(label_z, label_y, run.label_x);
            if placement.labels.labels.get(i).copied() == Some(vertebra) {
                labelled[y * columns + run.from..y * columns + run.to].fill(true);
                (y0, y1, x0, x1) = (y0.min(y), y1.max(y), x0.min(run.from), x1.max(run.to - 1));
            }
        }
    }
    if y0 > y1 {
        return None;
    }
    // The neighbours of (y, x) within the margin that lie in the slice.
    let around = |y: usize, x: usize| {
        margin.iter().filter_map(move |(dy, dx)| {
            let (y, x) = (y as isize + dy, x as isize + dx);
            (y >= 0 && x >= 0 && (y as usize) < rows && (x as usize) < columns)
                .then(|| y as usize * columns + x as usize)
        })
    };
    let (low, high) = TRABECULAR_HU;
    let mut trabecular = vec![false; rows * columns];
    for y in y0..=y1 {
        for x in x0..=x1 {
            let i = y * columns + x;
            if !labelled[i] || f64::from(slice[i]) > high {
                continue;
            }
            let (sum, n) =
                around(y, x).filter(|n| labelled[*n]).fold((0.0, 0u32), |(s, c), n| (s + f64::from(slice[n]), c + 1));
            trabecular[i] = n > 0 && sum / f64::from(n) >= low;
        }
    }
    let mut core = Vec::new();
    for y in y0..=y1 {
        for x in x0..=x1 {
            let i = y * columns + x;
            if trabecular[i] && around(y, x).count() == margin.len() && around(y, x).all(|n| trabecular[n]) {
                core.push(slice[i]);
            }
        }
    }
    Some(core)
}

/// The (row, column) offsets within `radius_mm` of a voxel, columns `dx_mm` and rows `dy_mm` apart.
fn disc_offsets(radius_mm: f64, dx_mm: f64, dy_mm: f64) -> Vec<(isize, isize)> {
    let (ry, rx) = ((radius_mm / dy_mm).floor() as isize, (radius_mm / dx_mm).floor() as isize);
    (-ry..=ry)
        .flat_map(|dy| (-rx..=rx).map(move |dx| (dy, dx)))
        .filter(|&(dy, dx)| (dy as f64 * dy_mm).powi(2) + (dx as f64 * dx_mm).powi(2) <= radius_mm * radius_mm)
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values.get(middle).copied()
    } else {
        Some((values.get(middle.checked_sub(1)?)? + values.get(middle)?) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cell by cell at the cut-offs.
    #[test]
    fn bone_density_categories_at_the_published_cut_offs() {
        let cases = [
            (-50.0, BoneDensity::OsteoporosisLikely),
            (110.0, BoneDensity::OsteoporosisLikely),
            (110.1, BoneDensity::Low),
            (160.0, BoneDensity::Low),
            (160.1, BoneDensity::Normal),
            (320.0, BoneDensity::Normal),
        ];
        for (hu, expected) in cases {
            assert_eq!(BoneDensity::from_l1_hu(hu), expected, "{hu} HU");
        }
    }

    #[test]
    fn medians_and_margins() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
        // A 3 mm margin: the voxel and its 12 nearest at 256 rows, the 4 nearest at 128 rows.
        assert_eq!(disc_offsets(3.0, 1.4844, 1.4844).len(), 13);
        assert_eq!(disc_offsets(3.0, 2.9688, 2.9688), [(-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)]);
    }

    #[test]
    fn steatosis_is_flagged_strictly_below_40_hu() {
        assert!(steatosis_flag(39.9));
        assert!(!steatosis_flag(40.0));
        assert!(!steatosis_flag(58.0));
    }
}
