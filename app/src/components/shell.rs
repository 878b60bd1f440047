//! The frame around every signed-in page: the header with role-aware navigation and the user's
//! name, roles and sign-out. Navigation only shows what the user may open; the server decides
//! what they may actually do.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::session::current_user;
use crate::domain::language::{Labelled, Language};
use crate::domain::roles::Role;
use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::model::SessionUser;
use leptos_i18n::I18nContext;
use leptos_i18n::Locale as _;

/// One navigation entry and the roles that see it (empty: everyone signed in).
struct NavItem {
    href: &'static str,
    /// The entry's name in the page's language (tracked: call it inside the view).
    label: fn(I18nContext<Locale>) -> &'static str,
    roles: &'static [Role],
}

const NAV: &[NavItem] = &[
    NavItem { href: "/", label: |i18n| t_string!(i18n, common.nav.home), roles: &[] },
    NavItem { href: "/worklist", label: |i18n| t_string!(i18n, common.nav.worklist), roles: &[] },
    NavItem { href: "/studies", label: |i18n| t_string!(i18n, common.nav.studies), roles: &[] },
    NavItem { href: "/patients", label: |i18n| t_string!(i18n, patients.nav), roles: &[] },
    NavItem {
        href: "/mdt",
        label: |i18n| t_string!(i18n, common.nav.board),
        roles: &[Role::Surgeon, Role::Coordinator, Role::Radiologist, Role::Admin],
    },
    NavItem {
        href: "/chronic",
        label: |i18n| t_string!(i18n, chronic.nav),
        roles: &[Role::Coordinator, Role::Radiologist, Role::Admin],
    },
    NavItem {
        href: "/referrals",
        label: |i18n| t_string!(i18n, referrals.nav),
        roles: &[Role::Coordinator, Role::Admin],
    },
    NavItem {
        href: "/upload",
        label: |i18n| t_string!(i18n, common.nav.upload),
        roles: &[Role::Admin, Role::Radiologist],
    },
    NavItem { href: "/admin/users", label: |i18n| t_string!(i18n, common.nav.users), roles: &[Role::Admin] },
    NavItem { href: "/admin/sites", label: |i18n| t_string!(i18n, common.nav.sites), roles: &[Role::Admin] },
    NavItem { href: "/admin/network", label: |i18n| t_string!(i18n, referrals.network.nav), roles: &[Role::Admin] },
    NavItem {
        href: "/admin/signin-locks",
        label: |i18n| t_string!(i18n, common.nav.signin_locks),
        roles: &[Role::Admin],
    },
    NavItem { href: "/admin/audit", label: |i18n| t_string!(i18n, common.nav.audit), roles: &[Role::Admin] },
    NavItem { href: "/admin/program", label: |i18n| t_string!(i18n, program.nav), roles: &[Role::Admin] },
    NavItem { href: "/admin/tokens", label: |i18n| t_string!(i18n, tokens.nav), roles: &[Role::Admin] },
    NavItem { href: "/admin/models", label: |i18n| t_string!(i18n, models.nav), roles: &[Role::Admin] },
    NavItem { href: "/admin/settings", label: |i18n| t_string!(i18n, settings.nav), roles: &[Role::Admin] },
    NavItem { href: "/admin/export", label: |i18n| t_string!(i18n, admin.export.nav), roles: &[Role::Admin] },
    NavItem { href: "/profile", label: |i18n| t_string!(i18n, common.nav.profile), roles: &[] },
];

/// The signed-in user, loaded once per page load and shared with the pages via context.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<SessionUser>, crate::model::AppError>>);

#[component]
pub fn Shell(children: ChildrenFn) -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    provide_context(CurrentUser(user));
    let children = StoredValue::new(children);
    let i18n = use_i18n();
    view! {
        <a class="skip-link" href="#main">{t!(i18n, common.skip_to_content)}</a>
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"E"</span>
                <span class="brand-name">"Elysium"</span>
            </a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! { <Navigation user /> }.into_any(),
                        _ => view! { <a class="button" href="/login">{t!(i18n, common.sign_in)}</a> }.into_any(),
                    }
                })}
            </Suspense>
            <LanguageSwitch />
        </header>
        <main id="main" class="page">
            {move || children.read_value()()}
        </main>
    }
}

/// Two buttons, one per language, posting to `/language` with the page to return to: a switch
/// without signing out that works with JavaScript off.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let location = leptos_router::hooks::use_location();
    let back = move || {
        let search = location.search.get();
        if search.is_empty() { location.pathname.get() } else { format!("{}?{search}", location.pathname.get()) }
    };
    let current = move || i18n.get_locale().as_str();
    view! {
        <form method="post" action="/language" class="language-switch" aria-label=move || t_string!(i18n, common.language)>
            <input type="hidden" name="back" value=back />
            {Language::ALL.into_iter().map(|language| view! {
                <button type="submit" name="language" value=language.as_str()
                    class="button subtle" lang=language.as_str()
                    aria-pressed=move || (current() == language.as_str()).to_string()>
                    {language.native_name()}
                </button>
            }).collect_view()}
        </form>
    }
}

#[component]
fn Navigation(user: SessionUser) -> impl IntoView {
    let i18n = use_i18n();
    // A user holding a temporary password can open no page but the password page until they
    // have chosen their own, so no entry is offered.
    let items = NAV
        .iter()
        .filter(|item| !user.must_change_password && (item.roles.is_empty() || user.has_any_role(item.roles)))
        .map(|item| {
            let label = item.label;
            view! { <li><A href=item.href exact=true>{move || label(i18n)}</A></li> }
        })
        .collect_view();
    let roles = {
        let roles = user.roles.clone();
        move || {
            let language = crate::i18n::language(i18n);
            roles.iter().map(|r| r.label_in(language)).collect::<Vec<_>>().join(", ")
        }
    };
    view! {
        <nav class="mainnav" aria-label=move || t_string!(i18n, common.main_nav)>
            <ul>{items}</ul>
        </nav>
        <div class="whoami">
            <span class="whoami-name" data-testid="whoami">{user.display_name.clone()}</span>
            <span class="whoami-roles">{roles}</span>
            <form method="post" action="/logout" class="inline">
                <button type="submit" class="button subtle">{t!(i18n, common.sign_out)}</button>
            </form>
        </div>
    }
}
