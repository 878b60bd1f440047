//! `elysium screen PATH...`: the compute stages of the screening pipeline
//! ([`pipeline::analyse`]) on DICOM files, with no database and no object store. It checks a
//! host (a GPU machine before it joins the queue) or a model on one series, and times the stages
//! there. Prints one JSON object per run, in the shape of a stored result.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use elysium_inference::runtime::ModelSession;
use serde_json::json;

use super::ScreeningConfig;
use super::pipeline::{self, Analysis, SpareVoxels, StageCell, Timings};

/// Screens the series in `paths` (files, folders, zip archives; files that are not DICOM Part 10
/// are left out) `runs` times with the active model.
pub async fn run(paths: &[PathBuf], config: &ScreeningConfig, runs: usize) -> anyhow::Result<()> {
    let catalogue = super::models::Catalogue::discover(&config.models_dir);
    let model = super::models::active_screening_model(config, &catalogue)?;
    let (device, threads) = (config.inference_device, config.intra_threads);
    let session = tokio::task::spawn_blocking(move || ModelSession::open(model, device, threads)).await??;
    let cpu = super::worker::cpu_pool(session.intra_threads);
    let session = Arc::new(Mutex::new(session));
    let sources = {
        let paths = paths.to_vec();
        tokio::task::spawn_blocking(move || crate::ingest::cli::collect_sources(&paths)).await??
    };
    let spare = SpareVoxels::default();
    let stage: StageCell = Arc::new(Mutex::new("starting"));
    for run in 1..=runs.max(1) {
        let started = Instant::now();
        let mut timings = Timings::default();
        // Reading the files stands where reading the object store does in a worker.
        let t = Instant::now();
        let (instances, left_out) = tokio::task::block_in_place(|| read_dicom(&sources))?;
        anyhow::ensure!(!instances.is_empty(), "no DICOM files in {}", describe(paths));
        timings.decode = t.elapsed().as_secs_f64() * 1000.0;
        let analysis = pipeline::analyse(cpu.as_ref(), &session, &spare, instances, &[], &stage, &mut timings).await?;
        timings.total = started.elapsed().as_secs_f64() * 1000.0;
        println!("{}", report(run, &analysis, &timings, left_out));
        spare.recycle(analysis.volume);
    }
    Ok(())
}

/// The DICOM Part 10 files among `sources` (the `DICM` marker after the preamble), and how many
/// other files were left out.
fn read_dicom(sources: &[crate::ingest::cli::Source]) -> anyhow::Result<(Vec<bytes::Bytes>, usize)> {
    let mut instances = Vec::new();
    let mut left_out = 0;
    for source in sources {
        let bytes = source.read().map_err(|e| anyhow::anyhow!("{}: {e}", source.describe()))?;
        if bytes.get(128..132) == Some(b"DICM".as_slice()) {
            instances.push(bytes);
        } else {
            left_out += 1;
        }
    }
    Ok((instances, left_out))
}

fn describe(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

fn report(run: usize, analysis: &Analysis, timings: &Timings, left_out: usize) -> serde_json::Value {
    let manifest = &analysis.model.manifest;
    let volume = &analysis.volume;
    json!({
        "run": run,
        "model": { "name": manifest.name, "version": manifest.version, "sha256": manifest.sha256 },
        "execution_provider": analysis.provider.provider,
        "device": analysis.provider.device,
        "volume": { "slices": volume.slices, "rows": volume.rows, "columns": volume.columns, "spacing_mm": volume.spacing },
        "files_left_out": left_out,
        "timings_ms": timings,
        "tumor_probabilities": analysis.interpretation.tumor_probabilities,
        "positives": analysis.interpretation.positives,
        "lesions": analysis.interpretation.lesions,
        "biomarkers": analysis.biomarkers,
        "cascade": analysis.cascade,
    })
}
