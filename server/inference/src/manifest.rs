//! A model is data: a folder with `model.onnx`, `manifest.toml`, `MODEL_CARD.md` and the script
//! that produced it. The manifest says what the network expects and what its outputs mean; it is
//! checked when the model is loaded (the ONNX file's SHA-256 must match, the shapes and labels
//! must agree), and a model that fails a check is refused rather than run.
//!
//! The preprocessing grid is either fixed (`size`, a whole-grid network's input) or, for a
//! sliding-window model, follows the scan: the scan resampled whole at the target spacing, as
//! nnU-Net-class models are trained, up to `max_size` voxels per axis so that one long scan cannot
//! exhaust memory. Such a manifest declares its label map's and heatmap's shapes for that largest
//! grid; each case's maps have the shape of its own grid.
//!
//! A sliding-window screening model may be a two-stage cascade (`[cascade]`, see
//! [`CascadeSpec`]): a second, low-resolution ONNX network in the same folder finds the organs on
//! a fixed coarse grid, and the main network is tiled only around them. Its file is verified like
//! the main one's.

use std::path::{Path, PathBuf};

use elysium_dicom::volume::Volume;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid manifest: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "{name} {version}: the ONNX file's SHA-256 is {actual}, the manifest says {expected}; the model is refused"
    )]
    ChecksumMismatch { name: String, version: String, expected: String, actual: String },
    #[error(
        "{name} {version}: the cascade's first stage {file}'s SHA-256 is {actual}, the manifest says {expected}; the model is refused"
    )]
    CascadeChecksumMismatch { name: String, version: String, file: String, expected: String, actual: String },
    #[error("{name} {version}: {problem}")]
    Inconsistent { name: String, version: String, problem: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Screening,
    Staging,
    Biomarker,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Screening => "screening",
            Task::Staging => "staging",
            Task::Biomarker => "biomarker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub task: Task,
    /// Staging models: the cancer they stage (`lung`, `liver`, ... as the staging rules name it)
    /// and the TNM edition of their labels (`ajcc8` when absent). Checked against the staging
    /// rules when the registry is built, since this crate does not know them.
    #[serde(default)]
    pub cancer: Option<String>,
    #[serde(default)]
    pub edition: Option<String>,
    /// The ONNX file, relative to the model's folder.
    pub onnx: String,
    pub sha256: String,
    pub opset: u32,
    /// `false` for anything that was not validated clinically (the reference model).
    pub clinical_use: bool,
    #[serde(default)]
    pub description: String,
    pub input: InputSpec,
    pub preprocessing: Preprocessing,
    /// What a series must be for the model to screen it, beyond the general eligibility rules.
    #[serde(default)]
    pub requirements: Requirements,
    pub outputs: Vec<OutputSpec>,
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// Patch-based inference over the preprocessed grid (nnU-Net-class networks); absent for a
    /// network that takes the whole grid at once.
    #[serde(default)]
    pub sliding_window: Option<SlidingWindowSpec>,
    /// A first, low-resolution stage that finds the organs, so that the sliding window tiles
    /// only the region around them; absent for a single-stage model.
    #[serde(default)]
    pub cascade: Option<CascadeSpec>,
}

/// The first stage of a two-stage cascade (nnU-Net's low-resolution stage): a whole-grid network
/// on a fixed grid of its own, centred on the volume like a fixed preprocessing grid and made by
/// the main `[preprocessing]` with only `size` and `target_spacing_mm` replaced, whose int64
/// label map (`[1, size / stride]`) names organs. The main network is then tiled over the box of
/// the `organs` voxels widened by `margin_mm` (within the body box when `crop_to_body_hu` is
/// set); when none is found the main network is not run and every output is background, no
/// lesion. Only a sliding-window screening model can be a cascade: a whole-grid network has no
/// box to restrict.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CascadeSpec {
    /// The first stage's ONNX file, relative to the model's folder.
    pub onnx: String,
    pub sha256: String,
    /// Its input's name; the input's shape is `[1, 1, size]`.
    pub input: String,
    /// Its output's name: an int64 label map `[1, size z / stride, size y / stride, size x / stride]`.
    pub output: String,
    /// Its fixed grid, z, y, x (voxels).
    pub size: [usize; 3],
    /// Its grid's spacing, z, y, x (mm).
    pub target_spacing_mm: [f64; 3],
    /// Grid voxels per label voxel along each axis.
    #[serde(default = "one")]
    pub stride: usize,
    /// The name of each label value (value `i` is `labels[i]`).
    pub labels: Vec<String>,
    /// The labels around which the second stage runs.
    pub organs: Vec<String>,
    /// Added around the organs' box on every side (mm).
    pub margin_mm: f64,
}

impl CascadeSpec {
    /// The first stage's preprocessing: `main`'s, on this stage's fixed grid.
    pub fn preprocessing(&self, main: &Preprocessing) -> Preprocessing {
        Preprocessing {
            size: Some(self.size),
            max_size: None,
            target_spacing_mm: self.target_spacing_mm,
            ..main.clone()
        }
    }

    /// The label values of `organs`.
    pub fn organ_values(&self) -> Vec<i64> {
        self.labels.iter().enumerate().filter(|(_, l)| self.organs.contains(l)).map(|(i, _)| i as i64).collect()
    }

    /// The label map's shape: `[1, size / stride]`.
    pub fn label_shape(&self) -> [usize; 4] {
        let stride = self.stride.max(1);
        [1, self.size[0] / stride, self.size[1] / stride, self.size[2] / stride]
    }
}

