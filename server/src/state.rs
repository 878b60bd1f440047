//! What every handler can reach: one struct, handed to the router once.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::auth::password::Hasher;
use crate::config::ServeConfig;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<ServeConfig>,
    pub hasher: Hasher,
    pub ingestor: crate::ingest::Ingestor,
    /// The follow-up service levels (due dates) and the contact attempts before "lost".
    pub levels: app::domain::followup::ServiceLevels,
    /// The tumour board's quorum.
    pub board: app::service::mdt::BoardSettings,
    /// The screening model and execution provider of this process's workers (none until they
    /// start, or when screening is off).
    pub inference: Arc<std::sync::RwLock<Option<crate::screening::worker::InferenceInfo>>>,
    /// The model folders read and verified at start, which the screening models are chosen from.
    pub models: Arc<crate::model_catalogue::Catalogue>,
    /// The models found at start (the governance page's registry).
    pub registry: Arc<app::model::governance::ModelRegistry>,
    /// The staging models found at start (the tumour board's proposals).
    pub staging_models: Arc<crate::staging_model::StagingModels>,
    /// The series views recorded recently (one audit row per user and series viewed).
    pub views: app::service::audit::ViewLog,
    /// What the system health checks read besides the pool (the store, the data folder, this
    /// process's workers).
    pub health: app::service::health::HealthSources,
}

impl AppState {
    /// The follow-up service levels in force: the settings page's, else the environment's
    /// (`levels`). Read at each use, so that a change reaches every server and worker.
    pub async fn service_levels(&self) -> Result<app::domain::followup::ServiceLevels, app::service::ServiceError> {
        app::service::settings::levels(&self.pool, &self.levels).await
    }

    /// The environment's settings, which the settings page overrides.
    pub fn setting_defaults(&self) -> app::service::settings::Defaults {
        app::service::settings::Defaults {
            levels: self.levels,
            inference_device: self.config.screening.inference_device.as_str().to_owned(),
        }
    }
}
