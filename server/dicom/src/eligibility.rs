//! Whether a CT series can be screened, and why (not).
//!
//! The rules, each a documented constant or list below:
//!
//! 1. **CT**: Modality is `CT`.
//! 2. **Axial**: when ImageOrientationPatient is known, the slice normal is within
//!    [`AXIAL_MAX_OBLIQUITY_DEGREES`] of the patient's z axis (a gantry-tilted axial series
//!    passes, a sagittal or coronal reformat does not, whatever ImageType says); without an
//!    orientation, ImageType must contain `AXIAL`. ImageType `LOCALIZER` is never axial.
//! 3. **Thin slices**: SliceThickness at most [`MAX_SLICE_THICKNESS_MM`]; a series without a
//!    thickness fails (it cannot be checked).
//! 4. **Enough slices**: at least [`MIN_SLICES`].
//! 5. **Chest and/or abdomen**: BodyPartExamined, upper-cased with everything but letters and
//!    digits removed, is one of [`TARGET_BODY_PARTS`] or contains one of
//!    [`TARGET_BODY_PART_STEMS`]; a body part that is one of [`OTHER_BODY_PARTS`] (or contains
//!    one of [`OTHER_BODY_PART_STEMS`]) fails. A missing or unrecognised body part passes, with
//!    a note, when the series covers at least [`MIN_UNKNOWN_REGION_COVERAGE_MM`] (a head or a
//!    limb is shorter); coverage is the slice count × the slice spacing when known
//!    ([`assess_series`]), else × the slice thickness (an estimate: contiguous axial
//!    reconstructions have spacing = thickness).
//! 6. **Contrast phase** ([`contrast_phase`]): `contrast` fails; `unknown` passes with a note.
//! 7. **Volume problems**: a problem [`load_series`](crate::volume::load_series) refuses
//!    (inconsistent orientation, mixed geometry) fails; the ones it handles pass with a note.
//!
//! `reasons` lists why a series is not eligible (empty when it is); `notes` lists what passed
//! with a caveat.

use std::fmt;

use serde::Serialize;

use crate::header::InstanceHeader;
use crate::volume::{LoadedSeries, SeriesProblem};

/// The thickest slices screened (mm).
pub const MAX_SLICE_THICKNESS_MM: f64 = 5.0;
/// The fewest slices screened: 40 slices of 5 mm cover 200 mm, about a chest or an abdomen.
pub const MIN_SLICES: usize = 40;
/// Without a recognised body part, the length a series must cover (mm): a chest or an abdomen
/// scan covers about 250..450 mm, a head about 150..200 mm.
pub const MIN_UNKNOWN_REGION_COVERAGE_MM: f64 = 200.0;
/// The furthest the slice normal may lean from the patient's z axis for the series to be
/// axial (gantry tilts stay under 30°).
pub const AXIAL_MAX_OBLIQUITY_DEGREES: f64 = 30.0;

/// BodyPartExamined values (normalised: upper case, letters and digits only) that are chest
/// and/or abdomen (DICOM PS3.16 CID 4031 terms and common variants).
pub const TARGET_BODY_PARTS: &[&str] = &[
    "CHEST",
    "THORAX",
    "LUNG",
    "LUNGS",
    "ABDOMEN",
    "ABD",
    "CHESTABDOMEN",
    "CHESTABD",
    "CHESTABDPELVIS",
    "CHESTABDOMENPELVIS",
    "THORAXABDOMEN",
    "ABDOMENPELVIS",
    "ABDPELVIS",
    "ABDPEL",
    "TORSO",
    "TRUNK",
    "WHOLEBODY",
    "LIVER",
    "KIDNEY",
    "PANCREAS",
];
/// Substrings of a normalised body part that make it chest and/or abdomen.
pub const TARGET_BODY_PART_STEMS: &[&str] = &["CHEST", "THORA", "ABD", "LUNG", "TORSO", "TRUNK", "WHOLEBODY"];
/// Body parts that are neither chest nor abdomen.
pub const OTHER_BODY_PARTS: &[&str] = &[
    "HEAD",
    "BRAIN",
    "SKULL",
    "HEADNECK",
    "NECK",
    "FACE",
    "SINUS",
    "ORBIT",
    "IAC",
    "TMJ",
    "JAW",
    "CSPINE",
    "TSPINE",
    "LSPINE",
    "SSPINE",
    "SPINE",
    "PELVIS",
    "HIP",
    "SHOULDER",
    "ARM",
    "ELBOW",
    "WRIST",
    "HAND",
    "LEG",
    "KNEE",
    "ANKLE",
    "FOOT",
    "EXTREMITY",
    "HEART",
    "CORONARY",
];
/// Substrings of a normalised body part that make it another region (checked after the target
/// stems, so `HEADNECKCHEST` is a target).
pub const OTHER_BODY_PART_STEMS: &[&str] = &["HEAD", "BRAIN", "NECK", "SKULL", "EXTREM", "KNEE", "SPINE"];

