//! The recall letter a coordinator prints from a work-up order: what examination the patient is
//! invited to, when and where, in plain words. Rendered from the finding as it stands; the
//! printing is audited (a patient document left the system).

use app::domain::language::{Labelled, Language};
use app::service::Caller;
use askama::Template;
use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use leptos::nonce::Nonce;

use crate::error::ApiError;
use crate::http::{PageLanguage, audited};
use crate::state::AppState;

/// What a recall letter says, in whichever language it is printed.
struct LetterFields {
    finding_id: i64,
    today: String,
    patient_id: String,
    patient_name: String,
    salutation: String,
    site_name: String,
    study_date: Option<String>,
    modality: String,
    due_date: String,
    appointment_date: Option<String>,
    appointment_site: Option<String>,
    responsible: Option<String>,
    signed_by: String,
}

#[derive(Template)]
#[template(path = "recall_letter.html")]
struct EnglishLetter {
    f: LetterFields,
    /// The request's script nonce, for the print button's script.
    nonce: String,
}

#[derive(Template)]
#[template(path = "recall_letter.zh-Hans.html")]
struct ChineseLetter {
    f: LetterFields,
    /// The request's script nonce, for the print button's script.
    nonce: String,
}

/// `GET /findings/{id}/letter`: 404 for an unknown finding or one outside the user's sites,
/// 422 while no work-up has been ordered. Printed in the language chosen for the patient
/// (English until one is chosen), whatever the language of the person printing it.
pub async fn recall_letter(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Extension(nonce): Extension<Nonce>,
    PageLanguage(reader): PageLanguage,
) -> Result<Response, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let levels = state.service_levels().await?;
    let detail = app::service::followup::detail(&state.pool, &caller, id, &levels).await?;
    let f = detail.finding;
    let language = f.patient_letter_language.unwrap_or(Language::English);
    let Some(modality) = f.workup_modality.map(|m| m.label_in(language).to_owned()) else {
        return Ok(no_letter_yet(id, reader));
    };
    let chinese = language == Language::SimplifiedChinese;
    let name = f.patient_name.clone().unwrap_or_else(|| if chinese { "患者" } else { "the patient" }.into());
    let fields = LetterFields {
        finding_id: f.id,
        today: detail.today,
        patient_id: f.patient_id.clone(),
        salutation: name.clone(),
        patient_name: name,
        site_name: f.site_name.clone().unwrap_or_else(|| if chinese { "本院" } else { "the hospital" }.into()),
        study_date: f.study_date.clone(),
        modality,
        due_date: f.workup_due.clone().or(f.due_date.clone()).unwrap_or_default(),
        appointment_date: f.appointment_date.clone(),
        appointment_site: f.appointment_site.clone(),
        responsible: f.workup_responsible.clone(),
        signed_by: caller.user.display_name.clone(),
    };
    let html = match language {
        Language::English => EnglishLetter { f: fields, nonce: nonce.to_string() }.render(),
        Language::SimplifiedChinese => ChineseLetter { f: fields, nonce: nonce.to_string() }.render(),
    }
    .map_err(ApiError::internal)?;

    caller
        .audit("finding.letter")
        .target("finding", id.to_string())
        .patient(f.patient_id)
        .detail(serde_json::json!({ "language": language.as_str() }))
        .record(&state.pool)
        .await?;
    Ok(audited(Html(html)).into_response())
}

/// 422, in the reader's language (not the patient's): the letter names the work-up, and none has
/// been ordered yet.
fn no_letter_yet(id: i64, reader: Language) -> Response {
    let (title, text, back) = match reader {
        Language::English => (
            "No recall letter yet",
            "The letter names the work-up the patient is recalled for, and none has been ordered for this finding yet. ",
            "Order the work-up on the finding's page",
        ),
        Language::SimplifiedChinese => {
            ("尚无召回通知书", "通知书须写明召回患者所做的检查，而此发现尚未安排检查。", "请在发现页面安排检查")
        }
    };
    let page = crate::http::short_page(reader, title, text, (&format!("/findings/{id}"), back));
    (StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response()
}
