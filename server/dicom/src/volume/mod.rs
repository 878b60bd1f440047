//! Assembling a CT series into one volume in Hounsfield units, with its geometry.
//!
//! [`load_series`] takes the parsed instances of one series (single-frame CT Image Storage,
//! or multi-frame Enhanced CT with per-frame functional groups, or a mix) and returns an
//! `i16` HU volume on a regular grid plus the problems found on the way, each a named
//! [`SeriesProblem`] that says what was wrong and, through [`SeriesProblem::remedy`], what was
//! done about it.
//!
//! # Geometry
//!
//! The slice normal is the cross product of the row and column direction cosines of
//! ImageOrientationPatient. Slices are sorted by the projection of ImagePositionPatient on that
//! normal, ascending, so that `direction = [row, column, normal]` is right-handed and every
//! spacing is positive (the ITK/NIfTI convention). For a head-first axial series the normal
//! points to the head (+z in the patient's LPS frame): slice 0 is the most caudal one.
//! `origin` is the patient position (mm) of the centre of voxel `(z, y, x) = (0, 0, 0)`, and
//! voxel `(z, y, x)` lies at `origin + x·spacing[0]·row + y·spacing[1]·column +
//! z·spacing[2]·normal`.
//!
//! The slice step is decided by the median gap between neighbouring positions: the grid has
//! `round(span / median)` steps, each `span / steps` long, so that the first and last slices
//! keep their exact positions (for an even series this is the mean gap, which equals the
//! median to within DS rounding).
//!
//! # Problems and what is done about them
//!
//! | Problem | Detection | Handling |
//! |---|---|---|
//! | [`SeriesProblem::MixedGeometry`] | rows, columns or pixel spacing differ | refused ([`VolumeError::Unfixable`]) |
//! | [`SeriesProblem::InconsistentOrientation`] | a slice's row or column cosines more than [`ORIENTATION_TOLERANCE_DEGREES`] from the first slice's | refused |
//! | [`SeriesProblem::DuplicatePositions`] | positions on the normal within [`DUPLICATE_TOLERANCE_MM`] | the first by InstanceNumber (then frame) is kept |
//! | [`SeriesProblem::MissingSlices`] | a gap ≈ k × median (k ≥ 2, within the spacing tolerance) | filled by linear interpolation when at most [`MAX_MISSING_IN_A_GAP`] in a row, else refused |
//! | [`SeriesProblem::UnevenSpacing`] | a gap off the median by more than max([`SPACING_TOLERANCE_FRACTION`] × median, [`SPACING_TOLERANCE_MM`]) | resampled to the regular grid by linear interpolation (a gap over [`MAX_MISSING_IN_A_GAP`] + 1 medians is refused) |
//! | [`SeriesProblem::GantryTilt`] | the first-to-last slice direction more than [`GANTRY_TILT_TOLERANCE_DEGREES`] off the normal | each slice shifted in its plane (bilinear) onto the middle slice's in-plane grid |
//!
//! # Pixel values
//!
//! HU = stored × RescaleSlope + RescaleIntercept (per frame for Enhanced CT), rounded and
//! clamped to `i16`. The stored value honours PixelRepresentation and BitsStored: native (and
//! RLE / JPEG) samples keep their low BitsStored bits, sign-extended when
//! PixelRepresentation is 1 (as pydicom's unused-bits correction does). JPEG 2000 follows
//! pydicom 3 with pylibjpeg: when the codestream's signedness (SIZ marker) disagrees with
//! PixelRepresentation, the low *precision* bits are reinterpreted as PixelRepresentation says
//! (e.g. a 13-bit "unsigned" stream of a signed image gives -2000, not 6192); when they agree
//! the decoded value is taken as is.
//!
//! Padding: stored values equal to PixelPaddingValue (or within PixelPaddingValue ..
//! PixelPaddingRangeLimit) become [`PADDING_HU`] (-1024, air). When the padding value itself
//! lies below air (HU < -1024, the usual -2000 or -3024), the writer has declared that values
//! under air are not tissue, so every HU under -1024 is also set to -1024: this catches values
//! below the padding value and the ringing of lossy codecs around it. Without a padding value
//! nothing is clamped beyond `i16` (out-of-field-of-view -2000 stays -2000).

use std::borrow::Borrow;
use std::fmt;

use dicom_core::{DicomValue, PrimitiveValue, Tag};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use rayon::prelude::*;
use serde::Serialize;

use crate::header::ParsedInstance;

mod frames;
mod geometry;
mod grid;
mod pixels;
#[cfg(test)]
mod pydicom_reference;
#[cfg(test)]
mod tests;

use self::frames::*;
use self::geometry::*;
use self::grid::*;
use self::pixels::*;

