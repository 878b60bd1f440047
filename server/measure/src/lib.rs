//! Classical CT measurements for tumour-board staging.
//!
//! [`measure`] reads a CT volume ([`VolumeView`]: HU voxels and their geometry) and the
//! screening finding of the primary lesion ([`PrimaryHint`]: organ, centre, diameter) and
//! returns what T, N and M staging take from the images ([`Measured`]): the primary lesion's
//! longest axial diameter, the lymph nodes with their short axes, distant lesions, and the
//! adjacent structures the primary lesion touches. It reads voxels only (besides the hint):
//! thresholds on Hounsfield units, 6-connected components, principal extents, and positions
//! relative to the body outline, the midline and the primary lesion. No model, no database,
//! no I/O.
//!
//! # Rules
//!
//! Patient coordinates are DICOM LPS millimetres (+x patient left, +y posterior, +z head);
//! the slices must be axial (a note says so otherwise). "Smoothed" means the 3 × 3 × 3 box
//! mean of the HU. Connectivity is 6-neighbour throughout. Every loop is bounded by the
//! volume's voxel count.
//!
//! **Body.** Per slice, air (< -500 HU) connected to the image edge is outside; the rest is
//! the body. Its centre and half width come from its x extent, its half depth from the
//! posterior edge to the anterior edge at the midline (so breasts do not count). A point's
//! *depth* is its normalised radius in that ellipse (0 centre, 1 skin). The midline is the
//! median body centre x.
//!
//! **Primary lesion.** Grown from the voxel nearest the hint's centre, inside a search ball of
//! radius 1.25 × the hint's radius + 2 voxels (hint diameter 30 mm when unknown):
//! * lung: voxels above -400 HU (soft tissue in aerated lung);
//! * other organs: smoothed HU between the midpoint to fat (-100 HU) and the midpoint to the
//!   parenchyma. The lesion's HU is the mode (5 HU bins) of the darker half of its core
//!   (0.6 × radius, fat aside), the parenchyma's the mode of the shell 1..3 voxels outside
//!   the hint's radius (8..150 HU above the lesion). Below [`MIN_LESION_CONTRAST_HU`] between
//!   them (a pancreatic lesion without contrast) the size is not measured (a note says so).
//!   The region is then opened (eroded and dilated by the 6-neighbour cross) to drop the
//!   partial-volume rims of other organs that share the lesion's HU. Without contrast (no
//!   enhancing aorta, below) such a lesion is segmented (to keep it out of the other
//!   findings) but not sized: `primary_long_axis_mm` is `None`, with a note.
//!
//! When the region stays inside the ball it is the lesion, and its long axis is the longest
//! distance between two voxel centres on one slice plus one pixel (the RECIST axial long
//! axis). When it reaches the ball's surface it has run into a neighbour with no fat or lung
//! between: 36 rays per half turn are cast in the axial plane (on the lesion's slice and the
//! two beside it) from the centroid of the region's part within the hint's radius; a ray ends
//! where the window stops (not in air outside the body, nor beyond the ball). Lung: the long
//! axis is the longest pair of opposite rays that both end, rays longer than 1.4 × the median
//! ray left out. Other organs: twice the median ray (neighbours of the same HU, such as bowel,
//! let some rays run on). The region's voxels beyond the median ray + 1 voxel are the contact.
//!
//! **Invasion** ([`Measured::invasion`]):
//! * `chest_wall`: a lung lesion's contact lies in the outer body (depth ≥ 0.7) or not medial
//!   to the lesion; `mediastinum` otherwise.
//! * `aorta`: with contrast, the aorta is the component of 160..235 HU that spans at least
//!   60 % of the slices, with a median per-slice extent of at most 50 mm and area of
//!   100..2000 mm², centred within 45 mm of the midline. The lesion touches it when an aorta
//!   voxel is a 6-neighbour of the lesion, or of a non-fat (> -30 HU) voxel that is one.
//!   Without an enhancing aorta it is not assessed (a note says so).
//!
//! **Lymph nodes** ([`Measured::nodes`]): components of -20..200 HU that do not touch the
//! volume's faces, of 3 voxels up to a 45 mm sphere, with a mean of 5..150 HU, whose border
//! (6-neighbours outside them) is at least 60 % fat (-250..-30 HU) and at most 25 % air,
//! inside the body cavity (depth ≤ 0.8), with an axial short axis of 3..35 mm and long/short
//! ≤ 3, outside the primary lesion. Axes are principal extents: for the second moments λ of
//! the voxel boxes in the axial plane, an axis is 2·√(5λ) (exact for a solid ellipsoid), all
//! axes then scaled together so that their ellipsoid has the voxels' volume. A node is
//! involved when its axial short axis is at least [`INVOLVED_SHORT_AXIS_MM`] (10 mm,
//! RECIST 1.1: Schwartz LH et al., Eur J Cancer 2009;45:261-267).
//!
//! Region: for a lung primary, a node on a slice with aerated lung (≥ 5 % of the body) is
//! `mediastinal` within [`MEDIASTINAL_BAND_MM`] of the midline, `hilar` within
//! [`HILAR_BAND_MM`], else `non_regional`; for other organs it is `regional` within
//! [`REGIONAL_DISTANCE_MM`] of the hint's centre, else `non_regional`. Side: `midline` within
//! [`MIDLINE_BAND_MM`] of the midline, else `ipsilateral` on the primary's side (a primary on
//! the midline makes every other node ipsilateral) or `contralateral`.
//!
//! **Distant lesions** ([`Measured::distant`]):
//! * `lung`: components above -400 HU enclosed by air (which the threshold makes so), not
//!   touching the faces, inside the body (depth < 0.95), of 3 voxels up to a 50 mm sphere,
//!   solid (median above -75 HU, so that fat is not), not the primary and holding no node
//!   voxel. Diameter: the equivalent sphere's.
//! * `liver`: the liver's HU is the mode of the smoothed HU on the patient's right (x below
//!   the midline - 20 mm, depth < 0.8, 20..250 HU); the liver is the largest component within
//!   ±12 HU of it on the right (its bounding box also takes the right-sided components at
//!   least a tenth its size); its noise is 1.4826 × the median absolute deviation of its
//!   interior. A lesion's core is a component, in that box, of smoothed HU at least
//!   max(20 HU, 5 noise sd) below the liver, above the liver - 80 HU, and not within one voxel
//!   of anything darker (the partial-volume band at an organ's surface), of at least 5 voxels.
//!   The lesion is the voxels near the core darker than the midpoint between the liver and
//!   the core's darkest quarter; the shell 1..2.5 voxels beyond its equivalent sphere must lie
//!   ≥ 90 % in the liver's window, or ≥ 80 % with the core ≥ half the lesion (near the liver's
//!   edge). Diameter: the lesion's equivalent sphere. The primary is left out.
//!
//! **Anatomical anchor** ([`anatomical_anchor`]): one landmark per series, from the voxels
//! alone, so that two series of the same patient on different table positions are aligned by
//! subtracting their anchors. It must move with the patient and not with the scan range, so it
//! is a feature of the anatomy found from its own shape, and the in-plane position is a median
//! over a fixed stretch of the patient, not a mean over whatever slices the scan holds.
//! * Aerated lung: voxels below -400 HU inside the body (not air reaching the image edge), in
//!   6-connected components of at least 100 mL (lungs hold litres; most pockets of bowel gas
//!   are smaller).
//! * z, the lung base: from the slice with the most aerated lung, down the slices where it
//!   covers at least 10 cm² to the lowest of them; the height where the area reaches 10 cm² is
//!   interpolated linearly between that slice and the one below (near the dome the area grows
//!   about in proportion to the height, so a shift of a fraction of a slice is kept). An
//!   absolute area, not a share of the body, because the body's cross-section changes with
//!   weight between studies and the lungs' does not; the trachea and bronchi (a few cm²) never
//!   reach it, and walking down from the fullest slice stops at the first slice below it, so
//!   gas under the diaphragm counts only if no slice separates it from the lungs.
//! * x, y: the median body centre (the **Body** rule above: the middle of its x extent, and
//!   between its posterior edge and its anterior edge at the midline) over the slices from the
//!   lung base to 60 mm above it.
//!
//! Not measured ([`AnchorUnmeasured`]): slices not axial; no body; no aerated lung reaching
//! 10 cm² on a slice; lung on the most caudal slice at 10 cm² or more (the base lies below the
//! scan).
//!
//! # Tolerance
//!
//! On the phantoms of `elysium-phantom` at 128 × 128 pixels of 2.97 mm and 2.5 mm slices
//! (the tests, and the ignored sweep over 58 staged series, `cargo test --release -p
//! elysium-measure -- --ignored`):
//! * node short axes within ±2 mm or one pixel, whichever is larger (worst 2.3 mm, mean bias
//!   about +0.2 mm); every node of 5 mm and more found, none extra; nodes within that
//!   tolerance of 10 mm may fall either side of it;
//! * distant lesions found (lung nodules of 10 mm, liver metastases of 15 mm and more, 30 HU
//!   or more below the liver), none extra, diameters within 2 pixels;
//! * lung primary long axis: the labelled lesion's exactly when enclosed by lung, within 4 mm
//!   against the chest wall;
//! * solid-organ primaries (with contrast; without, they are not sized): within about 2.5
//!   pixels (7 mm) of the labelled lesion, worst 15 mm when the lesion merges with
//!   neighbours of its HU; approximate.
//! * positions within two voxels;
//! * anatomical anchor: a rigid shift of the patient, e.g. (12, -9, 20) mm or (-15, 6, -25) mm,
//!   moves the anchor by the shift within one pixel in x and y and one slice spacing in z (the
//!   tests' bound; over 16 patients and three shifts, a fractional one included, the worst
//!   was 1.4 mm in x and y, half a pixel, and 0.4 mm in z); 10 mm more or less scanned at
//!   either end leaves it where it was.

