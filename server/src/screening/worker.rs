//! Screening workers: each opens its own warmed-up model session once, then takes the jobs of
//! that model version from the queue one at a time, renewing its lease while it works.
//! `elysium serve` runs `ELYSIUM_WORKERS` of them in process; `elysium worker` runs them alone,
//! so GPU machines can pull work from the same database as the web servers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use elysium_db::jobs::{self, ClaimedJob};
use elysium_inference::manifest::VerifiedModel;
use elysium_inference::runtime::{ModelSession, ProviderInUse};
use object_store::ObjectStore;
use tokio::sync::Notify;

use super::ScreeningConfig;
use super::pipeline::{self, CaseContext, PipelineError, SpareVoxels, StageCell};

/// How long an idle worker waits before asking the queue again when no notification wakes it
/// (jobs whose retry back-off ends send none).
const POLL: Duration = Duration::from_millis(1000);

/// What administrators see about inference in this process.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InferenceInfo {
    pub model: String,
    pub model_version: String,
    pub model_sha256: String,
    pub provider: String,
    pub device: String,
    pub workers: usize,
    pub library: String,
}

/// Opens one session per worker (in parallel threads: opening is blocking work) and starts the
/// workers. Returns what they run on.
pub async fn start(
    pool: sqlx::PgPool,
    store: Arc<dyn ObjectStore>,
    levels: app::domain::followup::ServiceLevels,
    config: &ScreeningConfig,
    model: VerifiedModel,
    shadow: Option<VerifiedModel>,
) -> anyhow::Result<(InferenceInfo, Vec<tokio::task::JoinHandle<()>>)> {
    let mut handles = Vec::new();
    let mut provider: Option<ProviderInUse> = None;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let wakeup = (config.workers > 0).then(|| super::wakeup::listen(pool.clone()));
    for n in 0..config.workers {
        let (model, device, threads) = (model.clone(), config.inference_device, config.intra_threads);
        let session = tokio::task::spawn_blocking(move || ModelSession::open(model, device, threads)).await??;
        provider.get_or_insert_with(|| session.provider.clone());
        let owner = format!("{host}:{}:{n}", std::process::id());
        let mut worker = Worker::new(pool.clone(), store.clone(), levels, session, owner, config.lease());
        if let Some(shadow) = shadow.clone() {
            let (device, threads) = (config.inference_device, config.intra_threads);
            let session = tokio::task::spawn_blocking(move || ModelSession::open(shadow, device, threads)).await??;
            worker = worker.with_shadow(session);
        }
        handles.push(tokio::spawn(worker.run(wakeup.clone().unwrap_or_default())));
    }
    let runtime = elysium_inference::runtime::runtime(None).ok();
    let provider = provider.unwrap_or(ProviderInUse { provider: "none".into(), device: "none".into() });
    let info = InferenceInfo {
        model: model.manifest.name.clone(),
        model_version: model.manifest.version.clone(),
        model_sha256: model.manifest.sha256.clone(),
        provider: provider.provider,
        device: provider.device,
        workers: config.workers,
        library: runtime.map(|r| r.library.display().to_string()).unwrap_or_default(),
    };
    tracing::info!(workers = config.workers, model = %info.model, version = %info.model_version, provider = %info.provider, shadow = ?shadow.as_ref().map(|m| &m.manifest.version), "screening workers started");
    Ok((info, handles))
}

/// A worker's own threads for decoding, resampling and post-processing (see
/// [`CaseContext::cpu`]); `None` only when no thread can be spawned at all, and the process-wide
/// pool serves then.
pub fn cpu_pool(threads: usize) -> Option<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("screening-cpu-{i}"))
        .build()
        .map(Arc::new)
        .inspect_err(|e| tracing::warn!(error = %e, "the screening worker runs on the shared thread pool"))
        .ok()
}

/// One worker: its session, its identity on the queue.
pub struct Worker {
    pool: sqlx::PgPool,
    store: Arc<dyn ObjectStore>,
    levels: app::domain::followup::ServiceLevels,
    session: Arc<Mutex<ModelSession>>,
    cpu: Option<Arc<rayon::ThreadPool>>,
    owner: String,
    /// The live session's model: the only version whose jobs this worker claims.
    model_name: String,
    model_version: String,
    lease: Duration,
    spare: SpareVoxels,
    /// The shadow model's session, when one runs (`ELYSIUM_SHADOW_MODEL`).
    shadow: Option<Arc<Mutex<ModelSession>>>,
}

impl Worker {
    pub fn new(
        pool: sqlx::PgPool,
        store: Arc<dyn ObjectStore>,
        levels: app::domain::followup::ServiceLevels,
        session: ModelSession,
        owner: String,
        lease: Duration,
    ) -> Worker {
        let cpu = cpu_pool(session.intra_threads);
        let (model_name, model_version) = (session.model.manifest.name.clone(), session.model.manifest.version.clone());
        Worker {
            pool,
            store,
            levels,
            session: Arc::new(Mutex::new(session)),
            cpu,
            owner,
            model_name,
            model_version,
            lease,
            spare: SpareVoxels::default(),
            shadow: None,
        }
    }

