//! The Elysium server: configuration, authentication, routes, and the commands of the
//! `elysium` binary. `router(state)` is the whole HTTP application, used by `elysium serve`
//! and by the integration tests alike.
// The pages' view types (Leptos) are deeply nested; rendering the programme dashboard needs more
// than the default query depth.
#![recursion_limit = "256"]

pub mod auth;
pub mod board;
pub mod commands;
pub mod config;
pub mod database;
pub mod demo;
pub mod dicomweb;
pub mod dimse;
pub mod error;
pub mod http;
pub mod ingest;
pub mod monitoring;
pub mod reports;
pub mod routes;
pub mod screening;
pub mod serve;
pub mod state;

pub use routes::router;
pub use state::AppState;

use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};

/// Builds the shared state for a pool and a configuration.
pub fn app_state(
    pool: sqlx::PgPool,
    config: config::ServeConfig,
    store: Arc<dyn object_store::ObjectStore>,
) -> anyhow::Result<AppState> {
    let leptos_options = LeptosOptions::builder()
        .output_name("elysium")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(Env::PROD)
        .build();
    let ingestor = ingest::Ingestor::new(pool.clone(), store, config.store.accept_non_ct);
    Ok(AppState {
        leptos_options,
        ingestor,
        levels: config.followup.service_levels(),
        board: config.board.settings(),
        inference: Arc::default(),
        views: app::service::audit::ViewLog::default(),
        pool,
        config: Arc::new(config),
        hasher: auth::password::Hasher::new()?,
    })
}