/// Series description phrases (tokens, see [`contrast_phase`]) that say no IV contrast.
pub const NON_CONTRAST_PHRASES: &[&[&str]] = &[
    &["NON", "CONTRAST"],
    &["NONCONTRAST"],
    &["WITHOUT", "CONTRAST"],
    &["W", "O", "CONTRAST"],
    &["WO", "CONTRAST"],
    &["NO", "CONTRAST"],
    &["PRE", "CONTRAST"],
    &["PRECONTRAST"],
    &["UNENHANCED"],
    &["NON", "ENHANCED"],
    &["NONENHANCED"],
    &["PLAIN"],
    &["NATIVE"],
    &["NATIV"],
    &["NC"],
    &["NCCT"],
    &["C-"],
    &["W", "O"],
    &["WO"],
];
/// Series description phrases that say IV contrast (or a contrast phase).
pub const CONTRAST_PHRASES: &[&[&str]] = &[
    &["C+"],
    &["+C"],
    &["CONTRAST"],
    &["CE"],
    &["CECT"],
    &["ENHANCED"],
    &["ARTERIAL"],
    &["ART"],
    &["VENOUS"],
    &["PORTAL"],
    &["PORTOVENOUS"],
    &["PV"],
    &["PVP"],
    &["DELAYED"],
    &["DELAY"],
    &["LATE"],
    &["NEPHROGRAPHIC"],
    &["EXCRETORY"],
    &["UROGRAPHIC"],
    &["EQUILIBRIUM"],
    &["ANGIO"],
    &["CTA"],
    &["KM"],
];
/// ContrastBolusAgent values (normalised) that mean none was given.
pub const NO_AGENT_VALUES: &[&str] = &["NONE", "NO", "NA", "NIL", "0", "N"];
/// ContrastBolusRoute values (normalised) that are not intravenous: such contrast alone does
/// not make the series `contrast`.
pub const NON_IV_ROUTES: &[&str] = &["ORAL", "PO", "RECTAL", "PR", "ENTERAL"];

/// The contrast phase of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastPhase {
    NonContrast,
    Contrast,
    Unknown,
}

impl ContrastPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ContrastPhase::NonContrast => "non_contrast",
            ContrastPhase::Contrast => "contrast",
            ContrastPhase::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ContrastPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eligibility {
    pub eligible: bool,
    /// Why the series is not eligible, one sentence per failed rule (empty when eligible).
    pub reasons: Vec<String>,
    /// The failed rules as stable codes (`SKIP_CODES`), one per reason, for counting skipped
    /// series by reason and for showing the reason in the reader's language.
    pub codes: Vec<&'static str>,
    /// Rules passed with a caveat (unknown contrast phase, body part inferred from coverage,
    /// problems fixed while loading).
    pub notes: Vec<String>,
    pub contrast_phase: ContrastPhase,
}

/// The codes of the eligibility rules a series can fail, as `Eligibility::codes` names them.
/// `model_requirements` is the model's own requirement (its manifest), checked after these.
pub const SKIP_CODES: &[&str] = &[
    "not_ct",
    "localizer",
    "not_axial",
    "slice_thickness",
    "too_few_slices",
    "body_part",
    "contrast",
    "unusable_volume",
    "model_requirements",
];