/// HU written where the pixel is padding (outside the reconstructed field of view): air.
pub const PADDING_HU: i16 = -1024;
/// The HU of air; the floor applied when the padding value lies below it.
pub const AIR_HU: i16 = -1024;
/// Slices whose row or column direction differs by more than this from the first slice's make
/// the orientation inconsistent.
pub const ORIENTATION_TOLERANCE_DEGREES: f64 = 0.5;
/// Two slices closer than this along the normal are at the same position.
pub const DUPLICATE_TOLERANCE_MM: f64 = 0.01;
/// A gap may differ from the median by this fraction of it (or [`SPACING_TOLERANCE_MM`],
/// whichever is larger) and still be even.
pub const SPACING_TOLERANCE_FRACTION: f64 = 0.10;
/// See [`SPACING_TOLERANCE_FRACTION`].
pub const SPACING_TOLERANCE_MM: f64 = 0.1;
/// The most slices missing in one gap that are filled by interpolation; a longer gap refuses
/// the series.
pub const MAX_MISSING_IN_A_GAP: usize = 4;
/// The stacking direction may be this far from the slice normal before it is a gantry tilt.
pub const GANTRY_TILT_TOLERANCE_DEGREES: f64 = 0.5;
/// Pixel spacings (mm) that differ by more than this are different.
pub const PIXEL_SPACING_TOLERANCE_MM: f64 = 1e-3;
/// When resampling, a source slice this close to a grid position (fraction of the step) is
/// used as is rather than interpolated.
const SNAP_FRACTION: f64 = 0.05;
/// The largest volume assembled (voxels): 2048 × 2048 × 512, 4 GiB of HU (512 × 512 × 8192).
pub const MAX_VOXELS: usize = 1 << 31;

/// A CT volume in Hounsfield units on a regular grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// z-major: `voxels[(z * rows + y) * columns + x]`.
    pub voxels: Vec<i16>,
    pub slices: usize,
    pub rows: usize,
    pub columns: usize,
    /// Voxel size (mm) along the columns (x), rows (y) and slices (z).
    pub spacing: [f64; 3],
    /// Patient position (mm) of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Unit vectors: row direction (x), column direction (y), slice normal (z).
    pub direction: [[f64; 3]; 3],
}

impl Volume {
    /// Voxels per slice.
    pub fn plane(&self) -> usize {
        self.rows * self.columns
    }

    /// Slice `z` (row-major), or an empty slice when `z` is out of range.
    pub fn slice(&self, z: usize) -> &[i16] {
        let plane = self.plane();
        self.voxels.get(z * plane..(z + 1) * plane).unwrap_or(&[])
    }

    /// The HU at slice `z`, row `y`, column `x`.
    pub fn hu_at(&self, z: usize, y: usize, x: usize) -> Option<i16> {
        if z >= self.slices || y >= self.rows || x >= self.columns {
            return None;
        }
        self.voxels.get((z * self.rows + y) * self.columns + x).copied()
    }

    /// The patient position (mm) of a (possibly fractional) voxel index `[z, y, x]`.
    pub fn voxel_to_patient(&self, [z, y, x]: [f64; 3]) -> [f64; 3] {
        let [row, column, normal] = self.direction;
        let [sx, sy, sz] = self.spacing;
        std::array::from_fn(|i| self.origin[i] + x * sx * row[i] + y * sy * column[i] + z * sz * normal[i])
    }

    /// The fractional voxel index `[z, y, x]` of a patient position (mm).
    pub fn patient_to_voxel(&self, point: [f64; 3]) -> [f64; 3] {
        let d = sub(point, self.origin);
        let [row, column, normal] = self.direction;
        let [sx, sy, sz] = self.spacing;
        [dot(d, normal) / sz, dot(d, column) / sy, dot(d, row) / sx]
    }
}

/// Something wrong with a series' geometry, named; serialised as `{"kind": "gantry_tilt", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeriesProblem {
    /// The slices do not share one orientation (refused).
    InconsistentOrientation { max_degrees: f64 },
    /// `count` slices repeat the position of another one (the extras were dropped).
    DuplicatePositions { count: usize },
    /// `missing` slices are missing, in `gaps` gaps.
    MissingSlices { gaps: usize, missing: usize },
    /// The gaps between slices range from `min_mm` to `max_mm` (missing-slice gaps aside).
    UnevenSpacing { min_mm: f64, max_mm: f64 },
    /// The slices are stacked at `degrees` to their normal.
    GantryTilt { degrees: f64 },
    /// Rows, columns or pixel spacing differ between slices (refused).
    MixedGeometry { what: &'static str },
}

