//! Each role's home: what that person works on in Elysium.

use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_meta::Title;

use crate::api::admin::admin_overview;
use crate::components::shell::CurrentUser;
use crate::domain::roles::Role;
use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::model::SessionUser;

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
        <Title text=move || t_string!(i18n, home.title).to_string() />
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
                </section>
            }
        })
        .collect_view();
    let name = user.display_name.clone();
    view! {
        <h1 data-testid="home-title">{t!(i18n, home.welcome, name = move || name.clone())}</h1>
        <p class="muted">{t!(i18n, home.sites, sites = move || sites.clone())}</p>
        <div class="cards">{cards}</div>
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
