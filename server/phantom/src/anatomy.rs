//! One patient's anatomy: the spec's shapes placed in millimetres (with the patient's body
//! size and organ jitter), painted slice by slice into a label map, and the lesions.

use super::rng::{Rng, stream};
use super::spec::{LesionRule, LesionShape, PhantomSpec, Sex, ShapeSpec};

/// The patient's body frame: normalised (u, v, w) to patient millimetres.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Body {
    pub half_width_mm: f64,
    pub half_depth_mm: f64,
    pub length_mm: f64,
    pub z_bottom_mm: f64,
}

impl Body {
    pub(crate) fn point(&self, [u, v, w]: [f64; 3]) -> [f64; 3] {
        [u * self.half_width_mm, v * self.half_depth_mm, self.z_bottom_mm + w * self.length_mm]
    }

    fn z(&self, w: f64) -> f64 {
        self.z_bottom_mm + w * self.length_mm
    }
}

/// Periodic presence along z: where frac((z - origin + descent * δ / 180) / period) < duty,
/// δ being the angle in degrees between the point's direction from the axis and +y
/// (posterior), so that with a descent the pattern slopes down towards the front like ribs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segmentation {
    period: f64,
    duty: f64,
    origin: f64,
    descent: f64,
}

impl Segmentation {
    fn present(&self, z: f64, dx: f64, dy: f64) -> bool {
        let mut shift = 0.0;
        if self.descent != 0.0 {
            let from_posterior = dx.atan2(dy).abs().to_degrees();
            shift = self.descent * from_posterior / 180.0;
        }
        ((z - self.origin + shift) / self.period).rem_euclid(1.0) < self.duty
    }

    /// Whether the pattern is the same all around the axis (then it is decided per slice).
    fn planar(&self) -> bool {
        self.descent == 0.0
    }
}

/// A shape in patient millimetres.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Ellipsoid {
        center: [f64; 3],
        radii: [f64; 3],
        cos: f64,
        sin: f64,
    },
    Cylinder {
        center: [f64; 2],
        radii: [f64; 2],
        inner: Option<[f64; 2]>,
        z: [f64; 2],
        period: Option<Segmentation>,
        /// (start, span), degrees
        sector: Option<(f64, f64)>,
    },
    Tube {
        segments: Vec<Segment>,
        radius: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    a: [f64; 3],
    ab: [f64; 3],
    len2: f64,
    z_min: f64,
    z_max: f64,
}

impl Segment {
    fn new(a: [f64; 3], b: [f64; 3]) -> Segment {
        let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        Segment { a, ab, len2: dot(ab, ab), z_min: a[2].min(b[2]), z_max: a[2].max(b[2]) }
    }

    fn distance2(&self, p: [f64; 3]) -> f64 {
        let ap = [p[0] - self.a[0], p[1] - self.a[1], p[2] - self.a[2]];
        let t = if self.len2 > 0.0 { (dot(ap, self.ab) / self.len2).clamp(0.0, 1.0) } else { 0.0 };
        let d = [ap[0] - t * self.ab[0], ap[1] - t * self.ab[1], ap[2] - t * self.ab[2]];
        dot(d, d)
    }
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Axis-aligned box in the axial plane, millimetres: [x_min, x_max, y_min, y_max].
pub(crate) type Box2 = [f64; 4];
/// Axis-aligned box in space: [min, max].
pub(crate) type Box3 = [[f64; 3]; 2];

/// A shape cut by one axial plane.
pub(crate) enum Section<'a> {
    Ellipse {
        cx: f64,
        cy: f64,
        rx: f64,
        ry: f64,
        cos: f64,
        sin: f64,
        /// Squared scale of the cut (1 at the equator), so that no radius is ever 0.
        t: f64,
        inner: Option<[f64; 2]>,
        sector: Option<(f64, f64)>,
        /// A segmentation that varies around the axis, with the plane's z.
        sloped: Option<(Segmentation, f64)>,
        bbox: Box2,
    },
    Tube {
        z: f64,
        radius2: f64,
        segments: Vec<&'a Segment>,
        bbox: Box2,
    },
}