/// How a patch-based network runs (see `crate::sliding`): its input is one patch (`input.shape`
/// is `[1, 1, patch]`, the batch free), and its one per-voxel output `output` has, per voxel,
/// the probability of each of the organ label map's labels (in its order) and then a lesion
/// probability for each of the class-probability labels (in their order). After blending over
/// the grid, the manifest's outputs are made from it: the organ label map is the most probable
/// label per voxel, each class probability is the highest of its lesion map over the grid (the
/// lesion evidence), and the lesion heatmap is the highest lesion probability per voxel. The
/// label map and the heatmap are then at the grid's resolution (stride 1): with a fixed `size`
/// their shapes are the manifest's; with a grid that follows the scan the manifest declares them
/// for `max_size`, and each case's have the manifest's leading dimensions followed by its grid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingWindowSpec {
    /// z, y, x (voxels of the grid).
    pub patch: [usize; 3],
    pub overlap: f64,
    #[serde(default = "gaussian")]
    pub blend: crate::sliding::Blend,
    #[serde(default = "one_eighth")]
    pub sigma_scale: f64,
    /// Spatial axes mirrored for test-time augmentation (0 = z, 1 = y, 2 = x).
    #[serde(default)]
    pub mirror_axes: Vec<usize>,
    /// Patches per network call.
    #[serde(default = "one")]
    pub batch: usize,
    /// The network's per-voxel output.
    pub output: String,
    /// Tile only the box holding every grid voxel above this attenuation (HU), so that the air
    /// around the body is never inferred; outside it every voxel is the label map's first label
    /// (`background`, which the manifest must then list first) with no lesion.
    #[serde(default)]
    pub crop_to_body_hu: Option<f64>,
}

fn gaussian() -> crate::sliding::Blend {
    crate::sliding::Blend::Gaussian
}

fn one_eighth() -> f64 {
    0.125
}

fn one() -> usize {
    1
}

impl SlidingWindowSpec {
    pub fn window(&self) -> crate::sliding::Window {
        crate::sliding::Window {
            patch: self.patch,
            overlap: self.overlap,
            blend: self.blend,
            sigma_scale: self.sigma_scale,
            mirror_axes: self.mirror_axes.clone(),
            batch: self.batch,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    /// N, C, Z, Y, X.
    pub shape: [usize; 5],
}

/// The model's input domain: series outside it are skipped, never screened.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Shortest scan (slices × slice spacing, along the slice normal) the model was made for:
    /// a network trained on whole chest-abdomen scans says nothing sensible about a short one.
    #[serde(default)]
    pub min_scan_length_mm: Option<f64>,
}

impl Requirements {
    /// Why `volume` is outside the model's domain, if it is.
    pub fn unmet(&self, volume: &elysium_dicom::volume::Volume) -> Option<String> {
        let length = volume.slices as f64 * volume.spacing[2];
        match self.min_scan_length_mm {
            Some(min) if length < min => {
                Some(format!("the scan covers {length:.0} mm along the body; this model needs at least {min:.0} mm"))
            }
            _ => None,
        }
    }
}

/// How a HU volume becomes the network's input (see `preprocess`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// z, y, x (mm).
    pub target_spacing_mm: [f64; 3],
    /// z, y, x (voxels): a fixed grid, whatever the scan's size, as a whole-grid network needs.
    /// Absent for a sliding-window model whose grid follows the scan (see [`Self::grid_size`]).
    #[serde(default)]
    pub size: Option<[usize; 3]>,
    /// z, y, x (voxels): the largest grid that follows the scan, a bound on the memory one case
    /// takes; a longer scan is covered by a centred window of this size. Only without `size`.
    #[serde(default)]
    pub max_size: Option<[usize; 3]>,
    pub orientation: Orientation,
    pub interpolation: Interpolation,
    pub hu_clip: [f64; 2],
    pub fill_hu: f64,
    pub normalisation: Normalisation,
}

impl Preprocessing {
    /// The grid `volume` is resampled to, z, y, x: the fixed `size`, or else per axis the
    /// smallest centred grid at the target spacing that covers the scan from its first voxel
    /// centre to its last, capped at `max_size`. The one place grid sizes are decided, so that
    /// the input, the runtime's tiling and the post-processing agree. A hand-built value with
    /// neither `size` nor `max_size` (which [`Manifest::parse`] refuses) follows the scan uncapped.
    pub fn grid_size(&self, volume: &Volume) -> [usize; 3] {
        if let Some(size) = self.size {
            return size;
        }
        // `Volume.spacing` is x, y, z; grids are z, y, x.
        let [sx, sy, sz] = volume.spacing;
        let dims = [volume.slices, volume.rows, volume.columns];
        let spacing = [sz, sy, sx];
        std::array::from_fn(|a| {
            let covering = covering_voxels(dims[a], spacing[a], self.target_spacing_mm[a]);
            self.max_size.map_or(covering, |max| covering.min(max[a]))
        })
    }

    /// Whether `grid` is one this preprocessing makes: the fixed `size`, or a grid with voxels
    /// that is within `max_size` (a runtime check on what callers pass).
    pub fn fits(&self, grid: [usize; 3]) -> bool {
        match (self.size, self.max_size) {
            (Some(size), _) => grid == size,
            (None, max) => !grid.contains(&0) && max.is_none_or(|max| grid.iter().zip(max).all(|(g, m)| *g <= m)),
        }
    }
}

