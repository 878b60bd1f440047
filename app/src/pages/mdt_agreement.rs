//! AI-versus-board agreement: per category and per cancer, with the cases behind each figure.
//! Every figure is shown with the cases it counts (and those it leaves out), so a reader can
//! reconcile it with the discordant cases listed below it.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::api::mdt::load_agreement;
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::mdt::agreement::Agreement;
use crate::domain::staging::Cancer;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::mdt::{AgreementParams, AgreementReport, CancerAgreement, CategoryAgreement, Discordance};

/// A category's name (`t`, `n`, `m`, `stage_group`) in the page's language (tracked).
fn category_label(i18n: I18nContext<Locale>, category: &str) -> String {
    match category {
        "t" => t_string!(i18n, board.agreement.category.t).to_owned(),
        "n" => t_string!(i18n, board.agreement.category.n).to_owned(),
        "m" => t_string!(i18n, board.agreement.category.m).to_owned(),
        "stage_group" => t_string!(i18n, board.agreement.category.stage_group).to_owned(),
        other => other.to_owned(),
    }
}

fn percent_text(a: &Agreement) -> String {
    a.percent.map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%"))
}

fn kappa_text(kappa: f64) -> String {
    format!("{kappa:.2}")
}

fn ci_text((low, high): (f64, f64)) -> String {
    format!("{low:.2} – {high:.2}")
}

#[component]
pub fn AgreementPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        AgreementParams { cancer: get("cancer"), from: get("from"), to: get("to") }
    });
    let report = Resource::new(move || params.get(), load_agreement);
    view! {
        <PageTitle text=t_string!(i18n, board.agreement_title).to_string() />
        <p><a href="/mdt">{t!(i18n, board.board_cases)}</a></p>
        <h1>{t!(i18n, board.agreement_title)}</h1>
        {move || view! { <Filter params=params.get() /> }}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, board.loading)}</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <Report report /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Filter(params: AgreementParams) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = params.cancer.clone().unwrap_or_default();
    view! {
        <form method="get" action="/mdt/agreement" class="filters" role="search" data-testid="agreement-filter"
            aria-label=move || t_string!(i18n, board.agreement.filter)>
            <label>{t!(i18n, board.agreement.cancer)}
                <select name="cancer">
                    <option value="">{t!(i18n, board.agreement.all_cancers)}</option>
                    {Cancer::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected={chosen == c.as_str()}>{move || c.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, board.agreement.from)}
                <input type="date" name="from" value=params.from.clone().unwrap_or_default() /></label>
            <label>{t!(i18n, board.agreement.to)}
                <input type="date" name="to" value=params.to.clone().unwrap_or_default() /></label>
            <button type="submit" class="button">{t!(i18n, board.agreement.apply)}</button>
            <a href="/mdt/agreement" class="button subtle">{t!(i18n, board.agreement.reset)}</a>
        </form>
    }
}

#[component]
fn Report(report: AgreementReport) -> impl IntoView {
    let i18n = use_i18n();
    if report.cases.is_empty() {
        return view! { <p data-testid="agreement-empty">{t!(i18n, board.agreement.no_cases)}</p> }.into_any();
    }
    let total = report.cases.len();
    view! {
        <section aria-labelledby="agreement-all-heading">
            <h2 id="agreement-all-heading">{t!(i18n, board.agreement.all_cases)}</h2>
            <div class="board-agreement-cards">
                {report.categories.into_iter().map(|c| view! { <CategoryCard c total /> }).collect_view()}
            </div>
            <CaseLinks ids=report.cases testid="agreement-cases">{t!(i18n, board.agreement.counted, count = move || total)}</CaseLinks>
        </section>
        <section aria-labelledby="agreement-cancer-heading">
            <h2 id="agreement-cancer-heading">{t!(i18n, board.agreement.per_cancer)}</h2>
            <PerCancer rows=report.per_cancer />
        </section>
        <section aria-labelledby="agreement-discordant-heading">
            <h2 id="agreement-discordant-heading">{t!(i18n, board.agreement.discordant)}</h2>
            <DiscordantTable rows=report.discordant />
        </section>
    }
    .into_any()
}

