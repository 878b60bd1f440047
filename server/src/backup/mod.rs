//! `elysium backup OUT` and `elysium restore IN`: the whole system (the database and every
//! original the database references) in one folder, and back into an empty system.
//!
//! A backup folder holds
//!
//! - `database.dump`: the database in `pg_dump`'s custom format, schema and data, with the
//!   triggers that keep the audit trail and the clinical histories append-only (they are part of
//!   the schema, so a restored trail refuses `UPDATE`, `DELETE` and `TRUNCATE` as the original
//!   did). Sessions are left out ([`postgres::EXCLUDED_TABLE_DATA`]).
//! - `objects/`: every original the dumped `instance` rows reference (the only object keys the
//!   schema holds), named by content ([`manifest::object_file`]).
//! - `manifest.json`, written last: the format, the versions of Elysium and of the schema, when,
//!   and each file's size and SHA-256 ([`manifest`]).
//!
//! **Consistency.** The dump and the object list come from one snapshot: a `SERIALIZABLE, READ
//! ONLY, DEFERRABLE` transaction exports its snapshot, `pg_dump --snapshot` dumps exactly that,
//! and the same transaction lists the instances. Ingest writes an object before it commits the
//! row that names it, so every listed object is in the store; each is checked against the row's
//! SHA-256 and size while it is copied, and a missing or different one stops the backup, naming
//! its key. The folder is written beside OUT and renamed to it at the end (as the export's is),
//! so OUT holds a whole backup or nothing; OUT must not exist or be an empty folder.
//!
//! **Restore** checks everything it can before it changes anything: the manifest, every file's
//! size and SHA-256, that the dump's migrations are all known to this binary (with their
//! checksums) and that the dump's instances are exactly the manifest's objects, that the target
//! database is empty (a restore never merges or overwrites), and that no key it would write holds
//! other bytes in the store. Then it puts the missing objects, restores the dump in one
//! transaction, applies the migrations newer than the backup (as `serve` would), and records
//! itself in the restored audit trail. The objects go first: should the database restore fail,
//! the store holds objects no row references, which a second restore finds in place and the
//! orphan sweep removes otherwise; the other order could leave rows whose images are missing.
//!
//! Both are audited (`backup.create` in the backed-up database, after the snapshot, so it is not
//! in the backup; `backup.restore` in the restored one).

pub mod manifest;
pub mod postgres;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use app::service::Audit;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, path::Path as ObjectPath};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;

use crate::export::{ExportError, folder::Staging};
use manifest::{DUMP_FILE, FileEntry, MANIFEST_FILE, Manifest, OBJECTS_DIR, ObjectEntry, object_file};

/// Objects copied (or checked, or put) at once: enough to keep an S3 connection pool busy.
const CONCURRENT_OBJECTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists and is not an empty folder: a backup never writes into an existing one")]
    OutExists(PathBuf),
    #[error("{0} does not name a folder to create")]
    OutName(PathBuf),
    #[error("{0} (where the backup's folder would go) is not a folder")]
    OutParent(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the backup's manifest is refused: {0}")]
    Manifest(String),
    #[error("the backup's file {file} {problem}")]
    BadFile { file: String, problem: String },
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub out: PathBuf,
    pub objects: usize,
    pub object_bytes: u64,
    pub dump_bytes: u64,
    pub migration_version: i64,
}

