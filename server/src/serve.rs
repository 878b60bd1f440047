//! `elysium serve`: open the database, migrate, seed demo data if asked, and serve until Ctrl-C
//! or SIGTERM, then stop what was started (the private PostgreSQL cluster included).

use std::time::Duration;

use anyhow::Context;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions_sqlx_store::PostgresStore;

use crate::config::{DatabaseConfig, ServeConfig};
use crate::database::Database;

pub async fn serve(database: DatabaseConfig, config: ServeConfig) -> anyhow::Result<()> {
    config.validate().map_err(anyhow::Error::msg)?;
    let db = Database::open(&database).await?;
    let store = config.store.open(&database.data_dir)?;
    let result = run(&db, config, store, &database.data_dir).await;
    db.close().await?;
    result
}

async fn run(
    db: &Database,
    config: ServeConfig,
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    elysium_db::migrate(&db.pool).await.context("applying migrations")?;
    let demo = config.demo.then(|| config.demo_password.clone());
    let state = crate::app_state(db.pool.clone(), config, store, data_dir)?;
    if let Some(password) = &demo {
        crate::demo::seed(&db.pool, &state.hasher, password.expose()).await.context("seeding demo data")?;
        crate::demo::seed_images(&db.pool, &state.ingestor, data_dir).await.context("seeding demo images")?;
        crate::demo::followup::seed(&db.pool, &state.ingestor, data_dir, &state.levels)
            .await
            .context("seeding the demo follow-up program")?;
        crate::demo::board::seed(
            &db.pool,
            &state.ingestor,
            data_dir,
            &state.levels,
            &state.board,
            &state.staging_models,
        )
        .await
        .context("seeding the demo tumour board")?;
        crate::demo::program::seed(&db.pool, &state.levels).await.context("seeding the demo programme history")?;
        crate::demo::governance::seed(&db.pool, &state.registry).await.context("seeding the demo threshold change")?;
        crate::demo::longitudinal::seed(&db.pool).await.context("seeding the demo longitudinal records")?;
        crate::demo::lesions::seed(&db.pool, &state.ingestor, data_dir, &state.levels)
            .await
            .context("seeding the demo lesion-tracking patient")?;
        crate::demo::referral::seed(&db.pool, &state.ingestor, data_dir, &state.levels)
            .await
            .context("seeding the demo referral network")?;
        crate::demo::case_referral::seed(&db.pool, &state.ingestor, data_dir, &state.board)
            .await
            .context("seeding the demo case referrals")?;
        // The demo's findings are on their tracks before anyone signs in.
        crate::lesions::track_pending(&db.pool, state.ingestor.store()).await.context("tracking the demo lesions")?;
    } else {
        // Findings stored while tracking was not running (an earlier version, a failed run).
        let (pool, store, models) = (state.pool.clone(), state.ingestor.store().clone(), state.staging_models.clone());
        tokio::spawn(async move {
            if let Err(error) = crate::lesions::track_pending(&pool, &store).await {
                tracing::warn!(?error, "placing untracked findings' lesions on tracks");
            }
            // Referrals made while no server ran, or whose measurement failed.
            if let Err(error) = crate::board::measure_pending(&pool, &store, &models).await {
                tracing::warn!(?error, "measuring referrals' images");
            }
        });
    }

    // Names stored before their pinyin was kept, and the demo's written by SQL: found by pinyin
    // too. In the background, so that start-up does not wait on it.
    let pool = db.pool.clone();
    tokio::spawn(async move {
        match app::service::names::fill_missing(&pool).await {
            Ok(0) => {}
            Ok(filled) => tracing::info!(filled, "filled in the pinyin of stored Chinese names"),
            Err(error) => {
                tracing::warn!(%error, "filling in the pinyin of stored names; patient search by pinyin misses them")
            }
        }
    });

    let store = PostgresStore::new(db.pool.clone());
    let sweeper = tokio::spawn(store.continuously_delete_expired(Duration::from_secs(300)));
    let orphan_sweep = (state.config.orphan_sweep_hours > 0).then(|| {
        let every = Duration::from_secs(state.config.orphan_sweep_hours.saturating_mul(3600));
        tokio::spawn(crate::ingest::sweep::every(state.pool.clone(), state.ingestor.store().clone(), every))
    });

    let dimse = start_dimse(&state).await?;
    let screening = start_screening(&state).await;
    if demo.is_some() && state.config.screening.workers > 0 {
        crate::demo::bursts::seed_in_background(
            db.pool.clone(),
            state.ingestor.clone(),
            data_dir.to_owned(),
            crate::demo::SITES[0].0,
        );
    }

    let addr = state.config.addr;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let app = crate::router(state.clone());
    tracing::info!("Elysium listening on http://{}", listener.local_addr()?);
    if let Some(password) = &demo {
        println!("\nElysium (demo mode) on http://{addr}");
        println!("Demo sign-ins, password `{}`:", password.expose());
        for (username, name, roles, _) in crate::demo::USERS {
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            println!("  {username:<14} {name} ({})", roles.join(", "));
        }
        println!("Ctrl-C stops the server and the private database.\n");
    }
    crate::listener::serve(listener, app, state.config.http.deadlines(), shutdown_signal()).await?;
    sweeper.abort();
    if let Some(orphan_sweep) = orphan_sweep {
        orphan_sweep.abort();
    }
    for task in screening {
        task.abort();
    }
    if let Some(dimse) = dimse {
        dimse.abort();
    }
    tracing::info!("Elysium stopped");
    Ok(())
}

