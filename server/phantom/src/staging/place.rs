//! Placing the staging findings in one patient, painting them and describing them in
//! truth.json.

use serde::Serialize;

use super::spec::RegionSide;
use super::{ResolvedInvasion, ResolvedNode, ResolvedStaging};
use crate::anatomy::{
    Anatomy, Grid, Lesion, Placement, PlacementFailure, Shape, dot, place_lesion_with, probe_directions,
};
use crate::rng::{Rng, stream};
use crate::spec::{LesionRule, PhantomSpec};

/// Centres drawn for one node, one distant lesion or one invading lesion before giving up.
const STAGING_TRIES: usize = 20_000;
/// Least distance (mm) between a distant lesion and the lesions already placed.
const DISTANT_GAP_MM: f64 = 5.0;
/// The organ whose label and HU perinodal fat takes.
pub(crate) const FAT: &str = "fat";

/// `n` directions spread evenly over the unit sphere (a Fibonacci lattice).
fn sphere_directions(n: usize) -> Vec<[f64; 3]> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - (2.0 * i as f64 + 1.0) / n as f64;
            let r = (1.0 - z * z).max(0.0).sqrt();
            let phi = golden * i as f64;
            [r * phi.cos(), r * phi.sin(), z]
        })
        .collect()
}

fn add(c: [f64; 3], r: f64, d: [f64; 3]) -> [f64; 3] {
    [c[0] + r * d[0], c[1] + r * d[1], c[2] + r * d[2]]
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    dot(d, d).sqrt()
}

fn labels_of(spec: &PhantomSpec, names: &[String]) -> Vec<u8> {
    names.iter().filter_map(|n| spec.organ(n)).map(|o| o.label).collect()
}

/// One lymph node of one patient.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub request: String,
    pub organ: String,
    pub region: String,
    pub side: &'static str,
    pub centre: [f64; 3],
    /// Short, long (both axial) and craniocaudal axes, mm.
    pub axes: [f64; 3],
    pub angle_deg: f64,
    pub inner: Shape,
    pub outer: Shape,
    /// The largest semi-axis of the fat shell.
    pub outer_radius: f64,
    pub shell_replaces: Vec<u8>,
    pub hu: f64,
    pub sd: f64,
}

/// An invading primary lesion, as placed.
#[derive(Debug, Clone)]
pub(crate) struct PlacedInvasion {
    pub organ: String,
    pub structure: String,
    pub lesion: usize,
    /// Where the lesion's sphere first meets the structure, along the deepest contact.
    pub contact: [f64; 3],
    pub overlap_mm: f64,
    pub grows_into: Vec<String>,
}

impl PlacedInvasion {
    /// Follows its lesion, of radius `radius` as placed, grown by `factor`: the contact point
    /// stays where the structure begins, the sphere reaches `(factor - 1) * radius` further in.
    pub fn grow(&mut self, radius: f64, factor: f64) {
        if factor != 1.0 {
            self.overlap_mm += (factor - 1.0) * radius;
        }
    }
}

/// The staging findings placed in one patient.
#[derive(Debug, Clone, Default)]
pub(crate) struct PatientStaging {
    pub nodes: Vec<Node>,
    pub distant: Vec<Lesion>,
    pub invasions: Vec<PlacedInvasion>,
    pub node_label: u8,
    pub distant_label: u8,
    pub fat_label: u8,
    pub fat_hu: f64,
    pub fat_sd: f64,
}

/// What could not be placed, and why.
pub(crate) struct StagingFailure {
    pub what: String,
    pub failure: PlacementFailure,
}

