//! The records behind one figure of the programme dashboard (`/admin/program/records?figure=…`
//! and the dashboard's filter): findings for a positives figure, series for `screened`,
//! `eligible` and `skipped`, a page at a time, each linked to its finding or study.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use super::{dashboard_href, filter_of, given, records_href};
use crate::api::admin::load_program_records;
use crate::components::errors::ErrorNotice;
use crate::domain::followup::FindingStatus;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::program::Figure;
use crate::domain::program::summary::thousands;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::program::{ProgramParams, ProgramRecord, ProgramRecords, RecordsParams};

/// A figure's name in the page's language (tracked): a positives figure's label, or the series
/// figure's; anything else as asked.
fn figure_label(i18n: I18nContext<Locale>, figure: &str) -> String {
    match figure {
        "screened" => t_string!(i18n, program.records.series_screened).to_owned(),
        "eligible" => t_string!(i18n, program.records.series_eligible).to_owned(),
        "skipped" => t_string!(i18n, program.records.series_skipped).to_owned(),
        other => Figure::parse(other).map_or_else(|| other.to_owned(), |f| f.label_in(language(i18n)).to_owned()),
    }
}

/// A record's state: a finding's status, or how a series' screening ended (tracked).
fn state_label(i18n: I18nContext<Locale>, record: &ProgramRecord, state: &str) -> String {
    if record.finding_id.is_some()
        && let Ok(status) = state.parse::<FindingStatus>()
    {
        return status.label_in(language(i18n)).to_owned();
    }
    match state {
        "done" => t_string!(i18n, program.records.done).to_owned(),
        "skipped" => t_string!(i18n, program.records.skipped).to_owned(),
        other => other.to_owned(),
    }
}

#[component]
pub fn RecordsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        let filter = filter_of(&q);
        RecordsParams {
            from: filter.from,
            to: filter.to,
            site: filter.site,
            cancer: filter.cancer,
            model_version: filter.model_version,
            figure: q.get("figure").unwrap_or_default(),
            reason: given(&q, "reason"),
            page: q.get("page").and_then(|p| p.trim().parse().ok()),
        }
    });
    let records = Resource::new(move || params.get(), load_program_records);
    view! {
        <PageTitle text=t_string!(i18n, program.records.title).to_string() />
        <p><a href=move || dashboard_href(&params.get().filter()) data-testid="records-back">{t!(i18n, program.records.back)}</a></p>
        <h1>{t!(i18n, program.records.title)}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, program.loading)}</p> }>
            {move || {
                let asked = params.get();
                Suspend::new(async move {
                    match records.await {
                        Ok(records) => view! { <Records asked records /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn Records(asked: RecordsParams, records: ProgramRecords) -> impl IntoView {
    let i18n = use_i18n();
    // The period the service used (it fills in the default), with the rest of the filter as asked.
    let filter = ProgramParams { from: Some(records.from.clone()), to: Some(records.to.clone()), ..asked.filter() };
    let cancer: Option<Organ> = asked.cancer.as_deref().and_then(|c| c.parse().ok());
    let figure = records.figure.clone();
    let reason = records.reason;
    let all = move || t_string!(i18n, program.records.all);
    let site = asked.site.clone();
    let version = asked.model_version.clone();
    let period = format!("{} – {}", records.from, records.to);
    let pages = records.total.div_ceil(records.page_size.max(1)).max(1);
    let page_link = |page: u64| records_href(&filter, &records.figure, None, reason, page);
    let previous = (records.page > 0).then(|| page_link(records.page.min(pages) - 1));
    let next = (records.page + 1 < pages).then(|| page_link(records.page + 1));
    let (page, total) = (records.page + 1, records.total);
    view! {
        <dl class="program-facts" data-testid="records-facts">
            <dt>{t!(i18n, program.records.figure)}</dt>
            <dd data-testid="records-figure">
                {move || figure_label(i18n, &figure)}
                {reason.map(|r| view! { " · " {move || r.label_in(language(i18n))} })}
            </dd>
            <dt>{t!(i18n, program.records.period)}</dt>
            <dd>{period}</dd>
            <dt>{t!(i18n, program.records.site)}</dt>
            <dd>{move || site.clone().unwrap_or_else(|| all().to_owned())}</dd>
            <dt>{t!(i18n, program.records.cancer)}</dt>
            <dd>{move || cancer.map_or_else(|| all().to_owned(), |c| c.label_in(language(i18n)).to_owned())}</dd>
            <dt>{t!(i18n, program.records.model_version)}</dt>
            <dd>{move || version.clone().unwrap_or_else(|| all().to_owned())}</dd>
            <dt>{t!(i18n, program.records.count)}</dt>
            <dd><strong data-testid="records-total">{thousands(total)}</strong></dd>
        </dl>
        <RecordsTable items=records.items />
        {(previous.is_some() || next.is_some()).then(|| view! {
            <nav class="program-pages" aria-label=move || t_string!(i18n, program.records.pages)>
                {previous.map(|href| view! { <a href=href rel="prev">{t!(i18n, program.records.previous)}</a> })}
                <span>{t!(i18n, program.records.page, page = move || page, pages = move || pages)}</span>
                {next.map(|href| view! { <a href=href rel="next">{t!(i18n, program.records.next)}</a> })}
            </nav>
        })}
    }
}

#[component]
fn RecordsTable(items: Vec<ProgramRecord>) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        return view! { <p class="muted" data-testid="records">{t!(i18n, program.records.empty)}</p> }.into_any();
    }
    let rows = items
        .into_iter()
        .map(|record| {
            let cancer = record.cancer;
            let state = record.state.clone();
            let state = {
                let record = record.clone();
                move || state_label(i18n, &record, &state)
            };
            let link = match (record.finding_id, record.study_uid.clone()) {
                (Some(id), _) => view! {
                    <a href=format!("/findings/{id}")>{t!(i18n, program.records.finding, id = move || format!("#{id}"))}</a>
                }
                .into_any(),
                (None, Some(uid)) => {
                    view! { <a href=format!("/studies/{uid}")>{t!(i18n, program.records.study)}</a> }.into_any()
                }
                (None, None) => "—".into_any(),
            };
            view! {
                <tr>
                    <td><code>{record.patient_id}</code></td>
                    <td>{record.site.unwrap_or_else(|| "—".to_owned())}</td>
                    <td>{move || cancer.map_or("—", |c| c.label_in(language(i18n)))}</td>
                    <td class="nowrap">{record.scan_date}</td>
                    <td>{state}</td>
                    <td><code>{record.model_version}</code></td>
                    <td>{link}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid dense" data-testid="records">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, program.records.col.patient_id)}</th>
                    <th scope="col">{t!(i18n, program.records.col.site)}</th>
                    <th scope="col">{t!(i18n, program.records.col.cancer)}</th>
                    <th scope="col">{t!(i18n, program.records.col.scan_date)}</th>
                    <th scope="col">{t!(i18n, program.records.col.state)}</th>
                    <th scope="col">{t!(i18n, program.records.col.model_version)}</th>
                    <th scope="col">{t!(i18n, program.records.col.record)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::program::SkipReason;

    #[test]
    fn page_links_keep_the_figure_reason_and_filter() {
        let filter = ProgramParams { from: Some("2026-01-01".into()), ..ProgramParams::default() };
        assert_eq!(
            records_href(&filter, "skipped", None, Some(SkipReason::Contrast), 1),
            "/admin/program/records?figure=skipped&reason=contrast&from=2026-01-01&page=1"
        );
    }
}
