//! The coordinator's worklist: open findings, highest risk and most overdue first, with quick
//! filters, counts per state, bulk assignment and keyboard navigation (j/k or the arrow keys move
//! between rows, Enter opens, x selects).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::followup::load_worklist;
use crate::domain::followup::FindingStatus;
use crate::domain::organs::Organ;
use crate::model::followup::{WorklistItem, WorklistPage, WorklistParams};

const QUICK: &[(&str, &str)] = &[
    ("", "All open"),
    ("mine", "My queue"),
    ("unassigned", "Unassigned"),
    ("overdue", "Overdue"),
    ("week", "Due this week"),
];

#[component]
pub fn WorklistPageView() -> impl IntoView {
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
        <Title text="Worklist" />
        <h1>"Worklist"</h1>
        {move || notice().map(|n| view! { <p class="notice info" role="status" data-testid="notice">{n}</p> })}
        {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="error">{e}</p> })}
        <nav class="quickfilters" aria-label="Quick filters">
            {QUICK.iter().map(|(key, label)| {
                let href = if key.is_empty() { "/worklist".to_owned() } else { format!("/worklist?quick={key}") };
                let current = move || params.read().quick.as_deref().unwrap_or("") == *key;
                view! { <a href=href class="chip" class:active=current aria-current=move || current().then_some("page")>{*label}</a> }
            }).collect_view()}
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => view! { <Worklist data params=params.get_untracked() /> }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Worklist(data: WorklistPage, params: WorklistParams) -> impl IntoView {
    let counts = data
        .counts
        .iter()
        .filter(|c| c.total > 0 || FindingStatus::OPEN.contains(&c.status))
        .map(|c| {
            let href = format!("/worklist?status={}", c.status.as_str());
            view! {
                <a href=href class="count" data-status=c.status.as_str()>
                    <span class="count-label">{c.status.label()}</span>
                    <strong class="count-total">{c.total}</strong>
                    {(c.overdue > 0).then(|| view! { <span class="badge overdue">{format!("{} overdue", c.overdue)}</span> })}
                </a>
            }
        })
        .collect_view();
    let back = params.to_query(None);
    let pages = (data.total + data.page_size - 1) / data.page_size;
    let prev = (data.page > 0).then(|| format!("/worklist?{}", params.to_query(Some(data.page - 1))));
    let next = (data.page + 1 < pages).then(|| format!("/worklist?{}", params.to_query(Some(data.page + 1))));
    let assignees = data.assignees.clone();
    view! {
        <section class="counts" aria-label="Findings per state" data-testid="counts">{counts}</section>
        <Filters params=params.clone() data=data.clone() />
        <form method="post" action="/worklist/assign" class="bulk">
            <input type="hidden" name="back" value=back />
            <p class="muted small" data-testid="total">
                {format!("{} finding(s) · page {} of {}", data.total, data.page + 1, pages.max(1))}
                " · keys: j/k or ↑/↓ move, Enter opens, x selects"
            </p>
            {if data.items.is_empty() {
                view! { <p data-testid="no-findings">"No findings match."</p> }.into_any()
            } else {
                view! { <WorklistTable items=data.items.clone() /> }.into_any()
            }}
            <div class="bulk-actions">
                <label>"Assign selected to "
                    <select name="assignee">
                        <option value="none">"(unassigned)"</option>
                        {assignees.into_iter().map(|p| view! { <option value=p.username.clone()>{p.name}</option> }).collect_view()}
                    </select>
                </label>
                " "
                <button type="submit" class="button">"Assign"</button>
            </div>
        </form>
        <p class="pager">
            {prev.map(|href| view! { <a href=href rel="prev">"← Previous"</a> })}
            " "
            {next.map(|href| view! { <a href=href rel="next">"Next →"</a> })}
        </p>
    }
}

