//! Model governance over HTTP (administrators): `GET /api/v1/admin/models` (the registry,
//! operating thresholds, each version's positive rate, PPV and drift, the threshold changes),
//! `POST /api/v1/admin/models/thresholds/preview` and `POST /api/v1/admin/models/thresholds`;
//! and the models page's form post, which works without JavaScript.

use app::model::governance::ThresholdRequest;
use app::service::{Caller, governance};
use axum::{
    Form, Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with_pairs, refusal_text};
use crate::state::AppState;

/// `GET /api/v1/admin/models`.
pub async fn overview(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let today = app::service::followup::today();
    Ok(Json(governance::overview(&state.pool, &caller, &state.registry, today).await?).into_response())
}

/// `POST /api/v1/admin/models/thresholds/preview` `{"model_name","model_version","output","threshold","last"?}`:
/// what the threshold would have done to the version's last series. Changes nothing.
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ThresholdRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(governance::preview(&state.pool, &caller, &state.registry, &request).await?).into_response())
}

/// `POST /api/v1/admin/models/thresholds` `{..., "reason"}`: 201 with the change.
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ThresholdRequest>,
) -> Result<Response, ApiError> {
    let change = governance::change_threshold(&state.pool, &caller, &state.registry, &request).await?;
    Ok(audited((StatusCode::CREATED, Json(change))))
}

/// `POST /admin/models/thresholds` (the models page's form, after its preview).
pub async fn change_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let request = ThresholdRequest {
        model_name: value("model_name"),
        model_version: value("model_version"),
        output: value("output"),
        threshold: value("threshold").trim().parse().unwrap_or(f64::NAN),
        reason: Some(value("reason")),
        last: value("last").trim().parse().ok(),
    };
    match governance::change_threshold(&state.pool, &caller, &state.registry, &request).await {
        Ok(change) => audited(redirect_with_pairs("/admin/models", &[("changed", &change.output)])),
        Err(error) => {
            // Back to the preview, with what was asked and why it was refused.
            let model = format!("{}@{}", request.model_name, request.model_version);
            let threshold = value("threshold");
            redirect_with_pairs(
                "/admin/models",
                &[
                    ("model", &model),
                    ("output", &request.output),
                    ("threshold", &threshold),
                    ("error", &refusal_text(&error, language)),
                ],
            )
        }
    }
}
