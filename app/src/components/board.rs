//! A tumour-board case as every board page shows it (the case list, a meeting's agenda, the
//! presentation, the surgeon's home): the patient, the case's status and the TNM text, written
//! once so that the pages cannot drift apart.

use leptos::prelude::*;

use crate::domain::language::Labelled;
use crate::domain::mdt::CaseStatus;
use crate::domain::names;
use crate::i18n::{language, t, use_i18n};
use crate::model::mdt::{DecisionBrief, PatientBrief, Tnm};

/// What a category or group not known is shown as.
pub const DASH: &str = "—";

/// `T2a N1 M0 → IIB`: a category not known (or empty) is a dash, and so is a group not known,
/// so that the four always line up in a column.
pub fn tnm_text(t: Option<&str>, n: Option<&str>, m: Option<&str>, group: Option<&str>) -> String {
    let part = |v: Option<&str>| v.filter(|v| !v.is_empty()).unwrap_or(DASH).to_owned();
    format!("{} {} {} → {}", part(t), part(n), part(m), part(group))
}

pub fn proposal_text(p: &Tnm) -> String {
    tnm_text(p.t.as_deref(), p.n.as_deref(), p.m.as_deref(), p.stage_group.as_deref())
}

pub fn decision_text(d: &DecisionBrief) -> String {
    tnm_text(Some(&d.t), Some(&d.n), Some(&d.m), d.stage_group.as_deref())
}

/// The patient's name as people read it, if one is recorded.
pub fn patient_name(p: &PatientBrief) -> Option<String> {
    names::display_name_of(p.name.as_deref())
}

/// The patient's name (linked to `href` when given; "name not recorded" without one) over their
/// patient ID.
#[component]
pub fn PatientCell(patient: PatientBrief, #[prop(optional, into)] href: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let name = match patient_name(&patient) {
        Some(name) => name.into_any(),
        None => t!(i18n, board.no_name).into_any(),
    };
    view! {
        {match href {
            Some(href) => view! { <a href=href>{name}</a> }.into_any(),
            None => name,
        }}
        <br />
        <code class="small">{patient.patient_id}</code>
    }
}

/// The case's status as a badge, in the page's language (its class colours it; the word says it).
#[component]
pub fn CaseStatusBadge(status: CaseStatus) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=format!("status mdt-status-{}", status.as_str())>{move || status.label_in(language(i18n))}</span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tnm_text_lines_up_known_and_unknown_parts() {
        assert_eq!(tnm_text(Some("T2a"), Some("N1"), Some("M0"), Some("IIB")), "T2a N1 M0 → IIB");
        assert_eq!(tnm_text(Some("T2a"), None, Some(""), None), "T2a — — → —");
        assert_eq!(tnm_text(None, None, None, Some("")), "— — — → —");
    }
}
