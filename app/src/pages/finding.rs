//! A finding's page: the patient, the AI result with the key slice, the follow-up so far, and
//! exactly the actions the finding's state and the user's roles allow. Every action is a plain
//! form that posts to `/findings/{id}/events` with the version shown, so the page works without
//! JavaScript and a stale form is refused rather than overwriting a colleague's change.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::followup::load_finding;
use crate::domain::followup::EventKind;
use crate::domain::followup::event::{ConfirmedBy, ContactChannel, ContactResult, Outcome, WorkupModality};
use crate::model::followup::{FindingDetail, FindingView, HistoryEntry};
use crate::model::patients::MismatchView;

#[component]
pub fn FindingPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let detail =
        Resource::new(move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0), load_finding);
    let done = move || {
        query.read().get("done").map(|kind| {
            let label = serde_json_kind(&kind).map_or(kind.clone(), |k| k.label().to_owned());
            format!("Recorded: {label}.")
        })
    };
    let error = move || query.read().get("error");
    view! {
        <Title text="Finding" />
        <p><a href="/worklist">"← Worklist"</a></p>
        {move || done().map(|n| view! { <p class="notice info" role="status" data-testid="notice">{n}</p> })}
        {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="error">{e}</p> })}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Finding detail=d /> }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn serde_json_kind(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == name)
}

