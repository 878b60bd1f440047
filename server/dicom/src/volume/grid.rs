//! The regular grid along the slice normal (missing slices, uneven spacing), the in-plane
//! shifts that undo a gantry tilt, and the sampler that builds each output slice.

use super::*;

pub(super) fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { 0.5 * (values[n / 2 - 1] + values[n / 2]) })
}

/// One output slice: one source frame, or two with weights.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Copy(usize),
    Blend { below: usize, above: usize, weight_above: f32 },
}

pub(super) struct GridPlan {
    pub(super) targets: Vec<Target>,
    pub(super) step: f64,
    /// Every target is the frame of the same index.
    pub(super) direct: bool,
}

/// The regular grid along the normal, and how each of its slices is made.
pub(super) fn plan_grid(
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
pub(super) struct TiltCorrection {
    pub(super) reference: usize,
    pub(super) shifts: Vec<[f64; 2]>,
}

pub(super) fn plan_tilt(
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
pub(super) struct Sampler<'a> {
    pub(super) decoded: &'a [i16],
    pub(super) plane: usize,
    pub(super) rows: usize,
    pub(super) columns: usize,
    pub(super) shifts: Option<&'a TiltCorrection>,
}

impl Sampler<'_> {
    pub(super) fn frame(&self, source: usize) -> &[i16] {
        &self.decoded[source * self.plane..(source + 1) * self.plane]
    }

    pub(super) fn shift(&self, source: usize) -> Option<[f64; 2]> {
        self.shifts.map(|t| t.shifts[source]).filter(|s| s[0] != 0.0 || s[1] != 0.0)
    }

    pub(super) fn fill(&self, target: &Target, out: &mut [i16]) {
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

    pub(super) fn each(&self, out: &mut [i16], mut f: impl FnMut(&mut i16, usize, usize)) {
        for (i, o) in out.iter_mut().enumerate() {
            f(o, i / self.columns, i % self.columns);
        }
    }

    /// Frame value at output pixel (y, x), i.e. at source (y - shift_y, x - shift_x), bilinear,
    /// air outside the frame.
    pub(super) fn at(&self, frame: &[i16], [sx, sy]: [f64; 2], y: usize, x: usize) -> f32 {
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
