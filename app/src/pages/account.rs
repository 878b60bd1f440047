//! `/account/password`: the signed-in user changes their own password (the current one, the new
//! one twice). A user holding a temporary password is sent here from every page until they
//! have chosen their own. A plain form post to `/account/password`: works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::components::shell::CurrentUser;
use crate::i18n::{Locale, t, t_string, use_i18n};

/// The refusal codes the form post returns with, in the page's language.
fn refusal_text(i18n: I18nContext<Locale>, code: &str) -> &'static str {
    match code {
        "mismatch" => t_string!(i18n, profile.password.error.mismatch),
        "same" => t_string!(i18n, profile.password.error.same),
        "too_short" => t_string!(i18n, profile.password.error.too_short),
        "too_long" => t_string!(i18n, profile.password.error.too_long),
        "contains_username" => t_string!(i18n, profile.password.error.contains_username),
        "wrong_current" => t_string!(i18n, profile.password.error.wrong_current),
        "locked" => t_string!(i18n, profile.password.error.locked),
        _ => t_string!(i18n, profile.password.error.unavailable),
    }
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let refused = move || query.read().get("error").filter(|e| !e.is_empty());
    let changed = move || query.read().get("changed").is_some();
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <PageTitle text=t_string!(i18n, profile.password.title).to_string() />
        <h1>{t!(i18n, profile.password.title)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let must_change = user.await.ok().flatten().is_some_and(|u| u.must_change_password);
                must_change.then(|| view! {
                    <p class="notice" role="status" data-testid="must-change">{t!(i18n, profile.password.must_change)}</p>
                })
            })}
        </Suspense>
        {move || refused().map(|code| {
            let text = code.clone();
            view! {
                <p class="notice error" role="alert" data-testid="password-refused" data-code=code>
                    {move || refusal_text(i18n, &text)}
                </p>
            }
        })}
        {move || changed().then(|| view! {
            <p class="notice" role="status" data-testid="password-changed">
                {t!(i18n, profile.password.changed)}" "<a href="/">{t!(i18n, profile.password.home_link)}</a>
            </p>
        })}
        <form method="post" action="/account/password" class="stacked" data-testid="change-password">
            <label>{t!(i18n, profile.password.current)}
                <input type="password" name="current_password" required autocomplete="current-password" />
            </label>
            <label>{t!(i18n, profile.password.new)}
                <input type="password" name="new_password" required minlength="12" maxlength="256" autocomplete="new-password" />
            </label>
            <label>{t!(i18n, profile.password.again)}
                <input type="password" name="new_password_again" required minlength="12" maxlength="256" autocomplete="new-password" />
            </label>
            <p class="muted">{t!(i18n, profile.password.rules)}</p>
            <button type="submit" class="button">{t!(i18n, profile.password.submit)}</button>
        </form>
    }
}