impl ResolvedStaging<'_> {
    /// Places the primary lesion `rule` against the structure of `invasion`.
    #[expect(clippy::too_many_arguments, reason = "the inputs of place_lesion, and the invasion")]
    pub fn place_invading(
        &self,
        invasion: &ResolvedInvasion<'_>,
        spec: &PhantomSpec,
        anatomy: &Anatomy,
        rule: &LesionRule,
        diameter_mm: f64,
        contrast: bool,
        z_range: [f64; 2],
        placed: &[Lesion],
        rng: &mut Rng,
    ) -> Result<(Lesion, PlacedInvasion), PlacementFailure> {
        let inv = invasion.spec;
        let host = anatomy.organ(&rule.organ).ok_or(PlacementFailure::NoRoom)?.label;
        let structure = labels_of(spec, &inv.labels);
        let allowed = labels_of(spec, &inv.allowed);
        let radius = diameter_mm / 2.0;
        let r_core = radius * (1.0 - inv.overlap[1]);
        let r_contact = radius * (1.0 - inv.overlap[0]);
        let dirs = sphere_directions(64);
        let fits = |c: [f64; 3]| {
            let at = |r: f64, d: [f64; 3]| anatomy.label_at(add(c, r, d));
            if dirs.iter().any(|&d| structure.contains(&at(r_core, d))) {
                return false;
            }
            if !dirs.iter().any(|&d| structure.contains(&at(r_contact, d))) {
                return false;
            }
            let mut in_host = 0;
            for &d in &dirs {
                let label = at(radius, d);
                if label == host {
                    in_host += 1;
                } else if !allowed.is_empty() && !structure.contains(&label) && !allowed.contains(&label) {
                    return false;
                }
            }
            in_host as f64 >= inv.min_host * dirs.len() as f64
        };
        let mut placement = Placement::new(&fits);
        placement.tries = STAGING_TRIES;
        placement.grow_into = labels_of(spec, &inv.grow_into);
        let lesion = place_lesion_with(spec, anatomy, rule, diameter_mm, contrast, z_range, placed, rng, &placement)?;

        // The deepest contact: the direction where the structure begins nearest the centre.
        let mut best: Option<(f64, [f64; 3])> = None;
        for &d in &dirs {
            let steps = ((radius - r_core) / 0.25).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let r = r_core + (radius - r_core) * k as f64 / steps as f64;
                if structure.contains(&anatomy.label_at(add(lesion.centre, r, d))) {
                    if best.is_none_or(|(b, _)| r < b) {
                        best = Some((r, d));
                    }
                    break;
                }
            }
        }
        let (r_first, d) = best.unwrap_or((radius, [0.0, 0.0, 1.0]));
        let placed = PlacedInvasion {
            organ: rule.organ.clone(),
            structure: inv.structure.clone(),
            lesion: invasion.lesion,
            contact: add(lesion.centre, r_first, d),
            overlap_mm: radius - r_first,
            grows_into: inv.grow_into.clone(),
        };
        Ok((lesion, placed))
    }

    /// Places the distant lesions and the nodes of one patient, whose lesions are `lesions`.
    #[expect(clippy::too_many_arguments, reason = "the patient's context")]
    pub fn place_patient(
        &self,
        spec: &PhantomSpec,
        anatomy: &Anatomy,
        contrast: bool,
        z_range: [f64; 2],
        slice_spacing: f64,
        lesions: &[Lesion],
        seed: u64,
        patient: u32,
    ) -> Result<PatientStaging, StagingFailure> {
        let fat = anatomy.organ(FAT);
        let mut out = PatientStaging {
            node_label: self.staging.node.label,
            distant_label: self.staging.distant.label,
            fat_label: fat.map_or(0, |o| o.label),
            fat_hu: fat.map_or(-100.0, |o| o.hu),
            fat_sd: fat.map_or(0.0, |o| o.sd),
            ..PatientStaging::default()
        };
        let mut placed: Vec<Lesion> = lesions.to_vec();
        for (i, d) in self.distant.iter().enumerate() {
            let mut rng = Rng::for_stream(seed, &[stream::DISTANT, u64::from(patient), i as u64]);
            let fail = |failure| StagingFailure { what: format!("the distant lesion {}", d.request), failure };
            let host = anatomy.organ(&d.rule.organ).ok_or_else(|| fail(PlacementFailure::NoRoom))?.label;
            let probes = probe_directions();
            let needed = (d.rule.min_inside * probes.len() as f64).ceil() as usize;
            let reach = d.diameter_mm / 2.0 + d.margin_mm;
            let side = d.opposite_of.map(|k| if lesions[k].centre[0] < 0.0 { -1.0 } else { 1.0 });
            let fits = |c: [f64; 3]| {
                if side.is_some_and(|s| c[0] * s >= 0.0) {
                    return false;
                }
                probes.iter().filter(|&&p| anatomy.label_at(add(c, reach, p)) == host).count() >= needed
            };
            let mut placement = Placement::new(&fits);
            placement.tries = STAGING_TRIES;
            placement.gap_mm = DISTANT_GAP_MM;
            let lesion = place_lesion_with(
                spec,
                anatomy,
                &d.rule,
                d.diameter_mm,
                contrast,
                z_range,
                &placed,
                &mut rng,
                &placement,
            )
            .map_err(fail)?;
            placed.push(lesion.clone());
            out.distant.push(lesion);
        }
        for (i, request) in self.nodes.iter().enumerate() {
            let mut rng = Rng::for_stream(seed, &[stream::NODE, u64::from(patient), i as u64]);
            let node = self
                .place_node(
                    request,
                    spec,
                    anatomy,
                    contrast,
                    z_range,
                    slice_spacing,
                    lesions,
                    &placed,
                    &out.nodes,
                    &mut rng,
                )
                .map_err(|failure| StagingFailure { what: format!("the node {}", request.request), failure })?;
            out.nodes.push(node);
        }
        Ok(out)
    }

    #[expect(clippy::too_many_arguments, reason = "the patient's context")]
    fn place_node(
        &self,
        request: &ResolvedNode<'_>,
        spec: &PhantomSpec,
        anatomy: &Anatomy,
        contrast: bool,
        z_range: [f64; 2],
        slice_spacing: f64,
        primaries: &[Lesion],
        placed: &[Lesion],
        nodes: &[Node],
        rng: &mut Rng,
    ) -> Result<Node, PlacementFailure> {
        let n = &self.staging.node;
        let region = request.region;
        let primary = &primaries[request.primary];
        let primary_side = if primary.centre[0] < 0.0 { -1.0 } else { 1.0 };
        let side_sign = match region.side {
            RegionSide::Contralateral => -primary_side,
            RegionSide::Ipsilateral | RegionSide::Any => primary_side,
        };
        let allowed = labels_of(spec, &region.labels);
        let short = request.short_axis_mm;
        let long = short * rng.range(n.long_over_short[0], n.long_over_short[1]);
        let cc = short * rng.range(n.craniocaudal_over_short[0], n.craniocaudal_over_short[1]);
        let radii = [long / 2.0, short / 2.0, cc / 2.0];
        let outer_radii = radii.map(|r| r + n.fat_shell_mm);
        let outer_radius = outer_radii.iter().copied().fold(0.0, f64::max);
        let dirs = sphere_directions(48);

        for _ in 0..STAGING_TRIES {
            let (a, b, c, t) = (rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform());
            let angle = std::f64::consts::PI * t;
            let centre = match (region.center, region.half_size, region.around_primary_mm) {
                (Some(m), Some(h), _) => anatomy.body.point([
                    side_sign * (m[0] + h[0] * (2.0 * a - 1.0)),
                    m[1] + h[1] * (2.0 * b - 1.0),
                    m[2] + h[2] * (2.0 * c - 1.0),
                ]),
                (_, _, Some([lo, hi])) => {
                    let z = 2.0 * a - 1.0;
                    let phi = std::f64::consts::TAU * b;
                    let r = (1.0 - z * z).max(0.0).sqrt();
                    let distance = primary.radius + lo + (hi - lo) * c;
                    add(primary.centre, distance, [r * phi.cos(), r * phi.sin(), z])
                }
                _ => return Err(PlacementFailure::NoRoom),
            };
            let reach_z = outer_radii[2] + slice_spacing;
            if centre[2] - reach_z < z_range[0] || centre[2] + reach_z > z_range[1] {
                continue;
            }
            if placed.iter().any(|l| distance(l.centre, centre) < l.radius + outer_radius + n.gap_mm) {
                continue;
            }
            if nodes.iter().any(|o| distance(o.centre, centre) < o.outer_radius + outer_radius + n.gap_mm) {
                continue;
            }
            let (sin, cos) = angle.sin_cos();
            let point = |s: f64, d: [f64; 3]| {
                let [lx, ly, lz] = [0, 1, 2].map(|i| s * outer_radii[i] * d[i]);
                [centre[0] + lx * cos - ly * sin, centre[1] + lx * sin + ly * cos, centre[2] + lz]
            };
            let fits = allowed.contains(&anatomy.label_at(centre))
                && [1.0, 0.75, 0.4]
                    .iter()
                    .all(|&s| dirs.iter().all(|&d| allowed.contains(&anatomy.label_at(point(s, d)))));
            if !fits {
                continue;
            }
            let side = match region.side {
                RegionSide::Contralateral => "contralateral",
                RegionSide::Ipsilateral => "ipsilateral",
                RegionSide::Any => {
                    if (centre[0] < 0.0) == (primary.centre[0] < 0.0) {
                        "ipsilateral"
                    } else {
                        "contralateral"
                    }
                }
            };
            return Ok(Node {
                request: request.request.clone(),
                organ: request.organ.clone(),
                region: region.name.clone(),
                side,
                centre,
                axes: [short, long, cc],
                angle_deg: angle.to_degrees(),
                inner: Shape::Ellipsoid { center: centre, radii, cos, sin },
                outer: Shape::Ellipsoid { center: centre, radii: outer_radii, cos, sin },
                outer_radius,
                shell_replaces: allowed,
                hu: n.mean_hu(contrast),
                sd: n.sd,
            });
        }
        Err(PlacementFailure::NoRoom)
    }
}

