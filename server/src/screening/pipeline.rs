//! Screening one series: its instances from the object store → HU volume → the model's input
//! grid → ONNX Runtime → probabilities, positives, lesions and biomarkers ([`analyse`]) → stored,
//! with a finding for each positive, in the transaction that completes the job. Every stage is
//! timed.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use elysium_db::jobs::{self, ClaimedJob, NewResult};
use elysium_dicom::header::{self, ParsedInstance};
use elysium_dicom::volume::Volume;
use elysium_inference::biomarkers::{self, Biomarkers, LabelMap};
use elysium_inference::manifest::{OutputKind, VerifiedModel};
use elysium_inference::postprocess::{self, Interpretation};
use elysium_inference::preprocess::{self, GridMap};
use elysium_inference::runtime::{CascadeRun, ModelSession, ProviderInUse};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use rayon::prelude::*;
use serde_json::json;

/// The stage a running job is in, read by its heartbeat.
pub type StageCell = Arc<Mutex<&'static str>>;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Retrying will not help (the series is not screenable): the job ends `failed` at once.
    #[error("{0}")]
    Permanent(String),
    /// Maybe another attempt succeeds (storage, database, a worker problem).
    #[error("{0}")]
    Transient(String),
    /// The series is outside the model's input domain (its manifest's requirements): the job
    /// ends `skipped` with the reason and the codes of the rules it failed.
    #[error("{reason}")]
    Ineligible { codes: Vec<&'static str>, reason: String },
    /// The lease expired and another worker holds the job: nothing may be stored.
    #[error("the job's lease was lost to another worker")]
    LeaseLost,
}

impl From<elysium_db::DbError> for PipelineError {
    fn from(error: elysium_db::DbError) -> Self {
        PipelineError::Transient(error.to_string())
    }
}

impl From<sqlx::Error> for PipelineError {
    fn from(error: sqlx::Error) -> Self {
        PipelineError::Transient(error.to_string())
    }
}

/// What a worker brings to each case.
pub struct CaseContext<'a> {
    pub pool: &'a sqlx::PgPool,
    pub store: &'a Arc<dyn ObjectStore>,
    pub session: &'a Arc<Mutex<ModelSession>>,
    pub levels: &'a app::domain::followup::ServiceLevels,
    pub owner: &'a str,
    /// The worker's threads for decoding, resampling and post-processing: as many as ONNX
    /// Runtime's intra-op threads, so that a worker's CPU use is bounded by one setting and
    /// worker processes side by side do not oversubscribe the cores.
    /// `None`: rayon's process-wide pool.
    pub cpu: Option<&'a Arc<rayon::ThreadPool>>,
    pub spare: &'a SpareVoxels,
}

/// The memory of a worker's last HU volume, kept for its next case (see
/// `elysium_dicom::volume::load_series_into`): the page faults of a fresh 150 MB allocation
/// per case were the kernel work that kept two worker processes from scaling.
#[derive(Default)]
pub struct SpareVoxels(Mutex<Vec<i16>>);

impl SpareVoxels {
    /// Volumes larger than this (voxels; 512 MiB) are given back rather than kept while idle.
    const MAX_KEPT: usize = 256 * 1024 * 1024;

    fn take(&self) -> Vec<i16> {
        self.0.lock().map(|mut spare| std::mem::take(&mut *spare)).unwrap_or_default()
    }

    /// Keeps a finished case's volume memory, once nothing else holds the volume.
    pub fn recycle(&self, volume: Arc<Volume>) {
        if let Ok(volume) = Arc::try_unwrap(volume)
            && volume.voxels.capacity() <= Self::MAX_KEPT
            && let Ok(mut spare) = self.0.lock()
        {
            *spare = volume.voxels;
        }
    }
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    pub decode: f64,
    pub volume: f64,
    pub resample: f64,
    pub inference: f64,
    /// The part of `inference` inside ONNX Runtime (the network itself); the rest of that stage
    /// is the sliding window's tiling and blending.
    pub network: f64,
    pub postprocess: f64,
    pub storage: f64,
    pub total: f64,
}

