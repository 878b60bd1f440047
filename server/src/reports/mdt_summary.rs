//! A tumour-board case's decision summary as PDF (`GET /api/v1/mdt/cases/{id}/report.pdf`): the
//! case, the AI's proposal against the board's final T, N, M and stage group (with the reason for
//! each override), the recommendation, the signatures, the amendment history and the treatment
//! recorded. The current decision is the newest version; the history lists every version. In the
//! reader's language; printing is audited (`mdt.case.report`).

use app::domain::language::{Labelled, Language};
use app::domain::staging::{Histology, Subsite};
use app::i18n::Locale;
use app::model::mdt::{CaseDetail, Decision, Proposal};
use app::service::Caller;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use elysium_pdf::Template;
use leptos_i18n::td_string;
use serde::Serialize;

use super::pdf::{ReportQuery, pdf_language, pdf_response, printed_now, reader_language, render};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct SummaryData {
    lang: &'static str,
    printed: String,
    printed_by: String,
    site: String,
    case: CaseLines,
    patient: PatientLines,
    comparison: Vec<ComparisonRow>,
    proposal_basis: Option<String>,
    decision: Option<DecisionLines>,
    quorum: u32,
    history: Vec<VersionLine>,
    treatments: Vec<TreatmentLine>,
}

#[derive(Serialize)]
struct CaseLines {
    id: i64,
    status: &'static str,
    cancer: &'static str,
    histology: Option<&'static str>,
    edition: String,
    opened: String,
    diagnosis: Option<String>,
}

#[derive(Serialize)]
struct PatientLines {
    name: String,
    id: String,
    birth_date: Option<String>,
}

/// One line of the proposal-against-decision table.
#[derive(Debug, Serialize, PartialEq)]
struct ComparisonRow {
    category: String,
    proposed: Option<String>,
    #[serde(rename = "final")]
    decided: String,
    agreed: bool,
    reason: Option<String>,
}

#[derive(Serialize)]
struct DecisionLines {
    recommendation: &'static str,
    note: Option<String>,
    guidelines: Option<String>,
    locked: bool,
    signatures: Vec<SignatureLine>,
}

#[derive(Serialize)]
struct SignatureLine {
    name: String,
    signed_at: String,
}

#[derive(Serialize)]
struct VersionLine {
    version: i32,
    decided_at: String,
    decided_by: String,
    amendment_reason: Option<String>,
    changes: Vec<String>,
}

#[derive(Serialize)]
struct TreatmentLine {
    treatment: &'static str,
    started_on: String,
    recorded_by: String,
    deviation_reason: Option<String>,
}

/// `GET /api/v1/mdt/cases/{id}/report.pdf`: 404 for an unknown case or one outside the reader's
/// sites.
pub async fn mdt_summary(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let language = reader_language(&query, &headers, &caller)?;
    let case = app::service::mdt::cases::detail(&state.pool, &caller, &state.board, id).await?;
    let data = summary(&case, language, &caller);
    let pdf = render(Template::MdtSummary, format!("mdt-summary:{id}:{}", case.version), data, Vec::new()).await?;
    caller
        .audit("mdt.case.report")
        .target("mdt_case", id.to_string())
        .patient(case.patient.patient_id.clone())
        .detail(serde_json::json!({ "language": language.as_str(), "decision_version": case.decisions.first().map(|d| d.version) }))
        .record(&state.pool)
        .await?;
    Ok(pdf_response(pdf, &format!("mdt-case-{id}.pdf")))
}

fn summary(case: &CaseDetail, language: Language, caller: &Caller) -> SummaryData {
    let locale = match language {
        Language::English => Locale::en,
        Language::SimplifiedChinese => Locale::zh_Hans,
    };
    let current = case.decisions.first();
    // The proposal the decision was made against (its version is recorded), else the latest.
    let proposal = current
        .and_then(|d| d.proposal_version)
        .and_then(|v| case.proposals.iter().find(|p| p.version == v))
        .or(case.proposal.as_ref());
    SummaryData {
        lang: pdf_language(language),
        printed: printed_now(),
        printed_by: caller.user.display_name.clone(),
        site: case.site.clone().unwrap_or_default(),
        case: CaseLines {
            id: case.id,
            status: case.status.label_in(language),
            cancer: case.cancer.label_in(language),
            histology: case
                .histology
                .map(|h| histology_label(h, locale))
                .or_else(|| case.subsite.map(|s| subsite_label(s, locale))),
            edition: case.edition.as_str().to_uppercase(),
            opened: case.opened_at.clone(),
            diagnosis: case.diagnosis.clone(),
        },
        patient: PatientLines {
            name: app::domain::names::display_name_of(case.patient.name.as_deref()).unwrap_or_default(),
            id: case.patient.patient_id.clone(),
            birth_date: case.patient.birth_date.clone(),
        },
        comparison: current.map(|d| comparison(proposal, d, language)).unwrap_or_default(),
        proposal_basis: proposal.map(|p| basis(p, language)),
        decision: current.map(|d| DecisionLines {
            recommendation: d.recommendation.label_in(language),
            note: d.note.clone(),
            guidelines: d.guideline_refs.clone(),
            locked: d.locked,
            signatures: d
                .signatures
                .iter()
                .map(|s| SignatureLine { name: s.name.clone(), signed_at: s.signed_at.clone() })
                .collect(),
        }),
        quorum: case.quorum,
        history: case
            .decisions
            .iter()
            .map(|d| VersionLine {
                version: d.version,
                decided_at: d.decided_at.clone(),
                decided_by: d.decided_by.clone(),
                amendment_reason: d.amendment_reason.clone(),
                changes: d.changes.iter().map(|(what, from, to)| format!("{what}: {from} → {to}")).collect(),
            })
            .collect(),
        treatments: case
            .treatments
            .iter()
            .map(|t| TreatmentLine {
                treatment: t.treatment.label_in(language),
                started_on: t.started_on.clone(),
                recorded_by: t.recorded_by.clone(),
                deviation_reason: t.deviation_reason.clone(),
            })
            .collect(),
    }
}