/// Along one axis, the voxels at spacing `target` of the smallest centred grid whose extent
/// covers `n` voxels at spacing `spacing` from the first centre to the last:
/// `ceil((n - 1) · spacing / target) + 1`, the 1e-9 keeping an exact multiple from gaining a
/// voxel by rounding.
fn covering_voxels(n: usize, spacing: f64, target: f64) -> usize {
    let extent = n.saturating_sub(1) as f64 * spacing / target;
    // A float-to-integer `as` saturates (and reads NaN as 0): no input makes this panic.
    ((extent - 1e-9).ceil().max(0.0) as usize).saturating_add(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// The volume as loaded: slices ascending along the normal (caudal first), rows, columns.
    Volume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    Trilinear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// `(clip(hu) - lo) / (hi - lo)`.
    ClipMinmax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// One probability per `organ/class` label.
    ClassProbabilities,
    /// A coarse organ label per voxel (`labels` names each value).
    OrganLabelMap,
    /// A per-voxel lesion probability.
    LesionHeatmap,
    /// A staging model's probabilities over one TNM category's values (`category` says which:
    /// `t`, `n` or `m`; `labels` are the AJCC categories, e.g. `T1a`).
    CategoryProbabilities,
}

/// The TNM categories a staging model may declare an output for.
pub const STAGING_CATEGORIES: [&str; 3] = ["t", "n", "m"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub name: String,
    pub kind: OutputKind,
    pub shape: Vec<usize>,
    /// Label maps and heatmaps: voxels of the input grid per output voxel along each axis.
    #[serde(default)]
    pub stride: Option<usize>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// Category probabilities: which TNM category (`t`, `n` or `m`).
    #[serde(default)]
    pub category: Option<String>,
    /// Lesion heatmaps: how a positive organ's lesion centre is read from the map (`peak` when
    /// absent). A model whose heatmap saturates over the lesion declares `region`, since the
    /// peak of a plateau can sit anywhere on it.
    #[serde(default)]
    pub locate: Option<LesionLocation>,
}

/// How the lesion's centre is read from a heatmap, once the organ's hottest voxel (the peak) is
/// found. Written `locate = { rule = "region", fraction = 0.5 }` in an output.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Default)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum LesionLocation {
    /// The heat-weighted centre of the peak's 3 × 3 × 3 neighbourhood.
    #[default]
    Peak,
    /// The heat-weighted centre of the region connected to the peak (6-connectivity, not limited
    /// to the organ's label: a tumour is often labelled as something else) whose heat is at
    /// least `fraction` of the peak's.
    Region { fraction: f32 },
}

/// An operating threshold for one `organ/class` output, with what it was calibrated for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub organ: String,
    pub class: String,
    pub threshold: f64,
    /// The specificity the threshold was chosen for.
    pub specificity: f64,
    #[serde(default)]
    pub measured_specificity: Option<f64>,
    #[serde(default)]
    pub sensitivity: Option<f64>,
    #[serde(default)]
    pub auc: Option<f64>,
    /// Set by an administrator over the manifest's value (see
    /// [`Manifest::with_operating_thresholds`]); the calibration figures are the manifest's.
    #[serde(skip)]
    pub operating: bool,
}

/// A manifest whose ONNX file was found and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedModel {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub onnx_path: PathBuf,
    /// The cascade's first stage's ONNX file, verified like the main one; `None` without a
    /// `[cascade]`.
    pub cascade_onnx_path: Option<PathBuf>,
}