fn fail(reasons: &mut Vec<String>, codes: &mut Vec<&'static str>, code: &'static str, reason: String) {
    debug_assert!(SKIP_CODES.contains(&code));
    reasons.push(reason);
    codes.push(code);
}

/// Assesses a series from a representative header, its slice count and its problems.
pub fn assess(header: &InstanceHeader, slices: usize, problems: &[SeriesProblem]) -> Eligibility {
    let coverage = header.slice_thickness.map(|t| slices as f64 * t);
    assess_with(header, slices, coverage, problems)
}

/// Assesses a loaded series: the volume supplies what an Enhanced CT header keeps in its
/// functional groups (orientation, thickness) and the real coverage.
pub fn assess_series(header: &InstanceHeader, series: &LoadedSeries) -> Eligibility {
    let volume = &series.volume;
    let mut header = header.clone();
    if header.image_orientation.is_none() {
        let [row, column, _] = volume.direction;
        header.image_orientation = Some([row[0], row[1], row[2], column[0], column[1], column[2]]);
    }
    if header.slice_thickness.is_none() {
        header.slice_thickness = series.slice_thickness_mm;
    }
    let coverage = volume.slices as f64 * volume.spacing[2];
    assess_with(&header, volume.slices, Some(coverage), &series.problems)
}

fn assess_with(
    header: &InstanceHeader,
    slices: usize,
    coverage_mm: Option<f64>,
    problems: &[SeriesProblem],
) -> Eligibility {
    let mut reasons = Vec::new();
    let mut codes = Vec::new();
    let mut notes = Vec::new();

    match header.modality.as_deref().map(str::trim) {
        Some(m) if m.eq_ignore_ascii_case("CT") => {}
        Some(m) => fail(&mut reasons, &mut codes, "not_ct", format!("The modality is {m}, not CT.")),
        None => fail(&mut reasons, &mut codes, "not_ct", "The modality is not recorded.".to_owned()),
    }

    let image_type: Vec<String> = header.image_type.iter().map(|t| t.trim().to_ascii_uppercase()).collect();
    if image_type.iter().any(|t| t == "LOCALIZER") {
        fail(&mut reasons, &mut codes, "localizer", "The series is a localizer (scout), not axial slices.".to_owned());
    } else if let Some(o) = header.image_orientation {
        let normal = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
        let length = (normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]).sqrt();
        let degrees = if length > 0.0 { (normal[2].abs() / length).clamp(0.0, 1.0).acos().to_degrees() } else { 90.0 };
        if degrees > AXIAL_MAX_OBLIQUITY_DEGREES {
            fail(
                &mut reasons,
                &mut codes,
                "not_axial",
                format!(
                    "The slices are not axial: their plane is {degrees:.0}° from axial (at most {AXIAL_MAX_OBLIQUITY_DEGREES:.0}°)."
                ),
            );
        }
    } else if !image_type.iter().any(|t| t == "AXIAL") {
        fail(
            &mut reasons,
            &mut codes,
            "not_axial",
            "The slices are not known to be axial (no orientation, and ImageType lacks AXIAL).".to_owned(),
        );
    }

    match header.slice_thickness {
        Some(t) if t <= MAX_SLICE_THICKNESS_MM => {}
        Some(t) => fail(
            &mut reasons,
            &mut codes,
            "slice_thickness",
            format!("The slices are {t} mm thick, over the {MAX_SLICE_THICKNESS_MM} mm limit."),
        ),
        None => fail(&mut reasons, &mut codes, "slice_thickness", "The slice thickness is not recorded.".to_owned()),
    }

    if slices < MIN_SLICES {
        fail(
            &mut reasons,
            &mut codes,
            "too_few_slices",
            format!("The series has {slices} slices; at least {MIN_SLICES} are needed."),
        );
    }

    match body_region(header.body_part_examined.as_deref()) {
        BodyRegion::Target => {}
        BodyRegion::Other(part) => {
            fail(
                &mut reasons,
                &mut codes,
                "body_part",
                format!("The body part examined is {part}, not chest or abdomen."),
            );
        }
        BodyRegion::Unknown(part) => {
            let what = match part {
                Some(p) => format!("The body part examined ({p}) is not recognised"),
                None => "The body part examined is not recorded".to_owned(),
            };
            match coverage_mm {
                Some(c) if c >= MIN_UNKNOWN_REGION_COVERAGE_MM => {
                    notes.push(format!("{what}; the series covers {c:.0} mm, enough for a chest or an abdomen."))
                }
                Some(c) => fail(
                    &mut reasons,
                    &mut codes,
                    "body_part",
                    format!(
                        "{what}, and the series covers only {c:.0} mm (at least {MIN_UNKNOWN_REGION_COVERAGE_MM:.0} mm needed)."
                    ),
                ),
                None => {
                    fail(&mut reasons, &mut codes, "body_part", format!("{what}, and the length covered is unknown."))
                }
            }
        }
    }

    let (contrast_phase, evidence) = contrast_phase(header);
    match contrast_phase {
        ContrastPhase::NonContrast => {}
        ContrastPhase::Contrast => {
            fail(&mut reasons, &mut codes, "contrast", format!("The series is contrast-enhanced ({evidence})."))
        }
        ContrastPhase::Unknown => notes.push(format!("The contrast phase is unknown ({evidence}).")),
    }

    for problem in problems {
        match problem.remedy() {
            Some(remedy) => notes.push(format!("{problem} Fixed while loading: {remedy}.")),
            None => fail(&mut reasons, &mut codes, "unusable_volume", problem.to_string()),
        }
    }

    Eligibility { eligible: reasons.is_empty(), reasons, codes, notes, contrast_phase }
}