impl Section<'_> {
    pub fn bbox(&self) -> Box2 {
        match self {
            Section::Ellipse { bbox, .. } | Section::Tube { bbox, .. } => *bbox,
        }
    }

    pub fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Section::Ellipse { cx, cy, rx, ry, cos, sin, t, inner, sector, sloped, .. } => {
                let dx = x - cx;
                let dy = y - cy;
                let lx = dx * cos + dy * sin;
                let ly = -dx * sin + dy * cos;
                if (lx / rx).powi(2) + (ly / ry).powi(2) > *t {
                    return false;
                }
                if let Some([ix, iy]) = inner
                    && (lx / ix).powi(2) + (ly / iy).powi(2) <= 1.0
                {
                    return false;
                }
                if let Some((start, span)) = sector {
                    let angle = dy.atan2(dx).to_degrees();
                    if (angle - start).rem_euclid(360.0) > *span {
                        return false;
                    }
                }
                if let Some((segmentation, z)) = sloped
                    && !segmentation.present(*z, dx, dy)
                {
                    return false;
                }
                true
            }
            Section::Tube { z, radius2, segments, .. } => segments.iter().any(|s| s.distance2([x, y, *z]) <= *radius2),
        }
    }
}

impl Shape {
    /// The cut of this shape at height `z`, if the plane meets it.
    pub fn section(&self, z: f64) -> Option<Section<'_>> {
        match self {
            Shape::Ellipsoid { center, radii, cos, sin } => {
                let dz = (z - center[2]) / radii[2];
                let t = 1.0 - dz * dz;
                if t < 0.0 {
                    return None;
                }
                let s = t.sqrt();
                let (ex, ey) = rotated_extent(radii[0] * s, radii[1] * s, *cos, *sin);
                Some(Section::Ellipse {
                    cx: center[0],
                    cy: center[1],
                    rx: radii[0],
                    ry: radii[1],
                    cos: *cos,
                    sin: *sin,
                    t,
                    inner: None,
                    sector: None,
                    sloped: None,
                    bbox: [center[0] - ex, center[0] + ex, center[1] - ey, center[1] + ey],
                })
            }
            Shape::Cylinder { center, radii, inner, z: [z0, z1], period, sector } => {
                if z < *z0 || z > *z1 {
                    return None;
                }
                let mut sloped = None;
                if let Some(segmentation) = period {
                    if !segmentation.planar() {
                        sloped = Some((*segmentation, z));
                    } else if !segmentation.present(z, 0.0, 0.0) {
                        return None;
                    }
                }
                Some(Section::Ellipse {
                    cx: center[0],
                    cy: center[1],
                    rx: radii[0],
                    ry: radii[1],
                    cos: 1.0,
                    sin: 0.0,
                    t: 1.0,
                    inner: *inner,
                    sector: *sector,
                    sloped,
                    bbox: [center[0] - radii[0], center[0] + radii[0], center[1] - radii[1], center[1] + radii[1]],
                })
            }
            Shape::Tube { segments, radius } => {
                let near: Vec<&Segment> =
                    segments.iter().filter(|s| z >= s.z_min - radius && z <= s.z_max + radius).collect();
                if near.is_empty() {
                    return None;
                }
                let mut bbox = [f64::MAX, f64::MIN, f64::MAX, f64::MIN];
                for s in &near {
                    for p in [s.a, [s.a[0] + s.ab[0], s.a[1] + s.ab[1], 0.0]] {
                        bbox[0] = bbox[0].min(p[0] - radius);
                        bbox[1] = bbox[1].max(p[0] + radius);
                        bbox[2] = bbox[2].min(p[1] - radius);
                        bbox[3] = bbox[3].max(p[1] + radius);
                    }
                }
                Some(Section::Tube { z, radius2: radius * radius, segments: near, bbox })
            }
        }
    }

    pub fn contains(&self, p: [f64; 3]) -> bool {
        self.section(p[2]).is_some_and(|s| s.contains(p[0], p[1]))
    }

    /// A box that holds the whole shape.
    pub fn bbox(&self) -> Box3 {
        match self {
            Shape::Ellipsoid { center, radii, cos, sin } => {
                let (ex, ey) = rotated_extent(radii[0], radii[1], *cos, *sin);
                [
                    [center[0] - ex, center[1] - ey, center[2] - radii[2]],
                    [center[0] + ex, center[1] + ey, center[2] + radii[2]],
                ]
            }
            Shape::Cylinder { center, radii, z, .. } => {
                [[center[0] - radii[0], center[1] - radii[1], z[0]], [center[0] + radii[0], center[1] + radii[1], z[1]]]
            }
            Shape::Tube { segments, radius } => {
                let mut b = [[f64::MAX; 3], [f64::MIN; 3]];
                for s in segments {
                    let end = [s.a[0] + s.ab[0], s.a[1] + s.ab[1], s.a[2] + s.ab[2]];
                    for p in [s.a, end] {
                        for i in 0..3 {
                            b[0][i] = b[0][i].min(p[i] - radius);
                            b[1][i] = b[1][i].max(p[i] + radius);
                        }
                    }
                }
                b
            }
        }
    }
}

