//! Settings: the follow-up service levels, the contact attempts before "lost to follow-up" and
//! the device screening runs on, each with the environment's default beside it. A plain form
//! post to `/admin/settings`: works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::settings::load_settings;
use crate::components::errors::ErrorNotice;
use crate::domain::chronic::ChronicRules;
use crate::domain::chronic::rules::{
    CORONARY_CALCIUM_MM3, LOW_BONE_DENSITY_L1_HU, OSTEOPOROSIS_L1_HU, STEATOSIS_LIVER_HU,
    STEATOSIS_LIVER_MINUS_SPLEEN_HU,
};
use crate::domain::settings::{
    CONTACTS_BEFORE_LOST, INFERENCE_DEVICES, OUTCOME_DAYS, REVIEW_WORKING_DAYS, WORKUP_DONE_DAYS, WORKUP_ORDERED_DAYS,
};
use crate::i18n::{t, t_string, use_i18n};
use crate::model::settings::{Changed, SettingsView};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let saved = move || query.read().get("saved").is_some();
    let refused = move || query.read().get("error").filter(|e| !e.is_empty());
    let settings = Resource::new(|| (), |_| load_settings());
    view! {
        <PageTitle text=t_string!(i18n, settings.title).to_string() />
        <h1>{t!(i18n, settings.title)}</h1>
        <p class="muted">{t!(i18n, settings.explainer)}</p>
        {move || saved().then(|| view! { <p class="notice" role="status" data-testid="settings-saved">{t!(i18n, settings.saved)}</p> })}
        {move || refused().map(|e| view! {
            <p class="notice error" role="alert" data-testid="settings-refused">{t!(i18n, settings.refused)}" "{e}</p>
        })}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, settings.loading)}</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(view) => view! { <SettingsForm view=view.clone() /> <ChronicRulesForm view /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// "Changed on this page by X at T" or "the environment's".
fn source(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, changed: &Option<Changed>) -> String {
    match changed {
        Some(c) => format!("{} {} · {}", t_string!(i18n, settings.changed_by), c.by, c.at),
        None => t_string!(i18n, settings.from_environment).to_owned(),
    }
}

#[component]
fn NumberField(name: &'static str, label: String, value: u32, default: u32, range: (u32, u32)) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("setting-{name}");
    view! {
        <label for=id.clone()>{label}</label>
        <input type="number" id=id name=name value=value.to_string() min=range.0.to_string() max=range.1.to_string() required />
        <span class="muted small">{t!(i18n, settings.default)}" "{default}" · "{format!("{}–{}", range.0, range.1)}</span>
    }
}

#[component]
fn SettingsForm(view: SettingsView) -> impl IntoView {
    let i18n = use_i18n();
    let (levels, defaults) = (view.levels, view.default_levels);
    let current_device = view.inference_device.clone();
    view! {
        <form method="post" action="/admin/settings" class="settings" data-testid="settings">
            <fieldset>
                <legend>{t!(i18n, settings.levels)}</legend>
                <p class="muted small" data-testid="levels-source">{source(i18n, &view.levels_changed)}</p>
                <div class="settings-grid">
                    <NumberField name="review_working_days" label=t_string!(i18n, settings.review_working_days).to_owned() value=levels.review_working_days default=defaults.review_working_days range=REVIEW_WORKING_DAYS />
                    <NumberField name="workup_ordered_days" label=t_string!(i18n, settings.workup_ordered_days).to_owned() value=levels.workup_ordered_days default=defaults.workup_ordered_days range=WORKUP_ORDERED_DAYS />
                    <NumberField name="workup_done_days" label=t_string!(i18n, settings.workup_done_days).to_owned() value=levels.workup_done_days default=defaults.workup_done_days range=WORKUP_DONE_DAYS />
                    <NumberField name="outcome_days" label=t_string!(i18n, settings.outcome_days).to_owned() value=levels.outcome_days default=defaults.outcome_days range=OUTCOME_DAYS />
                    <NumberField name="contacts_before_lost" label=t_string!(i18n, settings.contacts_before_lost).to_owned() value=levels.contacts_before_lost default=defaults.contacts_before_lost range=CONTACTS_BEFORE_LOST />
                </div>
                <p class="muted small">{t!(i18n, settings.levels_apply)}</p>
            </fieldset>
            <fieldset>
                <legend>{t!(i18n, settings.device)}</legend>
                <p class="muted small" data-testid="device-source">{source(i18n, &view.device_changed)}</p>
                {INFERENCE_DEVICES.into_iter().map(|device| view! {
                    <label class="inline">
                        <input type="radio" name="inference_device" value=device checked=current_device == device />
                        " "<code>{device}</code>
                    </label>
                }).collect_view()}
                <p class="muted small">{t!(i18n, settings.default)}" "<code>{view.default_inference_device.clone()}</code>". "{t!(i18n, settings.device_apply)}</p>
            </fieldset>
            <button type="submit" class="button">{t!(i18n, settings.save)}</button>
        </form>
    }
}

#[component]
fn CutOffField(name: &'static str, label: String, value: f64, default: f64, range: (f64, f64)) -> impl IntoView {
    let i18n = use_i18n();
    let id = format!("setting-{name}");
    view! {
        <label for=id.clone()>{label}</label>
        <input type="number" id=id name=name value=value.to_string() min=range.0.to_string() max=range.1.to_string() step="0.1" required />
        <span class="muted small">{t!(i18n, settings.default)}" "{default}" · "{format!("{}–{}", range.0, range.1)}</span>
    }
}

/// The chronic-finding cut-offs: their own form (`/admin/settings/chronic`), so that saving them
/// never resubmits the service levels.
#[component]
fn ChronicRulesForm(view: SettingsView) -> impl IntoView {
    let i18n = use_i18n();
    let (rules, defaults) = (view.chronic_rules, ChronicRules::default());
    view! {
        <form method="post" action="/admin/settings/chronic" class="settings" data-testid="chronic-rules">
            <fieldset>
                <legend>{t!(i18n, settings.chronic)}</legend>
                <p class="muted small" data-testid="chronic-rules-source">{source(i18n, &view.chronic_rules_changed)}</p>
                <div class="settings-grid">
                    <CutOffField name="steatosis_liver_hu" label=t_string!(i18n, settings.steatosis_liver_hu).to_owned() value=rules.steatosis_liver_hu default=defaults.steatosis_liver_hu range=STEATOSIS_LIVER_HU />
                    <CutOffField name="steatosis_liver_minus_spleen_hu" label=t_string!(i18n, settings.steatosis_liver_minus_spleen_hu).to_owned() value=rules.steatosis_liver_minus_spleen_hu default=defaults.steatosis_liver_minus_spleen_hu range=STEATOSIS_LIVER_MINUS_SPLEEN_HU />
                    <CutOffField name="osteoporosis_l1_hu" label=t_string!(i18n, settings.osteoporosis_l1_hu).to_owned() value=rules.osteoporosis_l1_hu default=defaults.osteoporosis_l1_hu range=OSTEOPOROSIS_L1_HU />
                    <CutOffField name="low_bone_density_l1_hu" label=t_string!(i18n, settings.low_bone_density_l1_hu).to_owned() value=rules.low_bone_density_l1_hu default=defaults.low_bone_density_l1_hu range=LOW_BONE_DENSITY_L1_HU />
                    <CutOffField name="coronary_calcium_mm3" label=t_string!(i18n, settings.coronary_calcium_mm3).to_owned() value=rules.coronary_calcium_mm3 default=defaults.coronary_calcium_mm3 range=CORONARY_CALCIUM_MM3 />
                </div>
                <p class="muted small">{t!(i18n, settings.chronic_apply)}</p>
                <p class="muted small">{t!(i18n, settings.chronic_sources)}</p>
            </fieldset>
            <button type="submit" class="button">{t!(i18n, settings.save_chronic)}</button>
        </form>
    }
}
