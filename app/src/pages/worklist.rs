//! The coordinator's worklist: open findings, highest risk and most overdue first, with quick
//! filters, counts per state, bulk assignment and keyboard navigation (j/k or the arrow keys move
//! between rows, Enter opens, x selects).

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::api::followup::load_worklist;
use crate::domain::followup::FindingStatus;
use crate::domain::language::Labelled;
use crate::domain::model_class;
use crate::domain::organs::Organ;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::followup::{WorklistItem, WorklistPage, WorklistParams};

/// A text in the page's language (tracked: call it inside the view).
type Text = fn(I18nContext<Locale>) -> &'static str;

/// The quick filters: the `quick` value and the filter's name.
const QUICK: &[(&str, Text)] = &[
    ("", |i18n| t_string!(i18n, worklist.quick.all_open)),
    ("mine", |i18n| t_string!(i18n, worklist.quick.mine)),
    ("unassigned", |i18n| t_string!(i18n, worklist.quick.unassigned)),
    ("overdue", |i18n| t_string!(i18n, worklist.quick.overdue)),
    ("week", |i18n| t_string!(i18n, worklist.quick.week)),
];

/// A patient's recorded sex (`F`, `M`, `O`) as the page's language abbreviates it; anything else
/// as recorded.
fn sex_text(i18n: I18nContext<Locale>, sex: &str) -> String {
    match sex {
        "F" => t_string!(i18n, worklist.sex.f).to_string(),
        "M" => t_string!(i18n, worklist.sex.m).to_string(),
        "O" => t_string!(i18n, worklist.sex.o).to_string(),
        other => other.to_owned(),
    }
}

