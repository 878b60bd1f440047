//! Programme settings over HTTP (administrators): `GET|POST /api/v1/admin/settings`, and the
//! settings page's form post, which works without JavaScript.

use app::model::settings::SettingsUpdate;
use app::service::{Caller, settings};
use axum::{
    Form, Json,
    extract::State,
    response::{IntoResponse, Response},
};

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

/// `GET /api/v1/admin/settings`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(settings::view(&state.pool, &caller, &state.setting_defaults()).await?).into_response())
}

/// `POST /api/v1/admin/settings` (every setting): 200 with the settings now in force.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(update): ApiJson<SettingsUpdate>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(settings::update(&state.pool, &caller, &state.setting_defaults(), &update).await?)))
}

/// `POST /admin/settings` (the page's form). A number that does not parse is sent as 0, which
/// every range refuses, with the field's name.
pub async fn update_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let number = |key: &str| value(key).parse::<u32>().unwrap_or(0);
    let update = SettingsUpdate {
        review_working_days: number("review_working_days"),
        workup_ordered_days: number("workup_ordered_days"),
        workup_done_days: number("workup_done_days"),
        outcome_days: number("outcome_days"),
        contacts_before_lost: number("contacts_before_lost"),
        inference_device: value("inference_device"),
    };
    match settings::update(&state.pool, &caller, &state.setting_defaults(), &update).await {
        Ok(_) => audited(redirect_with("/admin/settings", "saved", "1")),
        Err(error) => redirect_with("/admin/settings", "error", &refusal_text(&error, language)),
    }
}
