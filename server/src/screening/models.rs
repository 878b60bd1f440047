//! The models on disk: every folder under the models directory with a manifest is a model; those
//! whose checksum or manifest fails are refused (and logged); one screening model is active.

use app::model::governance::{ModelOutput, ModelRegistry, RegisteredModel};
use elysium_inference::manifest::{Task, VerifiedModel, compare_versions};

pub use crate::model_catalogue::Catalogue;

use super::ScreeningConfig;

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("no screening model in {0} (a folder with manifest.toml and its ONNX file)")]
    None(String),
    #[error("the configured screening model {0} is not in {1} (or was refused: see the log)")]
    NotFound(String, String),
    #[error("the shadow model {0} is the active model; a shadow is a different version")]
    ShadowIsActive(String),
}

/// The active screening model: the configured one (`name` or `name@version`, the highest version
/// when none is given), else the first name's highest version.
pub fn active_screening_model(config: &ScreeningConfig, catalogue: &Catalogue) -> Result<VerifiedModel, ModelsError> {
    let dir = catalogue.dir().to_owned();
    let mut models: Vec<&VerifiedModel> = catalogue.verified().filter(|m| m.manifest.task == Task::Screening).collect();
    if let Some(wanted) = &config.screening_model {
        let (name, version) = wanted.split_once('@').unwrap_or((wanted.as_str(), ""));
        return models
            .into_iter()
            .filter(|m| m.manifest.name == name && (version.is_empty() || m.manifest.version == version))
            .max_by(|a, b| compare_versions(&a.manifest.version, &b.manifest.version))
            .cloned()
            .ok_or_else(|| ModelsError::NotFound(wanted.clone(), dir));
    }
    models.sort_by(|a, b| {
        a.manifest.name.cmp(&b.manifest.name).then(compare_versions(&b.manifest.version, &a.manifest.version))
    });
    models.into_iter().next().cloned().ok_or(ModelsError::None(dir))
}

/// The registry administrators see: every model folder (verified, or refused with why) and
/// which one is active. Built once at start, like the active model itself.
pub fn registry(config: &ScreeningConfig, catalogue: &Catalogue) -> ModelRegistry {
    let active = active_screening_model(config, catalogue).ok().map(|m| (m.manifest.name, m.manifest.version));
    let shadow =
        shadow_screening_model(config, catalogue).ok().flatten().map(|m| (m.manifest.name, m.manifest.version));
    let mut registry = ModelRegistry::default();
    for found in catalogue.all() {
        let found = found.clone().and_then(|model| {
            if model.manifest.task == Task::Staging
                && let Err(problem) = crate::staging_model::check_labels(&model.manifest)
            {
                return Err(format!("{} {}: {problem}", model.manifest.name, model.manifest.version));
            }
            Ok(model)
        });
        match found {
            Ok(model) => {
                let m = &model.manifest;
                let is = |which: &Option<(String, String)>| {
                    which.as_ref().is_some_and(|(name, version)| *name == m.name && *version == m.version)
                };
                registry.models.push(RegisteredModel {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    task: m.task.as_str().to_owned(),
                    sha256: m.sha256.clone(),
                    description: m.description.clone(),
                    clinical_use: m.clinical_use,
                    card: std::fs::read_to_string(model.dir.join("MODEL_CARD.md")).ok(),
                    active: is(&active),
                    shadow: is(&shadow),
                    outputs: m
                        .thresholds
                        .iter()
                        .map(|t| ModelOutput {
                            organ: t.organ.clone(),
                            class: t.class.clone(),
                            threshold: t.threshold,
                            specificity: t.specificity,
                            measured_specificity: t.measured_specificity,
                            sensitivity: t.sensitivity,
                            auc: t.auc,
                        })
                        .collect(),
                });
            }
            Err(error) => registry.refused.push(error),
        }
    }
    registry
}

/// The model to run in shadow (`ELYSIUM_SHADOW_MODEL`), if one is configured: it must be in
/// the models folder and differ from the active one.
pub fn shadow_screening_model(
    config: &ScreeningConfig,
    catalogue: &Catalogue,
) -> Result<Option<VerifiedModel>, ModelsError> {
    let Some(wanted) = &config.shadow_model else { return Ok(None) };
    let shadow = active_screening_model(
        &ScreeningConfig { screening_model: Some(wanted.clone()), ..config.clone() },
        catalogue,
    )?;
    let active = active_screening_model(config, catalogue)?;
    if (&shadow.manifest.name, &shadow.manifest.version) == (&active.manifest.name, &active.manifest.version) {
        return Err(ModelsError::ShadowIsActive(wanted.clone()));
    }
    Ok(Some(shadow))
}
