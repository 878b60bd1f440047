//! The primary lesion: its region, longest axial diameter and the structures it touches.

use std::collections::HashSet;

use crate::body::{Body, LUNG_HU};
use crate::grid::{Grid, axial_feret};
use crate::{MIN_LESION_CONTRAST_HU, OrganKind, PrimaryHint};

/// The search ball's radius is this times the hint's radius, plus two voxels.
const BALL_FACTOR: f64 = 1.25;
/// Hint diameter assumed when the finding gives none (mm).
const DEFAULT_DIAMETER_MM: f64 = 30.0;
/// Mean HU of fat, for the lesion/fat threshold of solid-organ lesions.
const FAT_MEAN_HU: f64 = -100.0;
/// A ray longer than this times the median ray ran on past the lesion.
const OUTLIER_RADIUS: f64 = 1.4;
/// Rays per half turn in the axial plane.
const RAYS: usize = 36;
/// Voxels above this are not fat (HU).
pub(crate) const NOT_FAT_HU: i16 = -30;
/// The aorta with contrast (HU).
const AORTA_HU: [i16; 2] = [160, 235];

/// The primary lesion as found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Primary {
    pub voxels: HashSet<u32>,
    /// The hint's centre, fractional voxel index, and patient position.
    pub centre: [f64; 3],
    pub hint_mm: [f64; 3],
    /// Findings within this distance (mm) of the centre belong to the primary.
    pub exclusion_mm: f64,
    pub long_axis_mm: Option<f64>,
    pub center_mm: Option<[f64; 3]>,
    pub invasion: Vec<String>,
}

impl Primary {
    /// Whether a point (fractional voxel index) belongs to the primary lesion.
    pub fn holds(&self, grid: &Grid<'_>, p: [f64; 3]) -> bool {
        grid.distance_mm(self.centre, p) <= self.exclusion_mm
            || grid.nearest(p).is_some_and(|i| self.voxels.contains(&(i as u32)))
    }
}

/// A region grown from the hint.
struct Region {
    voxels: Vec<u32>,
    /// Voxels beyond the lesion (where it ran into a neighbour); empty when it did not.
    contact: Vec<u32>,
    long_axis: Option<f64>,
    /// Distance (mm) from the centre within which the lesion lies.
    reach: f64,
}

pub(crate) fn measure(
    grid: &Grid<'_>,
    body: &Body,
    smooth: &[f32],
    hint: &PrimaryHint,
    kind: OrganKind,
    notes: &mut Vec<String>,
) -> Primary {
    let centre = grid.view.patient_to_voxel(hint.center_mm);
    let mut primary = Primary { centre, hint_mm: hint.center_mm, ..Primary::default() };
    if hint.center_mm.iter().any(|c| !c.is_finite()) {
        primary.hint_mm = [0.0; 3];
        return primary;
    }
    let diameter = hint.diameter_mm.filter(|d| d.is_finite() && *d > 0.0).unwrap_or_else(|| {
        notes.push(format!("no diameter in the hint: a {DEFAULT_DIAMETER_MM} mm lesion is assumed for the search"));
        DEFAULT_DIAMETER_MM
    });
    primary.exclusion_mm = diameter / 2.0;
    let region = match kind {
        OrganKind::Lung => grow(grid, centre, diameter, &|i| grid.hu(i) > LUNG_HU, &|i| !body.outside[i], false),
        OrganKind::Solid => {
            let Some([low, high]) = solid_window(grid, centre, diameter, notes) else {
                notes.push("the primary lesion could not be told from its surroundings".into());
                if let Some(aorta) = aorta(grid, body) {
                    // Without a region, contact is judged on the hint's sphere.
                    let mut sphere = HashSet::new();
                    for_each_within(grid, centre, diameter / 2.0, |i, _| {
                        sphere.insert(i as u32);
                    });
                    if touches(grid, &sphere, &aorta) {
                        primary.invasion.push("aorta".into());
                    }
                }
                return primary;
            };
            grow(grid, centre, diameter, &|i| (low..=high).contains(&smooth[i]), &|i| !body.outside[i], true)
        }
    };
    let Some(region) = region else {
        notes.push("nothing at the hint's centre looks like the primary lesion".into());
        return primary;
    };
    primary.long_axis_mm = region.long_axis;
    primary.exclusion_mm = region.reach + grid.coarsest();
    let n = region.voxels.len().max(1) as f64;
    let mut sum = [0.0; 3];
    for &i in &region.voxels {
        let c = grid.fcoords(i as usize);
        for a in 0..3 {
            sum[a] += c[a];
        }
    }
    primary.center_mm = Some(grid.view.voxel_to_patient(sum.map(|s| s / n)));
    primary.voxels = region.voxels.iter().copied().collect();

    match kind {
        OrganKind::Lung => {
            if !region.contact.is_empty() {
                let structure = lung_contact(grid, body, &primary, &region.contact);
                notes.push(format!("the lung lesion abuts the {structure} (no aerated lung between them)"));
                primary.invasion.push(structure.to_owned());
            }
        }
        OrganKind::Solid => match aorta(grid, body) {
            Some(aorta) => {
                if touches(grid, &primary.voxels, &aorta) {
                    primary.invasion.push("aorta".into());
                }
            }
            None => {
                notes.push("vessel contact not assessed: no contrast-enhanced aorta in the volume".into());
                // Without contrast a solid-organ lesion differs from its parenchyma by a few
                // noise standard deviations only (8..30 HU in the phantoms): not sized.
                if primary.long_axis_mm.take().is_some() {
                    notes.push("no contrast: the solid-organ primary is not sized (use the screening diameter)".into());
                }
            }
        },
    }
    primary
}

