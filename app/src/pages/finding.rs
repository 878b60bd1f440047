//! A finding's page: the patient, the AI result with the key slice, the follow-up so far, and
//! exactly the actions the finding's state and the user's roles allow. Every action is a plain
//! form that posts to `/findings/{id}/events` with the version shown, so the page works without
//! JavaScript and a stale form is refused rather than overwriting a colleague's change.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::followup::load_finding;
use crate::domain::followup::EventKind;
use crate::domain::followup::event::{
    ConfirmedBy, ContactChannel, ContactResult, DismissReason, MAX_SURVEILLANCE_MONTHS, Outcome, WorkupModality,
};
use crate::domain::followup::surveillance::SurveillanceDefault;
use crate::domain::language::{Labelled, Language};
use crate::domain::model_class;
use crate::domain::organs::Organ;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::followup::{FindingDetail, FindingView, HistoryEntry};
use crate::model::patients::MismatchView;

#[component]
pub fn FindingPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let detail =
        Resource::new(move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0), load_finding);
    let done = move || {
        query.read().get("done").map(|kind| {
            let label = serde_json_kind(&kind).map_or(kind.clone(), |k| k.label_in(language(i18n)).to_owned());
            view! {
                <p class="notice info" role="status" data-testid="notice">{t!(i18n, finding.recorded, label = move || label.clone())}</p>
            }
        })
    };
    // The server's refusal: a code the page words in the reader's language, or the server's
    // own text (a payload's validation message).
    let error = move || {
        let query = query.read();
        let error = query.get("error")?;
        let value = |key: &str| query.get(key).unwrap_or_default();
        let event = move |name: String| serde_json_kind(&name).map_or(name, |k| k.label_in(language(i18n)).to_owned());
        let status = move |name: String| {
            name.parse::<crate::domain::followup::FindingStatus>()
                .map_or(name, |s| s.label_in(language(i18n)).to_owned())
        };
        Some(match error.as_str() {
            "stale" => {
                let (s, version) = (status(value("status")), value("version"));
                t!(i18n, finding.refusal.stale, status = move || s.clone(), version = move || version.clone())
                    .into_any()
            }
            "not_in_state" => {
                let (e, s) = (event(value("event")), status(value("status")));
                t!(i18n, finding.refusal.not_in_state, event = move || e.clone(), status = move || s.clone()).into_any()
            }
            "role_may_not" => {
                let e = event(value("event"));
                t!(i18n, finding.refusal.role_may_not, event = move || e.clone()).into_any()
            }
            "too_few_contacts" => {
                let (have, need) = (value("have"), value("need"));
                t!(i18n, finding.refusal.too_few_contacts, have = move || have.clone(), need = move || need.clone())
                    .into_any()
            }
            _ => error.into_any(),
        })
    };
    view! {
        <PageTitle text=t_string!(i18n, finding.title).to_string() />
        <p><a href="/worklist">{t!(i18n, finding.back_to_worklist)}</a></p>
        {done}
        {move || error().map(|text| view! { <p class="notice error" role="alert" data-testid="error">{text}</p> })}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, finding.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Finding detail=d /> }.into_any(),
                    Err(e) => view! { <crate::components::errors::ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn serde_json_kind(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == name)
}

/// The role an event was recorded under, as stored (`coordinator`, …, `system`).
fn role_text(i18n: I18nContext<Locale>, role: &str) -> String {
    match role {
        "coordinator" => t_string!(i18n, finding.role.coordinator).to_owned(),
        "surgeon" => t_string!(i18n, finding.role.surgeon).to_owned(),
        "radiologist" => t_string!(i18n, finding.role.radiologist).to_owned(),
        "admin" => t_string!(i18n, finding.role.admin).to_owned(),
        "system" => t_string!(i18n, finding.role.system).to_owned(),
        other => other.to_owned(),
    }
}

