//! The letter to the patient's primary-care physician about a chronic finding: what was measured
//! on the screening CT, against which cut-off and source, the figures over time, and what the
//! physician may consider. Printed in the patient's letter language; the printing is audited (a
//! patient document left the system). Sending it is a separate step on the finding's page.

use app::domain::chronic::{ChronicKind, ChronicRules, Criterion};
use app::domain::language::{Labelled, Language};
use app::service::Caller;
use askama::Template;
use axum::{
    Extension,
    extract::{Path, State},
    response::{Html, IntoResponse, Response},
};
use leptos::nonce::Nonce;

use crate::error::ApiError;
use crate::http::audited;
use crate::state::AppState;

/// One figure of the trend, as printed.
struct Row {
    on: String,
    value: String,
    meets: bool,
}

/// What the letter says, in whichever language it is printed.
struct LetterFields {
    finding_id: i64,
    today: String,
    site_name: String,
    physician: String,
    patient_name: String,
    patient_id: String,
    birth_date: Option<String>,
    condition: String,
    criterion: String,
    measure: String,
    value: String,
    cut_off: String,
    rows: Vec<Row>,
    kind: ChronicKind,
    signed_by: String,
}

#[derive(Template)]
#[template(path = "physician_letter.html")]
struct EnglishLetter {
    f: LetterFields,
    /// The request's script nonce, for the print button's script.
    nonce: String,
}

#[derive(Template)]
#[template(path = "physician_letter.zh-Hans.html")]
struct ChineseLetter {
    f: LetterFields,
    /// The request's script nonce, for the print button's script.
    nonce: String,
}

/// The cut-off the criterion compares with, as printed (e.g. "below 40 HU").
fn cut_off(criterion: Criterion, rules: &ChronicRules, language: Language) -> String {
    let zh = language == Language::SimplifiedChinese;
    let (comparison, value, unit) = match criterion {
        Criterion::LiverBelow => (if zh { "低于" } else { "below" }, rules.steatosis_liver_hu, "HU"),
        Criterion::LiverMinusSpleenBelow => {
            (if zh { "肝脾差值低于" } else { "liver minus spleen below" }, rules.steatosis_liver_minus_spleen_hu, "HU")
        }
        Criterion::OsteoporosisLikely => (if zh { "不高于" } else { "at or below" }, rules.osteoporosis_l1_hu, "HU"),
        Criterion::LowBoneDensity => (if zh { "不高于" } else { "at or below" }, rules.low_bone_density_l1_hu, "HU"),
        Criterion::CoronaryCalciumAbove => (if zh { "高于" } else { "above" }, rules.coronary_calcium_mm3, "mm³"),
    };
    format!("{comparison} {value} {unit}")
}

/// `GET /chronic/{id}/letter`: 404 for an unknown finding or one outside the user's sites.
pub async fn physician_letter(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Extension(nonce): Extension<Nonce>,
) -> Result<Response, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let detail = app::service::chronic::detail(&state.pool, &caller, id).await?;
    let item = &detail.item;
    let language = detail.letter_language.unwrap_or(Language::English);
    let zh = language == Language::SimplifiedChinese;
    let number = |v: f64| format!("{v:.0} {}", item.unit);
    let fields = LetterFields {
        finding_id: item.id,
        today: app::format::date(app::service::followup::today()),
        site_name: detail.site_name.clone().unwrap_or_else(|| if zh { "本院" } else { "the hospital" }.into()),
        physician: item
            .physician
            .clone()
            .or(detail.referring_physician.clone())
            .unwrap_or_else(|| if zh { "基层医生" } else { "Primary-care physician" }.into()),
        patient_name: item.patient_name.clone().unwrap_or_else(|| if zh { "患者" } else { "the patient" }.into()),
        patient_id: item.patient.clone(),
        birth_date: detail.patient_birth_date.clone(),
        condition: item.kind.label_in(language).to_owned(),
        criterion: item.criterion.label_in(language).to_owned(),
        measure: if zh { item.kind.measure_zh() } else { item.kind.measure_en() }.to_owned(),
        value: number(item.value),
        cut_off: cut_off(item.criterion, &detail.rules, language),
        rows: detail
            .observations
            .iter()
            .map(|o| Row { on: o.on.clone(), value: number(o.value), meets: o.criterion.is_some() })
            .collect(),
        kind: item.kind,
        signed_by: caller.user.display_name.clone(),
    };
    let html = match language {
        Language::English => EnglishLetter { f: fields, nonce: nonce.to_string() }.render(),
        Language::SimplifiedChinese => ChineseLetter { f: fields, nonce: nonce.to_string() }.render(),
    }
    .map_err(ApiError::internal)?;
    caller
        .audit("chronic.letter")
        .target("chronic_finding", id.to_string())
        .patient(item.patient.clone())
        .detail(serde_json::json!({ "language": language.as_str() }))
        .record(&state.pool)
        .await?;
    Ok(audited(Html(html)).into_response())
}
