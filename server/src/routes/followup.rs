//! Follow-up over HTTP: the REST API (`/api/v1/worklist`, `/api/v1/findings/{id}`, its events,
//! `/api/v1/followup/overdue`) and the form posts behind the finding and worklist pages, which
//! answer with a redirect so that they work without JavaScript. Both call the follow-up service.

use app::domain::language::Language;
use app::model::followup::WorklistParams;
use app::service::Caller;
use app::service::followup::{self as service, RecordError};
use axum::{
    Form, Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{ApiJson, take_version};
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with};
use crate::state::AppState;

/// `GET /api/v1/worklist`: the same filters, sort and pagination as the worklist page.
pub async fn worklist(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<WorklistParams>,
) -> Result<Response, ApiError> {
    let page = service::worklist(&state.pool, &caller, &params).await?;
    Ok(audited(Json(page)))
}

/// `GET /api/v1/findings/{id}`: the finding with `status`, `version`, `history`, the `actions`
/// open to the caller, and the patient's `open_mismatches`.
pub async fn finding(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = finding_id(&id)?;
    let levels = state.service_levels().await?;
    let detail = service::detail(&state.pool, &caller, id, &levels).await?;
    let mut body = serde_json::to_value(&detail.finding).map_err(ApiError::internal)?;
    body["history"] = serde_json::to_value(&detail.history).map_err(ApiError::internal)?;
    body["actions"] = serde_json::to_value(&detail.actions).map_err(ApiError::internal)?;
    body["related"] = serde_json::to_value(&detail.related).map_err(ApiError::internal)?;
    body["open_mismatches"] = serde_json::to_value(&detail.open_mismatches).map_err(ApiError::internal)?;
    body["studies"] = serde_json::to_value(&detail.studies).map_err(ApiError::internal)?;
    body["referrals"] = serde_json::to_value(&detail.referrals).map_err(ApiError::internal)?;
    Ok(audited(Json(body)))
}

/// `POST /api/v1/findings/{id}/events`: `{"event": NAME, "expected_version": n, ...payload}`.
pub async fn record_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let id = finding_id(&id)?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::Validation("expected a JSON object with `event` and `expected_version`".into()));
    };
    let expected_version = take_version(&mut fields, "expected_version")?;
    let levels = state.service_levels().await?;
    let outcome = match service::parse_event(Value::Object(fields)) {
        Ok(event) => service::record(&state.pool, &caller, &levels, id, expected_version, event).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(recorded) => {
            measure_referral(&state, &recorded);
            Ok(audited(Json(recorded)))
        }
        Err(error) => Ok(audited(record_error_response(error))),
    }
}

fn record_error_response(error: RecordError) -> Response {
    let message = error.to_string();
    let (status, code, current) = match &error {
        RecordError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
        RecordError::Stale { current_status, current_version } => (
            StatusCode::CONFLICT,
            "stale_version",
            Some(json!({ "status": current_status, "version": current_version })),
        ),
        RecordError::Refused(app::domain::followup::Refusal::RoleMayNot { .. }) => {
            (StatusCode::FORBIDDEN, "forbidden", None)
        }
        RecordError::Refused(_) | RecordError::Invalid { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "event_refused", None)
        }
        RecordError::ReferredElsewhere(_) => (StatusCode::CONFLICT, "referred_elsewhere", None),
        RecordError::Db(cause) => {
            tracing::error!(error = %cause, "recording a finding event");
            return ApiError::Internal(message.into()).into_response();
        }
    };
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let Some(current) = current {
        body["current"] = current;
    }
    (status, Json(body)).into_response()
}

