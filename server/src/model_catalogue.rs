//! The model folders under the models directory, read and verified once per process. Its own
//! module, below both the screening workers and the staging models that choose from it.

use elysium_inference::manifest::{self, VerifiedModel};

/// Every model folder under the models directory, each verified or refused (with why), read and
/// checksummed once when a process starts; the active and shadow models, the registry and the
/// staging models are all chosen from it, so that no request reads or hashes model files.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    dir: String,
    found: Vec<Result<VerifiedModel, String>>,
}

impl Catalogue {
    /// Reads every model folder under `dir`, logging each refusal once.
    pub fn discover(dir: &std::path::Path) -> Catalogue {
        let found = manifest::discover(dir)
            .into_iter()
            .map(|found| {
                found.map_err(|error| {
                    tracing::error!(%error, "model refused");
                    error.to_string()
                })
            })
            .collect();
        Catalogue { dir: dir.display().to_string(), found }
    }

    /// The folder it was read from.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// Every model folder in order: the model, or why it was refused.
    pub fn all(&self) -> &[Result<VerifiedModel, String>] {
        &self.found
    }

    /// The models that passed, in folder order.
    pub fn verified(&self) -> impl Iterator<Item = &VerifiedModel> {
        self.found.iter().filter_map(|found| found.as_ref().ok())
    }
}
