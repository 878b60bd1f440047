//! Each role's home: what that person works on in Elysium.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

use crate::api::admin::admin_overview;
use crate::api::mdt::load_board_home;
use crate::components::board::{decision_text, patient_name, proposal_text};
use crate::components::shell::CurrentUser;
use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::SessionUser;
use crate::model::mdt::{BoardHome, CaseListItem, Meeting};
use crate::model::program::ProgramParams;
use crate::pages::health::SystemHealthPanel;
use crate::pages::mdt_meetings::when;
use crate::pages::program::ProgramDashboard;
use crate::pages::referrals::outcomes::ReferralOutcomesCard;

/// What each role does here, in the words of the people who hold it, in the page's language
/// (tracked: call it inside the view).
fn role_brief(i18n: I18nContext<Locale>, role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Coordinator => {
            (t_string!(i18n, home.role.coordinator_title), t_string!(i18n, home.role.coordinator_text))
        }
        Role::Radiologist => {
            (t_string!(i18n, home.role.radiologist_title), t_string!(i18n, home.role.radiologist_text))
        }
        Role::Surgeon => (t_string!(i18n, home.role.surgeon_title), t_string!(i18n, home.role.surgeon_text)),
        Role::Admin => (t_string!(i18n, home.role.admin_title), t_string!(i18n, home.role.admin_text)),
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <PageTitle text=t_string!(i18n, home.title).to_string() />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, home.loading)}</p> }>
            {move || Suspend::new(async move {
                user.await.ok().flatten().map(|user| view! { <Home user /> })
            })}
        </Suspense>
    }
}

#[component]
fn Home(user: SessionUser) -> impl IntoView {
    let i18n = use_i18n();
    let sites = user.sites.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
    let cards = user
        .roles
        .iter()
        .map(|role| {
            let role = *role;
            view! {
                <section class="card" data-role=role.as_str()>
                    <h2>{move || role_brief(i18n, role).0}</h2>
                    <p>{move || role_brief(i18n, role).1}</p>
                    {(role == Role::Admin).then(|| view! { <AdminOverviewPanel /> })}
                    {matches!(role, Role::Coordinator | Role::Radiologist).then(|| view! {
                        <p class="card-links">
                            <a href="/worklist" class="button primary" data-testid="open-worklist">{t!(i18n, home.open_worklist)}</a>
                            " " <a href="/worklist?quick=mine">{t!(i18n, home.my_queue)}</a>
                            " · " <a href="/worklist?quick=overdue">{t!(i18n, home.overdue)}</a>
                        </p>
                    })}
                    {(role == Role::Coordinator).then(|| view! {
                        <p class="card-links" data-testid="coordinator-board-links">
                            <a href="/mdt">{t!(i18n, home.board.cases)}</a>
                            " · " <a href="/mdt/meetings">{t!(i18n, home.board.meetings)}</a>
                        </p>
                        <p class="card-links" data-testid="coordinator-longitudinal-links">
                            <a href="/chronic">{t!(i18n, home.chronic)}</a>
                            " · " <a href="/worklist?quick=surveillance">{t!(i18n, home.surveillance)}</a>
                            " · " <a href="/patients">{t!(i18n, home.patients)}</a>
                            " · " <a href="/referrals">{t!(i18n, referrals.title)}</a>
                        </p>
                    })}
                    {(role == Role::Admin).then(|| view! {
                        <p class="card-links"><a href="/mdt/agreement" data-testid="admin-agreement-link">{t!(i18n, home.board.agreement)}</a></p>
                    })}
                    {(role == Role::Surgeon).then(|| view! { <BoardHomePanel /> })}
                </section>
            }
        })
        .collect_view();
    // The sending site hears here how the findings it referred ended.
    let referral_outcomes = user.has_any_role(&[Role::Coordinator]).then(|| view! { <ReferralOutcomesCard /> });
    let name = user.display_name.clone();
    // The administrator's programme dashboard for the default period; its filter opens the
    // dashboard's own page.
    let program = user.has_any_role(&[Role::Admin]).then(|| {
        view! {
            <section class="program-home" aria-labelledby="program-home-heading" data-testid="program-home">
                <h2 id="program-home-heading"><a href="/admin/program">{t!(i18n, program.title)}</a></h2>
                <ProgramDashboard params=ProgramParams::default() />
            </section>
        }
    });
    // The administrator sees first whether the system itself is well.
    let health = user.has_any_role(&[Role::Admin]).then(|| view! { <SystemHealthPanel /> });
    view! {
        <h1 data-testid="home-title">{t!(i18n, home.welcome, name = move || name.clone())}</h1>
        <p class="muted">{t!(i18n, home.sites, sites = move || sites.clone())}</p>
        {health}
        <div class="cards">{cards}{referral_outcomes}</div>
        {program}
    }
}

