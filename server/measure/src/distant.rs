//! Distant lesions: solid nodules in the lungs, hypodense foci in the liver.

use std::collections::HashSet;

use crate::body::{Body, LUNG_HU};
use crate::grid::Grid;
use crate::primary::Primary;
use crate::{MeasuredLesion, side};

/// The largest lung nodule: a sphere of this diameter (mm).
const MAX_NODULE_MM: f64 = 50.0;
/// Lung nodules lie inside the body: depth below this.
const MAX_NODULE_DEPTH: f64 = 0.95;
/// The liver's HU is looked for on the patient's right, at least this far from the midline (mm).
const LIVER_SIDE_MM: f64 = 20.0;
/// The liver is its mode ± this (smoothed HU).
const LIVER_WINDOW_HU: f32 = 12.0;
/// A liver lesion's darkest quarter (smoothed) lies at least this far below the liver's HU,
/// in HU and in units of the liver's smoothed noise (the larger).
const LIVER_LESION_DEPTH_HU: f32 = 20.0;
const LIVER_LESION_DEPTH_SD: f32 = 5.0;
/// Below the liver's HU by more than this is fat or air, not a lesion (smoothed HU).
const LIVER_FLOOR_HU: f32 = 80.0;
/// A liver lesion's core (below the depth) holds at least this many voxels.
const MIN_CORE_VOXELS: usize = 5;
/// The shell around a liver lesion lies in the liver's window at least [0] (homogeneous
/// parenchyma), or [1] with the core at least [`MIN_EDGE_CORE_FRACTION`] of the lesion.
const LIVER_SHELL: [f64; 2] = [0.9, 0.8];
const MIN_EDGE_CORE_FRACTION: f64 = 0.5;
/// The largest liver lesion looked for: a sphere of this diameter (mm).
const MAX_LIVER_LESION_MM: f64 = 60.0;
/// A lung nodule is solid: its median is above this (HU; fat is about -100).
const SOLID_NODULE_HU: i16 = -75;

fn sphere_diameter(volume_mm3: f64) -> f64 {
    (6.0 * volume_mm3 / std::f64::consts::PI).cbrt()
}

fn centroid(grid: &Grid<'_>, voxels: &[u32]) -> [f64; 3] {
    let n = voxels.len().max(1) as f64;
    let mut sum = [0.0; 3];
    for &i in voxels {
        let c = grid.fcoords(i as usize);
        for a in 0..3 {
            sum[a] += c[a];
        }
    }
    sum.map(|s| s / n)
}

/// Solid nodules enclosed by aerated lung.
pub(crate) fn lung_nodules(
    grid: &Grid<'_>,
    body: &Body,
    primary: &Primary,
    node_voxels: &HashSet<u32>,
) -> Vec<MeasuredLesion> {
    let mut found = Vec::new();
    let max_voxels = (std::f64::consts::PI / 6.0 * MAX_NODULE_MM.powi(3) / grid.voxel_volume()) as usize;
    grid.components(
        |i| grid.hu(i) > LUNG_HU,
        |voxels| {
            if voxels.len() < 3 || voxels.len() > max_voxels {
                return;
            }
            if voxels.iter().any(|&i| grid.on_face(i as usize) || node_voxels.contains(&i)) {
                return;
            }
            let c = centroid(grid, voxels);
            let centre = grid.view.voxel_to_patient(c);
            if body.radius(c[0].round() as usize, centre) >= MAX_NODULE_DEPTH || primary.holds(grid, c) {
                return;
            }
            if voxels.iter().any(|i| primary.voxels.contains(i)) {
                return;
            }
            let mut values: Vec<i16> = voxels.iter().map(|&i| grid.hu(i as usize)).collect();
            values.sort_unstable();
            if values[values.len() / 2] <= SOLID_NODULE_HU {
                return;
            }
            found.push(MeasuredLesion {
                organ: "lung".into(),
                center_mm: centre,
                diameter_mm: sphere_diameter(voxels.len() as f64 * grid.voxel_volume()),
                side: side(centre[0], primary.hint_mm[0], body.midline_x),
            });
        },
    );
    found
}