/// `GET /api/v1/followup/overdue`: every overdue open finding within the caller's sites.
pub async fn overdue(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let items = service::overdue(&state.pool, &caller).await?;
    Ok(audited(Json(json!({ "total": items.len(), "items": items }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    items: Vec<AssignItem>,
    /// A username, or `null` to return the findings to the unassigned pool.
    assignee: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignItem {
    id: i64,
    expected_version: i32,
}

/// `POST /api/v1/worklist/assign`: bulk assignment; findings changed since the caller saw them
/// are reported, not overwritten.
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<Response, ApiError> {
    if request.items.is_empty() || request.items.len() > 500 {
        return Err(ApiError::Validation("items: between 1 and 500 findings".into()));
    }
    let items: Vec<(i64, i32)> = request.items.iter().map(|i| (i.id, i.expected_version)).collect();
    let levels = state.service_levels().await?;
    let (assigned, refused) = service::bulk_assign(&state.pool, &caller, &levels, &items, request.assignee).await;
    let refused: Vec<Value> = refused.into_iter().map(|(id, error)| json!({ "id": id, "error": error.en })).collect();
    Ok(audited(Json(json!({ "assigned": assigned, "refused": refused }))))
}

/// `POST /findings/{id}/events` from the finding page's forms: the same event as the API, then
/// back to the page with a notice or the refusal.
pub async fn record_event_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = finding_id(&id) else { return ApiError::NotFound.into_response() };
    let page = format!("/findings/{id}");
    let mut event = serde_json::Map::new();
    let mut expected_version = None;
    for (name, value) in fields {
        let value = value.trim().to_owned();
        match name.as_str() {
            "expected_version" => expected_version = value.parse::<i32>().ok(),
            _ if value.is_empty() => {}
            // The one number a form sends (a surveillance interval); anything else stays text
            // and is refused by the event's schema with the field's name.
            "months" => {
                event.insert(name, value.parse::<u32>().map_or(Value::String(value), Value::from));
            }
            _ => {
                event.insert(name, Value::String(value));
            }
        }
    }
    let Some(expected_version) = expected_version else {
        let missing = app::said!(
            "the form is missing the version you saw; reload the page",
            "表单缺少您看到的版本号；请重新加载页面"
        );
        return audited(redirect_with(&page, "error", missing.in_language(language)));
    };
    let levels = match state.service_levels().await {
        Ok(levels) => levels,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let kind = event.get("event").and_then(Value::as_str).unwrap_or_default().to_owned();
    let result = match service::parse_event(Value::Object(event)) {
        Ok(event) => service::record(&state.pool, &caller, &levels, id, expected_version, event).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(recorded) => {
            measure_referral(&state, &recorded);
            audited(redirect_with(&page, "done", &kind))
        }
        Err(RecordError::NotFound) => audited(ApiError::NotFound.into_response()),
        Err(error) => audited(refused(&page, &error, language)),
    }
}

/// A referral to the tumour board opened a case: its images are measured for the staging
/// proposal in the background.
fn measure_referral(state: &AppState, recorded: &service::Recorded) {
    if let Some(case) = recorded.mdt_case_id {
        crate::board::measure_in_background(
            state.pool.clone(),
            state.ingestor.store().clone(),
            state.staging_models.clone(),
            case,
        );
    }
}

/// Back to the finding with the refusal: as a code and its values where the page words it in the
/// reader's language, as the service's text otherwise (a payload's validation message).
fn refused(page: &str, error: &RecordError, language: Language) -> Response {
    use app::domain::followup::Refusal;
    let pairs: Vec<(&str, String)> = match error {
        RecordError::Stale { current_status, current_version } => vec![
            ("error", "stale".into()),
            ("status", current_status.clone()),
            ("version", current_version.to_string()),
        ],
        RecordError::Refused(Refusal::NotInThisState { event, status }) => {
            vec![("error", "not_in_state".into()), ("event", event.as_str().into()), ("status", status.as_str().into())]
        }
        RecordError::Refused(Refusal::RoleMayNot { event, .. }) => {
            vec![("error", "role_may_not".into()), ("event", event.as_str().into())]
        }
        RecordError::Refused(Refusal::TooFewContactAttempts { have, need }) => {
            vec![("error", "too_few_contacts".into()), ("have", have.to_string()), ("need", need.to_string())]
        }
        // A payload's validation, another refusal, or a failure (logged): the error's own words.
        other => vec![("error", other.said().in_language(language).into())],
    };
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::http::redirect_with_pairs(page, &pairs)
}

/// `POST /worklist/assign` from the worklist page: `item` = `id:version` (repeated), `assignee`,
/// and `back` (the worklist's query string to return to).
pub async fn assign_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let mut items = Vec::new();
    let mut assignee = None;
    let mut back = String::new();
    for (name, value) in fields {
        match name.as_str() {
            "item" => {
                if let Some((id, version)) = value.split_once(':')
                    && let (Ok(id), Ok(version)) = (id.parse::<i64>(), version.parse::<i32>())
                {
                    items.push((id, version));
                }
            }
            "assignee" => assignee = Some(value.trim().to_owned()).filter(|v| !v.is_empty() && v != "none"),
            "back" => back = value,
            _ => {}
        }
    }
    let page = if back.is_empty() { "/worklist".to_owned() } else { format!("/worklist?{back}") };
    if items.is_empty() {
        return audited(redirect_with(&page, "error", "nothing_selected"));
    }
    let levels = match state.service_levels().await {
        Ok(levels) => levels,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let (assigned, refused) = service::bulk_assign(&state.pool, &caller, &levels, &items, assignee).await;
    match refused.first() {
        // The page words it (in the reader's language): `notice=assigned&count=N`.
        None => {
            let count = assigned.len().to_string();
            audited(crate::http::redirect_with_pairs(&page, &[("count", &count), ("notice", "assigned")]))
        }
        Some((id, error)) => {
            let (done, not_done) = (assigned.len(), refused.len());
            let text = app::said!(
                ("assigned {done}; {not_done} not assigned (#{id}: {})", error.en),
                ("已分配 {done} 条；{not_done} 条未分配（#{id}：{}）", error.zh)
            );
            audited(redirect_with(&page, "error", text.in_language(language)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LetterLanguageForm {
    language: String,
}

/// `POST /findings/{id}/letter-language` from the finding page: the language the patient's
/// letters are printed in (`en` or `zh-Hans`), then back to the finding.
pub async fn letter_language_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<LetterLanguageForm>,
) -> Result<Response, ApiError> {
    let id = finding_id(&id)?;
    let language = app::domain::language::Language::parse(form.language.trim())
        .ok_or_else(|| ApiError::Validation("language: `en` or `zh-Hans`".into()))?;
    app::service::patients::set_letter_language(&state.pool, &caller, id, language).await?;
    Ok(audited(axum::response::Redirect::to(&format!("/findings/{id}"))))
}

fn finding_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound)
}
