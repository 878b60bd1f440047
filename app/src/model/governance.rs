//! Model governance wire types: the model registry (the models on disk, which is active), each
//! model version's positive rate, PPV and drift, and operating threshold changes with their
//! preview.

use serde::{Deserialize, Serialize};

use crate::domain::governance::{DriftCheck, Preview};
use crate::domain::program::Proportion;

/// One thresholded output of a model, as its manifest calibrated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    pub organ: String,
    pub class: String,
    /// The manifest's threshold.
    pub threshold: f64,
    /// The specificity the manifest threshold was chosen for, and what was measured.
    pub specificity: f64,
    pub measured_specificity: Option<f64>,
    pub sensitivity: Option<f64>,
    pub auc: Option<f64>,
}

impl ModelOutput {
    /// `organ/class`, as the manifest's labels name the output.
    pub fn name(&self) -> String {
        format!("{}/{}", self.organ, self.class)
    }
}

/// A model found (and verified) in the models folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    pub version: String,
    pub task: String,
    pub sha256: String,
    pub description: String,
    /// `false` for a model never validated clinically (the reference model).
    pub clinical_use: bool,
    /// The model card (its folder's `MODEL_CARD.md`), when there is one.
    pub card: Option<String>,
    /// The screening model new series are screened with.
    pub active: bool,
    /// Runs in shadow: screens what the active model screens, raises nothing.
    pub shadow: bool,
    pub outputs: Vec<ModelOutput>,
}

/// The registry: every model folder the server found at start, and the folders it refused
/// (with why: a checksum that does not match, an inconsistent manifest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRegistry {
    pub models: Vec<RegisteredModel>,
    pub refused: Vec<String>,
}

impl ModelRegistry {
    pub fn find(&self, name: &str, version: &str) -> Option<&RegisteredModel> {
        self.models.iter().find(|m| m.name == name && m.version == version)
    }
}

/// An output's operating threshold: the manifest's unless an administrator changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatingThreshold {
    pub output: String,
    pub manifest: f64,
    pub current: f64,
}

/// A registered model with the operating threshold of each output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub model: RegisteredModel,
    pub thresholds: Vec<OperatingThreshold>,
}

/// A week of a model version's screening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekRate {
    /// Monday, `YYYY-MM-DD`.
    pub week_start: String,
    pub series: u64,
    pub positive: u64,
}

/// How a model version that has screened series is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionMonitor {
    pub model_name: String,
    pub model_version: String,
    /// In the registry now (a version whose folder was removed keeps its history).
    pub registered: bool,
    pub active: bool,
    pub first_day: String,
    pub last_day: String,
    /// Series with at least one positive, among the series it screened.
    pub positive_rate: Proportion,
    /// Confirmed among its positives with a verified outcome, as outcomes arrive.
    pub ppv: Proportion,
    /// Its first [`WINDOW_DAYS`](crate::domain::governance::WINDOW_DAYS) days against its last.
    pub drift: DriftCheck,
    pub weeks: Vec<WeekRate>,
}

/// One change of an operating threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChange {
    pub model_name: String,
    pub model_version: String,
    pub output: String,
    pub threshold: f64,
    pub previous: f64,
    pub reason: String,
    pub preview: Preview,
    pub changed_by: String,
    pub changed_at: String,
}

/// A shadow version against the live version whose series it screened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowComparison {
    pub model_name: String,
    pub model_version: String,
    pub live_model_name: String,
    pub live_model_version: String,
    pub first_day: String,
    pub last_day: String,
    /// Is it the shadow model configured now.
    pub running: bool,
    pub comparison: crate::domain::governance::shadow::Comparison,
}

/// The models page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsOverview {
    pub models: Vec<ModelEntry>,
    pub refused: Vec<String>,
    pub versions: Vec<VersionMonitor>,
    pub shadow: Vec<ShadowComparison>,
    pub changes: Vec<ThresholdChange>,
}

/// How many of a version's most recent series a preview replays unless told.
pub const PREVIEW_DEFAULT_SERIES: u32 = 500;
/// The most a preview replays.
pub const PREVIEW_MAX_SERIES: u32 = 10_000;

/// A proposed threshold: previewed (no reason needed) or applied (`reason` required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    pub model_name: String,
    pub model_version: String,
    /// `organ/class`.
    pub output: String,
    pub threshold: f64,
    #[serde(default)]
    pub reason: Option<String>,
    /// Replay the last this many series (default [`PREVIEW_DEFAULT_SERIES`]).
    #[serde(default)]
    pub last: Option<u32>,
}

/// What the change would have done to the version's last series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdPreview {
    pub model_name: String,
    pub model_version: String,
    pub output: String,
    pub current: f64,
    pub proposed: f64,
    /// The number of series asked for; `preview.series` is how many there were.
    pub last: u32,
    pub preview: Preview,
}