/// `elysium worker`: screening workers only, until Ctrl-C or SIGTERM.
pub async fn work(
    db: &Database,
    database: &DatabaseConfig,
    store: &crate::config::StoreConfig,
    screening: &crate::screening::ScreeningConfig,
    followup: &crate::config::FollowupConfig,
) -> anyhow::Result<()> {
    elysium_db::migrate(&db.pool).await.context("applying migrations")?;
    let objects = store.open(&database.data_dir)?;
    let catalogue = crate::screening::models::Catalogue::discover(&screening.models_dir);
    let model = crate::screening::models::active_screening_model(screening, &catalogue)?;
    let workers = screening.workers.max(1);
    let config =
        crate::screening::with_settings(&db.pool, crate::screening::ScreeningConfig { workers, ..screening.clone() })
            .await;
    let shadow = crate::screening::models::shadow_screening_model(screening, &catalogue)?;
    let (info, tasks) =
        crate::screening::worker::start(db.pool.clone(), objects, followup.service_levels(), &config, model, shadow)
            .await?;
    println!(
        "{workers} screening worker(s): {} {} on {} ({})",
        info.model, info.model_version, info.provider, info.device
    );
    shutdown_signal().await;
    for task in tasks {
        task.abort();
    }
    Ok(())
}

/// Starts the screening workers and the scheduler that queues complete series. Without a usable
/// model or ONNX Runtime library, screening is off and says why; the rest of Elysium runs.
async fn start_screening(state: &crate::AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let config = crate::screening::with_settings(&state.pool, state.config.screening.clone()).await;
    let model = match crate::screening::models::active_screening_model(&config, &state.models) {
        Ok(model) => model,
        Err(error) => {
            tracing::warn!(%error, "automatic screening is off");
            return Vec::new();
        }
    };
    let mut tasks = Vec::new();
    if config.auto_screening {
        let (name, version) = (model.manifest.name.clone(), model.manifest.version.clone());
        tasks.push(crate::screening::scheduler::start(
            state.pool.clone(),
            state.ingestor.store().clone(),
            config.clone(),
            name,
            version,
        ));
    }
    // A shadow that cannot be used is left out (and said why); the live model runs regardless.
    let shadow = crate::screening::models::shadow_screening_model(&config, &state.models)
        .inspect_err(|error| tracing::error!(%error, "the shadow model does not run"))
        .ok()
        .flatten();
    if config.workers > 0 {
        match crate::screening::worker::start(
            state.pool.clone(),
            state.ingestor.store().clone(),
            state.levels,
            &config,
            model,
            shadow,
        )
        .await
        {
            Ok((info, workers)) => {
                if let Ok(mut slot) = state.inference.write() {
                    *slot = Some(info);
                }
                tasks.extend(workers);
            }
            Err(error) => tracing::error!(%error, "screening workers could not start; jobs wait in the queue"),
        }
    }
    tasks
}

/// Starts the C-STORE/C-ECHO listener unless it is turned off.
async fn start_dimse(state: &crate::AppState) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let config = state.config.dimse.clone();
    if !config.dicom {
        return Ok(None);
    }
    let mut config = config;
    // Demo mode files what arrives over DICOM at the first demo site unless told otherwise, from
    // any calling AE title when only this machine can call (a demo has no modality list).
    if state.config.demo && config.dicom_site.is_none() && config.ae_sites.is_empty() {
        config.dicom_site = Some(crate::demo::SITES[0].0.to_owned());
        config.accept_any_ae |= config.dicom_addr.ip().is_loopback() && config.allowed_calling.is_empty();
    }
    let sites = crate::dimse::DicomSites::from_config(&state.pool, &config).await?;
    let listener = tokio::net::TcpListener::bind(config.dicom_addr)
        .await
        .with_context(|| format!("binding the DICOM listener on {}", config.dicom_addr))?;
    tracing::info!("DICOM C-STORE/C-ECHO listener on {} (AE title {})", listener.local_addr()?, config.ae_title);
    let accept_non_ct = state.config.store.accept_non_ct;
    Ok(Some(tokio::spawn(crate::dimse::serve(listener, state.ingestor.clone(), config, sites, accept_non_ct))))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
