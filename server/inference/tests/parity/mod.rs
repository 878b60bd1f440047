//! What the reference models' parity cases (`parity/cases.json`, written by each model's
//! training script) have in common: the phantom a case was made from, its true lesions, and
//! run-length coded label maps.

use std::path::Path;

use elysium_phantom as phantom;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One parity case: its name, the phantom it was made from, and what the Python side computed
/// (`E`, each model's own).
#[derive(Debug, Deserialize)]
pub struct Case<E> {
    pub case: String,
    pub generator: Generator,
    pub expected: E,
}

#[derive(Debug, Deserialize)]
struct Cases<C> {
    cases: Vec<C>,
}

/// The cases (`C`: a [`Case`], or one with more fields) in `model_dir`'s `parity/cases.json`.
pub fn cases<C: DeserializeOwned>(model_dir: &Path) -> Vec<C> {
    let text = std::fs::read_to_string(model_dir.join("parity/cases.json")).expect("parity/cases.json");
    serde_json::from_str::<Cases<C>>(&text).expect("cases.json").cases
}

/// The `elysium phantom` arguments a case records.
#[derive(Debug, Deserialize)]
pub struct Generator {
    pub seed: u64,
    pub rows: u16,
    pub slices: Option<u32>,
    pub contrast: bool,
    pub lesions: Vec<String>,
}

impl Generator {
    /// Generates the case's phantom under `dir` again and returns its one series.
    pub fn regenerate(&self, dir: &Path) -> phantom::GeneratedSeries {
        let mut options = phantom::PhantomOptions::new(dir);
        options.seed = self.seed;
        options.rows = self.rows;
        options.slices = self.slices;
        options.contrast = self.contrast;
        options.lesions = self.lesions.iter().map(|l| l.parse().expect("lesion request")).collect();
        phantom::generate(&options).expect("phantom").series.into_iter().next().expect("one series")
    }
}

/// A lesion as the phantom's `truth.json` has it.
#[derive(Debug, Deserialize)]
pub struct TruthLesion {
    pub organ: String,
    pub centre_mm: [f64; 3],
    pub diameter_mm: f64,
}

/// The flat label map of `[value, count]` runs.
pub fn unrle(runs: &[[i64; 2]]) -> Vec<i64> {
    runs.iter()
        .flat_map(|[value, count]| std::iter::repeat_n(*value, usize::try_from(*count).expect("count")))
        .collect()
}

/// The Euclidean distance between two points, in their unit.
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
}
