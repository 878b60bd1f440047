//! Synthetic CT phantoms: chest-abdomen CT series written as DICOM, with their ground truth.
//!
//! [`generate`] writes, for each synthetic patient, one study with one axial CT series:
//! `OUT/<patient id>/<series UID>/NNNN.dcm` (CT Image Storage, one file per slice, slice 1
//! at the top, z decreasing), `labels.u8.gz` (the organ label map: gzip of uint8 voxels in
//! z, y, x order, z in file order) and `truth.json` (identifiers, geometry, label names,
//! per-patient organ HU and the lesions). Anatomy, Hounsfield units, noise and lesion rules
//! come from one spec file, `models/phantom/spec.toml` (embedded as the default), which a
//! training script can read to reproduce the same distribution.
//!
//! [`generate_staged`] adds what a tumour board stages from the images (see [`StagingOptions`]):
//! regional lymph nodes, distant lesions and a primary lesion against an adjacent structure,
//! drawn by `models/phantom/staging.toml` and described in truth.json.
//!
//! A later study of the same synthetic patient (the same seed) moves the patient in the scanner
//! ([`PhantomOptions::shift_mm`]) and grows the lesions ([`PhantomOptions::growth`]): the
//! anatomy and the findings are placed as before and only rendered elsewhere, larger.
//!
//! Everything is deterministic: the same seed, options and spec give byte-identical files.

mod anatomy;
mod dicom;
mod names;
mod rng;
mod shift;
mod spec;
mod staging;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dicom_dictionary_std::uids;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::anatomy::{Anatomy, Grid, Lesion, PlacementFailure, place_lesion};
use self::rng::{Rng, stream};
use self::shift::Shift;
pub use self::shift::parse_shift_mm;
pub use self::spec::{
    DEFAULT_SPEC, GeometrySpec, LesionLabelSpec, LesionRule, LesionShape, NoiseSpec, OrganSpec, PhantomSpec,
    SPEC_VERSION, Sex, ShapeSpec, VariationSpec,
};
pub use self::staging::{
    DEFAULT_STAGING_SPEC, DistantRequest, InvasionRequest, NodeRequest, STAGING_SPEC_VERSION, StagingOptions,
    StagingSpec,
};
use self::staging::{PatientStaging, ResolvedStaging};

/// The largest matrix accepted (rows = columns).
pub const MAX_ROWS: u16 = 2048;
/// The smallest matrix accepted.
pub const MIN_ROWS: u16 = 16;
/// The most slices per series accepted.
pub const MAX_SLICES: u32 = 4000;
/// The most patients per run accepted.
pub const MAX_PATIENTS: u32 = 99_999;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomOptions {
    /// Output folder (created if missing).
    pub out: PathBuf,
    /// Number of patients, each with one study and one series.
    pub patients: u32,
    pub seed: u64,
    /// Lesions placed in every patient.
    pub lesions: Vec<LesionRequest>,
    /// Portal-venous contrast phase: enhancing organs per the spec's `hu_contrast`.
    pub contrast: bool,
    pub transfer_syntax: PhantomSyntax,
    /// Rows = columns; the spec's field of view is kept, so the pixel spacing scales.
    pub rows: u16,
    /// Slice count; by default the spec's body length over the slice spacing.
    pub slices: Option<u32>,
    /// A spec file to read instead of the built-in one.
    pub spec: Option<PathBuf>,
    /// Demographics to write instead of the drawn ones (every patient gets them): for a second
    /// study of an existing synthetic patient, with or without a deliberate difference.
    pub identity: PatientIdentity,
    /// The patient's position in the scanner relative to the spec's, patient coordinates (LPS
    /// mm: +x patient left, +y posterior, +z head): everything is rendered translated by it
    /// (a point of the anatomy at `p` appears at `p + shift_mm`), the image grid unchanged. A
    /// later study of the same patient lies elsewhere on the table.
    pub shift_mm: [f64; 3],
    /// Every requested lesion's diameter is multiplied by this (finite, above 0) after it is
    /// placed: same centre and shape as at 1.0, painted larger or smaller. A later study of
    /// the same patient shows the same lesions grown.
    pub growth: f64,
}

/// Overrides of a phantom patient's drawn demographics; `None` keeps the drawn value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientIdentity {
    pub patient_id: Option<String>,
    /// DICOM PN, e.g. `OKAFOR^AMARA`.
    pub name: Option<String>,
    /// DICOM DA, `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// DICOM DA, `YYYYMMDD`: a later study of the same synthetic patient is dated years after
    /// the first.
    pub study_date: Option<String>,
    /// DICOM SH (at most 16 characters): each study of one patient has its own.
    pub accession: Option<String>,
}

impl PhantomOptions {
    /// One patient, seed 0, no lesions, non-contrast, explicit VR little endian, 512 rows, not
    /// shifted, no growth.
    pub fn new(out: impl Into<PathBuf>) -> PhantomOptions {
        PhantomOptions {
            out: out.into(),
            patients: 1,
            seed: 0,
            lesions: Vec::new(),
            contrast: false,
            transfer_syntax: PhantomSyntax::default(),
            rows: 512,
            slices: None,
            spec: None,
            identity: PatientIdentity::default(),
            shift_mm: [0.0; 3],
            growth: 1.0,
        }
    }
}