impl PatientStaging {
    /// Paints the nodes (fat shells first, then the nodes) into one slice at height `z`.
    pub fn paint_nodes(&self, z: f64, grid: &Grid, labels: &mut [u8], hu: &mut [f32], noise: &[f32]) {
        let (fat_hu, fat_sd) = (self.fat_hu as f32, self.fat_sd as f32);
        for node in &self.nodes {
            let Some(section) = node.outer.section(z) else {
                continue;
            };
            grid.for_each_in(section.bbox(), |i, x, y| {
                if node.shell_replaces.contains(&labels[i]) && section.contains(x, y) {
                    labels[i] = self.fat_label;
                    hu[i] = fat_hu + fat_sd * noise[i];
                }
            });
        }
        for node in &self.nodes {
            let Some(section) = node.inner.section(z) else {
                continue;
            };
            let (mean, sd) = (node.hu as f32, node.sd as f32);
            grid.for_each_in(section.bbox(), |i, x, y| {
                if (labels[i] == self.fat_label || node.shell_replaces.contains(&labels[i])) && section.contains(x, y) {
                    labels[i] = self.node_label;
                    hu[i] = mean + sd * noise[i];
                }
            });
        }
    }

    /// Paints the distant lesions into one slice.
    pub fn paint_distant(&self, z: f64, grid: &Grid, labels: &mut [u8], hu: &mut [f32], noise: &[f32]) {
        for lesion in &self.distant {
            lesion.paint(z, grid, self.distant_label, labels, hu, noise);
        }
    }