impl Manifest {
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse { path: path.to_owned(), message: e.to_string() })?;
        manifest.check()?;
        Ok(manifest)
    }

    fn inconsistent(&self, problem: impl Into<String>) -> ManifestError {
        ManifestError::Inconsistent { name: self.name.clone(), version: self.version.clone(), problem: problem.into() }
    }

    /// The checks that need no file: shapes, labels and thresholds agree with each other. The
    /// label map's and heatmap's shapes are checked against the largest grid a case can get: the
    /// fixed `size`, or `max_size` for a grid that follows the scan.
    fn check(&self) -> Result<(), ManifestError> {
        let largest = self.check_grid()?;
        let [n, c, z, y, x] = self.input.shape;
        match &self.sliding_window {
            None if n != 1 || c != 1 || Some([z, y, x]) != self.preprocessing.size => {
                return Err(self.inconsistent("the input shape must be [1, 1, size z, size y, size x]"));
            }
            Some(sliding) => self.check_sliding(sliding)?,
            None => {}
        }
        if let Some(cascade) = &self.cascade {
            self.check_cascade(cascade)?;
        }
        if self.preprocessing.target_spacing_mm.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(self.inconsistent("target spacing must be positive"));
        }
        if self.requirements.min_scan_length_mm.is_some_and(|l| !(l.is_finite() && l > 0.0)) {
            return Err(self.inconsistent("min_scan_length_mm must be positive"));
        }
        let [lo, hi] = self.preprocessing.hu_clip;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(self.inconsistent("hu_clip must be [low, high] with low < high"));
        }
        if self.task == Task::Staging {
            return self.check_staging();
        }
        if self.cancer.is_some() || self.edition.is_some() {
            return Err(self.inconsistent("cancer and edition belong to staging models"));
        }
        let classes = self
            .output(OutputKind::ClassProbabilities)
            .ok_or_else(|| self.inconsistent("no class_probabilities output"))?;
        if classes.shape.iter().product::<usize>() != classes.labels.len() {
            return Err(self.inconsistent("class_probabilities: one label per probability"));
        }
        for label in &classes.labels {
            if label.split_once('/').is_none() {
                return Err(self.inconsistent(format!("class label `{label}` is not organ/class")));
            }
        }
        for output in &self.outputs {
            match output.locate {
                Some(_) if output.kind != OutputKind::LesionHeatmap => {
                    return Err(self.inconsistent(format!("{}: only a lesion heatmap has a locate rule", output.name)));
                }
                Some(LesionLocation::Region { fraction }) if !(fraction > 0.0 && fraction <= 1.0) => {
                    return Err(self.inconsistent(format!("{}: the region's fraction must be in (0, 1]", output.name)));
                }
                _ => {}
            }
            if matches!(output.kind, OutputKind::OrganLabelMap | OutputKind::LesionHeatmap) {
                let stride = output.stride.unwrap_or(1);
                let grid: Vec<usize> = output.shape.iter().rev().take(3).rev().copied().collect();
                let expected: Vec<usize> = largest.iter().map(|s| s / stride).collect();
                if grid != expected {
                    return Err(self.inconsistent(format!(
                        "{}: its last three dimensions must be size / stride (max_size for a grid that follows the scan)",
                        output.name
                    )));
                }
            }
        }
        for t in &self.thresholds {
            if !classes.labels.contains(&format!("{}/{}", t.organ, t.class)) {
                return Err(self.inconsistent(format!("threshold for unknown output {}/{}", t.organ, t.class)));
            }
            if !(0.0..=1.0).contains(&t.threshold) || !(0.0..=1.0).contains(&t.specificity) {
                return Err(self.inconsistent(format!("threshold {}/{} out of [0, 1]", t.organ, t.class)));
            }
        }
        Ok(())
    }

    /// The grid is fixed (`size`) or follows the scan up to `max_size`, never both; only a
    /// sliding-window network, whose patch tiles any grid, can take a grid that follows the scan.
    /// Returns the largest grid a case can get, which the maps' shapes are declared for.
    fn check_grid(&self) -> Result<[usize; 3], ManifestError> {
        match (self.preprocessing.size, self.preprocessing.max_size) {
            (Some(_), Some(_)) => Err(self.inconsistent(
                "preprocessing: `size` fixes the grid and `max_size` bounds a grid that follows the scan; declare one, not both",
            )),
            (None, _) if self.sliding_window.is_none() => Err(self.inconsistent(
                "preprocessing: without `size` the grid follows the scan, which only a sliding-window model can take: declare `size` or `[sliding_window]`",
            )),
            (None, None) => Err(self.inconsistent(
                "preprocessing: a grid that follows the scan needs `max_size` = [z, y, x], the largest grid (a memory bound)",
            )),
            (Some(largest), None) | (None, Some(largest)) => Ok(largest),
        }
    }

    /// A patch-based network: a window that tiles, an input of one patch, a grid that follows the
    /// scan no smaller than the patch at its largest, and the outputs its per-voxel output is made
    /// into (a label map and, if any, a heatmap at stride 1).
    fn check_sliding(&self, sliding: &SlidingWindowSpec) -> Result<(), ManifestError> {
        sliding.window().check().map_err(|e| self.inconsistent(format!("sliding_window: {e}")))?;
        let [n, c, z, y, x] = self.input.shape;
        if n != 1 || c != 1 || [z, y, x] != sliding.patch {
            return Err(self.inconsistent("a sliding-window input shape must be [1, 1, patch z, patch y, patch x]"));
        }
        if let Some(max) = self.preprocessing.max_size
            && max.iter().zip(sliding.patch).any(|(m, p)| *m < p)
        {
            return Err(self.inconsistent("preprocessing: max_size must be at least the patch along each axis"));
        }
        if self.task != Task::Screening {
            return Err(self.inconsistent("sliding-window inference is for screening models"));
        }
        if sliding.output.is_empty() || self.outputs.iter().any(|o| o.name == sliding.output) {
            return Err(
                self.inconsistent("sliding_window.output names the network's own output, not a manifest output")
            );
        }
        let Some(label_map) = self.output(OutputKind::OrganLabelMap) else {
            return Err(self.inconsistent("a sliding-window model needs an organ_label_map (its first channels)"));
        };
        if let Some(hu) = sliding.crop_to_body_hu
            && (!hu.is_finite() || label_map.labels.first().map(String::as_str) != Some("background"))
        {
            return Err(
                self.inconsistent("crop_to_body_hu is an attenuation, and the label map must list `background` first")
            );
        }
        for output in &self.outputs {
            if matches!(output.kind, OutputKind::OrganLabelMap | OutputKind::LesionHeatmap)
                && output.stride.unwrap_or(1) != 1
            {
                return Err(
                    self.inconsistent(format!("{}: blended maps are at the grid's resolution (stride 1)", output.name))
                );
            }
        }
        Ok(())
    }

    /// A cascade's first stage: only before a sliding window, a well-formed checksum, a grid the
    /// stride divides, a positive spacing, and organs among its labels around which a finite,
    /// non-negative margin is added.
    fn check_cascade(&self, cascade: &CascadeSpec) -> Result<(), ManifestError> {
        let refused = |problem: &str| Err(self.inconsistent(format!("cascade: {problem}")));
        if self.sliding_window.is_none() {
            return refused("only a sliding-window model can be a cascade: declare `[sliding_window]`");
        }
        if !is_sha256(&cascade.sha256) {
            return refused("sha256 must be 64 hexadecimal digits");
        }
        if cascade.input.is_empty() || cascade.output.is_empty() {
            return refused("the first stage's input and output need names");
        }
        if cascade.size.contains(&0) {
            return refused("size must be at least 1 voxel along each axis");
        }
        if cascade.stride == 0 || cascade.size.iter().any(|s| s % cascade.stride != 0) {
            return refused("stride must be at least 1 and divide size along each axis");
        }
        if cascade.target_spacing_mm.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return refused("target spacing must be positive");
        }
        if !(cascade.margin_mm.is_finite() && cascade.margin_mm >= 0.0) {
            return refused("margin_mm must be a finite length, at least 0");
        }
        if cascade.organs.is_empty() {
            return refused("name at least one organ for the second stage");
        }
        for organ in &cascade.organs {
            if organ == "background" || !cascade.labels.contains(organ) {
                return refused(&format!("organ `{organ}` is not one of the first stage's labels (background aside)"));
            }
        }
        Ok(())
    }

    /// `hu` as the network sees it after the manifest's normalisation.
    pub fn normalised(&self, hu: f64) -> f32 {
        let [lo, hi] = self.preprocessing.hu_clip;
        match self.preprocessing.normalisation {
            Normalisation::ClipMinmax => ((hu.clamp(lo, hi) - lo) / (hi - lo)) as f32,
        }
    }

    /// A patch-based network's channels per voxel: the organ labels, then the classes.
    pub fn sliding_channels(&self) -> Option<(usize, usize)> {
        self.sliding_window.as_ref()?;
        let organs = self.output(OutputKind::OrganLabelMap)?.labels.len();
        let classes = self.output(OutputKind::ClassProbabilities)?.labels.len();
        Some((organs, classes))
    }

    /// A staging model: the cancer it stages, one category-probability output per TNM category
    /// it proposes (any of T, N and M; the others come from the measurement rules), one label per
    /// probability, and no screening thresholds.
    fn check_staging(&self) -> Result<(), ManifestError> {
        if self.cancer.as_deref().is_none_or(str::is_empty) {
            return Err(self.inconsistent("a staging model names the cancer it stages"));
        }
        if !self.thresholds.is_empty() {
            return Err(self.inconsistent("a staging model has no screening thresholds"));
        }
        let mut seen = Vec::new();
        for output in &self.outputs {
            if output.kind != OutputKind::CategoryProbabilities {
                return Err(
                    self.inconsistent(format!("{}: a staging model's outputs are category_probabilities", output.name))
                );
            }
            let category = output.category.as_deref().unwrap_or_default();
            if !STAGING_CATEGORIES.contains(&category) {
                return Err(self.inconsistent(format!("{}: category must be t, n or m", output.name)));
            }
            if seen.contains(&category) {
                return Err(self.inconsistent(format!("two outputs for category {category}")));
            }
            seen.push(category);
            if output.labels.is_empty() || output.shape.iter().product::<usize>() != output.labels.len() {
                return Err(self.inconsistent(format!("{}: one label per probability", output.name)));
            }
            if output.labels.iter().enumerate().any(|(i, l)| output.labels[..i].contains(l)) {
                return Err(self.inconsistent(format!("{}: a label appears twice", output.name)));
            }
        }
        if seen.is_empty() {
            return Err(self.inconsistent("a staging model declares at least one category_probabilities output"));
        }
        Ok(())
    }

    /// A staging model's output for `category` (`t`, `n` or `m`), if it proposes that category.
    pub fn category_output(&self, category: &str) -> Option<&OutputSpec> {
        self.outputs
            .iter()
            .find(|o| o.kind == OutputKind::CategoryProbabilities && o.category.as_deref() == Some(category))
    }

    pub fn output(&self, kind: OutputKind) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.kind == kind)
    }

    /// This manifest with administrators' operating thresholds `(organ, class, threshold)` in
    /// place of its own. An output the manifest has no threshold for stays unthresholded: an
    /// operating threshold adjusts a calibrated output, it does not make one.
    pub fn with_operating_thresholds(&self, operating: &[(String, String, f64)]) -> Manifest {
        let mut manifest = self.clone();
        for t in &mut manifest.thresholds {
            if let Some((_, _, value)) =
                operating.iter().find(|(organ, class, _)| *organ == t.organ && *class == t.class)
            {
                t.threshold = *value;
                t.operating = true;
            }
        }
        manifest
    }

    pub fn threshold(&self, organ: &str, class: &str) -> Option<&Threshold> {
        self.thresholds.iter().find(|t| t.organ == organ && t.class == class)
    }
}