mod anchor;
#[cfg(test)]
mod anchor_tests;
mod body;
mod distant;
mod grid;
mod nodes;
mod primary;
#[cfg(test)]
mod tests;
mod volume;

use serde::Serialize;

pub use self::anchor::{Anchor, AnchorUnmeasured, anatomical_anchor};
use self::body::Body;
use self::grid::Grid;
pub use self::volume::{MAX_VOXELS, ViewError, VolumeView};

/// A node whose axial short axis is at least this is involved (RECIST 1.1).
pub const INVOLVED_SHORT_AXIS_MM: f64 = 10.0;
/// Lung primary: nodes within this of the midline are mediastinal.
pub const MEDIASTINAL_BAND_MM: f64 = 32.0;
/// Lung primary: nodes beyond the mediastinal band and within this of the midline are hilar.
pub const HILAR_BAND_MM: f64 = 90.0;
/// Abdominal primary: nodes within this of the primary's centre are regional.
pub const REGIONAL_DISTANCE_MM: f64 = 120.0;
/// Findings within this of the midline are on the midline.
pub const MIDLINE_BAND_MM: f64 = 5.0;
/// A solid-organ primary lesion is sized when at least this much darker than its parenchyma.
pub const MIN_LESION_CONTRAST_HU: f64 = 20.0;