/// Half extents of an ellipse with semi-axes (a, b) rotated by (cos, sin).
fn rotated_extent(a: f64, b: f64, cos: f64, sin: f64) -> (f64, f64) {
    (((a * cos).powi(2) + (b * sin).powi(2)).sqrt(), ((a * sin).powi(2) + (b * cos).powi(2)).sqrt())
}

/// One organ of one patient.
#[derive(Debug, Clone)]
pub(crate) struct Organ {
    pub name: String,
    pub label: u8,
    pub hu: f64,
    pub sd: f64,
    pub shapes: Vec<Shape>,
}

impl Organ {
    pub fn contains(&self, p: [f64; 3]) -> bool {
        self.shapes.iter().any(|s| s.contains(p))
    }

    pub fn bbox(&self) -> Box3 {
        let mut b = [[f64::MAX; 3], [f64::MIN; 3]];
        for s in &self.shapes {
            let sb = s.bbox();
            for i in 0..3 {
                b[0][i] = b[0][i].min(sb[0][i]);
                b[1][i] = b[1][i].max(sb[1][i]);
            }
        }
        b
    }
}

/// One patient's anatomy.
#[derive(Debug, Clone)]
pub(crate) struct Anatomy {
    pub body: Body,
    /// Non-background organs, in painting order.
    pub organs: Vec<Organ>,
    /// Mean HU and noise sd by label (background at 0).
    pub label_hu: [f64; 256],
    pub label_sd: [f64; 256],
}

/// Normal deviate scaled by `sd` and clamped to `range`.
fn clamped_normal(rng: &mut Rng, sd: f64, range: [f64; 2]) -> f64 {
    (1.0 + sd * rng.normal()).clamp(range[0], range[1])
}

impl Anatomy {
    pub fn build(spec: &PhantomSpec, seed: u64, patient: u32, sex: Sex, contrast: bool) -> Anatomy {
        let var = &spec.variation;
        let g = &spec.geometry;
        let mut rng = Rng::for_stream(seed, &[stream::BODY, u64::from(patient)]);
        let sx = clamped_normal(&mut rng, var.body_scale_sd, var.body_scale_range);
        let sy = clamped_normal(&mut rng, var.body_scale_sd, var.body_scale_range);
        let body = Body {
            half_width_mm: g.body_half_width_mm * sx,
            half_depth_mm: g.body_half_depth_mm * sy,
            length_mm: g.body_length_mm,
            z_bottom_mm: -g.body_length_mm,
        };

        let mut label_hu = [0f64; 256];
        let mut label_sd = [0f64; 256];
        let mut organs = Vec::new();
        for organ in &spec.organs {
            // Always draw the same numbers, jitter or not, so that streams stay aligned.
            let mut rng = Rng::for_stream(seed, &[stream::ORGAN, u64::from(patient), u64::from(organ.label)]);
            let hu = organ.mean_hu(contrast) + organ.hu_jitter * rng.normal();
            let shift = [rng.normal(), rng.normal(), rng.normal()].map(|d| d * var.position_jitter);
            let scale = clamped_normal(&mut rng, var.size_sd, var.size_range);
            let (shift, scale) = if organ.jitter { (shift, scale) } else { ([0.0; 3], 1.0) };
            label_hu[usize::from(organ.label)] = hu;
            label_sd[usize::from(organ.label)] = organ.sd;
            if organ.label == 0 {
                continue;
            }
            let shapes = organ.shapes.iter().map(|s| place_shape(s, &body, shift, scale, sex)).collect();
            organs.push(Organ { name: organ.name.clone(), label: organ.label, hu, sd: organ.sd, shapes });
        }
        Anatomy { body, organs, label_hu, label_sd }
    }

