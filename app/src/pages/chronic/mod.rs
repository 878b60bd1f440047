//! The chronic-disease pathway's pages: the coordinators' list (`/chronic`) and a finding's page
//! (`/chronic/{id}`) with its trend, the letter to the physician, its history and the forms for
//! the next step. Every write is a plain form posting to `/chronic/{id}/events` with the version
//! shown, so the pages work without JavaScript and a stale form is refused rather than
//! overwriting a colleague's change; the server redirects back with `?done=` or `?error=`.

pub mod chart;

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::chronic::{load_chronic, load_chronic_list};
use crate::components::errors::ErrorNotice;
use crate::domain::chronic::{ChronicEventKind, ChronicKind, ChronicRules, ChronicStatus, CloseReason, Criterion};
use crate::domain::language::Labelled;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::chronic::{ChronicDetail, ChronicItem, ChronicList, ChronicParams};

use chart::{ChronicTrend, Point};

type I18n = I18nContext<Locale>;

const DASH: &str = "—";

/// A figure as the pages show it (whole units: the measurements are not more precise).
fn figure(value: f64, unit: &str) -> String {
    format!("{value:.0} {unit}")
}

/// The cut-off a criterion compares with, under `rules`.
pub fn cut_off_of(criterion: Criterion, rules: &ChronicRules) -> f64 {
    match criterion {
        Criterion::LiverBelow => rules.steatosis_liver_hu,
        // The chart follows the liver attenuation; its line is the liver cut-off.
        Criterion::LiverMinusSpleenBelow => rules.steatosis_liver_hu,
        Criterion::OsteoporosisLikely => rules.osteoporosis_l1_hu,
        Criterion::LowBoneDensity => rules.low_bone_density_l1_hu,
        Criterion::CoronaryCalciumAbove => rules.coronary_calcium_mm3,
    }
}

fn measure(i18n: I18n, kind: ChronicKind) -> &'static str {
    match language(i18n) {
        crate::domain::language::Language::English => kind.measure_en(),
        crate::domain::language::Language::SimplifiedChinese => kind.measure_zh(),
    }
}

// ---- The list ----

