//! `/api/v1/findings/{id}/referrals`, `/api/v1/mdt/cases/{id}/referrals`, `/api/v1/referrals` and
//! `/api/v1/admin/network/...`:
//! cross-site referral over REST, with the findings' rules for errors (404 outside the caller's
//! sites, 403 for a role or a side that may not, 409 for a stale version or a finding referred
//! already, 422 naming the field).

use app::domain::referral::{NewCaseReferral, NewReferral, ReferralEvent};
use app::model::referral::{LevelRequest, ReferralListParams, Route};
use app::service::{Caller, referral as service};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::extract::{ApiJson, versioned_event};
use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

fn id_of(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)
}

/// `POST /api/v1/findings/{id}/referrals` `{"to_site","reason","requested_workup"}`: 201 with the
/// referral.
pub async fn refer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<NewReferral>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let referral = service::refer(&state.pool, &caller, id, request).await?;
    Ok(audited((StatusCode::CREATED, Json(referral)).into_response()))
}

/// `POST /api/v1/mdt/cases/{id}/referrals` `{"to_site","reason"}`: 201 with the referral of the
/// tumour-board case to the receiving site's board.
pub async fn refer_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<NewCaseReferral>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let referral = service::refer_case(&state.pool, &caller, id, request).await?;
    Ok(audited((StatusCode::CREATED, Json(referral)).into_response()))
}

/// `GET /api/v1/referrals?direction=incoming|outgoing&status=&page=`: `{"items":[...],"total"}`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ReferralListParams>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::list(&state.pool, &caller, &params).await?)))
}

/// `POST /api/v1/referrals/{id}/events` `{"event": "accept"|"decline"|"withdraw",
/// "expected_version": n, ...}`: 200 with the referral.
pub async fn record_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let Value::Object(fields) = body else {
        return Err(ApiError::Validation("expected a JSON object with `event` and `expected_version`".into()));
    };
    let (version, event) = versioned_event::<ReferralEvent>(fields, "expected_version")?;
    Ok(audited(Json(service::record(&state.pool, &caller, id, version, event).await?)))
}

/// `GET /api/v1/admin/network`: `{"sites":[{"code","name","level"}],"routes":[{"from","to"}]}`.
pub async fn network(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(service::network(&state.pool, &caller).await?).into_response())
}

/// `POST /api/v1/admin/network/levels` `{"site","level"}` (`null`: out of the network).
pub async fn set_level(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<LevelRequest>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::set_level(&state.pool, &caller, &request).await?)))
}

/// `POST /api/v1/admin/network/routes` `{"from","to"}`: opens the route.
pub async fn open_route(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(route): ApiJson<Route>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::set_route(&state.pool, &caller, &route, true).await?)))
}

/// `POST /api/v1/admin/network/routes/close` `{"from","to"}`: closes it.
pub async fn close_route(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(route): ApiJson<Route>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::set_route(&state.pool, &caller, &route, false).await?)))
}
