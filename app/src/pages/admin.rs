//! Administration pages: sign-in locks, the audit log and its search (users: `users.rs`).

use std::collections::BTreeMap;

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::use_query_map;

use crate::api::admin::{UnlockSignin, audit_actions, search_audit_page, signin_locks};
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::format;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::AppError;
use crate::model::admin::{
    AUDIT_CSV_PATH, AUDIT_EXPORT_CAP, AUDIT_OUTCOMES, AUDIT_PAGE_PATH, AuditSearch, AuditSearchItem,
    PATIENT_READ_ACTIONS, audit_href, patient_access_href,
};

/// Renders a server function's error where its data would have been.
fn error_view(error: AppError) -> AnyView {
    view! { <ErrorNotice error /> }.into_any()
}

/// An audit event's outcome (`success`, `failure`, `denied`) in the page's language; anything
/// else as recorded.
fn outcome_text(i18n: I18nContext<Locale>, outcome: &str) -> String {
    match outcome {
        "success" => t_string!(i18n, admin.audit.outcome.success).to_string(),
        "failure" => t_string!(i18n, admin.audit.outcome.failure).to_string(),
        "denied" => t_string!(i18n, admin.audit.outcome.denied).to_string(),
        other => other.to_owned(),
    }
}

#[component]
pub fn SigninLocksPage() -> impl IntoView {
    let i18n = use_i18n();
    let unlock = ServerAction::<UnlockSignin>::new();
    let locks = Resource::new(move || unlock.version().get(), |_| signin_locks());
    view! {
        <PageTitle text=t_string!(i18n, admin.locks.title).to_string() />
        <h1>{t!(i18n, admin.locks.title)}</h1>
        <p class="muted">{t!(i18n, admin.locks.explainer)}</p>
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match locks.await {
                    Ok(locks) if locks.is_empty() => view! { <p data-testid="no-locks">{t!(i18n, admin.locks.none)}</p> }.into_any(),
                    Ok(locks) => view! {
                        <table class="grid" data-testid="locks">
                            <thead><tr>
                                <th>{t!(i18n, admin.locks.col.username)}</th><th>{t!(i18n, admin.locks.col.address)}</th>
                                <th>{t!(i18n, admin.locks.col.locked_at)}</th><th>{t!(i18n, admin.locks.col.until)}</th><th></th>
                            </tr></thead>
                            <tbody>
                                {locks.into_iter().map(|l| view! {
                                    <tr>
                                        <td><code>{l.username.clone()}</code></td>
                                        <td>{l.client_addr.clone()}</td>
                                        <td>{l.locked_at}</td>
                                        <td>{l.locked_until}</td>
                                        <td>
                                            <ActionForm action=unlock>
                                                <input type="hidden" name="username" value=l.username />
                                                <input type="hidden" name="client_addr" value=l.client_addr />
                                                <button type="submit" class="button subtle">{t!(i18n, admin.locks.lift)}</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_view(e),
                }
            })}
        </Transition>
    }
}

/// The audit page's filter as its URL carries it: the parameters of `GET /api/v1/audit`, passed
/// to the same service as given.
type AuditQuery = BTreeMap<String, String>;

/// A filter parameter, trimmed; blank is absent.
fn field(filter: &AuditQuery, name: &str) -> Option<String> {
    filter.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `filter` with `name` set to `value` (removed when `None`).
fn with(filter: &AuditQuery, name: &str, value: Option<String>) -> AuditQuery {
    let mut filter = filter.clone();
    match value {
        Some(value) => filter.insert(name.to_owned(), value),
        None => filter.remove(name),
    };
    filter
}

/// A comma-separated list of actions, in order and without repeats, to compare two lists.
fn action_set(list: &str) -> Vec<&str> {
    let mut set: Vec<&str> = list.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    set.sort_unstable();
    set.dedup();
    set
}

fn reads_only() -> String {
    PATIENT_READ_ACTIONS.join(",")
}

/// The page's tab title: "Access to patient X" when the filter is one patient, else the log's.
fn audit_tab_title(i18n: I18nContext<Locale>, filter: &AuditQuery) -> String {
    match field(filter, "patient_id") {
        Some(patient) => format!("{} {patient}", t_string!(i18n, admin.audit.patient_tab)),
        None => t_string!(i18n, admin.audit.title).to_string(),
    }
}

/// The page's heading, the same with the patient where each language puts it.
fn audit_heading(i18n: I18nContext<Locale>, filter: &AuditQuery) -> AnyView {
    match field(filter, "patient_id") {
        Some(patient) => t!(i18n, admin.audit.patient_title, patient = move || patient.clone()).into_any(),
        None => t!(i18n, admin.audit.title).into_any(),
    }
}

/// The audit trail, searched by the filter in the URL (a plain GET form, so it works without
/// JavaScript), 50 events a page, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.read().latest_values().map(|(k, v)| (k.to_string(), v.to_owned())).collect::<AuditQuery>()
    });
    let events = Resource::new(move || filter.get(), search_audit_page);
    let actions = Resource::new(|| (), |_| audit_actions());
    view! {
        <PageTitle text=audit_tab_title(i18n, &filter.read_untracked()) />
        <h1 data-testid="audit-heading">{move || audit_heading(i18n, &filter.read())}</h1>
        <p class="muted">{t!(i18n, admin.audit.explainer)}</p>
        {move || view! { <AuditFilters filter=filter.get() actions /> }}
        {move || field(&filter.read(), "patient_id").map(|_| view! { <PatientQuickFilters filter=filter.get() /> })}
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(found) => view! {
                        <AuditSummary found=found.clone() filter=filter.get_untracked() />
                        <AuditTable items=found.items.clone() />
                        <AuditPager found filter=filter.get_untracked() />
                    }.into_any(),
                    Err(e) => error_view(e),
                }
            })}
        </Transition>
    }
}

