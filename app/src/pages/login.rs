//! The sign-in page. A plain HTML form posted to `/login`, so it works the same with and
//! without JavaScript; the server answers with a redirect.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The message for the `?notice=` code the server redirects back with.
fn notice_text(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "invalid" => ("error", "Invalid username or password."),
        "locked" => (
            "error",
            "Too many failed sign-ins for this username from this address. Try again in 15 minutes or ask an administrator to lift the lock.",
        ),
        "missing" => ("error", "Enter your username and password."),
        "expired" => ("info", "Your session has ended. Please sign in again."),
        "signed_out" => ("info", "You have signed out."),
        "unavailable" => ("error", "Sign-in is unavailable right now. Please try again shortly."),
        _ => return None,
    })
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let notice = move || query.read().get("notice").and_then(|code| notice_text(&code));
    let next = move || query.read().get("next").filter(|n| n.starts_with('/') && !n.starts_with("//"));
    view! {
        <Title text="Sign in" />
        <main id="main" class="signin">
            <div class="signin-card">
                <div class="brand large">
                    <span class="brand-mark" aria-hidden="true">"E"</span>
                    <span class="brand-name">"Elysium"</span>
                </div>
                <p class="muted">"Follow-up of AI-positive findings on CT"</p>
                <h1>"Sign in"</h1>
                {move || notice().map(|(kind, text)| view! {
                    <p class=format!("notice {kind}") role="alert" data-testid="signin-notice">{text}</p>
                })}
                <form method="post" action="/login" class="stack">
                    <input type="hidden" name="next" value=next />
                    <label for="username">"Username"</label>
                    <input id="username" name="username" type="text" autocomplete="username"
                        required maxlength="64" autofocus />
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password"
                        autocomplete="current-password" required maxlength="256" />
                    <button type="submit" class="button primary">"Sign in"</button>
                </form>
            </div>
        </main>
    }
}