/// Parses a growth factor as given to `--growth` (e.g. `1.5`: every lesion's diameter × 1.5).
pub fn parse_growth(input: &str) -> Result<f64, PhantomError> {
    let growth = input
        .trim()
        .parse::<f64>()
        .map_err(|_| PhantomError::InvalidOption(format!("growth `{input}` is not a number (e.g. 1.5)")))?;
    check_growth(growth)?;
    Ok(growth)
}

/// A growth factor scales diameters, so only a finite number above 0 means anything.
fn check_growth(growth: f64) -> Result<(), PhantomError> {
    if growth.is_finite() && growth > 0.0 {
        Ok(())
    } else {
        Err(PhantomError::InvalidOption(format!("growth must be a finite number above 0 (got {growth})")))
    }
}

/// A lesion to place, `ORGAN:DIAMETER_MM` on the command line (e.g. `liver:25`). The organ
/// is a lesion rule's organ, one of its aliases, or its screening class (`hcc:25`).
#[derive(Debug, Clone, PartialEq)]
pub struct LesionRequest {
    pub organ: String,
    pub diameter_mm: f32,
}

impl FromStr for LesionRequest {
    type Err = PhantomError;

    fn from_str(input: &str) -> Result<LesionRequest, PhantomError> {
        let bad =
            |reason: &str| PhantomError::InvalidLesionRequest { input: input.to_owned(), reason: reason.to_owned() };
        let (organ, diameter) = input.rsplit_once(':').ok_or_else(|| bad("no `:`"))?;
        let organ = organ.trim();
        if organ.is_empty() {
            return Err(bad("no organ"));
        }
        if !organ.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(bad("the organ has characters other than letters, digits, `_`, `-`"));
        }
        let diameter = diameter.trim();
        let diameter = diameter.strip_suffix("mm").unwrap_or(diameter).trim();
        let diameter_mm: f32 = diameter.parse().map_err(|_| bad("the diameter is not a number"))?;
        if !diameter_mm.is_finite() || diameter_mm <= 0.0 {
            return Err(bad("the diameter must be a positive number of millimetres"));
        }
        Ok(LesionRequest { organ: organ.to_owned(), diameter_mm })
    }
}

impl fmt::Display for LesionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.organ, self.diameter_mm)
    }
}

/// The transfer syntax of the written files. Only syntaxes dicom-rs encodes natively and
/// losslessly: it has no RLE Lossless encoder, and its JPEG encoder is 8-bit baseline only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PhantomSyntax {
    #[default]
    ExplicitVrLittleEndian,
    ImplicitVrLittleEndian,
    /// Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99): the whole data set is
    /// deflate-compressed.
    DeflatedExplicitVrLittleEndian,
}

impl PhantomSyntax {
    pub const ALL: [PhantomSyntax; 3] = [
        PhantomSyntax::ExplicitVrLittleEndian,
        PhantomSyntax::ImplicitVrLittleEndian,
        PhantomSyntax::DeflatedExplicitVrLittleEndian,
    ];

    /// The names accepted by [`FromStr`] (besides the UIDs and the short forms `explicit`,
    /// `implicit`, `deflated`).
    pub const NAMES: [&'static str; 3] =
        ["explicit-vr-little-endian", "implicit-vr-little-endian", "deflated-explicit-vr-little-endian"];

    pub fn uid(self) -> &'static str {
        match self {
            PhantomSyntax::ExplicitVrLittleEndian => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            PhantomSyntax::ImplicitVrLittleEndian => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            PhantomSyntax::DeflatedExplicitVrLittleEndian => uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PhantomSyntax::ExplicitVrLittleEndian => Self::NAMES[0],
            PhantomSyntax::ImplicitVrLittleEndian => Self::NAMES[1],
            PhantomSyntax::DeflatedExplicitVrLittleEndian => Self::NAMES[2],
        }
    }
}

impl fmt::Display for PhantomSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PhantomSyntax {
    type Err = PhantomError;