/// The search form. Its fields are the REST search's parameters; a new search starts again at
/// the first page. `actions` are the suggestions for the action field.
#[component]
fn AuditFilters(filter: AuditQuery, actions: Resource<Result<Vec<String>, AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let value = move |name: &str| field(&filter, name).unwrap_or_default();
    let outcome = value("outcome");
    view! {
        <form method="get" action=AUDIT_PAGE_PATH class="filters" role="search" data-testid="audit-filters">
            <label>{t!(i18n, admin.audit.filter.actor)}<input name="actor" value=value("actor") size="12" /></label>
            <label>{t!(i18n, admin.audit.filter.patient_id)}<input name="patient_id" value=value("patient_id") size="14" /></label>
            <label>{t!(i18n, admin.audit.filter.action)}
                <input name="action" value=value("action") list="audit-actions" size="16" />
            </label>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let actions = actions.await.unwrap_or_default();
                    view! {
                        <datalist id="audit-actions">
                            {actions.into_iter().map(|a| view! { <option value=a /> }).collect_view()}
                        </datalist>
                    }
                })}
            </Suspense>
            <label>{t!(i18n, admin.audit.filter.target_type)}<input name="target_type" value=value("target_type") size="10" /></label>
            <label>{t!(i18n, admin.audit.filter.target_id)}<input name="target_id" value=value("target_id") size="14" /></label>
            <label>{t!(i18n, admin.audit.filter.outcome)}
                <select name="outcome">
                    <option value="">{t!(i18n, admin.audit.filter.any_outcome)}</option>
                    {AUDIT_OUTCOMES.into_iter().map(|o| view! {
                        <option value=o selected=outcome == o>{outcome_text(i18n, o)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, admin.audit.filter.from)}<input type="date" name="from" value=value("from") /></label>
            <label>{t!(i18n, admin.audit.filter.to)}<input type="date" name="to" value=value("to") /></label>
            <button type="submit" class="button">{t!(i18n, admin.audit.filter.search)}</button>
            <a href=AUDIT_PAGE_PATH class="button subtle">{t!(i18n, admin.audit.filter.clear)}</a>
        </form>
    }
}

/// For one patient: every event about them, or only the reads of their data.
#[component]
fn PatientQuickFilters(filter: AuditQuery) -> impl IntoView {
    let i18n = use_i18n();
    let reads = reads_only();
    let showing_reads = field(&filter, "action").is_some_and(|a| action_set(&a) == action_set(&reads));
    let all_href = audit_href(AUDIT_PAGE_PATH, &with(&with(&filter, "page", None), "action", None));
    let reads_href = audit_href(AUDIT_PAGE_PATH, &with(&with(&filter, "page", None), "action", Some(reads)));
    let chip = |active: bool| if active { "chip active" } else { "chip" };
    let current = |active: bool| active.then_some("page");
    view! {
        <nav class="quickfilters" aria-label=move || t_string!(i18n, admin.audit.quick.label) data-testid="patient-quick-filters">
            <a href=all_href class=chip(!showing_reads) aria-current=current(!showing_reads)>{t!(i18n, admin.audit.quick.all)}</a>
            <a href=reads_href class=chip(showing_reads) aria-current=current(showing_reads) data-testid="reads-only">
                {t!(i18n, admin.audit.quick.reads)}
            </a>
        </nav>
    }
}

