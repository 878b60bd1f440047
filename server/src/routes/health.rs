//! Liveness and readiness for load balancers and orchestrators, and the administrators' fuller
//! system health report.

use app::service::Caller;
use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The process is alive (no dependencies checked).
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and every migration this binary knows is applied.
pub async fn readyz(State(pool): State<PgPool>) -> (StatusCode, Json<Value>) {
    if elysium_db::is_ready(&pool).await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not_ready" })))
    }
}

/// `GET /api/v1/admin/health` (administrators): the database, the object store, the screening
/// workers, the queue and the data folder's free disk, each `ok`, `warn` or `failed`: what the
/// panel on the administrator's home shows. Always 200 when the checks ran, whatever they found
/// (`/readyz` is for load balancers).
pub async fn admin_health(
    State(state): State<crate::AppState>,
    caller: Caller,
) -> Result<Json<app::model::health::HealthReport>, crate::error::ApiError> {
    Ok(Json(app::service::health::report(&state.pool, &caller, &state.health).await?))
}