/// A patient's sex as DICOM codes it (`M`, `F`, `O`); anything else as stored.
fn sex_text(i18n: I18nContext<Locale>, sex: Option<&str>) -> String {
    match sex {
        Some("M") => t_string!(i18n, finding.sex.male).to_owned(),
        Some("F") => t_string!(i18n, finding.sex.female).to_owned(),
        Some("O") => t_string!(i18n, finding.sex.other).to_owned(),
        Some(other) => other.to_owned(),
        None => "—".to_owned(),
    }
}

/// A history entry's event: the recorded kind's name, the screening that raised the finding, or
/// the stored label for an event this version does not know.
fn event_text(i18n: I18nContext<Locale>, h: &HistoryEntry) -> String {
    match h.kind {
        Some(kind) => kind.label_in(language(i18n)).to_owned(),
        None if h.event == "detected" => t_string!(i18n, finding.history.detected).to_owned(),
        None => h.label.clone(),
    }
}

/// A payload field's name (`due_date`) in the page's language.
fn detail_key(i18n: I18nContext<Locale>, key: &str) -> String {
    let text = match key {
        "reason" => t_string!(i18n, finding.detail.reason),
        "note" => t_string!(i18n, finding.detail.note),
        "modality" => t_string!(i18n, finding.detail.modality),
        "due_date" => t_string!(i18n, finding.detail.due_date),
        "responsible" => t_string!(i18n, finding.detail.responsible),
        "date" => t_string!(i18n, finding.detail.date),
        "site" => t_string!(i18n, finding.detail.site),
        "summary" => t_string!(i18n, finding.detail.summary),
        "outcome" => t_string!(i18n, finding.detail.outcome),
        "confirmed_by" => t_string!(i18n, finding.detail.confirmed_by),
        "diagnosis" => t_string!(i18n, finding.detail.diagnosis),
        "channel" => t_string!(i18n, finding.detail.channel),
        "result" => t_string!(i18n, finding.detail.result),
        "assignee" => t_string!(i18n, finding.detail.assignee),
        "text" => t_string!(i18n, finding.detail.text),
        "mdt_case_id" => t_string!(i18n, finding.detail.mdt_case_id),
        "organ" => t_string!(i18n, finding.detail.organ),
        "class" => t_string!(i18n, finding.detail.class),
        "probability" => t_string!(i18n, finding.detail.probability),
        "threshold" => t_string!(i18n, finding.detail.threshold),
        "model" => t_string!(i18n, finding.detail.model),
        other => return other.replace('_', " "),
    };
    text.to_owned()
}

/// A payload value in the page's language: enumerations and organs are recorded by their
/// machine names; anything else (dates, free text, numbers) is shown as recorded.
fn detail_value(language: Language, key: &str, value: &str) -> String {
    let label = match key {
        "modality" => WorkupModality::parse(value).map(|v| v.label_in(language)),
        "reason" => DismissReason::parse(value).map(|v| v.label_in(language)),
        "outcome" => Outcome::parse(value).map(|v| v.label_in(language)),
        "confirmed_by" => ConfirmedBy::parse(value).map(|v| v.label_in(language)),
        "channel" => ContactChannel::parse(value).map(|v| v.label_in(language)),
        "result" => ContactResult::parse(value).map(|v| v.label_in(language)),
        "organ" => value.parse::<Organ>().ok().map(|o| o.label_in(language)),
        _ => None,
    };
    label.map_or_else(|| value.to_owned(), str::to_owned)
}

/// The reason recorded with an event: a dismissal's is its reason's English label, then the
/// note (`Label: note`); other reasons are what a person wrote.
fn reason_text(language: Language, reason: &str) -> String {
    if language == Language::English {
        return reason.to_owned();
    }
    for r in DismissReason::ALL {
        if reason == r.label() {
            return r.label_in(language).to_owned();
        }
        if let Some(note) = reason.strip_prefix(r.label()).and_then(|rest| rest.strip_prefix(": ")) {
            return format!("{}：{note}", r.label_in(language));
        }
    }
    reason.to_owned()
}

