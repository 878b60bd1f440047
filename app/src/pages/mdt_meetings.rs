//! Tumour-board meetings: the list, one meeting's agenda, and the presentation mode that walks
//! through its cases on a projector. Scheduling and the agenda are plain forms posting to
//! `/mdt/meetings` and `/mdt/meetings/{id}/agenda`, so the pages work without JavaScript; the
//! presentation steps with links, and with the arrow and Page keys once hydrated.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::api::mdt::{load_case, load_meeting, load_meetings};
use crate::components::board::{CaseStatusBadge, PatientCell, decision_text, patient_name, proposal_text};
use crate::components::errors::ErrorNotice;
use crate::components::shell::CurrentUser;
use crate::domain::language::Labelled;
use crate::domain::mdt::board::AGENDA_ROLES;
use crate::domain::staging::Cancer;
use crate::format;
use crate::i18n::{language, t, t_string, use_i18n};
use crate::model::AppError;
use crate::model::SessionUser;
use crate::model::mdt::{CaseDetail, CaseListItem, Meeting, MeetingDetail, MeetingList};

/// How many attendee fields the scheduling form offers.
const ATTENDEE_FIELDS: usize = 6;

// ---- Shared with the agreement page and the surgeon's home ----

/// A meeting's start as pages show it (`2026-12-04 09:05 UTC`); anything unparseable as sent.
pub(crate) fn when(starts_at: &str) -> String {
    format::parse_rfc3339(starts_at).map_or_else(|| starts_at.to_owned(), format::minute)
}

/// Upcoming meetings soonest first, past ones newest first.
fn sort_meetings(items: &mut [Meeting], newest_first: bool) {
    let key = |m: &Meeting| format::parse_rfc3339(&m.starts_at);
    items.sort_by(|a, b| if newest_first { key(b).cmp(&key(a)) } else { key(a).cmp(&key(b)) });
}

/// The outcome of a form post, from the redirect's query: `done=created|agenda` or `error=`
/// (a code the page words, or the server's own text).
#[component]
fn FormNotices() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let done = move || {
        let text = match query.read().get("done")?.as_str() {
            "created" => t!(i18n, board.notice.created).into_any(),
            "agenda" => t!(i18n, board.notice.agenda).into_any(),
            _ => return None,
        };
        Some(view! { <p class="notice info" role="status" data-testid="notice">{text}</p> })
    };
    let error = move || {
        let error = query.read().get("error")?;
        let text = match error.as_str() {
            "stale" => t!(i18n, board.refusal.stale).into_any(),
            "role_may_not" => t!(i18n, board.refusal.role_may_not).into_any(),
            _ => error.into_any(),
        };
        Some(view! { <p class="notice error" role="alert" data-testid="error">{text}</p> })
    };
    view! { {done} {error} }
}

// ---- The list of meetings ----

