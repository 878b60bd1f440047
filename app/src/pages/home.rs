//! Each role's home: what that person works on in Elysium.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::admin::admin_overview;
use crate::components::shell::CurrentUser;
use crate::domain::roles::Role;
use crate::model::SessionUser;

/// What each role does here, in the words of the people who hold it.
fn role_brief(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Coordinator => (
            "Triage and follow-up",
            "AI-positive findings from screened CT land on your worklist, highest risk first. Review each, order the work-up, and record the confirmed outcome so that no finding is lost to follow-up.",
        ),
        Role::Radiologist => (
            "Finding review",
            "Review AI-positive findings against the images, confirm them or dismiss them with a reason, and re-run screening when a study needs it.",
        ),
        Role::Surgeon => (
            "MDT staging",
            "Confirmed cancers come to the multidisciplinary tumour board with an AI-proposed TNM stage. Accept or override each category with a reason and sign the treatment recommendation.",
        ),
        Role::Admin => (
            "Administration",
            "Manage users and sites, watch sign-in locks and the audit trail, and follow program metrics per cancer, site and model version.",
        ),
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Title text="Home" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                user.await.ok().flatten().map(|user| view! { <Home user /> })
            })}
        </Suspense>
    }
}

#[component]
fn Home(user: SessionUser) -> impl IntoView {
    let sites = user.sites.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
    let cards = user
        .roles
        .iter()
        .map(|role| {
            let (title, text) = role_brief(*role);
            view! {
                <section class="card" data-role=role.as_str()>
                    <h2>{title}</h2>
                    <p>{text}</p>
                    {(*role == Role::Admin).then(|| view! { <AdminOverviewPanel /> })}
                    {matches!(role, Role::Coordinator | Role::Radiologist).then(|| view! {
                        <p class="card-links">
                            <a href="/worklist" class="button primary" data-testid="open-worklist">"Open the worklist"</a>
                            " " <a href="/worklist?quick=mine">"My queue"</a>
                            " · " <a href="/worklist?quick=overdue">"Overdue"</a>
                        </p>
                    })}
                </section>
            }
        })
        .collect_view();
    view! {
        <h1 data-testid="home-title">"Welcome, " {user.display_name.clone()}</h1>
        <p class="muted">{format!("Sites: {sites}")}</p>
        <div class="cards">{cards}</div>
    }
}

#[component]
fn AdminOverviewPanel() -> impl IntoView {
    let overview = Resource::new(|| (), |_| admin_overview());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        <ul class="stats">
                            <li><a href="/admin/users"><strong>{o.users}</strong>" users"</a></li>
                            <li><a href="/admin/signin-locks"><strong>{o.active_locks}</strong>" sign-in locks"</a></li>
                            <li><a href="/admin/audit">"Audit log"</a></li>
                        </ul>
                        <p class="muted">{format!("Sites: {}", o.sites.join(", "))}</p>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