/// Case numbers as links to the cases, after a label (which says how many).
#[component]
fn CaseLinks(ids: Vec<i64>, #[prop(into)] testid: String, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    let links = if ids.is_empty() {
        view! { " " <span>{t!(i18n, board.agreement.none)}</span> }.into_any()
    } else {
        let items = ids
            .into_iter()
            .map(|id| view! { <li><a href=format!("/mdt/cases/{id}") data-case=id>{format!("#{id}")}</a></li> })
            .collect_view();
        view! { <ul>{items}</ul> }.into_any()
    };
    view! {
        <div class="board-case-links" data-testid=testid>
            <span class="board-case-links-label">{children()}</span>
            {links}
        </div>
    }
}

#[component]
fn CategoryCard(c: CategoryAgreement, total: usize) -> impl IntoView {
    let i18n = use_i18n();
    let category = c.category.clone();
    let a = c.agreement;
    let label = {
        let category = category.clone();
        move || category_label(i18n, &category)
    };
    let testid = |what: &str| format!("agreement-{what}-{category}");
    let heading_id = format!("agreement-{category}-heading");
    let disagreed = a.n - a.agreed;
    let left_out = c.not_proposed.len();
    view! {
        <section class="card board-agreement-card" aria-labelledby=heading_id.clone() data-category=category.clone()>
            <h3 id=heading_id.clone()>{label}</h3>
            <dl class="board-figures">
                <dt>{t!(i18n, board.agreement.n)}</dt>
                <dd><span data-testid=testid("n")>{a.n}</span> " " <span class="muted small">{format!("/ {total}")}</span></dd>
                <dt>{t!(i18n, board.agreement.agreed)}</dt><dd data-testid=testid("agreed")>{a.agreed}</dd>
                <dt>{t!(i18n, board.agreement.disagreed)}</dt><dd data-testid=testid("disagreed")>{disagreed}</dd>
                <dt>{t!(i18n, board.agreement.percent)}</dt>
                <dd><strong data-testid=testid("percent")>{percent_text(&a)}</strong></dd>
                <dt>{t!(i18n, board.agreement.kappa)}</dt>
                <dd><KappaFigure a=a.clone() testid=testid("kappa") /></dd>
            </dl>
            <Matrix a=a.clone() category=category.clone() />
            <CaseLinks ids=c.not_proposed testid=testid("not-proposed")>
                {t!(i18n, board.agreement.not_proposed, count = move || left_out)}
            </CaseLinks>
        </section>
    }
}

/// Kappa with its 95 % interval, or "undefined" with the reason.
#[component]
fn KappaFigure(a: Agreement, testid: String) -> impl IntoView {
    let i18n = use_i18n();
    match (a.kappa, a.kappa_ci95) {
        (Some(kappa), ci) => view! {
            <strong data-testid=testid>{kappa_text(kappa)}</strong>
            {ci.map(|(low, high)| view! {
                " " <span class="nowrap">{t!(i18n, board.agreement.ci_value, low = format!("{low:.2}"), high = format!("{high:.2}"))}</span>
            })}
        }
        .into_any(),
        (None, _) => {
            let reason = if a.n == 0 {
                t!(i18n, board.agreement.undefined_empty).into_any()
            } else {
                t!(i18n, board.agreement.undefined_chance).into_any()
            };
            view! {
                <strong data-testid=testid>{t!(i18n, board.agreement.undefined)}</strong>
                " " <span class="muted small">{reason}</span>
            }
            .into_any()
        }
    }
}

