//! Users: each account with its roles, sites, last sign-in and state, and an administrator's
//! edit of it (roles, sites, active), "end sessions" and "reset password"; a form for a new
//! account. The temporary password of a new account or a reset is shown once, right after (the
//! form post leaves it in the session and this page takes it). Plain form posts to
//! `/admin/users/...`: works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::api::admin::{list_sites, list_users, take_issued_password};
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::admin::{IssuedPassword, UserSummary};
use crate::model::program::SiteOption;

fn roles_text(i18n: I18nContext<Locale>, roles: &[Role]) -> String {
    roles.iter().map(|r| r.label_in(language(i18n))).collect::<Vec<_>>().join(t_string!(i18n, admin.list_separator))
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        if let Some(error) = q.get("error").filter(|e| !e.is_empty()) {
            Some((true, format!("{} {error}", t_string!(i18n, admin.users.refused))))
        } else if let Some(user) = q.get("saved") {
            Some((false, format!("{} {user}", t_string!(i18n, admin.users.saved))))
        } else if let Some(user) = q.get("created") {
            Some((false, format!("{} {user}", t_string!(i18n, admin.users.created))))
        } else if let Some(user) = q.get("reset") {
            Some((false, format!("{} {user}", t_string!(i18n, admin.users.reset_done))))
        } else {
            q.get("ended").map(|user| (false, format!("{} {user}", t_string!(i18n, admin.users.ended))))
        }
    };
    let page = Resource::new(
        || (),
        |_| async {
            Ok::<_, crate::model::AppError>((list_users().await?, list_sites().await?, take_issued_password().await?))
        },
    );
    view! {
        <PageTitle text=t_string!(i18n, admin.users.title).to_string() />
        <h1>{t!(i18n, admin.users.title)}</h1>
        <p class="muted">{t!(i18n, admin.users.created_with, <code> = <code />)}</p>
        {move || notice().map(|(error, text)| view! {
            <p class=if error { "notice error" } else { "notice" } role=if error { "alert" } else { "status" } data-testid="users-notice">{text}</p>
        })}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok((users, sites, issued)) => view! {
                        {issued.map(|issued| view! { <Issued issued /> })}
                        <NewUser sites=sites.clone() />
                        <UsersTable users sites />
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UsersTable(users: Vec<UserSummary>, sites: Vec<SiteOption>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid" data-testid="users">
            <thead><tr>
                <th scope="col">{t!(i18n, admin.users.col.username)}</th><th scope="col">{t!(i18n, admin.users.col.name)}</th>
                <th scope="col">{t!(i18n, admin.users.col.roles)}</th><th scope="col">{t!(i18n, admin.users.col.sites)}</th>
                <th scope="col">{t!(i18n, admin.users.col.status)}</th><th scope="col">{t!(i18n, admin.users.col.last_signin)}</th>
                <th scope="col">{t!(i18n, admin.users.col.edit)}</th>
            </tr></thead>
            <tbody>
                {users.into_iter().map(|u| {
                    let roles = u.roles.clone();
                    view! {
                        <tr data-user=u.username.clone()>
                            <td><code>{u.username.clone()}</code></td>
                            <td>{u.display_name.clone()}</td>
                            <td>{move || roles_text(i18n, &roles)}</td>
                            <td>{u.sites.join(", ")}</td>
                            <td>
                                {move || if u.active { t_string!(i18n, admin.users.active) } else { t_string!(i18n, admin.users.disabled) }}
                                {u.must_change_password.then(|| view! {
                                    <br /><span class="tag" data-testid="must-change">{move || t_string!(i18n, admin.users.must_change)}</span>
                                })}
                            </td>
                            <td class="nowrap">{u.last_signin_at.clone().unwrap_or_else(|| "—".into())}</td>
                            <td><EditUser user=u.clone() sites=sites.clone() /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EditUser(user: UserSummary, sites: Vec<SiteOption>) -> impl IntoView {
    let i18n = use_i18n();
    let action = format!("/admin/users/{}", crate::format::query_value(&user.username));
    let end = format!("{action}/end-sessions");
    let reset = format!("{action}/reset-password");
    view! {
        <details class="edit-user">
            <summary>{t!(i18n, admin.users.edit)}</summary>
            <form method="post" action=action class="stacked" data-testid="edit-user">
                <label>{t!(i18n, admin.users.col.name)}
                    <input type="text" name="display_name" value=user.display_name.clone() required maxlength="200" />
                </label>
                <label class="inline">
                    <input type="checkbox" name="active" value="true" checked=user.active />
                    " "{t!(i18n, admin.users.may_sign_in)}
                </label>
                <fieldset>
                    <legend>{t!(i18n, admin.users.col.roles)}</legend>
                    {Role::ALL.into_iter().map(|role| view! {
                        <label class="inline">
                            <input type="checkbox" name="roles" value=role.as_str() checked=user.roles.contains(&role) />
                            " "{move || role.label_in(language(i18n))}
                        </label>
                    }).collect_view()}
                </fieldset>
                <fieldset>
                    <legend>{t!(i18n, admin.users.col.sites)}</legend>
                    {sites.into_iter().map(|site| {
                        let checked = user.sites.contains(&site.code);
                        view! {
                            <label class="inline">
                                <input type="checkbox" name="sites" value=site.code.clone() checked=checked />
                                " "{format!("{} ({})", site.name, site.code)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="button">{t!(i18n, admin.users.save)}</button>
            </form>
            <form method="post" action=end data-testid="end-sessions">
                <button type="submit" class="button subtle">{t!(i18n, admin.users.end_sessions)}</button>
            </form>
            <form method="post" action=reset data-testid="reset-password">
                <button type="submit" class="button subtle">{t!(i18n, admin.users.reset)}</button>
                <span class="muted">" "{t!(i18n, admin.users.reset_note)}</span>
            </form>
        </details>
    }
}

/// The temporary password just made by this browser's form post: shown this once.
#[component]
fn Issued(issued: IssuedPassword) -> impl IntoView {
    let i18n = use_i18n();
    let reset = use_query_map().read_untracked().get("reset").is_some();
    let forced = issued.user.must_change_password;
    view! {
        <section class="card created-token" data-testid="issued-password" aria-labelledby="issued-title">
            <h2 id="issued-title">
                {move || if reset { t_string!(i18n, admin.users.issued_reset) } else { t_string!(i18n, admin.users.issued_created) }}
                ": "<code>{issued.user.username.clone()}</code>
            </h2>
            <p><code class="secret" data-testid="temporary-password">{issued.temporary_password}</code></p>
            <p>{move || if forced { t_string!(i18n, admin.users.issued_note) } else { t_string!(i18n, admin.users.issued_note_kept) }}</p>
        </section>
    }
}

/// A new account: the administrator picks who it is and what it may do, never its password.
#[component]
fn NewUser(sites: Vec<SiteOption>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" aria-labelledby="new-user-title">
            <h2 id="new-user-title">{t!(i18n, admin.users.new_title)}</h2>
            <form method="post" action="/admin/users" class="stacked" data-testid="new-user">
                <label>{t!(i18n, admin.users.col.username)}
                    <input type="text" name="username" required maxlength="64" autocomplete="off" />
                    <span class="muted">{t!(i18n, admin.users.username_hint)}</span>
                </label>
                <label>{t!(i18n, admin.users.col.name)}
                    <input type="text" name="display_name" maxlength="200" />
                    <span class="muted">{t!(i18n, admin.users.name_hint)}</span>
                </label>
                <fieldset>
                    <legend>{t!(i18n, admin.users.col.roles)}</legend>
                    {Role::ALL.into_iter().map(|role| view! {
                        <label class="inline">
                            <input type="checkbox" name="roles" value=role.as_str() />
                            " "{move || role.label_in(language(i18n))}
                        </label>
                    }).collect_view()}
                </fieldset>
                <fieldset>
                    <legend>{t!(i18n, admin.users.col.sites)}</legend>
                    {sites.into_iter().map(|site| view! {
                        <label class="inline">
                            <input type="checkbox" name="sites" value=site.code.clone() />
                            " "{format!("{} ({})", site.name, site.code)}
                        </label>
                    }).collect_view()}
                </fieldset>
                <label class="inline">
                    <input type="checkbox" name="must_change_password" value="true" checked=true />
                    " "{t!(i18n, admin.users.must_change_field)}
                </label>
                <p class="muted">{t!(i18n, admin.users.password_note)}</p>
                <button type="submit" class="button">{t!(i18n, admin.users.create)}</button>
            </form>
        </section>
    }
}
