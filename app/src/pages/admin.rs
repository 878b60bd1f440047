//! Administration pages: users, sign-in locks, the audit log.

use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::admin::{UnlockSignin, audit_log, list_users, signin_locks};
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::AppError;
use crate::model::admin::AUDIT_PAGE;

/// Renders a server function's error where its data would have been.
fn error_view(error: AppError) -> AnyView {
    view! { <ErrorNotice error /> }.into_any()
}

/// An audit event's outcome (`success`, `failure`, `denied`) in the page's language; anything
/// else as recorded.
fn outcome_text(i18n: I18nContext<Locale>, outcome: &str) -> String {
    match outcome {
        "success" => t_string!(i18n, admin.audit.outcome.success).to_string(),
        "failure" => t_string!(i18n, admin.audit.outcome.failure).to_string(),
        "denied" => t_string!(i18n, admin.audit.outcome.denied).to_string(),
        other => other.to_owned(),
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let i18n = use_i18n();
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text=move || t_string!(i18n, admin.users.title).to_string() />
        <h1>{t!(i18n, admin.users.title)}</h1>
        <p class="muted">{t!(i18n, admin.users.created_with, <code> = <code />)}</p>
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! {
                        <table class="grid" data-testid="users">
                            <thead><tr>
                                <th>{t!(i18n, admin.users.col.username)}</th><th>{t!(i18n, admin.users.col.name)}</th>
                                <th>{t!(i18n, admin.users.col.roles)}</th><th>{t!(i18n, admin.users.col.sites)}</th>
                                <th>{t!(i18n, admin.users.col.status)}</th><th>{t!(i18n, admin.users.col.created)}</th>
                            </tr></thead>
                            <tbody>
                                {users.into_iter().map(|u| view! {
                                    <tr>
                                        <td><code>{u.username}</code></td>
                                        <td>{u.display_name}</td>
                                        <td>{u.roles.iter().map(|r| r.label_in(language(i18n))).collect::<Vec<_>>().join(t_string!(i18n, admin.list_separator))}</td>
                                        <td>{u.sites.join(", ")}</td>
                                        <td>{if u.active { t_string!(i18n, admin.users.active) } else { t_string!(i18n, admin.users.disabled) }}</td>
                                        <td>{u.created_at}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_view(e),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SigninLocksPage() -> impl IntoView {
    let i18n = use_i18n();
    let unlock = ServerAction::<UnlockSignin>::new();
    let locks = Resource::new(move || unlock.version().get(), |_| signin_locks());
    view! {
        <Title text=move || t_string!(i18n, admin.locks.title).to_string() />
        <h1>{t!(i18n, admin.locks.title)}</h1>
        <p class="muted">{t!(i18n, admin.locks.explainer)}</p>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match locks.await {
                    Ok(locks) if locks.is_empty() => view! { <p data-testid="no-locks">{t!(i18n, admin.locks.none)}</p> }.into_any(),
                    Ok(locks) => view! {
                        <table class="grid" data-testid="locks">
                            <thead><tr>
                                <th>{t!(i18n, admin.locks.col.username)}</th><th>{t!(i18n, admin.locks.col.address)}</th>
                                <th>{t!(i18n, admin.locks.col.locked_at)}</th><th>{t!(i18n, admin.locks.col.until)}</th><th></th>
                            </tr></thead>
                            <tbody>
                                {locks.into_iter().map(|l| view! {
                                    <tr>
                                        <td><code>{l.username.clone()}</code></td>
                                        <td>{l.client_addr.clone()}</td>
                                        <td>{l.locked_at}</td>
                                        <td>{l.locked_until}</td>
                                        <td>
                                            <ActionForm action=unlock>
                                                <input type="hidden" name="username" value=l.username />
                                                <input type="hidden" name="client_addr" value=l.client_addr />
                                                <button type="submit" class="button subtle">{t!(i18n, admin.locks.lift)}</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_view(e),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let before = move || query.read().get("before").and_then(|b| b.parse::<i64>().ok());
    let events = Resource::new(before, audit_log);
    view! {
        <Title text=move || t_string!(i18n, admin.audit.title).to_string() />
        <h1>{t!(i18n, admin.audit.title)}</h1>
        <p class="muted">{t!(i18n, admin.audit.explainer)}</p>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(events) => {
                        let older = (events.len() as i64 == AUDIT_PAGE)
                            .then(|| events.last().map(|e| e.id))
                            .flatten();
                        view! {
                            <table class="grid dense" data-testid="audit">
                                <thead><tr>
                                    <th>{t!(i18n, admin.audit.col.time)}</th><th>{t!(i18n, admin.audit.col.actor)}</th>
                                    <th>{t!(i18n, admin.audit.col.action)}</th><th>{t!(i18n, admin.audit.col.target)}</th>
                                    <th>{t!(i18n, admin.audit.col.patient)}</th><th>{t!(i18n, admin.audit.col.address)}</th>
                                    <th>{t!(i18n, admin.audit.col.outcome)}</th><th>{t!(i18n, admin.audit.col.detail)}</th>
                                </tr></thead>
                                <tbody>
                                    {events.into_iter().map(|e| {
                                        let row_class = format!("outcome-{}", e.outcome);
                                        view! {
                                        <tr class=row_class>
                                            <td class="nowrap">{e.occurred_at}</td>
                                            <td>{e.actor.unwrap_or_else(|| "—".into())}</td>
                                            <td><code>{e.action}</code></td>
                                            <td>{e.target.unwrap_or_default()}</td>
                                            <td>{e.patient_id.unwrap_or_default()}</td>
                                            <td>{e.client_addr.unwrap_or_default()}</td>
                                            <td>{outcome_text(i18n, &e.outcome)}</td>
                                            <td class="detail">{e.detail}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            {older.map(|id| view! { <p><a href=format!("/admin/audit?before={id}")>{t!(i18n, admin.audit.older)}</a></p> })}
                        }.into_any()
                    }
                    Err(e) => error_view(e),
                }
            })}
        </Transition>
    }
}