/// The smoothed-HU window of a solid-organ lesion: from the midpoint to fat to the midpoint
/// to the surrounding parenchyma.
fn solid_window(grid: &Grid<'_>, centre: [f64; 3], diameter: f64, notes: &mut Vec<String>) -> Option<[f32; 2]> {
    let radius = diameter / 2.0;
    let h = grid.coarsest();
    let core_radius = (0.6 * radius).max(1.01 * h);
    let mut core = Vec::new();
    let mut shell = Vec::new();
    for_each_within(grid, centre, radius + 3.0 * h, |i, d| {
        if d <= core_radius {
            core.push(f32::from(grid.hu(i)));
        } else if d >= radius + h {
            shell.push(f32::from(grid.hu(i)));
        }
    });
    // The lesion is the darker tissue of its core (fat aside): the mode of the darker half.
    core.retain(|&v| v > f32::from(NOT_FAT_HU));
    core.sort_by(f32::total_cmp);
    core.truncate(core.len().div_ceil(2));
    let lesion = f64::from(mode(&core)?);
    let host: Vec<f32> =
        shell.into_iter().filter(|&v| f64::from(v) > lesion + 8.0 && f64::from(v) < lesion + 150.0).collect();
    let host = match mode(&host) {
        Some(v) if host.len() >= 10 => f64::from(v),
        _ => {
            notes.push("little parenchyma around the primary: its threshold assumes a 25 HU contrast".into());
            lesion + 25.0
        }
    };
    if host - lesion < MIN_LESION_CONTRAST_HU {
        notes.push(format!(
            "the primary lesion differs from its parenchyma by {:.0} HU only: its size is not measured",
            host - lesion
        ));
        return None;
    }
    Some([((lesion + FAT_MEAN_HU) / 2.0) as f32, ((lesion + host) / 2.0) as f32])
}

/// The most common HU (5 HU bins, each counted with two neighbours either side), robust to a
/// sample that holds some of another tissue; the mean of the values in the winning bins.
fn mode(values: &[f32]) -> Option<f32> {
    let key = |v: f32| (v / 5.0).floor() as i64;
    let mut counts: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
    for &v in values.iter().filter(|v| v.is_finite()) {
        *counts.entry(key(v)).or_default() += 1;
    }
    let score = |k: i64| (k - 2..=k + 2).map(|j| counts.get(&j).copied().unwrap_or(0)).sum::<usize>();
    let best = counts.keys().copied().max_by_key(|&k| (score(k), std::cmp::Reverse(k)))?;
    let near: Vec<f32> = values.iter().copied().filter(|&v| (key(v) - best).abs() <= 2).collect();
    Some(near.iter().sum::<f32>() / near.len().max(1) as f32)
}

/// Calls `f(index, distance mm)` for the voxels within `radius` mm of `centre`.
pub(crate) fn for_each_within(grid: &Grid<'_>, centre: [f64; 3], radius: f64, mut f: impl FnMut(usize, f64)) {
    let dims = [grid.nz, grid.ny, grid.nx];
    let range = |a: usize| {
        let lo = (centre[a] - radius / grid.s[a]).floor().max(0.0);
        let hi = (centre[a] + radius / grid.s[a]).ceil().min(dims[a] as f64 - 1.0);
        if hi < lo { 0..0 } else { lo as usize..hi as usize + 1 }
    };
    for z in range(0) {
        for y in range(1) {
            for x in range(2) {
                let p = [z as f64, y as f64, x as f64];
                let d = grid.distance_mm(centre, p);
                if d <= radius {
                    f(grid.index([z, y, x]), d);
                }
            }
        }
    }
}