/// Hypodense foci inside the liver.
pub(crate) fn liver_lesions(
    grid: &Grid<'_>,
    body: &Body,
    smooth: &[f32],
    primary: &Primary,
    notes: &mut Vec<String>,
) -> Vec<MeasuredLesion> {
    // The liver's HU: the mode of the smoothed HU on the right, inside the body cavity.
    let mut histogram = vec![0usize; 232];
    for (i, &s) in smooth.iter().enumerate() {
        if !(20.0..250.0).contains(&s) {
            continue;
        }
        let c = grid.fcoords(i);
        let p = grid.view.voxel_to_patient(c);
        if p[0] > body.midline_x - LIVER_SIDE_MM || body.radius(c[0] as usize, p) >= 0.8 {
            continue;
        }
        histogram[(s - 20.0) as usize] += 1;
    }
    let smoothed: Vec<usize> = (0..histogram.len())
        .map(|k| histogram[k.saturating_sub(3)..(k + 4).min(histogram.len())].iter().sum())
        .collect();
    let Some((mode, &count)) = smoothed.iter().enumerate().max_by_key(|(_, c)| **c) else {
        return Vec::new();
    };
    if count == 0 {
        notes.push("no liver found (no soft tissue on the right)".into());
        return Vec::new();
    }
    let liver_hu = 20.0 + mode as f32 + 0.5;
    let window = liver_hu - LIVER_WINDOW_HU..=liver_hu + LIVER_WINDOW_HU;

    // The liver: the largest component in the window whose centroid is on the right (and,
    // for its bounding box, the other such components at least a tenth its size: noise and
    // lesions may split it).
    let mut parts: Vec<Vec<u32>> = Vec::new();
    grid.components(
        |i| window.contains(&smooth[i]),
        |voxels| {
            if voxels.len() >= 100 && grid.view.voxel_to_patient(centroid(grid, voxels))[0] < body.midline_x {
                parts.push(voxels.to_vec());
            }
        },
    );
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let Some(liver) = parts.first() else {
        notes.push("no liver found".into());
        return Vec::new();
    };
    let bounded: Vec<u32> = parts.iter().filter(|p| p.len() * 10 >= liver.len()).flatten().copied().collect();
    let mut in_liver = vec![false; grid.len()];
    for &i in liver {
        in_liver[i as usize] = true;
    }
    // Its noise: 1.4826 × the median absolute deviation of its smoothed HU, inside it (voxels
    // whose six neighbours are liver too, away from partial volumes at its edge).
    let mut deviations: Vec<f32> = liver
        .iter()
        .filter(|&&i| {
            let n: Vec<usize> = grid.neighbours6(i as usize).collect();
            n.len() == 6 && n.iter().all(|&j| in_liver[j])
        })
        .map(|&i| (smooth[i as usize] - liver_hu).abs())
        .collect();
    if deviations.is_empty() {
        return Vec::new();
    }
    deviations.sort_by(f32::total_cmp);
    let sd = 1.4826 * deviations[deviations.len() / 2];
    let depth = LIVER_LESION_DEPTH_HU.max(LIVER_LESION_DEPTH_SD * sd);
    notes.push(format!(
        "liver: {liver_hu:.0} HU (smoothed, noise sd {sd:.1}), {} voxels; lesions reach {depth:.0} HU below it",
        liver.len()
    ));
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for &i in &bounded {
        let c = grid.coords(i as usize);
        for a in 0..3 {
            lo[a] = lo[a].min(c[a]);
            hi[a] = hi[a].max(c[a]);
        }
    }
    let in_box = |c: [usize; 3]| (0..3).all(|a| c[a] >= lo[a] && c[a] <= hi[a]);
    // Cores: deeper than noise reaches below the liver, not fat nor air, and not in the
    // partial-volume band at an organ's surface (within one voxel of fat or air).
    let floor = liver_hu - LIVER_FLOOR_HU;
    let near_outside = |i: usize| {
        let [z, y, x] = grid.coords(i);
        (z.saturating_sub(1)..=(z + 1).min(grid.nz - 1)).any(|zz| {
            (y.saturating_sub(1)..=(y + 1).min(grid.ny - 1)).any(|yy| {
                (x.saturating_sub(1)..=(x + 1).min(grid.nx - 1)).any(|xx| smooth[grid.index([zz, yy, xx])] < floor)
            })
        })
    };
    let core = |i: usize| {
        let s = smooth[i];
        s <= liver_hu - depth && s >= floor && in_box(grid.coords(i)) && !near_outside(i)
    };
    let max_voxels = (std::f64::consts::PI / 6.0 * MAX_LIVER_LESION_MM.powi(3) / grid.voxel_volume()) as usize;
    let h = grid.coarsest();

    let mut found = Vec::new();
    grid.components(core, |voxels| {
        if voxels.len() < MIN_CORE_VOXELS || voxels.len() > max_voxels {
            return;
        }
        let c = centroid(grid, voxels);
        if primary.holds(grid, c) {
            return;
        }
        // The lesion: around the core, the voxels darker than the midpoint between the liver
        // and the core's darkest quarter.
        let mut values: Vec<f32> = voxels.iter().map(|&i| smooth[i as usize]).collect();
        values.sort_by(f32::total_cmp);
        let quarter = values.len().div_ceil(4);
        let darkest = values[..quarter].iter().sum::<f32>() / quarter as f32;
        let threshold = (liver_hu + darkest) / 2.0;
        let reach = voxels.iter().map(|&i| grid.distance_mm(c, grid.fcoords(i as usize))).fold(0.0, f64::max);
        let mut lesion = 0usize;
        crate::primary::for_each_within(grid, c, reach + 2.0 * h, |i, _| {
            if smooth[i] <= threshold && smooth[i] >= floor {
                lesion += 1;
            }
        });
        // Inside homogeneous parenchyma: the shell 1..2.5 voxels beyond the lesion's
        // equivalent sphere lies in the liver's window; near the liver's edge (less of the
        // shell in it) a lesion must also be mostly core, unlike a faintly darker neighbour
        // (kidney, muscle) seen through a gap.
        let radius = sphere_diameter(lesion as f64 * grid.voxel_volume()) / 2.0;
        let (mut inside, mut shell) = (0usize, 0usize);
        crate::primary::for_each_within(grid, c, radius + 2.5 * h, |i, d| {
            if d >= radius + h {
                shell += 1;
                if window.contains(&smooth[i]) {
                    inside += 1;
                }
            }
        });
        let shell_fraction = inside as f64 / shell.max(1) as f64;
        let core_fraction = voxels.len() as f64 / lesion.max(1) as f64;
        let homogeneous = shell_fraction >= LIVER_SHELL[0];
        let edge = shell_fraction >= LIVER_SHELL[1] && core_fraction >= MIN_EDGE_CORE_FRACTION;
        if !(homogeneous || edge) {
            return;
        }
        let centre = grid.view.voxel_to_patient(c);
        found.push(MeasuredLesion {
            organ: "liver".into(),
            center_mm: centre,
            diameter_mm: 2.0 * radius,
            side: side(centre[0], primary.hint_mm[0], body.midline_x),
        });
    });
    found
}