/// Writes a backup of the database at `url` (whose pool is `pool`) and of the objects its
/// instances reference in `store` to the new folder `out`, then records `audit` (the actor) in
/// the database, removing the backup again when that fails (as the export does: no copy of the
/// patients' data leaves unrecorded).
pub async fn backup(
    pool: &PgPool,
    url: &str,
    store: &Arc<dyn ObjectStore>,
    out: &Path,
    audit: Audit,
) -> anyhow::Result<BackupSummary> {
    let url = postgres::libpq_url(url)?;
    let staging = Staging::begin(out).map_err(staging_error)?;
    let dir = staging.path().to_owned();
    let objects_dir = dir.join(OBJECTS_DIR);
    std::fs::create_dir(&objects_dir).map_err(|source| BackupError::Io { path: objects_dir, source })?;

    // The snapshot: SERIALIZABLE, READ ONLY, DEFERRABLE waits (if it must) for one no running
    // read-write transaction can make anomalous, as `pg_dump --serializable-deferrable` does.
    // No statement timeout: that wait, and the listing of a large store, may be long.
    let mut tx = pool.begin_with("begin isolation level serializable, read only, deferrable").await?;
    sqlx::raw_sql("set local statement_timeout = 0; set local idle_in_transaction_session_timeout = 0")
        .execute(&mut *tx)
        .await?;
    let (snapshot, taken_at): (String, time::OffsetDateTime) =
        sqlx::query_as("select pg_export_snapshot(), clock_timestamp()").fetch_one(&mut *tx).await?;
    let migrated: bool = sqlx::query_scalar(
        "select to_regclass('_sqlx_migrations') is not null and \
                                             to_regclass('instance') is not null",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !migrated {
        bail!("the database has no Elysium schema (no migrations applied): there is nothing to back up");
    }
    let migration_version: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success").fetch_one(&mut *tx).await?;
    let migration_version = migration_version.context("the database has no migration applied successfully")?;

    let dump_path = dir.join(DUMP_FILE);
    let dump = postgres::start_dump(&url, &snapshot, &dump_path)?;
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("select object_key, sha256, size_bytes from instance order by object_key")
            .fetch_all(&mut *tx)
            .await?;
    let mut objects = Vec::with_capacity(rows.len());
    for (key, sha256, size) in rows {
        let size = u64::try_from(size).with_context(|| format!("instance object {key} has a negative size"))?;
        objects.push(ObjectEntry { key, size, sha256 });
    }
    // Copied while pg_dump runs; one copy per content.
    let mut firsts: HashMap<&str, &ObjectEntry> = HashMap::new();
    for object in &objects {
        firsts.entry(object.sha256.as_str()).or_insert(object);
    }
    futures::stream::iter(firsts.into_values().map(|object| copy_object(store.as_ref(), &dir, object)))
        .buffer_unordered(CONCURRENT_OBJECTS)
        .try_collect::<()>()
        .await?;
    postgres::finish("pg_dump", dump).await?;
    // Read only: nothing to commit; the snapshot is no longer needed.
    tx.rollback().await?;

    let dump_sha256 = {
        let path = dump_path.clone();
        tokio::task::spawn_blocking(move || manifest::sha256_of_file(&path)).await??
    };
    let dump_bytes = std::fs::metadata(&dump_path).map_err(|source| BackupError::Io { path: dump_path, source })?.len();
    let created_at = taken_at
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .context("formatting the snapshot's time")?;
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        format_version: manifest::FORMAT_VERSION,
        elysium_version: env!("CARGO_PKG_VERSION").into(),
        migration_version,
        created_at: created_at.clone(),
        database: FileEntry { file: DUMP_FILE.into(), size: dump_bytes, sha256: dump_sha256.clone() },
        objects,
    };
    // Last, so that a folder with a manifest is a finished backup.
    write_synced(&dir.join(MANIFEST_FILE), &serde_json::to_vec_pretty(&manifest)?).await?;
    let out = staging.finish().map_err(staging_error)?;
    let summary = BackupSummary {
        out: out.clone(),
        objects: manifest.objects.len(),
        object_bytes: manifest.object_bytes(),
        dump_bytes,
        migration_version,
    };
    let recorded = audit
        .target("backup", out.display().to_string())
        .detail(json!({
            "out": out.display().to_string(),
            "created_at": created_at,
            "migration_version": migration_version,
            "objects": summary.objects,
            "object_bytes": summary.object_bytes,
            "dump_bytes": dump_bytes,
            "dump_sha256": dump_sha256,
        }))
        .record(pool)
        .await;
    if let Err(unrecorded) = recorded {
        let _ = std::fs::remove_dir_all(&out);
        bail!("the backup could not be recorded in the audit trail, so it was removed: {unrecorded}");
    }
    Ok(summary)
}

