//! The de-identified research export of a period (by scan date): `elysium export --deidentify`
//! writes a folder with
//!
//! - `findings.csv`: every AI-positive finding of the period with its outcome and timings, as
//!   the programme dashboard counts them;
//! - `mdt_decisions.csv`: every decided tumour-board case of the period, the AI's proposed
//!   T, N, M and stage beside the signed ones;
//! - `dicom/`: every stored instance of those studies, de-identified by the DICOM PS3.15
//!   Basic Application Level Confidentiality Profile with the Retain Longitudinal Temporal
//!   Information with Modified Dates Option (dates shifted, not removed);
//! - `manifest.json`: what was exported and how, with the counts (no identifiers).
//!
//! Patients appear under a pseudonym and their dates shifted by a per-patient number of days,
//! both derived from `ELYSIUM_EXPORT_KEY` ([`key`]), the same in both tables and in the images.
//! The administrator's export page downloads the two tables ([`download`]); the images are
//! too large for a browser and are written by the command only. Every export is audited.
//!
//! - [`key`]: the key and what it derives; [`records`]: the rows; [`tables`]: reading and
//!   writing the tables; [`images`]: the images; [`folder`]: writing beside the destination
//!   and renaming at the end; [`manifest`]: the manifest.

pub mod folder;
pub mod images;
pub mod key;
pub mod manifest;
pub mod records;
pub mod tables;

use std::path::PathBuf;
use std::sync::Arc;

use app::service::{Audit, Caller, ServiceError};
use object_store::ObjectStore;
use serde_json::json;
use sqlx::PgPool;

pub use key::{ExportKey, KeyError};
pub use tables::{Period, Tables};

use crate::config::Secret;
use folder::{Staging, io};
use images::ImageCounts;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("--{field}: {message}")]
    Period { field: &'static str, message: app::domain::said::Said },
    #[error("{0} exists and is not an empty folder: an export never writes into an existing one")]
    OutExists(PathBuf),
    #[error("{0} does not name a folder to create")]
    OutName(PathBuf),
    #[error("{0} (where the export's folder would go) is not a folder")]
    OutParent(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] elysium_db::DbError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("finding {0} changed while it was being exported; export again")]
    Vanished(i64),
    #[error("the original of an instance cannot be read from the object store: {0}")]
    Original(String),
    #[error("a stored instance cannot be de-identified: {0}")]
    Deidentify(#[from] elysium_dicom::deidentify::DeidentifyError),
    #[error("writing a table: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the manifest: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a worker stopped: {0}")]
    Task(String),
    #[error("the export could not be recorded in the audit trail, so it was removed: {0}")]
    Audit(String),
}

/// `elysium export`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// De-identify (the only kind of export: required, so that the command says what it does).
    #[arg(long, required = true)]
    pub deidentify: bool,
    /// First scan date of the period (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last scan date of the period (YYYY-MM-DD), included.
    #[arg(long)]
    pub to: String,
    /// Folder to create for the export (it must not exist, or be empty).
    pub out: PathBuf,
    /// Secret key (at least 32 characters) that derives the pseudonyms, date shifts and UIDs:
    /// keep it secret, and keep it to get the same pseudonyms in later exports.
    #[arg(long, env = "ELYSIUM_EXPORT_KEY", hide_env_values = true)]
    pub export_key: Option<Secret>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub findings: usize,
    pub decisions: usize,
    pub patients: usize,
    pub images: ImageCounts,
}

/// Writes the export of `period` to `out` (a new folder): the tables, the images from `store`,
/// the manifest; then records `audit` (the actor), and removes the export again when that fails.
pub async fn export(
    pool: &PgPool,
    store: &Arc<dyn ObjectStore>,
    key: &ExportKey,
    period: Period,
    out: &std::path::Path,
    audit: Audit,
) -> Result<ExportSummary, ExportError> {
    let staging = Staging::begin(out)?;
    let today = app::service::followup::today();
    let tables = tables::read(pool, key, period, None, today).await?;
    let dir = staging.path();
    write(dir, tables::FINDINGS_FILE, tables::to_csv(&tables::FINDING_COLUMNS, &tables.findings)?).await?;
    write(dir, tables::DECISIONS_FILE, tables::to_csv(&tables::DECISION_COLUMNS, &tables.decisions)?).await?;
    let images = images::write(pool, store, key, &tables.studies, dir).await?;
    let manifest = manifest::manifest(period, &tables, &images, today);
    write(dir, manifest::MANIFEST_FILE, serde_json::to_vec_pretty(&manifest)?).await?;
    let out = staging.finish()?;
    let summary = ExportSummary {
        out: out.clone(),
        findings: tables.findings.len(),
        decisions: tables.decisions.len(),
        patients: tables.patients.len(),
        images,
    };
    let recorded = audit
        .target_kind("export")
        .detail(json!({
            "deidentified": true,
            "from": app::format::date(period.from),
            "to": app::format::date(period.to),
            "out": out.display().to_string(),
            "findings": summary.findings,
            "mdt_decisions": summary.decisions,
            "patients": summary.patients,
            "studies": summary.images.studies,
            "series": summary.images.series,
            "instances": summary.images.instances,
        }))
        .record(pool)
        .await;
    if let Err(unrecorded) = recorded {
        let _ = std::fs::remove_dir_all(&out);
        return Err(ExportError::Audit(unrecorded.to_string()));
    }
    Ok(summary)
}

async fn write(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> Result<(), ExportError> {
    let path = dir.join(name);
    tokio::fs::write(&path, bytes).await.map_err(|e| io(&path, e))
}

/// Which table the export page downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Findings,
    Decisions,
}

impl Download {
    fn name(self) -> &'static str {
        match self {
            Download::Findings => "findings",
            Download::Decisions => "mdt_decisions",
        }
    }
}

/// One table of the export for the caller's sites, as a CSV file: its name and bytes. The
/// download is audited (`export.findings`, `export.mdt_decisions`) before it is sent.
pub async fn download(
    pool: &PgPool,
    caller: &Caller,
    key: Option<&Secret>,
    which: Download,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, Vec<u8>), ServiceError> {
    let key = ExportKey::new(key.map(Secret::expose)).map_err(|e| ServiceError::Conflict(e.said()))?;
    let period = Period::parse(from, to).map_err(|e| match e {
        ExportError::Period { field, message } => ServiceError::invalid(field, message),
        other => ServiceError::internal(other),
    })?;
    let tables = tables::read(pool, &key, period, caller.user.site_scope(), app::service::followup::today())
        .await
        .map_err(|e| match e {
            ExportError::Service(e) => e,
            other => ServiceError::internal(other),
        })?;
    let (rows, body) = match which {
        Download::Findings => (tables.findings.len(), tables::to_csv(&tables::FINDING_COLUMNS, &tables.findings)),
        Download::Decisions => (tables.decisions.len(), tables::to_csv(&tables::DECISION_COLUMNS, &tables.decisions)),
    };
    let body = body.map_err(ServiceError::internal)?;
    caller
        .audit(&format!("export.{}", which.name()))
        .target_kind("export")
        .detail(json!({
            "deidentified": true,
            "from": app::format::date(period.from),
            "to": app::format::date(period.to),
            "rows": rows,
            "patients": tables.patients.len(),
        }))
        .record(pool)
        .await?;
    let filename = format!("{}-{}-{}.csv", which.name(), app::format::date(period.from), app::format::date(period.to));
    Ok((filename, body))
}