/// The confusion matrix: rows are the AI's proposal, columns the board's decision.
#[component]
fn Matrix(a: Agreement, category: String) -> impl IntoView {
    let i18n = use_i18n();
    if a.labels.is_empty() {
        return ().into_any();
    }
    let columns = a.labels.len();
    let rows = a.labels.iter().zip(a.matrix.iter()).enumerate().map(|(i, (row_label, row))| {
        view! {
            <tr>
                <th scope="row">{row_label.clone()}</th>
                {row.iter().enumerate().map(|(j, count)| view! {
                    <td class="num" class:board-diagonal=i == j class:board-zero=*count == 0>{*count}</td>
                }).collect_view()}
            </tr>
        }
    });
    let testid = format!("agreement-matrix-{category}");
    view! {
        <table class="grid dense board-matrix" data-testid=testid>
            <caption>{move || category_label(i18n, &category)} " · " {t!(i18n, board.agreement.matrix_caption)}</caption>
            <thead>
                <tr>
                    <td></td>
                    <th scope="colgroup" colspan=columns>{t!(i18n, board.agreement.decision)}</th>
                </tr>
                <tr>
                    <th scope="col">{t!(i18n, board.agreement.proposal)}</th>
                    {a.labels.iter().map(|l| view! { <th scope="col">{l.clone()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>{rows.collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// Per cancer: the same figures, compact, with the cases each row counts.
#[component]
fn PerCancer(rows: Vec<CancerAgreement>) -> impl IntoView {
    let i18n = use_i18n();
    let categories: Vec<String> =
        rows.first().map(|r| r.categories.iter().map(|c| c.category.clone()).collect()).unwrap_or_default();
    view! {
        <table class="grid dense board-per-cancer" data-testid="agreement-per-cancer">
            <thead>
                <tr>
                    <th scope="col" rowspan="2">{t!(i18n, board.agreement.cancer)}</th>
                    {categories.iter().map(|c| {
                        let c = c.clone();
                        view! { <th scope="colgroup" colspan="3">{move || category_label(i18n, &c)}</th> }
                    }).collect_view()}
                    <th scope="col" rowspan="2">{t!(i18n, board.agreement.cases)}</th>
                </tr>
                <tr>
                    {categories.iter().map(|_| view! {
                        <th scope="col">{t!(i18n, board.agreement.n_short)}</th>
                        <th scope="col">{t!(i18n, board.agreement.percent)}</th>
                        <th scope="col">{t!(i18n, board.agreement.kappa)}</th>
                    }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let cancer = row.cancer;
                    view! {
                        <tr data-cancer=cancer.as_str()>
                            <th scope="row">{move || cancer.label_in(language(i18n))}</th>
                            {row.categories.into_iter().map(|c| {
                                let a = c.agreement;
                                let kappa = match (a.kappa, a.kappa_ci95) {
                                    (Some(k), Some(ci)) => format!("{} ({})", kappa_text(k), ci_text(ci)).into_any(),
                                    (Some(k), None) => kappa_text(k).into_any(),
                                    (None, _) => t!(i18n, board.agreement.undefined).into_any(),
                                };
                                view! {
                                    <td class="num">{a.n}</td>
                                    <td class="num nowrap">{format!("{} ({}/{})", percent_text(&a), a.agreed, a.n)}</td>
                                    <td class="num nowrap">{kappa}</td>
                                }
                            }).collect_view()}
                            <td class="board-case-list">
                                {row.cases.into_iter().map(|id| view! {
                                    <a href=format!("/mdt/cases/{id}")>{format!("#{id}")}</a> " "
                                }).collect_view()}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DiscordantTable(rows: Vec<Discordance>) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return view! { <p data-testid="no-discordant">{t!(i18n, board.agreement.no_discordant)}</p> }.into_any();
    }
    view! {
        <table class="grid dense board-discordant" data-testid="discordant">
            <thead><tr>
                <th scope="col">{t!(i18n, board.column.case)}</th>
                <th scope="col">{t!(i18n, board.agreement.patient_id)}</th>
                <th scope="col">{t!(i18n, board.agreement.cancer)}</th>
                <th scope="col">{t!(i18n, board.agreement.category_column)}</th>
                <th scope="col">{t!(i18n, board.agreement.proposed_decided)}</th>
                <th scope="col">{t!(i18n, board.agreement.reason)}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|d| {
                    let (cancer, category) = (d.cancer, d.category.clone());
                    let proposed = match d.proposed {
                        Some(p) => p.into_any(),
                        None => view! { <em>{t!(i18n, board.not_proposed)}</em> }.into_any(),
                    };
                    let decided = if d.decided.is_empty() { "—".to_owned() } else { d.decided };
                    view! {
                        <tr data-testid="discordant-row" data-case=d.case_id data-category=d.category.clone()>
                            <th scope="row"><a href=format!("/mdt/cases/{}", d.case_id)>{format!("#{}", d.case_id)}</a></th>
                            <td><code>{d.patient_id}</code></td>
                            <td>{move || cancer.label_in(language(i18n))}</td>
                            <td>{move || category_label(i18n, &category)}</td>
                            <td class="nowrap">{proposed} " → " {decided}</td>
                            <td>{d.reason.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
