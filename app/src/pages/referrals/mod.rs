//! Cross-site referral's pages: the coordinators' list (`/referrals`, incoming and outgoing,
//! by status; administrators see every site's), a finding's referrals card ([`card`]) and the
//! administrators' network ([`network`]). Every write is a plain form post that the server
//! answers with a redirect back (`?referral=STATUS` when done, `?error=` with the refusal in
//! the page's language), so the pages work without JavaScript.

pub mod card;
pub mod network;
pub mod outcomes;
pub mod query;

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::referral::load_referrals;
use crate::components::board::DASH;
use crate::components::errors::ErrorNotice;
use crate::components::referral::{
    ReferralActions, ReferralOutcome, ReferralStatusBadge, organ_text, route_text, workup_text,
};
use crate::domain::language::Labelled;
use crate::domain::names;
use crate::domain::referral::ReferralStatus;
use crate::i18n::{language, t, t_string, use_i18n};
use crate::model::referral::{REFERRAL_PAGE, ReferralItem, ReferralList};
use crate::pages::mdt_meetings::when;

use query::ListQuery;

/// The two directions, as the list's `direction` names them; the first is the default.
const DIRECTIONS: [&str; 2] = ["incoming", "outgoing"];

/// The notice a form post's redirect left: the status a referral reached, or (with `refusals`;
/// a page that shows its refusals itself leaves it out) the refusal's words.
#[component]
pub fn ReferralNotice(#[prop(optional)] refusals: bool) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    move || {
        let query = query.read();
        if let Some(error) = query.get("error").filter(|e| refusals && !e.is_empty()) {
            return Some(view! { <p class="notice error" role="alert" data-testid="error">{error}</p> }.into_any());
        }
        let status = query.get("referral")?.parse::<ReferralStatus>().ok()?;
        let label = move || status.label_in(language(i18n)).to_owned();
        Some(
            view! {
                <p class="notice info" role="status" data-testid="referral-notice">{t!(i18n, referrals.notice.done, status = label)}</p>
            }
            .into_any(),
        )
    }
}

