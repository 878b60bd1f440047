//! Administration pages: users, sign-in locks, the audit log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::admin::{UnlockSignin, audit_log, list_users, signin_locks};
use crate::model::AppError;
use crate::model::admin::AUDIT_PAGE;

/// Renders a server function's error where its data would have been.
fn error_view(error: AppError) -> AnyView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }.into_any()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Users" />
        <h1>"Users"</h1>
        <p class="muted">"Accounts are created with " <code>"elysium user add"</code> "."</p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! {
                        <table class="grid" data-testid="users">
                            <thead><tr><th>"Username"</th><th>"Name"</th><th>"Roles"</th><th>"Sites"</th><th>"Status"</th><th>"Created"</th></tr></thead>
                            <tbody>
                                {users.into_iter().map(|u| view! {
                                    <tr>
                                        <td><code>{u.username}</code></td>
                                        <td>{u.display_name}</td>
                                        <td>{u.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")}</td>
                                        <td>{u.sites.join(", ")}</td>
                                        <td>{if u.active { "active" } else { "disabled" }}</td>
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
    let unlock = ServerAction::<UnlockSignin>::new();
    let locks = Resource::new(move || unlock.version().get(), |_| signin_locks());
    view! {
        <Title text="Sign-in locks" />
        <h1>"Sign-in locks"</h1>
        <p class="muted">
            "A username is locked for 15 minutes from one address after 5 failed sign-ins within 15 minutes. "
            "Lift a lock early once the person is known to be who they say."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match locks.await {
                    Ok(locks) if locks.is_empty() => view! { <p data-testid="no-locks">"No username is locked."</p> }.into_any(),
                    Ok(locks) => view! {
                        <table class="grid" data-testid="locks">
                            <thead><tr><th>"Username"</th><th>"Address"</th><th>"Locked at"</th><th>"Until"</th><th></th></tr></thead>
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
                                                <button type="submit" class="button subtle">"Lift lock"</button>
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
    let query = use_query_map();
    let before = move || query.read().get("before").and_then(|b| b.parse::<i64>().ok());
    let events = Resource::new(before, audit_log);
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="muted">"Every sign-in attempt, every change and every view of a patient record, newest first. The database refuses to alter or delete these rows."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(events) => {
                        let older = (events.len() as i64 == AUDIT_PAGE)
                            .then(|| events.last().map(|e| e.id))
                            .flatten();
                        view! {
                            <table class="grid dense" data-testid="audit">
                                <thead><tr><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Patient"</th><th>"Address"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
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
                                            <td>{e.outcome}</td>
                                            <td class="detail">{e.detail}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            {older.map(|id| view! { <p><a href=format!("/admin/audit?before={id}")>"Older events →"</a></p> })}
                        }.into_any()
                    }
                    Err(e) => error_view(e),
                }
            })}
        </Transition>
    }
}