/// Grows the lesion from the voxel nearest `centre` where `inside` holds, within the
/// search ball; `open` removes sheets up to two voxels thick first (partial-volume rims of
/// other organs that share the lesion's HU). A ray measuring the lesion may end only where
/// `may_end` holds (not in the air outside the body).
fn grow(
    grid: &Grid<'_>,
    centre: [f64; 3],
    diameter: f64,
    inside: &dyn Fn(usize) -> bool,
    may_end: &dyn Fn(usize) -> bool,
    open: bool,
) -> Option<Region> {
    let h = grid.coarsest();
    let ball = BALL_FACTOR * diameter / 2.0 + 2.0 * h;
    let mut seed: Option<(f64, usize)> = None;
    for_each_within(grid, centre, (0.3 * diameter).max(1.5 * h), |i, d| {
        if inside(i) && seed.is_none_or(|(b, _)| d < b) {
            seed = Some((d, i));
        }
    });
    let (_, seed) = seed?;
    let within = |i: usize| grid.distance_mm(centre, grid.fcoords(i)) <= ball;
    let limit = (4.0 / 3.0 * std::f64::consts::PI * ball.powi(3) / grid.voxel_volume()) as usize + 1000;
    let (mut voxels, _) = grid.grow(seed, |i| within(i) && inside(i), limit);
    if open {
        voxels = opened(grid, &voxels, seed)?;
    }
    let distance = |i: u32| grid.distance_mm(centre, grid.fcoords(i as usize));
    let reaches_ball = voxels.iter().any(|&i| distance(i) > ball - h);
    if !reaches_ball {
        let reach = voxels.iter().map(|&i| distance(i)).fold(0.0, f64::max);
        return Some(Region { long_axis: Some(axial_feret(grid, &voxels)), voxels, contact: Vec::new(), reach });
    }
    // It ran into a neighbour: measure along rays, which stop where the lesion does.
    // From the centroid of the region's part within the hint's radius: the visible lesion
    // (part of it may be hidden behind a neighbour that it does not replace).
    let near: Vec<[f64; 3]> =
        voxels.iter().filter(|&&i| distance(i) <= diameter / 2.0).map(|&i| grid.fcoords(i as usize)).collect();
    let mut start = centre;
    if !near.is_empty() {
        let n = near.len() as f64;
        start = [0, 1, 2].map(|a| near.iter().map(|p| p[a]).sum::<f64>() / n);
    }
    if !grid.nearest(start).is_some_and(inside) {
        start = grid.fcoords(seed);
    }
    let mut radii = Vec::new();
    let mut pairs = Vec::new();
    // Solid organs: neighbours of the lesion's HU (bowel, muscle) let some rays run on past
    // it; the median radius is robust to them. Lung: the longest pair that both end in lung.
    for dz in [-1.0, 0.0, 1.0] {
        let z = start[0].round() + dz;
        for k in 0..RAYS {
            let angle = std::f64::consts::PI * k as f64 / RAYS as f64;
            let (sin, cos) = angle.sin_cos();
            let forward = ray(grid, [z, start[1], start[2]], [sin, cos], ball, inside, may_end);
            let backward = ray(grid, [z, start[1], start[2]], [-sin, -cos], ball, inside, may_end);
            if dz == 0.0 {
                radii.extend(forward.into_iter().chain(backward));
            }
            if let (Some(a), Some(b)) = (forward, backward) {
                pairs.push((a, b));
            }
        }
    }
    radii.sort_by(f64::total_cmp);
    let reach = radii.get(radii.len() / 2).copied().unwrap_or(diameter / 2.0);
    let long = if open {
        (!radii.is_empty()).then_some(2.0 * reach)
    } else {
        pairs.iter().filter(|(a, b)| a.max(*b) <= OUTLIER_RADIUS * reach).map(|(a, b)| a + b).reduce(f64::max)
    };
    let (lesion, contact): (Vec<u32>, Vec<u32>) = voxels.into_iter().partition(|&i| distance(i) <= reach + h);
    Some(Region { voxels: lesion, contact, long_axis: long, reach })
}

/// Distance (mm) along an axial ray from `start` (fractional index) in direction (y, x) to
/// where `inside` stops holding; `None` when it still holds at `limit` mm, or stops where the
/// ray may not end (outside the volume or where `may_end` fails).
fn ray(
    grid: &Grid<'_>,
    start: [f64; 3],
    dir: [f64; 2],
    limit: f64,
    inside: &dyn Fn(usize) -> bool,
    may_end: &dyn Fn(usize) -> bool,
) -> Option<f64> {
    let step = 0.25 * grid.s[1].min(grid.s[2]);
    let steps = (limit / step).ceil() as usize;
    for k in 1..=steps {
        let t = k as f64 * step;
        let p = [start[0], start[1] + t * dir[0] / grid.s[1], start[2] + t * dir[1] / grid.s[2]];
        let i = grid.nearest(p)?;
        if !inside(i) {
            return may_end(i).then_some(t - step / 2.0);
        }
    }
    None
}