    fn from_str(input: &str) -> Result<PhantomSyntax, PhantomError> {
        let key = input.trim().to_ascii_lowercase().replace('_', "-");
        let found = PhantomSyntax::ALL.into_iter().find(|s| {
            key == s.name()
                || key == s.uid()
                || key == s.name().split('-').next().unwrap_or_default()
                || (*s == PhantomSyntax::DeflatedExplicitVrLittleEndian && key == "deflate")
        });
        found.ok_or_else(|| PhantomError::UnknownTransferSyntax(input.to_owned()))
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhantomReport {
    pub series: Vec<GeneratedSeries>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSeries {
    /// `OUT/<patient id>/<series UID>`, holding the slices, `labels.u8.gz` and `truth.json`.
    pub dir: PathBuf,
    pub patient_id: String,
    pub study_uid: String,
    pub series_uid: String,
    /// DICOM files written (one per slice).
    pub files: usize,
    pub lesions: usize,
}

impl GeneratedSeries {
    /// The series' DICOM files (not its ground truth beside them), in slice order.
    pub fn dicom_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files = Vec::with_capacity(self.files);
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "dcm") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    #[error("invalid phantom option: {0}")]
    InvalidOption(String),
    #[error("invalid lesion `{input}`: {reason} (expected ORGAN:DIAMETER_MM, e.g. liver:25)")]
    InvalidLesionRequest { input: String, reason: String },
    #[error("invalid node `{input}`: {reason} (expected ORGAN:REGION:SHORT_AXIS_MM, e.g. lung:hilar:14)")]
    InvalidNodeRequest { input: String, reason: String },
    #[error("invalid distant lesion `{input}`: {reason} (expected ORGAN:DIAMETER_MM, e.g. liver:18)")]
    InvalidDistantRequest { input: String, reason: String },
    #[error("invalid invasion `{input}`: {reason} (expected ORGAN:STRUCTURE, e.g. lung:chest_wall)")]
    InvalidInvasionRequest { input: String, reason: String },
    #[error("cannot stage `{request}`: {reason}")]
    InvalidStagingRequest { request: String, reason: String },
    #[error("cannot place {what} in patient {patient_id}: {reason}")]
    StagingDoesNotFit { what: String, patient_id: String, reason: String },
    #[error("unknown transfer syntax `{0}` (expected one of: {names})", names = PhantomSyntax::NAMES.join(", "))]
    UnknownTransferSyntax(String),
    #[error("no lesion rule for organ `{organ}` (known: {known})")]
    UnknownLesionOrgan { organ: String, known: String },
    #[error("a {diameter_mm} mm {organ} lesion is outside the spec's range {min_mm}..={max_mm} mm")]
    LesionDiameterOutOfRange { organ: String, diameter_mm: f32, min_mm: f64, max_mm: f64 },
    #[error("cannot place a {diameter_mm} mm {organ} lesion in patient {patient_id}: {reason}")]
    LesionDoesNotFit { organ: String, diameter_mm: f32, patient_id: String, reason: String },
    #[error("cannot read the phantom spec {path}: {source}")]
    SpecRead { path: PathBuf, source: std::io::Error },
    #[error("the phantom spec {origin} does not parse: {source}")]
    SpecParse { origin: String, source: Box<toml::de::Error> },
    #[error("the phantom spec {origin} is inconsistent: {reason}")]
    SpecInvalid { origin: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot encode the DICOM file {path}: {source}")]
    Dicom { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("cannot serialise {path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PhantomError + '_ {
    move |source| PhantomError::Io { path: path.to_owned(), source }
}

/// A lesion request checked against the spec.
struct ResolvedLesion<'a> {
    rule: &'a LesionRule,
    diameter_mm: f32,
}

/// The volume geometry shared by all patients of a run.
struct VolumeGeometry {
    grid: Grid,
    /// z of each slice in file order (decreasing), millimetres.
    z: Vec<f64>,
    thickness: f64,
    spacing: f64,
}

impl VolumeGeometry {
    fn new(spec: &PhantomSpec, rows: u16, slices: Option<u32>) -> Result<VolumeGeometry, PhantomError> {
        let g = &spec.geometry;
        let spacing = dicom::round4(g.slice_spacing_mm);
        let n = match slices {
            Some(n) => n,
            None => (g.body_length_mm / spacing).round().max(1.0) as u32,
        };
        if n == 0 || n > MAX_SLICES {
            return Err(PhantomError::InvalidOption(format!("slices must be within 1..={MAX_SLICES} (got {n})")));
        }
        let pixel = dicom::round4(g.fov_mm / f64::from(rows));
        if pixel <= 0.0 {
            return Err(PhantomError::InvalidOption(format!(
                "the spec's field of view gives no pixel spacing at {rows} rows"
            )));
        }
        let first = dicom::round4(-(f64::from(rows) - 1.0) / 2.0 * pixel);
        // Centred on the middle of the body model (w = 0.5), z_bottom = -length.
        let z_centre = -g.body_length_mm / 2.0;
        let z =
            (0..n).map(|k| dicom::round4(z_centre + ((f64::from(n) - 1.0) / 2.0 - f64::from(k)) * spacing)).collect();
        Ok(VolumeGeometry {
            grid: Grid {
                rows: usize::from(rows),
                columns: usize::from(rows),
                x0: first,
                y0: first,
                dx: pixel,
                dy: pixel,
            },
            z,
            thickness: dicom::round4(g.slice_thickness_mm),
            spacing,
        })
    }

    fn z_range(&self) -> [f64; 2] {
        let lo = self.z.iter().copied().fold(f64::MAX, f64::min);
        let hi = self.z.iter().copied().fold(f64::MIN, f64::max);
        [lo, hi]
    }
}

/// Writes the phantom series described by `options`.
pub fn generate(options: &PhantomOptions) -> Result<PhantomReport, PhantomError> {
    generate_staged(options, &StagingOptions::default())
}

/// Writes the phantom series described by `options`, with the staging findings of `staging`
/// in every patient (nothing more than [`generate`] when it is empty).
pub fn generate_staged(options: &PhantomOptions, staging: &StagingOptions) -> Result<PhantomReport, PhantomError> {
    if options.patients == 0 || options.patients > MAX_PATIENTS {
        return Err(PhantomError::InvalidOption(format!(
            "patients must be within 1..={MAX_PATIENTS} (got {})",
            options.patients
        )));
    }
    if !(MIN_ROWS..=MAX_ROWS).contains(&options.rows) {
        return Err(PhantomError::InvalidOption(format!(
            "rows must be within {MIN_ROWS}..={MAX_ROWS} (got {})",
            options.rows
        )));
    }
    if options.out.as_os_str().is_empty() {
        return Err(PhantomError::InvalidOption("no output folder".into()));
    }
    shift::check_shift(options.shift_mm)?;
    check_growth(options.growth)?;
    let spec_text = match &options.spec {
        Some(path) => {
            fs::read_to_string(path).map_err(|source| PhantomError::SpecRead { path: path.clone(), source })?
        }
        None => DEFAULT_SPEC.to_owned(),
    };
    let origin = options.spec.as_ref().map_or_else(|| "built-in spec".to_owned(), |p| p.display().to_string());
    let spec = PhantomSpec::parse(&spec_text, &origin)?;
    let lesions = resolve_lesions(&spec, &options.lesions)?;
    let staging_spec = if staging.is_empty() { None } else { Some(StagingSpec::builtin(&spec)?) };
    let lesion_organs: Vec<&str> = lesions.iter().map(|l| l.rule.organ.as_str()).collect();
    let resolved = match &staging_spec {
        Some(s) => Some(ResolvedStaging::resolve(&spec, s, staging, &lesion_organs)?),
        None => None,
    };
    let geometry = VolumeGeometry::new(&spec, options.rows, options.slices)?;
    let mut digest = options_digest(options, &spec_text, geometry.z.len());
    if !staging.is_empty() {
        digest = staging_digest(digest, staging);
    }
    let run = RunContext {
        options,
        spec: &spec,
        lesions: &lesions,
        staging: resolved.as_ref(),
        geometry: &geometry,
        shift: Shift::new(options.shift_mm),
        digest,
    };

    fs::create_dir_all(&options.out).map_err(io_error(&options.out))?;
    let series = (1..=options.patients).map(|patient| run.patient(patient)).collect::<Result<Vec<_>, _>>()?;
    Ok(PhantomReport { series })
}

fn resolve_lesions<'a>(
    spec: &'a PhantomSpec,
    requests: &[LesionRequest],
) -> Result<Vec<ResolvedLesion<'a>>, PhantomError> {
    requests
        .iter()
        .map(|request| {
            let rule = spec.lesion_rule(&request.organ).ok_or_else(|| PhantomError::UnknownLesionOrgan {
                organ: request.organ.clone(),
                known: spec.lesion_rules.iter().map(|r| r.organ.as_str()).collect::<Vec<_>>().join(", "),
            })?;
            let d = f64::from(request.diameter_mm);
            let [min_mm, max_mm] = rule.diameter_mm;
            if !d.is_finite() || d < min_mm || d > max_mm {
                return Err(PhantomError::LesionDiameterOutOfRange {
                    organ: rule.organ.clone(),
                    diameter_mm: request.diameter_mm,
                    min_mm,
                    max_mm,
                });
            }
            Ok(ResolvedLesion { rule, diameter_mm: request.diameter_mm })
        })
        .collect()
}

/// A digest of everything that shapes the pixels, so that UIDs never name two different
/// contents (the transfer syntax is left out: it changes the encoding, not the instance).
fn options_digest(options: &PhantomOptions, spec_text: &str, slices: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(spec_text.as_bytes());
    h.update(options.rows.to_le_bytes());
    h.update((slices as u64).to_le_bytes());
    h.update([u8::from(options.contrast)]);
    for lesion in &options.lesions {
        h.update(lesion.organ.to_ascii_lowercase().as_bytes());
        h.update(lesion.diameter_mm.to_le_bytes());
    }
    // Only a moved or grown patient extends the digest, so that the phantoms made before
    // these options keep their UIDs (and a cache keyed by them stays valid).
    let shift = Shift::new(options.shift_mm);
    if !shift.is_zero() || options.growth != 1.0 {
        h.update(b"elysium-phantom-shift-growth/1");
        for c in shift.mm() {
            h.update(c.to_le_bytes());
        }
        h.update(options.growth.to_le_bytes());
    }
    h.finalize().into()
}

/// The run's digest extended with the staging spec and requests (only when there are some,
/// so that phantoms without them keep their UIDs).
fn staging_digest(digest: [u8; 32], staging: &StagingOptions) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(digest);
    h.update(b"elysium-phantom-staging/1");
    h.update(DEFAULT_STAGING_SPEC.as_bytes());
    for node in &staging.nodes {
        h.update(b"node\0");
        h.update(node.to_string().to_ascii_lowercase().as_bytes());
    }
    for distant in &staging.distant {
        h.update(b"distant\0");
        h.update(distant.to_string().to_ascii_lowercase().as_bytes());
    }
    for invasion in &staging.invasion {
        h.update(b"invasion\0");
        h.update(invasion.to_string().to_ascii_lowercase().as_bytes());
    }
    h.finalize().into()
}

struct RunContext<'a> {
    options: &'a PhantomOptions,
    spec: &'a PhantomSpec,
    lesions: &'a [ResolvedLesion<'a>],
    staging: Option<&'a ResolvedStaging<'a>>,
    geometry: &'a VolumeGeometry,
    /// Where the patient lies in the scanner (`options.shift_mm`).
    shift: Shift,
    digest: [u8; 32],
}