#[component]
fn Filters(params: WorklistParams, data: WorklistPage) -> impl IntoView {
    let selected = |current: &Option<String>, value: &str| current.as_deref().unwrap_or("") == value;
    let status = params.status.clone();
    let organ = params.organ.clone();
    let assignee = params.assignee.clone();
    let sort = params.sort.clone();
    let sex = params.sex.clone();
    view! {
        <form method="get" action="/worklist" class="filters" role="search" data-testid="filters">
            {params.quick.clone().map(|q| view! { <input type="hidden" name="quick" value=q /> })}
            <label>"Status "
                <select name="status">
                    <option value="open" selected=selected(&status, "open") || status.is_none()>"Open"</option>
                    <option value="closed" selected=selected(&status, "closed")>"Closed"</option>
                    <option value="all" selected=selected(&status, "all")>"All"</option>
                    {FindingStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=selected(&status, s.as_str())>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Cancer "
                <select name="organ">
                    <option value="">"Any"</option>
                    {Organ::ALL.iter().map(|o| view! {
                        <option value=o.as_str() selected=selected(&organ, o.as_str())>{o.cancer_label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Assignee "
                <select name="assignee">
                    <option value="">"Anyone"</option>
                    <option value="me" selected=selected(&assignee, "me")>"Me"</option>
                    <option value="none" selected=selected(&assignee, "none")>"Unassigned"</option>
                    {data.assignees.iter().map(|p| view! {
                        <option value=p.username.clone() selected=selected(&assignee, &p.username)>{p.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Site " <input name="site" size="8" value=params.site.clone().unwrap_or_default() /></label>
            <label>"Min. probability " <input name="min_probability" size="4" inputmode="decimal" value=params.min_probability.clone().unwrap_or_default() /></label>
            <label>"Sex "
                <select name="sex">
                    <option value="">"Any"</option>
                    <option value="F" selected=selected(&sex, "F")>"F"</option>
                    <option value="M" selected=selected(&sex, "M")>"M"</option>
                    <option value="O" selected=selected(&sex, "O")>"O"</option>
                </select>
            </label>
            <label>"Age " <input name="age_min" size="3" inputmode="numeric" value=params.age_min.clone().unwrap_or_default() />
                "–" <input name="age_max" size="3" inputmode="numeric" value=params.age_max.clone().unwrap_or_default() /></label>
            <label>"Sort "
                <select name="sort">
                    <option value="priority">"Priority (overdue, then risk)"</option>
                    <option value="probability" selected=selected(&sort, "probability")>"AI probability"</option>
                    <option value="due_date" selected=selected(&sort, "due_date")>"Due date"</option>
                    <option value="study_date" selected=selected(&sort, "study_date")>"Study date"</option>
                    <option value="detected" selected=selected(&sort, "detected")>"Detected"</option>
                </select>
            </label>
            <button type="submit" class="button">"Apply"</button>
            " "
            <a href="/worklist" class="button subtle">"Reset"</a>
        </form>
    }
}

#[component]
fn WorklistTable(items: Vec<WorklistItem>) -> impl IntoView {
    // The keys work anywhere on the page (not while typing in a field).
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| keyboard::navigate(&ev));
        on_cleanup(move || listener.remove());
    }
    view! {
        <table class="grid dense worklist" data-testid="worklist">
            <thead><tr>
                <th><span class="visually-hidden">"Select"</span></th>
                <th>"#"</th><th>"Cancer"</th><th>"AI probability"</th><th>"Status"</th><th>"Due"</th>
                <th>"Patient"</th><th>"Age / sex"</th><th>"Site"</th><th>"Study date"</th><th>"Assignee"</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|f| {
                    let href = format!("/findings/{}", f.id);
                    let percent = format!("{:.0}%", f.probability * 100.0);
                    let bar = format!("width: {:.0}%", f.probability * 100.0);
                    view! {
                        <tr data-finding=f.id data-status=f.status.as_str() class:overdue=f.overdue>
                            <td><input type="checkbox" name="item" value=format!("{}:{}", f.id, f.version)
                                aria-label=format!("Select finding {}", f.id) /></td>
                            <td><a href=href.clone() class="open-finding">{format!("#{}", f.id)}</a></td>
                            <td><a href=href>{f.organ.cancer_label()}</a> <span class="muted small">{f.class_label}</span></td>
                            <td class="prob">
                                <span class="probbar" aria-hidden="true"><span style=bar></span></span>
                                " " {percent}
                            </td>
                            <td><span class=format!("status status-{}", f.status.as_str())>{f.status.label()}</span></td>
                            <td class="nowrap">
                                {f.due_date.unwrap_or_else(|| "—".into())}
                                {f.overdue.then(|| view! { " " <span class="badge overdue">"overdue"</span> })}
                            </td>
                            <td>{f.patient_name.unwrap_or_else(|| "(no name)".into())} <br /><code class="small">{f.patient_id}</code></td>
                            <td class="nowrap">{format!("{} / {}", f.age.map(|a| a.to_string()).unwrap_or_else(|| "—".into()), f.sex.unwrap_or_else(|| "—".into()))}</td>
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
