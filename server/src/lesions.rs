//! Lesion tracking's work on images: each finding that located a lesion becomes a sighting on
//! a track (`app::service::lesions::place`), aligned by its series' anatomical anchor, which is
//! measured here once per series from the stored voxels (`elysium_measure::anatomical_anchor`)
//! and kept in `series_anchor`. Run after screening stores findings, and by the demo.

use std::sync::Arc;

use anyhow::Context;
use elysium_db::lesions as db;
use elysium_dicom::volume::Volume;
use elysium_measure::VolumeView;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use uuid::Uuid;

/// Findings placed per batch (each batch re-reads what is still untracked).
const BATCH: i64 = 200;

/// Reads a stored series into a volume (the object store's instances, parsed and stacked).
pub async fn series_volume(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    study_uid: &str,
    series_uid: &str,
) -> anyhow::Result<Volume> {
    let bytes = series_bytes(pool, store, study_uid, series_uid).await.map_err(|read| match read {
        SeriesRead::Unusable(why) => anyhow::anyhow!(why),
        SeriesRead::Unavailable(error) => error,
    })?;
    volume_of(bytes).await
}

/// The stored originals of a series' instances, in the index's order.
async fn series_bytes(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    study_uid: &str,
    series_uid: &str,
) -> Result<Vec<bytes::Bytes>, SeriesRead> {
    let rows = elysium_db::images::instances_of_series(pool, study_uid, series_uid)
        .await
        .map_err(|e| SeriesRead::Unavailable(e.into()))?;
    if rows.is_empty() {
        return Err(SeriesRead::Unusable("no images are stored for the series".into()));
    }
    futures::stream::iter(rows)
        .map(|row| {
            let store = store.clone();
            async move { store.get(&row.object_key.into()).await?.bytes().await }
        })
        .buffered(8)
        .try_collect()
        .await
        .map_err(|error| match error {
            // A missing original stays missing; anything else (the store unreachable) may pass.
            object_store::Error::NotFound { .. } => SeriesRead::Unusable(format!("an original is missing: {error}")),
            other => {
                SeriesRead::Unavailable(anyhow::Error::new(other).context("reading the series from the object store"))
            }
        })
}

/// Parses and stacks a series' instances.
async fn volume_of(bytes: Vec<bytes::Bytes>) -> anyhow::Result<Volume> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<Volume> {
        let parsed = bytes
            .iter()
            .map(elysium_dicom::header::parse_shared)
            .collect::<Result<Vec<_>, _>>()
            .context("an instance of the series cannot be read")?;
        Ok(elysium_dicom::volume::load_series(&parsed)?.volume)
    })
    .await?
}

/// Why a series could not be read: for good (kept as the reason it has no anchor), or for now
/// (the placing waits for the next run rather than placing its findings unaligned for ever).
#[derive(Debug)]
enum SeriesRead {
    Unusable(String),
    Unavailable(anyhow::Error),
}

/// The volume as the measurements read it.
pub fn view(volume: &Volume) -> Result<VolumeView<'_>, elysium_measure::ViewError> {
    VolumeView::from_dicom_layout(
        &volume.voxels,
        [volume.slices, volume.rows, volume.columns],
        volume.spacing,
        volume.origin,
        volume.direction,
    )
}

/// The series' anchor: stored, or measured now and stored (with the reason when it cannot be).
/// `None` when there is none.
async fn anchor(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    series_ref: Uuid,
    study_uid: &str,
    series_uid: &str,
) -> anyhow::Result<Option<[f64; 3]>> {
    if let Some(row) = db::anchor(pool, series_ref).await? {
        return Ok(row.point_mm.and_then(|p| <[f64; 3]>::try_from(p).ok()));
    }
    let measured = match series_bytes(pool, store, study_uid, series_uid).await {
        Ok(bytes) => match volume_of(bytes).await {
            Ok(volume) => {
                tokio::task::spawn_blocking(move || match view(&volume) {
                    Ok(view) => elysium_measure::anatomical_anchor(&view).map_err(|why| format!("{why:?}")),
                    Err(error) => Err(format!("unreadable volume: {error}")),
                })
                .await?
            }
            Err(error) => Err(format!("unreadable series: {error:#}")),
        },
        Err(SeriesRead::Unusable(why)) => Err(why),
        Err(SeriesRead::Unavailable(error)) => return Err(error),
    };
    match measured {
        Ok(anchor) => {
            db::store_anchor(pool, series_ref, Some(&anchor.point_mm), None).await?;
            Ok(Some(anchor.point_mm))
        }
        Err(why) => {
            tracing::info!(series_uid, why, "no anatomical anchor; its lesions are not aligned");
            db::store_anchor(pool, series_ref, None, Some(&why)).await?;
            Ok(None)
        }
    }
}

/// Places every untracked finding that located a lesion, oldest study first. Returns how many
/// were placed. A series the object store cannot serve just now ends the run with its error:
/// its findings (and the ones after it) wait for the next run instead of being placed unaligned.
pub async fn track_pending(pool: &sqlx::PgPool, store: &Arc<dyn ObjectStore>) -> anyhow::Result<usize> {
    let mut placed = 0;
    loop {
        let batch = db::untracked(pool, BATCH).await?;
        let mut progressed = false;
        for finding in &batch {
            let anchor = anchor(pool, store, finding.series_ref, &finding.study_uid, &finding.series_uid).await?;
            if app::service::lesions::place(pool, finding, anchor).await?.is_some() {
                placed += 1;
                progressed = true;
            }
        }
        // A batch that placed nothing (locations without a usable size) would be read again
        // forever: stop.
        if batch.len() < BATCH as usize || !progressed {
            return Ok(placed);
        }
    }
}
