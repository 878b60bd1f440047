//! The administrator's programme dashboard (`/admin/program`, and the administrator's home for
//! the default period): the series screened, where every AI-positive finding stands per cancer
//! with the PPV, the period in a sentence per cancer and the weekly trend. Every count links to
//! the records it counts (`/admin/program/records`, in `records.rs`); the service counts a figure
//! and lists its records with the same predicate over the same rows, so they reconcile.

mod chart;
mod records;

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::admin::load_program;
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::program::summary::{self, Facts, thousands};
use crate::domain::program::{Figure, FlowFigure, Proportion, ReferralFlow, SkipReason};
use crate::domain::referral::ReferralStatus;
use crate::format;
use crate::i18n::{language, t, t_string, use_i18n};
use crate::model::program::{CancerFigures, ChronicFigures, ProgramParams, ProgramReport, SiteOption, SkipCount};

pub use records::RecordsPage;

const DASHBOARD: &str = "/admin/program";
const RECORDS: &str = "/admin/program/records";
const CSV: &str = "/api/v1/metrics/program.csv";
const REFERRALS: &str = "/referrals";

/// `path?key=value&…` of the pairs that have a value (an empty value means "all": left out, so
/// that the REST API, which refuses unknown parameters, takes the same query).
fn href(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| {
            value.filter(|v| !v.is_empty()).map(|v| format!("{key}={}", crate::format::query_value(v)))
        })
        .collect();
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// The filter's query pairs, `cancer` replaced by `cancer` when given.
fn filter_pairs<'a>(filter: &'a ProgramParams, cancer: Option<&'a str>) -> [(&'static str, Option<&'a str>); 5] {
    [
        ("from", filter.from.as_deref()),
        ("to", filter.to.as_deref()),
        ("site", filter.site.as_deref()),
        ("cancer", cancer.or(filter.cancer.as_deref())),
        ("model_version", filter.model_version.as_deref()),
    ]
}

/// A value of the query string, an empty one as absent (an empty choice means "all").
fn given(query: &ParamsMap, key: &str) -> Option<String> {
    query.get(key).filter(|v| !v.trim().is_empty())
}

/// The dashboard's filter as the query string gives it.
fn filter_of(query: &ParamsMap) -> ProgramParams {
    ProgramParams {
        from: given(query, "from"),
        to: given(query, "to"),
        site: given(query, "site"),
        cancer: given(query, "cancer"),
        model_version: given(query, "model_version"),
    }
}

/// The filter a report was counted for, its period resolved: a link then lists the records of the
/// same period on whatever day it is followed.
fn resolved(report: &ProgramReport) -> ProgramParams {
    ProgramParams {
        from: Some(report.from.clone()),
        to: Some(report.to.clone()),
        site: report.site.clone(),
        cancer: report.cancer.map(|c| c.as_str().to_owned()),
        model_version: report.model_version.clone(),
    }
}

/// The records behind a figure (a [`Figure`] or a series figure: `screened`, `eligible`,
/// `skipped` with an optional skip reason) under `filter`, of `cancer` when given.
fn records_href(
    filter: &ProgramParams,
    figure: &str,
    cancer: Option<Organ>,
    reason: Option<SkipReason>,
    page: u64,
) -> String {
    let page = (page > 0).then(|| page.to_string());
    let mut pairs = vec![("figure", Some(figure)), ("reason", reason.map(SkipReason::as_str))];
    pairs.extend(filter_pairs(filter, cancer.map(Organ::as_str)));
    pairs.push(("page", page.as_deref()));
    href(RECORDS, &pairs)
}

/// The referrals a flow's figure counts: the referral list filtered by the figure's own predicate
/// (`FlowFigure::status`, `FlowFigure::outcome_reported`) between the flow's sites, made in the
/// period the report counted (`from`, `to`).
fn referrals_href(flow: &ReferralFlow, figure: FlowFigure, from: &str, to: &str) -> String {
    href(
        REFERRALS,
        &[
            ("direction", Some("outgoing")),
            ("from_site", Some(&flow.from_site)),
            ("to_site", Some(&flow.to_site)),
            ("status", figure.status().map(ReferralStatus::as_str)),
            ("created_from", Some(from)),
            ("created_to", Some(to)),
            ("outcome", figure.outcome_reported().then_some("reported")),
        ],
    )
}

