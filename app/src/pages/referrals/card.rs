//! A finding's (a tumour-board case's) referrals, on its page: the referrals the reader's sites
//! take part in, the form to refer it to another site of the network when the reader may, and,
//! when the reader's site only follows it, where its work-up (its board work) is. The events'
//! forms return to the finding (the case).

use leptos::prelude::*;

use crate::components::board::DASH;
use crate::components::referral::{ReferralActions, ReferralOutcome, ReferralStatusBadge, route_text, workup_text};
use crate::domain::followup::event::WorkupModality;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::referral::MAX_TEXT;
use crate::i18n::{language, t, use_i18n};
use crate::model::referral::{FindingReferrals, NetworkSite, ReferralItem};
use crate::pages::mdt_meetings::when;
use crate::pages::referrals::ReferralNotice;

#[component]
pub fn FindingReferralsCard(referrals: FindingReferrals, finding_id: i64, organ: Organ) -> impl IntoView {
    let i18n = use_i18n();
    let FindingReferrals { items, targets, work_up_at } = referrals;
    let read_only =
        work_up_at.map(|site| view! { {t!(i18n, referrals.card.read_only, site = move || site.clone())} }.into_any());
    let none = view! { {t!(i18n, referrals.card.none)} }.into_any();
    let refer = (!targets.is_empty()).then(|| view! { <ReferForm targets finding_id organ /> }.into_any());
    card(items, format!("/findings/{finding_id}"), read_only, none, refer)
}

/// A tumour-board case's referrals, on the case page: as a finding's, but the form refers the
/// case to another site's board (no work-up to choose).
#[component]
pub fn CaseReferralsCard(referrals: FindingReferrals, case_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let FindingReferrals { items, targets, work_up_at } = referrals;
    let read_only = work_up_at
        .map(|site| view! { {t!(i18n, referrals.card.case_read_only, site = move || site.clone())} }.into_any());
    let none = view! { {t!(i18n, referrals.card.case_none)} }.into_any();
    let refer = (!targets.is_empty()).then(|| view! { <CaseReferForm targets case_id /> }.into_any());
    card(items, format!("/mdt/cases/{case_id}"), read_only, none, refer)
}

/// The card, the same for a finding and a case: a refusal from its forms, the notice when the
/// reader's site only follows it, its referrals (or `none`), and the refer form when the reader
/// may refer it. The events' forms return to `back`.
fn card(
    items: Vec<ReferralItem>,
    back: String,
    read_only: Option<AnyView>,
    none: AnyView,
    refer: Option<AnyView>,
) -> impl IntoView {
    let i18n = use_i18n();
    let read_only = read_only.map(|text| view! { <p class="notice info" data-testid="referral-read-only">{text}</p> });
    let items = if items.is_empty() {
        view! { <p class="muted" data-testid="no-referrals">{none}</p> }.into_any()
    } else {
        view! { <Items items back /> }.into_any()
    };
    view! {
        <section class="card" aria-labelledby="referrals-heading" data-testid="referrals-card">
            <h2 id="referrals-heading">{t!(i18n, referrals.card.heading)}</h2>
            // The page shows a refusal at its top, as it does for its own forms.
            <ReferralNotice />
            {read_only}
            {items}
            {refer}
        </section>
    }
}

#[component]
fn Items(items: Vec<ReferralItem>, back: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid dense" data-testid="finding-referrals">
            <thead><tr>
                <th scope="col">{t!(i18n, referrals.col.status)}</th>
                <th scope="col">{t!(i18n, referrals.col.route)}</th>
                <th scope="col">{t!(i18n, referrals.col.reason)}</th>
                <th scope="col">{t!(i18n, referrals.col.workup)}</th>
                <th scope="col">{t!(i18n, referrals.col.note)}</th>
                <th scope="col">{t!(i18n, referrals.col.outcome)}</th>
                <th scope="col">{t!(i18n, referrals.col.created)}</th>
                <th scope="col">{t!(i18n, referrals.col.actions)}</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|item| {
                    let workup = item.requested_workup.clone();
                    view! {
                        <tr data-testid="referral-row" data-referral=item.id data-status=item.status.as_str()>
                            <td><ReferralStatusBadge status=item.status /></td>
                            <td class="nowrap" data-testid="referral-route">{route_text(&item)}</td>
                            <td>{item.reason.clone()}</td>
                            <td>{move || workup_text(language(i18n), &workup)}</td>
                            <td>{item.decision_note.clone().unwrap_or_else(|| DASH.to_owned())}</td>
                            <td><ReferralOutcome item=item.clone() /></td>
                            <td class="nowrap">{when(&item.created_at)}</td>
                            <td><ReferralActions item=item.clone() back=back.clone() /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A site as the refer form offers it: its name, code and level.
fn target_text(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, site: &NetworkSite) -> String {
    match site.level {
        Some(level) => format!("{} ({}) · {}", site.name, site.code, level.label_in(language(i18n))),
        None => format!("{} ({})", site.name, site.code),
    }
}

#[component]
fn ReferForm(targets: Vec<NetworkSite>, finding_id: i64, organ: Organ) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h3>{t!(i18n, referrals.card.refer_heading)}</h3>
        <form method="post" action=format!("/findings/{finding_id}/referrals") class="stacked" data-testid="refer-form">
            <TargetSelect targets />
            <label>{t!(i18n, referrals.card.workup)}
                <select name="requested_workup" required>
                    {WorkupModality::ALL.iter().copied().filter(|m| m.suits(organ)).map(|m| view! {
                        <option value=m.as_str()>{move || m.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <ReasonAndSubmit />
        </form>
    }
}

#[component]
fn CaseReferForm(targets: Vec<NetworkSite>, case_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h3>{t!(i18n, referrals.card.case_refer_heading)}</h3>
        <p class="muted small">{t!(i18n, referrals.card.case_refer_hint)}</p>
        <form method="post" action=format!("/mdt/cases/{case_id}/referrals") class="stacked" data-testid="refer-form">
            <TargetSelect targets />
            <ReasonAndSubmit />
        </form>
    }
}

/// The sites a refer form offers.
#[component]
fn TargetSelect(targets: Vec<NetworkSite>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label>{t!(i18n, referrals.card.to_site)}
            <select name="to_site" required>
                {targets.into_iter().map(|site| {
                    let code = site.code.clone();
                    view! { <option value=code>{move || target_text(i18n, &site)}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// A refer form's reason and its button.
#[component]
fn ReasonAndSubmit() -> impl IntoView {
    let i18n = use_i18n();
    let max = MAX_TEXT.to_string();
    view! {
        <label>{t!(i18n, referrals.card.reason)}
            <textarea name="reason" required maxlength=max rows="3"></textarea>
            <span class="muted small">{t!(i18n, referrals.card.reason_hint, max = move || MAX_TEXT)}</span>
        </label>
        <button type="submit" class="button primary">{t!(i18n, referrals.card.submit)}</button>
    }
}
