//! A referral as every referral view shows it (the referral list, a finding's referrals card, the
//! coordinator's home): its status, the work-up asked for, the outcome the receiving site
//! reached, and the forms for what the reader may do with it, written once so that the views
//! cannot drift apart. Each form is a plain post to `/referrals/{id}/events` with the version
//! shown and the page to return to, so it works without JavaScript and a stale form is refused
//! rather than overwriting a colleague's decision.

use leptos::prelude::*;

use crate::components::board::DASH;
use crate::domain::followup::event::WorkupModality;
use crate::domain::language::{Labelled, Language};
use crate::domain::organs::Organ;
use crate::domain::referral::{BOARD_REVIEW, MAX_TEXT, ReferralEventKind, ReferralStatus};
use crate::i18n::{language, t, use_i18n};
use crate::model::referral::ReferralItem;
use crate::pages::mdt_meetings::when;

/// The requested work-up's name in `language` (a case's board review; a code this version does
/// not know, as stored).
pub fn workup_text(language: Language, code: &str) -> String {
    if code == BOARD_REVIEW {
        return match language {
            Language::English => "Tumour board review".to_owned(),
            Language::SimplifiedChinese => "MDT 讨论".to_owned(),
        };
    }
    WorkupModality::parse(code).map_or_else(|| code.to_owned(), |m| m.label_in(language).to_owned())
}

/// The organ's name in `language` (an organ this version does not know, as stored).
pub fn organ_text(language: Language, organ: &str) -> String {
    organ.parse::<Organ>().map_or_else(|_| organ.to_owned(), |o| o.label_in(language).to_owned())
}

/// `DEMO-RC → DEMO-GH`.
pub fn route_text(item: &ReferralItem) -> String {
    format!("{} → {}", item.from_site, item.to_site)
}

/// The referral's status as a badge, in the page's language (its class colours it; the word
/// says it).
#[component]
pub fn ReferralStatusBadge(status: ReferralStatus) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=format!("status referral-status-{}", status.as_str()) data-testid="referral-status">
            {move || status.label_in(language(i18n))}
        </span>
    }
}

/// The finding's outcome at the receiving site (a case's signed board decision) and when it was
/// recorded, or a dash.
#[component]
pub fn ReferralOutcome(item: ReferralItem) -> impl IntoView {
    let i18n = use_i18n();
    match item.outcome {
        Some(outcome) => {
            let at = item.outcome_at.as_deref().map(when);
            view! {
                <span data-testid="referral-outcome">{move || outcome.label_in(language(i18n))}</span>
                {at.map(|at| view! { <br /><span class="muted small nowrap">{at}</span> })}
            }
            .into_any()
        }
        None => DASH.into_any(),
    }
}

/// One form per action open to the reader; `back` is the page (path and query) the server
/// returns to with the result.
#[component]
pub fn ReferralActions(item: ReferralItem, #[prop(into)] back: String) -> impl IntoView {
    let i18n = use_i18n();
    if item.actions.is_empty() {
        return ().into_any();
    }
    let max = MAX_TEXT.to_string();
    item.actions
        .iter()
        .map(|&kind| {
            let text = match kind {
                ReferralEventKind::Accept => view! {
                    <label>{t!(i18n, referrals.action.note)} " "
                        <input name="note" maxlength=max.clone() autocomplete="off" />
                    </label>
                }
                .into_any(),
                ReferralEventKind::Decline | ReferralEventKind::Withdraw => view! {
                    <label>{t!(i18n, referrals.action.reason)} " "
                        <input name="reason" required maxlength=max.clone() autocomplete="off" />
                    </label>
                }
                .into_any(),
            };
            view! {
                <form method="post" action=format!("/referrals/{}/events", item.id) class="referral-action"
                    data-testid=format!("referral-action-{}", kind.as_str())>
                    <input type="hidden" name="event" value=kind.as_str() />
                    <input type="hidden" name="expected_version" value=item.version />
                    <input type="hidden" name="back" value=back.clone() />
                    {text}
                    <button type="submit" class="button">{move || kind.label_in(language(i18n))}</button>
                </form>
            }
        })
        .collect_view()
        .into_any()
}
