//! The matching rule: which earlier track a new sighting of a lesion belongs to.
//!
//! Positions are *aligned*: each series' lesion centre minus that series' anatomical anchor
//! (a landmark measured from the voxels: the body midline, the body's centre front to back and
//! the lung base; see `elysium_measure::anatomical_anchor`). Two scans of one patient years
//! apart differ by where the patient lay on the table and where the scan started; subtracting
//! the anchor removes that translation.
//!
//! A sighting joins a track when
//! 1. the organ is the same,
//! 2. the track has no sighting from the same study (one lesion is seen once per study), and
//! 3. the aligned centres of the new sighting and the track's *nearest* sighting are at most
//!    [`tolerance_mm`] apart: [`BASE_TOLERANCE_MM`] plus half the larger of the two diameters.
//!
//! Of the tracks that qualify, the nearest wins (ties: the older track). Otherwise the sighting
//! starts a track of its own.
//!
//! Why this tolerance: the anchor is measured to about one voxel in-plane and one slice along
//! the body (up to about 3 mm on the screening grid), breathing moves abdominal and basal lung
//! lesions by up to about 10 mm between scans, and a lesion that grows moves its centre by up to
//! half the change in its diameter. The base of 10 mm covers the first two; half the larger
//! diameter covers growth (and lets a large mass, whose centre is less sharply defined, match
//! further). Two distinct lesions of one organ closer than this are merged by the rule; a person
//! splits them ([`super::edits`]).

/// What every tolerance starts from (mm).
pub const BASE_TOLERANCE_MM: f64 = 10.0;

/// One lesion as one study saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub organ: String,
    pub study_uid: String,
    /// Lesion centre minus the series' anatomical anchor (mm); `None` when the anchor could not
    /// be measured, and then the sighting matches nothing (a person may join it).
    pub aligned_mm: Option<[f64; 3]>,
    pub diameter_mm: f64,
}

/// A track the new sighting may join, with the sightings it already has.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub track: i64,
    pub organ: String,
    pub sightings: Vec<Sighting>,
}

/// How far apart two sightings may lie and still be one lesion (mm).
pub fn tolerance_mm(a_diameter_mm: f64, b_diameter_mm: f64) -> f64 {
    BASE_TOLERANCE_MM + a_diameter_mm.max(b_diameter_mm).max(0.0) / 2.0
}

/// The distance between two aligned positions (mm).
pub fn distance_mm(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt()
}

/// The track `sighting` joins, or `None` for a new track. `candidates` in the order their
/// tracks were created (the older wins a tie).
pub fn assign(sighting: &Sighting, candidates: &[Candidate]) -> Option<i64> {
    let here = sighting.aligned_mm?;
    let mut best: Option<(f64, i64)> = None;
    for candidate in candidates {
        if candidate.organ != sighting.organ || candidate.sightings.iter().any(|s| s.study_uid == sighting.study_uid) {
            continue;
        }
        let nearest = candidate
            .sightings
            .iter()
            .filter_map(|s| {
                let there = s.aligned_mm?;
                let distance = distance_mm(here, there);
                (distance <= tolerance_mm(sighting.diameter_mm, s.diameter_mm)).then_some(distance)
            })
            .min_by(f64::total_cmp);
        if let Some(distance) = nearest
            && best.is_none_or(|(d, _)| distance < d)
        {
            best = Some((distance, candidate.track));
        }
    }
    best.map(|(_, track)| track)
}