/// What the screening finding says about the primary lesion.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryHint {
    /// `lung`, `liver`, `pancreas`, `kidney`, `stomach`, `colon`, ... (any other name is
    /// measured as a solid-organ lesion).
    pub organ: String,
    /// Centre of the lesion, patient mm.
    pub center_mm: [f64; 3],
    pub diameter_mm: Option<f64>,
}

/// Relative to the primary lesion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Ipsilateral,
    Contralateral,
    Midline,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredNode {
    pub center_mm: [f64; 3],
    /// Axial short axis.
    pub short_axis_mm: f64,
    /// Axial long axis.
    pub long_axis_mm: f64,
    /// `hilar`, `mediastinal` (lung), `regional` (other organs) or `non_regional`.
    pub region: String,
    pub side: Side,
    /// Short axis >= [`INVOLVED_SHORT_AXIS_MM`].
    pub involved: bool,
    pub mean_hu: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredLesion {
    /// `lung` or `liver`.
    pub organ: String,
    pub center_mm: [f64; 3],
    pub diameter_mm: f64,
    pub side: Side,
}

/// The measurements of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// Longest axial diameter of the primary lesion (`None` when nothing was found at the
    /// hint).
    pub primary_long_axis_mm: Option<f64>,
    /// Centroid of the segmented primary lesion.
    pub primary_center_mm: Option<[f64; 3]>,
    pub nodes: Vec<MeasuredNode>,
    pub distant: Vec<MeasuredLesion>,
    /// Adjacent structures the primary lesion touches: `chest_wall`, `mediastinum`, `aorta`.
    pub invasion: Vec<String>,
    /// How the measurements were made, and what could not be.
    pub notes: Vec<String>,
}

