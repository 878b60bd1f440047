//! The patient search (`/patients`) and the longitudinal patient record (`/patients/{id}`): who
//! the patient is, the records of other hospitals linked to them as one person, their biomarkers
//! scan by scan against the chronic-finding cut-offs, and one timeline of everything that
//! happened to them across those records and years. The search and the timeline's filters are
//! GET forms; linking and unlinking are plain forms posting to `/patients/{id}/links…`, which
//! redirect back with `?done=` or `?error=`, so both pages work without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde_json::Value;
use uuid::Uuid;

use crate::api::record::{load_patient_record, load_patient_search};
use crate::components::errors::ErrorNotice;
use crate::domain::chronic::{ChronicEventKind, ChronicKind, ChronicRules, ChronicStatus};
use crate::domain::followup::{EventKind, FindingStatus};
use crate::domain::language::{Labelled, Language};
use crate::domain::mdt::Treatment;
use crate::domain::names::display_name_of;
use crate::domain::organs::Organ;
use crate::domain::program::SkipReason;
use crate::domain::staging::Cancer;
use crate::format::{parse_date, query_value};
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::AppError;
use crate::model::record::{
    BiomarkerPoint, LinkView, PatientList, PatientRecord, PatientSearchParams, PatientSummary, TIMELINE_GROUPS,
    TimelineItem, TimelineKind, TimelineParams,
};
use crate::pages::chronic::chart::{ChronicTrend, Point};

type I18n = I18nContext<Locale>;

const DASH: &str = "—";

/// The patient's name as people read it (tracked: call it inside the view).
fn name_text(i18n: I18n, stored: Option<&str>) -> String {
    display_name_of(stored).unwrap_or_else(|| t_string!(i18n, patients.no_name).to_owned())
}

/// A patient's sex as DICOM codes it (`M`, `F`, `O`); anything else as stored.
fn sex_text(i18n: I18n, sex: Option<&str>) -> String {
    match sex {
        Some("M") => t_string!(i18n, patients.sex.m).to_owned(),
        Some("F") => t_string!(i18n, patients.sex.f).to_owned(),
        Some("O") => t_string!(i18n, patients.sex.o).to_owned(),
        Some(other) if !other.trim().is_empty() => other.to_owned(),
        _ => DASH.to_owned(),
    }
}

/// `PL-0001@HOSPITAL`: a record's identifier at its assigning authority.
fn identifier(patient_id: &str, authority: &str) -> String {
    if authority.is_empty() { patient_id.to_owned() } else { format!("{patient_id}@{authority}") }
}

/// The organs the timeline may be filtered by: the screened organs, and larynx (which comes to
/// the tumour board from ENT).
fn organ_names() -> impl Iterator<Item = &'static str> {
    Organ::ALL.into_iter().map(Organ::as_str).chain([Cancer::Larynx.as_str()])
}

/// An organ as its cancer is named (a screening organ or a board's cancer); unknown as stored.
fn cancer_text(language: Language, name: &str) -> String {
    match name.parse::<Organ>() {
        Ok(organ) => organ.label_in(language).to_owned(),
        Err(_) => Cancer::parse(name).map_or_else(|| name.to_owned(), |c| c.label_in(language).to_owned()),
    }
}

/// A figure in whole units (the measurements are not more precise).
fn figure(value: f64, unit: &str) -> String {
    format!("{value:.0} {unit}")
}

// ---- The search ----