/// Refuses `out` before anything is opened, as [`backup`] would: it must not exist or be an
/// empty folder, in a folder that exists.
pub fn check_out(out: &Path) -> anyhow::Result<()> {
    // The staging folder this makes is removed again when it is dropped.
    Staging::begin(out).map(drop).map_err(staging_error)
}

fn staging_error(error: ExportError) -> anyhow::Error {
    match error {
        ExportError::OutExists(path) => BackupError::OutExists(path).into(),
        ExportError::OutName(path) => BackupError::OutName(path).into(),
        ExportError::OutParent(path) => BackupError::OutParent(path).into(),
        ExportError::Io { path, source } => BackupError::Io { path, source }.into(),
        other => other.into(),
    }
}

/// Copies one object from the store into the backup, hashing it on the way: the bytes must be
/// the ones the database describes.
async fn copy_object(store: &dyn ObjectStore, dir: &Path, object: &ObjectEntry) -> anyhow::Result<()> {
    let key = ObjectPath::from(object.key.as_str());
    let got = match store.get(&key).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => {
            bail!("object {} is missing from the object store; the backup was stopped", object.key)
        }
        Err(error) => {
            return Err(error).with_context(|| format!("reading object {} from the object store", object.key));
        }
    };
    let path = dir.join(object_file(&object.sha256));
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(|source| BackupError::Io { path: parent.into(), source })?;
    }
    let io = |source| BackupError::Io { path: path.clone(), source };
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut chunks = got.into_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.with_context(|| format!("reading object {} from the object store", object.key))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.sync_all().await.map_err(io)?;
    let found = manifest::hex(&hasher.finalize());
    if found != object.sha256 || size != object.size {
        bail!(
            "object {} in the object store is not the one the database describes ({size} bytes, SHA-256 {found}; \
             the database says {} bytes, {}); the backup was stopped",
            object.key,
            object.size,
            object.sha256
        );
    }
    Ok(())
}

async fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let io = |source| BackupError::Io { path: path.to_owned(), source };
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await.map_err(io)?;
    file.write_all(bytes).await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(())
}

/// A backup folder that passed every check that needs no database: its manifest, and what the
/// dump says about itself.
#[derive(Debug, Clone)]
pub struct VerifiedBackup {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Instance rows in the dump.
    pub instances: u64,
}

/// Checks the backup in `dir` without touching any database or store: the manifest; every
/// file's size and SHA-256; that every migration the dump applied is one this binary has, with
/// the same checksum (a backup from a newer Elysium needs that Elysium); that the manifest's
/// migration version is the dump's; and that the dump's instances reference exactly the
/// manifest's objects, with the same sizes and checksums.
pub async fn verify(dir: &Path) -> anyhow::Result<VerifiedBackup> {
    let manifest = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            let manifest = manifest::read(&dir)?;
            manifest::verify_files(&dir, &manifest)?;
            Ok::<_, BackupError>(manifest)
        })
        .await??
    };
    let dump = dir.join(DUMP_FILE);
    let known: HashMap<i64, Vec<u8>> = elysium_db::MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.checksum.to_vec()))
        .collect();
    let newest_known = known.keys().max().copied().unwrap_or_default();
    let mut newest = 0i64;
    postgres::read_table(&dump, "public", "_sqlx_migrations", |columns, row| {
        let value = |name: &str| column(columns, row, name);
        let version: i64 = value("version")?.parse().context("a migration version in the dump")?;
        if value("success")? != "t" {
            bail!("the backup's database has migration {version} marked as failed; it cannot be restored as it is");
        }
        let Some(checksum) = known.get(&version) else {
            bail!(
                "the backup's database has migration {version}, which this Elysium ({}, migrations up to \
                 {newest_known}) does not know: restore it with the Elysium that wrote it ({}) or a newer one",
                env!("CARGO_PKG_VERSION"),
                manifest.elysium_version
            );
        };
        if postgres::bytea(value("checksum")?)? != *checksum {
            bail!("the backup's migration {version} differs from this Elysium's migration of that version");
        }
        newest = newest.max(version);
        Ok(())
    })
    .await
    .context("reading the migrations out of the dump")?;
    if newest != manifest.migration_version {
        bail!(
            "the manifest says migration {}, the dump {newest}: they are not of one backup",
            manifest.migration_version
        );
    }
    let mut expected: HashMap<&str, &ObjectEntry> = manifest.objects.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut instances = 0u64;
    postgres::read_table(&dump, "public", "instance", |columns, row| {
        let key = column(columns, row, "object_key")?;
        let Some(object) = expected.remove(key) else {
            bail!("the dump has an instance whose object {key} the manifest does not list (or lists twice)");
        };
        let size: u64 = column(columns, row, "size_bytes")?.parse().context("an instance's size in the dump")?;
        if column(columns, row, "sha256")? != object.sha256 || size != object.size {
            bail!("object {key}: the dump's size and SHA-256 are not the manifest's");
        }
        instances += 1;
        Ok(())
    })
    .await
    .context("reading the instances out of the dump")?;
    if let Some(key) = expected.keys().min() {
        bail!("the manifest lists object {key}, which no instance of the dump references");
    }
    Ok(VerifiedBackup { dir: dir.to_owned(), manifest, instances })
}

