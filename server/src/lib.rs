//! The Elysium server: configuration, authentication, routes, and the commands of the
//! `elysium` binary. `router(state)` is the whole HTTP application, used by `elysium serve`
//! and by the integration tests alike.
// The pages' view types (Leptos) are deeply nested; rendering the programme dashboard needs more
// than the default query depth.
#![recursion_limit = "256"]

pub mod auth;
pub mod backup;
pub mod board;
pub mod commands;
pub mod config;
pub mod database;
pub mod demo;
pub mod dicomweb;
pub mod dimse;
pub mod error;
pub mod export;
pub mod http;
pub mod ingest;
pub mod lesions;
pub mod limits;
pub mod listener;
pub mod logging;
pub mod model_catalogue;
pub mod monitoring;
pub mod ohif;
pub mod reports;
pub mod routes;
pub mod screening;
pub mod security_headers;
pub mod serve;
pub mod spreadsheet;
pub mod staging_model;
pub mod state;

pub use routes::router;
pub use state::AppState;

use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};

/// Builds the shared state for a pool, a configuration, the object store and the data folder
/// (`ELYSIUM_DATA_DIR`, whose disk the health panel watches).
pub fn app_state(
    pool: sqlx::PgPool,
    config: config::ServeConfig,
    store: Arc<dyn object_store::ObjectStore>,
    data_dir: &std::path::Path,
) -> anyhow::Result<AppState> {
    let leptos_options = LeptosOptions::builder()
        .output_name("elysium")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(Env::PROD)
        .build();
    let inference: Arc<std::sync::RwLock<Option<screening::worker::InferenceInfo>>> = Arc::default();
    let health = app::service::health::HealthSources {
        store: store.clone(),
        data_folder: ingest::store::local_folder(config.store.object_store.as_deref(), data_dir),
        workers: workers_here(config.screening.workers, inference.clone()),
    };
    let ingestor = ingest::Ingestor::new(pool.clone(), store, config.store.accept_non_ct);
    let models = model_catalogue::Catalogue::discover(&config.screening.models_dir);
    Ok(AppState {
        leptos_options,
        ingestor,
        levels: config.followup.service_levels(),
        board: config.board.settings(),
        inference,
        health,
        registry: Arc::new(screening::models::registry(&config.screening, &models)),
        staging_models: Arc::new(staging_model::StagingModels::load(
            &models,
            config.screening.inference_device,
            config.screening.intra_threads,
        )),
        views: app::service::audit::ViewLog::default(),
        models: Arc::new(models),
        pool,
        config: Arc::new(config),
        hasher: auth::password::Hasher::new()?,
    })
}

/// What the health panel learns of this process's workers, read each time it asks.
fn workers_here(
    configured: usize,
    inference: Arc<std::sync::RwLock<Option<screening::worker::InferenceInfo>>>,
) -> Arc<dyn Fn() -> app::service::health::WorkersHere + Send + Sync> {
    Arc::new(move || {
        let info = inference.read().ok().and_then(|slot| slot.clone());
        app::service::health::WorkersHere {
            configured,
            running: info.as_ref().map_or(0, |i| i.workers),
            model: info.as_ref().map(|i| format!("{} {}", i.model, i.model_version)),
            provider: info.as_ref().map(|i| i.provider.clone()),
            device: info.map(|i| i.device),
        }
    })
}