#[component]
pub fn WorklistPageView() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        WorklistParams {
            quick: get("quick"),
            status: get("status"),
            organ: get("organ"),
            site: get("site"),
            assignee: get("assignee"),
            min_probability: get("min_probability"),
            sex: get("sex"),
            age_min: get("age_min"),
            age_max: get("age_max"),
            sort: get("sort"),
            dir: get("dir"),
            page: get("page"),
        }
    });
    let page = Resource::new(move || params.get(), load_worklist);
    let notice = move || query.read().get("notice");
    let error = move || query.read().get("error");
    view! {
        <PageTitle text=t_string!(i18n, worklist.title).to_string() />
        <h1>{t!(i18n, worklist.title)}</h1>
        // The server redirects with codes for what the page words itself, and with the refusal's
        // text for what only it can say (which finding, and why).
        {move || notice().map(|n| {
            let text = match n.as_str() {
                "assigned" => {
                    let count = query.read().get("count").unwrap_or_default();
                    t!(i18n, worklist.notice_assigned, count = move || count.clone()).into_any()
                }
                _ => n.into_any(),
            };
            view! { <p class="notice info" role="status" data-testid="notice">{text}</p> }
        })}
        {move || error().map(|e| {
            let text = match e.as_str() {
                "nothing_selected" => t!(i18n, worklist.error_nothing_selected).into_any(),
                _ => e.into_any(),
            };
            view! { <p class="notice error" role="alert" data-testid="error">{text}</p> }
        })}
        <nav class="quickfilters" aria-label=move || t_string!(i18n, worklist.quick_filters)>
            {QUICK.iter().map(|(key, label)| {
                let href = if key.is_empty() { "/worklist".to_owned() } else { format!("/worklist?quick={key}") };
                let current = move || params.read().quick.as_deref().unwrap_or("") == *key;
                view! { <a href=href class="chip" class:active=current aria-current=move || current().then_some("page")>{move || label(i18n)}</a> }
            }).collect_view()}
        </nav>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, worklist.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => view! { <Worklist data params=params.get_untracked() /> }.into_any(),
                    Err(e) => view! { <crate::components::errors::ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Worklist(data: WorklistPage, params: WorklistParams) -> impl IntoView {
    let i18n = use_i18n();
    let counts = data
        .counts
        .iter()
        .filter(|c| c.total > 0 || FindingStatus::OPEN.contains(&c.status))
        .map(|c| {
            let href = format!("/worklist?status={}", c.status.as_str());
            let status = c.status;
            let overdue = c.overdue;
            view! {
                <a href=href class="count" data-status=c.status.as_str()>
                    <span class="count-label">{move || status.label_in(language(i18n))}</span>
                    <strong class="count-total">{c.total}</strong>
                    {(overdue > 0).then(|| view! {
                        <span class="badge overdue">{t!(i18n, worklist.overdue_count, count = move || overdue)}</span>
                    })}
                </a>
            }
        })
        .collect_view();
    let back = params.to_query(None);
    let pages = (data.total + data.page_size - 1) / data.page_size;
    let prev = (data.page > 0).then(|| format!("/worklist?{}", params.to_query(Some(data.page - 1))));
    let next = (data.page + 1 < pages).then(|| format!("/worklist?{}", params.to_query(Some(data.page + 1))));
    let assignees = data.assignees.clone();
    let (total, page_number, page_count) = (data.total, data.page + 1, pages.max(1));
    view! {
        <section class="counts" aria-label=move || t_string!(i18n, worklist.counts_label) data-testid="counts">{counts}</section>
        <Filters params=params.clone() data=data.clone() />
        <form method="post" action="/worklist/assign" class="bulk">
            <input type="hidden" name="back" value=back />
            <p class="muted small" data-testid="total">
                {t!(i18n, worklist.total, total = move || total, page = move || page_number, pages = move || page_count)}
                " · " {t!(i18n, worklist.keys_hint)}
            </p>
            {if data.items.is_empty() {
                view! { <p data-testid="no-findings">{t!(i18n, worklist.no_findings)}</p> }.into_any()
            } else {
                view! { <WorklistTable items=data.items.clone() /> }.into_any()
            }}
            <div class="bulk-actions">
                <label>{t!(i18n, worklist.assign_selected_to)} " "
                    <select name="assignee">
                        <option value="none">{t!(i18n, worklist.unassigned_option)}</option>
                        {assignees.into_iter().map(|p| view! { <option value=p.username.clone()>{p.name}</option> }).collect_view()}
                    </select>
                </label>
                " "
                <button type="submit" class="button">{t!(i18n, worklist.assign)}</button>
            </div>
        </form>
        <p class="pager">
            {prev.map(|href| view! { <a href=href rel="prev">{t!(i18n, worklist.previous)}</a> })}
            " "
            {next.map(|href| view! { <a href=href rel="next">{t!(i18n, worklist.next)}</a> })}
        </p>
    }
}

#[component]
fn Filters(params: WorklistParams, data: WorklistPage) -> impl IntoView {
    let i18n = use_i18n();
    let selected = |current: &Option<String>, value: &str| current.as_deref().unwrap_or("") == value;
    let status = params.status.clone();
    let organ = params.organ.clone();
    let assignee = params.assignee.clone();
    let sort = params.sort.clone();
    let sex = params.sex.clone();
    view! {
        <form method="get" action="/worklist" class="filters" role="search" data-testid="filters">
            {params.quick.clone().map(|q| view! { <input type="hidden" name="quick" value=q /> })}
            <label>{t!(i18n, worklist.filter.status)} " "
                <select name="status">
                    <option value="open" selected=selected(&status, "open") || status.is_none()>{t!(i18n, worklist.filter.open)}</option>
                    <option value="closed" selected=selected(&status, "closed")>{t!(i18n, worklist.filter.closed)}</option>
                    <option value="all" selected=selected(&status, "all")>{t!(i18n, worklist.filter.all)}</option>
                    {FindingStatus::ALL.iter().map(|s| {
                        let s = *s;
                        view! {
                            <option value=s.as_str() selected=selected(&status, s.as_str())>{move || s.label_in(language(i18n))}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, worklist.filter.cancer)} " "
                <select name="organ">
                    <option value="">{t!(i18n, worklist.filter.any)}</option>
                    {Organ::ALL.iter().map(|o| {
                        let o = *o;
                        view! {
                            <option value=o.as_str() selected=selected(&organ, o.as_str())>{move || o.label_in(language(i18n))}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, worklist.filter.assignee)} " "
                <select name="assignee">
                    <option value="">{t!(i18n, worklist.filter.anyone)}</option>
                    <option value="me" selected=selected(&assignee, "me")>{t!(i18n, worklist.filter.me)}</option>
                    <option value="none" selected=selected(&assignee, "none")>{t!(i18n, worklist.filter.unassigned)}</option>
                    {data.assignees.iter().map(|p| view! {
                        <option value=p.username.clone() selected=selected(&assignee, &p.username)>{p.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, worklist.filter.site)} " " <input name="site" size="8" value=params.site.clone().unwrap_or_default() /></label>
            <label>{t!(i18n, worklist.filter.min_probability)} " " <input name="min_probability" size="4" inputmode="decimal" value=params.min_probability.clone().unwrap_or_default() /></label>
            <label>{t!(i18n, worklist.filter.sex)} " "
                <select name="sex">
                    <option value="">{t!(i18n, worklist.filter.any)}</option>
                    <option value="F" selected=selected(&sex, "F")>{t!(i18n, worklist.sex.f)}</option>
                    <option value="M" selected=selected(&sex, "M")>{t!(i18n, worklist.sex.m)}</option>
                    <option value="O" selected=selected(&sex, "O")>{t!(i18n, worklist.sex.o)}</option>
                </select>
            </label>
            <label>{t!(i18n, worklist.filter.age)} " " <input name="age_min" size="3" inputmode="numeric" value=params.age_min.clone().unwrap_or_default() />
                "–" <input name="age_max" size="3" inputmode="numeric" value=params.age_max.clone().unwrap_or_default() /></label>
            <label>{t!(i18n, worklist.filter.sort)} " "
                <select name="sort">
                    <option value="priority">{t!(i18n, worklist.filter.sort_priority)}</option>
                    <option value="probability" selected=selected(&sort, "probability")>{t!(i18n, worklist.filter.sort_probability)}</option>
                    <option value="due_date" selected=selected(&sort, "due_date")>{t!(i18n, worklist.filter.sort_due_date)}</option>
                    <option value="study_date" selected=selected(&sort, "study_date")>{t!(i18n, worklist.filter.sort_study_date)}</option>
                    <option value="detected" selected=selected(&sort, "detected")>{t!(i18n, worklist.filter.sort_detected)}</option>
                </select>
            </label>
            <button type="submit" class="button">{t!(i18n, worklist.filter.apply)}</button>
            " "
            <a href="/worklist" class="button subtle">{t!(i18n, worklist.filter.reset)}</a>
        </form>
    }
}

#[component]
fn WorklistTable(items: Vec<WorklistItem>) -> impl IntoView {
    let i18n = use_i18n();
    // The keys work anywhere on the page (not while typing in a field).
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| keyboard::navigate(&ev));
        on_cleanup(move || listener.remove());
    }
    view! {
        <table class="grid dense worklist" data-testid="worklist">
            <thead><tr>
                <th><span class="visually-hidden">{t!(i18n, worklist.column.select)}</span></th>
                <th>"#"</th><th>{t!(i18n, worklist.column.cancer)}</th><th>{t!(i18n, worklist.column.probability)}</th>
                <th>{t!(i18n, worklist.column.status)}</th><th>{t!(i18n, worklist.column.due)}</th>
                <th>{t!(i18n, worklist.column.patient)}</th><th>{t!(i18n, worklist.column.age_sex)}</th>
                <th>{t!(i18n, worklist.column.site)}</th><th>{t!(i18n, worklist.column.study_date)}</th>
                <th>{t!(i18n, worklist.column.assignee)}</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|f| {
                    let href = format!("/findings/{}", f.id);
                    let percent = format!("{:.0}%", f.probability * 100.0);
                    let bar = format!("width: {:.0}%", f.probability * 100.0);
                    let (id, organ, status) = (f.id, f.organ, f.status);
                    let patient_name = f.patient_name.clone();
                    let age = f.age.map(|a| a.to_string()).unwrap_or_else(|| "—".into());
                    let sex = f.sex.clone();
                    view! {
                        <tr data-finding=f.id data-status=f.status.as_str() class:overdue=f.overdue>
                            <td><input type="checkbox" name="item" value=format!("{}:{}", f.id, f.version)
                                aria-label=move || format!("{} {id}", t_string!(i18n, worklist.select_finding)) /></td>
                            <td><a href=href.clone() class="open-finding">{format!("#{}", f.id)}</a></td>
                            <td><a href=href>{move || organ.label_in(language(i18n))}</a> <span class="muted small">{move || model_class::shown(&f.class_label, language(i18n))}</span></td>
                            <td class="prob">
                                <span class="probbar" aria-hidden="true"><span style=bar></span></span>
                                " " {percent}
                            </td>
                            <td><span class=format!("status status-{}", f.status.as_str())>{move || status.label_in(language(i18n))}</span></td>
                            <td class="nowrap">
                                {f.due_date.unwrap_or_else(|| "—".into())}
                                {f.overdue.then(|| view! { " " <span class="badge overdue">{t!(i18n, worklist.overdue_badge)}</span> })}
                            </td>
                            <td>
                                {move || patient_name.clone().unwrap_or_else(|| t_string!(i18n, worklist.no_name).to_string())}
                                <br /><code class="small">{f.patient_id}</code>
                            </td>
                            <td class="nowrap">
                                {move || format!("{} / {}", age, sex.as_deref().map(|s| sex_text(i18n, s)).unwrap_or_else(|| "—".into()))}
                            </td>
                            <td>{f.site.unwrap_or_default()}</td>
                            <td class="nowrap">{f.study_date.unwrap_or_default()}</td>
                            <td>{f.assignee_name.unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(feature = "hydrate")]
mod keyboard {
    use wasm_bindgen::JsCast;

    /// Moves the focus between the rows' links (j/k, ↓/↑) and toggles the focused row's
    /// checkbox (x). Enter follows the focused link as any link does.
    pub fn navigate(ev: &leptos::ev::KeyboardEvent) {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || typing() {
            return;
        }
        let step = match ev.key().as_str() {
            "j" | "ArrowDown" => 1,
            "k" | "ArrowUp" => -1,
            "x" => {
                toggle_current();
                ev.prevent_default();
                return;
            }
            _ => return,
        };
        let Some(links) = links() else { return };
        if links.is_empty() {
            return;
        }
        let current = active_index(&links);
        let next = match current {
            None => 0,
            Some(i) => (i as i64 + step).clamp(0, links.len() as i64 - 1) as usize,
        };
        let _ = links[next].focus();
        ev.prevent_default();
    }

    /// Whether the focus is in a field that takes text (there, j and k are letters).
    fn typing() -> bool {
        let Some(active) = leptos::prelude::document().active_element() else { return false };
        match active.tag_name().to_ascii_lowercase().as_str() {
            "textarea" | "select" => true,
            "input" => {
                !matches!(active.get_attribute("type").as_deref(), Some("checkbox" | "radio" | "submit" | "button"))
            }
            _ => false,
        }
    }

    fn links() -> Option<Vec<web_sys::HtmlElement>> {
        let document = leptos::prelude::document();
        let nodes = document.query_selector_all("table.worklist a.open-finding").ok()?;
        Some((0..nodes.length()).filter_map(|i| nodes.item(i)?.dyn_into::<web_sys::HtmlElement>().ok()).collect())
    }

    fn active_index(links: &[web_sys::HtmlElement]) -> Option<usize> {
        let active = leptos::prelude::document().active_element()?;
        links.iter().position(|l| {
            let element: &web_sys::Element = l.as_ref();
            element == &active
        })
    }

    fn toggle_current() {
        let Some(active) = leptos::prelude::document().active_element() else { return };
        let Ok(Some(row)) = active.closest("tr") else { return };
        if let Ok(Some(input)) = row.query_selector("input[type=checkbox]")
            && let Ok(input) = input.dyn_into::<web_sys::HtmlInputElement>()
        {
            input.set_checked(!input.checked());
        }
    }
}
