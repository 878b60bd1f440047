//! The de-identified export (`/admin/export`): a period and two downloads, the findings and the
//! tumour board's decisions as pseudonymous CSV tables (`/api/v1/admin/export/*.csv`, a plain
//! GET form: works without JavaScript), and the command that exports the images, which are too
//! large for a browser.

use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::api::export::load_export;
use crate::components::errors::ErrorNotice;
use crate::i18n::{t, t_string, use_i18n};
use crate::model::export::ExportPage;

pub const FINDINGS_CSV: &str = "/api/v1/admin/export/findings.csv";
pub const DECISIONS_CSV: &str = "/api/v1/admin/export/mdt_decisions.csv";

#[component]
pub fn ExportPageView() -> impl IntoView {
    let i18n = use_i18n();
    let page = Resource::new(|| (), |_| load_export());
    view! {
        <PageTitle text=t_string!(i18n, admin.export.title).to_string() />
        <h1>{t!(i18n, admin.export.title)}</h1>
        <p class="muted">{t!(i18n, admin.export.explainer)}</p>
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <ExportForm page /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ExportForm(page: ExportPage) -> impl IntoView {
    let i18n = use_i18n();
    let command =
        format!("ELYSIUM_EXPORT_KEY=... elysium export --deidentify --from {} --to {} OUT", page.from, page.to);
    view! {
        {(!page.key_configured).then(|| view! {
            <p class="notice error" role="alert" data-testid="export-no-key">{t!(i18n, admin.export.no_key)}</p>
        })}
        <form method="get" action=FINDINGS_CSV class="filters" data-testid="export-form"
            aria-label=move || t_string!(i18n, admin.export.period)>
            <label>{t!(i18n, admin.export.from)}
                <input type="date" name="from" value=page.from.clone() required /></label>
            <label>{t!(i18n, admin.export.to)}
                <input type="date" name="to" value=page.to.clone() required /></label>
            <button type="submit" class="button" data-testid="export-findings">{t!(i18n, admin.export.download_findings)}</button>
            <button type="submit" class="button" formaction=DECISIONS_CSV data-testid="export-decisions">
                {t!(i18n, admin.export.download_decisions)}
            </button>
        </form>
        <p class="muted small">{t!(i18n, admin.export.audited)}" "{t!(i18n, admin.export.key_note)}</p>
        <h2>{t!(i18n, admin.export.images_title)}</h2>
        <p>{t!(i18n, admin.export.images)}</p>
        <pre data-testid="export-command"><code>{command}</code></pre>
        <p class="muted">{t!(i18n, admin.export.burned_in)}</p>
    }
}