impl Timings {
    /// Each stage by name, for the metrics.
    pub fn stages(&self) -> [(&'static str, f64); 8] {
        [
            ("decode", self.decode),
            ("volume", self.volume),
            ("resample", self.resample),
            ("inference", self.inference),
            ("network", self.network),
            ("postprocess", self.postprocess),
            ("storage", self.storage),
            ("total", self.total),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct CaseReport {
    pub result_id: i64,
    pub findings: Vec<i64>,
    pub positives: usize,
    /// The execution provider that ran the model (`CPUExecutionProvider`, `CUDAExecutionProvider`).
    pub provider: String,
    pub timings: Timings,
}

fn set(stage: &StageCell, name: &'static str) {
    if let Ok(mut current) = stage.lock() {
        *current = name;
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Runs CPU work off the async threads, its parallel parts on the worker's own thread pool.
async fn blocking<T: Send + 'static>(
    cpu: Option<&Arc<rayon::ThreadPool>>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PipelineError> {
    let cpu = cpu.cloned();
    tokio::task::spawn_blocking(move || match cpu {
        Some(pool) => pool.install(f),
        None => f(),
    })
    .await
    .map_err(|e| PipelineError::Transient(format!("a worker task failed: {e}")))
}

/// What the compute stages made of one series.
pub struct Analysis {
    pub model: VerifiedModel,
    pub provider: ProviderInUse,
    pub interpretation: Interpretation,
    pub biomarkers: Option<Biomarkers>,
    /// Where a cascade's second stage ran (`None` for a model without one).
    pub cascade: Option<CascadeRun>,
    pub volume: Arc<Volume>,
    /// The SOP Instance UID behind each slice of the volume, where it can be told.
    pub slice_uids: Vec<Option<String>>,
}

/// The compute stages, from the series' instances as received to probabilities, positives,
/// lesions and biomarkers: decode (parsing; `timings.decode` adds to what reading took), volume
/// (into `spare`'s memory), resample, inference, post-processing. No database, no object store:
/// `elysium screen` runs exactly this on files. `operating` are administrators' operating
/// thresholds `(organ, class, threshold)` over the manifest's (none for `elysium screen`).
pub async fn analyse(
    cpu: Option<&Arc<rayon::ThreadPool>>,
    session: &Arc<Mutex<ModelSession>>,
    spare: &SpareVoxels,
    instances: Vec<bytes::Bytes>,
    operating: &[(String, String, f64)],
    stage: &StageCell,
    timings: &mut Timings,
) -> Result<Analysis, PipelineError> {
    set(stage, "decode");
    let t = Instant::now();
    let parsed: Vec<ParsedInstance> =
        blocking(cpu, move || instances.par_iter().map(header::parse_shared).collect::<Result<Vec<_>, _>>())
            .await?
            .map_err(|e| PipelineError::Permanent(format!("an instance cannot be read: {e}")))?;
    timings.decode += ms(t);

    set(stage, "volume");
    let model =
        session.lock().map_err(|_| PipelineError::Transient("the model session is poisoned".into()))?.model.clone();
    let t = Instant::now();
    let buffer = spare.take();
    let (loaded, parsed) =
        blocking(cpu, move || (elysium_dicom::volume::load_series_into(&parsed, buffer), parsed)).await?;
    let loaded = loaded.map_err(|e| PipelineError::Permanent(format!("the series is not a usable volume: {e}")))?;
    let verdict = elysium_dicom::eligibility::assess_series(&parsed[0].header, &loaded);
    if !verdict.eligible {
        let reason = format!("not eligible for screening: {}", verdict.reasons.join(" "));
        return Err(PipelineError::Ineligible { codes: verdict.codes, reason });
    }
    if let Some(reason) = model.manifest.requirements.unmet(&loaded.volume) {
        let reason = format!("not eligible for this model: {reason}");
        return Err(PipelineError::Ineligible { codes: vec!["model_requirements"], reason });
    }
    let slice_uids = slice_instance_uids(&parsed, loaded.volume.slices);
    drop(parsed);
    let volume = Arc::new(loaded.volume);
    timings.volume = ms(t);

    set(stage, "resample");
    let t = Instant::now();
    let (input, map) = {
        let (volume, pre) = (volume.clone(), model.manifest.preprocessing.clone());
        blocking(cpu, move || (preprocess::input_tensor(&volume, &pre), GridMap::new(&volume, &pre))).await?
    };
    timings.resample = ms(t);

    set(stage, "inference");
    let t = Instant::now();
    let (session, scanned) = (session.clone(), volume.clone());
    let (raw, provider) = blocking(cpu, move || {
        let mut session = session.lock().map_err(|_| "the model session is poisoned".to_owned())?;
        let raw = session.run_case(&scanned, &input, &map).map_err(|e| e.to_string())?;
        Ok::<_, String>((raw, session.provider.clone()))
    })
    .await?
    .map_err(PipelineError::Transient)?;
    timings.inference = ms(t);
    timings.network = raw.network_ms;
    if raw.cascade.as_ref().is_some_and(|cascade| cascade.region.is_none()) {
        tracing::info!(model = %model.manifest.name, "the cascade's first stage found none of its organs: the second stage was not run, every output is background");
    }
    let cascade = raw.cascade.clone();

    set(stage, "postprocess");
    let t = Instant::now();
    let (interpretation, measured) = {
        let (volume, model) = (volume.clone(), model.clone());
        let manifest = model.manifest.with_operating_thresholds(operating);
        blocking(cpu, move || {
            let interpretation = postprocess::interpret(&manifest, &raw, &volume, &map).map_err(|e| e.to_string())?;
            let measured = model.manifest.output(OutputKind::OrganLabelMap).and_then(|spec| {
                let labels = raw.i64(&spec.name)?;
                let size: [usize; 3] = map.size.map(|s| s / spec.stride.unwrap_or(1));
                Some(biomarkers::measure(
                    &volume,
                    &map,
                    &LabelMap { labels, size, stride: spec.stride.unwrap_or(1), names: &spec.labels },
                ))
            });
            Ok::<_, String>((interpretation, measured))
        })
        .await?
        .map_err(PipelineError::Permanent)?
    };
    timings.postprocess = ms(t);
    Ok(Analysis { model, provider, interpretation, biomarkers: measured, cascade, volume, slice_uids })
}

/// A cascade's run beside the result it made: the box its second stage tiled (grid indices and
/// patient mm), or `null` when the first stage found none of its organs, and each stage's time.
fn with_cascade(result: &mut serde_json::Value, cascade: Option<&CascadeRun>) {
    if let (Some(cascade), Some(fields)) = (cascade, result.as_object_mut()) {
        fields.insert("cascade".into(), serde_json::to_value(cascade).unwrap_or_default());
    }
}

/// The series' instances as stored.
async fn read_series(ctx: &CaseContext<'_>, job: &ClaimedJob) -> Result<Vec<bytes::Bytes>, PipelineError> {
    let rows = elysium_db::images::instances_of_series(ctx.pool, &job.study_uid, &job.series_uid).await?;
    if rows.is_empty() {
        return Err(PipelineError::Permanent("the series has no stored instances".into()));
    }
    let store = ctx.store.clone();
    futures::stream::iter(rows)
        .map(|row| {
            let store = store.clone();
            async move { store.get(&row.object_key.into()).await?.bytes().await }
        })
        .buffered(8)
        .try_collect()
        .await
        .map_err(|e| PipelineError::Transient(format!("reading the series from the object store: {e}")))
}

/// Runs the shadow model on a series the live model has just screened (its result
/// `live_result_id`) and stores what it found apart: no finding, no job state. The series is
/// read and decoded again (the shadow's preprocessing may differ), which doubles the work of a
/// job while a shadow runs.
pub async fn shadow(
    ctx: &CaseContext<'_>,
    session: &Arc<Mutex<ModelSession>>,
    job: &ClaimedJob,
    live_result_id: i64,
) -> Result<(), PipelineError> {
    let started = Instant::now();
    let stage: StageCell = Arc::new(Mutex::new("shadow"));
    let mut timings = Timings::default();
    let t = Instant::now();
    let bytes = read_series(ctx, job).await?;
    timings.decode = ms(t);
    let (name, version) = {
        let session = session.lock().map_err(|_| PipelineError::Transient("the model session is poisoned".into()))?;
        (session.model.manifest.name.clone(), session.model.manifest.version.clone())
    };
    let operating = {
        let mut conn = ctx.pool.acquire().await?;
        elysium_db::governance::current_thresholds(&mut conn, &name, &version).await?
    };
    let Analysis { model, provider, interpretation, biomarkers: _, cascade, volume, slice_uids: _ } =
        analyse(ctx.cpu, session, ctx.spare, bytes, &operating, &stage, &mut timings).await?;
    let mut result = json!({
        "tumor_probabilities": interpretation.tumor_probabilities,
        "positives": interpretation.positives,
        "lesions": interpretation.lesions,
    });
    with_cascade(&mut result, cascade.as_ref());
    // The stored timings cover everything but storing them.
    timings.total = ms(started);
    let mut conn = ctx.pool.acquire().await?;
    elysium_db::governance::store_shadow(
        &mut conn,
        &elysium_db::governance::NewShadowResult {
            live_result_id,
            series_uid: &job.series_uid,
            model_name: &model.manifest.name,
            model_version: &model.manifest.version,
            model_sha256: &model.manifest.sha256,
            execution_provider: &provider.provider,
            device: &provider.device,
            result,
            timings_ms: serde_json::to_value(&timings).unwrap_or_default(),
        },
    )
    .await?;
    ctx.spare.recycle(volume);
    Ok(())
}

/// Screens the job's series and stores the outcome.
pub async fn screen(ctx: &CaseContext<'_>, job: &ClaimedJob, stage: &StageCell) -> Result<CaseReport, PipelineError> {
    let started = Instant::now();
    let mut timings = Timings::default();

    set(stage, "decode");
    let t = Instant::now();
    let bytes = read_series(ctx, job).await?;
    let instances = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    timings.decode = ms(t);
    // Read for every job, so that an administrator's change applies from the next series.
    let operating = {
        let mut conn = ctx.pool.acquire().await?;
        elysium_db::governance::current_thresholds(&mut conn, &job.model_name, &job.model_version).await?
    };
    // The chronic-finding cut-offs, like the thresholds, apply from the next series on.
    let chronic_rules = app::service::settings::chronic_rules(ctx.pool)
        .await
        .map_err(|e| PipelineError::Transient(format!("the chronic-finding cut-offs: {e}")))?;
    let Analysis { model, provider, interpretation, biomarkers: measured, cascade, volume, slice_uids } =
        analyse(ctx.cpu, ctx.session, ctx.spare, bytes, &operating, stage, &mut timings).await?;

    set(stage, "storage");
    let t = Instant::now();
    let biomarkers = serde_json::to_value(&measured).unwrap_or_default();
    let mut result = json!({
        "tumor_probabilities": interpretation.tumor_probabilities,
        "positives": interpretation.positives,
        "lesions": interpretation.lesions,
        "biomarkers": biomarkers,
    });
    with_cascade(&mut result, cascade.as_ref());
    let mut tx = ctx.pool.begin().await?;
    let result_id = jobs::store_result(
        &mut tx,
        &NewResult {
            job_id: job.id,
            series_uid: &job.series_uid,
            model_name: &model.manifest.name,
            model_version: &model.manifest.version,
            model_sha256: &model.manifest.sha256,
            execution_provider: &provider.provider,
            device: &provider.device,
            result,
            timings_ms: serde_json::to_value(&timings).unwrap_or_default(),
            instances,
        },
    )
    .await?;
    let findings =
        store_findings(&mut tx, ctx, job, result_id, &interpretation, &volume, &slice_uids, &model.manifest).await?;
    note_findings_no_longer_flagged(&mut tx, job, result_id, instances, &interpretation).await?;
    let chronic = app::service::chronic::measured_of(&biomarkers);
    app::service::chronic::raise_from_result(
        &mut tx,
        result_id,
        &chronic,
        &chronic_rules,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    if !jobs::complete(&mut tx, job.id, ctx.owner).await? {
        return Err(PipelineError::LeaseLost);
    }
    // Stored timings cover everything but the commit itself.
    timings.storage = ms(t);
    timings.total = ms(started);
    jobs::set_timings(&mut tx, result_id, &serde_json::to_value(&timings).unwrap_or_default()).await?;
    tx.commit().await?;
    ctx.spare.recycle(volume);
    Ok(CaseReport {
        result_id,
        findings,
        positives: interpretation.positives.len(),
        provider: provider.provider.clone(),
        timings,
    })
}

/// One finding per positive organ (its most probable positive class), located by its lesion,
/// unless that organ of that series already has a finding.
#[expect(clippy::too_many_arguments, reason = "one call site; the pieces are all different")]
async fn store_findings(
    tx: &mut sqlx::PgConnection,
    ctx: &CaseContext<'_>,
    job: &ClaimedJob,
    result_id: i64,
    interpretation: &Interpretation,
    volume: &elysium_dicom::volume::Volume,
    slice_uids: &[Option<String>],
    manifest: &elysium_inference::manifest::Manifest,
) -> Result<Vec<i64>, PipelineError> {
    let mut ids = Vec::new();
    let mut organs: Vec<&postprocess::Positive> = Vec::new();
    for p in &interpretation.positives {
        match organs.iter_mut().find(|o| o.organ == p.organ) {
            Some(best) if best.probability < p.probability => *best = p,
            Some(_) => {}
            None => organs.push(p),
        }
    }
    for positive in organs {
        if let Some(existing) = elysium_db::findings::existing_for_series(tx, &job.series_uid, &positive.organ).await? {
            tracing::info!(finding = existing, organ = %positive.organ, "already followed up; no new finding");
            continue;
        }
        let lesion = interpretation.lesions.iter().find(|l| l.organ == positive.organ);
        let location = lesion.map(|l| {
            let [sx, _, _] = volume.spacing;
            json!({
                "sop_instance_uid": slice_uids.get(l.slice_index).cloned().flatten(),
                "slice_index": l.slice_index,
                "center_mm": l.center_mm,
                "diameter_mm": l.diameter_mm,
                "pixel": [l.center_voxel[2], l.center_voxel[1]],
                "radius_px": l.diameter_mm.map(|d| d / 2.0 / sx),
                "image_size": [volume.columns, volume.rows],
            })
        });
        let new = elysium_db::findings::NewFinding {
            study_uid: job.study_uid.clone(),
            series_uid: Some(job.series_uid.clone()),
            organ: positive.organ.clone(),
            class_label: positive.class.clone(),
            probability: positive.probability,
            threshold: positive.threshold,
            class_probabilities: serde_json::to_value(interpretation.tumor_probabilities.get(&positive.organ))
                .unwrap_or_default(),
            model_name: manifest.name.clone(),
            model_version: manifest.version.clone(),
            location,
            detected_at: time::OffsetDateTime::now_utc(),
            due_date: None,
            screening_result_ref: Some(result_id),
        };
        if let Some(id) = app::service::followup::create_in(tx, ctx.levels, new, "screening").await? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Open findings an earlier result raised on this series whose organ this result does not flag:
/// they stay on the worklist (a person decides), with a note that says so. Never closed here.
async fn note_findings_no_longer_flagged(
    tx: &mut sqlx::PgConnection,
    job: &ClaimedJob,
    result_id: i64,
    instances: i32,
    interpretation: &Interpretation,
) -> Result<(), PipelineError> {
    for (finding, organ) in elysium_db::findings::open_raised_by_other_results(tx, &job.series_uid, result_id).await? {
        if interpretation.positives.iter().any(|p| p.organ == organ) {
            continue;
        }
        let text = format!(
            "Screened again on the series' {instances} instances (result #{result_id}): the model no longer flags the {organ}. \
             This finding stays open until a person decides."
        );
        app::service::followup::note_by_system(tx, finding, "screening", &text).await?;
    }
    Ok(())
}

/// The SOP Instance UID behind each slice of the volume: single-frame instances sorted as the
/// volume sorts them (along the slice normal, ascending). `None` where that cannot be told
/// (multi-frame instances, or a count that does not match the volume's).
fn slice_instance_uids(parsed: &[ParsedInstance], slices: usize) -> Vec<Option<String>> {
    let normal = parsed
        .first()
        .and_then(|p| p.header.image_orientation)
        .map(|o| [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]]);
    let mut keyed: Vec<(f64, String)> = parsed
        .iter()
        .filter_map(|p| {
            let position = p.header.image_position?;
            let n = normal?;
            (p.header.number_of_frames.unwrap_or(1) <= 1).then(|| {
                (position[0] * n[0] + position[1] * n[1] + position[2] * n[2], p.header.sop_instance_uid.to_string())
            })
        })
        .collect();
    if keyed.len() != slices {
        return vec![None; slices];
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    keyed.into_iter().map(|(_, uid)| Some(uid)).collect()
}