    /// The truth.json entries; `position` maps a point of the anatomy to where it appears:
    /// patient mm and [z index, row, column].
    pub fn truth(
        &self,
        position: &dyn Fn([f64; 3]) -> ([f64; 3], [f64; 3]),
    ) -> (Vec<TruthNode>, Vec<TruthDistant>, Vec<TruthInvasion>) {
        // Laterality is the patient's own (anatomy x against its midline), whatever the shift.
        let laterality = |x: f64| if x < 0.0 { "right" } else { "left" };
        let nodes = self
            .nodes
            .iter()
            .map(|n| TruthNode {
                request: n.request.clone(),
                organ: n.organ.clone(),
                region: n.region.clone(),
                side: n.side,
                laterality: laterality(n.centre[0]),
                label: self.node_label,
                centre_mm: position(n.centre).0,
                centre_voxel: position(n.centre).1,
                short_axis_mm: n.axes[0],
                long_axis_mm: n.axes[1],
                craniocaudal_mm: n.axes[2],
                axial_angle_deg: n.angle_deg,
                involved: n.axes[0] >= 10.0,
                hu_mean: n.hu,
                fat_shell_mm: if let (Shape::Ellipsoid { radii: o, .. }, Shape::Ellipsoid { radii: i, .. }) =
                    (&n.outer, &n.inner)
                {
                    o[0] - i[0]
                } else {
                    0.0
                },
            })
            .collect();
        let distant = self
            .distant
            .iter()
            .map(|l| TruthDistant {
                organ: l.organ.clone(),
                class: l.class.clone(),
                label: self.distant_label,
                laterality: laterality(l.centre[0]),
                centre_mm: position(l.centre).0,
                centre_voxel: position(l.centre).1,
                diameter_mm: 2.0 * l.radius,
                hu_offset: l.hu_offset,
                organ_hu: l.organ_hu,
                hu_mean: l.mean_hu(),
            })
            .collect();
        let invasion = self
            .invasions
            .iter()
            .map(|i| TruthInvasion {
                organ: i.organ.clone(),
                structure: i.structure.clone(),
                lesion_index: i.lesion,
                contact_mm: position(i.contact).0,
                contact_voxel: position(i.contact).1,
                overlap_mm: i.overlap_mm,
                grows_into: i.grows_into.clone(),
            })
            .collect();
        (nodes, distant, invasion)
    }
}

