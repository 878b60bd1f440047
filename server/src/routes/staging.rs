//! The staging rules over HTTP: `POST /api/v1/staging/evaluate` (T, N and M to the stage group)
//! and `POST /api/v1/staging/derive` (measurements to T, N and M). Pure: nothing is stored or
//! audited, since no patient is named. Refusals are 422 `validation_failed` naming the field and
//! its valid values, never repeating the input.

use app::domain::staging::derive::DeriveInput;
use app::domain::staging::{self, Cancer, Edition, Histology, Subsite};
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::extract::ApiJson;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    cancer: String,
    t: String,
    n: String,
    m: String,
    #[serde(default)]
    edition: Option<String>,
    #[serde(default)]
    histology: Option<String>,
    #[serde(default)]
    subsite: Option<String>,
}

fn one_of<T: Copy>(field: &str, given: &str, all: &[T], name: fn(T) -> &'static str) -> Result<T, ApiError> {
    all.iter().copied().find(|v| name(*v) == given).ok_or_else(|| {
        let valid: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        ApiError::Validation(format!("{field}: valid: {}", valid.join(", ")))
    })
}

/// `POST /api/v1/staging/evaluate`.
pub async fn evaluate(ApiJson(request): ApiJson<EvaluateRequest>) -> Result<Response, ApiError> {
    let cancer = one_of("cancer", &request.cancer, &Cancer::ALL, Cancer::as_str)?;
    let edition = match &request.edition {
        Some(e) => one_of("edition", e, &Edition::ALL, Edition::as_str)?,
        None => Edition::default(),
    };
    let histology =
        request.histology.as_deref().map(|h| one_of("histology", h, &Histology::ALL, Histology::as_str)).transpose()?;
    let subsite =
        request.subsite.as_deref().map(|s| one_of("subsite", s, &Subsite::ALL, Subsite::as_str)).transpose()?;
    let staged = staging::evaluate(&staging::Request {
        cancer,
        edition,
        t: &request.t,
        n: &request.n,
        m: &request.m,
        histology,
        subsite,
    })
    .map_err(|e| ApiError::Validation(e.to_string()))?;
    Ok(Json(staged).into_response())
}

/// `POST /api/v1/staging/derive`.
pub async fn derive(ApiJson(request): ApiJson<DeriveInput>) -> Result<Response, ApiError> {
    let derived = request.derive().map_err(|e| ApiError::Validation(e.to_string()))?;
    Ok(Json(derived).into_response())
}

#[cfg(test)]
mod tests;
