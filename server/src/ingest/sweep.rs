//! The orphan sweep: removes originals that no instance row references. Ingest writes an object
//! before it commits the row that references it, so a crash (or a lost database connection)
//! between the two leaves an object that nothing can ever read. Objects younger than a grace
//! period are left alone, and each deletion happens under the object key's lock, after checking
//! again that no row references it: an ingest that is writing the same instance right now is
//! never undone (see `Ingestor::register`).

use std::time::Duration;

use futures::StreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, path::Path as ObjectPath};
use sqlx::PgPool;

/// Keys checked against the database in one query.
const BATCH: usize = 500;

/// What one sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Objects listed under `instances/`.
    pub examined: u64,
    /// Orphans removed (or, in a dry run, that would be), by key.
    pub removed: Vec<String>,
    /// Orphans younger than the grace period, left for a later sweep.
    pub too_recent: u64,
}

/// Sweeps the whole `instances/` prefix. With `dry_run`, reports what it would remove.
pub async fn sweep_orphans(
    pool: &PgPool,
    store: &dyn ObjectStore,
    grace: Duration,
    dry_run: bool,
) -> anyhow::Result<SweepReport> {
    let cutoff = chrono_cutoff(grace)?;
    let mut report = SweepReport::default();
    let prefix = ObjectPath::from("instances");
    let mut listing = store.list(Some(&prefix)).chunks(BATCH);
    while let Some(chunk) = listing.next().await {
        let metas: Vec<ObjectMeta> = chunk.into_iter().collect::<Result<_, _>>()?;
        report.examined += metas.len() as u64;
        let keys: Vec<String> = metas.iter().map(|m| m.location.to_string()).collect();
        let mut conn = pool.acquire().await?;
        let registered: std::collections::HashSet<String> =
            elysium_db::images::registered_object_keys(&mut conn, &keys).await?.into_iter().collect();
        drop(conn);
        for meta in metas.into_iter().filter(|m| !registered.contains(m.location.as_ref())) {
            if meta.last_modified > cutoff {
                report.too_recent += 1;
            } else if dry_run || remove_if_orphan(pool, store, &meta.location, cutoff).await? {
                report.removed.push(meta.location.to_string());
            }
        }
    }
    Ok(report)
}

/// Deletes one object if, under its key's lock, no row references it and it is still older than
/// the cutoff (an ingest may have written it again since it was listed). True when deleted.
async fn remove_if_orphan(
    pool: &PgPool,
    store: &dyn ObjectStore,
    key: &ObjectPath,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    elysium_db::images::lock_object_key(&mut tx, key.as_ref()).await?;
    if !elysium_db::images::registered_object_keys(&mut tx, &[key.to_string()]).await?.is_empty() {
        return Ok(false);
    }
    match store.head(key).await {
        Ok(meta) if meta.last_modified <= cutoff => {}
        Ok(_) | Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(error) => return Err(error.into()),
    }
    match store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    tx.commit().await?;
    Ok(true)
}

/// Records a sweep that removed something in the audit trail (`storage.sweep`); `actor` is the
/// person at the command line, or none for the server's own schedule.
pub async fn audit(pool: &PgPool, actor: Option<String>, report: &SweepReport) -> anyhow::Result<()> {
    if report.removed.is_empty() {
        return Ok(());
    }
    let actor = actor.unwrap_or_else(|| "system:orphan-sweep".into());
    let mut conn = pool.acquire().await?;
    app::service::Audit::anonymous("storage.sweep", Some(&actor), None)
        .target_kind("object_store")
        .detail(serde_json::json!({
            "removed": report.removed.len(),
            "keys": report.removed,
            "too_recent": report.too_recent,
            "examined": report.examined,
        }))
        .record_in(&mut conn)
        .await?;
    Ok(())
}

/// The server's schedule: a sweep at start-up, then every `every`, with a grace period of an hour.
pub async fn every(pool: PgPool, store: std::sync::Arc<dyn ObjectStore>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match sweep_orphans(&pool, store.as_ref(), SERVER_GRACE, false).await {
            Ok(report) => {
                if !report.removed.is_empty() {
                    tracing::warn!(
                        removed = report.removed.len(),
                        "removed orphaned objects left by interrupted ingests"
                    );
                }
                if let Err(error) = audit(&pool, None, &report).await {
                    tracing::error!(%error, "could not audit the orphan sweep");
                }
            }
            Err(error) => tracing::error!(%error, "the orphan sweep failed; it runs again later"),
        }
    }
}

/// How old an unreferenced object must be before the server's own sweep removes it: far longer
/// than any ingest takes between writing an object and registering it.
const SERVER_GRACE: Duration = Duration::from_secs(3600);

fn chrono_cutoff(grace: Duration) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::Utc::now() - chrono::Duration::from_std(grace)?)
}
