//! A series that arrives in two bursts, as from a sender that paused: the demo stores the first
//! 130 of its 160 slices, waits until the screening workers have screened them, then stores the
//! rest. The scheduler then screens the series again on all 160 slices, and the study page shows
//! both results, the newer one current. Runs in the background after start-up (it needs the
//! workers), once; without workers it gives up after a while and leaves the first burst alone.

use std::time::Duration;

use crate::ingest::{Ingestor, Received, Via};

/// The phantom (seed, rows, slices of the whole series, slices in the first burst). 130 slices of
/// 2.5 mm are 325 mm, within the reference model's domain (at least 300 mm).
const SERIES: (u64, u16, usize, usize) = (2800, 128, 160, 130);
/// The longest the demo waits for the first burst's screening.
const WAIT: Duration = Duration::from_secs(600);

pub fn seed_in_background(pool: sqlx::PgPool, ingestor: Ingestor, data_dir: std::path::PathBuf, site: &'static str) {
    tokio::spawn(async move {
        if let Err(error) = seed(&pool, &ingestor, &data_dir, site).await {
            tracing::warn!(%error, "the demo series in two bursts was not completed");
        }
    });
}

async fn seed(pool: &sqlx::PgPool, ingestor: &Ingestor, data_dir: &std::path::Path, site: &str) -> anyhow::Result<()> {
    let (seed, rows, slices, first) = SERIES;
    let patient_id = format!("PH-{seed}-0001");
    if elysium_db::images::count_studies_with_patient_prefix(pool, &patient_id).await? > 0 {
        return Ok(());
    }
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-bursts"));
    options.seed = seed;
    options.rows = rows;
    options.slices = Some(u32::try_from(slices)?);
    options.lesions = vec!["lung:20".parse()?];
    let report = tokio::task::spawn_blocking(move || elysium_phantom::generate(&options)).await??;
    let series = report.series.first().ok_or_else(|| anyhow::anyhow!("no series generated"))?;
    let files = series.dicom_files()?;
    let site_id = crate::ingest::site::by_code(pool, site).await?;
    let received = Received::new(Via::Demo, site_id);

    store(pool, ingestor, &received, &files[..first]).await?;
    tracing::info!(series = %series.series_uid, "demo: first burst of a series stored; the rest follows once it is screened");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if elysium_db::jobs::finished_auto_jobs(pool, &series.series_uid).await? > 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!(
                "the first burst was not screened within {} s (are screening workers running?)",
                WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    store(pool, ingestor, &received, &files[first..]).await?;
    tracing::info!(series = %series.series_uid, "demo: the rest of the series arrived; it will be screened again");
    Ok(())
}

async fn store(
    pool: &sqlx::PgPool,
    ingestor: &Ingestor,
    received: &Received,
    files: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    let summary = crate::ingest::cli::ingest_paths(ingestor, files, received, 4).await?;
    let template = app::service::Audit::anonymous("demo.images", None, None);
    crate::ingest::audit::record_batch(pool, &template, &summary.outcomes).await?;
    Ok(())
}