    pub fn organ(&self, name: &str) -> Option<&Organ> {
        self.organs.iter().find(|o| o.name == name)
    }

    /// The label at a point: the last-painted organ containing it.
    pub fn label_at(&self, p: [f64; 3]) -> u8 {
        self.organs.iter().rev().find(|o| o.contains(p)).map_or(0, |o| o.label)
    }

    /// Paints the organs cut by the plane `z` into `labels` (row-major, `grid` sized),
    /// which must hold the background label beforehand.
    pub fn paint(&self, z: f64, grid: &Grid, labels: &mut [u8]) {
        for organ in &self.organs {
            for shape in &organ.shapes {
                let Some(section) = shape.section(z) else {
                    continue;
                };
                grid.for_each_in(section.bbox(), |index, x, y| {
                    if section.contains(x, y) {
                        labels[index] = organ.label;
                    }
                });
            }
        }
    }
}

fn place_shape(shape: &ShapeSpec, body: &Body, shift: [f64; 3], scale: f64, sex: Sex) -> Shape {
    let [du, dv, dw] = shift;
    match shape {
        ShapeSpec::Ellipsoid { center, radii, rotate_deg, male_scale } => {
            let scale = scale * if sex == Sex::M { *male_scale } else { 1.0 };
            let c = body.point([center[0] + du, center[1] + dv, center[2] + dw]);
            let r = [
                radii[0] * body.half_width_mm * scale,
                radii[1] * body.half_depth_mm * scale,
                radii[2] * body.length_mm * scale,
            ];
            let (sin, cos) = rotate_deg.to_radians().sin_cos();
            Shape::Ellipsoid { center: c, radii: r, cos, sin }
        }
        ShapeSpec::Cylinder { center, radii, w, inner, period_mm, duty, descent_mm, sector_deg } => Shape::Cylinder {
            center: [(center[0] + du) * body.half_width_mm, (center[1] + dv) * body.half_depth_mm],
            radii: [radii[0] * body.half_width_mm * scale, radii[1] * body.half_depth_mm * scale],
            inner: inner.map(|[iu, iv]| [iu * body.half_width_mm * scale, iv * body.half_depth_mm * scale]),
            z: [body.z(w[0] + dw), body.z(w[1] + dw)],
            period: period_mm.map(|period| Segmentation {
                period,
                duty: *duty,
                origin: body.z_bottom_mm,
                descent: *descent_mm,
            }),
            sector: sector_deg.map(|[a0, a1]| (a0, a1 - a0)),
        },
        ShapeSpec::Tube { points, radius_mm } => {
            let pts: Vec<[f64; 3]> = points.iter().map(|p| body.point([p[0] + du, p[1] + dv, p[2] + dw])).collect();
            Shape::Tube {
                segments: pts.windows(2).map(|w| Segment::new(w[0], w[1])).collect(),
                radius: radius_mm * scale,
            }
        }
    }
}

/// The pixel grid of one axial slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub rows: usize,
    pub columns: usize,
    /// Centre of the first pixel, millimetres.
    pub x0: f64,
    pub y0: f64,
    /// Distance between columns (along x) and between rows (along y).
    pub dx: f64,
    pub dy: f64,
}

impl Grid {
    /// Calls `f(index, x, y)` for the pixels whose centres lie in `bbox`.
    pub fn for_each_in(&self, bbox: Box2, mut f: impl FnMut(usize, f64, f64)) {
        let Some((c0, c1)) = index_range(bbox[0], bbox[1], self.x0, self.dx, self.columns) else {
            return;
        };
        let Some((r0, r1)) = index_range(bbox[2], bbox[3], self.y0, self.dy, self.rows) else {
            return;
        };
        for r in r0..=r1 {
            let y = self.y0 + r as f64 * self.dy;
            let row = r * self.columns;
            for c in c0..=c1 {
                f(row + c, self.x0 + c as f64 * self.dx, y);
            }
        }
    }
}