#[component]
fn Finding(detail: FindingDetail) -> impl IntoView {
    let f = detail.finding.clone();
    let title = format!("{} · finding #{}", f.organ.cancer_label(), f.id);
    let contacts: Vec<HistoryEntry> =
        detail.history.iter().filter(|h| h.kind == Some(EventKind::RecordContactAttempt)).cloned().collect();
    let notes: Vec<HistoryEntry> =
        detail.history.iter().filter(|h| h.kind == Some(EventKind::AddNote)).cloned().collect();
    let heading = view! {
        <Title text=title.clone() />
        <h1>
            {title}
            " " <span class=format!("status status-{}", f.status.as_str()) data-testid="status">{f.status.label()}</span>
            {f.overdue.then(|| view! { " " <span class="badge overdue" data-testid="overdue">"overdue"</span> })}
        </h1>
    }
    .into_any();
    let patient = view! {
        <PatientHeader f=f.clone() />
        <OpenMismatches items=detail.open_mismatches.clone() study_uid=f.study_uid.clone() />
    }
    .into_any();
    let summary = view! {
        <div class="columns">
            <section class="card">
                <h2>"AI result"</h2>
                <AiResult f=f.clone() />
                <KeySlice f=f.clone() />
            </section>
            <section class="card">
                <h2>"Follow-up"</h2>
                <FollowupFacts f=f.clone() />
                {f.workup_modality.is_some().then(|| view! {
                    <p><a href=format!("/findings/{}/letter", f.id) class="button subtle" target="_blank" data-testid="letter-link">"Recall letter (printable)"</a></p>
                })}
            </section>
        </div>
    }
    .into_any();
    let actions = view! {
        <section class="card actions" data-testid="actions">
            <h2>"Actions"</h2>
            {if detail.actions.is_empty() {
                view! { <p class="muted">"No actions are open to you on this finding."</p> }.into_any()
            } else {
                view! { <Actions detail=detail.clone() /> }.into_any()
            }}
        </section>
    }
    .into_any();
    let log = view! {
        <section>
            <h2>"Contact attempts"</h2>
            {if contacts.is_empty() {
                view! { <p class="muted" data-testid="no-contacts">"None recorded."</p> }.into_any()
            } else {
                view! { <History entries=contacts testid="contacts" /> }.into_any()
            }}
            <h2>"Notes"</h2>
            {if notes.is_empty() {
                view! { <p class="muted">"No notes."</p> }.into_any()
            } else {
                view! {
                    <ul class="notes" data-testid="notes">
                        {notes.into_iter().map(|n| {
                            let text = n.details.iter().find(|(k, _)| k == "text").map(|(_, v)| v.clone()).unwrap_or_default();
                            view! { <li><p>{text}</p><span class="muted small">{format!("{} · {} ({})", n.at, n.actor_name.unwrap_or(n.actor), n.role)}</span></li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any();
    let history = view! {
        <section>
            <h2>"History"</h2>
            <History entries=detail.history.clone() testid="history" />
        </section>
    }
    .into_any();
    let related = view! {
        <section>
            <h2>"This patient's other findings and studies"</h2>
            {if detail.related.is_empty() {
                view! { <p class="muted" data-testid="no-related">"No other findings."</p> }.into_any()
            } else {
                view! {
                    <table class="grid dense" data-testid="related">
                        <thead><tr><th>"Finding"</th><th>"Study date"</th><th>"Cancer"</th><th>"AI probability"</th><th>"Status"</th></tr></thead>
                        <tbody>
                            {detail.related.iter().map(|r| view! {
                                <tr>
                                    <td><a href=format!("/findings/{}", r.id)>{format!("#{}", r.id)}</a></td>
                                    <td>{r.study_date.clone().unwrap_or_default()}</td>
                                    <td>{r.organ.cancer_label()}</td>
                                    <td class="num">{format!("{:.0}%", r.probability * 100.0)}</td>
                                    <td>{r.status.label()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <ul class="studies" data-testid="patient-studies">
                {detail.studies.iter().map(|s| view! {
                    <li>
                        <a href=format!("/studies/{}", s.study_uid)>{s.study_date.clone().unwrap_or_else(|| "(no date)".into())}</a>
                        " " {s.description.clone().unwrap_or_default()}
                        {(s.study_uid == f.study_uid).then(|| view! { " " <span class="tag">"this finding"</span> })}
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any();
    view! { {heading} {patient} {summary} {actions} {log} {history} {related} }
}

#[component]
fn PatientHeader(f: FindingView) -> impl IntoView {
    view! {
        <dl class="facts patient" data-testid="patient">
            <dt>"Patient"</dt><dd>{f.patient_name.clone().unwrap_or_else(|| "(no name)".into())}</dd>
            <dt>"Patient ID"</dt><dd><code>{f.patient_id.clone()}</code></dd>
            <dt>"Age / sex"</dt>
            <dd>{format!("{} / {}", f.age.map(|a| a.to_string()).unwrap_or_else(|| "—".into()), f.sex.clone().unwrap_or_else(|| "—".into()))}
                {f.birth_date.clone().map(|b| format!(" (born {b})"))}</dd>
            <dt>"Site"</dt><dd>{f.site_name.clone().or(f.site.clone()).unwrap_or_else(|| "—".into())}</dd>
            <dt>"Study"</dt>
            <dd><a href=format!("/studies/{}", f.study_uid)>{f.study_date.clone().unwrap_or_else(|| "(no date)".into())}</a></dd>
        </dl>
    }
}

/// The patient's unresolved demographics mismatches, before anyone contacts the patient: the
/// decision itself is taken on the study page.
#[component]
fn OpenMismatches(items: Vec<MismatchView>, study_uid: String) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <section class="notice warning" role="alert" data-testid="finding-mismatches">
                <strong>{format!("Demographics mismatch: {} to resolve. ", items.len())}</strong>
                "Check who this patient is before contacting them: "
                {items.iter().map(|m| format!("{} on record \u{201c}{}\u{201d}, a study says \u{201c}{}\u{201d}. ", m.field.label(), m.stored_value, m.received_value)).collect::<String>()}
                <a href=format!("/studies/{study_uid}")>"Resolve it on the study page"</a>
            </section>
        }
    })
}

#[component]
fn AiResult(f: FindingView) -> impl IntoView {
    let threshold = f.threshold;
    view! {
        <p>
            <strong>{f.organ.cancer_label()}</strong> " — " {f.class_label.clone()} " "
            <strong data-testid="probability">{format!("{:.1}%", f.probability * 100.0)}</strong>
            <span class="muted">{format!(" (operating threshold {:.1}%)", threshold * 100.0)}</span>
        </p>
        <table class="bars" data-testid="class-probabilities">
            <tbody>
                {f.class_probabilities.iter().map(|(class, p)| {
                    let width = format!("width: {:.1}%", p * 100.0);
                    let marker = format!("left: {:.1}%", threshold * 100.0);
                    let above = *p >= threshold;
                    view! {
                        <tr class:above=above>
                            <th scope="row">{class.clone()}</th>
                            <td class="bar-cell">
                                <span class="bar"><span class="fill" style=width></span><span class="threshold" style=marker title="operating threshold"></span></span>
                            </td>
                            <td class="num">{format!("{:.1}%", p * 100.0)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p class="muted small" data-testid="model">{format!("Model {} {} · detected {}", f.model_name, f.model_version, f.detected_at)}</p>
    }
}

#[component]
fn KeySlice(f: FindingView) -> impl IntoView {
    let (Some(location), Some(series)) = (f.location.clone(), f.series_uid.clone()) else {
        return view! { <p class="muted">"The model gave no lesion location."</p> }.into_any();
    };
    let Some(sop) = location.sop_instance_uid.clone() else {
        return view! { <p class="muted">"The model gave no key slice."</p> }.into_any();
    };
    let image = format!("/dicomweb/studies/{}/series/{}/instances/{}/rendered?window=40,400", f.study_uid, series, sop);
    let viewer = format!("/studies/{}/series/{}?slice={}", f.study_uid, series, location.slice_index.unwrap_or(0));
    let marker = location.pixel.zip(location.radius_px).map(|([x, y], r)| {
        view! { <circle cx=x cy=y r=r.max(4.0) class="lesion-marker" /> }
    });
    let [columns, rows] = location.image_size.unwrap_or([512.0, 512.0]);
    let view_box = format!("0 0 {columns} {rows}");
    let caption = format!(
        "Key slice {}{}",
        location.slice_index.map(|i| i.to_string()).unwrap_or_default(),
        location.diameter_mm.map(|d| format!(" · lesion ≈ {d:.0} mm")).unwrap_or_default()
    );
    view! {
        <figure class="keyslice" data-testid="key-slice">
            <div class="keyslice-stage">
                <img src=image alt="Key CT slice with the lesion marked" width="256" height="256" />
                <svg viewBox=view_box class="overlay" aria-hidden="true">{marker}</svg>
            </div>
            <figcaption class="small">{caption} " · " <a href=viewer>"open in viewer"</a></figcaption>
        </figure>
    }
    .into_any()
}

#[component]
fn FollowupFacts(f: FindingView) -> impl IntoView {
    let row = |label: &'static str, value: Option<String>| value.map(|v| view! { <dt>{label}</dt><dd>{v}</dd> });
    view! {
        <dl class="facts" data-testid="followup">
            <dt>"Status"</dt><dd>{f.status.label()}</dd>
            <dt>"Assignee"</dt><dd data-testid="assignee">{f.assignee_name.clone().unwrap_or_else(|| "unassigned".into())}</dd>
            <dt>"Next step due"</dt>
            <dd>{f.due_date.clone().unwrap_or_else(|| "— (closed)".into())}</dd>
            {row("Dismissed as", f.dismiss_reason.map(|r| r.label().to_owned()))}
            {row("Work-up", f.workup_modality.map(|m| m.label().to_owned()))}
            {row("Work-up due", f.workup_due.clone())}
            {row("Responsible", f.workup_responsible.clone())}
            {row("Appointment", f.appointment_date.clone().map(|d| match &f.appointment_site { Some(s) => format!("{d} at {s}"), None => d }))}
            {row("Outcome", f.outcome.map(|o| o.label().to_owned()))}
            {row("Confirmed by", f.confirmed_by.map(|c| c.label().to_owned()))}
            {row("Diagnosis", f.diagnosis.clone())}
            {row("Outcome date", f.outcome_date.clone())}
            <dt>"Unsuccessful contacts"</dt>
            <dd>{format!("{} (lost to follow-up needs {})", f.unsuccessful_contacts, f.contacts_before_lost)}</dd>
        </dl>
    }
}

#[component]
fn History(entries: Vec<HistoryEntry>, testid: &'static str) -> impl IntoView {
    view! {
        <table class="grid dense" data-testid=testid>
            <thead><tr><th>"v"</th><th>"When"</th><th>"Who"</th><th>"Event"</th><th>"Status"</th><th>"Details"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|h| {
                    let change = if h.from_status == h.to_status { h.to_status.label().to_owned() } else {
                        format!("{} → {}", h.from_status.label(), h.to_status.label())
                    };
                    let details = h.details.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(" · ");
                    view! {
                        <tr data-event=h.event.clone()>
                            <td class="num">{h.version}</td>
                            <td class="nowrap">{h.at.clone()}</td>
                            <td>{h.actor_name.clone().unwrap_or(h.actor.clone())} <span class="muted small">{format!("({})", h.role)}</span></td>
                            <td>{h.label.clone()}</td>
                            <td class="nowrap">{change}</td>
                            <td>{h.reason.clone().map(|r| view! { <strong>{r}</strong> " " })}<span class="muted small">{details}</span></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// One form per action open to the user.
#[component]
fn Actions(detail: FindingDetail) -> impl IntoView {
    let f = detail.finding.clone();
    let organ = f.organ;
    detail
        .actions
        .iter()
        .map(|kind| {
            let fields = match kind {
                EventKind::StartReview | EventKind::ReferToMdt => ().into_any(),
                EventKind::Dismiss => view! {
                    <label>"Reason "
                        <select name="reason" required>
                            {detail.dismiss_reasons.iter().map(|r| view! {
                                <option value=r.as_str()>{r.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Note " <input name="note" maxlength="4000" /></label>
                }.into_any(),
                EventKind::OrderWorkup => view! {
                    <label>"Work-up "
                        <select name="modality" required>
                            {WorkupModality::ALL.iter().filter(|m| m.suits(organ)).map(|m| view! {
                                <option value=m.as_str()>{m.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Due " <input type="date" name="due_date" required value=detail.suggested_workup_due.clone() min=detail.today.clone() /></label>
                    <label>"Responsible clinician " <input name="responsible" maxlength="200" /></label>
                }.into_any(),
                EventKind::ScheduleWorkup => view! {
                    <label>"Appointment " <input type="date" name="date" required /></label>
                    <label>"Site " <input name="site" maxlength="200" /></label>
                }.into_any(),
                EventKind::CompleteWorkup => view! {
                    <label>"Summary " <input name="summary" maxlength="4000" /></label>
                }.into_any(),
                EventKind::RecordOutcome => view! {
                    <label>"Outcome "
                        <select name="outcome" required>
                            {Outcome::ALL.iter().map(|o| view! { <option value=o.as_str()>{o.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Confirmed by "
                        <select name="confirmed_by">
                            <option value="">"—"</option>
                            {ConfirmedBy::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Diagnosis " <input name="diagnosis" maxlength="200" /></label>
                    <label>"Date " <input type="date" name="date" required value=detail.today.clone() max=detail.today.clone() /></label>
                }.into_any(),
                EventKind::RecordContactAttempt => view! {
                    <label>"Channel "
                        <select name="channel">
                            {ContactChannel::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Result "
                        <select name="result">
                            {ContactResult::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Note " <input name="note" maxlength="4000" /></label>
                }.into_any(),
                EventKind::MarkDeclined => view! { <label>"Note " <input name="note" maxlength="4000" /></label> }.into_any(),
                EventKind::MarkLost => view! {
                    <span class="muted small">{format!("{} of {} unsuccessful contact attempts recorded", f.unsuccessful_contacts, f.contacts_before_lost)}</span>
                }.into_any(),
                EventKind::Reopen => view! { <label>"Reason " <input name="reason" required maxlength="4000" /></label> }.into_any(),
                EventKind::Assign => view! {
                    <label>"Assign to "
                        <select name="assignee">
                            <option value="">"(unassigned)"</option>
                            {detail.assignees.iter().map(|p| view! {
                                <option value=p.username.clone() selected=f.assignee.as_deref() == Some(p.username.as_str())>{p.name.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any(),
                EventKind::AddNote => view! { <label>"Note " <textarea name="text" required maxlength="4000" rows="2"></textarea></label> }.into_any(),
            };
            view! {
                <form method="post" action=format!("/findings/{}/events", f.id) class="action" data-testid=format!("action-{}", kind.as_str())>
                    <input type="hidden" name="event" value=kind.as_str() />
                    <input type="hidden" name="expected_version" value=f.version />
                    {fields}
                    <button type="submit" class="button primary">{kind.label()}</button>
                </form>
            }
        })
        .collect_view()
}
