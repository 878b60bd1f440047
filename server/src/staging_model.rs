//! Staging models: model folders with `task = "staging"` in the models folder, the same
//! registry as the screening models. A staging model names the cancer (and TNM edition) it
//! stages and declares a probability output for each of the categories it proposes; the
//! board's proposal takes those categories from it and the others from the measurements
//! (`app::service::mdt::proposal`). One model per cancer and edition is used: the highest
//! version. Its labels are checked against the staging rules when it is loaded, and a model
//! whose labels the rules do not know is refused (and listed as refused on the models page).
//! A model's ONNX Runtime session opens at its first case and is reused.

use std::sync::{Arc, Mutex};

use app::domain::staging::{self, Cancer, Edition, Histology, Subsite};
use elysium_dicom::volume::Volume;
use elysium_inference::manifest::{Manifest, STAGING_CATEGORIES, Task, VerifiedModel, compare_versions};
use elysium_inference::runtime::{DevicePreference, ModelSession};
use elysium_inference::staging::CategoryProposal;

use crate::model_catalogue::Catalogue;

/// A staging model's run on one case's series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRun {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The execution provider it ran on, e.g. `CPUExecutionProvider`.
    pub provider: String,
    pub categories: Vec<CategoryProposal>,
}

impl ModelRun {
    /// As stored, per declared category: the label chosen, its probability and every label's,
    /// `{"t": {"label": "T1c", "probability": 0.6, "probabilities": {"T1a": 0.1, ...}}, ...}`.
    pub fn stored(&self) -> serde_json::Value {
        let mut by_category = serde_json::Map::new();
        for c in &self.categories {
            let values: serde_json::Map<String, serde_json::Value> =
                c.probabilities.iter().map(|(label, p)| (label.clone(), serde_json::json!(p))).collect();
            by_category.insert(
                c.category.clone(),
                serde_json::json!({ "label": c.label, "probability": c.probability, "probabilities": values }),
            );
        }
        by_category.into()
    }
}

/// One loaded staging model and its session (opened at first use).
pub struct StagingModel {
    pub cancer: Cancer,
    pub edition: Edition,
    pub model: VerifiedModel,
    session: Mutex<Option<ModelSession>>,
    device: DevicePreference,
    intra_threads: usize,
}

impl std::fmt::Debug for StagingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagingModel")
            .field("cancer", &self.cancer)
            .field("edition", &self.edition)
            .field("model", &self.model.manifest.name)
            .field("version", &self.model.manifest.version)
            .finish()
    }
}

impl StagingModel {
    /// Preprocesses `volume` as the manifest says, runs the network and reads its category
    /// outputs. Blocking: call it off the async runtime.
    pub fn run(&self, volume: &Volume) -> anyhow::Result<ModelRun> {
        let manifest = &self.model.manifest;
        let input = elysium_inference::preprocess::input_tensor(volume, &manifest.preprocessing);
        let grid = manifest.preprocessing.grid_size(volume);
        // A poisoned lock only means an earlier run panicked; the session itself is still whole.
        let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if session.is_none() {
            *session = Some(ModelSession::open(self.model.clone(), self.device, self.intra_threads)?);
        }
        let Some(session) = session.as_mut() else { unreachable!("opened above") };
        let raw = session.run(&input, grid)?;
        let categories = elysium_inference::staging::read(manifest, &raw)?;
        Ok(ModelRun {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            sha256: manifest.sha256.to_ascii_lowercase(),
            provider: session.provider.provider.clone(),
            categories,
        })
    }
}

/// The staging models found at start.
#[derive(Debug, Default)]
pub struct StagingModels {
    models: Vec<Arc<StagingModel>>,
}

impl StagingModels {
    /// Every staging model of the catalogue whose labels pass (its manifest and checksum did); the highest
    /// version per cancer and edition, to run on `device` with `intra_threads` threads per
    /// operator. Refusals are logged.
    pub fn load(catalogue: &Catalogue, device: DevicePreference, intra_threads: usize) -> StagingModels {
        let mut found: Vec<(Cancer, Edition, VerifiedModel)> = Vec::new();
        for model in catalogue.verified().cloned() {
            if model.manifest.task != Task::Staging {
                continue;
            }
            match check_labels(&model.manifest) {
                Ok((cancer, edition)) => found.push((cancer, edition, model)),
                Err(problem) => tracing::error!(
                    model = %model.manifest.name,
                    version = %model.manifest.version,
                    %problem,
                    "staging model refused"
                ),
            }
        }
        found.sort_by(|a, b| {
            (a.0.as_str(), a.1.as_str())
                .cmp(&(b.0.as_str(), b.1.as_str()))
                .then(compare_versions(&b.2.manifest.version, &a.2.manifest.version))
        });
        found.dedup_by(|later, first| (later.0, later.1) == (first.0, first.1));
        let models = found
            .into_iter()
            .map(|(cancer, edition, model)| {
                Arc::new(StagingModel {
                    cancer,
                    edition,
                    model,
                    session: Mutex::new(None),
                    device,
                    intra_threads: intra_threads.max(1),
                })
            })
            .collect();
        StagingModels { models }
    }

