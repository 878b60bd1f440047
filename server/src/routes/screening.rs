//! Screening over HTTP: a study's latest results and jobs, re-runs on demand, and the inference
//! status for administrators.

use app::api::SessionUser;
use app::api::session::ssr::ClientAddr;
use axum::{
    Extension, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use elysium_db::jobs::{self, EnqueueRequest, Enqueued, JobReason};
use serde_json::{Value, json};

use super::auth::audited;
use crate::error::ApiError;
use crate::state::AppState;

fn time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn visible(
    state: &AppState,
    user: &SessionUser,
    study_uid: &str,
) -> Result<elysium_db::images::StudyRow, ApiError> {
    elysium_db::images::study_within(&state.pool, study_uid, user.site_scope()).await?.ok_or(ApiError::NotFound)
}

/// `GET /api/v1/studies/{study_uid}/screening`: the latest result per series (the seed API's
/// `tumor_probabilities` shape, positives, lesions, biomarkers, model provenance, execution
/// provider, per-stage timings) and the study's screening jobs.
pub async fn results(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    let study = visible(&state, &user, &study_uid).await?;
    let rows = jobs::latest_results(&state.pool, &study_uid).await?;
    let job_rows = jobs::of_study(&state.pool, &study_uid).await?;
    let series: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "series_uid": r.series_uid,
                "model": { "name": r.model_name, "version": r.model_version, "sha256": r.model_sha256 },
                "execution_provider": r.execution_provider,
                "device": r.device,
                "tumor_probabilities": r.result["tumor_probabilities"],
                "positives": r.result["positives"],
                "lesions": r.result["lesions"],
                "biomarkers": r.result["biomarkers"],
                "timings_ms": r.timings_ms,
                "created_at": time(r.created_at),
                "instances": r.instances,
                // The current result per series; the one it superseded is kept.
                "supersedes": r.superseded_id.map(|id| json!({
                    "id": id, "created_at": r.superseded_at.map(time), "instances": r.superseded_instances,
                })),
            })
        })
        .collect();
    let job_list: Vec<Value> = job_rows
        .into_iter()
        .map(|j| {
            json!({
                "id": j.id, "series_uid": j.series_uid, "model": format!("{} {}", j.model_name, j.model_version),
                "status": j.status, "stage": j.stage, "attempts": j.attempts, "max_attempts": j.max_attempts,
                "error": j.last_error, "reason": j.reason, "generation": j.generation, "enqueued_at": time(j.enqueued_at),
                "finished_at": j.finished_at.map(time),
            })
        })
        .collect();
    let mut event = user.audit_event("screening.view", "success", Some(client));
    event.target_type = Some("study".into());
    event.target_id = Some(study_uid.clone());
    event.patient_id = Some(study.patient_id);
    app::service::audit::record(&state.pool, &event).await?;
    Ok(audited(Json(json!({ "study_uid": study_uid, "series": series, "jobs": job_list }))))
}

/// `POST /api/v1/studies/{study_uid}/screening` (admin, radiologist): re-runs every CT series of
/// the study with the active screening model. 202 with the queued jobs.
pub async fn rerun(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    let study = visible(&state, &user, &study_uid).await?;
    let model = crate::screening::models::active_screening_model(&state.config.screening)
        .map_err(|e| ApiError::Conflict(format!("screening is not available: {e}")))?;
    let series = elysium_db::images::series_of_study(&state.pool, &study_uid, Some("CT")).await?;
    if series.is_empty() {
        return Err(ApiError::Validation("the study has no CT series".into()));
    }
    let mut tx = state.pool.begin().await?;
    let mut queued = Vec::new();
    for s in &series {
        let request = EnqueueRequest {
            series_uid: s.series_uid.clone(),
            model_name: model.manifest.name.clone(),
            model_version: model.manifest.version.clone(),
            reason: JobReason::Rerun,
            requested_by: Some(user.id),
            max_attempts: state.config.screening.job_max_attempts,
        };
        if let Enqueued::Queued(id) = jobs::enqueue(&mut tx, &request).await? {
            queued.push(json!({ "job_id": id, "series_uid": s.series_uid }));
        }
    }
    let mut event = user.audit_event("screening.rerun", "success", Some(client));
    event.target_type = Some("study".into());
    event.target_id = Some(study_uid.clone());
    event.patient_id = Some(study.patient_id);
    event.detail = json!({ "model": model.manifest.name, "version": model.manifest.version, "jobs": queued });
    elysium_db::audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(audited((StatusCode::ACCEPTED, Json(json!({ "queued": queued })))))
}

/// `GET /api/v1/inference/status` (admin): the model, execution provider and device this
/// process's workers run on, and the queue.
pub async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let counts = jobs::counts(&state.pool).await?;
    let per_state: serde_json::Map<String, Value> = counts.iter().map(|(s, n)| (s.clone(), json!(n))).collect();
    let depth: i64 = counts.iter().filter(|(s, _)| s == "queued").map(|(_, n)| n).sum();
    let info = state.inference.read().ok().and_then(|i| i.clone());
    let configured = &state.config.screening;
    Ok(Json(json!({
        "workers_here": info.as_ref().map_or(0, |i| i.workers),
        "provider": info.as_ref().map(|i| i.provider.clone()),
        "device": info.as_ref().map(|i| i.device.clone()),
        "model": info.as_ref().map(|i| json!({ "name": i.model, "version": i.model_version, "sha256": i.model_sha256 })),
        "onnxruntime_library": info.as_ref().map(|i| i.library.clone()),
        "device_preference": format!("{:?}", configured.inference_device).to_lowercase(),
        "queue_depth": depth,
        "jobs": per_state,
    }))
    .into_response())
}