/// Reads `dir/manifest.toml` and verifies the ONNX file's checksum, and the cascade's first
/// stage's when there is one.
pub fn load(dir: &Path) -> Result<VerifiedModel, ManifestError> {
    let path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io { path: path.clone(), source })?;
    let manifest = Manifest::parse(&text, &path)?;
    let onnx_path = manifest.file_in(dir, &manifest.onnx)?;
    let actual = sha256_of(&onnx_path)?;
    if !actual.eq_ignore_ascii_case(manifest.sha256.trim()) {
        return Err(ManifestError::ChecksumMismatch {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            expected: manifest.sha256.clone(),
            actual,
        });
    }
    let cascade_onnx_path = match &manifest.cascade {
        Some(cascade) => {
            let path = manifest.file_in(dir, &cascade.onnx)?;
            let actual = sha256_of(&path)?;
            if !actual.eq_ignore_ascii_case(cascade.sha256.trim()) {
                return Err(ManifestError::CascadeChecksumMismatch {
                    name: manifest.name.clone(),
                    version: manifest.version.clone(),
                    file: cascade.onnx.clone(),
                    expected: cascade.sha256.clone(),
                    actual,
                });
            }
            Some(path)
        }
        None => None,
    };
    Ok(VerifiedModel { manifest, dir: dir.to_owned(), onnx_path, cascade_onnx_path })
}

impl Manifest {
    /// `file` in the model's folder `dir`, refused when it would leave the folder.
    fn file_in(&self, dir: &Path, file: &str) -> Result<PathBuf, ManifestError> {
        if file.contains("..") || Path::new(file).is_absolute() {
            return Err(self.inconsistent("the ONNX path must stay inside the model's folder"));
        }
        Ok(dir.join(file))
    }
}

/// The SHA-256 of the file at `path`, in lowercase hexadecimal.
fn sha256_of(path: &Path) -> Result<String, ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io { path: path.to_owned(), source })?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Whether `text` is a SHA-256 as a manifest writes it: 64 hexadecimal digits.
fn is_sha256(text: &str) -> bool {
    let text = text.trim();
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Every model folder under `root` (folders with a `manifest.toml`), each loaded or refused.
pub fn discover(root: &Path) -> Vec<Result<VerifiedModel, ManifestError>> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.join("manifest.toml").is_file()).collect();
    dirs.sort();
    dirs.iter().map(|d| load(d)).collect()
}

