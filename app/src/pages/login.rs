//! The sign-in page. A plain HTML form posted to `/login`, so it works the same with and
//! without JavaScript; the server answers with a redirect.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::shell::LanguageSwitch;
use leptos_i18n::I18nContext;

use crate::i18n::{Locale, t, t_string, use_i18n};

/// The message for the `?notice=` code the server redirects back with: (kind, text).
fn notice_text(i18n: I18nContext<Locale>, code: &str) -> Option<(&'static str, String)> {
    Some(match code {
        "invalid" => ("error", t_string!(i18n, login.notice_invalid).to_string()),
        "locked" => ("error", t_string!(i18n, login.notice_locked).to_string()),
        "missing" => ("error", t_string!(i18n, login.notice_missing).to_string()),
        "expired" => ("info", t_string!(i18n, login.notice_expired).to_string()),
        "signed_out" => ("info", t_string!(i18n, login.notice_signed_out).to_string()),
        "unavailable" => ("error", t_string!(i18n, login.notice_unavailable).to_string()),
        _ => return None,
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let notice = move || query.read().get("notice").and_then(|code| notice_text(i18n, &code));
    let next = move || query.read().get("next").filter(|n| n.starts_with('/') && !n.starts_with("//"));
    view! {
        <PageTitle text=t_string!(i18n, login.title).to_string() />
        <main id="main" class="signin">
            <div class="signin-card">
                <div class="brand large">
                    <span class="brand-mark" aria-hidden="true">"E"</span>
                    <span class="brand-name">"Elysium"</span>
                </div>
                <p class="muted">{t!(i18n, login.tagline)}</p>
                <h1>{t!(i18n, login.title)}</h1>
                {move || notice().map(|(kind, text)| view! {
                    <p class=format!("notice {kind}") role="alert" data-testid="signin-notice">{text}</p>
                })}
                <form method="post" action="/login" class="stack">
                    <input type="hidden" name="next" value=next />
                    <label for="username">{t!(i18n, login.username)}</label>
                    <input id="username" name="username" type="text" autocomplete="username"
                        required maxlength="64" autofocus />
                    <label for="password">{t!(i18n, login.password)}</label>
                    <input id="password" name="password" type="password"
                        autocomplete="current-password" required maxlength="256" />
                    <button type="submit" class="button primary">{t!(i18n, login.submit)}</button>
                </form>
                <LanguageSwitch />
            </div>
        </main>
    }
}