#[derive(Serialize)]
pub(crate) struct TruthNode {
    request: String,
    /// The primary lesion's organ.
    organ: String,
    region: String,
    /// Relative to the primary lesion: `ipsilateral` or `contralateral`.
    side: &'static str,
    /// The patient's `left` or `right` (x > 0 is left).
    laterality: &'static str,
    label: u8,
    centre_mm: [f64; 3],
    centre_voxel: [f64; 3],
    /// Axial short and long axes, craniocaudal extent.
    short_axis_mm: f64,
    long_axis_mm: f64,
    craniocaudal_mm: f64,
    /// Angle of the long axis from +x towards +y.
    axial_angle_deg: f64,
    /// Short axis >= 10 mm.
    involved: bool,
    hu_mean: f64,
    fat_shell_mm: f64,
}

#[derive(Serialize)]
pub(crate) struct TruthDistant {
    organ: String,
    class: String,
    label: u8,
    laterality: &'static str,
    centre_mm: [f64; 3],
    centre_voxel: [f64; 3],
    diameter_mm: f64,
    hu_offset: f64,
    organ_hu: f64,
    hu_mean: f64,
}

#[derive(Serialize)]
pub(crate) struct TruthInvasion {
    organ: String,
    structure: String,
    /// Index of the invading lesion in `lesions`.
    lesion_index: usize,
    contact_mm: [f64; 3],
    contact_voxel: [f64; 3],
    /// How deep the lesion's sphere reaches into the structure.
    overlap_mm: f64,
    /// Organs the lesion replaced where it reaches them (empty: it abuts the structure).
    grows_into: Vec<String>,
}
