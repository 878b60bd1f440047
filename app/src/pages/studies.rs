//! The study list and a study's page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::studies::{list_studies, study_detail, study_screening};
use crate::domain::screening::{JobReason, JobStatus};
use crate::model::screening::ScreeningOverview;
use crate::model::studies::STUDIES_PAGE;

#[component]
pub fn StudiesPage() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0).max(0);
    let studies = Resource::new(
        move || (field("patient_id"), field("accession"), page()),
        |(patient_id, accession, page)| list_studies(Some(patient_id), Some(accession), Some(page)),
    );
    view! {
        <Title text="Studies" />
        <h1>"Studies"</h1>
        <form method="get" action="/studies" class="filters" role="search">
            <label>"Patient ID " <input name="patient_id" value=move || field("patient_id") /></label>
            <label>"Accession " <input name="accession" value=move || field("accession") /></label>
            <button type="submit" class="button">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match studies.await {
                    Ok(list) if list.is_empty() => view! { <p data-testid="no-studies">"No studies match."</p> }.into_any(),
                    Ok(list) => {
                        let more = list.len() as i64 == STUDIES_PAGE;
                        view! {
                            <table class="grid" data-testid="studies">
                                <thead><tr>
                                    <th>"Study date"</th><th>"Patient"</th><th>"Patient ID"</th><th>"Sex"</th><th>"Born"</th>
                                    <th>"Accession"</th><th>"Description"</th><th>"Modality"</th><th>"Series"</th><th>"Images"</th><th>"Site"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|s| view! {
                                        <tr>
                                            <td class="nowrap">{s.study_date.unwrap_or_default()}</td>
                                            <td><a href=format!("/studies/{}", s.study_uid)>{s.patient_name.unwrap_or_else(|| "(no name)".into())}</a></td>
                                            <td><code>{s.patient_id}</code></td>
                                            <td>{s.patient_sex.unwrap_or_default()}</td>
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
                                {move || (page() > 0).then(|| view! { <a href=format!("/studies?page={}", page() - 1)>"← Newer"</a> })}
                                " "
                                {more.then(|| view! { <a href=format!("/studies?page={}", page() + 1)>"Older →"</a> })}
                            </p>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn StudyPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(move || params.read().get("uid").unwrap_or_default(), study_detail);
    view! {
        <Title text="Study" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let s = d.study;
                        let mismatches = d.mismatches;
                        view! {
                            <p><a href="/studies">"← Studies"</a></p>
                            <h1>{s.patient_name.clone().unwrap_or_else(|| "(no name)".into())}</h1>
                            <dl class="facts" data-testid="study">
                                <dt>"Patient ID"</dt><dd><code>{s.patient_id}</code>
                                    <span class="muted" title="The authority that assigned this ID">
                                        {if s.patient_authority.is_empty() { " · issuer unknown".to_owned() } else { format!(" · issued by {}", s.patient_authority) }}
                                    </span>
                                </dd>
                                <dt>"Sex / born"</dt><dd>{format!("{} / {}", s.patient_sex.unwrap_or_else(|| "—".into()), s.patient_birth_date.unwrap_or_else(|| "—".into()))}</dd>
                                <dt>"Study date"</dt><dd>{s.study_date.unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Accession"</dt><dd>{s.accession_number.unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Description"</dt><dd>{s.description.unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Site"</dt><dd>{s.site.unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Study UID"</dt><dd><code>{s.study_uid.clone()}</code></dd>
                            </dl>
                            <Mismatches items=mismatches study_uid=s.study_uid.clone() />
                            <h2>"Series"</h2>
                            <table class="grid" data-testid="series">
                                <thead><tr><th>"#"</th><th>"Description"</th><th>"Modality"</th><th>"Body part"</th><th>"Contrast"</th><th>"Slice (mm)"</th><th>"Matrix"</th><th>"Images"</th><th>"Screening"</th></tr></thead>
                                <tbody>
                                    {d.series.into_iter().map(|se| view! {
                                        <tr>
                                            <td class="num">{se.series_number.map(|n| n.to_string()).unwrap_or_default()}</td>
                                            <td><a href=format!("/studies/{}/series/{}", s.study_uid, se.series_uid)>{se.description.unwrap_or_else(|| "(no description)".into())}</a></td>
                                            <td>{se.modality.unwrap_or_default()}</td>
                                            <td>{se.body_part.unwrap_or_default()}</td>
                                            <td>{se.contrast.unwrap_or_else(|| "none recorded".into())}</td>
                                            <td class="num">{se.slice_thickness.map(|t| format!("{t:.2}")).unwrap_or_default()}</td>
                                            <td>{se.matrix.unwrap_or_default()}</td>
                                            <td class="num">{se.instance_count}</td>
                                            <td data-testid="eligibility">{se.eligibility.map(|e| {
                                                let verdict = if e.eligible { "eligible" } else { "not eligible" };
                                                let why = e.reasons.iter().chain(&e.notes).cloned().collect::<Vec<_>>().join(" ");
                                                view! {
                                                    <strong class=if e.eligible { "ok" } else { "no" }>{verdict}</strong>
                                                    {format!(" · {}", e.contrast_phase.replace('_', "-"))}
                                                    <div class="muted small">{why}</div>
                                                }
                                            })}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <ScreeningPanel study_uid=s.study_uid.clone() />
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Demographics mismatches of the study's patient: each with both values, open ones with the
/// two decisions (plain forms, so they work without JavaScript), resolved ones with who decided.
#[component]
fn Mismatches(items: Vec<crate::model::patients::MismatchView>, study_uid: String) -> impl IntoView {
    use crate::domain::identity::MismatchResolution;
    if items.is_empty() {
        return ().into_any();
    }
    let open = items.iter().filter(|m| m.resolution.is_none()).count();
    let (class, role) = if open > 0 { ("notice warning", "alert") } else { ("notice", "status") };
    view! {
        <section class=class data-testid="mismatches" role=role>
            <h2>{if open > 0 { format!("Demographics mismatch: {open} to resolve") } else { "Demographics mismatches (resolved)".to_owned() }}</h2>
            <p class="small">"A study of this patient ID states a different name or birth date than the patient's record. It is filed under the patient; nothing was renamed. Check the request form or the sending system, then decide."</p>
            <table class="grid dense">
                <thead><tr><th>"Study"</th><th>"Field"</th><th>"Patient's record"</th><th>"This study says"</th><th>"Raised"</th><th>"Decision"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|m| {
                        let here = m.study_uid == study_uid;
                        view! {
                            <tr data-testid="mismatch">
                                <td>{if here { view! { <span>"this study"</span> }.into_any() } else {
                                    view! { <a href=format!("/studies/{}", m.study_uid)>"another study"</a> }.into_any()
                                }}</td>
                                <td>{m.field.label()}</td>
                                <td><strong>{m.stored_value.clone()}</strong></td>
                                <td><strong>{m.received_value.clone()}</strong></td>
                                <td class="nowrap">{m.detected_at.clone()}</td>
                                <td>{match m.resolution {
                                    Some(resolution) => view! {
                                        <span>{format!("{} ({})", resolution.label(), m.resolved_by.clone().unwrap_or_default())}</span>
                                        {m.note.clone().map(|n| view! { <div class="muted small">{n}</div> })}
                                    }.into_any(),
                                    None => view! {
                                        <form method="post" action=format!("/mismatches/{}/resolve", m.id) class="inline-form">
                                            <input name="note" placeholder="Note (how you checked)" maxlength="2000" />
                                            <button type="submit" name="resolution" value=MismatchResolution::KeptStored.as_str() class="button">"Keep the record"</button>
                                            <button type="submit" name="resolution" value=MismatchResolution::UpdatedPatient.as_str() class="button">"Use the study's value"</button>
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
        <h2>"Screening"</h2>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        active.set(o.is_active());
                        view! { <ScreeningTables overview=o /> }.into_any()
                    }
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ScreeningTables(overview: ScreeningOverview) -> impl IntoView {
    if overview.jobs.is_empty() {
        return view! { <p class="muted" data-testid="no-screening">"Not screened yet: a series is queued once it is complete (no new images for a short while)."</p> }.into_any();
    }
    let short = |uid: &str| uid.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect::<String>();
    view! {
        <table class="grid dense" data-testid="screening-jobs">
            <thead><tr><th>"Job"</th><th>"Series"</th><th>"Model"</th><th>"State"</th><th>"Attempts"</th><th>"Why / error"</th></tr></thead>
            <tbody>
                {overview.jobs.iter().map(|j| view! {
                    <tr data-job-status=j.status.as_str()>
                        <td class="num">{j.id}</td>
                        <td><code title=j.series_uid.clone()>{format!("…{}", short(&j.series_uid))}</code></td>
                        <td>{j.model.clone()}</td>
                        <td><strong>{j.status.label()}</strong>{j.stage.clone().filter(|_| j.status == JobStatus::Running).map(|s| format!(" ({s})"))}</td>
                        <td class="num">{format!("{}/{}", j.attempts, j.max_attempts)}</td>
                        <td class="small">{if j.reason == JobReason::Rerun { "re-run on request. " } else if j.generation > 1 { "screened again: instances arrived after the earlier screening. " } else { "" }}{j.error.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {overview.is_active().then(|| view! { <p class="muted small">"Updating while jobs run. " <a href="">"Refresh"</a></p> })}
        {overview.series.iter().map(|r| view! {
            <section class="card result" data-testid="screening-result">
                <h3>{format!("Series …{} · {} {}", short(&r.series_uid), r.model.name, r.model.version)}</h3>
                <p class="small muted">{format!("{} · {} on {} · {}{}", crate::format::minute(r.created_at), r.execution_provider, r.device, r.total_ms().map(|t| format!("{:.1} s", t / 1000.0)).unwrap_or_default(), r.instances.map(|n| format!(" · {n} instances")).unwrap_or_default())}</p>
                {r.supersedes_text().map(|text| view! { <p class="small" data-testid="supersedes">{text}</p> })}
                <p>
                    <strong>"Positive: "</strong>
                    {let positives = r.positive_names(); if positives.is_empty() { "none at the operating thresholds".to_owned() } else { positives.join(", ") }}
                </p>
                <p class="small">"Highest: " {r.top(5).iter().map(|(label, p)| format!("{label} {:.0}%", p * 100.0)).collect::<Vec<_>>().join(" · ")}</p>
                {let biomarkers = r.biomarker_lines(); (!biomarkers.is_empty()).then(|| view! {
                    <dl class="facts small">
                        {biomarkers.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                })}
            </section>
        }).collect_view()}
    }
    .into_any()
}
