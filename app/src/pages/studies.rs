//! The study list and a study's page.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::studies::{list_studies, study_detail, study_screening};
use crate::components::errors::ErrorNotice;
use crate::components::shell::CurrentUser;
use crate::domain::language::Labelled;
use crate::domain::program::SkipReason;
use crate::domain::roles::Role;
use crate::domain::screening::{JobReason, JobStatus};
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::admin::patient_access_href;
use crate::model::screening::ScreeningOverview;
use crate::model::studies::STUDIES_PAGE;

/// A patient's recorded sex (`F`, `M`, `O`) as the page's language abbreviates it; anything else
/// as recorded.
fn sex_text(i18n: I18nContext<Locale>, sex: &str) -> String {
    match sex {
        "F" => t_string!(i18n, studies.sex.f).to_string(),
        "M" => t_string!(i18n, studies.sex.m).to_string(),
        "O" => t_string!(i18n, studies.sex.o).to_string(),
        other => other.to_owned(),
    }
}

/// A series' contrast phase as the eligibility check names it (`non_contrast`, `contrast`,
/// `unknown`); anything else as sent, with its underscores as hyphens.
fn phase_text(i18n: I18nContext<Locale>, phase: &str) -> String {
    match phase {
        "non_contrast" => t_string!(i18n, studies.phase.non_contrast).to_string(),
        "contrast" => t_string!(i18n, studies.phase.contrast).to_string(),
        "unknown" => t_string!(i18n, studies.phase.unknown).to_string(),
        other => other.replace('_', "-"),
    }
}

/// The stage a running job reports (the worker's own names); an unknown one as reported.
fn stage_text(i18n: I18nContext<Locale>, stage: &str) -> String {
    match stage {
        "starting" => t_string!(i18n, studies.screening.stage.starting).to_string(),
        "working" => t_string!(i18n, studies.screening.stage.working).to_string(),
        "decode" => t_string!(i18n, studies.screening.stage.decode).to_string(),
        "volume" => t_string!(i18n, studies.screening.stage.volume).to_string(),
        "resample" => t_string!(i18n, studies.screening.stage.resample).to_string(),
        "inference" => t_string!(i18n, studies.screening.stage.inference).to_string(),
        "postprocess" => t_string!(i18n, studies.screening.stage.postprocess).to_string(),
        "storage" => t_string!(i18n, studies.screening.stage.storage).to_string(),
        other => other.to_owned(),
    }
}