/// The identifiers and demographics of one synthetic patient.
struct Patient {
    index: u32,
    id: String,
    name: String,
    sex: Sex,
    age_years: u32,
    birth_date: String,
    study_date: String,
    study_time: String,
    accession: String,
    study_uid: String,
    series_uid: String,
    frame_of_reference_uid: String,
}

impl RunContext<'_> {
    fn uid(&self, kind: &str, patient: u32, index: u32) -> String {
        dicom::derive_uid(&[
            &self.digest,
            &self.options.seed.to_le_bytes(),
            kind.as_bytes(),
            &patient.to_le_bytes(),
            &index.to_le_bytes(),
        ])
    }

    fn demographics(&self, index: u32) -> Patient {
        let seed = self.options.seed;
        let var = &self.spec.variation;
        let mut rng = Rng::for_stream(seed, &[stream::DEMOGRAPHICS, u64::from(index)]);
        let drawn_sex = if rng.uniform() < var.female_fraction { Sex::F } else { Sex::M };
        let forced = self.lesions.iter().find_map(|l| l.rule.patient_sex);
        let sex = forced.unwrap_or(drawn_sex);
        let [age_lo, age_hi] = var.age_range;
        let age_years = age_lo + rng.below(u64::from(age_hi - age_lo) + 1) as u32;
        let study_day = dicom::days_from_civil(2023, 1, 1) + rng.below(730) as i64;
        let (sy, sm, sd) = dicom::civil_from_days(study_day);
        let (bm, bd) = (1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
        let birthday_later = (bm, bd) > (sm, sd);
        let by = sy - i64::from(age_years) - i64::from(birthday_later);
        let seconds = 7 * 3600 + rng.below(11 * 3600);
        let accession_number = rng.below(1_000_000_000_000);
        let identity = &self.options.identity;
        Patient {
            index,
            id: identity.patient_id.clone().unwrap_or_else(|| format!("PH-{seed}-{index:04}")),
            name: identity.name.clone().unwrap_or_else(|| names::synthetic_name(seed, index, sex)),
            sex,
            age_years,
            birth_date: identity.birth_date.clone().unwrap_or_else(|| dicom::da((by, bm, bd))),
            study_date: identity.study_date.clone().unwrap_or_else(|| dicom::da((sy, sm, sd))),
            study_time: format!("{:02}{:02}{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60),
            accession: identity.accession.clone().unwrap_or_else(|| format!("PH{accession_number:012}")),
            study_uid: self.uid("study", index, 0),
            series_uid: self.uid("series", index, 0),
            frame_of_reference_uid: self.uid("frame-of-reference", index, 0),
        }
    }

    fn patient(&self, index: u32) -> Result<GeneratedSeries, PhantomError> {
        let options = self.options;
        let spec = self.spec;
        let geometry = self.geometry;
        let patient = self.demographics(index);
        let anatomy = Anatomy::build(spec, options.seed, index, patient.sex, options.contrast);
        // Findings are placed in the anatomy's frame within the slices of the unmoved scan, so
        // that the same patient (seed) has the same lesion in the same place however they lie:
        // a later scan of them shows it moved by exactly the shift (or cuts it off, where the
        // shift takes it out of the scanned slices).
        let z_range = geometry.z_range();

        let mut lesions: Vec<Lesion> = Vec::new();
        let mut invasions = Vec::new();
        for (i, request) in self.lesions.iter().enumerate() {
            let mut rng = Rng::for_stream(options.seed, &[stream::LESION, u64::from(index), i as u64]);
            let diameter = f64::from(request.diameter_mm);
            let invasion = self.staging.and_then(|s| Some((s, s.invasion_of(i)?)));
            let placed = match invasion {
                Some((staging, invasion)) => staging
                    .place_invading(
                        invasion,
                        spec,
                        &anatomy,
                        request.rule,
                        diameter,
                        options.contrast,
                        z_range,
                        &lesions,
                        &mut rng,
                    )
                    .map(|(lesion, invasion)| {
                        invasions.push(invasion);
                        lesion
                    }),
                None => {
                    place_lesion(spec, &anatomy, request.rule, diameter, options.contrast, z_range, &lesions, &mut rng)
                }
            };
            let lesion = placed.map_err(|failure| PhantomError::LesionDoesNotFit {
                organ: request.rule.organ.clone(),
                diameter_mm: request.diameter_mm,
                patient_id: patient.id.clone(),
                reason: match failure {
                    PlacementFailure::NotInScan => {
                        "the organ is not covered by the scanned slices with that margin".into()
                    }
                    PlacementFailure::NoRoom => "no position inside the organ holds it (try a smaller diameter)".into(),
                },
            })?;
            lesions.push(lesion);
        }
        let mut extras = match self.staging {
            Some(staging) => {
                let mut extras = staging
                    .place_patient(
                        spec,
                        &anatomy,
                        options.contrast,
                        z_range,
                        geometry.spacing,
                        &lesions,
                        options.seed,
                        index,
                    )
                    .map_err(|f| PhantomError::StagingDoesNotFit {
                        what: f.what,
                        patient_id: patient.id.clone(),
                        reason: match f.failure {
                            PlacementFailure::NotInScan => "it is not covered by the scanned slices".into(),
                            PlacementFailure::NoRoom => {
                                "no position in its region holds it (try a smaller size or more slices)".into()
                            }
                        },
                    })?;
                extras.invasions = invasions;
                Some(extras)
            }
            None => None,
        };
        // Grown only now, so that everything above was placed as at growth 1.0: the same
        // synthetic patient, a later study.
        if let Some(extras) = &mut extras {
            for invasion in &mut extras.invasions {
                invasion.grow(lesions[invasion.lesion].radius, options.growth);
            }
        }
        let lesions: Vec<Lesion> = lesions.into_iter().map(|l| l.grown(options.growth)).collect();

        let dir = options.out.join(&patient.id).join(&patient.series_uid);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;

        let grid = geometry.grid;
        let template = dicom::series_template(&dicom::SeriesAttributes {
            patient_name: &patient.name,
            patient_id: &patient.id,
            birth_date: &patient.birth_date,
            sex: patient.sex.code(),
            age_years: patient.age_years,
            study_uid: &patient.study_uid,
            series_uid: &patient.series_uid,
            frame_of_reference_uid: &patient.frame_of_reference_uid,
            study_date: &patient.study_date,
            study_time: &patient.study_time,
            accession: &patient.accession,
            contrast: options.contrast,
            rows: options.rows,
            columns: options.rows,
            pixel_spacing: [grid.dy, grid.dx],
            slice_thickness: geometry.thickness,
            slice_spacing: geometry.spacing,
        });
        let width = geometry.z.len().to_string().len().max(4);
        let file_names: Vec<String> = (1..=geometry.z.len()).map(|k| format!("{k:0width$}.dcm")).collect();

        let slice_labels = geometry
            .z
            .par_iter()
            .enumerate()
            .map(|(k, &z)| {
                let (labels, pixels) = self.render_slice(&anatomy, &lesions, extras.as_ref(), index, k, z);
                let path = dir.join(&file_names[k]);
                let bytes = dicom::encode_slice(
                    &template,
                    &self.uid("instance", index, k as u32),
                    k as u32 + 1,
                    [grid.x0, grid.y0, z],
                    pixels,
                    options.transfer_syntax,
                    &path,
                )?;
                fs::write(&path, bytes).map_err(io_error(&path))?;
                Ok(labels)
            })
            .collect::<Result<Vec<Vec<u8>>, PhantomError>>()?;

        let labels_path = dir.join(LABELS_FILE);
        let file = fs::File::create(&labels_path).map_err(io_error(&labels_path))?;
        let mut gz = GzEncoder::new(BufWriter::new(file), Compression::new(6));
        for labels in &slice_labels {
            gz.write_all(labels).map_err(io_error(&labels_path))?;
        }
        gz.finish().and_then(|mut w| w.flush()).map_err(io_error(&labels_path))?;
        drop(slice_labels);

        let truth = self.truth(&patient, &anatomy, &lesions, extras.as_ref(), &file_names);
        let truth_path = dir.join(TRUTH_FILE);
        let json = serde_json::to_vec_pretty(&truth)
            .map_err(|source| PhantomError::Json { path: truth_path.clone(), source })?;
        fs::write(&truth_path, json).map_err(io_error(&truth_path))?;

        Ok(GeneratedSeries {
            dir,
            patient_id: patient.id,
            study_uid: patient.study_uid,
            series_uid: patient.series_uid,
            files: file_names.len(),
            lesions: lesions.len(),
        })
    }

    /// Labels and stored pixel values (HU + 1024, 12 bits) of slice `k` at height `z` (patient
    /// coordinates: the anatomy is cut where the shift puts it).
    fn render_slice(
        &self,
        anatomy: &Anatomy,
        lesions: &[Lesion],
        extras: Option<&PatientStaging>,
        patient: u32,
        k: usize,
        z: f64,
    ) -> (Vec<u8>, Vec<u16>) {
        let grid = &self.shift.anatomy_grid(&self.geometry.grid);
        let z = self.shift.anatomy_z(z);
        let n = grid.rows * grid.columns;
        let mut noise = vec![0f32; n];
        Rng::for_stream(self.options.seed, &[stream::NOISE, u64::from(patient), k as u64]).fill_normal(&mut noise);
        if self.spec.noise.in_plane_smoothing {
            smooth_noise(&mut noise, grid.rows, grid.columns);
        }

        let mut labels = vec![0u8; n];
        anatomy.paint(z, grid, &mut labels);
        let mean = anatomy.label_hu.map(|v| v as f32);
        let sd = anatomy.label_sd.map(|v| v as f32);
        let mut hu: Vec<f32> =
            labels.iter().zip(&noise).map(|(&l, &e)| mean[usize::from(l)] + sd[usize::from(l)] * e).collect();
        if let Some(extras) = extras {
            extras.paint_nodes(z, grid, &mut labels, &mut hu, &noise);
        }
        for lesion in lesions {
            lesion.paint(z, grid, self.spec.lesions.label, &mut labels, &mut hu, &noise);
        }
        if let Some(extras) = extras {
            extras.paint_distant(z, grid, &mut labels, &mut hu, &noise);
        }
        let offset = -dicom::RESCALE_INTERCEPT as f32;
        let pixels = hu.iter().map(|&v| (v + offset).round().clamp(0.0, dicom::MAX_STORED) as u16).collect();
        (labels, pixels)
    }

    fn truth(
        &self,
        patient: &Patient,
        anatomy: &Anatomy,
        lesions: &[Lesion],
        extras: Option<&PatientStaging>,
        file_names: &[String],
    ) -> Truth {
        let g = self.geometry;
        let grid = &g.grid;
        let spec = self.spec;
        let mut labels: BTreeMap<u8, String> = BTreeMap::new();
        let mut organ_hu = BTreeMap::new();
        for organ in &spec.organs {
            labels.insert(organ.label, organ.name.clone());
            organ_hu.insert(organ.name.clone(), anatomy.label_hu[usize::from(organ.label)]);
        }
        labels.insert(spec.lesions.label, spec.lesions.name.clone());
        let z0 = g.z.first().copied().unwrap_or_default();
        let voxel = |p: [f64; 3]| [(z0 - p[2]) / g.spacing, (p[1] - grid.y0) / grid.dy, (p[0] - grid.x0) / grid.dx];
        // Anatomy points to patient millimetres (where the shift put them) and their voxel.
        let position = |p: [f64; 3]| {
            let q = self.shift.to_patient(p);
            (q, voxel(q))
        };
        let (nodes, distant, invasion) = extras.map(|e| e.truth(&position)).unwrap_or_default();
        if let Some(staging) = self.staging {
            labels.insert(staging.staging.node.label, staging.staging.node.name.clone());
            labels.insert(staging.staging.distant.label, staging.staging.distant.name.clone());
        }
        Truth {
            format: "elysium-phantom-truth",
            version: 1,
            generator: concat!("elysium-dicom ", env!("CARGO_PKG_VERSION")),
            spec_version: spec.version,
            seed: self.options.seed,
            patient_index: patient.index,
            patient_id: patient.id.clone(),
            patient_name: patient.name.clone(),
            patient_sex: patient.sex.code(),
            patient_age_years: patient.age_years,
            patient_birth_date: patient.birth_date.clone(),
            study_date: patient.study_date.clone(),
            accession_number: patient.accession.clone(),
            study_uid: patient.study_uid.clone(),
            series_uid: patient.series_uid.clone(),
            frame_of_reference_uid: patient.frame_of_reference_uid.clone(),
            sop_class_uid: uids::CT_IMAGE_STORAGE,
            transfer_syntax_uid: self.options.transfer_syntax.uid(),
            contrast: self.options.contrast,
            shift_mm: self.shift.mm(),
            growth: self.options.growth,
            body: anatomy.body,
            geometry: TruthGeometry {
                rows: grid.rows,
                columns: grid.columns,
                slices: g.z.len(),
                pixel_spacing_mm: [grid.dy, grid.dx],
                slice_thickness_mm: g.thickness,
                slice_spacing_mm: g.spacing,
                origin_mm: [grid.x0, grid.y0, z0],
                orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                slice_direction: [0.0, 0.0, -1.0],
                slice_z_mm: g.z.clone(),
            },
            files: file_names.to_vec(),
            labels_file: LABELS_FILE,
            labels_dtype: "uint8",
            labels_order: "z,y,x",
            labels,
            organ_hu,
            lesions: lesions
                .iter()
                .map(|l| TruthLesion {
                    organ: l.organ.clone(),
                    class: l.class.clone(),
                    label: spec.lesions.label,
                    organ_label: l.host_label,
                    shape: l.shape,
                    centre_mm: position(l.centre).0,
                    centre_voxel: position(l.centre).1,
                    diameter_mm: 2.0 * l.radius,
                    hu_offset: l.hu_offset,
                    organ_hu: l.organ_hu,
                    hu_mean: l.mean_hu(),
                    lobes: l
                        .lobes
                        .iter()
                        .map(|&(centre, radius_mm)| TruthLobe { centre_mm: position(centre).0, radius_mm })
                        .collect(),
                })
                .collect(),
            nodes,
            distant,
            invasion,
        }
    }
}

/// In-plane [1, 2, 1] / 4 filter on both axes (edges clamped), rescaled to unit variance.
fn smooth_noise(noise: &mut [f32], rows: usize, columns: usize) {
    const GAIN: f32 = 8.0 / 3.0;
    let mut tmp = vec![0f32; noise.len()];
    for r in 0..rows {
        let row = &noise[r * columns..(r + 1) * columns];
        let out = &mut tmp[r * columns..(r + 1) * columns];
        for c in 0..columns {
            let left = row[c.saturating_sub(1)];
            let right = row[(c + 1).min(columns - 1)];
            out[c] = 0.25 * (left + 2.0 * row[c] + right);
        }
    }
    for r in 0..rows {
        let up = r.saturating_sub(1) * columns;
        let down = (r + 1).min(rows - 1) * columns;
        let here = r * columns;
        for c in 0..columns {
            noise[here + c] = GAIN * 0.25 * (tmp[up + c] + 2.0 * tmp[here + c] + tmp[down + c]);
        }
    }
}

fn is_zero_shift(shift_mm: &[f64; 3]) -> bool {
    Shift::new(*shift_mm).is_zero()
}

fn is_no_growth(growth: &f64) -> bool {
    *growth == 1.0
}

const LABELS_FILE: &str = "labels.u8.gz";
const TRUTH_FILE: &str = "truth.json";

#[derive(Serialize)]
struct Truth {
    format: &'static str,
    version: u32,
    generator: &'static str,
    spec_version: u32,
    seed: u64,
    patient_index: u32,
    patient_id: String,
    patient_name: String,
    patient_sex: &'static str,
    patient_age_years: u32,
    patient_birth_date: String,
    study_date: String,
    accession_number: String,
    study_uid: String,
    series_uid: String,
    frame_of_reference_uid: String,
    sop_class_uid: &'static str,
    transfer_syntax_uid: &'static str,
    contrast: bool,
    /// The patient's translation in the scanner (`PhantomOptions::shift_mm`): every position
    /// below is in patient coordinates, the shift included. Left out when none (so that such
    /// phantoms stay byte-identical to those made before the option), as is `growth`.
    #[serde(skip_serializing_if = "is_zero_shift")]
    shift_mm: [f64; 3],
    /// The factor applied to every requested lesion's diameter (`PhantomOptions::growth`).
    #[serde(skip_serializing_if = "is_no_growth")]
    growth: f64,
    /// The patient's body frame (normalised body coordinates to millimetres), before the shift.
    body: anatomy::Body,
    geometry: TruthGeometry,
    /// DICOM file names in slice order (z index 0 first).
    files: Vec<String>,
    labels_file: &'static str,
    labels_dtype: &'static str,
    labels_order: &'static str,
    /// Label names by id (JSON object keys are strings: "0", "1", ...).
    labels: BTreeMap<u8, String>,
    /// This patient's mean HU by organ (spec mean, phase, and per-patient jitter).
    organ_hu: BTreeMap<String, f64>,
    lesions: Vec<TruthLesion>,
    /// Staging findings (`generate_staged`); left out when none was requested.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<staging::TruthNode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    distant: Vec<staging::TruthDistant>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invasion: Vec<staging::TruthInvasion>,
}

#[derive(Serialize)]
struct TruthGeometry {
    rows: usize,
    columns: usize,
    slices: usize,
    /// Row spacing (y), column spacing (x), as in PixelSpacing.
    pixel_spacing_mm: [f64; 2],
    slice_thickness_mm: f64,
    slice_spacing_mm: f64,
    /// ImagePositionPatient of the first slice (z index 0).
    origin_mm: [f64; 3],
    orientation: [f64; 6],
    /// Direction of increasing z index, patient coordinates.
    slice_direction: [f64; 3],
    slice_z_mm: Vec<f64>,
}

#[derive(Serialize)]
struct TruthLesion {
    organ: String,
    class: String,
    label: u8,
    organ_label: u8,
    shape: LesionShape,
    centre_mm: [f64; 3],
    /// [z index, row, column], fractional.
    centre_voxel: [f64; 3],
    /// As painted: the requested diameter × `growth`.
    diameter_mm: f64,
    hu_offset: f64,
    organ_hu: f64,
    hu_mean: f64,
    lobes: Vec<TruthLobe>,
}

#[derive(Serialize)]
struct TruthLobe {
    centre_mm: [f64; 3],
    radius_mm: f64,
}