/// How many events matched and which page this is, and the export of them all.
#[component]
fn AuditSummary(found: AuditSearch, filter: AuditQuery) -> impl IntoView {
    let i18n = use_i18n();
    let (total, number, pages) = (found.total, found.page + 1, found.pages());
    // In the page's language, so that a Chinese reader's spreadsheet is in Chinese.
    let export = with(&filter, "page", None);
    let csv = move || audit_href(AUDIT_CSV_PATH, &with(&export, "lang", Some(language(i18n).as_str().to_owned())));
    view! {
        <p class="muted small" data-testid="audit-total">
            {t!(i18n, admin.audit.total, total = move || total, page = move || number, pages = move || pages)}
            " · "
            <a href=csv download="" rel="external" data-testid="audit-csv">{t!(i18n, admin.audit.csv)}</a>
            " (" {t!(i18n, admin.audit.csv_note, cap = move || AUDIT_EXPORT_CAP)} ")"
        </p>
    }
}

/// The way to newer and older pages, keeping the filter.
#[component]
fn AuditPager(found: AuditSearch, filter: AuditQuery) -> impl IntoView {
    let i18n = use_i18n();
    let (page, pages) = (found.page, found.pages());
    let href = |page: i64| audit_href(AUDIT_PAGE_PATH, &with(&filter, "page", (page > 0).then(|| page.to_string())));
    let newer = (page > 0).then(|| href(page - 1));
    let older = (page + 1 < pages).then(|| href(page + 1));
    view! {
        <nav class="pager" aria-label=move || t_string!(i18n, admin.audit.pages)>
            {newer.map(|href| view! { <a href=href rel="prev" data-testid="prev-page">{t!(i18n, admin.audit.newer)}</a> })}
            {older.map(|href| view! { <a href=href rel="next" data-testid="next-page">{t!(i18n, admin.audit.older)}</a> })}
        </nav>
    }
}