#[component]
pub fn PatientSearchPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        PatientSearchParams {
            q: q.get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
            page: q.get("page").and_then(|p| p.parse().ok()),
        }
    });
    let results = Resource::new(
        move || params.get(),
        |params| async move {
            // Nothing asked yet: a hint rather than the server's refusal of an empty search.
            if params.q.is_none() {
                return Ok(None);
            }
            load_patient_search(params.q, params.page).await.map(Some)
        },
    );
    view! {
        <PageTitle text=t_string!(i18n, patients.title).to_owned() />
        <h1>{t!(i18n, patients.title)}</h1>
        <p class="muted">{t!(i18n, patients.explainer)}</p>
        <form method="get" action="/patients" class="filters" role="search" data-testid="patient-search">
            <label>{t!(i18n, patients.search.label)}" "
                <input type="search" name="q" value=move || params.get().q.unwrap_or_default() />
            </label>
            <button type="submit" class="button">{t!(i18n, patients.search.submit)}</button>
        </form>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, patients.loading)}</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(None) => view! { <p class="muted" data-testid="patient-hint">{t!(i18n, patients.search.hint)}</p> }.into_any(),
                    Ok(Some(list)) => {
                        let q = params.get_untracked().q.unwrap_or_default();
                        view! { <Results list q /> }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Results(list: PatientList, q: String) -> impl IntoView {
    let i18n = use_i18n();
    if list.items.is_empty() {
        return view! { <p data-testid="no-patients">{t!(i18n, patients.search.none)}</p> }.into_any();
    }
    let page_size = i64::from(list.page_size.max(1));
    let pages = ((list.total + page_size - 1) / page_size).max(1);
    let page = list.page;
    let link = move |page: u32| format!("/patients?q={}&page={page}", query_value(&q));
    let (previous, next) = ((page > 1).then(|| link(page - 1)), (i64::from(page) < pages).then(|| link(page + 1)));
    let (total, page_text, pages_text) = (list.total.to_string(), page.to_string(), pages.to_string());
    view! {
        <p class="muted small" data-testid="patient-total">{t!(i18n, patients.search.total, total = move || total.clone())}</p>
        <table class="grid" data-testid="patient-results">
            <thead><tr>
                <th scope="col">{t!(i18n, patients.col.name)}</th>
                <th scope="col">{t!(i18n, patients.col.patient_id)}</th>
                <th scope="col">{t!(i18n, patients.col.authority)}</th>
                <th scope="col">{t!(i18n, patients.col.birth_date)}</th>
                <th scope="col">{t!(i18n, patients.col.sex)}</th>
                <th scope="col">{t!(i18n, patients.col.studies)}</th>
            </tr></thead>
            <tbody>
                {list.items.into_iter().map(|patient| view! { <ResultRow patient /> }).collect_view()}
            </tbody>
        </table>
        <p class="pager" data-testid="patient-pager">
            {previous.map(|href| view! { <a href=href rel="prev">{t!(i18n, patients.search.previous)}</a>" " })}
            <span class="muted">{t!(i18n, patients.search.page, page = move || page_text.clone(), pages = move || pages_text.clone())}</span>
            {next.map(|href| view! { " "<a href=href rel="next">{t!(i18n, patients.search.next)}</a> })}
        </p>
    }
    .into_any()
}

#[component]
fn ResultRow(patient: PatientSummary) -> impl IntoView {
    let i18n = use_i18n();
    let (name, sex) = (patient.name.clone(), patient.sex.clone());
    let authority = if patient.authority.is_empty() { DASH.to_owned() } else { patient.authority.clone() };
    view! {
        <tr data-testid="patient-row">
            <td><a href=format!("/patients/{}", patient.id)>{move || name_text(i18n, name.as_deref())}</a></td>
            <td><code>{patient.patient_id.clone()}</code></td>
            <td>{authority}</td>
            <td class="nowrap">{patient.birth_date.clone().unwrap_or_else(|| DASH.to_owned())}</td>
            <td>{move || sex_text(i18n, sex.as_deref())}</td>
            <td class="num">{patient.studies}</td>
        </tr>
    }
}

// ---- The record ----

#[component]
pub fn PatientRecordPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    // Only filters the server knows: a hand-edited address shows everything instead of an error.
    let filters = Memo::new(move |_| {
        let q = query.read();
        TimelineParams {
            kind: q.get("kind").filter(|k| TIMELINE_GROUPS.contains(&k.as_str())),
            organ: q.get("organ").filter(|o| organ_names().any(|name| name == o)),
        }
    });
    let record = Resource::new(
        move || (params.read().get("id"), filters.get()),
        |(id, filters)| async move {
            let id = id.and_then(|id| id.parse::<Uuid>().ok()).ok_or(AppError::NotFound)?;
            load_patient_record(id, filters.kind, filters.organ).await
        },
    );
    view! {
        <PageTitle text=t_string!(i18n, patients.record.title).to_owned() />
        <p><a href="/patients">{t!(i18n, patients.record.back)}</a></p>
        <Notices />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, patients.loading)}</p> }>
            {move || Suspend::new(async move {
                match record.await {
                    Ok(record) => view! { <Record record filters=filters.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The outcome of the last link or unlink: `?done=` worded in the page language, `?error=`
/// worded where it is a code and shown as the server wrote it otherwise.
#[component]
fn Notices() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let done = move || {
        query.read().get("done").map(|done| {
            let text = match done.as_str() {
                "link" => t!(i18n, patients.done.link).into_any(),
                "unlink" => t!(i18n, patients.done.unlink).into_any(),
                _ => t!(i18n, patients.done.other).into_any(),
            };
            view! { <p class="notice info" role="status" data-testid="notice">{text}</p> }
        })
    };
    let error = move || {
        query.read().get("error").map(|error| {
            let text = move || match error.as_str() {
                "role_may_not" => t_string!(i18n, patients.error.role).to_owned(),
                other => format!("{} {other}", t_string!(i18n, patients.error.other)),
            };
            view! { <p class="notice error" role="alert" data-testid="error">{text}</p> }
        })
    };
    view! { {done} {error} }
}

#[component]
fn Record(record: PatientRecord, filters: TimelineParams) -> impl IntoView {
    let i18n = use_i18n();
    let patient = record.patient.clone();
    let (name, sex) = (patient.name.clone(), patient.sex.clone());
    let hidden = (record.hidden_studies > 0).then(|| {
        let count = record.hidden_studies.to_string();
        view! {
            <p class="notice info" role="status" data-testid="hidden-studies">
                {t!(i18n, patients.record.hidden, count = move || count.clone())}
            </p>
        }
    });
    let linked = !record.linked.is_empty();
    view! {
        <h1 data-testid="patient-heading">{move || name_text(i18n, name.as_deref())}</h1>
        <dl class="facts" data-testid="patient-identity">
            <dt>{t!(i18n, patients.record.patient_id)}</dt>
            <dd><code>{identifier(&patient.patient_id, &patient.authority)}</code></dd>
            <dt>{t!(i18n, patients.record.birth_date)}</dt>
            <dd>{patient.birth_date.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, patients.record.sex)}</dt>
            <dd>{move || sex_text(i18n, sex.as_deref())}</dd>
            <dt>{t!(i18n, patients.record.studies)}</dt>
            <dd>{patient.studies}</dd>
        </dl>
        <p class="muted small">
            <a href=format!("/api/v1/patients/{}/fhir", patient.id) data-testid="fhir-link" rel="nofollow" download=format!("{}-fhir.json", patient.patient_id)>
                {t!(i18n, patients.record.fhir)}
            </a>
            ": "{t!(i18n, patients.record.fhir_hint)}
        </p>
        {hidden}
        <Links record=record.clone() />
        <Trends biomarkers=record.biomarkers rules=record.rules />
        <crate::pages::lesions::LesionList lesions=record.lesions />
        <Timeline id=patient.id items=record.timeline filters linked />
    }
    .into_any()
}

// ---- Linked records ----

#[component]
fn Links(record: PatientRecord) -> impl IntoView {
    let i18n = use_i18n();
    let id = record.patient.id;
    let may_link = record.may_link;
    let linked = (!record.linked.is_empty()).then(|| {
        let items = record
            .linked
            .into_iter()
            .map(|other| {
                let name = other.name.clone();
                view! {
                    <li data-testid="linked-record">
                        <a href=format!("/patients/{}", other.id)>{move || name_text(i18n, name.as_deref())}</a>
                        " · "<code>{identifier(&other.patient_id, &other.authority)}</code>
                        " · "{other.studies}" "{t!(i18n, patients.links.studies)}
                    </li>
                }
            })
            .collect_view();
        view! {
            <h3>{t!(i18n, patients.links.linked)}</h3>
            <ul data-testid="linked-records">{items}</ul>
        }
    });
    let history = if record.links.is_empty() {
        view! { <p class="muted" data-testid="no-links">{t!(i18n, patients.links.none)}</p> }.into_any()
    } else {
        let items = record.links.into_iter().map(|link| view! { <LinkEntry link id may_link /> }).collect_view();
        view! {
            <h3>{t!(i18n, patients.links.history)}</h3>
            <ul class="patient-links" data-testid="patient-links">{items}</ul>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="patient-linked">
            <h2 id="patient-linked">{t!(i18n, patients.links.title)}</h2>
            <p class="muted small">{t!(i18n, patients.links.explainer)}</p>
            {linked}
            {history}
            {may_link.then(|| view! { <LinkForm id /> })}
        </section>
    }
    .into_any()
}

/// One link, active or ended: the other record, who linked it when and why, who ended it when
/// and why, and (for those who may) the form that ends it.
#[component]
fn LinkEntry(link: LinkView, id: Uuid, may_link: bool) -> impl IntoView {
    let i18n = use_i18n();
    let name = link.other_name.clone();
    let (by, at) = (link.linked_by.clone(), link.linked_at.clone());
    let state = if link.active { "active" } else { "ended" };
    let badge = if link.active {
        view! { <span class="badge ok">{t!(i18n, patients.links.active)}</span> }.into_any()
    } else {
        view! { <span class="badge plain">{t!(i18n, patients.links.ended)}</span> }.into_any()
    };
    let ended = link.unlinked_at.clone().map(|at| {
        let by = link.unlinked_by.clone().unwrap_or_else(|| DASH.to_owned());
        view! {
            <br />
            <span class="muted small">{t!(i18n, patients.links.ended_by, by = move || by.clone(), at = move || at.clone())}</span>
            " "{link.unlink_reason.clone().unwrap_or_default()}
        }
    });
    let unlink = (may_link && link.active).then(|| {
        view! {
            <form method="post" action=format!("/patients/{id}/links/{}/end", link.id) class="inline-form" data-testid="unlink-form">
                <label>{t!(i18n, patients.links.unlink_reason)}" "
                    <input type="text" name="reason" required maxlength="2000" />
                </label>
                <button type="submit" class="button subtle">{t!(i18n, patients.links.unlink)}</button>
            </form>
        }
    });
    view! {
        <li data-testid="patient-link" data-state=state>
            {badge}" "
            <a href=format!("/patients/{}", link.other_id)>{move || name_text(i18n, name.as_deref())}</a>
            " · "<code>{identifier(&link.other_patient_id, &link.other_authority)}</code>
            <br />
            <span class="muted small">{t!(i18n, patients.links.linked_by, by = move || by.clone(), at = move || at.clone())}</span>
            " "{link.reason.clone()}
            {ended}
            {unlink}
        </li>
    }
    .into_any()
}

#[component]
fn LinkForm(id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="post" action=format!("/patients/{id}/links") class="link-form" data-testid="link-form">
            <fieldset>
                <legend>{t!(i18n, patients.links.new_title)}</legend>
                <label>{t!(i18n, patients.links.patient_id)}" "
                    <input type="text" name="patient_id" required maxlength="64" autocomplete="off" />
                </label>
                <label>{t!(i18n, patients.links.authority)}" "
                    <input type="text" name="authority" maxlength="64" autocomplete="off" />
                </label>
                <label>{t!(i18n, patients.links.reason)}" "
                    <input type="text" name="reason" required maxlength="2000" />
                </label>
                <button type="submit" class="button">{t!(i18n, patients.links.submit)}</button>
            </fieldset>
        </form>
    }
}

// ---- Biomarker trends ----

/// A biomarker the record charts, with the cut-off it is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Liver,
    LiverMinusSpleen,
    L1,
    Coronary,
    Aortic,
}

impl Marker {
    const ALL: [Marker; 5] = [Marker::Liver, Marker::LiverMinusSpleen, Marker::L1, Marker::Coronary, Marker::Aortic];

    fn key(self) -> &'static str {
        match self {
            Marker::Liver => "liver",
            Marker::LiverMinusSpleen => "liver-minus-spleen",
            Marker::L1 => "l1",
            Marker::Coronary => "coronary",
            Marker::Aortic => "aortic",
        }
    }

    fn title(self, i18n: I18n) -> &'static str {
        match self {
            Marker::Liver => t_string!(i18n, patients.trends.liver),
            Marker::LiverMinusSpleen => t_string!(i18n, patients.trends.liver_minus_spleen),
            Marker::L1 => t_string!(i18n, patients.trends.l1),
            Marker::Coronary => t_string!(i18n, patients.trends.coronary),
            Marker::Aortic => t_string!(i18n, patients.trends.aortic),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Marker::Coronary | Marker::Aortic => "mm³",
            _ => "HU",
        }
    }

    fn value(self, point: &BiomarkerPoint) -> Option<f64> {
        match self {
            Marker::Liver => point.liver_hu,
            Marker::LiverMinusSpleen => point.liver_minus_spleen_hu,
            Marker::L1 => point.l1_trabecular_hu,
            Marker::Coronary => point.coronary_calcium_mm3,
            Marker::Aortic => point.aortic_calcium_mm3,
        }
    }

    /// The chronic-finding cut-off the chart draws (aortic calcium has none).
    fn cut_off(self, rules: &ChronicRules) -> Option<f64> {
        match self {
            Marker::Liver => Some(rules.steatosis_liver_hu),
            Marker::LiverMinusSpleen => Some(rules.steatosis_liver_minus_spleen_hu),
            Marker::L1 => Some(rules.low_bone_density_l1_hu),
            Marker::Coronary => Some(rules.coronary_calcium_mm3),
            Marker::Aortic => None,
        }
    }

    /// Whether `value` is beyond `cut_off` in the direction the chronic rules read it: the
    /// attenuations below it (bone at or below), the coronary calcium above it.
    fn beyond(self, value: f64, cut_off: f64) -> bool {
        match self {
            Marker::Liver | Marker::LiverMinusSpleen => value < cut_off,
            Marker::L1 => value <= cut_off,
            Marker::Coronary => value > cut_off,
            Marker::Aortic => false,
        }
    }
}

