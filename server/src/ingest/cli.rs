//! `elysium ingest PATH...`: files, folders and zip archives, several at a time, with a progress
//! bar and a final summary (stored, duplicates, refused with reasons).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Ingestor, Outcome, Received};

/// A zip entry larger than this when inflated is refused (zip-bomb defence).
const MAX_ENTRY_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Something to read: a file on disk, or one entry of a zip archive.
pub(crate) enum Source {
    File(PathBuf),
    ZipEntry { archive: PathBuf, index: usize, name: String },
}

impl Source {
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::ZipEntry { archive, name, .. } => format!("{}!{name}", archive.display()),
        }
    }

    pub(crate) fn read(&self) -> anyhow::Result<Bytes> {
        match self {
            Source::File(path) => Ok(std::fs::read(path)?.into()),
            Source::ZipEntry { archive, index, .. } => {
                let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?)?;
                let entry = zip.by_index(*index)?;
                let declared = entry.size();
                anyhow::ensure!(declared <= MAX_ENTRY_BYTES, "zip entry inflates to {declared} bytes, over the limit");
                let mut bytes = Vec::new();
                // `take` bounds what a lying header can make us inflate.
                entry.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes)?;
                anyhow::ensure!(bytes.len() as u64 <= MAX_ENTRY_BYTES, "zip entry inflates past the limit");
                Ok(bytes.into())
            }
        }
    }
}

#[derive(Default)]
pub struct Summary {
    pub stored: usize,
    pub duplicates: usize,
    pub refused: Vec<(String, String)>,
    pub outcomes: Vec<Outcome>,
}

pub async fn ingest_paths(
    ingestor: &Ingestor,
    paths: &[PathBuf],
    received: &Received,
    jobs: usize,
) -> anyhow::Result<Summary> {
    let sources = tokio::task::spawn_blocking({
        let paths = paths.to_vec();
        move || collect_sources(&paths)
    })
    .await??;
    let bar = ProgressBar::new(sources.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summary = Summary::default();
    let mut results = futures::stream::iter(sources)
        .map(|source| async move {
            let label = source.describe();
            let bytes = tokio::task::spawn_blocking(move || source.read()).await;
            let outcome = match bytes {
                Ok(Ok(bytes)) => Ok(ingestor.ingest(bytes, received).await),
                Ok(Err(error)) => Err(error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            (label, outcome)
        })
        .buffer_unordered(jobs.max(1));
    while let Some((label, outcome)) = results.next().await {
        bar.inc(1);
        match outcome {
            Ok(Outcome::Stored(r)) => {
                summary.stored += 1;
                summary.outcomes.push(Outcome::Stored(r));
            }
            Ok(Outcome::Duplicate(r)) => {
                summary.duplicates += 1;
                summary.outcomes.push(Outcome::Duplicate(r));
            }
            Ok(rejected @ Outcome::Rejected { .. }) => {
                if let Outcome::Rejected { reason, .. } = &rejected {
                    summary.refused.push((label, reason.to_string()));
                }
                summary.outcomes.push(rejected);
            }
            Err(error) => summary.refused.push((label, format!("could not read: {error}"))),
        }
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// The files under `paths` (folders searched recursively) and the entries of zip archives.
pub(crate) fn collect_sources(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(path).follow_links(false).sort_by_file_name() {
                let entry = entry?;
                if entry.file_type().is_file() {
                    push_file(&mut sources, entry.path())?;
                }
            }
        } else {
            push_file(&mut sources, path)?;
        }
    }
    Ok(sources)
}

fn push_file(sources: &mut Vec<Source>, path: &Path) -> anyhow::Result<()> {
    let is_zip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if !is_zip {
        sources.push(Source::File(path.to_owned()));
        return Ok(());
    }
    let zip = zip::ZipArchive::new(std::fs::File::open(path)?)
        .with_context(|| format!("{}: not a readable zip", path.display()))?;
    for index in 0..zip.len() {
        // Entry names are only ever shown, never used as paths, so `../` in them is harmless.
        let name =
            zip.name_for_index(index).and_then(Result::ok).map_or_else(|| "?".to_owned(), std::borrow::Cow::into_owned);
        if !name.ends_with('/') {
            sources.push(Source::ZipEntry { archive: path.to_owned(), index, name });
        }
    }
    Ok(())
}