fn column<'a>(columns: &[String], row: &'a [Option<String>], name: &str) -> anyhow::Result<&'a str> {
    let index = columns.iter().position(|c| c == name).with_context(|| format!("the dump has no column {name}"))?;
    row.get(index).and_then(Option::as_deref).with_context(|| format!("the dump has a row without {name}"))
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    pub objects: usize,
    /// Objects that were in the store already, with the same bytes.
    pub objects_present: usize,
    pub instances: u64,
    pub migration_version: i64,
}

/// Restores `backup` (checked by [`verify`]) into the empty database at `url` (`pool`) and into
/// `store`, then records `audit` in the restored trail.
pub async fn restore(
    pool: &PgPool,
    url: &str,
    store: &Arc<dyn ObjectStore>,
    backup: &VerifiedBackup,
    audit: Audit,
) -> anyhow::Result<RestoreSummary> {
    let url = postgres::libpq_url(url)?;
    let (total, examples) = postgres::contents(pool).await?;
    if total > 0 {
        bail!(
            "the database is not empty: it has {total} tables, sequences, functions or schemas of its own \
             ({}{}); a restore goes only into a new, empty database, and nothing was changed",
            examples.join(", "),
            if total > examples.len() as i64 { ", ..." } else { "" }
        );
    }
    let manifest = &backup.manifest;
    let checked: Vec<(&ObjectEntry, bool)> =
        futures::stream::iter(manifest.objects.iter().map(|o| present(store.as_ref(), o)))
            .buffered(CONCURRENT_OBJECTS)
            .try_collect()
            .await?;
    let missing: Vec<&ObjectEntry> = checked.into_iter().filter(|(_, present)| !present).map(|(o, _)| o).collect();
    futures::stream::iter(missing.iter().map(|object| put_object(store.as_ref(), &backup.dir, object)))
        .buffer_unordered(CONCURRENT_OBJECTS)
        .try_collect::<()>()
        .await?;
    postgres::restore(&url, &backup.dir.join(DUMP_FILE)).await.context(
        "the database was not restored (nothing of it was kept); the objects already put in the store are \
         found in place by the next restore, and removed by the orphan sweep otherwise",
    )?;
    let restored: i64 = sqlx::query_scalar("select count(*) from instance").fetch_one(pool).await?;
    if u64::try_from(restored).ok() != Some(backup.instances) {
        bail!("the restored database has {restored} instances, the dump {}", backup.instances);
    }
    // A backup from an older Elysium is brought up to this one's schema, as `serve` would.
    elysium_db::migrate(pool).await.context("applying this Elysium's newer migrations to the restored database")?;
    let summary = RestoreSummary {
        objects: manifest.objects.len(),
        objects_present: manifest.objects.len() - missing.len(),
        instances: backup.instances,
        migration_version: manifest.migration_version,
    };
    audit
        .target("backup", backup.dir.display().to_string())
        .detail(json!({
            "from": backup.dir.display().to_string(),
            "created_at": manifest.created_at,
            "elysium_version": manifest.elysium_version,
            "migration_version": manifest.migration_version,
            "objects": summary.objects,
            "objects_present": summary.objects_present,
            "object_bytes": manifest.object_bytes(),
            "dump_sha256": manifest.database.sha256,
        }))
        .record(pool)
        .await
        .context("the backup was restored, but the restore could not be recorded in the audit trail")?;
    Ok(summary)
}

