//! Liveness and readiness for load balancers and orchestrators.

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
