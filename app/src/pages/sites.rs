//! Sites: each hospital or clinic with its code, name, patient ID assigning authority and the
//! calling AE titles whose C-STORE associations file studies under it; an administrator's edit
//! of each and a form for a new one. Plain form posts to `/admin/sites/...`: works without
//! JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::admin::list_site_details;
use crate::components::errors::ErrorNotice;
use crate::i18n::{t, t_string, use_i18n};
use crate::model::admin::SiteDetail;

#[component]
pub fn SitesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        if let Some(error) = q.get("error").filter(|e| !e.is_empty()) {
            Some((true, format!("{} {error}", t_string!(i18n, admin.sites.refused))))
        } else if let Some(code) = q.get("saved") {
            Some((false, format!("{} {code}", t_string!(i18n, admin.sites.saved))))
        } else {
            q.get("created").map(|code| (false, format!("{} {code}", t_string!(i18n, admin.sites.created))))
        }
    };
    let sites = Resource::new(|| (), |_| list_site_details());
    view! {
        <PageTitle text=t_string!(i18n, admin.sites.title).to_string() />
        <h1>{t!(i18n, admin.sites.title)}</h1>
        <p class="muted">{t!(i18n, admin.sites.explainer)}</p>
        // Each site's level and the routes between sites are the referral network's page.
        <p class="card-links"><a href="/admin/network" data-testid="network-link">{t!(i18n, referrals.network.title)}</a></p>
        {move || notice().map(|(error, text)| view! {
            <p class=if error { "notice error" } else { "notice" } role=if error { "alert" } else { "status" } data-testid="sites-notice">{text}</p>
        })}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match sites.await {
                    Ok(sites) => view! { <NewSite /><SitesTable sites /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SitesTable(sites: Vec<SiteDetail>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid" data-testid="sites">
            <thead><tr>
                <th scope="col">{t!(i18n, admin.sites.col.code)}</th><th scope="col">{t!(i18n, admin.sites.col.name)}</th>
                <th scope="col">{t!(i18n, admin.sites.col.authority)}</th><th scope="col">{t!(i18n, admin.sites.col.ae_titles)}</th>
                <th scope="col">{t!(i18n, admin.sites.col.edit)}</th>
            </tr></thead>
            <tbody>
                {sites.into_iter().map(|site| {
                    let titles = site.ae_titles.clone();
                    let (code, name, authority) = (site.code.clone(), site.name.clone(), site.patient_id_authority.clone());
                    let row = code.clone();
                    view! {
                        <tr data-site=row>
                            <td><code>{code}</code></td>
                            <td>{name}</td>
                            <td><code>{authority}</code></td>
                            <td data-testid="ae-titles">
                                {if titles.is_empty() {
                                    view! { <span class="muted">{t!(i18n, admin.sites.no_ae_titles)}</span> }.into_any()
                                } else {
                                    titles.into_iter().map(|title| view! { <code class="tag">{title}</code>" " }).collect_view().into_any()
                                }}
                            </td>
                            <td><EditSite site /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EditSite(site: SiteDetail) -> impl IntoView {
    let i18n = use_i18n();
    let action = format!("/admin/sites/{}", crate::format::query_value(&site.code));
    view! {
        <details class="edit-site">
            <summary>{t!(i18n, admin.sites.edit)}</summary>
            <form method="post" action=action class="stacked" data-testid="edit-site">
                <label>{t!(i18n, admin.sites.col.name)}
                    <input type="text" name="name" value=site.name required maxlength="200" />
                </label>
                <label>{t!(i18n, admin.sites.col.authority)}
                    <input type="text" name="patient_id_authority" value=site.patient_id_authority required maxlength="64" />
                    <span class="muted">{t!(i18n, admin.sites.authority_note)}</span>
                </label>
                <label>{t!(i18n, admin.sites.col.ae_titles)}
                    <textarea name="ae_titles" rows="3" spellcheck="false">{site.ae_titles.join("\n")}</textarea>
                    <span class="muted">{t!(i18n, admin.sites.ae_hint)}</span>
                </label>
                <button type="submit" class="button">{t!(i18n, admin.sites.save)}</button>
            </form>
        </details>
    }
}

#[component]
fn NewSite() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" aria-labelledby="new-site-title">
            <h2 id="new-site-title">{t!(i18n, admin.sites.new_title)}</h2>
            <form method="post" action="/admin/sites" class="stacked" data-testid="new-site">
                <label>{t!(i18n, admin.sites.col.code)}
                    <input type="text" name="code" required minlength="2" maxlength="32" autocomplete="off" />
                    <span class="muted">{t!(i18n, admin.sites.code_hint)}</span>
                </label>
                <label>{t!(i18n, admin.sites.col.name)}
                    <input type="text" name="name" required maxlength="200" />
                </label>
                <label>{t!(i18n, admin.sites.col.authority)}
                    <input type="text" name="patient_id_authority" maxlength="64" />
                    <span class="muted">{t!(i18n, admin.sites.authority_hint)}</span>
                </label>
                <label>{t!(i18n, admin.sites.col.ae_titles)}
                    <textarea name="ae_titles" rows="3" spellcheck="false"></textarea>
                    <span class="muted">{t!(i18n, admin.sites.ae_hint)}</span>
                </label>
                <button type="submit" class="button">{t!(i18n, admin.sites.create)}</button>
            </form>
        </section>
    }
}
