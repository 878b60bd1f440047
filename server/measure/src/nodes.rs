//! Lymph nodes: soft-tissue components in fat, measured by their principal extents.

use std::collections::HashSet;

use crate::body::{Body, LUNG_HU};
use crate::grid::{Grid, ShapeStats};
use crate::primary::Primary;
use crate::{
    HILAR_BAND_MM, INVOLVED_SHORT_AXIS_MM, MEDIASTINAL_BAND_MM, MeasuredNode, OrganKind, REGIONAL_DISTANCE_MM, side,
};

/// Soft tissue (HU).
const SOFT_TISSUE_HU: [i16; 2] = [-20, 200];
/// A node's mean (HU): wide, since a small node's few voxels share much of their noise.
const NODE_MEAN_HU: [f64; 2] = [5.0, 150.0];
/// Fat (HU).
const FAT_HU: [i16; 2] = [-250, -30];
/// At least this fraction of a node's border is fat ...
const MIN_FAT_BORDER: f64 = 0.6;
/// ... and at most this fraction air.
const MAX_AIR_BORDER: f64 = 0.25;
/// Nodes lie inside the body cavity: depth at most this.
const MAX_DEPTH: f64 = 0.8;
/// Axial short axis range (mm) and the largest long / short ratio.
const SHORT_AXIS_MM: [f64; 2] = [3.0, 35.0];
const MAX_ELONGATION: f64 = 3.0;
/// The largest node: a sphere of this diameter (mm).
const MAX_DIAMETER_MM: f64 = 45.0;
/// A slice is in the thorax when aerated lung is at least this fraction of the body.
const THORAX_LUNG_FRACTION: f64 = 0.05;

/// The nodes in the volume, and all their voxels.
pub(crate) fn find(
    grid: &Grid<'_>,
    body: &Body,
    primary: &Primary,
    kind: OrganKind,
) -> (Vec<MeasuredNode>, HashSet<u32>) {
    let mut nodes = Vec::new();
    let mut node_voxels = HashSet::new();
    let max_voxels = (std::f64::consts::PI / 6.0 * MAX_DIAMETER_MM.powi(3) / grid.voxel_volume()) as usize;
    let soft = |i: usize| (SOFT_TISSUE_HU[0]..=SOFT_TISSUE_HU[1]).contains(&grid.hu(i));
    grid.components(soft, |voxels| {
        if voxels.len() < 3 || voxels.len() > max_voxels {
            return;
        }
        if voxels.iter().any(|&i| grid.on_face(i as usize)) {
            return;
        }
        let mean = voxels.iter().map(|&i| f64::from(grid.hu(i as usize))).sum::<f64>() / voxels.len() as f64;
        if !(NODE_MEAN_HU[0]..=NODE_MEAN_HU[1]).contains(&mean) {
            return;
        }
        // The border: 6-neighbours outside the component (so outside the soft-tissue window).
        let (mut fat, mut air, mut all) = (0usize, 0usize, 0usize);
        for &i in voxels {
            for n in grid.neighbours6(i as usize) {
                let v = grid.hu(n);
                if soft(n) {
                    continue;
                }
                all += 1;
                if (FAT_HU[0]..=FAT_HU[1]).contains(&v) {
                    fat += 1;
                } else if v < LUNG_HU {
                    air += 1;
                }
            }
        }
        let all = all.max(1) as f64;
        if (fat as f64) < MIN_FAT_BORDER * all || air as f64 > MAX_AIR_BORDER * all {
            return;
        }
        let stats = ShapeStats::of(grid, voxels);
        if !(SHORT_AXIS_MM[0]..=SHORT_AXIS_MM[1]).contains(&stats.axial_short)
            || stats.axial_long > MAX_ELONGATION * stats.axial_short
        {
            return;
        }
        let z = stats.centroid[0].round() as usize;
        let centre = grid.view.voxel_to_patient(stats.centroid);
        if body.radius(z, centre) > MAX_DEPTH || primary.holds(grid, stats.centroid) {
            return;
        }
        let dx = (centre[0] - body.midline_x).abs();
        let region = match kind {
            OrganKind::Lung => {
                let thorax = body.slice(z).is_some_and(|b| b.lung_fraction >= THORAX_LUNG_FRACTION);
                if thorax && dx < MEDIASTINAL_BAND_MM {
                    "mediastinal"
                } else if thorax && dx <= HILAR_BAND_MM {
                    "hilar"
                } else {
                    "non_regional"
                }
            }
            OrganKind::Solid => {
                let d = (0..3).map(|a| (centre[a] - primary.hint_mm[a]).powi(2)).sum::<f64>().sqrt();
                if d <= REGIONAL_DISTANCE_MM { "regional" } else { "non_regional" }
            }
        };
        node_voxels.extend(voxels.iter().copied());
        nodes.push(MeasuredNode {
            center_mm: centre,
            short_axis_mm: stats.axial_short,
            long_axis_mm: stats.axial_long,
            region: region.to_owned(),
            side: side(centre[0], primary.hint_mm[0], body.midline_x),
            involved: stats.axial_short >= INVOLVED_SHORT_AXIS_MM,
            mean_hu: mean,
        });
    });
    (nodes, node_voxels)
}