/// Semantic versions compared number by number ("0.10.0" after "0.9.1").
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| v.split(['.', '-']).map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parts(a).cmp(&parts(b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
name = "tiny"
version = "0.0.1"
task = "screening"
onnx = "model.onnx"
sha256 = "SHA"
opset = 17
clinical_use = false

[input]
name = "ct"
shape = [1, 1, 4, 4, 4]

[preprocessing]
target_spacing_mm = [2.0, 2.0, 2.0]
size = [4, 4, 4]
orientation = "volume"
interpolation = "trilinear"
hu_clip = [-1000.0, 1000.0]
fill_hu = -1000.0
normalisation = "clip_minmax"

[[outputs]]
name = "class_probabilities"
kind = "class_probabilities"
shape = [1, 2]
labels = ["lung/Cancer", "liver/HCC"]

[[outputs]]
name = "organ_labels"
kind = "organ_label_map"
shape = [1, 2, 2, 2]
stride = 2
labels = ["background", "liver"]

[[thresholds]]
organ = "liver"
class = "HCC"
threshold = 0.4
specificity = 0.99
"#;

    fn write_model(dir: &Path, onnx: &[u8], sha: &str) {
        std::fs::write(dir.join("model.onnx"), onnx).expect("onnx");
        std::fs::write(dir.join("manifest.toml"), EXAMPLE.replace("SHA", sha)).expect("manifest");
    }

    #[test]
    fn a_model_loads_when_its_checksum_matches() {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("tiny");
        std::fs::create_dir(&dir).expect("model folder");
        std::fs::create_dir(root.path().join("not-a-model")).expect("other folder");
        let sha = hex(&Sha256::digest(b"not really onnx"));
        write_model(&dir, b"not really onnx", &sha);
        let model = load(&dir).expect("loads");
        assert_eq!(model.manifest.name, "tiny");
        assert_eq!(model.manifest.threshold("liver", "HCC").map(|t| t.threshold), Some(0.4));
        let found = discover(root.path());
        assert_eq!(found.len(), 1, "only folders with a manifest are models");
        assert!(found[0].is_ok());
    }

    #[test]
    fn operating_thresholds_replace_only_calibrated_outputs() {
        let manifest = Manifest::parse(&EXAMPLE.replace("SHA", "x"), Path::new("manifest.toml")).expect("parses");
        let operating = [("liver".to_owned(), "HCC".to_owned(), 0.25), ("kidney".to_owned(), "RCC".to_owned(), 0.1)];
        let adjusted = manifest.with_operating_thresholds(&operating);
        let liver = adjusted.threshold("liver", "HCC").expect("liver");
        assert_eq!((liver.threshold, liver.operating, liver.specificity), (0.25, true, 0.99));
        assert!(adjusted.threshold("kidney", "RCC").is_none(), "no calibrated output: none made");
        assert_eq!(manifest.threshold("liver", "HCC").map(|t| (t.threshold, t.operating)), Some((0.4, false)));
    }

    #[test]
    fn a_changed_onnx_file_refuses_the_model() {
        let dir = tempfile::tempdir().expect("dir");
        let sha = hex(&Sha256::digest(b"the original"));
        write_model(dir.path(), b"a tampered file", &sha);
        assert!(matches!(load(dir.path()), Err(ManifestError::ChecksumMismatch { .. })));
    }

    #[test]
    fn inconsistent_manifests_are_refused() {
        let path = Path::new("manifest.toml");
        let cases = [
            EXAMPLE.replace("shape = [1, 1, 4, 4, 4]", "shape = [1, 1, 8, 4, 4]"),
            EXAMPLE.replace(r#"labels = ["lung/Cancer", "liver/HCC"]"#, r#"labels = ["lung/Cancer"]"#),
            EXAMPLE.replace(r#"class = "HCC""#, r#"class = "cyst""#),
            EXAMPLE.replace("threshold = 0.4", "threshold = 1.4"),
            EXAMPLE.replace("shape = [1, 2, 2, 2]", "shape = [1, 4, 4, 4]"),
            EXAMPLE.replace("hu_clip = [-1000.0, 1000.0]", "hu_clip = [1000.0, -1000.0]"),
            EXAMPLE.replace(r#"task = "screening""#, r#"task = "astrology""#),
            EXAMPLE.replace("opset = 17", "opset = 17\nsurprise = 1"),
            EXAMPLE.replace("[input]", "[requirements]\nmin_scan_length_mm = -5.0\n\n[input]"),
            EXAMPLE.replace("[input]", "[requirements]\nmin_slices = 5\n\n[input]"),
        ];
        for case in cases {
            assert!(Manifest::parse(&case, path).is_err(), "{case}");
        }
        assert!(Manifest::parse(EXAMPLE, path).is_ok());
    }

    #[test]
    fn a_lesion_location_rule_belongs_to_a_heatmap_and_takes_a_fraction_of_the_peak() {
        let with = |output: &str| {
            EXAMPLE.replace("[[thresholds]]", &format!("[[outputs]]\n{output}\n\n[[thresholds]]")).replace("SHA", "x")
        };
        let heatmap = |locate: &str| {
            with(&format!("name = \"heat\"\nkind = \"lesion_heatmap\"\nshape = [1, 1, 2, 2, 2]\nstride = 2\n{locate}"))
        };
        let rule = |text: &str| {
            Manifest::parse(text, Path::new("manifest.toml"))
                .map(|m| m.output(OutputKind::LesionHeatmap).and_then(|o| o.locate))
        };
        assert_eq!(rule(&heatmap("")).ok(), Some(None), "no rule: the runtime reads the peak");
        assert_eq!(rule(&heatmap(r#"locate = { rule = "peak" }"#)).ok(), Some(Some(LesionLocation::Peak)));
        assert_eq!(
            rule(&heatmap(r#"locate = { rule = "region", fraction = 0.5 }"#)).ok(),
            Some(Some(LesionLocation::Region { fraction: 0.5 }))
        );
        for fraction in ["0.0", "-0.5", "1.5", "nan"] {
            refused_because(
                &heatmap(&format!(r#"locate = {{ rule = "region", fraction = {fraction} }}"#)),
                "the region's fraction must be in (0, 1]",
            );
        }
        assert!(matches!(rule(&heatmap(r#"locate = { rule = "region" }"#)), Err(ManifestError::Parse { .. })));
        assert!(matches!(rule(&heatmap(r#"locate = { rule = "centroid" }"#)), Err(ManifestError::Parse { .. })));
        let labelled = EXAMPLE.replace("stride = 2\n", "stride = 2\nlocate = { rule = \"peak\" }\n");
        refused_because(&labelled.replace("SHA", "x"), "only a lesion heatmap has a locate rule");
    }

    #[test]
    fn a_scan_shorter_than_the_models_minimum_is_outside_its_domain() {
        let with =
            |min: &str| EXAMPLE.replace("[input]", &format!("[requirements]\nmin_scan_length_mm = {min}\n\n[input]"));
        let scan = |slices: usize| elysium_dicom::volume::Volume {
            voxels: vec![0; slices],
            slices,
            rows: 1,
            columns: 1,
            spacing: [1.0, 1.0, 2.5],
            origin: [0.0; 3],
            direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        };
        let path = Path::new("manifest.toml");
        let manifest = Manifest::parse(&with("300.0"), path).expect("manifest");
        let reason = manifest.requirements.unmet(&scan(48)).expect("48 slices of 2.5 mm are 120 mm");
        assert!(reason.contains("120 mm") && reason.contains("300 mm"), "{reason}");
        assert_eq!(manifest.requirements.unmet(&scan(120)), None, "exactly 300 mm is enough");
        assert_eq!(Manifest::parse(EXAMPLE, path).expect("manifest").requirements.unmet(&scan(1)), None, "no minimum");
    }

    #[test]
    fn sliding_window_manifests_are_checked() {
        let path = Path::new("manifest.toml");
        let good = include_str!("../tests/fixtures/tiny-sliding/manifest.toml");
        let manifest = Manifest::parse(good, path).expect("the fixture's manifest");
        assert_eq!(manifest.sliding_channels(), Some((2, 2)));
        let window = manifest.sliding_window.as_ref().expect("a window").window();
        assert_eq!((window.patch, window.sigma_scale, window.batch), ([4, 4, 4], 0.125, 3), "sigma 1/8 by default");
        let label_map = r#"shape = [1, 10, 11, 12]
labels = ["background", "liver"]"#;
        let cases = [
            good.replace("overlap = 0.5", "overlap = 1.0"),
            good.replace("mirror_axes = [2]", "mirror_axes = [2, 2]"),
            good.replace("batch = 3", "batch = 0"),
            good.replace("shape = [1, 1, 4, 4, 4]", "shape = [1, 1, 8, 4, 4]"),
            good.replace("patch = [4, 4, 4]", "patch = [4, 4, 0]"),
            good.replace(r#"output = "probabilities""#, r#"output = "lesion_heatmap""#),
            good.replace(label_map, &format!("{label_map}\nstride = 2")),
            good.replace(r#"blend = "gaussian""#, r#"blend = "median""#),
            good.replace("batch = 3", "batch = 3\nsurprise = 1"),
        ];
        for case in cases {
            assert!(Manifest::parse(&case, path).is_err(), "{case}");
        }
        // Without the label map the channels cannot be read.
        let start = good.find("[[outputs]]\nname = \"organ_labels\"").expect("label map section");
        let end = good.find("[[outputs]]\nname = \"lesion_heatmap\"").expect("heatmap section");
        let without = format!("{}{}", &good[..start], &good[end..]);
        assert!(Manifest::parse(&without, path).is_err());
    }

    const SCAN: &str = include_str!("../tests/fixtures/tiny-sliding-scan/manifest.toml");

    #[test]
    fn a_grid_that_follows_the_scan_loads_with_its_bound() {
        let manifest = Manifest::parse(SCAN, Path::new("manifest.toml")).expect("the fixture's manifest");
        assert_eq!((manifest.preprocessing.size, manifest.preprocessing.max_size), (None, Some([8, 9, 10])));
        assert!(manifest.sliding_window.is_some());
    }

    /// `manifest` refused as inconsistent, with a problem that says `why`.
    fn refused_because(manifest: &str, why: &str) {
        match Manifest::parse(manifest, Path::new("manifest.toml")) {
            Err(error @ ManifestError::Inconsistent { .. }) => {
                assert!(error.to_string().contains(why), "`{error}` does not say `{why}`")
            }
            other => panic!("{other:?} for\n{manifest}"),
        }
    }

    #[test]
    fn a_grid_that_follows_the_scan_is_checked() {
        let bound = "max_size = [8, 9, 10]";
        assert!(SCAN.contains(bound));
        refused_because(&SCAN.replace(bound, ""), "needs `max_size`");
        refused_because(&SCAN.replace(bound, &format!("size = [8, 9, 10]\n{bound}")), "declare one, not both");
        refused_because(&SCAN.replace(bound, "max_size = [8, 3, 10]"), "max_size must be at least the patch");
        let start = SCAN.find("[sliding_window]").expect("the window");
        let end = SCAN.find("# The maps'").expect("the outputs");
        let whole = format!("{}{}", &SCAN[..start], &SCAN[end..]);
        refused_because(&whole, "only a sliding-window model");
        // The maps are declared for max_size, not for some other grid.
        let dimensions = "last three dimensions must be size / stride (max_size";
        refused_because(&SCAN.replace("shape = [1, 8, 9, 10]", "shape = [1, 8, 9, 11]"), dimensions);
        refused_because(&SCAN.replace("shape = [1, 1, 8, 9, 10]", "shape = [1, 1, 4, 4, 4]"), dimensions);
        // A fixed grid takes no bound, and a whole-grid network no grid that follows the scan.
        refused_because(&EXAMPLE.replace("size = [4, 4, 4]", "size = [4, 4, 4]\nmax_size = [4, 4, 4]"), "not both");
        refused_because(&EXAMPLE.replace("size = [4, 4, 4]", "max_size = [4, 4, 4]"), "only a sliding-window model");
    }

    #[test]
    fn a_grid_fits_a_fixed_size_or_the_bound() {
        let path = Path::new("manifest.toml");
        let following = Manifest::parse(SCAN, path).expect("manifest").preprocessing;
        assert!(following.fits([8, 9, 10]) && following.fits([1, 1, 1]) && following.fits([5, 4, 6]));
        assert!(!following.fits([9, 9, 10]) && !following.fits([8, 9, 11]) && !following.fits([0, 4, 6]));
        let fixed = Manifest::parse(EXAMPLE, path).expect("manifest").preprocessing;
        assert!(fixed.fits([4, 4, 4]) && !fixed.fits([4, 4, 3]));
    }

    #[test]
    fn versions_compare_by_number() {
        use std::cmp::Ordering;
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("0.1.0", "0.1.1"), Ordering::Less);
    }

    const CASCADE: &str = include_str!("../tests/fixtures/tiny-cascade/manifest.toml");

    /// The `tiny-cascade` fixture's files in a folder of their own, its manifest changed by
    /// `edit`, loaded.
    fn load_cascade(edit: impl Fn(&str) -> String) -> Result<VerifiedModel, ManifestError> {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-cascade");
        let dir = tempfile::tempdir().expect("dir");
        for file in ["model.onnx", "organs.onnx"] {
            std::fs::copy(fixture.join(file), dir.path().join(file)).expect("copied");
        }
        std::fs::write(dir.path().join("manifest.toml"), edit(CASCADE)).expect("manifest");
        load(dir.path())
    }

    #[test]
    fn a_cascade_loads_with_both_files_verified() {
        let model = load_cascade(str::to_owned).expect("the fixture loads");
        let cascade = model.manifest.cascade.as_ref().expect("a cascade");
        assert_eq!(model.cascade_onnx_path.as_ref().and_then(|p| p.file_name()), Some("organs.onnx".as_ref()));
        assert_eq!((cascade.size, cascade.stride, cascade.margin_mm), ([6, 6, 6], 1, 4.0));
        assert_eq!(cascade.organ_values(), [1, 2], "liver and kidney, by their place in the labels");
        assert_eq!(cascade.label_shape(), [1, 6, 6, 6]);
        let pre = cascade.preprocessing(&model.manifest.preprocessing);
        assert_eq!((pre.size, pre.max_size, pre.target_spacing_mm), (Some([6, 6, 6]), None, [4.0; 3]));
        assert_eq!((pre.hu_clip, pre.fill_hu), (model.manifest.preprocessing.hu_clip, -1000.0), "the main window");
    }

    #[test]
    fn a_cascade_whose_first_stage_is_missing_or_changed_is_refused() {
        let missing = load_cascade(|m| m.replace(r#"onnx = "organs.onnx""#, r#"onnx = "absent.onnx""#));
        match missing {
            Err(error @ ManifestError::Io { .. }) => assert!(error.to_string().contains("absent.onnx"), "{error}"),
            other => panic!("{other:?}"),
        }
        let sha = "ba5ce29d33448cd1b365fe06a407069a50f1e14d0a4bd12e2f47383e11e75a14";
        assert!(CASCADE.contains(sha));
        let changed = load_cascade(|m| m.replace(sha, &"0".repeat(64)));
        match changed {
            Err(error @ ManifestError::CascadeChecksumMismatch { .. }) => {
                let message = error.to_string();
                assert!(message.contains("first stage organs.onnx") && message.contains(sha), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let outside = load_cascade(|m| m.replace(r#"onnx = "organs.onnx""#, r#"onnx = "../organs.onnx""#));
        assert!(matches!(outside, Err(ManifestError::Inconsistent { .. })), "{outside:?}");
    }

    #[test]
    fn cascade_manifests_are_checked() {
        refused_because(
            &CASCADE.replace(r#"organs = ["liver", "kidney"]"#, r#"organs = ["liver", "spleen"]"#),
            "organ `spleen` is not one of the first stage's labels",
        );
        refused_because(
            &CASCADE.replace(r#"organs = ["liver", "kidney"]"#, r#"organs = ["background"]"#),
            "organ `background` is not one",
        );
        refused_because(&CASCADE.replace(r#"organs = ["liver", "kidney"]"#, "organs = []"), "at least one organ");
        let start = CASCADE.find("[sliding_window]").expect("the window");
        let end = CASCADE.find("[cascade]").expect("the cascade");
        let whole = format!("{}{}", &CASCADE[..start], &CASCADE[end..])
            .replace("shape = [1, 1, 4, 4, 4]", "shape = [1, 1, 12, 12, 12]");
        refused_because(&whole, "only a sliding-window model can be a cascade");
        refused_because(&CASCADE.replace("stride = 1", "stride = 4"), "stride must be at least 1 and divide size");
        refused_because(&CASCADE.replace("stride = 1", "stride = 0"), "stride must be at least 1");
        refused_because(&CASCADE.replace("size = [6, 6, 6]", "size = [6, 0, 6]"), "size must be at least 1 voxel");
        refused_because(&CASCADE.replace("margin_mm = 4.0", "margin_mm = -1.0"), "margin_mm must be a finite length");
        refused_because(&CASCADE.replace("margin_mm = 4.0", "margin_mm = inf"), "margin_mm must be a finite length");
        refused_because(
            &CASCADE.replace("target_spacing_mm = [4.0, 4.0, 4.0]", "target_spacing_mm = [4.0, 0.0, 4.0]"),
            "cascade: target spacing must be positive",
        );
        refused_because(
            &CASCADE.replace("ba5ce29d33448cd1b365fe06a407069a50f1e14d0a4bd12e2f47383e11e75a14", "abc"),
            "sha256 must be 64 hexadecimal digits",
        );
        let unknown = CASCADE.replace("margin_mm = 4.0", "margin_mm = 4.0\nsurprise = 1");
        assert!(matches!(Manifest::parse(&unknown, Path::new("manifest.toml")), Err(ManifestError::Parse { .. })));
    }

    #[test]
    fn the_onnx_path_stays_inside_the_folder() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("manifest.toml"),
            EXAMPLE.replace(r#"onnx = "model.onnx""#, r#"onnx = "../x.onnx""#),
        )
        .expect("manifest");
        assert!(matches!(load(dir.path()), Err(ManifestError::Inconsistent { .. })));
    }
}