    /// The model that stages `cancer` in `edition`, if one is registered.
    pub fn for_case(&self, cancer: Cancer, edition: Edition) -> Option<Arc<StagingModel>> {
        self.models.iter().find(|m| m.cancer == cancer && m.edition == edition).cloned()
    }
}

/// A staging model's cancer and edition, and every label it declares checked against the
/// categories the staging rules know for that cancer and edition (any histology or subsite).
pub fn check_labels(manifest: &Manifest) -> Result<(Cancer, Edition), String> {
    let cancer_name = manifest.cancer.as_deref().unwrap_or_default();
    let cancer =
        Cancer::parse(cancer_name).ok_or_else(|| format!("`{cancer_name}` is not a cancer the board stages"))?;
    let edition_name = manifest.edition.as_deref().unwrap_or("ajcc8");
    let edition = Edition::parse(edition_name)
        .filter(|e| cancer.editions().contains(e))
        .ok_or_else(|| format!("{cancer} is not staged in edition `{edition_name}`"))?;
    let histologies: Vec<Option<Histology>> =
        if cancer.needs_histology() { Histology::ALL.into_iter().map(Some).collect() } else { vec![None] };
    let subsites: Vec<Option<Subsite>> =
        if cancer.has_subsites() { Subsite::ALL.into_iter().map(Some).collect() } else { vec![None] };
    let mut known: [Vec<&str>; 3] = Default::default();
    for histology in &histologies {
        for subsite in &subsites {
            let table = staging::table(cancer, edition, *histology, *subsite).map_err(|e| e.detail())?;
            for (i, list) in [table.t, table.n, table.m].into_iter().enumerate() {
                known[i].extend(list.iter().copied());
            }
        }
    }
    for (i, category) in STAGING_CATEGORIES.into_iter().enumerate() {
        let Some(output) = manifest.category_output(category) else { continue };
        if let Some(unknown) = output.labels.iter().find(|l| !known[i].contains(&l.as_str())) {
            return Err(format!(
                "output `{}`: `{unknown}` is not a {} category of {cancer} ({})",
                output.name,
                category.to_uppercase(),
                edition.as_str()
            ));
        }
    }
    Ok((cancer, edition))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `tiny-staging` fixture's manifest for another cancer, edition and T labels (its N
    /// output dropped: the labels checked are T's).
    fn manifest(cancer: &str, edition: Option<&str>, t_labels: &str) -> Manifest {
        let fixture = include_str!("../inference/tests/fixtures/tiny-staging/manifest.toml");
        let edition = edition.map(|e| format!("edition = \"{e}\"\n")).unwrap_or_default();
        let without_n = &fixture[..fixture.find("[[outputs]]\nname = \"n_probabilities\"").expect("N output")];
        let text = without_n
            .replace("cancer = \"lung\"\n", &format!("cancer = \"{cancer}\"\n"))
            .replace("edition = \"ajcc8\"\n", &edition)
            .replace("shape = [1, 4]", "shape = [1, 2]")
            .replace(r#"labels = ["T1a", "T1b", "T1c", "T2a"]"#, &format!("labels = {t_labels}"));
        Manifest::parse(&text, std::path::Path::new("manifest.toml")).expect("a staging manifest")
    }

    #[test]
    fn labels_are_checked_against_the_staging_rules() {
        assert_eq!(check_labels(&manifest("lung", None, r#"["T1a", "T2a"]"#)), Ok((Cancer::Lung, Edition::Ajcc8)));
        // T2 is a kidney T category, not a lung one in either edition (lung splits it: T2a, T2b).
        assert!(check_labels(&manifest("lung", None, r#"["T1a", "T2"]"#)).is_err());
        // Lung in the 9th edition; pancreas has no 9th edition here.
        assert_eq!(
            check_labels(&manifest("lung", Some("ajcc9"), r#"["T1a", "T2a"]"#)),
            Ok((Cancer::Lung, Edition::Ajcc9))
        );
        assert!(check_labels(&manifest("pancreas", Some("ajcc9"), r#"["T1a", "T2"]"#)).is_err());
        assert!(check_labels(&manifest("spleen", None, r#"["T1a", "T2a"]"#)).is_err());
        // Larynx: T1a is glottic only; a model over all subsites may use it.
        assert!(check_labels(&manifest("larynx", None, r#"["T1a", "T4a"]"#)).is_ok());
        // Esophagus: categories of either histology.
        assert!(check_labels(&manifest("esophagus", None, r#"["T1a", "T4b"]"#)).is_ok());
        // Case matters: AJCC notation exactly.
        assert!(check_labels(&manifest("lung", None, r#"["t1a", "T2a"]"#)).is_err());
    }
}