#[component]
pub fn ChronicListPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        ChronicParams { status: get("status"), kind: get("kind"), page: get("page").and_then(|p| p.parse().ok()) }
    });
    let list = Resource::new(move || params.get(), |p| load_chronic_list(p.status, p.kind, p.page));
    view! {
        <PageTitle text=t_string!(i18n, chronic.title).to_owned() />
        <h1>{t!(i18n, chronic.title)}</h1>
        <p class="muted">{t!(i18n, chronic.explainer)}</p>
        {move || {
            let p = params.get();
            view! { <Filters status=p.status kind=p.kind /> }
        }}
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, chronic.loading)}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <ChronicTable list /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Filters(status: Option<String>, kind: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let status = status.unwrap_or_else(|| "open".into());
    view! {
        <form method="get" action="/chronic" class="filters" role="search" data-testid="chronic-filters">
            <label>{t!(i18n, chronic.filter.status)}
                <select name="status">
                    <option value="open" selected=status == "open">{t!(i18n, chronic.filter.open)}</option>
                    <option value="all" selected=status == "all">{t!(i18n, chronic.filter.all)}</option>
                    {ChronicStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=status == s.as_str()>{move || s.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, chronic.filter.kind)}
                <select name="kind">
                    <option value="">{t!(i18n, chronic.filter.every_kind)}</option>
                    {ChronicKind::ALL.into_iter().map(|k| view! {
                        <option value=k.as_str() selected=kind.as_deref() == Some(k.as_str())>{move || k.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button">{t!(i18n, chronic.filter.apply)}</button>
            <a href="/chronic" class="button subtle">{t!(i18n, chronic.filter.reset)}</a>
        </form>
    }
}

#[component]
fn ChronicTable(list: ChronicList) -> impl IntoView {
    let i18n = use_i18n();
    if list.items.is_empty() {
        return view! { <p data-testid="no-chronic">{t!(i18n, chronic.none)}</p> }.into_any();
    }
    let total = list.total;
    view! {
        <p class="muted small" data-testid="chronic-total">{t!(i18n, chronic.total)}" "{total}</p>
        <table class="grid dense" data-testid="chronic-findings">
            <thead><tr>
                <th scope="col">{t!(i18n, chronic.col.finding)}</th>
                <th scope="col">{t!(i18n, chronic.col.patient)}</th>
                <th scope="col">{t!(i18n, chronic.col.condition)}</th>
                <th scope="col">{t!(i18n, chronic.col.value)}</th>
                <th scope="col">{t!(i18n, chronic.col.latest)}</th>
                <th scope="col">{t!(i18n, chronic.col.status)}</th>
                <th scope="col">{t!(i18n, chronic.col.raised)}</th>
                <th scope="col">{t!(i18n, chronic.col.site)}</th>
            </tr></thead>
            <tbody>
                {list.items.into_iter().map(|item| view! { <Row item /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Row(item: ChronicItem) -> impl IntoView {
    let i18n = use_i18n();
    let (kind, criterion, status) = (item.kind, item.criterion, item.status);
    let latest = item.latest_value.map_or_else(|| DASH.to_owned(), |v| figure(v, &item.unit));
    view! {
        <tr data-testid="chronic-row" data-kind=kind.as_str() data-status=status.as_str()>
            <td><a href=format!("/chronic/{}", item.id)>{format!("C-{}", item.id)}</a></td>
            <td>{item.patient_name.clone().unwrap_or_else(|| DASH.to_owned())}<br /><span class="muted small">{item.patient.clone()}</span></td>
            <td>{move || kind.label_in(language(i18n))}<br /><span class="muted small">{move || criterion.label_in(language(i18n))}</span></td>
            <td>{figure(item.value, &item.unit)}</td>
            <td>{latest}<br /><span class="muted small">{item.latest_on.clone().unwrap_or_default()}</span></td>
            <td><span class=format!("status status-{}", status.as_str())>{move || status.label_in(language(i18n))}</span></td>
            <td>{item.raised_on.clone()}</td>
            <td>{item.site.clone().unwrap_or_else(|| DASH.to_owned())}</td>
        </tr>
    }
}

// ---- A finding ----

#[component]
pub fn ChronicPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let detail =
        Resource::new(move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0), load_chronic);
    let done = move || {
        query
            .read()
            .get("done")
            .map(|_| view! { <p class="notice info" role="status" data-testid="notice">{t!(i18n, chronic.done)}</p> })
    };
    let refused = move || {
        query.read().get("error").map(|error| {
            let text = match error.as_str() {
                "stale" => t_string!(i18n, chronic.error.stale).to_owned(),
                "role_may_not" => t_string!(i18n, chronic.error.role).to_owned(),
                other => format!("{} {other}", t_string!(i18n, chronic.error.other)),
            };
            view! { <p class="notice error" role="alert" data-testid="refusal">{text}</p> }
        })
    };
    view! {
        <PageTitle text=t_string!(i18n, chronic.page.title).to_owned() />
        <p><a href="/chronic">{t!(i18n, chronic.page.back)}</a></p>
        {done}
        {refused}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, chronic.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <Finding detail /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Finding(detail: ChronicDetail) -> impl IntoView {
    let i18n = use_i18n();
    let item = detail.item.clone();
    let (kind, criterion, status) = (item.kind, item.criterion, item.status);
    let cut_off = cut_off_of(criterion, &detail.rules);
    let unit = item.unit.clone();
    let letter_language = detail.letter_language.unwrap_or(crate::domain::language::Language::English);
    view! {
        <h1 data-testid="chronic-heading">{format!("C-{} · ", item.id)}{move || kind.label_in(language(i18n))}</h1>
        <dl class="facts" data-testid="chronic-facts">
            <dt>{t!(i18n, chronic.page.patient)}</dt>
            <dd>{item.patient_name.clone().unwrap_or_else(|| DASH.to_owned())}" · "{item.patient.clone()}
                {detail.patient_birth_date.clone().map(|d| format!(" · {d}"))}</dd>
            <dt>{t!(i18n, chronic.page.status)}</dt>
            <dd><span class=format!("status status-{}", status.as_str()) data-testid="chronic-status">{move || status.label_in(language(i18n))}</span></dd>
            <dt>{t!(i18n, chronic.page.criterion)}</dt>
            <dd>{move || criterion.label_in(language(i18n))}</dd>
            <dt>{move || measure(i18n, kind)}</dt>
            <dd data-testid="chronic-value">{figure(item.value, &unit)}" ("{t!(i18n, chronic.page.cut_off)}" "{figure(cut_off, &unit)}")"</dd>
            <dt>{t!(i18n, chronic.page.raised)}</dt>
            <dd>{item.raised_on.clone()}" · "<a href=format!("/studies/{}", item.study_uid)>{t!(i18n, chronic.page.study)}</a></dd>
            <dt>{t!(i18n, chronic.page.site)}</dt>
            <dd>{detail.site_name.clone().or(item.site.clone()).unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, chronic.page.physician)}</dt>
            <dd data-testid="chronic-physician">{item.physician.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
        </dl>
        <Trend detail=detail.clone() cut_off />
        <section aria-labelledby="chronic-letter">
            <h2 id="chronic-letter">{t!(i18n, chronic.letter.title)}</h2>
            <p>
                <a class="button" href=format!("/chronic/{}/letter", item.id) target="_blank" rel="noopener" data-testid="letter-link">
                    {t!(i18n, chronic.letter.print)}
                </a>
            </p>
            <p class="muted small">{t!(i18n, chronic.letter.language)}" "{letter_language.native_name()}". "{t!(i18n, chronic.letter.hint)}</p>
        </section>
        <Actions detail=detail.clone() />
        <History detail />
    }
}

#[component]
fn Trend(detail: ChronicDetail, cut_off: f64) -> impl IntoView {
    let i18n = use_i18n();
    let kind = detail.item.kind;
    let unit = detail.item.unit.clone();
    let points: Vec<Point> = detail
        .observations
        .iter()
        .filter_map(|o| {
            let day = crate::format::parse_date(&o.on)?.to_julian_day();
            Some(Point { day: i64::from(day), label: o.on.clone(), value: o.value, beyond: o.criterion.is_some() })
        })
        .collect();
    let aria = format!(
        "{}: {}",
        measure(i18n, kind),
        detail
            .observations
            .iter()
            .map(|o| format!("{} {}", o.on, figure(o.value, &unit)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    view! {
        <section aria-labelledby="chronic-trend-title">
            <h2 id="chronic-trend-title">{t!(i18n, chronic.trend.title)}</h2>
            <ChronicTrend points cut_off=Some(cut_off) unit=unit.clone() aria />
            <table class="grid dense" data-testid="chronic-observations">
                <caption class="muted small">{move || measure(i18n, kind)}</caption>
                <thead><tr>
                    <th scope="col">{t!(i18n, chronic.trend.date)}</th>
                    <th scope="col">{t!(i18n, chronic.trend.value)}</th>
                    <th scope="col">{t!(i18n, chronic.trend.beyond)}</th>
                </tr></thead>
                <tbody>
                    {detail.observations.iter().map(|o| {
                        let criterion = o.criterion;
                        view! {
                            <tr>
                                <td><a href=format!("/studies/{}", o.study_uid)>{o.on.clone()}</a></td>
                                <td>{figure(o.value, &unit)}</td>
                                <td>{move || criterion.map_or_else(|| t_string!(i18n, chronic.trend.within).to_owned(), |c| c.label_in(language(i18n)).to_owned())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Actions(detail: ChronicDetail) -> impl IntoView {
    let i18n = use_i18n();
    let id = detail.item.id;
    let version = detail.item.version.to_string();
    let action = format!("/chronic/{id}/events");
    let physician = detail.item.physician.clone().or(detail.referring_physician.clone()).unwrap_or_default();
    let form = |kind: ChronicEventKind, body: AnyView, submit: AnyView| {
        view! {
            <form method="post" action=action.clone() class="event-form" data-testid=format!("form-{}", kind.as_str())>
                <input type="hidden" name="version" value=version.clone() />
                <input type="hidden" name="event" value=kind.as_str() />
                {body}
                <button type="submit" class="button">{submit}</button>
            </form>
        }
    };
    let forms = detail
        .available
        .iter()
        .map(|kind| match kind {
            ChronicEventKind::SendLetter => form(
                *kind,
                view! {
                    <label>{t!(i18n, chronic.action.physician)}
                        <input type="text" name="physician" value=physician.clone() required maxlength="200" />
                    </label>
                }
                .into_any(),
                t!(i18n, chronic.action.send_letter).into_any(),
            ),
            ChronicEventKind::RecordAcknowledgement => form(
                *kind,
                view! { <label>{t!(i18n, chronic.action.note)}<input type="text" name="note" maxlength="2000" /></label> }.into_any(),
                t!(i18n, chronic.action.acknowledge).into_any(),
            ),
            ChronicEventKind::Close => form(
                *kind,
                view! {
                    <label>{t!(i18n, chronic.action.reason)}
                        <select name="reason">
                            {CloseReason::ALL.into_iter().map(|r| view! {
                                <option value=r.as_str()>{move || r.label_in(language(i18n))}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>{t!(i18n, chronic.action.note)}<input type="text" name="note" maxlength="2000" /></label>
                }
                .into_any(),
                t!(i18n, chronic.action.close).into_any(),
            ),
            ChronicEventKind::Reopen => form(
                *kind,
                view! { <label>{t!(i18n, chronic.action.why)}<input type="text" name="reason" required maxlength="2000" /></label> }.into_any(),
                t!(i18n, chronic.action.reopen).into_any(),
            ),
            ChronicEventKind::AddNote => form(
                *kind,
                view! { <label>{t!(i18n, chronic.action.note)}<input type="text" name="text" required maxlength="2000" /></label> }.into_any(),
                t!(i18n, chronic.action.add_note).into_any(),
            ),
        })
        .collect_view();
    view! {
        <section aria-labelledby="chronic-actions">
            <h2 id="chronic-actions">{t!(i18n, chronic.action.title)}</h2>
            {detail.available.is_empty().then(|| view! { <p class="muted">{t!(i18n, chronic.action.none)}</p> })}
            <div class="event-forms">{forms}</div>
        </section>
    }
}

#[component]
fn History(detail: ChronicDetail) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section aria-labelledby="chronic-history">
            <h2 id="chronic-history">{t!(i18n, chronic.history.title)}</h2>
            <ol class="history" data-testid="chronic-history">
                {detail.events.into_iter().rev().map(|e| {
                    let kind = serde_json::from_value::<ChronicEventKind>(serde_json::Value::String(e.kind.clone())).ok();
                    let reason = e.close_reason;
                    let what = move || match kind {
                        Some(kind) => kind.label_in(language(i18n)).to_owned(),
                        None => t_string!(i18n, chronic.history.raised).to_owned(),
                    };
                    view! {
                        <li data-kind=e.kind.clone()>
                            <strong>{what}</strong>" · "{e.actor.clone()}" · "<span class="muted">{e.at.clone()}</span>
                            {move || reason.map(|r| format!(" · {}", r.label_in(language(i18n))))}
                            {e.detail.clone().map(|d| view! { <br /><span>{d}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}