#[component]
fn AdminOverviewPanel() -> impl IntoView {
    let i18n = use_i18n();
    let overview = Resource::new(|| (), |_| admin_overview());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        let sites = o.sites.join(", ");
                        view! {
                            <ul class="stats">
                                <li><a href="/admin/users"><strong>{o.users}</strong>" "{t!(i18n, home.users)}</a></li>
                                <li><a href="/admin/signin-locks"><strong>{o.active_locks}</strong>" "{t!(i18n, home.signin_locks)}</a></li>
                                <li><a href="/admin/audit">{t!(i18n, home.audit_log)}</a></li>
                                <li><a href="/admin/export">{t!(i18n, admin.export.title)}</a></li>
                            </ul>
                            <p class="muted">{t!(i18n, home.sites, sites = move || sites.clone())}</p>
                        }.into_any()
                    }
                    Err(e) => view! { <crate::components::errors::ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

// ---- The surgeon's tumour board ----

#[component]
fn BoardHomePanel() -> impl IntoView {
    let i18n = use_i18n();
    let board = Resource::new(|| (), |_| load_board_home());
    view! {
        <div class="board-home" data-testid="board-home">
            <h3>{t!(i18n, home.board.heading)}</h3>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, home.loading)}</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(board) => view! { <BoardLists board /> }.into_any(),
                        Err(e) => view! { <crate::components::errors::ErrorNotice error=e /> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="card-links">
                <a href="/mdt" class="button primary" data-testid="open-board">{t!(i18n, home.board.cases)}</a>
                " " <a href="/mdt/meetings">{t!(i18n, home.board.meetings)}</a>
                " · " <a href="/mdt/agreement">{t!(i18n, home.board.agreement)}</a>
            </p>
        </div>
    }
}

#[component]
fn BoardLists(board: BoardHome) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h4>{t!(i18n, home.board.upcoming)}</h4>
        <MeetingLinks items=board.upcoming />
        <h4>{t!(i18n, home.board.awaiting_review)}</h4>
        <CaseLinks items=board.awaiting_review testid="board-awaiting-review" />
        <h4>{t!(i18n, home.board.awaiting_my_signature)}</h4>
        <CaseLinks items=board.awaiting_my_signature testid="board-awaiting-signature" />
        <h4>{t!(i18n, home.board.recently_decided)}</h4>
        <CaseLinks items=board.recently_decided testid="board-recently-decided" />
    }
}

#[component]
fn MeetingLinks(items: Vec<Meeting>) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        return view! { <p class="muted" data-testid="board-upcoming">{t!(i18n, home.board.none)}</p> }.into_any();
    }
    view! {
        <ul class="board-home-list" data-testid="board-upcoming">
            {items.into_iter().map(|m| view! {
                <li>
                    <a href=format!("/mdt/meetings/{}", m.id)>{m.title}</a>
                    " " <span class="muted small nowrap">{when(&m.starts_at)}</span>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn CaseLinks(items: Vec<CaseListItem>, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        return view! { <p class="muted" data-testid=testid>{t!(i18n, home.board.none)}</p> }.into_any();
    }
    view! {
        <ul class="board-home-list" data-testid=testid>
            {items.into_iter().map(|c| {
                let cancer = c.cancer;
                let stage = c.decision.as_ref().map(decision_text).or_else(|| c.proposal.as_ref().map(proposal_text));
                let name = patient_name(&c.patient);
                view! {
                    <li data-case=c.id>
                        <a href=format!("/mdt/cases/{}", c.id)>{match name {
                            Some(name) => name.into_any(),
                            None => t!(i18n, board.no_name).into_any(),
                        }}</a>
                        " " <code class="small">{c.patient.patient_id}</code>
                        " · " {move || cancer.label_in(language(i18n))}
                        {stage.map(|s| view! { " · " <span class="nowrap">{s}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
