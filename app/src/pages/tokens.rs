//! API tokens: the list with each token's scopes, expiry and last use, a form to create one
//! (shown once, right after), and a button to revoke. Plain form posts: works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::api::tokens::{TokensPage, load_tokens};
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::scopes::Scope;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::tokens::{CreatedToken, TokenState, TokenSummary};

fn state_text(i18n: I18nContext<Locale>, state: TokenState) -> String {
    match state {
        TokenState::Active => t_string!(i18n, tokens.state.active).to_owned(),
        TokenState::Expired => t_string!(i18n, tokens.state.expired).to_owned(),
        TokenState::Revoked => t_string!(i18n, tokens.state.revoked).to_owned(),
    }
}

/// A stored scope's label in the page's language (an unknown one as stored).
fn scope_text(i18n: I18nContext<Locale>, name: &str) -> String {
    match name.parse::<Scope>() {
        Ok(scope) => format!("{} ({name})", scope.label_in(language(i18n))),
        Err(_) => name.to_owned(),
    }
}

#[component]
pub fn TokensPageView() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let refused = move || query.read().get("error").filter(|e| !e.is_empty());
    let revoked = move || query.read().get("revoked").is_some();
    let page = Resource::new(|| (), |_| load_tokens());
    view! {
        <PageTitle text=t_string!(i18n, tokens.title).to_string() />
        <h1>{t!(i18n, tokens.title)}</h1>
        <p class="muted">{t!(i18n, tokens.explainer)}</p>
        {move || refused().map(|e| view! {
            <p class="notice error" role="alert" data-testid="token-refused">{t!(i18n, tokens.refused)}" "{e}</p>
        })}
        {move || revoked().then(|| view! { <p class="notice" role="status" data-testid="token-revoked">{t!(i18n, tokens.revoked_note)}</p> })}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, tokens.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Tokens page /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Tokens(page: TokensPage) -> impl IntoView {
    let TokensPage { tokens, created, usernames } = page;
    view! {
        {created.map(|created| view! { <Created created /> })}
        <NewTokenForm usernames />
        <TokenTable tokens />
    }
}

#[component]
fn Created(created: CreatedToken) -> impl IntoView {
    let i18n = use_i18n();
    let scopes: Vec<&str> = created.scopes.iter().map(|s| s.as_str()).collect();
    view! {
        <section class="card created-token" data-testid="created-token" aria-labelledby="created-title">
            <h2 id="created-title">{t!(i18n, tokens.created_title)}": "{created.name.clone()}</h2>
            <p><code class="secret" data-testid="token-secret">{created.token}</code></p>
            <p class="muted">{created.username}" · "{scopes.join(", ")}" · "{created.expires_at.chars().take(10).collect::<String>()}</p>
            <p>{t!(i18n, tokens.created_note)}</p>
        </section>
    }
}

#[component]
fn NewTokenForm(usernames: Vec<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" aria-labelledby="new-token-title">
            <h2 id="new-token-title">{t!(i18n, tokens.new_title)}</h2>
            <form method="post" action="/admin/tokens" class="stacked" data-testid="new-token">
                <label>{t!(i18n, tokens.field.name)}
                    <input type="text" name="name" required maxlength="100" />
                </label>
                <label>{t!(i18n, tokens.field.username)}
                    <select name="username" required>
                        {usernames.into_iter().map(|u| view! { <option value=u.clone()>{u.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <fieldset>
                    <legend>{t!(i18n, tokens.field.scopes)}</legend>
                    {Scope::ALL.into_iter().map(|scope| view! {
                        <label class="inline">
                            <input type="checkbox" name="scopes" value=scope.as_str() />
                            " "{move || scope_text(i18n, scope.as_str())}
                        </label>
                    }).collect_view()}
                </fieldset>
                <label>{t!(i18n, tokens.field.expires)}
                    <input type="number" name="expires_in_days" min="1" max=crate::model::tokens::MAX_TOKEN_DAYS.to_string() value="90" required />
                </label>
                <button type="submit" class="button">{t!(i18n, tokens.create)}</button>
            </form>
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenSummary>) -> impl IntoView {
    let i18n = use_i18n();
    if tokens.is_empty() {
        return view! { <p data-testid="no-tokens">{t!(i18n, tokens.none)}</p> }.into_any();
    }
    view! {
        <table class="grid" data-testid="tokens">
            <thead><tr>
                <th scope="col">{t!(i18n, tokens.col.name)}</th><th scope="col">{t!(i18n, tokens.col.user)}</th>
                <th scope="col">{t!(i18n, tokens.col.scopes)}</th><th scope="col">{t!(i18n, tokens.col.state)}</th>
                <th scope="col">{t!(i18n, tokens.col.created)}</th><th scope="col">{t!(i18n, tokens.col.expires)}</th>
                <th scope="col">{t!(i18n, tokens.col.last_used)}</th><th scope="col">{t!(i18n, tokens.col.revoke)}</th>
            </tr></thead>
            <tbody>
                {tokens.into_iter().map(|token| {
                    let scopes = token.scopes.clone();
                    let live = token.state == TokenState::Active;
                    let action = format!("/admin/tokens/{}/revoke", token.id);
                    view! {
                        <tr data-token=token.id.clone() data-state=format!("{:?}", token.state).to_lowercase()>
                            <td>{token.name}</td>
                            <td><code>{token.username}</code></td>
                            <td>{move || scopes.iter().map(|s| scope_text(i18n, s)).collect::<Vec<_>>().join(", ")}</td>
                            <td>{move || state_text(i18n, token.state)}</td>
                            <td class="nowrap">{token.created_at}{token.created_by.map(|b| format!(" · {b}"))}</td>
                            <td class="nowrap">{token.expires_at.unwrap_or_else(|| "—".into())}</td>
                            <td class="nowrap">{token.last_used_at.unwrap_or_else(|| t_string!(i18n, tokens.never).to_owned())}</td>
                            <td>{live.then(|| view! {
                                <form method="post" action=action.clone()>
                                    <button type="submit" class="button subtle">{t!(i18n, tokens.revoke)}</button>
                                </form>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