/// The part of `voxels` connected to `seed` (or to the voxel nearest it) that survives a
/// morphological opening by the 6-neighbour cross: voxels with all six neighbours in the
/// region, and the region's voxels next to them.
fn opened(grid: &Grid<'_>, voxels: &[u32], seed: usize) -> Option<Vec<u32>> {
    let set: HashSet<u32> = voxels.iter().copied().collect();
    let core: HashSet<u32> = voxels
        .iter()
        .copied()
        .filter(|&i| {
            let n: Vec<usize> = grid.neighbours6(i as usize).collect();
            n.len() == 6 && n.iter().all(|&j| set.contains(&(j as u32)))
        })
        .collect();
    let mut kept: HashSet<u32> = core.clone();
    for &i in &core {
        kept.extend(grid.neighbours6(i as usize).map(|j| j as u32).filter(|j| set.contains(j)));
    }
    let start = grid.fcoords(seed);
    let seed = kept.iter().copied().min_by(|&a, &b| {
        let da = grid.distance_mm(start, grid.fcoords(a as usize));
        let db = grid.distance_mm(start, grid.fcoords(b as usize));
        da.total_cmp(&db).then(a.cmp(&b))
    })?;
    let (region, _) = grid.grow(seed as usize, |i| kept.contains(&(i as u32)), kept.len() + 1);
    Some(region)
}

/// Which structure a lung lesion's contact voxels belong to.
fn lung_contact(grid: &Grid<'_>, body: &Body, primary: &Primary, contact: &[u32]) -> &'static str {
    let n = contact.len().max(1) as f64;
    let mut sum = [0.0; 3];
    for &i in contact {
        let c = grid.fcoords(i as usize);
        for a in 0..3 {
            sum[a] += c[a];
        }
    }
    let centroid = sum.map(|s| s / n);
    let p = grid.view.voxel_to_patient(centroid);
    let depth = body.radius(centroid[0].round().max(0.0) as usize, p);
    let medial = (p[0] - body.midline_x).abs() < (primary.hint_mm[0] - body.midline_x).abs() - 5.0;
    if depth >= 0.7 || !medial { "chest_wall" } else { "mediastinum" }
}

/// The contrast-enhanced aorta, if the volume has one.
fn aorta(grid: &Grid<'_>, body: &Body) -> Option<HashSet<u32>> {
    let mut best: Option<Vec<u32>> = None;
    let plane_mm2 = grid.s[1] * grid.s[2];
    grid.components(
        |i| (AORTA_HU[0]..=AORTA_HU[1]).contains(&grid.hu(i)),
        |voxels| {
            if voxels.len() < 50 || best.as_ref().is_some_and(|b| b.len() >= voxels.len()) {
                return;
            }
            // Per slice: count, bounding box, centroid x.
            let mut per: std::collections::BTreeMap<usize, (usize, [usize; 4], f64)> = Default::default();
            for &i in voxels {
                let [z, y, x] = grid.coords(i as usize);
                let e = per.entry(z).or_insert((0, [y, y, x, x], 0.0));
                e.0 += 1;
                e.1 = [e.1[0].min(y), e.1[1].max(y), e.1[2].min(x), e.1[3].max(x)];
                e.2 += x as f64;
            }
            if (per.len() as f64) < 0.6 * grid.nz as f64 {
                return;
            }
            let mut extents: Vec<f64> = per
                .values()
                .map(|(_, b, _)| ((b[1] - b[0] + 1) as f64 * grid.s[1]).max((b[3] - b[2] + 1) as f64 * grid.s[2]))
                .collect();
            let mut offsets: Vec<f64> = per
                .iter()
                .map(|(&z, (count, b, sx))| {
                    let p = grid.view.voxel_to_patient([z as f64, (b[0] + b[1]) as f64 / 2.0, sx / *count as f64]);
                    (p[0] - body.midline_x).abs()
                })
                .collect();
            let mut areas: Vec<f64> = per.values().map(|(c, _, _)| *c as f64 * plane_mm2).collect();
            let med = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            if med(&mut extents) <= 50.0 && med(&mut offsets) <= 45.0 && (100.0..=2000.0).contains(&med(&mut areas)) {
                best = Some(voxels.to_vec());
            }
        },
    );
    best.map(|v| v.into_iter().collect())
}

/// Whether the lesion touches `structure` with no fat between: a structure voxel is a
/// 6-neighbour of the lesion, or of a non-fat voxel that is one.
fn touches(grid: &Grid<'_>, lesion: &HashSet<u32>, structure: &HashSet<u32>) -> bool {
    lesion.iter().any(|&p| {
        grid.neighbours6(p as usize).any(|q| {
            let q32 = q as u32;
            if lesion.contains(&q32) {
                return false;
            }
            structure.contains(&q32)
                || (grid.hu(q) > NOT_FAT_HU && grid.neighbours6(q).any(|r| structure.contains(&(r as u32))))
        })
    })
}
