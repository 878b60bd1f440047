//! The frames of a series as placed in space: geometry and rescale read from each instance
//! (per-frame functional groups, shared groups, top-level attributes), and one frame per position.

use super::*;

/// One frame to place: where it is and how its values become HU.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// Index into the instances.
    pub(super) instance: usize,
    pub(super) frame: u32,
    pub(super) instance_number: Option<i32>,
    pub(super) position: [f64; 3],
    pub(super) row: [f64; 3],
    pub(super) column: [f64; 3],
    /// PixelSpacing as written: row spacing (between rows), column spacing.
    pub(super) pixel_spacing: [f64; 2],
    pub(super) thickness: Option<f64>,
    pub(super) slope: f64,
    pub(super) intercept: f64,
    /// Projection of the position on the series' normal.
    pub(super) distance: f64,
}

impl Frame {
    /// Which of two frames at one position is kept: the lower InstanceNumber (present before
    /// absent), then input order, then frame number.
    pub(super) fn precedence(&self, other: &Frame) -> std::cmp::Ordering {
        let number = |f: &Frame| (f.instance_number.is_none(), f.instance_number);
        number(self).cmp(&number(other)).then(self.instance.cmp(&other.instance)).then(self.frame.cmp(&other.frame))
    }
}

pub(super) fn sop(instance: &ParsedInstance) -> String {
    instance.header.sop_instance_uid.to_string()
}

/// The first item of a sequence attribute.
pub(super) fn item(object: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    object.get(tag)?.items()?.first()
}

pub(super) fn float(object: &InMemDicomObject, tag: Tag) -> Option<f64> {
    object.get(tag)?.to_float64().ok().filter(|v| v.is_finite())
}

pub(super) fn floats<const N: usize>(object: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    let values: [f64; N] = object.get(tag)?.to_multi_float64().ok()?.try_into().ok()?;
    values.iter().all(|v| v.is_finite()).then_some(values)
}

pub(super) fn int(object: &InMemDicomObject, tag: Tag) -> Option<i32> {
    let element = object.get(tag)?;
    if dicom_core::header::HasLength::is_empty(element) {
        return None;
    }
    element.to_int::<i32>().ok()
}

/// Reads the frames of one instance: per-frame functional groups first, then the shared ones,
/// then (single-frame images) the top-level attributes.
pub(super) fn read_frames(instance: &ParsedInstance, index: usize, out: &mut Vec<Frame>) -> Result<(), VolumeError> {
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
pub(super) fn rescale(object: &InMemDicomObject, transformation: Option<&InMemDicomObject>) -> (f64, f64) {
    let slope =
        transformation.and_then(|g| float(g, tags::RESCALE_SLOPE)).or_else(|| float(object, tags::RESCALE_SLOPE));
    let intercept = transformation
        .and_then(|g| float(g, tags::RESCALE_INTERCEPT))
        .or_else(|| float(object, tags::RESCALE_INTERCEPT));
    (slope.unwrap_or(1.0), intercept.unwrap_or(0.0))
}

/// Keeps one frame per position: of frames within [`DUPLICATE_TOLERANCE_MM`] of the first of
/// their group (the frames are sorted along the normal), the first by [`Frame::precedence`].
pub(super) fn drop_duplicates(frames: Vec<Frame>, problems: &mut Vec<SeriesProblem>) -> Vec<Frame> {
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
