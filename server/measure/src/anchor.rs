//! An anatomical anchor: one landmark point measured from the voxels alone, so that two
//! series of the same patient taken on different table positions (years apart, say) can be
//! aligned by subtracting their anchors. See the crate docs, "Anatomical anchor", for the rule.
//!
//! Every choice below is made so that a rigid translation of the patient moves the anchor by
//! the same translation, and so that a scan range starting a little higher or lower does not
//! move it: the landmark is found from the lungs' own shape, and the in-plane position is a
//! median over a fixed length of the patient above it rather than over whatever the scan
//! happens to cover.

use serde::Serialize;

use crate::body::{Body, LUNG_HU};
use crate::grid::Grid;
use crate::volume::VolumeView;

/// The lung base is where the aerated lung's cross-section (both lungs) reaches this going
/// up (mm², 10 cm²). An absolute area, not a share of the body's cross-section, because the
/// body's grows and shrinks with the patient's weight between studies and the lungs' does not;
/// small enough to sit within about a centimetre of the dome.
const LUNG_BASE_AREA_MM2: f64 = 1000.0;

/// Air enclosed by the body is lung only in components of at least this volume (mm³,
/// 100 mL): a lung holds litres, and this leaves out small pockets such as bowel gas.
const MIN_LUNG_VOLUME_MM3: f64 = 100_000.0;

/// The in-plane position is taken over the slices from the lung base up to this far above it
/// (mm): the same stretch of the patient whatever the scan range, as long as the scan covers it.
const CENTRE_WINDOW_MM: f64 = 60.0;

/// The landmark of one series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Anchor {
    /// The landmark in patient coordinates (LPS mm).
    pub point_mm: [f64; 3],
}

/// Why a series has no anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum AnchorUnmeasured {
    #[error("the slices are not axial, so the lung base cannot be found slice by slice")]
    NotAxial,
    #[error("no slice shows a body")]
    NoBody,
    #[error("no aerated lung large enough to find the lung base is in the scan")]
    NoLungBase,
    #[error("the lungs reach the caudal end of the scan, so the lung base lies below it")]
    LungBaseNotInScan,
}

/// The anatomical anchor of `view`: the body's centre in the axial plane just above the lung
/// base, at the height of the lung base.
pub fn anatomical_anchor(view: &VolumeView<'_>) -> Result<Anchor, AnchorUnmeasured> {
    if !view.is_axial() {
        return Err(AnchorUnmeasured::NotAxial);
    }
    let grid = Grid::new(*view);
    let body = Body::find(&grid);
    if body.slices.iter().all(Option::is_none) {
        return Err(AnchorUnmeasured::NoBody);
    }
    let area = lung_area_by_slice(&grid, &body);
    let caudal_first = slices_caudal_first(&grid);
    let base_z = lung_base_z(&caudal_first, &area)?;

    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for &(k, z) in &caudal_first {
        if z < base_z || z > base_z + CENTRE_WINDOW_MM {
            continue;
        }
        if let Some(slice) = body.slice(k) {
            xs.push(slice.centre[0]);
            ys.push(slice.centre[1]);
        }
    }
    // The slice at or just above the base shows lung, hence a body: neither list is empty.
    match (median(&mut xs), median(&mut ys)) {
        (Some(x), Some(y)) => Ok(Anchor { point_mm: [x, y, base_z] }),
        _ => Err(AnchorUnmeasured::NoBody),
    }
}

/// Aerated lung per slice (mm²): the voxels below [`LUNG_HU`] inside the body (not air
/// reaching the image edge), in 6-connected components of at least [`MIN_LUNG_VOLUME_MM3`].
fn lung_area_by_slice(grid: &Grid<'_>, body: &Body) -> Vec<f64> {
    let plane = grid.ny * grid.nx;
    let pixel_area = grid.s[1] * grid.s[2];
    let min_voxels = MIN_LUNG_VOLUME_MM3 / grid.voxel_volume();
    let mut area = vec![0.0; grid.nz];
    let enclosed_air = |i: usize| body.slice(i / plane).is_some() && !body.outside[i] && grid.hu(i) < LUNG_HU;
    grid.components(enclosed_air, |voxels| {
        if (voxels.len() as f64) < min_voxels {
            return;
        }
        for &i in voxels {
            area[i as usize / plane] += pixel_area;
        }
    });
    area
}

/// (slice index, patient z of the slice's centre), lowest z (the feet) first.
fn slices_caudal_first(grid: &Grid<'_>) -> Vec<(usize, f64)> {
    let centre = [(grid.ny as f64 - 1.0) / 2.0, (grid.nx as f64 - 1.0) / 2.0];
    let mut slices: Vec<(usize, f64)> =
        (0..grid.nz).map(|k| (k, grid.view.voxel_to_patient([k as f64, centre[0], centre[1]])[2])).collect();
    slices.sort_by(|a, b| a.1.total_cmp(&b.1));
    slices
}

/// The height where the lungs' cross-section reaches [`LUNG_BASE_AREA_MM2`]: from the slice
/// of most lung, down through the slices at or above it to the last of them, then linearly
/// between that slice and the one below (a lung's cross-section grows smoothly from its dome,
/// about in proportion to the height above it, so the crossing lies between them where the
/// line through their areas meets the threshold; this keeps a shift of a fraction of a slice).
fn lung_base_z(caudal_first: &[(usize, f64)], area: &[f64]) -> Result<f64, AnchorUnmeasured> {
    let most = (0..caudal_first.len()).max_by(|&a, &b| area[caudal_first[a].0].total_cmp(&area[caudal_first[b].0]));
    let Some(mut lowest) = most.filter(|&m| area[caudal_first[m].0] >= LUNG_BASE_AREA_MM2) else {
        return Err(AnchorUnmeasured::NoLungBase);
    };
    while lowest > 0 && area[caudal_first[lowest - 1].0] >= LUNG_BASE_AREA_MM2 {
        lowest -= 1;
    }
    if lowest == 0 {
        return Err(AnchorUnmeasured::LungBaseNotInScan);
    }
    let (below, above) = (caudal_first[lowest - 1], caudal_first[lowest]);
    let (a_below, a_above) = (area[below.0], area[above.0]);
    // a_below < threshold <= a_above, so the fraction lies in (0, 1].
    let t = (LUNG_BASE_AREA_MM2 - a_below) / (a_above - a_below);
    Ok(below.1 + t * (above.1 - below.1))
}

/// The median (the mean of the two middle values for an even count), `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}