    /// This worker also runs `session`, in shadow, on every series it screens.
    pub fn with_shadow(mut self, session: ModelSession) -> Worker {
        self.shadow = Some(Arc::new(Mutex::new(session)));
        self
    }

    fn claimant(&self) -> jobs::Claimant<'_> {
        jobs::Claimant { owner: &self.owner, model_name: &self.model_name, model_version: &self.model_version }
    }

    /// Claims and processes one job of this worker's model version; `false` when the queue had
    /// none ready.
    pub async fn run_once(&self) -> anyhow::Result<bool> {
        match jobs::claim(&self.pool, &self.claimant(), self.lease).await? {
            Some(job) => {
                self.process(job).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Takes jobs until the process ends; idle, it waits for `wakeup` or [`POLL`].
    async fn run(self, wakeup: Arc<Notify>) {
        loop {
            // Registered before the claim, so that a job queued between an empty claim and the
            // wait still wakes this worker.
            let woken = wakeup.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match jobs::claim(&self.pool, &self.claimant(), self.lease).await {
                Ok(Some(job)) => self.process(job).await,
                Ok(None) => {
                    tokio::select! {
                        () = woken => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "claiming a screening job");
                    tokio::time::sleep(POLL * 5).await;
                }
            }
        }
    }

    async fn process(&self, job: ClaimedJob) {
        // The service levels the findings of this job are due by: the settings page's, read now.
        let levels = match app::service::settings::levels(&self.pool, &self.levels).await {
            Ok(levels) => levels,
            Err(error) => {
                tracing::warn!(job = job.id, %error, "reading the service levels; will retry");
                if let Err(error) = jobs::fail(&self.pool, job.id, &self.owner, &error.to_string(), POLL * 10).await {
                    tracing::error!(%error, job = job.id, "recording the job's outcome");
                }
                return;
            }
        };
        let stage: StageCell = Arc::new(Mutex::new("starting"));
        let heartbeat = {
            let (pool, owner, lease, stage, id) =
                (self.pool.clone(), self.owner.clone(), self.lease, stage.clone(), job.id);
            tokio::spawn(async move {
                loop {
                    let current = stage.lock().map(|s| *s).unwrap_or("working");
                    match jobs::heartbeat(&pool, id, &owner, lease, Some(current)).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(error) => tracing::warn!(%error, job = id, "heartbeat failed"),
                    }
                    tokio::time::sleep(lease / 3).await;
                }
            })
        };
        let ctx = CaseContext {
            pool: &self.pool,
            store: &self.store,
            session: &self.session,
            levels: &levels,
            owner: &self.owner,
            cpu: self.cpu.as_ref(),
            spare: &self.spare,
        };
        let outcome = pipeline::screen(&ctx, &job, &stage).await;
        heartbeat.abort();
        let recorded = match outcome {
            Ok(report) => {
                tracing::info!(job = job.id, series = %job.series_uid, positives = report.positives, findings = ?report.findings, total_ms = report.timings.total, "series screened");
                crate::monitoring::record_screening(&report.provider, &report.timings.stages());
                if !report.findings.is_empty() {
                    // The result stands whatever tracking does; untracked findings are placed by
                    // the next run that has findings, or the next start.
                    if let Err(error) = crate::lesions::track_pending(&self.pool, &self.store).await {
                        tracing::warn!(job = job.id, ?error, "placing the new findings' lesions on tracks");
                    }
                }
                if let Some(shadow) = &self.shadow {
                    // The live result stands whatever the shadow does.
                    if let Err(error) = pipeline::shadow(&ctx, shadow, &job, report.result_id).await {
                        tracing::warn!(job = job.id, series = %job.series_uid, ?error, "the shadow model did not screen the series");
                    }
                }
                Ok(())
            }
            Err(PipelineError::Permanent(error)) => {
                tracing::warn!(job = job.id, series = %job.series_uid, %error, "screening failed for good");
                jobs::end_without_result(&self.pool, job.id, &self.owner, jobs::JobEnd::Failed, &error, &[])
                    .await
                    .map(|_| ())
            }
            Err(PipelineError::Ineligible { codes, reason }) => {
                tracing::info!(job = job.id, series = %job.series_uid, %reason, "series skipped");
                jobs::end_without_result(&self.pool, job.id, &self.owner, jobs::JobEnd::Skipped, &reason, &codes)
                    .await
                    .map(|_| ())
            }
            Err(PipelineError::Transient(error)) => {
                let backoff = Duration::from_secs(10 * u64::try_from(job.attempts).unwrap_or(1));
                tracing::warn!(job = job.id, attempt = job.attempts, %error, "screening failed; will retry");
                jobs::fail(&self.pool, job.id, &self.owner, &error, backoff).await.map(|_| ())
            }
            Err(PipelineError::LeaseLost) => {
                tracing::warn!(job = job.id, "lease lost mid-job; another worker has it");
                Ok(())
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%error, job = job.id, "recording the job's outcome");
        }
    }
}
