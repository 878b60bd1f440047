//! Queues every complete CT series for screening by the active model: a series is complete when
//! no instance has arrived for the quiet period. A series that receives instances after that
//! (a sender that paused) is screened again on all of them once it is quiet again, as the next
//! generation of its automatic job (`jobs::queue_auto`); the newest result is current. Series
//! that are not eligible (contrast, too few slices, not the body...) are recorded as skipped with
//! the reason, from one instance's header; the worker checks the loaded volume again.

use std::sync::Arc;
use std::time::Duration;

use elysium_db::jobs::{self, AutoQueued};
use object_store::{ObjectStore, ObjectStoreExt};

use super::ScreeningConfig;

/// How often the scheduler looks for complete series.
const EVERY: Duration = Duration::from_secs(5);

pub fn start(
    pool: sqlx::PgPool,
    store: Arc<dyn ObjectStore>,
    config: ScreeningConfig,
    model_name: String,
    model_version: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = pass(&pool, &store, &config, &model_name, &model_version).await {
                tracing::error!(%error, "queueing series for screening");
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// One look: queues or skips each waiting series. Returns how many were queued.
pub async fn pass(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    config: &ScreeningConfig,
    model_name: &str,
    model_version: &str,
) -> anyhow::Result<usize> {
    let waiting = jobs::series_awaiting_screening(pool, model_name, model_version, config.quiet(), 50).await?;
    let mut queued = 0;
    for series_uid in waiting {
        let verdict = header_verdict(pool, store, &series_uid).await;
        let mut tx = pool.begin().await?;
        let outcome = jobs::queue_auto(
            &mut tx,
            &series_uid,
            model_name,
            model_version,
            config.job_max_attempts,
            config.quiet(),
            verdict.as_ref().err().map(|(codes, reason)| jobs::Skip { codes, reason }),
        )
        .await?;
        tx.commit().await?;
        match outcome {
            AutoQueued::Queued { generation, .. } => {
                queued += 1;
                if generation > 1 {
                    tracing::info!(%series_uid, generation, "series changed after it was screened; screening it again");
                }
            }
            AutoQueued::NotQuiet => tracing::debug!(%series_uid, "an instance arrived meanwhile; not complete yet"),
            _ => {}
        }
    }
    Ok(queued)
}

/// Eligibility from the first instance's header and the slice count; the failed rules' codes
/// and the reason when not eligible (`unreadable` when the header cannot be read).
async fn header_verdict(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    series_uid: &str,
) -> Result<(), (Vec<&'static str>, String)> {
    header_eligibility(pool, store, series_uid)
        .await
        .map_err(|e| (vec!["unreadable"], e))?
        .map_err(|verdict| (verdict.codes, format!("not eligible for screening: {}", verdict.reasons.join(" "))))
}

async fn header_eligibility(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    series_uid: &str,
) -> Result<Result<(), elysium_dicom::eligibility::Eligibility>, String> {
    let (study_uid, count) = elysium_db::images::series_location(pool, series_uid)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the series is gone")?;
    let instances =
        elysium_db::images::instances_of_series(pool, &study_uid, series_uid).await.map_err(|e| e.to_string())?;
    let first = instances.first().ok_or("the series has no instances")?;
    let bytes = store
        .get(&first.object_key.clone().into())
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let slices = usize::try_from(count).unwrap_or(0);
    let verdict = tokio::task::spawn_blocking(move || {
        let header = elysium_dicom::header::parse_header(&bytes).map_err(|e| e.to_string())?;
        Ok::<_, String>(elysium_dicom::eligibility::assess(&header, slices, &[]))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(if verdict.eligible { Ok(()) } else { Err(verdict) })
}