impl SeriesProblem {
    /// What [`load_series`] does about it (`None`: it refuses the series).
    pub fn remedy(&self) -> Option<&'static str> {
        match self {
            SeriesProblem::InconsistentOrientation { .. } | SeriesProblem::MixedGeometry { .. } => None,
            SeriesProblem::DuplicatePositions { .. } => {
                Some("the first slice by instance number was kept at each position")
            }
            SeriesProblem::MissingSlices { .. } => {
                Some("the missing slices were filled by linear interpolation between their neighbours")
            }
            SeriesProblem::UnevenSpacing { .. } => {
                Some("the slices were resampled to an even spacing by linear interpolation")
            }
            SeriesProblem::GantryTilt { .. } => Some("each slice was shifted in its plane to undo the tilt"),
        }
    }
}

impl fmt::Display for SeriesProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeriesProblem::InconsistentOrientation { max_degrees } => {
                write!(f, "The slices do not all have the same orientation (up to {max_degrees:.1}° apart).")
            }
            SeriesProblem::DuplicatePositions { count: 1 } => {
                f.write_str("1 slice repeats the position of another slice.")
            }
            SeriesProblem::DuplicatePositions { count } => {
                write!(f, "{count} slices repeat the position of another slice.")
            }
            SeriesProblem::MissingSlices { gaps, missing } => write!(
                f,
                "{missing} slice{} missing in {gaps} gap{}.",
                if *missing == 1 { " is" } else { "s are" },
                if *gaps == 1 { "" } else { "s" }
            ),
            SeriesProblem::UnevenSpacing { min_mm, max_mm } => {
                write!(f, "The slice spacing is uneven, from {min_mm:.2} mm to {max_mm:.2} mm.")
            }
            SeriesProblem::GantryTilt { degrees } => {
                write!(f, "The slices are stacked at {degrees:.1}° to their plane's normal (gantry tilt).")
            }
            SeriesProblem::MixedGeometry { what } => write!(f, "The slices differ in {what}."),
        }
    }
}

/// A volume and the problems met (and handled) on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSeries {
    pub volume: Volume,
    pub problems: Vec<SeriesProblem>,
    /// The median SliceThickness of the slices used (per frame for Enhanced CT).
    pub slice_thickness_mm: Option<f64>,
    /// Frames read (before duplicates were dropped).
    pub source_frames: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeError {
    #[error("the series has no instances")]
    Empty,
    #[error("the instances belong to more than one series")]
    MixedSeries,
    #[error("instance {sop_instance_uid} cannot be loaded as a CT image: {reason}")]
    Unsupported { sop_instance_uid: String, reason: String },
    #[error("instance {sop_instance_uid} lacks {attribute}")]
    MissingGeometry { sop_instance_uid: String, attribute: &'static str },
    #[error("instance {sop_instance_uid} has an invalid {attribute}")]
    InvalidGeometry { sop_instance_uid: String, attribute: &'static str },
    #[error("cannot decode frame {frame} of instance {sop_instance_uid}: {reason}")]
    Decode { sop_instance_uid: String, frame: u32, reason: String },
    #[error("the series cannot be assembled into a volume: {0}")]
    Unfixable(SeriesProblem),
    #[error("the volume would have {voxels} voxels, over the limit of {MAX_VOXELS}")]
    TooLarge { voxels: usize },
}

/// Assembles the instances of one series into a HU volume (see the module documentation).
pub fn load_series<P>(instances: &[P]) -> Result<LoadedSeries, VolumeError>
where
    P: Borrow<ParsedInstance> + Sync,
{
    load_series_into(instances, Vec::new())
}

/// [`load_series`] into `buffer`'s memory, for callers that load one series after another: a
/// fresh volume-sized allocation costs a page fault per 4 KiB on first write (some 40,000 for a
/// 512 x 512 x 300 series), kernel work that processes side by side contend on.
pub fn load_series_into<P>(instances: &[P], buffer: Vec<i16>) -> Result<LoadedSeries, VolumeError>
where
    P: Borrow<ParsedInstance> + Sync,
{
    let first = instances.first().ok_or(VolumeError::Empty)?.borrow();
    let series = &first.header.series_instance_uid;
    if instances.iter().any(|i| &i.borrow().header.series_instance_uid != series) {
        return Err(VolumeError::MixedSeries);
    }
    let infos = instances.iter().map(|i| PixelInfo::read(i.borrow())).collect::<Result<Vec<_>, _>>()?;
    let mut frames = Vec::new();
    for (index, instance) in instances.iter().enumerate() {
        read_frames(instance.borrow(), index, &mut frames)?;
    }
    let source_frames = frames.len();
    let reference = &frames[0];
    let (rows, columns) = (infos[reference.instance].rows, infos[reference.instance].columns);
    if infos.iter().any(|i| (i.rows, i.columns) != (rows, columns)) {
        return Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "matrix size (rows × columns)" }));
    }
    let pixel_spacing = reference.pixel_spacing;
    if frames.iter().any(|f| {
        (f.pixel_spacing[0] - pixel_spacing[0]).abs() > PIXEL_SPACING_TOLERANCE_MM
            || (f.pixel_spacing[1] - pixel_spacing[1]).abs() > PIXEL_SPACING_TOLERANCE_MM
    }) {
        return Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "pixel spacing" }));
    }
    let (row, column) = (reference.row, reference.column);
    let max_degrees =
        frames.iter().map(|f| angle_degrees(f.row, row).max(angle_degrees(f.column, column))).fold(0.0, f64::max);
    if max_degrees > ORIENTATION_TOLERANCE_DEGREES {
        return Err(VolumeError::Unfixable(SeriesProblem::InconsistentOrientation { max_degrees }));
    }
    let normal = normalise(cross(row, column));

    let mut problems = Vec::new();
    for f in &mut frames {
        f.distance = dot(f.position, normal);
    }
    frames.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| a.precedence(b)));
    let frames = drop_duplicates(frames, &mut problems);

    let thickness = median(frames.iter().filter_map(|f| f.thickness).collect());
    let spacing_xy = [pixel_spacing[1], pixel_spacing[0]];
    let plan = plan_grid(&frames, thickness, &mut problems)?;
    let shifts = plan_tilt(&frames, normal, row, column, spacing_xy, &mut problems);

    let plane = rows * columns;
    let slices = plan.targets.len();
    let voxels = slices
        .checked_mul(plane)
        .filter(|v| *v <= MAX_VOXELS)
        .ok_or(VolumeError::TooLarge { voxels: slices.saturating_mul(plane) })?;
    let direct = plan.direct && shifts.is_none();
    let mut out = buffer;
    out.clear();
    out.resize(voxels, 0);
    let decode = |frame: &Frame, chunk: &mut [i16]| {
        decode_frame(instances[frame.instance].borrow(), &infos[frame.instance], frame, chunk)
    };
    if direct {
        out.par_chunks_mut(plane.max(1)).zip(frames.par_iter()).try_for_each(|(chunk, frame)| decode(frame, chunk))?;
    } else {
        let mut decoded = vec![0i16; frames.len() * plane];
        decoded
            .par_chunks_mut(plane.max(1))
            .zip(frames.par_iter())
            .try_for_each(|(chunk, frame)| decode(frame, chunk))?;
        let sampler = Sampler { decoded: &decoded, plane, rows, columns, shifts: shifts.as_ref() };
        out.par_chunks_mut(plane.max(1))
            .zip(plan.targets.par_iter())
            .for_each(|(chunk, target)| sampler.fill(target, chunk));
    }

    let origin = match &shifts {
        // The in-plane grid of the middle slice, on the plane of the first slice.
        Some(tilt) => {
            let middle = &frames[tilt.reference];
            add(middle.position, scale(normal, frames[0].distance - middle.distance))
        }
        None => frames[0].position,
    };
    Ok(LoadedSeries {
        volume: Volume {
            voxels: out,
            slices,
            rows,
            columns,
            spacing: [spacing_xy[0], spacing_xy[1], plan.step],
            origin,
            direction: [row, column, normal],
        },
        problems,
        slice_thickness_mm: thickness,
        source_frames,
    })
}