#[component]
pub fn ReferralsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let list_query = Memo::new(move |_| ListQuery::from_pairs(&*query.read()));
    let list = Resource::new(move || list_query.get().to_query_string(), load_referrals);
    view! {
        <PageTitle text=t_string!(i18n, referrals.title).to_owned() />
        <h1>{t!(i18n, referrals.title)}</h1>
        <p class="muted">{t!(i18n, referrals.explainer)}</p>
        <ReferralNotice refusals=true />
        {move || view! { <Filters query=list_query.get() /> }}
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, referrals.loading)}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <ReferralTable list query=list_query.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Incoming | Outgoing as links, and the status filter as a GET form that carries every other
/// filter of the address along in hidden fields.
#[component]
fn Filters(query: ListQuery) -> impl IntoView {
    let i18n = use_i18n();
    let direction = query.get("direction").unwrap_or(DIRECTIONS[0]).to_owned();
    let status = query.get("status").unwrap_or_default().to_owned();
    let tabs = DIRECTIONS
        .into_iter()
        .map(|d| {
            let current = direction == d;
            let href = query.filtered("direction", Some(d)).href();
            let label = move || match d {
                "outgoing" => t_string!(i18n, referrals.direction.outgoing),
                _ => t_string!(i18n, referrals.direction.incoming),
            };
            view! {
                <a href=href class="chip" class:active=current aria-current=current.then_some("page")
                    data-testid=format!("direction-{d}")>{label}</a>
            }
        })
        .collect_view();
    let hidden = query
        .others(&["status", "page"])
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view();
    view! {
        <nav class="quickfilters" aria-label=move || t_string!(i18n, referrals.direction.label) data-testid="directions">{tabs}</nav>
        <form method="get" action=query::LIST_PATH class="filters" role="search" data-testid="referral-filters">
            {hidden}
            <label>{t!(i18n, referrals.filter.status)} " "
                <select name="status">
                    <option value="" selected=status.is_empty()>{t!(i18n, referrals.filter.all)}</option>
                    {ReferralStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=status == s.as_str()>{move || s.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            " "
            <button type="submit" class="button">{t!(i18n, referrals.filter.apply)}</button>
        </form>
    }
}

#[component]
fn ReferralTable(list: ReferralList, query: ListQuery) -> impl IntoView {
    let i18n = use_i18n();
    let page = query.get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0).max(0);
    let pages = ((list.total + REFERRAL_PAGE - 1) / REFERRAL_PAGE).max(1);
    let at_page = |p: i64| query.with("page", Some(&p.to_string())).href();
    let prev = (page > 0).then(|| at_page(page - 1));
    let next = (page + 1 < pages).then(|| at_page(page + 1));
    let total = list.total;
    let (shown_page, back) = (page + 1, query.href());
    let body = if list.items.is_empty() {
        view! { <p data-testid="no-referrals">{t!(i18n, referrals.none)}</p> }.into_any()
    } else {
        view! {
            <table class="grid dense" data-testid="referrals">
                <thead><tr>
                    <th scope="col">{t!(i18n, referrals.col.patient)}</th>
                    <th scope="col">{t!(i18n, referrals.col.organ)}</th>
                    <th scope="col">{t!(i18n, referrals.col.route)}</th>
                    <th scope="col">{t!(i18n, referrals.col.status)}</th>
                    <th scope="col">{t!(i18n, referrals.col.reason)}</th>
                    <th scope="col">{t!(i18n, referrals.col.workup)}</th>
                    <th scope="col">{t!(i18n, referrals.col.note)}</th>
                    <th scope="col">{t!(i18n, referrals.col.outcome)}</th>
                    <th scope="col">{t!(i18n, referrals.col.created)}</th>
                    <th scope="col">{t!(i18n, referrals.col.actions)}</th>
                </tr></thead>
                <tbody>
                    {list.items.into_iter().map(|item| view! { <Row item back=back.clone() /> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <p class="muted small" data-testid="referral-total">
            {t!(i18n, referrals.total, count = move || total, page = move || shown_page, pages = move || pages)}
        </p>
        {body}
        <p class="pager">
            {prev.map(|href| view! { <a href=href rel="prev">{t!(i18n, referrals.previous)}</a> })}
            " "
            {next.map(|href| view! { <a href=href rel="next">{t!(i18n, referrals.next)}</a> })}
        </p>
    }
}

/// ` · MDT case #12` after the patient of a case's referral (a finding's says nothing more).
fn case_mark(case_id: Option<i64>) -> impl IntoView {
    let i18n = use_i18n();
    case_id.map(|id| {
        view! { <br /><span class="small" data-testid="referral-case">{t!(i18n, referrals.case_mark)} {format!(" #{id}")}</span> }
    })
}

#[component]
fn Row(item: ReferralItem, back: String) -> impl IntoView {
    let i18n = use_i18n();
    let subject = item.subject_href();
    let name = match names::display_name_of(item.patient_name.as_deref()) {
        Some(name) => name.into_any(),
        None => t!(i18n, referrals.no_name).into_any(),
    };
    let (organ, workup) = (item.organ.clone(), item.requested_workup.clone());
    view! {
        <tr data-testid="referral-row" data-referral=item.id data-finding=item.finding_id data-case=item.case_id data-status=item.status.as_str()>
            <td><a href=subject data-testid="referral-finding">{name}</a>{case_mark(item.case_id)}<br /><code class="small">{item.patient_id.clone()}</code></td>
            <td>{move || organ_text(language(i18n), &organ)}</td>
            <td class="nowrap" data-testid="referral-route">{route_text(&item)}</td>
            <td><ReferralStatusBadge status=item.status /></td>
            <td>{item.reason.clone()}</td>
            <td>{move || workup_text(language(i18n), &workup)}</td>
            <td>{item.decision_note.clone().unwrap_or_else(|| DASH.to_owned())}</td>
            <td><ReferralOutcome item=item.clone() /></td>
            <td class="nowrap">{when(&item.created_at)}</td>
            <td><ReferralActions item=item.clone() back /></td>
        </tr>
    }
}