/// T, N, M and the stage group: the AI's against the board's, and the board's reason where it
/// overrode the AI (the stage group follows from the three and has no reason of its own).
fn comparison(proposal: Option<&Proposal>, decision: &Decision, language: Language) -> Vec<ComparisonRow> {
    let stage_group = match language {
        Language::English => "Stage group",
        Language::SimplifiedChinese => "分期",
    };
    let tnm = proposal.map(|p| &p.tnm);
    [
        ("T", tnm.and_then(|t| t.t.clone()), decision.t.clone(), decision.t_reason.clone()),
        ("N", tnm.and_then(|t| t.n.clone()), decision.n.clone(), decision.n_reason.clone()),
        ("M", tnm.and_then(|t| t.m.clone()), decision.m.clone(), decision.m_reason.clone()),
        (
            stage_group,
            tnm.and_then(|t| t.stage_group.clone()),
            decision.stage_group.clone().unwrap_or_else(|| "–".to_owned()),
            None,
        ),
    ]
    .into_iter()
    .map(|(category, proposed, decided, reason)| ComparisonRow {
        category: category.to_owned(),
        agreed: proposed.as_deref() == Some(decided.as_str()),
        proposed,
        decided,
        reason,
    })
    .collect()
}

/// What the proposal rests on: its version, method, model and confidence.
fn basis(p: &Proposal, language: Language) -> String {
    let model = match (&p.model_name, &p.model_version) {
        (Some(name), Some(version)) => format!(" · {name} {version}"),
        _ => String::new(),
    };
    match language {
        Language::English => {
            format!("version {} · {}{model} · confidence {:.2} · {}", p.version, p.method, p.confidence, p.created_at)
        }
        Language::SimplifiedChinese => {
            format!("版本 {} · {}{model} · 置信度 {:.2} · {}", p.version, p.method, p.confidence, p.created_at)
        }
    }
}

fn histology_label(histology: Histology, locale: Locale) -> &'static str {
    match histology {
        Histology::Squamous => td_string!(locale, mdt.histology.squamous),
        Histology::Adenocarcinoma => td_string!(locale, mdt.histology.adenocarcinoma),
    }
}

fn subsite_label(subsite: Subsite, locale: Locale) -> &'static str {
    match subsite {
        Subsite::Supraglottic => td_string!(locale, mdt.subsite.supraglottic),
        Subsite::Glottic => td_string!(locale, mdt.subsite.glottic),
        Subsite::Subglottic => td_string!(locale, mdt.subsite.subglottic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::staging::Edition;
    use app::model::mdt::Tnm;

    fn proposal(t: &str, n: &str, m: &str, group: &str) -> Proposal {
        Proposal {
            version: 1,
            edition: Edition::Ajcc8,
            tnm: Tnm { t: Some(t.into()), n: Some(n.into()), m: Some(m.into()), stage_group: Some(group.into()) },
            confidence: 0.7,
            method: "measurements".into(),
            model_name: None,
            model_version: None,
            model_sha256: None,
            rules: Vec::new(),
            measurement_ids: Vec::new(),
            created_at: "2026-11-01".into(),
        }
    }

    #[test]
    fn the_comparison_marks_each_override_with_its_reason() {
        let decision: Decision = serde_json::from_value(serde_json::json!({
            "version": 1, "proposal_version": 1, "edition": "ajcc8", "t": "T2a", "n": "N0", "m": "M0",
            "stage_group": "IB", "t_reason": null, "n_reason": "Node benign on PET", "m_reason": null,
            "recommendation": "upfront_resection", "note": null, "guideline_refs": null, "amendment_reason": null,
            "decided_by": "Sam", "decided_at": "2026-11-02", "signatures": [], "locked": false, "changes": []
        }))
        .expect("a decision");
        let rows = comparison(Some(&proposal("T2a", "N1", "M0", "IIB")), &decision, Language::English);
        let row = |category: &str, proposed: &str, decided: &str, agreed: bool, reason: Option<&str>| ComparisonRow {
            category: category.into(),
            proposed: Some(proposed.into()),
            decided: decided.into(),
            agreed,
            reason: reason.map(Into::into),
        };
        assert_eq!(
            rows,
            [
                row("T", "T2a", "T2a", true, None),
                row("N", "N1", "N0", false, Some("Node benign on PET")),
                row("M", "M0", "M0", true, None),
                row("Stage group", "IIB", "IB", false, None),
            ]
        );
        let without = comparison(None, &decision, Language::SimplifiedChinese);
        assert!(without.iter().all(|r| r.proposed.is_none() && !r.agreed));
        assert_eq!(without[3].category, "分期");
    }
}
