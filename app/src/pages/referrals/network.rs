//! The referral network (administrators, `/admin/network`): every site with its level in the
//! tiered network (or outside it), the open routes a referral may take, each with a button that
//! closes it, and a form that opens another. Plain form posts to `/admin/network/...` that the
//! server answers with a redirect back (`?saved=` or `?error=`): works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::referral::load_network;
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::referral::SiteLevel;
use crate::i18n::{language, t, t_string, use_i18n};
use crate::model::referral::{Network, NetworkSite, Route};

/// Where the page lives.
pub const NETWORK_PATH: &str = "/admin/network";

#[component]
pub fn NetworkPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        if let Some(error) = q.get("error").filter(|e| !e.is_empty()) {
            let refused = t_string!(i18n, referrals.network.refused);
            return Some(view! { <p class="notice error" role="alert" data-testid="network-error">{format!("{refused} {error}")}</p> }.into_any());
        }
        let text = match q.get("saved")?.as_str() {
            "level" => t_string!(i18n, referrals.network.saved.level),
            "opened" => t_string!(i18n, referrals.network.saved.opened),
            "closed" => t_string!(i18n, referrals.network.saved.closed),
            _ => return None,
        };
        Some(view! { <p class="notice info" role="status" data-testid="network-notice">{text}</p> }.into_any())
    };
    let network = Resource::new(|| (), |_| load_network());
    view! {
        <PageTitle text=t_string!(i18n, referrals.network.title).to_owned() />
        <h1>{t!(i18n, referrals.network.title)}</h1>
        <p class="muted">{t!(i18n, referrals.network.explainer)}</p>
        {notice}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, referrals.loading)}</p> }>
            {move || Suspend::new(async move {
                match network.await {
                    Ok(network) => view! { <Levels sites=network.sites.clone() /><Routes network /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A site as the page names it: `Name (CODE)`, or the code alone for one the list does not hold.
fn site_text(sites: &[NetworkSite], code: &str) -> String {
    sites.iter().find(|s| s.code == code).map_or_else(|| code.to_owned(), |s| format!("{} ({})", s.name, s.code))
}

#[component]
fn Levels(sites: Vec<NetworkSite>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" aria-labelledby="network-levels">
            <h2 id="network-levels">{t!(i18n, referrals.network.sites)}</h2>
            <table class="grid" data-testid="network-sites">
                <thead><tr>
                    <th scope="col">{t!(i18n, referrals.network.col.code)}</th>
                    <th scope="col">{t!(i18n, referrals.network.col.name)}</th>
                    <th scope="col">{t!(i18n, referrals.network.col.level)}</th>
                </tr></thead>
                <tbody>
                    {sites.into_iter().map(|site| view! { <LevelRow site /> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn LevelRow(site: NetworkSite) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("level-{}", site.code);
    let (code, name, level) = (site.code.clone(), site.name.clone(), site.level);
    let (label_name, row, shown) = (name.clone(), code.clone(), code.clone());
    view! {
        <tr data-site=row data-level=level.map_or("", SiteLevel::as_str)>
            <td><code>{shown}</code></td>
            <td>{name}</td>
            <td>
                <form method="post" action=format!("{NETWORK_PATH}/levels") class="inline-form" data-testid="set-level">
                    <input type="hidden" name="site" value=code />
                    <label class="visually-hidden" for=id.clone()>
                        {t!(i18n, referrals.network.level_of, site = move || label_name.clone())}
                    </label>
                    <select name="level" id=id data-testid="level">
                        <option value="" selected=level.is_none()>{t!(i18n, referrals.network.not_in_network)}</option>
                        {SiteLevel::ALL.into_iter().map(|l| view! {
                            <option value=l.as_str() selected=level == Some(l)>{move || l.label_in(language(i18n))}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button subtle">{t!(i18n, referrals.network.save)}</button>
                </form>
            </td>
        </tr>
    }
}

#[component]
fn Routes(network: Network) -> impl IntoView {
    let i18n = use_i18n();
    let Network { sites, routes } = network;
    let table = if routes.is_empty() {
        view! { <p class="muted" data-testid="no-routes">{t!(i18n, referrals.network.no_routes)}</p> }.into_any()
    } else {
        let rows = routes
            .into_iter()
            .map(|Route { from, to }| {
                let (from_text, to_text) = (site_text(&sites, &from), site_text(&sites, &to));
                let (row_from, row_to) = (from.clone(), to.clone());
                view! {
                    <tr data-testid="network-route" data-from=row_from data-to=row_to>
                        <td>{from_text}</td>
                        <td>{to_text}</td>
                        <td>
                            <form method="post" action=format!("{NETWORK_PATH}/routes/close") class="inline" data-testid="close-route">
                                <input type="hidden" name="from" value=from />
                                <input type="hidden" name="to" value=to />
                                <button type="submit" class="button subtle">{t!(i18n, referrals.network.close)}</button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="grid" data-testid="network-routes">
                <thead><tr>
                    <th scope="col">{t!(i18n, referrals.network.col.from)}</th>
                    <th scope="col">{t!(i18n, referrals.network.col.to)}</th>
                    <th scope="col"><span class="visually-hidden">{t!(i18n, referrals.network.close)}</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let options = move |sites: &[NetworkSite]| {
        sites
            .iter()
            .map(|s| view! { <option value=s.code.clone()>{format!("{} ({})", s.name, s.code)}</option> })
            .collect_view()
    };
    view! {
        <section class="card" aria-labelledby="network-routes">
            <h2 id="network-routes">{t!(i18n, referrals.network.routes)}</h2>
            <p class="muted">{t!(i18n, referrals.network.routes_explainer)}</p>
            {table}
            <h3>{t!(i18n, referrals.network.add)}</h3>
            <form method="post" action=format!("{NETWORK_PATH}/routes") class="filters" data-testid="add-route">
                <label>{t!(i18n, referrals.network.col.from)}
                    <select name="from" required>{options(&sites)}</select>
                </label>
                <label>{t!(i18n, referrals.network.col.to)}
                    <select name="to" required>{options(&sites)}</select>
                </label>
                <button type="submit" class="button">{t!(i18n, referrals.network.open)}</button>
            </form>
        </section>
    }
}