#[component]
pub fn MeetingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let lists = Resource::new(
        || (),
        |_| async {
            let upcoming = load_meetings(Some("upcoming".into())).await?;
            let past = load_meetings(Some("past".into())).await?;
            Ok::<(MeetingList, MeetingList), AppError>((upcoming, past))
        },
    );
    view! {
        <PageTitle text=t_string!(i18n, board.meetings_title).to_string() />
        <p><a href="/mdt">{t!(i18n, board.board_cases)}</a></p>
        <h1>{t!(i18n, board.meetings_title)}</h1>
        <FormNotices />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, board.loading)}</p> }>
            {move || Suspend::new(async move {
                match lists.await {
                    Ok((mut upcoming, mut past)) => {
                        sort_meetings(&mut upcoming.items, false);
                        sort_meetings(&mut past.items, true);
                        view! {
                            <section class="board-meetings" aria-labelledby="upcoming-heading">
                                <h2 id="upcoming-heading">{t!(i18n, board.upcoming)}</h2>
                                <MeetingTable items=upcoming.items testid="upcoming-meetings" />
                            </section>
                            <section class="board-meetings" aria-labelledby="past-heading">
                                <h2 id="past-heading">{t!(i18n, board.past)}</h2>
                                <MeetingTable items=past.items testid="past-meetings" />
                            </section>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <ScheduleSection />
    }
}

#[component]
fn MeetingTable(items: Vec<Meeting>, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        let empty = if testid == "upcoming-meetings" {
            t!(i18n, board.no_upcoming).into_any()
        } else {
            t!(i18n, board.no_past).into_any()
        };
        return view! { <p class="muted" data-testid=testid>{empty}</p> }.into_any();
    }
    view! {
        <table class="grid dense" data-testid=testid>
            <thead><tr>
                <th scope="col">{t!(i18n, board.column.meeting)}</th>
                <th scope="col">{t!(i18n, board.column.starts_at)}</th>
                <th scope="col">{t!(i18n, board.column.site)}</th>
                <th scope="col">{t!(i18n, board.column.chair)}</th>
                <th scope="col">{t!(i18n, board.column.attendees)}</th>
                <th scope="col">{t!(i18n, board.column.cases)}</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|m| view! {
                    <tr data-testid="meeting-row" data-meeting=m.id>
                        <th scope="row"><a href=format!("/mdt/meetings/{}", m.id)>{m.title.clone()}</a></th>
                        <td class="nowrap">{when(&m.starts_at)}</td>
                        <td>{m.site.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{m.chair.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{if m.attendees.is_empty() { "—".to_owned() } else { m.attendees.join(", ") }}</td>
                        <td class="num">{m.case_count}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The scheduling form, for those who prepare meetings (coordinators and surgeons).
#[component]
fn ScheduleSection() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                user.await.ok().flatten().filter(|u| u.has_any_role(AGENDA_ROLES)).map(|user| view! { <ScheduleForm user /> })
            })}
        </Suspense>
    }
}

#[component]
fn ScheduleForm(user: SessionUser) -> impl IntoView {
    let i18n = use_i18n();
    let only_site = user.sites.len() == 1;
    let sites = user
        .sites
        .into_iter()
        .map(
            |s| view! { <option value=s.code.clone() selected=only_site>{format!("{} ({})", s.name, s.code)}</option> },
        )
        .collect_view();
    let attendees = (1..=ATTENDEE_FIELDS)
        .map(|n| {
            let id = format!("schedule-attendee-{n}");
            view! {
                <label for=id.clone() class="visually-hidden">{t!(i18n, board.schedule.attendee, n = move || n)}</label>
                <input id=id type="text" name="attendees" autocomplete="off" size="12" />
            }
        })
        .collect_view();
    view! {
        <section class="card board-schedule" aria-labelledby="schedule-heading">
            <h2 id="schedule-heading">{t!(i18n, board.schedule.heading)}</h2>
            <form method="post" action="/mdt/meetings" class="board-form" data-testid="schedule-form">
                <label>{t!(i18n, board.schedule.title)}
                    <input type="text" name="title" required maxlength="200" /></label>
                <label>{t!(i18n, board.schedule.starts_at)}
                    <input type="datetime-local" name="starts_at" required /></label>
                <label>{t!(i18n, board.schedule.site)}
                    <select name="site" required>
                        {(!only_site).then(|| view! { <option value="">{t!(i18n, board.schedule.choose_site)}</option> })}
                        {sites}
                    </select></label>
                <div class="board-field">
                    <label for="schedule-chair">{t!(i18n, board.schedule.chair)}</label>
                    <input id="schedule-chair" type="text" name="chair" autocomplete="off" aria-describedby="chair-hint" />
                    <span id="chair-hint" class="muted small">{t!(i18n, board.schedule.chair_hint)}</span>
                </div>
                <fieldset class="board-attendees">
                    <legend>{t!(i18n, board.schedule.attendees)}</legend>
                    {attendees}
                </fieldset>
                <p><button type="submit" class="button primary">{t!(i18n, board.schedule.submit)}</button></p>
            </form>
        </section>
    }
}

// ---- One meeting and its agenda ----

fn meeting_id() -> Memo<i64> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0))
}

