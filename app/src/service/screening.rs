//! The screening service: a study's results and jobs (one shape for the study page and the REST
//! API), re-runs on request, and the queue's counts. The workers themselves live in the server.

use elysium_db::jobs::{self, EnqueueRequest, Enqueued, JobRow, ResultRow};
use serde::Serialize;
use sqlx::PgPool;

use crate::domain::program::skips::SkipReason;
use crate::domain::screening::{JobReason, JobStatus};
use crate::model::screening::{ModelRef, ScreeningJob, ScreeningOverview, ScreeningResult, Superseded};
use crate::service::audit::ViewLog;
use crate::service::studies::visible_study;
use crate::service::{Caller, ServiceError};

/// How often a read of a study's screening writes its audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAudit {
    /// Once per user and study in the view log's window: the study page, which polls while
    /// screening runs.
    OncePerView,
    /// Every read: the REST API and the report.
    EveryRead,
}

/// A study's current results per series and its jobs, audited as `audit` says.
pub async fn overview(
    pool: &PgPool,
    views: &ViewLog,
    caller: &Caller,
    study_uid: &str,
    audit: ViewAudit,
) -> Result<ScreeningOverview, ServiceError> {
    let study = visible_study(pool, views, caller, study_uid).await?;
    let row = caller.audit("screening.view").study(study_uid, &study.patient_id);
    match audit {
        ViewAudit::OncePerView => {
            views.record_once(pool, caller.user.id, &format!("screening:{study_uid}"), &row).await?
        }
        ViewAudit::EveryRead => row.record(pool).await?,
    }
    let results = jobs::latest_results(pool, study_uid).await?;
    let jobs = jobs::of_study(pool, study_uid).await?;
    Ok(ScreeningOverview {
        study_uid: study_uid.to_owned(),
        series: results.into_iter().map(result).collect(),
        jobs: jobs.into_iter().map(job).collect::<Result<_, _>>()?,
    })
}

/// The model a re-run uses (the server's active screening model).
#[derive(Debug, Clone)]
pub struct RerunModel {
    pub name: String,
    pub version: String,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedJob {
    pub job_id: i64,
    pub series_uid: String,
}

/// Queues every CT series of the study for screening with `model`, in one transaction with its
/// audit event. A series whose re-run is already queued is not queued twice.
pub async fn rerun(
    pool: &PgPool,
    views: &ViewLog,
    caller: &Caller,
    study_uid: &str,
    model: &RerunModel,
) -> Result<Vec<QueuedJob>, ServiceError> {
    let study = visible_study(pool, views, caller, study_uid).await?;
    let series = elysium_db::images::series_of_study(pool, study_uid, Some("CT")).await?;
    if series.is_empty() {
        return Err(ServiceError::invalid("study", crate::said!("the study has no CT series", "该检查没有 CT 序列")));
    }
    let mut tx = pool.begin().await?;
    let mut queued = Vec::new();
    for s in &series {
        let request = EnqueueRequest {
            series_uid: s.series_uid.clone(),
            model_name: model.name.clone(),
            model_version: model.version.clone(),
            reason: jobs::JobReason::Rerun,
            requested_by: Some(caller.user.id),
            max_attempts: model.max_attempts,
        };
        if let Enqueued::Queued(id) = jobs::enqueue(&mut tx, &request).await? {
            queued.push(QueuedJob { job_id: id, series_uid: s.series_uid.clone() });
        }
    }
    caller
        .audit("screening.rerun")
        .study(study_uid, &study.patient_id)
        .detail(serde_json::json!({ "model": model.name, "version": model.version, "jobs": queued }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(queued)
}

/// Jobs per state, over the whole queue.
pub async fn queue_counts(pool: &PgPool) -> Result<Vec<(JobStatus, i64)>, ServiceError> {
    let counts = jobs::counts(pool).await?;
    counts.into_iter().map(|(status, n)| Ok((job_status(&status)?, n))).collect()
}

fn job_status(name: &str) -> Result<JobStatus, ServiceError> {
    JobStatus::parse(name).ok_or_else(|| ServiceError::internal(UnknownName("job status", name.to_owned())))
}

/// A stored name the domain does not know: the database and the code disagree.
#[derive(Debug, thiserror::Error)]
#[error("unknown {0} `{1}` in the database")]
pub struct UnknownName(pub &'static str, pub String);

fn job(j: JobRow) -> Result<ScreeningJob, ServiceError> {
    Ok(ScreeningJob {
        status: job_status(&j.status)?,
        reason: JobReason::parse(&j.reason)
            .ok_or_else(|| ServiceError::internal(UnknownName("job reason", j.reason.clone())))?,
        id: j.id,
        series_uid: j.series_uid,
        model: format!("{} {}", j.model_name, j.model_version),
        stage: j.stage,
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        error: j.last_error,
        skip_reasons: j
            .skip_codes
            .iter()
            .map(|code| {
                SkipReason::parse(code).ok_or_else(|| ServiceError::internal(UnknownName("skip reason", code.clone())))
            })
            .collect::<Result<_, _>>()?,
        generation: j.generation,
        enqueued_at: j.enqueued_at,
        finished_at: j.finished_at,
    })
}

fn result(r: ResultRow) -> ScreeningResult {
    let block = |key: &str| r.result.get(key).cloned().unwrap_or(serde_json::Value::Null);
    ScreeningResult {
        tumor_probabilities: block("tumor_probabilities"),
        positives: block("positives"),
        lesions: block("lesions"),
        biomarkers: block("biomarkers"),
        cascade: block("cascade"),
        series_uid: r.series_uid,
        model: ModelRef { name: r.model_name, version: r.model_version, sha256: r.model_sha256 },
        execution_provider: r.execution_provider,
        device: r.device,
        timings_ms: r.timings_ms,
        created_at: r.created_at,
        instances: r.instances,
        supersedes: r.superseded_id.map(|id| Superseded {
            id,
            created_at: r.superseded_at,
            instances: r.superseded_instances,
        }),
    }
}