/// The inclusive index range of grid points `origin + i * step` within [lo, hi].
fn index_range(lo: f64, hi: f64, origin: f64, step: f64, n: usize) -> Option<(usize, usize)> {
    let first = ((lo - origin) / step).ceil().max(0.0);
    let last = ((hi - origin) / step).floor().min(n as f64 - 1.0);
    if first > last || !first.is_finite() || !last.is_finite() {
        return None;
    }
    Some((first as usize, last as usize))
}

/// A lesion placed in one patient.
#[derive(Debug, Clone)]
pub(crate) struct Lesion {
    pub organ: String,
    pub class: String,
    pub shape: LesionShape,
    pub host_label: u8,
    /// Labels the lesion replaces: its organ's, and those of `grow_into`.
    pub replaces: Vec<u8>,
    pub centre: [f64; 3],
    pub radius: f64,
    /// Spheres whose union is the lesion (one for a sphere), (centre, radius).
    pub lobes: Vec<([f64; 3], f64)>,
    pub organ_hu: f64,
    pub hu_offset: f64,
    pub sd: f64,
}

impl Lesion {
    pub fn mean_hu(&self) -> f64 {
        self.organ_hu + self.hu_offset
    }

    /// This lesion scaled about its centre by `factor` (its lobes too, so the shape is kept):
    /// the same lesion in a later study.
    pub fn grown(mut self, factor: f64) -> Lesion {
        if factor == 1.0 {
            // Bit for bit as placed (c + 1.0 * (l - c) need not round back to l).
            return self;
        }
        let c = self.centre;
        self.radius *= factor;
        for (centre, radius) in &mut self.lobes {
            *centre = [0, 1, 2].map(|i| c[i] + factor * (centre[i] - c[i]));
            *radius *= factor;
        }
        self
    }

    pub fn contains(&self, p: [f64; 3]) -> bool {
        self.lobes.iter().any(|(c, r)| {
            let d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
            dot(d, d) <= r * r
        })
    }

    /// Paints this lesion into one slice: label and HU (from the unit noise `noise`).
    pub fn paint(&self, z: f64, grid: &Grid, lesion_label: u8, labels: &mut [u8], hu: &mut [f32], noise: &[f32]) {
        if (z - self.centre[2]).abs() > self.radius {
            return;
        }
        let [cx, cy, _] = self.centre;
        let r = self.radius;
        let mean = self.mean_hu() as f32;
        let sd = self.sd as f32;
        grid.for_each_in([cx - r, cx + r, cy - r, cy + r], |i, x, y| {
            if self.replaces.contains(&labels[i]) && self.contains([x, y, z]) {
                labels[i] = lesion_label;
                hu[i] = mean + sd * noise[i];
            }
        });
    }
}

/// Why a lesion could not be placed.
pub(crate) enum PlacementFailure {
    NotInScan,
    NoRoom,
}

/// The 26 probe directions: {-1, 0, 1}^3 without the origin, normalised.
pub(crate) fn probe_directions() -> Vec<[f64; 3]> {
    let mut dirs = Vec::with_capacity(26);
    for i in -1i32..=1 {
        for j in -1i32..=1 {
            for k in -1i32..=1 {
                if (i, j, k) == (0, 0, 0) {
                    continue;
                }
                let v = [f64::from(i), f64::from(j), f64::from(k)];
                let n = dot(v, v).sqrt();
                dirs.push(v.map(|c| c / n));
            }
        }
    }
    dirs
}

pub(crate) const PLACEMENT_TRIES: usize = 4000;

/// Places one lesion of `diameter_mm` by `rule` in `anatomy`, within the scanned z range
/// `[z_min, z_max]`, away from the lesions already placed.
#[expect(clippy::too_many_arguments, reason = "a private helper with distinct inputs")]
pub(crate) fn place_lesion(
    spec: &PhantomSpec,
    anatomy: &Anatomy,
    rule: &LesionRule,
    diameter_mm: f64,
    contrast: bool,
    z_range: [f64; 2],
    placed: &[Lesion],
    rng: &mut Rng,
) -> Result<Lesion, PlacementFailure> {
    let host = anatomy.organ(&rule.organ).ok_or(PlacementFailure::NoRoom)?;
    let probes = probe_directions();
    let needed = (rule.min_inside * probes.len() as f64).ceil() as usize;
    let radius = diameter_mm / 2.0;
    let fits = |c: [f64; 3]| {
        let inside = probes
            .iter()
            .filter(|d| {
                let p = [0, 1, 2].map(|i| c[i] + radius * d[i]);
                anatomy.label_at(p) == host.label
            })
            .count();
        inside >= needed
    };
    place_lesion_with(spec, anatomy, rule, diameter_mm, contrast, z_range, placed, rng, &Placement::new(&fits))
}

