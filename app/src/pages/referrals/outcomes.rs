//! The coordinator's home card "Outcomes of your referrals": how the findings the coordinator's
//! sites referred ended at the receiving site. It is the sending site's notice of an outcome: the
//! receiving site records the outcome on the finding, and it shows here.

use leptos::prelude::*;

use crate::api::referral::load_referral_outcomes;
use crate::components::errors::ErrorNotice;
use crate::components::referral::{ReferralOutcome, organ_text, route_text};
use crate::domain::names;
use crate::i18n::{language, t, use_i18n};
use crate::model::referral::ReferralItem;

#[component]
pub fn ReferralOutcomesCard() -> impl IntoView {
    let i18n = use_i18n();
    let outcomes = Resource::new(|| (), |_| load_referral_outcomes());
    view! {
        <section class="card" aria-labelledby="referral-outcomes-heading" data-testid="referral-outcomes">
            <h2 id="referral-outcomes-heading">{t!(i18n, referrals.outcomes.title)}</h2>
            <p>{t!(i18n, referrals.outcomes.explainer)}</p>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, referrals.loading)}</p> }>
                {move || Suspend::new(async move {
                    match outcomes.await {
                        Ok(items) if items.is_empty() => {
                            view! { <p class="muted" data-testid="no-outcomes">{t!(i18n, referrals.outcomes.none)}</p> }.into_any()
                        }
                        Ok(items) => view! { <OutcomeList items /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="card-links"><a href="/referrals?direction=outgoing">{t!(i18n, referrals.outcomes.all)}</a></p>
        </section>
    }
}

#[component]
fn OutcomeList(items: Vec<ReferralItem>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="board-home-list" data-testid="outcome-list">
            {items.into_iter().map(|item| {
                let name = match names::display_name_of(item.patient_name.as_deref()) {
                    Some(name) => name.into_any(),
                    None => t!(i18n, referrals.no_name).into_any(),
                };
                let organ = item.organ.clone();
                view! {
                    <li data-referral=item.id>
                        <a href=item.subject_href()>{name}</a>
                        " " <code class="small">{item.patient_id.clone()}</code>
                        " · " {move || organ_text(language(i18n), &organ)}
                        " · " <span class="nowrap">{route_text(&item)}</span>
                        " · " <ReferralOutcome item=item.clone() />
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
