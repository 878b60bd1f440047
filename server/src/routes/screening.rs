//! Screening over HTTP: a study's latest results and jobs, re-runs on demand, and the inference
//! status for administrators. Each calls the screening service.

use app::service::Caller;
use app::service::screening::{self as service, RerunModel};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

/// `GET /api/v1/studies/{study_uid}/screening`: the current result per series (the seed API's
/// `tumor_probabilities` shape, positives, lesions, biomarkers, model provenance, execution
/// provider, per-stage timings) and the study's screening jobs; the study page shows the same.
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    let overview =
        service::overview(&state.pool, &state.views, &caller, &study_uid, service::ViewAudit::EveryRead).await?;
    Ok(audited(Json(overview)))
}

/// `POST /api/v1/studies/{study_uid}/screening` (admin, radiologist): re-runs every CT series of
/// the study with the active screening model. 202 with the queued jobs.
pub async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path(study_uid): Path<String>,
) -> Result<Response, ApiError> {
    let model = crate::screening::models::active_screening_model(&state.config.screening, &state.models)
        .map_err(|e| ApiError::Conflict(format!("screening is not available: {e}")))?;
    let model = RerunModel {
        name: model.manifest.name.clone(),
        version: model.manifest.version.clone(),
        max_attempts: state.config.screening.job_max_attempts,
    };
    let queued = service::rerun(&state.pool, &state.views, &caller, &study_uid, &model).await?;
    Ok(audited((StatusCode::ACCEPTED, Json(json!({ "queued": queued })))))
}

/// `GET /api/v1/inference/status` (admin): the model, execution provider and device this
/// process's workers run on, and the queue.
pub async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let counts = service::queue_counts(&state.pool).await?;
    let per_state: serde_json::Map<String, Value> =
        counts.iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect();
    let depth: i64 =
        counts.iter().filter(|(s, _)| *s == app::domain::screening::JobStatus::Queued).map(|(_, n)| n).sum();
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