#[component]
fn AuditTable(items: Vec<AuditSearchItem>) -> impl IntoView {
    let i18n = use_i18n();
    if items.is_empty() {
        return view! { <p data-testid="no-audit-events">{t!(i18n, admin.audit.none)}</p> }.into_any();
    }
    view! {
        <table class="grid dense" data-testid="audit">
            <thead><tr>
                <th scope="col">{t!(i18n, admin.audit.col.time)}</th><th scope="col">{t!(i18n, admin.audit.col.actor)}</th>
                <th scope="col">{t!(i18n, admin.audit.col.action)}</th><th scope="col">{t!(i18n, admin.audit.col.target)}</th>
                <th scope="col">{t!(i18n, admin.audit.col.patient)}</th><th scope="col">{t!(i18n, admin.audit.col.address)}</th>
                <th scope="col">{t!(i18n, admin.audit.col.outcome)}</th><th scope="col">{t!(i18n, admin.audit.col.detail)}</th>
            </tr></thead>
            <tbody>
                {items.into_iter().map(|item| view! { <AuditRow item /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AuditRow(item: AuditSearchItem) -> impl IntoView {
    let i18n = use_i18n();
    let target = [item.target_type, item.target_id].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let target = breakable(&target);
    let roles = (!item.roles.is_empty()).then(|| role_names(i18n, &item.roles));
    let patient = item.patient_id.map(|p| view! { <a href=patient_access_href(&p)>{p.clone()}</a> });
    view! {
        <tr class=format!("outcome-{}", item.outcome) data-testid="audit-row">
            <td class="nowrap">{format::second(item.occurred_at)}</td>
            <td>{item.actor.unwrap_or_else(|| DASH.into())}{roles.map(|r| view! { " " <span class="muted small">{r}</span> })}</td>
            <td><code>{item.action}</code></td>
            <td class="target">{target}</td>
            <td>{patient}</td>
            <td>{item.client_addr.unwrap_or_default()}</td>
            <td>{outcome_text(i18n, &item.outcome)}</td>
            <td class="detail"><Detail detail=item.detail /></td>
        </tr>
    }
}

const DASH: &str = "—";

/// `text` with line-break opportunities: a study UID or a token's UUID is one long word, which
/// would otherwise set the width of its column and push the table off the page.
fn breakable(text: &str) -> impl IntoView + use<> {
    break_points(text).into_iter().map(|piece| view! { {piece}<wbr /> }).collect_view()
}

/// `text` cut after each dot and hyphen, and inside any longer run every [`RUN`] characters.
fn break_points(text: &str) -> Vec<String> {
    const RUN: usize = 12;
    let (mut pieces, mut piece, mut run) = (Vec::new(), String::new(), 0);
    for c in text.chars() {
        piece.push(c);
        run = if c.is_whitespace() { 0 } else { run + 1 };
        if matches!(c, '.' | '-') || run == RUN {
            pieces.push(std::mem::take(&mut piece));
            run = 0;
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// The roles an event recorded, in the page's language; one the code no longer knows as recorded.
fn role_names(i18n: I18nContext<Locale>, roles: &[String]) -> String {
    roles
        .iter()
        .map(|r| r.parse::<Role>().map_or_else(|_| r.clone(), |role| role.label_in(language(i18n)).to_owned()))
        .collect::<Vec<_>>()
        .join(t_string!(i18n, admin.list_separator))
}

/// An event's detail, collapsed to the names of its fields; opened, a list of each field and its
/// value. Nothing when the event recorded none.
#[component]
fn Detail(detail: serde_json::Value) -> impl IntoView {
    let fields: Vec<(String, serde_json::Value)> = match detail {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![(String::new(), other)],
    };
    if fields.is_empty() {
        return ().into_any();
    }
    let summary = summary_of(&fields);
    view! {
        <details>
            <summary class="nowrap">{summary}</summary>
            <dl class="facts">
                {fields.into_iter().map(|(name, value)| view! { <dt>{name}</dt><dd>{value_text(&value)}</dd> }).collect_view()}
            </dl>
        </details>
    }
    .into_any()
}

/// The fields' names, as many as fit one short line: enough to tell events apart while
/// collapsed, without widening the column.
fn summary_of(fields: &[(String, serde_json::Value)]) -> String {
    const WIDTH: usize = 28;
    let mut summary = String::new();
    for (i, (name, _)) in fields.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        if i > 0 && summary.chars().count() + separator.len() + name.chars().count() > WIDTH {
            summary.push_str(", …");
            break;
        }
        summary.push_str(separator);
        summary.push_str(name);
    }
    summary
}

/// A value as a person reads it: text without quotes, numbers and flags as they are, nested
/// values as one line of JSON with spaces after its commas and colons.
fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => DASH.to_owned(),
        other => compact_json(other),
    }
}

fn compact_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Array(items) => {
            format!("[{}]", items.iter().map(compact_json).collect::<Vec<_>>().join(", "))
        }
        serde_json::Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", serde_json::Value::from(k.as_str()), compact_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => scalar.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_read_as_text_and_one_line_json() {
        assert_eq!(value_text(&json!("MRN-1")), "MRN-1");
        assert_eq!(value_text(&json!(null)), "—");
        assert_eq!(value_text(&json!(3)), "3");
        assert_eq!(value_text(&json!({ "a": [1, "b"], "c": { "d": null } })), r#"{"a": [1, "b"], "c": {"d": null}}"#);
        let fields: Vec<(String, serde_json::Value)> =
            ["class", "organ", "probability", "model_version"].map(|k| (k.to_owned(), json!(1))).into_iter().collect();
        assert_eq!(summary_of(&fields[..2]), "class, organ");
        assert_eq!(summary_of(&fields), "class, organ, probability, …");
        let long = [("a_very_long_field_name_beyond_the_width".to_owned(), json!(1))];
        assert_eq!(summary_of(&long), long[0].0, "the first name always shows");
    }

    #[test]
    fn long_identifiers_may_break_after_dots_hyphens_and_every_twelve_characters() {
        assert_eq!(break_points("finding 42"), ["finding 42"]);
        assert_eq!(break_points("study 2.25.1839777767602823318"), ["study 2.", "25.", "183977776760", "2823318"]);
        assert_eq!(break_points("user ab407641-49ca"), ["user ab407641-", "49ca"]);
        assert_eq!(break_points("").len(), 0);
    }

    #[test]
    fn the_reads_filter_is_recognised_in_any_order() {
        let reversed = PATIENT_READ_ACTIONS.iter().rev().copied().collect::<Vec<_>>().join(" , ");
        assert_eq!(action_set(&reversed), action_set(&reads_only()));
        assert_ne!(action_set("study.view"), action_set(&reads_only()));
    }
}