/// One frame of one instance in Hounsfield units.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameHu {
    pub rows: usize,
    pub columns: usize,
    /// Row-major.
    pub values: Vec<i16>,
}

impl FrameHu {
    pub fn value_at(&self, x: usize, y: usize) -> Option<i16> {
        (x < self.columns && y < self.rows).then(|| self.values[y * self.columns + x])
    }
}

/// Frame `frame` (0-based) of one instance in HU, converted exactly as [`load_series`] converts
/// it (rescale, pixel representation, padding as air, the JPEG 2000 signedness rule, the clamp):
/// the one stored-value-to-HU conversion, so that the viewer's images and HU read-out agree with
/// the volume the screening model sees. Needs no geometry.
pub fn frame_hu(instance: &ParsedInstance, frame: u32) -> Result<FrameHu, VolumeError> {
    let info = PixelInfo::read(instance)?;
    let object: &InMemDicomObject = &instance.object;
    let group = |sequence: Tag| {
        let own = object.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()?.get(frame as usize));
        own.and_then(|o| item(o, sequence))
            .or_else(|| item(object, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|s| item(s, sequence)))
    };
    let (slope, intercept) = rescale(object, group(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE));
    let placement = Frame {
        instance: 0,
        frame,
        instance_number: instance.header.instance_number,
        position: [0.0; 3],
        row: [1.0, 0.0, 0.0],
        column: [0.0, 1.0, 0.0],
        pixel_spacing: [1.0, 1.0],
        thickness: None,
        slope,
        intercept,
        distance: 0.0,
    };
    let mut values = vec![0i16; info.rows * info.columns];
    decode_frame(instance, &info, &placement, &mut values)?;
    Ok(FrameHu { rows: info.rows, columns: info.columns, values })
}