enum BodyRegion {
    Target,
    Other(String),
    Unknown(Option<String>),
}

fn normalise(value: &str) -> String {
    value.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn body_region(part: Option<&str>) -> BodyRegion {
    let Some(part) = part.map(str::trim).filter(|p| !p.is_empty()) else {
        return BodyRegion::Unknown(None);
    };
    let key = normalise(part);
    if TARGET_BODY_PARTS.contains(&key.as_str()) || TARGET_BODY_PART_STEMS.iter().any(|s| key.contains(s)) {
        BodyRegion::Target
    } else if OTHER_BODY_PARTS.contains(&key.as_str()) || OTHER_BODY_PART_STEMS.iter().any(|s| key.contains(s)) {
        BodyRegion::Other(part.to_owned())
    } else {
        BodyRegion::Unknown(Some(part.to_owned()))
    }
}

/// Words of a description: upper case, split on anything but letters, digits, `+` and `-`;
/// then `-` splits words too, except in `C-` (so `NON-CONTRAST` is `NON CONTRAST`).
fn tokens(text: &str) -> Vec<String> {
    text.to_ascii_uppercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-'))
        .flat_map(
            |word| {
                if word == "C-" { vec![word.to_owned()] } else { word.split('-').map(str::to_owned).collect() }
            },
        )
        .filter(|t| !t.is_empty())
        .collect()
}

/// Marks and returns the phrases of `list` found in `words` (not already used).
fn find_phrases(words: &[String], used: &mut [bool], list: &[&[&str]]) -> Vec<String> {
    let mut found = Vec::new();
    for phrase in list {
        let n = phrase.len();
        if n == 0 || n > words.len() {
            continue;
        }
        for start in 0..=words.len() - n {
            let here = (0..n).all(|i| !used[start + i] && words[start + i] == phrase[i]);
            if here {
                used[start..start + n].iter_mut().for_each(|u| *u = true);
                found.push(phrase.join(" "));
            }
        }
    }
    found
}

/// The contrast phase and the evidence for it, in words.
///
/// Evidence for contrast: a ContrastBolusAgent other than [`NO_AGENT_VALUES`] (unless the
/// route is one of [`NON_IV_ROUTES`]), a ContrastBolusRoute alone that is not one of them, or a
/// [`CONTRAST_PHRASES`] phrase in the series description. Evidence against: an agent in
/// [`NO_AGENT_VALUES`], or a [`NON_CONTRAST_PHRASES`] phrase (matched first, so the `CONTRAST`
/// of `NON-CONTRAST` does not count twice). Only one kind: that phase; both (a scanner that
/// writes the agent in every series of an exam, the plain one too): `unknown`; none:
/// `unknown`.
pub fn contrast_phase(header: &InstanceHeader) -> (ContrastPhase, String) {
    let mut for_contrast = Vec::new();
    let mut against = Vec::new();
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let agent = clean(&header.contrast_bolus_agent);
    let route = clean(&header.contrast_bolus_route);
    let non_iv = route.as_deref().is_some_and(|r| NON_IV_ROUTES.contains(&normalise(r).as_str()));
    match (&agent, &route) {
        (Some(a), _) if NO_AGENT_VALUES.contains(&normalise(a).as_str()) => {
            against.push(format!("ContrastBolusAgent \"{a}\""));
        }
        // Oral or rectal contrast only: it does not enhance the organs screened.
        (Some(_), Some(_)) if non_iv => {}
        (Some(a), _) => for_contrast.push(format!("ContrastBolusAgent \"{a}\"")),
        (None, Some(r)) if !non_iv => for_contrast.push(format!("ContrastBolusRoute \"{r}\"")),
        (None, _) => {}
    }
    if let Some(description) = clean(&header.series_description) {
        let words = tokens(&description);
        let mut used = vec![false; words.len()];
        let negative = find_phrases(&words, &mut used, NON_CONTRAST_PHRASES);
        let positive = find_phrases(&words, &mut used, CONTRAST_PHRASES);
        if !negative.is_empty() {
            against.push(format!("series description \"{description}\" says {}", negative.join(", ")));
        }
        if !positive.is_empty() {
            for_contrast.push(format!("series description \"{description}\" says {}", positive.join(", ")));
        }
    }
    match (for_contrast.is_empty(), against.is_empty()) {
        (false, true) => (ContrastPhase::Contrast, for_contrast.join("; ")),
        (true, false) => (ContrastPhase::NonContrast, against.join("; ")),
        (false, false) => {
            (ContrastPhase::Unknown, format!("conflicting: {} against {}", for_contrast.join("; "), against.join("; ")))
        }
        (true, true) => {
            (ContrastPhase::Unknown, "no contrast agent recorded and the series description does not say".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uid::Uid;
    use crate::volume::Volume;

    fn uid(raw: &str) -> Uid {
        Uid::parse(raw).expect("a valid UID")
    }

    /// An eligible axial non-contrast chest CT header.
    fn base() -> InstanceHeader {
        InstanceHeader {
            sop_class_uid: uid(crate::header::CT_IMAGE_STORAGE),
            sop_instance_uid: uid("2.25.1"),
            study_instance_uid: uid("2.25.2"),
            series_instance_uid: uid("2.25.3"),
            transfer_syntax_uid: uid("1.2.840.10008.1.2.1"),
            patient_id: "P1".into(),
            issuer_of_patient_id: None,
            patient_name: None,
            patient_sex: None,
            patient_birth_date: None,
            study_date: None,
            study_time: None,
            study_description: None,
            accession_number: None,
            referring_physician: None,
            institution_name: None,
            modality: Some("CT".into()),
            body_part_examined: Some("CHEST".into()),
            contrast_bolus_agent: None,
            contrast_bolus_route: None,
            series_number: Some(2),
            series_description: Some("Chest non-contrast 1.25mm".into()),
            instance_number: Some(1),
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            frame_of_reference_uid: None,
            slice_thickness: Some(1.25),
            pixel_spacing: Some([0.7, 0.7]),
            image_position: Some([0.0, 0.0, 0.0]),
            image_orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            rows: Some(512),
            columns: Some(512),
            number_of_frames: None,
            rescale_slope: Some(1.0),
            rescale_intercept: Some(-1024.0),
            kvp: Some(120.0),
            manufacturer: None,
        }
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    fn tilted(degrees: f64) -> Option<[f64; 6]> {
        let a = degrees.to_radians();
        Some([1.0, 0.0, 0.0, 0.0, a.cos(), -a.sin()])
    }

    type Edit = fn(&mut InstanceHeader);

    /// One rule per row: the edit, the slice count, whether it stays eligible, and a word the
    /// reason (or note) must contain.
    #[test]
    fn eligibility_rules_cell_by_cell() {
        let cases: &[(&str, Edit, usize, bool, &str)] = &[
            ("baseline", |_| {}, 200, true, ""),
            ("modality MR", |h| h.modality = some("MR"), 200, false, "MR, not CT"),
            ("modality lower case", |h| h.modality = some("ct"), 200, true, ""),
            ("modality missing", |h| h.modality = None, 200, false, "modality is not recorded"),
            ("gantry tilt 20°", |h| h.image_orientation = tilted(20.0), 200, true, ""),
            ("oblique 30°", |h| h.image_orientation = tilted(30.0), 200, true, ""),
            ("oblique 31°", |h| h.image_orientation = tilted(31.0), 200, false, "31° from axial"),
            ("coronal", |h| h.image_orientation = Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), 200, false, "not axial"),
            (
                "sagittal despite AXIAL",
                |h| h.image_orientation = Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
                200,
                false,
                "90° from axial",
            ),
            ("no orientation, AXIAL", |h| h.image_orientation = None, 200, true, ""),
            (
                "no orientation, no AXIAL",
                |h| {
                    h.image_orientation = None;
                    h.image_type = vec!["ORIGINAL".into(), "PRIMARY".into()];
                },
                200,
                false,
                "ImageType lacks AXIAL",
            ),
            (
                "localizer",
                |h| h.image_type = vec!["ORIGINAL".into(), "PRIMARY".into(), "LOCALIZER".into()],
                3,
                false,
                "localizer",
            ),
            ("thickness 5 mm", |h| h.slice_thickness = Some(5.0), 60, true, ""),
            ("thickness 5.01 mm", |h| h.slice_thickness = Some(5.01), 60, false, "over the 5 mm limit"),
            ("thickness missing", |h| h.slice_thickness = None, 200, false, "thickness is not recorded"),
            ("40 slices", |h| h.slice_thickness = Some(5.0), 40, true, ""),
            ("39 slices", |h| h.slice_thickness = Some(5.0), 39, false, "39 slices; at least 40"),
            ("ABDOMEN", |h| h.body_part_examined = some("ABDOMEN"), 200, true, ""),
            ("CHESTABDPELVIS", |h| h.body_part_examined = some("CHESTABDPELVIS"), 200, true, ""),
            ("Chest/Abd free text", |h| h.body_part_examined = some("Chest / Abd"), 200, true, ""),
            ("ABDOMEN_PELVIS", |h| h.body_part_examined = some("ABDOMEN_PELVIS"), 200, true, ""),
            ("HEAD", |h| h.body_part_examined = some("HEAD"), 200, false, "HEAD, not chest or abdomen"),
            ("PELVIS alone", |h| h.body_part_examined = some("PELVIS"), 200, false, "PELVIS"),
            ("HEAD_NECK", |h| h.body_part_examined = some("HEAD_NECK"), 200, false, "not chest or abdomen"),
            ("no body part, 250 mm", |h| h.body_part_examined = None, 200, true, "covers 250 mm"),
            ("no body part, 150 mm", |h| h.body_part_examined = None, 120, false, "covers only 150 mm"),
            (
                "unrecognised body part, 250 mm",
                |h| h.body_part_examined = some("SERIES7"),
                200,
                true,
                "(SERIES7) is not recognised",
            ),
            (
                "agent given, plain description",
                |h| h.contrast_bolus_agent = some("Omnipaque 350"),
                200,
                true,
                "conflicting",
            ),
            (
                "agent, contrast description",
                |h| {
                    h.contrast_bolus_agent = some("Omnipaque 350");
                    h.series_description = some("Abd PV 3mm");
                },
                200,
                false,
                "contrast-enhanced",
            ),
            (
                "agent, no description",
                |h| {
                    h.contrast_bolus_agent = some("Omnipaque 350");
                    h.series_description = None;
                },
                200,
                false,
                "ContrastBolusAgent",
            ),
            ("agent NONE", |h| h.contrast_bolus_agent = some("None"), 200, true, ""),
            (
                "oral contrast only",
                |h| {
                    h.contrast_bolus_agent = some("Gastrografin");
                    h.contrast_bolus_route = some("Oral");
                    h.series_description = None;
                },
                200,
                true,
                "contrast phase is unknown",
            ),
            (
                "IV route only",
                |h| {
                    h.contrast_bolus_route = some("IV");
                    h.series_description = None;
                },
                200,
                false,
                "ContrastBolusRoute",
            ),
            ("no evidence at all", |h| h.series_description = None, 200, true, "contrast phase is unknown"),
            ("description arterial", |h| h.series_description = some("ARTERIAL 1.0 B30f"), 200, false, "ARTERIAL"),
            ("description C+", |h| h.series_description = some("CHEST C+ 2mm"), 200, false, "C+"),
            (
                "description with contrast",
                |h| h.series_description = some("Thorax with contrast"),
                200,
                false,
                "CONTRAST",
            ),
            ("description delayed", |h| h.series_description = some("Delayed 5 min"), 200, false, "DELAYED"),
            ("description W/O", |h| h.series_description = some("CT ABD W/O CONTRAST"), 200, true, ""),
            ("description NC", |h| h.series_description = some("NC CHEST"), 200, true, ""),
            ("description C-", |h| h.series_description = some("ABD C- 5mm"), 200, true, ""),
            ("description plain", |h| h.series_description = some("5/5mm Plain"), 200, true, ""),
            ("description native", |h| h.series_description = some("Thorax nativ 1.5"), 200, true, ""),
            ("description unenhanced", |h| h.series_description = some("Unenhanced liver"), 200, true, ""),
            ("both in description", |h| h.series_description = some("NC and PV phases"), 200, true, "conflicting"),
            ("neutral description", |h| h.series_description = some("Lung 1.25 B70f"), 200, true, "unknown"),
        ];
        for (name, edit, slices, eligible, word) in cases {
            let mut header = base();
            edit(&mut header);
            let verdict = assess(&header, *slices, &[]);
            assert_eq!(verdict.eligible, *eligible, "{name}: {verdict:?}");
            let all: Vec<&String> = verdict.reasons.iter().chain(&verdict.notes).collect();
            if word.is_empty() {
                assert!(verdict.reasons.is_empty(), "{name}: {verdict:?}");
            } else {
                assert!(all.iter().any(|r| r.contains(word)), "{name}: no `{word}` in {all:?}");
            }
            if *eligible {
                assert!(verdict.reasons.is_empty(), "{name}: {verdict:?}");
            } else {
                assert!(!verdict.reasons.is_empty(), "{name}: {verdict:?}");
            }
            assert_eq!(verdict.codes.len(), verdict.reasons.len(), "{name}: one code per reason");
        }
    }

    /// Each failed rule's code, for a header failing exactly that rule.
    #[test]
    fn each_failed_rule_has_its_code() {
        let cases: &[(Edit, usize, &[&str])] = &[
            (|h| h.modality = some("MR"), 200, &["not_ct"]),
            (|h| h.image_type = vec!["LOCALIZER".into()], 200, &["localizer"]),
            (|h| h.image_orientation = Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), 200, &["not_axial"]),
            (|h| h.slice_thickness = Some(6.0), 200, &["slice_thickness"]),
            (|_| {}, 39, &["too_few_slices"]),
            (|h| h.body_part_examined = some("HEAD"), 200, &["body_part"]),
            (|h| h.series_description = some("CHEST C+ 2mm"), 200, &["contrast"]),
            (|h| h.modality = some("MR"), 10, &["not_ct", "too_few_slices"]),
        ];
        for (edit, slices, codes) in cases {
            let mut header = base();
            edit(&mut header);
            assert_eq!(assess(&header, *slices, &[]).codes, *codes);
        }
        let refused = [SeriesProblem::InconsistentOrientation { max_degrees: 4.0 }];
        assert_eq!(assess(&base(), 200, &refused).codes, ["unusable_volume"]);
    }

    #[test]
    fn eligibility_contrast_phase_cell_by_cell() {
        use ContrastPhase::*;
        // ContrastBolusAgent, ContrastBolusRoute, SeriesDescription, expected phase.
        type Case = (Option<&'static str>, Option<&'static str>, Option<&'static str>, ContrastPhase);
        let cases: &[Case] = &[
            (None, None, None, Unknown),
            (None, None, Some("Non-contrast chest"), NonContrast),
            (None, None, Some("NONCONTRAST"), NonContrast),
            (None, None, Some("without contrast"), NonContrast),
            (None, None, Some("pre-contrast"), NonContrast),
            (None, None, Some("Thorax  nativ"), NonContrast),
            (None, None, Some("contrast"), Contrast),
            (None, None, Some("Portal venous"), Contrast),
            (None, None, Some("ABD+C"), Unknown),
            (None, None, Some("ABD +C"), Contrast),
            (None, None, Some("CTA chest"), Contrast),
            (None, None, Some("Non-enhanced"), NonContrast),
            (None, None, Some("Enhanced"), Contrast),
            (Some("ISOVUE300/100"), None, None, Contrast),
            (Some("ISOVUE300/100"), Some("IV"), Some("Plain"), Unknown),
            (Some("NONE"), None, None, NonContrast),
            (Some("N/A"), None, Some("Venous"), Unknown),
            (Some("Barium"), Some("ORAL"), Some("abdomen"), Unknown),
            (Some("Barium"), Some("ORAL"), Some("NC abdomen"), NonContrast),
            (None, Some("INTRAVENOUS"), None, Contrast),
            (None, Some("PO"), None, Unknown),
        ];
        for (agent, route, description, expected) in cases {
            let mut header = base();
            header.contrast_bolus_agent = agent.map(str::to_owned);
            header.contrast_bolus_route = route.map(str::to_owned);
            header.series_description = description.map(str::to_owned);
            let (phase, evidence) = contrast_phase(&header);
            assert_eq!(phase, *expected, "{agent:?} {route:?} {description:?}: {evidence}");
            assert!(!evidence.is_empty());
        }
    }

    #[test]
    fn eligibility_handles_volume_problems() {
        let fixed = [SeriesProblem::GantryTilt { degrees: 12.0 }, SeriesProblem::MissingSlices { gaps: 1, missing: 1 }];
        let verdict = assess(&base(), 200, &fixed);
        assert!(verdict.eligible, "{verdict:?}");
        assert_eq!(verdict.notes.len(), 2, "{verdict:?}");
        assert!(verdict.notes[0].contains("gantry tilt") && verdict.notes[0].contains("Fixed while loading"));
        let refused = [SeriesProblem::InconsistentOrientation { max_degrees: 4.0 }];
        let verdict = assess(&base(), 200, &refused);
        assert!(!verdict.eligible);
        assert!(verdict.reasons[0].contains("orientation"), "{verdict:?}");
    }

    #[test]
    fn eligibility_of_a_loaded_enhanced_series_uses_the_volume() {
        let mut header = base();
        header.sop_class_uid = uid(crate::header::ENHANCED_CT_IMAGE_STORAGE);
        header.image_orientation = None;
        header.slice_thickness = None;
        header.body_part_examined = None;
        header.image_type = vec!["ORIGINAL".into(), "PRIMARY".into(), "VOLUME".into()];
        let series = LoadedSeries {
            volume: Volume {
                voxels: Vec::new(),
                slices: 120,
                rows: 0,
                columns: 0,
                spacing: [0.7, 0.7, 2.5],
                origin: [0.0; 3],
                direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            },
            problems: Vec::new(),
            slice_thickness_mm: Some(3.0),
            source_frames: 120,
        };
        let verdict = assess_series(&header, &series);
        assert!(verdict.eligible, "{verdict:?}");
        assert!(verdict.notes.iter().any(|n| n.contains("covers 300 mm")), "{verdict:?}");
        // From the header alone the same series fails: no orientation/AXIAL, no thickness.
        let verdict = assess(&header, 120, &[]);
        assert!(!verdict.eligible);
        assert_eq!(verdict.reasons.len(), 3, "{verdict:?}");
    }

    #[test]
    fn eligibility_serialises_for_the_web() {
        let verdict = assess(&base(), 200, &[]);
        let json = serde_json::to_value(&verdict).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"eligible": true, "reasons": [], "codes": [], "notes": [], "contrast_phase": "non_contrast"})
        );
        assert_eq!(ContrastPhase::Unknown.to_string(), "unknown");
    }
}