#[component]
fn Finding(detail: FindingDetail) -> impl IntoView {
    let i18n = use_i18n();
    let f = detail.finding.clone();
    let (organ, id, status) = (f.organ, f.id, f.status);
    let title = move || format!("{} · {} #{id}", organ.label_in(language(i18n)), t_string!(i18n, finding.heading_noun));
    let contacts: Vec<HistoryEntry> =
        detail.history.iter().filter(|h| h.kind == Some(EventKind::RecordContactAttempt)).cloned().collect();
    let notes: Vec<HistoryEntry> =
        detail.history.iter().filter(|h| h.kind == Some(EventKind::AddNote)).cloned().collect();
    let heading = view! {
        <PageTitle text=title() />
        <h1>
            {title}
            " " <span class=format!("status status-{}", status.as_str()) data-testid="status">{move || status.label_in(language(i18n))}</span>
            {f.overdue.then(|| view! { " " <span class="badge overdue" data-testid="overdue">{t!(i18n, finding.overdue)}</span> })}
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
                <h2>{t!(i18n, finding.ai.heading)}</h2>
                <AiResult f=f.clone() />
                <KeySlice f=f.clone() />
            </section>
            <section class="card">
                <h2>{t!(i18n, finding.facts.heading)}</h2>
                <FollowupFacts f=f.clone() />
                {f.workup_modality.is_some().then(|| view! {
                    <p><a href=format!("/findings/{}/letter", f.id) class="button subtle" target="_blank" data-testid="letter-link">{t!(i18n, finding.facts.recall_letter)}</a></p>
                })}
            </section>
        </div>
    }
    .into_any();
    let actions = view! {
        <section class="card actions" data-testid="actions">
            <h2>{t!(i18n, finding.actions.heading)}</h2>
            {if detail.actions.is_empty() {
                view! { <p class="muted">{t!(i18n, finding.actions.none)}</p> }.into_any()
            } else {
                view! { <Actions detail=detail.clone() /> }.into_any()
            }}
        </section>
    }
    .into_any();
    // Referral to another site of the network: where the work-up happens, and the refer form.
    let referrals = view! {
        <crate::pages::referrals::card::FindingReferralsCard referrals=detail.referrals.clone() finding_id=id organ />
    }
    .into_any();
    let log = view! {
        <section>
            <h2>{t!(i18n, finding.log.contact_attempts)}</h2>
            {if contacts.is_empty() {
                view! { <p class="muted" data-testid="no-contacts">{t!(i18n, finding.log.none_recorded)}</p> }.into_any()
            } else {
                view! { <History entries=contacts testid="contacts" /> }.into_any()
            }}
            <h2>{t!(i18n, finding.log.notes)}</h2>
            {if notes.is_empty() {
                view! { <p class="muted">{t!(i18n, finding.log.no_notes)}</p> }.into_any()
            } else {
                view! {
                    <ul class="notes" data-testid="notes">
                        {notes.into_iter().map(|n| {
                            let text = n.details.iter().find(|(k, _)| k == "text").map(|(_, v)| v.clone()).unwrap_or_default();
                            let byline = format!("{} · {}", n.at, n.actor_name.unwrap_or(n.actor));
                            let role = n.role;
                            view! { <li><p>{text}</p><span class="muted small">{byline} " " {t!(i18n, finding.history.role, role = move || role_text(i18n, &role))}</span></li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any();
    let history = view! {
        <section>
            <h2>{t!(i18n, finding.history.heading)}</h2>
            <History entries=detail.history.clone() testid="history" />
        </section>
    }
    .into_any();
    let related = view! {
        <section>
            <h2>{t!(i18n, finding.related.heading)}</h2>
            {if detail.related.is_empty() {
                view! { <p class="muted" data-testid="no-related">{t!(i18n, finding.related.none)}</p> }.into_any()
            } else {
                view! {
                    <table class="grid dense" data-testid="related">
                        <thead><tr>
                            <th>{t!(i18n, finding.related.finding)}</th>
                            <th>{t!(i18n, finding.related.study_date)}</th>
                            <th>{t!(i18n, finding.related.cancer)}</th>
                            <th>{t!(i18n, finding.related.probability)}</th>
                            <th>{t!(i18n, finding.related.status)}</th>
                        </tr></thead>
                        <tbody>
                            {detail.related.iter().map(|r| {
                                let (organ, status) = (r.organ, r.status);
                                view! {
                                    <tr>
                                        <td><a href=format!("/findings/{}", r.id)>{format!("#{}", r.id)}</a></td>
                                        <td>{r.study_date.clone().unwrap_or_default()}</td>
                                        <td>{move || organ.label_in(language(i18n))}</td>
                                        <td class="num">{format!("{:.0}%", r.probability * 100.0)}</td>
                                        <td>{move || status.label_in(language(i18n))}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <ul class="studies" data-testid="patient-studies">
                {detail.studies.iter().map(|s| view! {
                    <li>
                        <a href=format!("/studies/{}", s.study_uid)>{match s.study_date.clone() {
                            Some(date) => date.into_any(),
                            None => t!(i18n, finding.no_date).into_any(),
                        }}</a>
                        " " {s.description.clone().unwrap_or_default()}
                        {(s.study_uid == f.study_uid).then(|| view! { " " <span class="tag">{t!(i18n, finding.related.this_finding)}</span> })}
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any();
    view! { {heading} {patient} {summary} {actions} {referrals} {log} {history} {related} }
}

#[component]
fn PatientHeader(f: FindingView) -> impl IntoView {
    let i18n = use_i18n();
    let age = f.age.map(|a| a.to_string()).unwrap_or_else(|| "—".into());
    let sex = f.sex.clone();
    view! {
        <dl class="facts patient" data-testid="patient">
            <dt>{t!(i18n, finding.patient.patient)}</dt>
            <dd>{match f.patient_name.clone() {
                Some(name) => name.into_any(),
                None => t!(i18n, finding.patient.no_name).into_any(),
            }}</dd>
            <dt>{t!(i18n, finding.patient.patient_id)}</dt><dd><code>{f.patient_id.clone()}</code></dd>
            <dt>{t!(i18n, finding.patient.age_sex)}</dt>
            <dd>{move || format!("{age} / {}", sex_text(i18n, sex.as_deref()))}
                {f.birth_date.clone().map(|b| t!(i18n, finding.patient.born, date = move || b.clone()))}</dd>
            <dt>{t!(i18n, finding.patient.site)}</dt><dd>{f.site_name.clone().or(f.site.clone()).unwrap_or_else(|| "—".into())}</dd>
            <dt>{t!(i18n, finding.patient.study)}</dt>
            <dd><a href=format!("/studies/{}", f.study_uid)>{match f.study_date.clone() {
                Some(date) => date.into_any(),
                None => t!(i18n, finding.no_date).into_any(),
            }}</a></dd>
            // The patient's letters are printed in the language chosen here, not the reader's.
            <dt>{t!(i18n, finding.patient.letters)}</dt>
            <dd data-testid="letter-language">
                {match f.patient_letter_language {
                    Some(chosen) => chosen.native_name().into_any(),
                    None => t!(i18n, finding.patient.letters_not_chosen).into_any(),
                }}
                <form method="post" action=format!("/findings/{}/letter-language", f.id) class="inline-form">
                    {Language::ALL.into_iter().filter(|l| Some(*l) != f.patient_letter_language).map(|l| view! {
                        <button type="submit" name="language" value=l.as_str() class="button subtle" lang=l.as_str()>
                            {l.native_name()}
                        </button>
                    }).collect_view()}
                </form>
            </dd>
        </dl>
    }
}

/// The patient's unresolved demographics mismatches, before anyone contacts the patient: the
/// decision itself is taken on the study page.
#[component]
fn OpenMismatches(items: Vec<MismatchView>, study_uid: String) -> impl IntoView {
    let i18n = use_i18n();
    (!items.is_empty()).then(|| {
        let count = items.len();
        view! {
            <section class="notice warning" role="alert" data-testid="finding-mismatches">
                <strong>{t!(i18n, finding.mismatch.count, count = move || count)} " "</strong>
                {t!(i18n, finding.mismatch.check)}
                {items.iter().map(|m| {
                    let field = m.field;
                    let (stored, received) = (m.stored_value.clone(), m.received_value.clone());
                    t!(i18n, finding.mismatch.item,
                        field = move || field.label_in(language(i18n)),
                        stored = move || stored.clone(),
                        received = move || received.clone())
                }).collect_view()}
                <a href=format!("/studies/{study_uid}")>{t!(i18n, finding.mismatch.resolve)}</a>
            </section>
        }
    })
}

#[component]
fn AiResult(f: FindingView) -> impl IntoView {
    let i18n = use_i18n();
    let threshold = f.threshold;
    let (model_name, model_version, detected_at) =
        (f.model_name.clone(), f.model_version.clone(), f.detected_at.clone());
    let organ = f.organ;
    view! {
        <p>
            <strong>{move || organ.label_in(language(i18n))}</strong> " — " {let code = f.class_label.clone(); move || model_class::shown(&code, language(i18n))} " "
            <strong data-testid="probability">{format!("{:.1}%", f.probability * 100.0)}</strong>
            <span class="muted">{t!(i18n, finding.ai.threshold_note, value = move || format!("{:.1}%", threshold * 100.0))}</span>
        </p>
        <table class="bars" data-testid="class-probabilities">
            <tbody>
                {f.class_probabilities.iter().map(|(class, p)| {
                    let width = format!("width: {:.1}%", p * 100.0);
                    let marker = format!("left: {:.1}%", threshold * 100.0);
                    let above = *p >= threshold;
                    view! {
                        <tr class:above=above>
                            <th scope="row">
                                {let code = class.clone(); move || model_class::shown(&code, language(i18n))}
                                {above.then(|| view! {
                                    " " <span class="tag above-threshold" data-testid="above-threshold"><span aria-hidden="true">"▲ "</span>{t!(i18n, finding.ai.above_threshold)}</span>
                                })}
                            </th>
                            <td class="bar-cell">
                                <span class="bar"><span class="fill" style=width></span><span class="threshold" style=marker title=move || t_string!(i18n, finding.ai.threshold)></span></span>
                            </td>
                            <td class="num">{format!("{:.1}%", p * 100.0)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p class="muted small" data-testid="model">{t!(i18n, finding.ai.model,
            name = move || model_name.clone(),
            version = move || model_version.clone(),
            at = move || detected_at.clone())}</p>
    }
}

/// "3 (Fleischner 2017: solid nodule 6–8 mm).", "3（Fleischner 2017：实性结节 6–8 mm）。".
fn default_months(default: SurveillanceDefault, language: Language) -> String {
    let (months, citation) = (default.months, default.source.citation_in(language));
    match language {
        Language::English => format!("{months} ({citation})."),
        Language::SimplifiedChinese => format!("{months}（{citation}）。"),
    }
}

#[component]
fn KeySlice(f: FindingView) -> impl IntoView {
    let i18n = use_i18n();
    let (Some(location), Some(series)) = (f.location.clone(), f.series_uid.clone()) else {
        return view! { <p class="muted">{t!(i18n, finding.ai.no_location)}</p> }.into_any();
    };
    let Some(sop) = location.sop_instance_uid.clone() else {
        return view! { <p class="muted">{t!(i18n, finding.ai.no_key_slice)}</p> }.into_any();
    };
    let image = format!("/dicomweb/studies/{}/series/{}/instances/{}/rendered?window=40,400", f.study_uid, series, sop);
    let viewer = format!("/studies/{}/series/{}?slice={}", f.study_uid, series, location.slice_index.unwrap_or(0));
    // OHIF opens the series at the key slice (its `initialSOPInstanceUID`).
    let ohif = format!(
        "/ohif/viewer?StudyInstanceUIDs={}&initialSeriesInstanceUID={}&initialSOPInstanceUID={}",
        f.study_uid, series, sop
    );
    let marker = location.pixel.zip(location.radius_px).map(|([x, y], r)| {
        view! { <circle cx=x cy=y r=r.max(4.0) class="lesion-marker" /> }
    });
    let [columns, rows] = location.image_size.unwrap_or([512.0, 512.0]);
    let view_box = format!("0 0 {columns} {rows}");
    let index = location.slice_index.map(|i| i.to_string()).unwrap_or_default();
    let caption = view! {
        {t!(i18n, finding.ai.key_slice, index = move || index.clone())}
        {location.diameter_mm.map(|d| t!(i18n, finding.ai.lesion_size, size = move || format!("{d:.0}")))}
    };
    view! {
        <figure class="keyslice" data-testid="key-slice">
            <div class="keyslice-stage">
                <img src=image alt=move || t_string!(i18n, finding.ai.key_slice_alt) width="256" height="256" />
                <svg viewBox=view_box class="overlay" aria-hidden="true">{marker}</svg>
            </div>
            <figcaption class="small">
                {caption} " · " <a href=viewer>{t!(i18n, finding.ai.open_in_viewer)}</a>
                " · " <a href=ohif data-testid="open-ohif" rel="nofollow">{t!(i18n, finding.ai.open_ohif)}</a>
            </figcaption>
        </figure>
    }
    .into_any()
}

/// One fact of the follow-up, shown only when it is known.
fn fact(label: impl IntoView + 'static, value: Option<impl IntoView + 'static>) -> impl IntoView {
    value.map(|v| view! { <dt>{label}</dt><dd>{v}</dd> })
}

#[component]
fn FollowupFacts(f: FindingView) -> impl IntoView {
    let i18n = use_i18n();
    let status = f.status;
    let appointment = f.appointment_date.clone().map(|date| match f.appointment_site.clone() {
        Some(site) => {
            t!(i18n, finding.facts.appointment_at, date = move || date.clone(), site = move || site.clone()).into_any()
        }
        None => date.into_any(),
    });
    let (unsuccessful, needed) = (f.unsuccessful_contacts, f.contacts_before_lost);
    view! {
        <dl class="facts" data-testid="followup">
            <dt>{t!(i18n, finding.facts.status)}</dt><dd>{move || status.label_in(language(i18n))}</dd>
            <dt>{t!(i18n, finding.facts.assignee)}</dt>
            <dd data-testid="assignee">{match f.assignee_name.clone() {
                Some(name) => name.into_any(),
                None => t!(i18n, finding.facts.unassigned).into_any(),
            }}</dd>
            <dt>{t!(i18n, finding.facts.next_due)}</dt>
            <dd>{match f.due_date.clone() {
                Some(due) => due.into_any(),
                None => t!(i18n, finding.facts.closed).into_any(),
            }}</dd>
            {fact(t!(i18n, finding.facts.dismissed_as), f.dismiss_reason.map(|r| move || r.label_in(language(i18n))))}
            {fact(t!(i18n, finding.facts.workup), f.workup_modality.map(|m| move || m.label_in(language(i18n))))}
            {fact(t!(i18n, finding.facts.workup_due), f.workup_due.clone())}
            {fact(t!(i18n, finding.facts.responsible), f.workup_responsible.clone())}
            {fact(t!(i18n, finding.facts.appointment), appointment)}
            {fact(t!(i18n, finding.facts.outcome), f.outcome.map(|o| move || o.label_in(language(i18n))))}
            {fact(t!(i18n, finding.facts.confirmed_by), f.confirmed_by.map(|c| move || c.label_in(language(i18n))))}
            {fact(t!(i18n, finding.facts.diagnosis), f.diagnosis.clone())}
            {fact(t!(i18n, finding.facts.outcome_date), f.outcome_date.clone())}
            {fact(t!(i18n, finding.facts.surveillance_due), f.surveillance_due.clone().map(|due| format!("{due} · {} {}", f.surveillance_months.unwrap_or_default(), t_string!(i18n, finding.facts.months))))}
            <dt>{t!(i18n, finding.facts.unsuccessful_contacts)}</dt>
            <dd>{t!(i18n, finding.facts.contacts_count, count = move || unsuccessful, needed = move || needed)}</dd>
        </dl>
    }
}

#[component]
fn History(entries: Vec<HistoryEntry>, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid dense" data-testid=testid>
            <thead><tr>
                <th>{t!(i18n, finding.history.version)}</th>
                <th>{t!(i18n, finding.history.when)}</th>
                <th>{t!(i18n, finding.history.who)}</th>
                <th>{t!(i18n, finding.history.event)}</th>
                <th>{t!(i18n, finding.history.status)}</th>
                <th>{t!(i18n, finding.history.details)}</th>
            </tr></thead>
            <tbody>
                {entries.into_iter().map(|h| {
                    let (from, to) = (h.from_status, h.to_status);
                    let change = move || {
                        let language = language(i18n);
                        if from == to { to.label_in(language).to_owned() } else {
                            format!("{} → {}", from.label_in(language), to.label_in(language))
                        }
                    };
                    let details = h.details.clone();
                    let details = move || {
                        let language = language(i18n);
                        let separator = t_string!(i18n, finding.history.detail_separator);
                        details
                            .iter()
                            .map(|(k, v)| format!("{}{separator}{}", detail_key(i18n, k), detail_value(language, k, v)))
                            .collect::<Vec<_>>()
                            .join(" · ")
                    };
                    let role = h.role.clone();
                    let event = {
                        let h = h.clone();
                        move || event_text(i18n, &h)
                    };
                    let reason = h.reason.clone().map(|r| view! { <strong>{move || reason_text(language(i18n), &r)}</strong> " " });
                    view! {
                        <tr data-event=h.event.clone()>
                            <td class="num">{h.version}</td>
                            <td class="nowrap">{h.at.clone()}</td>
                            <td>{h.actor_name.clone().unwrap_or(h.actor.clone())} <span class="muted small">{t!(i18n, finding.history.role, role = move || role_text(i18n, &role))}</span></td>
                            <td>{event}</td>
                            <td class="nowrap">{change}</td>
                            <td>{reason}<span class="muted small">{details}</span></td>
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
    let i18n = use_i18n();
    let f = detail.finding.clone();
    let organ = f.organ;
    let note =
        move || view! { <label>{t!(i18n, finding.actions.note)} " " <input name="note" maxlength="4000" /></label> };
    detail
        .actions
        .iter()
        .map(|&kind| {
            let fields = match kind {
                EventKind::StartReview | EventKind::ReferToMdt => ().into_any(),
                EventKind::Dismiss => view! {
                    <label>{t!(i18n, finding.actions.reason)} " "
                        <select name="reason" required>
                            {detail.dismiss_reasons.iter().map(|&r| view! {
                                <option value=r.as_str()>{move || r.label_in(language(i18n))}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {note()}
                }.into_any(),
                EventKind::OrderWorkup => view! {
                    <label>{t!(i18n, finding.actions.workup)} " "
                        <select name="modality" required>
                            {WorkupModality::ALL.iter().copied().filter(|m| m.suits(organ)).map(|m| view! {
                                <option value=m.as_str()>{move || m.label_in(language(i18n))}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>{t!(i18n, finding.actions.due)} " " <input type="date" name="due_date" required value=detail.suggested_workup_due.clone() min=detail.today.clone() /></label>
                    <label>{t!(i18n, finding.actions.responsible_clinician)} " " <input name="responsible" maxlength="200" /></label>
                }.into_any(),
                EventKind::ScheduleWorkup => view! {
                    <label>{t!(i18n, finding.actions.appointment)} " " <input type="date" name="date" required /></label>
                    <label>{t!(i18n, finding.actions.site)} " " <input name="site" maxlength="200" /></label>
                }.into_any(),
                EventKind::CompleteWorkup => view! {
                    <label>{t!(i18n, finding.actions.summary)} " " <input name="summary" maxlength="4000" /></label>
                }.into_any(),
                EventKind::RecordOutcome => view! {
                    <label>{t!(i18n, finding.actions.outcome)} " "
                        <select name="outcome" required>
                            {Outcome::ALL.iter().copied().map(|o| view! { <option value=o.as_str()>{move || o.label_in(language(i18n))}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>{t!(i18n, finding.actions.confirmed_by)} " "
                        <select name="confirmed_by">
                            <option value="">"—"</option>
                            {ConfirmedBy::ALL.iter().copied().map(|c| view! { <option value=c.as_str()>{move || c.label_in(language(i18n))}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>{t!(i18n, finding.actions.diagnosis)} " " <input name="diagnosis" maxlength="200" /></label>
                    <label>{t!(i18n, finding.actions.date)} " " <input type="date" name="date" required value=detail.today.clone() max=detail.today.clone() /></label>
                }.into_any(),
                EventKind::RecordContactAttempt => view! {
                    <label>{t!(i18n, finding.actions.channel)} " "
                        <select name="channel">
                            {ContactChannel::ALL.iter().copied().map(|c| view! { <option value=c.as_str()>{move || c.label_in(language(i18n))}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>{t!(i18n, finding.actions.result)} " "
                        <select name="result">
                            {ContactResult::ALL.iter().copied().map(|r| view! { <option value=r.as_str()>{move || r.label_in(language(i18n))}</option> }).collect_view()}
                        </select>
                    </label>
                    {note()}
                }.into_any(),
                EventKind::MarkDeclined => note().into_any(),
                EventKind::MarkLost => {
                    let (count, needed) = (f.unsuccessful_contacts, f.contacts_before_lost);
                    view! {
                        <span class="muted small">{t!(i18n, finding.actions.lost_progress, count = move || count, needed = move || needed)}</span>
                    }.into_any()
                }
                EventKind::Reopen => view! { <label>{t!(i18n, finding.actions.reason)} " " <input name="reason" required maxlength="4000" /></label> }.into_any(),
                EventKind::Assign => view! {
                    <label>{t!(i18n, finding.actions.assign_to)} " "
                        <select name="assignee">
                            <option value="">{t!(i18n, finding.actions.unassigned)}</option>
                            {detail.assignees.iter().map(|p| view! {
                                <option value=p.username.clone() selected=f.assignee.as_deref() == Some(p.username.as_str())>{p.name.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any(),
                EventKind::AddNote => view! { <label>{t!(i18n, finding.actions.note)} " " <textarea name="text" required maxlength="4000" rows="2"></textarea></label> }.into_any(),
                EventKind::SetSurveillance => {
                    let default = detail.surveillance_default;
                    let months = f.surveillance_months.map_or(default.months.to_string(), |m| m.to_string());
                    view! {
                        <label>{t!(i18n, finding.actions.months)} " "
                            <input type="number" name="months" min="1" max=MAX_SURVEILLANCE_MONTHS.to_string() value=months />
                        </label>
                        <span class="muted small" data-testid="surveillance-default">
                            {t!(i18n, finding.actions.months_default)}" "{move || default_months(default, language(i18n))}" "
                            {t!(i18n, finding.actions.months_hint)}
                        </span>
                        {note()}
                    }.into_any()
                }
            };
            view! {
                <form method="post" action=format!("/findings/{}/events", f.id) class="action" data-testid=format!("action-{}", kind.as_str())>
                    <input type="hidden" name="event" value=kind.as_str() />
                    <input type="hidden" name="expected_version" value=f.version />
                    {fields}
                    <button type="submit" class="button primary">{move || kind.label_in(language(i18n))}</button>
                </form>
            }
        })
        .collect_view()
}