impl Measured {
    /// The nodes counted as involved.
    pub fn involved_nodes(&self) -> impl Iterator<Item = &MeasuredNode> {
        self.nodes.iter().filter(|n| n.involved)
    }
}

/// What kind of organ the primary lesion is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrganKind {
    Lung,
    Solid,
}

impl OrganKind {
    fn of(organ: &str) -> OrganKind {
        let organ = organ.trim().to_ascii_lowercase();
        if organ.contains("lung") || organ == "pulmonary" { OrganKind::Lung } else { OrganKind::Solid }
    }
}

/// The side of a patient x relative to the primary lesion's x, both against the midline.
pub(crate) fn side(x: f64, primary_x: f64, midline: f64) -> Side {
    let dx = x - midline;
    let pdx = primary_x - midline;
    if dx.abs() < MIDLINE_BAND_MM {
        Side::Midline
    } else if pdx.abs() < MIDLINE_BAND_MM || (dx > 0.0) == (pdx > 0.0) {
        Side::Ipsilateral
    } else {
        Side::Contralateral
    }
}

/// Measures the primary lesion, the lymph nodes, distant lesions and invasion in `volume`.
pub fn measure(volume: &VolumeView<'_>, primary: PrimaryHint) -> Measured {
    let grid = Grid::new(*volume);
    let mut notes = Vec::new();
    if !volume.is_axial() {
        notes.push("the slices are not axial: axial axes are measured in the slice plane".to_owned());
    }
    let kind = OrganKind::of(&primary.organ);
    if primary.center_mm.iter().any(|c| !c.is_finite()) {
        notes.push("the hint's centre is not a finite position: the primary is not measured".to_owned());
    }
    let body = Body::find(&grid);
    let smooth = grid.smoothed();
    let found = primary::measure(&grid, &body, &smooth, &primary, kind, &mut notes);
    let (nodes, node_voxels) = nodes::find(&grid, &body, &found, kind);
    let mut distant = distant::lung_nodules(&grid, &body, &found, &node_voxels);
    distant.extend(distant::liver_lesions(&grid, &body, &smooth, &found, &mut notes));
    notes.push(format!(
        "{} node candidate(s) measured by principal extents; involved = short axis >= {INVOLVED_SHORT_AXIS_MM} mm",
        nodes.len()
    ));
    Measured {
        primary_long_axis_mm: found.long_axis_mm,
        primary_center_mm: found.center_mm,
        nodes,
        distant,
        invasion: found.invasion.clone(),
        notes,
    }
}