/// How [`place_lesion_with`] accepts a centre, beyond lying in the host organ, in the scan and
/// clear of the lesions already placed.
pub(crate) struct Placement<'a> {
    /// Whether the lesion may sit at this centre.
    pub fits: &'a dyn Fn([f64; 3]) -> bool,
    /// Centres drawn before giving up.
    pub tries: usize,
    /// Least distance (mm) kept between the lesion and those already placed.
    pub gap_mm: f64,
    /// Labels the lesion replaces besides its host organ and the rule's `grow_into`.
    pub grow_into: Vec<u8>,
}

impl<'a> Placement<'a> {
    pub fn new(fits: &'a dyn Fn([f64; 3]) -> bool) -> Placement<'a> {
        Placement { fits, tries: PLACEMENT_TRIES, gap_mm: 0.0, grow_into: Vec::new() }
    }
}

/// [`place_lesion`] with its acceptance test given: the centre is drawn uniformly in the host
/// organ's bounding box (within the scan), the same draws in the same order for the same
/// stream whatever `placement` says.
#[expect(clippy::too_many_arguments, reason = "a private helper with distinct inputs")]
pub(crate) fn place_lesion_with(
    spec: &PhantomSpec,
    anatomy: &Anatomy,
    rule: &LesionRule,
    diameter_mm: f64,
    contrast: bool,
    z_range: [f64; 2],
    placed: &[Lesion],
    rng: &mut Rng,
    placement: &Placement<'_>,
) -> Result<Lesion, PlacementFailure> {
    let host = anatomy.organ(&rule.organ).ok_or(PlacementFailure::NoRoom)?;
    let radius = diameter_mm / 2.0;
    let mut bbox = host.bbox();
    bbox[0][2] = bbox[0][2].max(z_range[0] + radius);
    bbox[1][2] = bbox[1][2].min(z_range[1] - radius);
    if bbox[0][2] > bbox[1][2] {
        return Err(PlacementFailure::NotInScan);
    }
    let mut centre = None;
    for _ in 0..placement.tries {
        let c = [0, 1, 2].map(|i| rng.range(bbox[0][i], bbox[1][i]));
        if anatomy.label_at(c) != host.label {
            continue;
        }
        if placed.iter().any(|l| {
            let d = [c[0] - l.centre[0], c[1] - l.centre[1], c[2] - l.centre[2]];
            dot(d, d).sqrt() < l.radius + radius + placement.gap_mm
        }) {
            continue;
        }
        if (placement.fits)(c) {
            centre = Some(c);
            break;
        }
    }
    let centre = centre.ok_or(PlacementFailure::NoRoom)?;

    let shape = rule.shapes[rng.below(rule.shapes.len() as u64) as usize];
    let mut lobes = Vec::new();
    match shape {
        LesionShape::Sphere => lobes.push((centre, radius)),
        LesionShape::Lobulated => {
            // A core of 0.7 R and 3 to 5 lobules of 0.35..0.5 R touching the bounding sphere.
            lobes.push((centre, 0.7 * radius));
            let n = 3 + rng.below(3);
            for _ in 0..n {
                let r = radius * rng.range(0.35, 0.5);
                let d = rng.unit_vector();
                let c = [0, 1, 2].map(|i| centre[i] + (radius - r) * d[i]);
                lobes.push((c, r));
            }
        }
    }
    let [lo, hi] = rule.offset_range(contrast);
    let hu_offset = rng.range(lo, hi);
    let mut replaces = vec![host.label];
    for name in &rule.grow_into {
        if let Some(o) = spec.organ(name) {
            replaces.push(o.label);
        }
    }
    for &label in &placement.grow_into {
        if !replaces.contains(&label) {
            replaces.push(label);
        }
    }
    Ok(Lesion {
        organ: rule.organ.clone(),
        class: rule.class.clone(),
        shape,
        host_label: host.label,
        replaces,
        centre,
        radius,
        lobes,
        organ_hu: host.hu,
        hu_offset,
        sd: host.sd,
    })
}
