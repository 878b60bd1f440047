//! The signed-in user's own account: identity, roles, sites, a link to change the password,
//! and sign-out.

use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::components::shell::CurrentUser;
use crate::domain::language::Labelled;
use crate::i18n::{language, t, t_string, use_i18n};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let i18n = use_i18n();
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <PageTitle text=t_string!(i18n, profile.title).to_string() />
        <h1>{t!(i18n, profile.title)}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, profile.loading)}</p> }>
            {move || Suspend::new(async move {
                user.await.ok().flatten().map(|user| view! {
                    <dl class="facts" data-testid="profile">
                        <dt>{t!(i18n, profile.name)}</dt><dd>{user.display_name.clone()}</dd>
                        <dt>{t!(i18n, profile.username)}</dt><dd><code>{user.username.clone()}</code></dd>
                        <dt>{t!(i18n, profile.roles)}</dt>
                        <dd>{user.roles.iter().map(|r| {
                            let r = *r;
                            view! { <span class="tag">{move || r.label_in(language(i18n))}</span> }
                        }).collect_view()}</dd>
                        <dt>{t!(i18n, profile.sites)}</dt>
                        <dd>{user.sites.iter().map(|s| view! { <span class="tag">{format!("{} ({})", s.name, s.code)}</span> }).collect_view()}</dd>
                    </dl>
                    <p><a href="/account/password" data-testid="change-password-link">{t!(i18n, profile.change_password)}</a></p>
                    <form method="post" action="/logout">
                        <button type="submit" class="button">{t!(i18n, common.sign_out)}</button>
                    </form>
                })
            })}
        </Suspense>
    }
}
