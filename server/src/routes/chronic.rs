//! The chronic-disease pathway over HTTP: `GET /api/v1/chronic`, `GET /api/v1/chronic/{id}`,
//! `POST /api/v1/chronic/{id}/events`, the finding page's form post (a redirect, so that it works
//! without JavaScript) and the cut-offs from the settings page. All call the chronic service.

use app::domain::chronic::{ChronicEvent, ChronicRules};
use app::model::chronic::ChronicParams;
use app::service::{Caller, ServiceError, chronic as service, settings};
use axum::{
    Form, Json,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::extract::{ApiJson, versioned_event};
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

fn finding_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)
}

/// `GET /api/v1/chronic?status=&kind=&page=`: `{"items":[{"id","patient","kind","value","status",…}],"total"}`.
/// `status` is a state, `open` (the default) or `all`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ChronicParams>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(service::list(&state.pool, &caller, &params).await?)))
}

/// `GET /api/v1/chronic/{id}`: the finding, its trend (`observations`), its history and the
/// events open to the caller (`available`).
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = finding_id(&id)?;
    Ok(audited(Json(service::detail(&state.pool, &caller, id).await?)))
}

/// Splits `{"version": N, "event": NAME, ...payload}` into the version and the event.
fn parse_event(fields: serde_json::Map<String, Value>) -> Result<(i32, ChronicEvent), ServiceError> {
    versioned_event(fields, "version")
}

/// `POST /api/v1/chronic/{id}/events` with `{"version", "event", ...payload}`: 200 with the new
/// status and version; 409 when someone else changed it first, 422 for an event the finding's
/// state or the payload rules refuse, 403 for one the caller's role may not perform.
pub async fn record_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let id = finding_id(&id)?;
    let Value::Object(fields) = body else {
        return Err(ApiError::Validation("expected a JSON object with `version` and `event`".into()));
    };
    let (version, event) = parse_event(fields)?;
    Ok(audited(Json(service::record(&state.pool, &caller, id, version, event).await?)))
}

/// `POST /chronic/{id}/events` (the finding page's forms): back to the page with `done` or
/// `error`.
pub async fn record_event_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = finding_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/chronic/{id}");
    let mut event = serde_json::Map::new();
    for (name, value) in fields {
        let value = value.trim().to_owned();
        if name == "version" {
            event.insert(name, value.parse::<i64>().map(Value::from).unwrap_or(Value::Null));
        } else if !value.is_empty() {
            event.insert(name, Value::String(value));
        }
    }
    let kind = event.get("event").and_then(Value::as_str).unwrap_or_default().to_owned();
    let result = match parse_event(event) {
        Ok((version, event)) => service::record(&state.pool, &caller, id, version, event).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => audited(redirect_with(&page, "done", &kind)),
        Err(ServiceError::NotFound) => audited(ApiError::NotFound.into_response()),
        Err(ServiceError::Forbidden) => audited(redirect_with(&page, "error", "role_may_not")),
        Err(ServiceError::Conflict(_)) => audited(redirect_with(&page, "error", "stale")),
        Err(error) => audited(redirect_with(&page, "error", &refusal_text(&error, language))),
    }
}

/// `POST /api/v1/admin/settings/chronic` with the five cut-offs: 200 with the settings now in
/// force.
pub async fn update_rules(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(rules): ApiJson<ChronicRules>,
) -> Result<Response, ApiError> {
    let view = settings::update_chronic_rules(&state.pool, &caller, &state.setting_defaults(), &rules).await?;
    Ok(audited(Json(view)))
}

/// `POST /admin/settings/chronic` (the settings page's form). A number that does not parse is
/// sent as NaN, which every range refuses, with the field's name.
pub async fn update_rules_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let number = |key: &str| {
        fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.trim().parse::<f64>().ok()).unwrap_or(f64::NAN)
    };
    let rules = ChronicRules {
        steatosis_liver_hu: number("steatosis_liver_hu"),
        steatosis_liver_minus_spleen_hu: number("steatosis_liver_minus_spleen_hu"),
        osteoporosis_l1_hu: number("osteoporosis_l1_hu"),
        low_bone_density_l1_hu: number("low_bone_density_l1_hu"),
        coronary_calcium_mm3: number("coronary_calcium_mm3"),
    };
    match settings::update_chronic_rules(&state.pool, &caller, &state.setting_defaults(), &rules).await {
        Ok(_) => audited(redirect_with("/admin/settings", "saved", "chronic")),
        Err(error) => redirect_with("/admin/settings", "error", &refusal_text(&error, language)),
    }
}