/// One scan's value of a marker.
#[derive(Debug, Clone, PartialEq)]
struct Observation {
    on: String,
    study_uid: String,
    value: f64,
    beyond: bool,
}

/// The scans that measured `marker`, oldest first (as the record lists them).
fn observations(marker: Marker, biomarkers: &[BiomarkerPoint], rules: &ChronicRules) -> Vec<Observation> {
    let cut_off = marker.cut_off(rules);
    biomarkers
        .iter()
        .filter_map(|point| {
            let value = marker.value(point)?;
            Some(Observation {
                on: point.on.clone(),
                study_uid: point.study_uid.clone(),
                value,
                beyond: cut_off.is_some_and(|cut_off| marker.beyond(value, cut_off)),
            })
        })
        .collect()
}

#[component]
fn Trends(biomarkers: Vec<BiomarkerPoint>, rules: ChronicRules) -> impl IntoView {
    let i18n = use_i18n();
    let charts: Vec<(Marker, Vec<Observation>)> = Marker::ALL
        .into_iter()
        .map(|marker| (marker, observations(marker, &biomarkers, &rules)))
        .filter(|(_, observations)| !observations.is_empty())
        .collect();
    let body = if charts.is_empty() {
        view! { <p class="muted" data-testid="no-trends">{t!(i18n, patients.trends.none)}</p> }.into_any()
    } else {
        let charts = charts
            .into_iter()
            .map(|(marker, observations)| view! { <Trend marker observations cut_off=marker.cut_off(&rules) /> })
            .collect_view();
        view! {
            <p class="muted small">{t!(i18n, patients.trends.explainer)}</p>
            <div class="trends">{charts}</div>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="patient-trends" data-testid="patient-trends">
            <h2 id="patient-trends">{t!(i18n, patients.trends.title)}</h2>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn Trend(marker: Marker, observations: Vec<Observation>, cut_off: Option<f64>) -> impl IntoView {
    let i18n = use_i18n();
    let unit = marker.unit();
    let points: Vec<Point> = observations
        .iter()
        .filter_map(|o| {
            let day = parse_date(&o.on)?.to_julian_day();
            Some(Point { day: i64::from(day), label: o.on.clone(), value: o.value, beyond: o.beyond })
        })
        .collect();
    let aria = format!(
        "{}: {}",
        marker.title(i18n),
        observations.iter().map(|o| format!("{} {}", o.on, figure(o.value, unit))).collect::<Vec<_>>().join(", ")
    );
    let heading = format!("trend-{}", marker.key());
    let rows = observations
        .into_iter()
        .map(|o| {
            view! {
                <tr>
                    <td><a href=format!("/studies/{}", o.study_uid)>{o.on}</a></td>
                    <td class="num">{figure(o.value, unit)}
                        {o.beyond.then(|| view! { " "<strong>{t!(i18n, patients.trends.beyond)}</strong> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="trend" role="group" aria-labelledby=heading.clone() data-testid=format!("trend-{}", marker.key())>
            <h3 id=heading.clone()>{move || marker.title(i18n)}</h3>
            {cut_off.is_none().then(|| view! { <p class="muted small">{t!(i18n, patients.trends.no_cut_off)}</p> })}
            <ChronicTrend points cut_off unit=unit.to_owned() aria />
            <details>
                <summary>{t!(i18n, patients.trends.values)}</summary>
                <table class="grid dense">
                    <thead><tr>
                        <th scope="col">{t!(i18n, patients.trends.date)}</th>
                        <th scope="col">{t!(i18n, patients.trends.value)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </div>
    }
    .into_any()
}

// ---- The timeline ----

/// A row of the timeline list: a year marker or an entry.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Year(String),
    Item(TimelineItem),
}

/// The entries (newest first) with a year marker before the first entry of each year.
fn with_years(items: Vec<TimelineItem>) -> Vec<Row> {
    let mut rows = Vec::with_capacity(items.len() + 8);
    let mut year: Option<String> = None;
    for item in items {
        let this = item.day.get(..4).unwrap_or(&item.day).to_owned();
        if year.as_ref() != Some(&this) {
            rows.push(Row::Year(this.clone()));
            year = Some(this);
        }
        rows.push(Row::Item(item));
    }
    rows
}

fn group_text(i18n: I18n, group: &str) -> &'static str {
    match group {
        "study" => t_string!(i18n, patients.timeline.group.study),
        "finding" => t_string!(i18n, patients.timeline.group.finding),
        "mdt" => t_string!(i18n, patients.timeline.group.mdt),
        _ => t_string!(i18n, patients.timeline.group.chronic),
    }
}

fn kind_text(i18n: I18n, kind: TimelineKind) -> &'static str {
    match kind {
        TimelineKind::Study => t_string!(i18n, patients.timeline.kind.study),
        TimelineKind::Finding => t_string!(i18n, patients.timeline.kind.finding),
        TimelineKind::FindingEvent => t_string!(i18n, patients.timeline.kind.finding_event),
        TimelineKind::MdtDecision => t_string!(i18n, patients.timeline.kind.mdt_decision),
        TimelineKind::Chronic => t_string!(i18n, patients.timeline.kind.chronic),
        TimelineKind::ChronicEvent => t_string!(i18n, patients.timeline.kind.chronic_event),
        TimelineKind::SurveillanceDue => t_string!(i18n, patients.timeline.kind.surveillance_due),
    }
}

/// Where an entry's own page is, and what the link says.
fn entry_link(i18n: I18n, item: &TimelineItem) -> Option<(String, &'static str)> {
    match item.kind {
        TimelineKind::Study => item
            .study_uid
            .as_ref()
            .map(|uid| (format!("/studies/{uid}"), t_string!(i18n, patients.timeline.open_study))),
        TimelineKind::Finding | TimelineKind::FindingEvent | TimelineKind::SurveillanceDue => {
            item.ref_id.map(|id| (format!("/findings/{id}"), t_string!(i18n, patients.timeline.open_finding)))
        }
        TimelineKind::MdtDecision => {
            item.ref_id.map(|id| (format!("/mdt/cases/{id}"), t_string!(i18n, patients.timeline.open_case)))
        }
        TimelineKind::Chronic | TimelineKind::ChronicEvent => {
            item.ref_id.map(|id| (format!("/chronic/{id}"), t_string!(i18n, patients.timeline.open_chronic)))
        }
    }
}

fn finding_status_text(language: Language, name: &str) -> String {
    name.parse::<FindingStatus>().map_or_else(|_| name.to_owned(), |s| s.label_in(language).to_owned())
}

fn chronic_status_text(language: Language, name: &str) -> String {
    name.parse::<ChronicStatus>().map_or_else(|_| name.to_owned(), |s| s.label_in(language).to_owned())
}

fn condition_text(language: Language, name: &str) -> String {
    name.parse::<ChronicKind>().map_or_else(|_| name.to_owned(), |k| k.label_in(language).to_owned())
}

/// An entry's facts in the page language, from the kind's `detail` keys (see
/// [`TimelineItem`]); a value this version does not know is shown as stored.
fn facts_text(i18n: I18n, item: &TimelineItem) -> String {
    let language = language(i18n);
    let detail = &item.detail;
    let text = |key: &str| detail.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let number = |key: &str| detail.get(key).and_then(Value::as_f64);
    let names = |key: &str| -> Vec<String> {
        detail
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let organ = item.organ.as_deref().map(|o| cancer_text(language, o));
    let mut parts: Vec<String> = Vec::new();
    match item.kind {
        TimelineKind::Study => {
            parts.extend(text("description").map(str::to_owned));
            if let Some(site) = text("site") {
                parts.push(format!("{} {site}", t_string!(i18n, patients.timeline.site)));
            }
            let positives = names("positives");
            if !positives.is_empty() {
                let organs: Vec<String> = positives.iter().map(|o| cancer_text(language, o)).collect();
                parts.push(format!("{} {}", t_string!(i18n, patients.timeline.positives), organs.join(", ")));
            } else if number("screened").is_some_and(|n| n > 0.0) {
                parts.push(t_string!(i18n, patients.timeline.negative).to_owned());
            }
            let skipped = names("skipped");
            if !skipped.is_empty() {
                let reasons: Vec<String> = skipped
                    .iter()
                    .map(|code| {
                        SkipReason::parse(code).map_or_else(|| code.clone(), |r| r.label_in(language).to_owned())
                    })
                    .collect();
                parts.push(format!("{} {}", t_string!(i18n, patients.timeline.skipped), reasons.join("; ")));
            }
        }
        TimelineKind::Finding => {
            parts.extend(organ);
            if let Some(p) = number("probability") {
                parts.push(format!("{} {:.0}%", t_string!(i18n, patients.timeline.probability), p * 100.0));
            }
            parts.extend(text("status").map(|s| finding_status_text(language, s)));
        }
        TimelineKind::FindingEvent => {
            parts.extend(organ);
            parts.extend(text("event").map(|name| {
                EventKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .map_or_else(|| name.to_owned(), |k| k.label_in(language).to_owned())
            }));
            parts.extend(text("to_status").map(|s| format!("→ {}", finding_status_text(language, s))));
        }
        TimelineKind::MdtDecision => {
            parts.extend(organ);
            let category = |key: &str| text(key).unwrap_or(DASH);
            parts.push(format!("{} {} {} → {}", category("t"), category("n"), category("m"), category("stage_group")));
            if let Some(r) = text("recommendation") {
                let treatment = Treatment::parse(r).map_or_else(|| r.to_owned(), |t| t.label_in(language).to_owned());
                parts.push(format!("{} {treatment}", t_string!(i18n, patients.timeline.recommendation)));
            }
            let version = detail.get("version").and_then(Value::as_i64).unwrap_or(1);
            if version > 1 {
                parts.push(format!("{} {version}", t_string!(i18n, patients.timeline.amended)));
            }
        }
        TimelineKind::Chronic => {
            parts.extend(text("condition").map(|c| condition_text(language, c)));
            if let Some(value) = number("value") {
                parts.push(figure(value, text("unit").unwrap_or_default()).trim_end().to_owned());
            }
            parts.extend(text("status").map(|s| chronic_status_text(language, s)));
        }
        TimelineKind::SurveillanceDue => {
            parts.extend(organ);
            if let Some(months) = number("months") {
                parts.push(format!("{months:.0} {}", t_string!(i18n, patients.timeline.months)));
            }
            parts.extend(text("status").map(|s| finding_status_text(language, s)));
        }
        TimelineKind::ChronicEvent => {
            parts.extend(text("condition").map(|c| condition_text(language, c)));
            parts.extend(text("event").map(|name| {
                ChronicEventKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .map_or_else(|| name.to_owned(), |k| k.label_in(language).to_owned())
            }));
            parts.extend(text("to_status").map(|s| format!("→ {}", chronic_status_text(language, s))));
        }
    }
    parts.join(" · ")
}

#[component]
fn Timeline(id: Uuid, items: Vec<TimelineItem>, filters: TimelineParams, linked: bool) -> impl IntoView {
    let i18n = use_i18n();
    let list = if items.is_empty() {
        view! { <p class="muted" data-testid="no-timeline">{t!(i18n, patients.timeline.none)}</p> }.into_any()
    } else {
        let rows = with_years(items)
            .into_iter()
            .map(|row| match row {
                Row::Year(year) => view! { <li class="year" data-testid="timeline-year">{year}</li> }.into_any(),
                Row::Item(item) => view! { <Entry item linked /> }.into_any(),
            })
            .collect_view();
        view! { <ol class="timeline" data-testid="timeline">{rows}</ol> }.into_any()
    };
    view! {
        <section aria-labelledby="patient-timeline">
            <h2 id="patient-timeline">{t!(i18n, patients.timeline.title)}</h2>
            <TimelineFilters id filters />
            <p class="muted small">{t!(i18n, patients.timeline.explainer)}</p>
            {list}
        </section>
    }
    .into_any()
}

#[component]
fn TimelineFilters(id: Uuid, filters: TimelineParams) -> impl IntoView {
    let i18n = use_i18n();
    let (kind, organ) = (filters.kind, filters.organ);
    view! {
        <form method="get" action=format!("/patients/{id}") class="filters" role="search" data-testid="timeline-filters">
            <label>{t!(i18n, patients.timeline.filter.kind)}" "
                <select name="kind">
                    <option value="">{t!(i18n, patients.timeline.filter.every_kind)}</option>
                    {TIMELINE_GROUPS.into_iter().map(|group| view! {
                        <option value=group selected=kind.as_deref() == Some(group)>{move || group_text(i18n, group)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, patients.timeline.filter.organ)}" "
                <select name="organ">
                    <option value="">{t!(i18n, patients.timeline.filter.every_organ)}</option>
                    {organ_names().map(|name| view! {
                        <option value=name selected=organ.as_deref() == Some(name)>{move || cancer_text(language(i18n), name)}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button">{t!(i18n, patients.timeline.filter.apply)}</button>
            <a href=format!("/patients/{id}") class="button subtle">{t!(i18n, patients.timeline.filter.reset)}</a>
        </form>
    }
    .into_any()
}

/// One entry: its date, what it is, its facts, the record it belongs to when several are
/// linked, and a link to its own page.
#[component]
fn Entry(item: TimelineItem, linked: bool) -> impl IntoView {
    let i18n = use_i18n();
    let kind = item.kind;
    let record = linked.then(|| {
        let patient_id = item.patient_id.clone();
        view! { " "<span class="badge plain" data-testid="timeline-record">{t!(i18n, patients.timeline.record)}" "{patient_id}</span> }
    });
    let link = {
        let item = item.clone();
        move || entry_link(i18n, &item).map(|(href, text)| view! { " · "<a href=href>{text}</a> })
    };
    let facts = {
        let item = item.clone();
        move || facts_text(i18n, &item)
    };
    view! {
        <li data-testid="timeline-item" data-kind=kind.as_str()>
            <time datetime=item.at.clone()>{item.day.clone()}</time>" · "
            <strong>{move || kind_text(i18n, kind)}</strong>
            {record}
            <br />
            <span class="timeline-facts">{facts}</span>
            {link}
        </li>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(on: &str, liver: f64, l1: f64, coronary: f64) -> BiomarkerPoint {
        BiomarkerPoint {
            on: on.to_owned(),
            study_uid: format!("1.2.{on}"),
            liver_hu: Some(liver),
            liver_minus_spleen_hu: None,
            l1_trabecular_hu: Some(l1),
            coronary_calcium_mm3: Some(coronary),
            aortic_calcium_mm3: None,
        }
    }

    #[test]
    fn beyond_follows_each_cut_off_s_direction() {
        let rules = ChronicRules::default();
        // Liver below 40, bone at or below 160, coronary calcium above 100.
        let points = [point("2024-01-01", 40.0, 160.0, 100.0), point("2025-01-01", 39.0, 161.0, 101.0)];
        let beyond = |marker| observations(marker, &points, &rules).iter().map(|o| o.beyond).collect::<Vec<_>>();
        assert_eq!(beyond(Marker::Liver), [false, true]);
        assert_eq!(beyond(Marker::L1), [true, false]);
        assert_eq!(beyond(Marker::Coronary), [false, true]);
        // Nothing measured, nothing charted.
        assert!(observations(Marker::Aortic, &points, &rules).is_empty());
        assert!(observations(Marker::LiverMinusSpleen, &points, &rules).is_empty());
        assert!(!Marker::Aortic.beyond(1e6, 0.0));
    }

    fn item(day: &str) -> TimelineItem {
        TimelineItem {
            at: format!("{day}T09:00:00Z"),
            day: day.to_owned(),
            kind: TimelineKind::Study,
            study_uid: None,
            organ: None,
            ref_id: None,
            patient_id: "PL-0001".to_owned(),
            detail: serde_json::json!({}),
        }
    }

    #[test]
    fn a_year_marker_before_each_year_s_first_entry() {
        let rows = with_years(vec![item("2026-03-01"), item("2026-01-05"), item("2024-12-31"), item("2023-02-02")]);
        let shape: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Row::Year(y) => format!("Y{y}"),
                Row::Item(i) => i.day.clone(),
            })
            .collect();
        assert_eq!(shape, ["Y2026", "2026-03-01", "2026-01-05", "Y2024", "2024-12-31", "Y2023", "2023-02-02"]);
        assert!(with_years(Vec::new()).is_empty());
    }

    #[test]
    fn organs_and_the_board_s_cancers_are_named() {
        assert_eq!(cancer_text(Language::English, "lung"), "Lung cancer");
        assert_eq!(cancer_text(Language::SimplifiedChinese, "larynx"), "喉癌");
        assert_eq!(cancer_text(Language::English, "spleen"), "spleen");
        assert_eq!(organ_names().count(), 9);
        assert_eq!(identifier("PL-0001", "GH"), "PL-0001@GH");
        assert_eq!(identifier("PL-0001", ""), "PL-0001");
    }
}