#[component]
pub fn MeetingPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = meeting_id();
    let detail = Resource::new(move || id.get(), load_meeting);
    view! {
        <PageTitle text=t_string!(i18n, board.meeting_title).to_string() />
        <p><a href="/mdt/meetings">{t!(i18n, board.all_meetings)}</a></p>
        <FormNotices />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, board.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <MeetingView detail /> }.into_any(),
                    Err(e) => view! { <h1>{t!(i18n, board.meeting_title)}</h1> <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MeetingView(detail: MeetingDetail) -> impl IntoView {
    let i18n = use_i18n();
    let m = detail.meeting;
    let attendees = if m.attendees.is_empty() { "—".to_owned() } else { m.attendees.join(", ") };
    let title = m.title.clone();
    view! {
        <PageTitle text=title.clone() />
        <h1 data-testid="meeting-title">{title}</h1>
        <dl class="facts board-meeting-facts" data-testid="meeting">
            <dt>{t!(i18n, board.meeting.starts_at)}</dt><dd data-testid="meeting-time">{when(&m.starts_at)}</dd>
            <dt>{t!(i18n, board.meeting.site)}</dt><dd>{m.site.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>{t!(i18n, board.meeting.chair)}</dt><dd>{m.chair.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>{t!(i18n, board.meeting.attendees)}</dt><dd>{attendees}</dd>
        </dl>
        <p><a class="button primary" href=format!("/mdt/meetings/{}/present", m.id) data-testid="present-link">
            {t!(i18n, board.meeting.present)}</a></p>
        <section aria-labelledby="agenda-heading">
            <h2 id="agenda-heading">{t!(i18n, board.meeting.agenda)}</h2>
            <AgendaTable cases=detail.cases />
        </section>
        {detail.may_edit_agenda.then(|| view! { <AgendaForm meeting=m.id /> })}
    }
}

#[component]
fn AgendaTable(cases: Vec<CaseListItem>) -> impl IntoView {
    let i18n = use_i18n();
    if cases.is_empty() {
        return view! { <p class="muted" data-testid="empty-agenda">{t!(i18n, board.meeting.empty_agenda)}</p> }
            .into_any();
    }
    view! {
        <table class="grid dense board-agenda" data-testid="agenda">
            <thead><tr>
                <th scope="col">{t!(i18n, board.column.position)}</th>
                <th scope="col">{t!(i18n, board.column.patient)}</th>
                <th scope="col">{t!(i18n, board.column.cancer)}</th>
                <th scope="col">{t!(i18n, board.column.status)}</th>
                <th scope="col">{t!(i18n, board.column.proposal)}</th>
                <th scope="col">{t!(i18n, board.column.decision)}</th>
                <th scope="col">{t!(i18n, board.column.signed_by)}</th>
            </tr></thead>
            <tbody>
                {cases.into_iter().enumerate().map(|(i, c)| view! { <AgendaRow position=i + 1 c /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AgendaRow(position: usize, c: CaseListItem) -> impl IntoView {
    let i18n = use_i18n();
    let cancer = c.cancer;
    let href = format!("/mdt/cases/{}", c.id);
    let signers = c.decision.as_ref().map(|d| d.signed_by.join(", ")).filter(|s| !s.is_empty());
    view! {
        <tr data-testid="agenda-case" data-case=c.id>
            <td class="num">{position}</td>
            <th scope="row"><PatientCell patient=c.patient.clone() href=href /></th>
            <td>{move || cancer.label_in(language(i18n))}</td>
            <td><CaseStatusBadge status=c.status /></td>
            <td class="nowrap">{c.proposal.as_ref().map_or_else(|| "—".to_owned(), proposal_text)}</td>
            <td class="nowrap">{c.decision.as_ref().map_or_else(|| "—".to_owned(), decision_text)}</td>
            <td>{signers.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

#[component]
fn AgendaForm(meeting: i64) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card board-agenda-add" aria-labelledby="agenda-add-heading">
            <h2 id="agenda-add-heading">{t!(i18n, board.meeting.add_heading)}</h2>
            <form method="post" action=format!("/mdt/meetings/{meeting}/agenda") class="board-form" data-testid="agenda-form">
                <label>{t!(i18n, board.meeting.case_id)}
                    <input type="number" name="case_id" min="1" step="1" required inputmode="numeric" aria-describedby="case-id-hint" /></label>
                <button type="submit" class="button primary">{t!(i18n, board.meeting.add)}</button>
            </form>
            <p id="case-id-hint" class="muted small">{t!(i18n, board.meeting.case_hint, <cases> = <a href="/mdt" />)}</p>
        </section>
    }
}

// ---- Presentation mode ----

/// What one screen of the presentation shows: the meeting, the position on its agenda, that
/// case in full, and the key image's address when the case's slice can be found.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Screen {
    meeting: MeetingDetail,
    index: usize,
    case: Option<CaseDetail>,
    image: Option<KeyImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyImage {
    src: String,
    /// The slice's index in the series, as the viewer's `?slice=` takes it.
    slice: i64,
    viewer: String,
}

/// The case's lesion slice: the screening finding's, or else the primary tumour's measurement.
fn lesion_slice(case: &CaseDetail) -> Option<i64> {
    case.finding.as_ref().and_then(|f| f.slice_index).or_else(|| {
        case.measurements
            .iter()
            .filter(|m| m.kind == "primary" && !m.superseded)
            .find_map(|m| m.slice_index.map(i64::from))
    })
}

/// The lesion slice rendered by the DICOMweb endpoint the viewer uses, in a lung window for
/// lung cancer and a soft-tissue window otherwise.
async fn key_image(case: &CaseDetail) -> Option<KeyImage> {
    let slice = lesion_slice(case)?;
    let (study, series) = (case.study_uid.clone()?, case.series_uid.clone()?);
    let stack = crate::api::studies::series_slices(study.clone(), series.clone()).await.ok()?;
    let sop = &stack.slices.get(usize::try_from(slice).ok()?)?.sop_instance_uid;
    let window = if case.cancer == Cancer::Lung { "-600,1500" } else { "40,400" };
    Some(KeyImage {
        src: format!("/dicomweb/studies/{study}/series/{series}/instances/{sop}/rendered?window={window}"),
        slice,
        viewer: format!("/studies/{study}/series/{series}?slice={slice}"),
    })
}

async fn load_screen(id: i64, index: usize) -> Result<Screen, AppError> {
    let meeting = load_meeting(id).await?;
    let index = index.min(meeting.cases.len().saturating_sub(1));
    let case = match meeting.cases.get(index) {
        Some(item) => Some(load_case(item.id).await?),
        None => None,
    };
    let image = match &case {
        Some(case) => key_image(case).await,
        None => None,
    };
    Ok(Screen { meeting, index, case, image })
}

#[component]
pub fn PresentPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = meeting_id();
    let query = use_query_map();
    let index = Memo::new(move |_| query.read().get("i").and_then(|i| i.parse::<usize>().ok()).unwrap_or(0));
    let screen = Resource::new(move || (id.get(), index.get()), |(id, index)| load_screen(id, index));
    view! {
        <PageTitle text=t_string!(i18n, board.present_title).to_string() />
        <main id="main" class="board-present">
            <Transition fallback=move || view! { <h1>{t!(i18n, board.present_title)}</h1> <p>{t!(i18n, board.loading)}</p> }>
                {move || Suspend::new(async move {
                    match screen.await {
                        Ok(screen) => view! { <PresentScreen screen /> }.into_any(),
                        Err(e) => view! {
                            <h1>{t!(i18n, board.present_title)}</h1>
                            <ErrorNotice error=e />
                            <p><a href="/mdt/meetings">{t!(i18n, board.all_meetings)}</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn PresentScreen(screen: Screen) -> impl IntoView {
    let i18n = use_i18n();
    let meeting = &screen.meeting.meeting;
    let base = format!("/mdt/meetings/{}", meeting.id);
    let count = screen.meeting.cases.len();
    let heading = format!("{} · {}", meeting.title, when(&meeting.starts_at));
    let Some(case) = screen.case else {
        return view! {
            <h1>{heading}</h1>
            <p class="board-present-empty">{t!(i18n, board.present.empty)}</p>
            <nav class="board-present-nav" aria-label=move || t_string!(i18n, board.present.navigation)>
                <a href=base>{t!(i18n, board.present.back)}</a>
            </nav>
        }
        .into_any();
    };
    let i = screen.index;
    let prev = (i > 0).then(|| format!("{base}/present?i={}", i - 1));
    let next = (i + 1 < count).then(|| format!("{base}/present?i={}", i + 1));
    #[cfg(feature = "hydrate")]
    present_keys(prev.clone(), next.clone());
    let n = i + 1;
    view! {
        <header class="board-present-bar">
            <span>{heading}</span>
            <strong data-testid="present-position">{t!(i18n, board.present.case_of, n = move || n, count = move || count)}</strong>
        </header>
        <PresentCase case image=screen.image />
        <nav class="board-present-nav" aria-label=move || t_string!(i18n, board.present.navigation)>
            {match prev {
                Some(href) => view! { <a href=href rel="prev" data-testid="present-prev">{t!(i18n, board.present.previous)}</a> }.into_any(),
                None => view! { <span class="disabled" aria-hidden="true">{t!(i18n, board.present.previous)}</span> }.into_any(),
            }}
            <a href=base>{t!(i18n, board.present.back)}</a>
            {match next {
                Some(href) => view! { <a href=href rel="next" data-testid="present-next">{t!(i18n, board.present.next)}</a> }.into_any(),
                None => view! { <span class="disabled" aria-hidden="true">{t!(i18n, board.present.next)}</span> }.into_any(),
            }}
        </nav>
        <p class="board-present-hint">{t!(i18n, board.present.keys_hint)}</p>
    }
    .into_any()
}

/// ←/→ and Page Up/Page Down (what a presentation clicker sends) go to the previous or next case.
#[cfg(feature = "hydrate")]
fn present_keys(prev: Option<String>, next: Option<String>) {
    let navigate = leptos_router::hooks::use_navigate();
    let listener = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.default_prevented() {
            return;
        }
        let target = match ev.key().as_str() {
            "ArrowLeft" | "PageUp" => prev.as_deref(),
            "ArrowRight" | "PageDown" => next.as_deref(),
            _ => return,
        };
        if let Some(href) = target {
            ev.prevent_default();
            navigate(href, Default::default());
        }
    });
    on_cleanup(move || listener.remove());
}

#[component]
fn PresentCase(case: CaseDetail, image: Option<KeyImage>) -> impl IntoView {
    let i18n = use_i18n();
    let cancer = case.cancer;
    let name = patient_name(&case.patient);
    let href = format!("/mdt/cases/{}", case.id);
    view! {
        <article class="board-present-case" data-testid="present-case" data-case=case.id>
            <h1>
                {match name {
                    Some(name) => name.into_any(),
                    None => t!(i18n, board.no_name).into_any(),
                }}
                " " <code>{case.patient.patient_id.clone()}</code>
            </h1>
            <p class="board-present-sub">
                <strong>{move || cancer.label_in(language(i18n))}</strong>
                " · " <CaseStatusBadge status=case.status />
                " · " <a href=href>{t!(i18n, board.present.open_case)}</a>
            </p>
            <div class="board-present-body">
                <PresentProposal case=case.clone() />
                <PresentDecision case=case.clone() />
                <PresentImage image />
            </div>
        </article>
    }
}

/// T, N, M and the group in large type.
fn big_tnm(
    i18n: leptos_i18n::I18nContext<crate::i18n::Locale>,
    t: Option<String>,
    n: Option<String>,
    m: Option<String>,
    group: Option<String>,
) -> impl IntoView {
    let dash = |v: Option<String>| v.filter(|v| !v.is_empty()).unwrap_or_else(|| "—".into());
    view! {
        <p class="board-tnm">
            <span>{dash(t)}</span> " " <span>{dash(n)}</span> " " <span>{dash(m)}</span>
        </p>
        <p class="board-group">
            <span class="board-group-label">{t!(i18n, board.present.stage_group)}</span> " " {dash(group)}
        </p>
    }
}

#[component]
fn PresentProposal(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let body = match case.proposal {
        Some(p) => {
            let confidence = format!("{:.0}%", p.confidence * 100.0);
            view! {
                <div data-testid="present-proposal">{big_tnm(i18n, p.tnm.t, p.tnm.n, p.tnm.m, p.tnm.stage_group)}</div>
                <dl class="board-present-facts">
                    <dt>{t!(i18n, board.present.confidence)}</dt><dd data-testid="present-confidence">{confidence}</dd>
                </dl>
            }
            .into_any()
        }
        None => view! { <p>{t!(i18n, board.present.no_proposal)}</p> }.into_any(),
    };
    view! {
        <section class="board-present-panel" aria-labelledby="present-proposal-heading">
            <h2 id="present-proposal-heading">{t!(i18n, board.present.proposal)}</h2>
            {body}
        </section>
    }
}

#[component]
fn PresentDecision(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let body = match case.decisions.into_iter().next() {
        Some(d) => {
            let recommendation = d.recommendation;
            let signers = d.signatures.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
            view! {
                <div data-testid="present-decision">{big_tnm(i18n, Some(d.t), Some(d.n), Some(d.m), d.stage_group)}</div>
                <dl class="board-present-facts">
                    <dt>{t!(i18n, board.present.recommendation)}</dt>
                    <dd>{move || recommendation.label_in(language(i18n))}</dd>
                    <dt>{t!(i18n, board.present.signed_by)}</dt>
                    <dd>
                        {if signers.is_empty() { t!(i18n, board.present.not_signed).into_any() } else { signers.into_any() }}
                        {d.locked.then(|| view! { " · " <strong>{t!(i18n, board.present.locked)}</strong> })}
                    </dd>
                </dl>
            }
            .into_any()
        }
        None => view! { <p>{t!(i18n, board.present.no_decision)}</p> }.into_any(),
    };
    view! {
        <section class="board-present-panel" aria-labelledby="present-decision-heading">
            <h2 id="present-decision-heading">{t!(i18n, board.present.decision)}</h2>
            {body}
        </section>
    }
}

#[component]
fn PresentImage(image: Option<KeyImage>) -> impl IntoView {
    let i18n = use_i18n();
    match image {
        Some(KeyImage { src, slice, viewer }) => view! {
            <figure class="board-present-image" data-testid="present-image">
                <img src=src alt=move || t_string!(i18n, board.present.key_image_alt) />
                <figcaption>
                    {t!(i18n, board.present.key_image, slice = move || slice)}
                    " · " <a href=viewer>{t!(i18n, board.present.open_viewer)}</a>
                </figcaption>
            </figure>
        }
        .into_any(),
        None => view! { <p class="board-present-image muted">{t!(i18n, board.present.no_image)}</p> }.into_any(),
    }
}