/// Whether `object`'s key holds its bytes in the store already (true), or nothing (false); other
/// bytes under the key are an error: a restore never overwrites an object.
async fn present<'a>(store: &dyn ObjectStore, object: &'a ObjectEntry) -> anyhow::Result<(&'a ObjectEntry, bool)> {
    let key = ObjectPath::from(object.key.as_str());
    let conflict = |found: String| {
        anyhow::anyhow!(
            "object {} is in the object store already with other content ({found}; the backup's is {} bytes, \
             SHA-256 {}): a restore never overwrites an object, and nothing was changed",
            object.key,
            object.size,
            object.sha256
        )
    };
    match store.head(&key).await {
        Err(object_store::Error::NotFound { .. }) => return Ok((object, false)),
        Err(error) => return Err(error).with_context(|| format!("looking for object {} in the store", object.key)),
        Ok(meta) if meta.size != object.size => return Err(conflict(format!("{} bytes", meta.size))),
        Ok(_) => {}
    }
    let bytes = store.get(&key).await?.bytes().await?;
    let found = elysium_dicom::header::sha256_hex(&bytes);
    if found != object.sha256 {
        return Err(conflict(format!("SHA-256 {found}")));
    }
    Ok((object, true))
}

/// Puts one object from the backup into the store; its bytes are hashed again as they are read
/// (the folder could have changed since it was verified).
async fn put_object(store: &dyn ObjectStore, dir: &Path, object: &ObjectEntry) -> anyhow::Result<()> {
    let path = dir.join(object_file(&object.sha256));
    let bytes = tokio::fs::read(&path).await.map_err(|source| BackupError::Io { path: path.clone(), source })?;
    if elysium_dicom::header::sha256_hex(&bytes) != object.sha256 {
        bail!("{} changed since it was verified; restore again", path.display());
    }
    store
        .put(&ObjectPath::from(object.key.as_str()), bytes.into())
        .await
        .with_context(|| format!("putting object {} into the object store", object.key))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_never_goes_into_a_folder_that_holds_something() {
        let root = std::env::temp_dir().join(format!("elysium-backup-out-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&root).expect("scratch");
        std::fs::write(root.join("old"), "x").expect("write");
        let refused = Staging::begin(&root).map_err(staging_error).expect_err("not empty");
        assert!(matches!(refused.downcast_ref::<BackupError>(), Some(BackupError::OutExists(_))), "{refused}");
        assert!(refused.to_string().contains("a backup never writes into an existing one"), "{refused}");
        let refused = Staging::begin(&root.join("old")).map_err(staging_error).expect_err("a file");
        assert!(matches!(refused.downcast_ref::<BackupError>(), Some(BackupError::OutExists(_))));
        let refused = Staging::begin(&root.join("no/such/backup")).map_err(staging_error).expect_err("no parent");
        assert!(matches!(refused.downcast_ref::<BackupError>(), Some(BackupError::OutParent(_))));
        assert_eq!(std::fs::read_dir(&root).expect("list").count(), 1, "nothing written");
        std::fs::remove_dir_all(&root).expect("clean up");
    }

    #[test]
    fn a_restore_refuses_a_folder_that_is_no_whole_backup() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let root = std::env::temp_dir().join(format!("elysium-backup-in-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&root).expect("scratch");
        let refused = runtime.block_on(verify(&root)).expect_err("no manifest");
        assert!(format!("{refused:#}").contains("no manifest.json"), "{refused:#}");
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