#[component]
pub fn StudiesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0).max(0);
    let studies = Resource::new(
        move || (field("patient_id"), field("accession"), page()),
        |(patient_id, accession, page)| list_studies(Some(patient_id), Some(accession), Some(page)),
    );
    view! {
        <PageTitle text=t_string!(i18n, studies.title).to_string() />
        <h1>{t!(i18n, studies.title)}</h1>
        <form method="get" action="/studies" class="filters" role="search">
            <label>{t!(i18n, studies.filter.patient_id)} " " <input name="patient_id" value=move || field("patient_id") /></label>
            <label>{t!(i18n, studies.filter.accession)} " " <input name="accession" value=move || field("accession") /></label>
            <button type="submit" class="button">{t!(i18n, studies.filter.search)}</button>
        </form>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, studies.loading)}</p> }>
            {move || Suspend::new(async move {
                match studies.await {
                    Ok(list) if list.is_empty() => view! { <p data-testid="no-studies">{t!(i18n, studies.no_studies)}</p> }.into_any(),
                    Ok(list) => {
                        let more = list.len() as i64 == STUDIES_PAGE;
                        view! {
                            <table class="grid" data-testid="studies">
                                <thead><tr>
                                    <th>{t!(i18n, studies.col.study_date)}</th><th>{t!(i18n, studies.col.patient)}</th>
                                    <th>{t!(i18n, studies.col.patient_id)}</th><th>{t!(i18n, studies.col.sex)}</th>
                                    <th>{t!(i18n, studies.col.born)}</th><th>{t!(i18n, studies.col.accession)}</th>
                                    <th>{t!(i18n, studies.col.description)}</th><th>{t!(i18n, studies.col.modality)}</th>
                                    <th>{t!(i18n, studies.col.series_count)}</th><th>{t!(i18n, studies.col.images)}</th>
                                    <th>{t!(i18n, studies.col.site)}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|s| view! {
                                        <tr>
                                            <td class="nowrap">{s.study_date.unwrap_or_default()}</td>
                                            <td><a href=format!("/studies/{}", s.study_uid)>{s.patient_name.unwrap_or_else(|| t_string!(i18n, studies.no_name).into())}</a></td>
                                            <td><code>{s.patient_id}</code></td>
                                            <td>{s.patient_sex.map(|sex| sex_text(i18n, &sex)).unwrap_or_default()}</td>
                                            <td class="nowrap">{s.patient_birth_date.unwrap_or_default()}</td>
                                            <td>{s.accession_number.unwrap_or_default()}</td>
                                            <td>{s.description.unwrap_or_default()}</td>
                                            <td>{s.modalities.join(", ")}</td>
                                            <td class="num">{s.series_count}</td>
                                            <td class="num">{s.instance_count}</td>
                                            <td>{s.site.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="pager">
                                {move || (page() > 0).then(|| view! { <a href=format!("/studies?page={}", page() - 1)>{t!(i18n, studies.newer)}</a> })}
                                " "
                                {more.then(|| view! { <a href=format!("/studies?page={}", page() + 1)>{t!(i18n, studies.older)}</a> })}
                            </p>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn StudyPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let detail = Resource::new(move || params.read().get("uid").unwrap_or_default(), study_detail);
    view! {
        <PageTitle text=t_string!(i18n, studies.study_title).to_string() />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, studies.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let s = d.study;
                        let mismatches = d.mismatches;
                        let patient_id = s.patient_id.clone();
                        view! {
                            <p><a href="/studies">{t!(i18n, studies.back)}</a></p>
                            <h1>{s.patient_name.clone().unwrap_or_else(|| t_string!(i18n, studies.no_name).into())}</h1>
                            <dl class="facts" data-testid="study">
                                <dt>{t!(i18n, studies.facts.patient_id)}</dt><dd><code>{s.patient_id}</code>
                                    <span class="muted" title=move || t_string!(i18n, studies.facts.authority_hint)>
                                        " · "
                                        {if s.patient_authority.is_empty() {
                                            t!(i18n, studies.facts.issuer_unknown).into_any()
                                        } else {
                                            let authority = s.patient_authority.clone();
                                            t!(i18n, studies.facts.issued_by, authority).into_any()
                                        }}
                                    </span>
                                </dd>
                                <dt>{t!(i18n, studies.facts.sex_born)}</dt><dd>{format!("{} / {}", s.patient_sex.map(|sex| sex_text(i18n, &sex)).unwrap_or_else(|| "—".into()), s.patient_birth_date.unwrap_or_else(|| "—".into()))}</dd>
                                <dt>{t!(i18n, studies.facts.study_date)}</dt><dd>{s.study_date.unwrap_or_else(|| "—".into())}</dd>
                                <dt>{t!(i18n, studies.facts.accession)}</dt><dd>{s.accession_number.unwrap_or_else(|| "—".into())}</dd>
                                <dt>{t!(i18n, studies.facts.description)}</dt><dd>{s.description.unwrap_or_else(|| "—".into())}</dd>
                                <dt>{t!(i18n, studies.facts.site)}</dt><dd>{s.site.unwrap_or_else(|| "—".into())}</dd>
                                <dt>{t!(i18n, studies.facts.study_uid)}</dt><dd><code>{s.study_uid.clone()}</code></dd>
                            </dl>
                            <p class="card-links">
                                <a href=format!("/api/v1/studies/{}/report.pdf", s.study_uid) data-testid="report-pdf" rel="nofollow">
                                    {t!(i18n, studies.report_pdf)}
                                </a>
                                <a href=format!("/ohif/viewer?StudyInstanceUIDs={}", s.study_uid) data-testid="open-ohif" rel="nofollow">
                                    {t!(i18n, studies.open_ohif)}
                                </a>
                                <a href=format!("/mdt/cases/new?study={}", s.study_uid) data-testid="open-mdt-case">
                                    {t!(i18n, studies.open_mdt_case)}
                                </a>
                                <PatientAccessLink patient_id />
                            </p>
                            <Mismatches items=mismatches study_uid=s.study_uid.clone() />
                            <h2>{t!(i18n, studies.series_heading)}</h2>
                            <table class="grid" data-testid="series">
                                <thead><tr>
                                    <th>"#"</th><th>{t!(i18n, studies.col.description)}</th><th>{t!(i18n, studies.col.modality)}</th>
                                    <th>{t!(i18n, studies.col.body_part)}</th><th>{t!(i18n, studies.col.contrast)}</th>
                                    <th>{t!(i18n, studies.col.slice)}</th><th>{t!(i18n, studies.col.matrix)}</th>
                                    <th>{t!(i18n, studies.col.images)}</th><th>{t!(i18n, studies.col.screening)}</th>
                                </tr></thead>
                                <tbody>
                                    {d.series.into_iter().map(|se| view! {
                                        <tr>
                                            <td class="num">{se.series_number.map(|n| n.to_string()).unwrap_or_default()}</td>
                                            <td><a href=format!("/studies/{}/series/{}", s.study_uid, se.series_uid)>{se.description.unwrap_or_else(|| t_string!(i18n, studies.no_description).into())}</a></td>
                                            <td>{se.modality.unwrap_or_default()}</td>
                                            <td>{se.body_part.unwrap_or_default()}</td>
                                            <td>{se.contrast.unwrap_or_else(|| t_string!(i18n, studies.contrast_none).into())}</td>
                                            <td class="num">{se.slice_thickness.map(|t| format!("{t:.2}")).unwrap_or_default()}</td>
                                            <td>{se.matrix.unwrap_or_default()}</td>
                                            <td class="num">{se.instance_count}</td>
                                            <td data-testid="eligibility">{se.eligibility.map(|e| {
                                                let verdict = if e.eligible {
                                                    t_string!(i18n, studies.eligible)
                                                } else {
                                                    t_string!(i18n, studies.not_eligible)
                                                };
                                                // The failed rules in the page's language; the
                                                // checker's own sentences (English) beside them.
                                                let rules = e
                                                    .codes
                                                    .iter()
                                                    .map(|code| SkipReason::parse(code).map_or_else(|| code.clone(), |r| r.label_in(language(i18n)).to_owned()))
                                                    .collect::<Vec<_>>()
                                                    .join(t_string!(i18n, studies.rule_separator));
                                                let why = e.reasons.iter().chain(&e.notes).cloned().collect::<Vec<_>>().join(" ");
                                                view! {
                                                    <strong class=if e.eligible { "ok" } else { "no" }>{verdict}</strong>
                                                    {format!(" · {}", phase_text(i18n, &e.contrast_phase))}
                                                    {(!rules.is_empty()).then(|| view! { <div data-testid="eligibility-rules">{rules}</div> })}
                                                    <div class="muted small" lang="en">{why}</div>
                                                }
                                            })}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <ScreeningPanel study_uid=s.study_uid.clone() />
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// For administrators: who looked at this patient (the audit page, filtered to them).
#[component]
fn PatientAccessLink(patient_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let user = use_context::<CurrentUser>();
    let href = patient_access_href(&patient_id);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let href = href.clone();
                Suspend::new(async move {
                    let admin = match user {
                        Some(CurrentUser(user)) => matches!(user.await, Ok(Some(u)) if u.has_any_role(&[Role::Admin])),
                        None => false,
                    };
                    admin.then(|| view! {
                        " " <a href=href data-testid="patient-access">{t!(i18n, admin.audit.patient_link)}</a>
                    })
                })
            }}
        </Suspense>
    }
}

/// Demographics mismatches of the study's patient: each with both values, open ones with the
/// two decisions (plain forms, so they work without JavaScript), resolved ones with who decided.
#[component]
fn Mismatches(items: Vec<crate::model::patients::MismatchView>, study_uid: String) -> impl IntoView {
    use crate::domain::identity::MismatchResolution;
    let i18n = use_i18n();
    if items.is_empty() {
        return ().into_any();
    }
    let open = items.iter().filter(|m| m.resolution.is_none()).count();
    let (class, role) = if open > 0 { ("notice warning", "alert") } else { ("notice", "status") };
    view! {
        <section class=class data-testid="mismatches" role=role>
            <h2>{if open > 0 {
                t!(i18n, studies.mismatch.open, count = move || open).into_any()
            } else {
                t!(i18n, studies.mismatch.resolved).into_any()
            }}</h2>
            <p class="small">{t!(i18n, studies.mismatch.explainer)}</p>
            <table class="grid dense">
                <thead><tr>
                    <th>{t!(i18n, studies.mismatch.col.study)}</th><th>{t!(i18n, studies.mismatch.col.field)}</th>
                    <th>{t!(i18n, studies.mismatch.col.record)}</th><th>{t!(i18n, studies.mismatch.col.study_says)}</th>
                    <th>{t!(i18n, studies.mismatch.col.raised)}</th><th>{t!(i18n, studies.mismatch.col.decision)}</th>
                </tr></thead>
                <tbody>
                    {items.into_iter().map(|m| {
                        let here = m.study_uid == study_uid;
                        view! {
                            <tr data-testid="mismatch">
                                <td>{if here { view! { <span>{t!(i18n, studies.mismatch.this_study)}</span> }.into_any() } else {
                                    view! { <a href=format!("/studies/{}", m.study_uid)>{t!(i18n, studies.mismatch.another_study)}</a> }.into_any()
                                }}</td>
                                <td>{m.field.label_in(language(i18n))}</td>
                                <td><strong>{m.stored_value.clone()}</strong></td>
                                <td><strong>{m.received_value.clone()}</strong></td>
                                <td class="nowrap">{m.detected_at.clone()}</td>
                                <td>{match m.resolution {
                                    Some(resolution) => view! {
                                        <span>{t!(
                                            i18n,
                                            studies.mismatch.decided,
                                            resolution = resolution.label_in(language(i18n)),
                                            by = m.resolved_by.clone().unwrap_or_default()
                                        )}</span>
                                        {m.note.clone().map(|n| view! { <div class="muted small">{n}</div> })}
                                    }.into_any(),
                                    None => view! {
                                        <form method="post" action=format!("/mismatches/{}/resolve", m.id) class="inline-form">
                                            <label class="visually-hidden" for=format!("mismatch-note-{}", m.id)>{t!(i18n, studies.mismatch.note_label)}</label>
                                            <input id=format!("mismatch-note-{}", m.id) name="note" placeholder=move || t_string!(i18n, studies.mismatch.note_placeholder) maxlength="2000" />
                                            <button type="submit" name="resolution" value=MismatchResolution::KeptStored.as_str() class="button">{t!(i18n, studies.mismatch.keep_record)}</button>
                                            <button type="submit" name="resolution" value=MismatchResolution::UpdatedPatient.as_str() class="button">{t!(i18n, studies.mismatch.use_study_value)}</button>
                                        </form>
                                    }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }.into_any()
}

/// The study's screening: each job's state (live while any is queued or running, once
/// hydrated) and each series' latest result.
#[component]
fn ScreeningPanel(study_uid: String) -> impl IntoView {
    let i18n = use_i18n();
    let tick = RwSignal::new(0u32);
    let active = RwSignal::new(false);
    let overview = Resource::new(move || (study_uid.clone(), tick.get()), |(uid, _)| study_screening(uid));
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if active.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(3),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    }
    view! {
        <h2>{t!(i18n, studies.screening.heading)}</h2>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, studies.loading)}</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        active.set(o.is_active());
                        view! { <ScreeningTables overview=o /> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ScreeningTables(overview: ScreeningOverview) -> impl IntoView {
    let i18n = use_i18n();
    if overview.jobs.is_empty() {
        return view! { <p class="muted" data-testid="no-screening">{t!(i18n, studies.screening.not_screened)}</p> }
            .into_any();
    }
    let short = |uid: &str| uid.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect::<String>();
    view! {
        <table class="grid dense" data-testid="screening-jobs">
            <thead><tr>
                <th>{t!(i18n, studies.screening.col.job)}</th><th>{t!(i18n, studies.screening.col.series)}</th>
                <th>{t!(i18n, studies.screening.col.model)}</th><th>{t!(i18n, studies.screening.col.state)}</th>
                <th>{t!(i18n, studies.screening.col.attempts)}</th><th>{t!(i18n, studies.screening.col.why)}</th>
            </tr></thead>
            <tbody>
                {overview.jobs.iter().map(|j| view! {
                    <tr data-job-status=j.status.as_str()>
                        <td class="num">{j.id}</td>
                        <td><code title=j.series_uid.clone()>{format!("…{}", short(&j.series_uid))}</code></td>
                        <td>{j.model.clone()}</td>
                        <td>
                            <strong>{j.status.label_in(language(i18n))}</strong>
                            {j.stage.clone().filter(|_| j.status == JobStatus::Running).map(|s| format!(" ({})", stage_text(i18n, &s)))}
                        </td>
                        <td class="num">{format!("{}/{}", j.attempts, j.max_attempts)}</td>
                        <td class="small">
                            {if j.reason == JobReason::Rerun {
                                t_string!(i18n, studies.screening.rerun)
                            } else if j.generation > 1 {
                                t_string!(i18n, studies.screening.rescreened)
                            } else {
                                ""
                            }}
                            // A skip's failed rules in the page's language; the worker's
                            // own message (English, technical: for whoever keeps the workers
                            // running) beside them, introduced in the page's language.
                            {(!j.skip_reasons.is_empty()).then(|| {
                                let rules = j
                                    .skip_reasons
                                    .iter()
                                    .map(|r| r.label_in(language(i18n)))
                                    .collect::<Vec<_>>()
                                    .join(t_string!(i18n, studies.rule_separator));
                                view! { <span data-testid="job-skip-reasons">{rules}</span> " " }
                            })}
                            {j.error.clone().map(|e| view! {
                                <span class="muted" data-testid="job-worker-message">
                                    {t!(i18n, studies.screening.worker_message)}
                                    <span lang="en">{e}</span>
                                </span>
                            })}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {overview.is_active().then(|| view! {
            <p class="muted small">{t!(i18n, studies.screening.updating)} <a href="">{t!(i18n, studies.screening.refresh)}</a></p>
        })}
        {overview.series.iter().map(|r| {
            let instances = r.instances;
            view! {
                <section class="card result" data-testid="screening-result">
                    <h3>{format!("{} …{} · {} {}", t_string!(i18n, studies.screening.series), short(&r.series_uid), r.model.name, r.model.version)}</h3>
                    <p class="small muted">
                        {crate::format::minute(r.created_at)} " · "
                        {t!(i18n, studies.screening.run_on, provider = r.execution_provider.clone(), device = r.device.clone())}
                        " · " {r.total_ms().map(|t| format!("{:.1} s", t / 1000.0)).unwrap_or_default()}
                        {instances.map(|n| view! { " · " {t!(i18n, studies.screening.instances, count = move || n)} })}
                    </p>
                    {r.supersedes_text(language(i18n)).map(|text| view! { <p class="small" data-testid="supersedes">{text}</p> })}
                    <p>
                        <strong>{t!(i18n, studies.screening.positive)}</strong>
                        {let positives = r.positive_names(); if positives.is_empty() {
                            t_string!(i18n, studies.screening.no_positives).to_owned()
                        } else {
                            positives.join(", ")
                        }}
                    </p>
                    <p class="small">
                        {t!(i18n, studies.screening.highest)}
                        {r.top(5).iter().map(|(label, p)| format!("{label} {:.0}%", p * 100.0)).collect::<Vec<_>>().join(" · ")}
                    </p>
                    {let biomarkers = r.biomarker_lines(language(i18n)); (!biomarkers.is_empty()).then(|| view! {
                        <dl class="facts small">
                            {biomarkers.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                        </dl>
                    })}
                </section>
            }
        }).collect_view()}
    }
    .into_any()
}