fn dashboard_href(filter: &ProgramParams) -> String {
    href(DASHBOARD, &filter_pairs(filter, None))
}

/// A proportion as a percentage with one decimal.
fn percent(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// Days as counted (whole) or interpolated (one decimal); "—" for none.
fn days_text(days: Option<f64>) -> String {
    match days {
        None => "—".to_owned(),
        Some(d) if d.fract() == 0.0 => format!("{d:.0}"),
        Some(d) => format!("{d:.1}"),
    }
}

/// The administrator's programme dashboard, filtered by the query string.
#[component]
pub fn ProgramPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| filter_of(&query.read()));
    view! {
        <PageTitle text=t_string!(i18n, program.title).to_string() />
        <h1 data-testid="program-title">{t!(i18n, program.title)}</h1>
        <ProgramDashboard params />
    }
}

/// The filter, then the programme's figures for it (or the error that refused it). The form
/// always submits to the dashboard's page, so the administrator's home can show it too.
#[component]
pub fn ProgramDashboard(#[prop(into)] params: Signal<ProgramParams>) -> impl IntoView {
    let i18n = use_i18n();
    let report = Resource::new(move || params.get(), load_program);
    view! {
        <div class="program" data-testid="program">
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, program.loading)}</p> }>
                {move || {
                    let given = params.get();
                    Suspend::new(async move {
                        match report.await {
                            Ok(report) => view! {
                                <Filter
                                    given
                                    sites=report.sites.clone()
                                    versions=report.model_versions.clone()
                                    from=report.from.clone()
                                    to=report.to.clone()
                                />
                                <Report report />
                            }
                            .into_any(),
                            Err(error) => view! {
                                <Filter given sites=Vec::new() versions=Vec::new() from=String::new() to=String::new() />
                                <ErrorNotice error />
                            }
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
    }
}

/// The filter form: a plain GET to the dashboard, so it works without JavaScript. The dates
/// show the period used when none was given.
#[component]
fn Filter(
    given: ProgramParams,
    sites: Vec<SiteOption>,
    versions: Vec<String>,
    from: String,
    to: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let site = given.site.clone().unwrap_or_default();
    let cancer = given.cancer.clone().unwrap_or_default();
    let version = given.model_version.clone().unwrap_or_default();
    view! {
        <form method="get" action=DASHBOARD class="filters program-filter" role="search" data-testid="program-filter"
            aria-label=move || t_string!(i18n, program.filter.label)>
            <label>{t!(i18n, program.filter.from)}
                <input type="date" name="from" value=given.from.clone().unwrap_or(from) /></label>
            <label>{t!(i18n, program.filter.to)}
                <input type="date" name="to" value=given.to.clone().unwrap_or(to) /></label>
            <label>{t!(i18n, program.filter.site)}
                <select name="site">
                    <option value="">{t!(i18n, program.filter.all_sites)}</option>
                    {sites.into_iter().map(|s| {
                        let selected = s.code == site;
                        view! { <option value=s.code selected=selected>{s.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, program.filter.cancer)}
                <select name="cancer">
                    <option value="">{t!(i18n, program.filter.all_cancers)}</option>
                    {Organ::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected={cancer == c.as_str()}>{move || c.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, program.filter.model_version)}
                <select name="model_version">
                    <option value="">{t!(i18n, program.filter.all_versions)}</option>
                    {versions.into_iter().map(|v| {
                        let selected = v == version;
                        view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button">{t!(i18n, program.filter.apply)}</button>
            <a href=DASHBOARD class="button subtle">{t!(i18n, program.filter.reset)}</a>
        </form>
    }
}

#[component]
fn Report(report: ProgramReport) -> impl IntoView {
    let i18n = use_i18n();
    let filter = resolved(&report);
    // In the page's language, so that a Chinese reader's spreadsheet is in Chinese.
    let csv = {
        let filter = filter.clone();
        move || {
            let mut pairs = filter_pairs(&filter, None).to_vec();
            pairs.push(("lang", Some(language(i18n).as_str())));
            href(CSV, &pairs)
        }
    };
    let (from, to) = (report.from.clone(), report.to.clone());
    let period = format::parse_date(&report.from).zip(format::parse_date(&report.to));
    view! {
        <p class="program-period">
            <span data-testid="program-period">
                {t!(i18n, program.period, from = move || from.clone(), to = move || to.clone())}
            </span>
            " · "
            <a href=csv download="" rel="external" data-testid="program-csv">{t!(i18n, program.csv)}</a>
        </p>
        <SeriesLine
            screened=report.screened
            eligible=report.eligible_any
            skipped=report.skipped
            by_reason=report.skipped_by_reason
            filter=filter.clone()
        />
        <section aria-labelledby="program-table-heading">
            <h2 id="program-table-heading">{t!(i18n, program.table.heading)}</h2>
            <FiguresTable cancers=report.cancers.clone() total=report.total filter from=report.from.clone() to=report.to.clone() />
            <Legend />
        </section>
        <ReferralFlows flows=report.referral_flows sites=report.sites from=report.from.clone() to=report.to.clone() />
        <section aria-labelledby="program-summary-heading">
            <h2 id="program-summary-heading">{t!(i18n, program.summary.heading)}</h2>
            <Sentences cancers=report.cancers period />
        </section>
        <section aria-labelledby="program-trend-heading">
            <h2 id="program-trend-heading">{t!(i18n, program.trend.heading)}</h2>
            <chart::TrendChart weeks=report.weeks from=report.from to=report.to />
        </section>
        <ChronicTable figures=report.chronic />
    }
}

/// The referral flows of the period: per sending and receiving site, the referrals made and
/// where they stand, each count linked to the referral list it counts, and the median days from
/// acceptance to work-up at the receiving site.
#[component]
fn ReferralFlows(flows: Vec<ReferralFlow>, sites: Vec<SiteOption>, from: String, to: String) -> impl IntoView {
    let i18n = use_i18n();
    let body = if flows.is_empty() {
        view! { <p class="muted" data-testid="no-referral-flows">{t!(i18n, program.flows.none)}</p> }.into_any()
    } else {
        let name =
            |code: &str| sites.iter().find(|s| s.code == code).map_or_else(|| code.to_owned(), |s| s.name.clone());
        let rows = flows
            .into_iter()
            .map(|flow| {
                let key = format!("{}-{}", flow.from_site, flow.to_site);
                let counts = FlowFigure::ALL
                    .into_iter()
                    .map(|figure| {
                        let n = flow.get(figure);
                        let shown = if n == 0 {
                            view! { <span class="muted">"0"</span> }.into_any()
                        } else {
                            view! { <a href=referrals_href(&flow, figure, &from, &to)>{thousands(n)}</a> }.into_any()
                        };
                        view! { <td class="num" data-testid=format!("flow-{key}-{}", figure.as_str())>{shown}</td> }
                    })
                    .collect_view();
                view! {
                    <tr data-flow=key.clone()>
                        <th scope="row" title=flow.from_site.clone()>{name(&flow.from_site)}</th>
                        <th scope="row" title=flow.to_site.clone()>{name(&flow.to_site)}</th>
                        {counts}
                        <td class="num" data-testid=format!("flow-{key}-median_days_to_workup")>
                            {days_text(flow.median_days_to_workup)}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let (from, to) = (from.clone(), to.clone());
        view! {
            <div class="program-table" role="region" tabindex="0" aria-label=move || t_string!(i18n, program.flows.heading)>
                <table class="grid dense" data-testid="program-flows">
                    <caption>{t!(i18n, program.flows.caption, from = move || from.clone(), to = move || to.clone())}</caption>
                    <thead><tr>
                        <th scope="col">{t!(i18n, program.flows.from_site)}</th>
                        <th scope="col">{t!(i18n, program.flows.to_site)}</th>
                        <th scope="col">{t!(i18n, program.flows.referred)}</th>
                        <th scope="col">{t!(i18n, program.flows.requested)}</th>
                        <th scope="col">{t!(i18n, program.flows.accepted)}</th>
                        <th scope="col">{t!(i18n, program.flows.declined)}</th>
                        <th scope="col">{t!(i18n, program.flows.withdrawn)}</th>
                        <th scope="col">{t!(i18n, program.flows.outcome_reported)}</th>
                        <th scope="col">{t!(i18n, program.flows.median_workup)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="program-flows-heading">
            <h2 id="program-flows-heading">{t!(i18n, program.flows.heading)}</h2>
            <p class="muted small">{t!(i18n, program.flows.explainer)}</p>
            {body}
        </section>
    }
}

/// The chronic-disease pathway in the period: findings raised per condition, by where each
/// stands now, linked to the coordinators' list.
#[component]
fn ChronicTable(figures: Vec<ChronicFigures>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = figures
        .into_iter()
        .map(|f| {
            let kind = f.kind;
            view! {
                <tr data-testid=format!("chronic-{}", kind.as_str())>
                    <th scope="row"><a href=format!("/chronic?status=all&kind={}", kind.as_str())>{move || kind.label_in(language(i18n))}</a></th>
                    <td data-testid="chronic-raised">{thousands(f.raised)}</td>
                    <td>{thousands(f.new)}</td>
                    <td>{thousands(f.letter_sent)}</td>
                    <td>{thousands(f.acknowledged)}</td>
                    <td>{thousands(f.closed)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="program-chronic-heading">
            <h2 id="program-chronic-heading">{t!(i18n, program.chronic.heading)}</h2>
            <p class="muted small">{t!(i18n, program.chronic.explainer)}</p>
            <table class="grid dense" data-testid="program-chronic">
                <thead><tr>
                    <th scope="col">{t!(i18n, program.chronic.condition)}</th>
                    <th scope="col">{t!(i18n, program.chronic.raised)}</th>
                    <th scope="col">{t!(i18n, program.chronic.new)}</th>
                    <th scope="col">{t!(i18n, program.chronic.letter_sent)}</th>
                    <th scope="col">{t!(i18n, program.chronic.acknowledged)}</th>
                    <th scope="col">{t!(i18n, program.chronic.closed)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// The series of the period: screened, eligible, skipped (and why), each linked to its list.
#[component]
fn SeriesLine(
    screened: u64,
    eligible: u64,
    skipped: u64,
    by_reason: Vec<SkipCount>,
    filter: ProgramParams,
) -> impl IntoView {
    let i18n = use_i18n();
    let series = |figure: &str| records_href(&filter, figure, None, None, 0);
    let reasons = if by_reason.is_empty() {
        view! { <span>{t!(i18n, program.series.no_skips)}</span> }.into_any()
    } else {
        let items = by_reason
            .into_iter()
            .map(|s| {
                let reason = s.reason;
                view! {
                    <li>
                        <a href=records_href(&filter, "skipped", None, Some(reason), 0)>
                            {move || reason.label_in(language(i18n))} " "
                            <strong data-testid=format!("skip-{}", reason.as_str())>{thousands(s.series)}</strong>
                        </a>
                    </li>
                }
            })
            .collect_view();
        view! { <ul>{items}</ul> }.into_any()
    };
    view! {
        <section class="program-series" aria-labelledby="program-series-heading">
            <h2 id="program-series-heading">{t!(i18n, program.series.heading)}</h2>
            <ul class="stats">
                <li><a href=series("screened")>
                    <strong data-testid="series-screened">{thousands(screened)}</strong> " " {t!(i18n, program.series.screened)}
                </a></li>
                <li><a href=series("eligible")>
                    <strong data-testid="series-eligible">{thousands(eligible)}</strong> " " {t!(i18n, program.series.eligible)}
                </a></li>
                <li><a href=series("skipped")>
                    <strong data-testid="series-skipped">{thousands(skipped)}</strong> " " {t!(i18n, program.series.skipped)}
                </a></li>
            </ul>
            <div class="program-skips">
                <span>{t!(i18n, program.series.by_reason)}</span> " " {reasons}
            </div>
        </section>
    }
}

#[component]
fn FiguresTable(
    cancers: Vec<CancerFigures>,
    total: CancerFigures,
    filter: ProgramParams,
    from: String,
    to: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let rows = cancers.into_iter().map(|row| figure_row(row, false, &filter)).collect_view();
    let total = figure_row(total, true, &filter);
    view! {
        <div class="program-table" role="region" tabindex="0" aria-label=move || t_string!(i18n, program.table.region)>
            <table class="grid dense" data-testid="program-table">
                <caption>{t!(i18n, program.table.caption, from = move || from.clone(), to = move || to.clone())}</caption>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, program.table.cancer)}</th>
                        <th scope="col">{t!(i18n, program.table.screened)}</th>
                        <th scope="col">{t!(i18n, program.table.eligible)}</th>
                        <th scope="col">{t!(i18n, program.table.patients)}</th>
                        {Figure::ALL.into_iter().map(|f| view! {
                            <th scope="col" data-figure=f.as_str()>{move || f.label_in(language(i18n))}</th>
                        }).collect_view()}
                        <th scope="col">{t!(i18n, program.table.ppv_resolved)}</th>
                        <th scope="col">{t!(i18n, program.table.ppv_all)}</th>
                        <th scope="col">{t!(i18n, program.table.median_outcome)}</th>
                        <th scope="col">{t!(i18n, program.table.p90_outcome)}</th>
                        <th scope="col">{t!(i18n, program.table.median_decision)}</th>
                        <th scope="col">{t!(i18n, program.table.median_treatment)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>{total}</tfoot>
            </table>
        </div>
    }
}

/// One cancer's row, or (`total`) the row of all cancers: its counts link to their records (the
/// total row's to those of the filter's cancer, if any, else of every cancer).
fn figure_row(row: CancerFigures, total: bool, filter: &ProgramParams) -> impl IntoView + use<> {
    let i18n = use_i18n();
    let cancer = row.cancer;
    let key = if total { "all" } else { cancer.as_str() };
    let link_cancer = (!total).then_some(cancer);
    let testid = move |column: &str| format!("fig-{key}-{column}");
    let count = |column: &str, n: u64| {
        let link = records_href(filter, column, link_cancer, None, 0);
        let shown = if n == 0 {
            view! { <span class="muted">"0"</span> }.into_any()
        } else {
            view! { <a href=link>{thousands(n)}</a> }.into_any()
        };
        view! { <td class="num" data-testid=testid(column)>{shown}</td> }
    };
    let heading = if total {
        t!(i18n, program.table.all_cancers).into_any()
    } else {
        (move || cancer.label_in(language(i18n))).into_any()
    };
    let days = |column: &str, d: Option<f64>| view! { <td class="num" data-testid=testid(column)>{days_text(d)}</td> };
    view! {
        <tr data-cancer=key class:program-total=total>
            <th scope="row">{heading}</th>
            {count("screened", row.screened)}
            {count("eligible", row.eligible)}
            <td class="num" data-testid=testid("patients")>{thousands(row.patients)}</td>
            {Figure::ALL.into_iter().map(|f| count(f.as_str(), row.tally.get(f))).collect_view()}
            <PpvCell p=row.tally.ppv_resolved testid=testid("ppv_resolved") />
            <PpvCell p=row.tally.ppv_all testid=testid("ppv_all") />
            {days("median_days_to_outcome", row.tally.median_days_to_outcome)}
            {days("p90_days_to_outcome", row.tally.p90_days_to_outcome)}
            {days("median_days_to_decision", row.tally.median_days_to_decision)}
            {days("median_days_to_treatment", row.tally.median_days_to_treatment)}
        </tr>
    }
}

/// A PPV: the percentage, its 95 % interval, and the count it comes from; "—" without one.
#[component]
fn PpvCell(p: Proportion, testid: String) -> impl IntoView {
    match p.value {
        None => view! { <td class="num" data-testid=testid>"—"</td> }.into_any(),
        Some(value) => {
            let interval =
                p.ci_low.zip(p.ci_high).map(|(low, high)| format!("({} – {} %)", percent(low), percent(high)));
            view! {
                <td class="num" data-testid=testid>
                    <strong class="nowrap">{format!("{} %", percent(value))}</strong>
                    {interval.map(|i| view! { " " <span class="program-ci nowrap small">{i}</span> })}
                    " " <span class="program-ci muted small">{format!("{}/{}", p.numerator, p.denominator)}</span>
                </td>
            }
            .into_any()
        }
    }
}

#[component]
fn Legend() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="program-legend" data-testid="program-legend">
            <h3>{t!(i18n, program.legend.heading)}</h3>
            <ul>
                <li>{t!(i18n, program.legend.partition)}</li>
                <li>{t!(i18n, program.legend.ppv_resolved)}</li>
                <li>{t!(i18n, program.legend.ppv_all)}</li>
                <li>{t!(i18n, program.legend.ci)}</li>
                <li>{t!(i18n, program.legend.period)}</li>
                <li>{t!(i18n, program.legend.links)}</li>
            </ul>
        </div>
    }
}

/// One sentence per cancer that had eligible series or positives, written in the page's
/// language (the report's own `summary` is in the caller's profile language, for API clients).
#[component]
fn Sentences(cancers: Vec<CancerFigures>, period: Option<(time::Date, time::Date)>) -> impl IntoView {
    let i18n = use_i18n();
    let facts: Vec<Facts> = match period {
        None => Vec::new(),
        Some((from, to)) => cancers
            .iter()
            .filter(|row| row.tally.positive > 0 || row.eligible > 0)
            .map(|row| Facts {
                cancer: row.cancer,
                from,
                to,
                patients: row.patients,
                positive: row.tally.positive,
                confirmed_imaging: row.tally.confirmed_imaging,
                confirmed_pathology: row.tally.confirmed_pathology,
                open: row.tally.open,
            })
            .collect(),
    };
    if facts.is_empty() {
        return view! { <p class="muted" data-testid="no-summary">{t!(i18n, program.summary.none)}</p> }.into_any();
    }
    facts
        .into_iter()
        .map(|f| {
            view! {
                <p class="program-sentence" data-testid=format!("summary-{}", f.cancer.as_str())>
                    {move || summary::sentence(&f, language(i18n))}
                </p>
            }
        })
        .collect_view()
        .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> ProgramParams {
        ProgramParams {
            from: Some("2026-01-01".into()),
            to: Some("2026-06-30".into()),
            site: None,
            cancer: None,
            model_version: Some("1.2+b".into()),
        }
    }

    #[test]
    fn links_carry_the_filter_encoded_and_leave_out_what_is_not_given() {
        assert_eq!(
            records_href(&filter(), "positive", Some(Organ::Liver), None, 0),
            "/admin/program/records?figure=positive&from=2026-01-01&to=2026-06-30&cancer=liver&model_version=1.2%2Bb"
        );
        assert_eq!(
            records_href(&filter(), "skipped", None, Some(SkipReason::NotCt), 2),
            "/admin/program/records?figure=skipped&reason=not_ct&from=2026-01-01&to=2026-06-30&model_version=1.2%2Bb&page=2"
        );
        let mut only_cancer = ProgramParams { cancer: Some("lung".into()), ..ProgramParams::default() };
        // The total row of a one-cancer filter keeps the filter's cancer.
        assert_eq!(records_href(&only_cancer, "open", None, None, 0), "/admin/program/records?figure=open&cancer=lung");
        only_cancer.cancer = Some(String::new());
        assert_eq!(dashboard_href(&only_cancer), "/admin/program");
    }

    #[test]
    fn a_flows_links_list_what_its_figures_count() {
        let flow = ReferralFlow {
            from_site: "DEMO-RC".into(),
            to_site: "DEMO-GH".into(),
            referred: 6,
            requested: 1,
            accepted: 3,
            declined: 1,
            withdrawn: 1,
            outcome_reported: 1,
            median_days_to_workup: Some(6.5),
        };
        let link = |figure| referrals_href(&flow, figure, "2026-01-01", "2026-06-30");
        let between = "direction=outgoing&from_site=DEMO-RC&to_site=DEMO-GH";
        let period = "created_from=2026-01-01&created_to=2026-06-30";
        assert_eq!(link(FlowFigure::Referred), format!("/referrals?{between}&{period}"));
        assert_eq!(link(FlowFigure::Declined), format!("/referrals?{between}&status=declined&{period}"));
        assert_eq!(
            link(FlowFigure::OutcomeReported),
            format!("/referrals?{between}&status=accepted&{period}&outcome=reported")
        );
    }

    #[test]
    fn percentages_and_days() {
        assert_eq!(percent(3.0 / 7.0), "42.9");
        assert_eq!(percent(1.0), "100.0");
        assert_eq!(days_text(None), "—");
        assert_eq!(days_text(Some(10.0)), "10");
        assert_eq!(days_text(Some(18.5)), "18.5");
    }
}
