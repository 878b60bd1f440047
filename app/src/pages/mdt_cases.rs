//! The tumour board's cases: the list, a case's page (review, sign-off, treatment,
//! measurements) and opening a case directly.
//!
//! Every write is a plain form that posts to `/mdt/...` with the case version shown, so the pages
//! work without JavaScript and a stale form is refused rather than overwriting a colleague's
//! change; the server redirects back with `?done=` or `?error=`, which the page words in the
//! reader's language. Once hydrated, the review form recomputes the stage group as the surgeon
//! chooses T, N and M, with the same staging tables the server checks the decision against.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::mdt::{load_case, load_cases, load_meetings};
use crate::api::studies::study_detail;
use crate::components::board::{
    CaseStatusBadge, DASH, PatientCell, decision_text, patient_name, proposal_text, tnm_text,
};
use crate::components::errors::ErrorNotice;
use crate::components::shell::CurrentUser;
use crate::domain::language::{Labelled, Language};
use crate::domain::mdt::board::{AGENDA_ROLES, Frame};
use crate::domain::mdt::{CaseStatus, Treatment};
use crate::domain::model_class;
use crate::domain::staging::{self, Cancer, Histology, Subsite};
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::mdt::{
    CASE_PAGE, CaseDetail, CaseList, CaseListItem, Categories, Decision, Measurement, MeetingRef, Proposal,
    TreatmentRecord,
};
use crate::model::studies::StudyWithSeries;

type I18n = I18nContext<Locale>;

/// The measurement kinds a radiologist records (the service's vocabulary).
const KINDS: [&str; 4] = ["primary", "node", "distant", "invasion"];
/// The sides a measurement may be on, relative to the primary tumour.
const SIDES: [&str; 3] = ["ipsilateral", "contralateral", "midline"];

// ---- Wording ----

/// A time the server sends (RFC 3339) as the pages show times; anything else as sent.
fn when(text: &str) -> String {
    crate::format::parse_rfc3339(text).map_or_else(|| text.to_owned(), crate::format::minute)
}

fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

/// A patient's sex as DICOM codes it (`M`, `F`, `O`); anything else as stored.
fn sex_text(i18n: I18n, sex: Option<&str>) -> String {
    match sex {
        Some("M") => t_string!(i18n, mdt.sex.male).to_owned(),
        Some("F") => t_string!(i18n, mdt.sex.female).to_owned(),
        Some("O") => t_string!(i18n, mdt.sex.other).to_owned(),
        Some(other) => other.to_owned(),
        None => DASH.to_owned(),
    }
}

fn histology_text(i18n: I18n, histology: Histology) -> &'static str {
    match histology {
        Histology::Squamous => t_string!(i18n, mdt.histology.squamous),
        Histology::Adenocarcinoma => t_string!(i18n, mdt.histology.adenocarcinoma),
    }
}

fn subsite_text(i18n: I18n, subsite: Subsite) -> &'static str {
    match subsite {
        Subsite::Supraglottic => t_string!(i18n, mdt.subsite.supraglottic),
        Subsite::Glottic => t_string!(i18n, mdt.subsite.glottic),
        Subsite::Subglottic => t_string!(i18n, mdt.subsite.subglottic),
    }
}

/// A measurement's kind (`primary`, `node`, `distant`, `invasion`); anything else as stored.
fn kind_text(i18n: I18n, kind: &str) -> String {
    match kind {
        "primary" => t_string!(i18n, mdt.kind.primary).to_owned(),
        "node" => t_string!(i18n, mdt.kind.node).to_owned(),
        "distant" => t_string!(i18n, mdt.kind.distant).to_owned(),
        "invasion" => t_string!(i18n, mdt.kind.invasion).to_owned(),
        other => other.to_owned(),
    }
}

fn side_text(i18n: I18n, side: &str) -> String {
    match side {
        "ipsilateral" => t_string!(i18n, mdt.side.ipsilateral).to_owned(),
        "contralateral" => t_string!(i18n, mdt.side.contralateral).to_owned(),
        "midline" => t_string!(i18n, mdt.side.midline).to_owned(),
        other => other.to_owned(),
    }
}

/// Who or what took a measurement (`image_analysis`, `screening`, `radiologist`).
fn source_text(i18n: I18n, source: &str) -> String {
    match source {
        "image_analysis" => t_string!(i18n, mdt.source.image_analysis).to_owned(),
        "screening" => t_string!(i18n, mdt.source.screening).to_owned(),
        "radiologist" => t_string!(i18n, mdt.source.radiologist).to_owned(),
        other => other.replace('_', " "),
    }
}

/// How a proposal was computed (`measurement`, `staging_model`).
fn method_text(i18n: I18n, method: &str) -> String {
    match method {
        "measurement" => t_string!(i18n, mdt.method.measurement).to_owned(),
        "staging_model" => t_string!(i18n, mdt.method.staging_model).to_owned(),
        other => other.replace('_', " "),
    }
}

/// A decision's field as the amendment diff and the rules name it.
fn field_text(i18n: I18n, field: &str) -> String {
    match field {
        "t" => t_string!(i18n, mdt.field.t).to_owned(),
        "n" => t_string!(i18n, mdt.field.n).to_owned(),
        "m" => t_string!(i18n, mdt.field.m).to_owned(),
        "stage_group" => t_string!(i18n, mdt.field.stage_group).to_owned(),
        "recommendation" => t_string!(i18n, mdt.field.recommendation).to_owned(),
        "note" => t_string!(i18n, mdt.field.note).to_owned(),
        "guideline_refs" => t_string!(i18n, mdt.field.guideline_refs).to_owned(),
        other => other.replace('_', " "),
    }
}

/// Between a label and its value (`: `, or the full-width colon in Chinese).
fn separator(i18n: I18n) -> &'static str {
    t_string!(i18n, mdt.separator)
}

/// A value of the amendment diff: a recommendation by its name, nothing as a dash.
fn diff_value(language: Language, field: &str, value: &str) -> String {
    if value.is_empty() {
        return DASH.to_owned();
    }
    match (field, Treatment::parse(value)) {
        ("recommendation", Some(treatment)) => treatment.label_in(language).to_owned(),
        _ => value.to_owned(),
    }
}

/// Text as HTML markup that shows it as written.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The case list's address with its filters and page.
fn list_href(status: Option<&str>, cancer: Option<&str>, page: i64) -> String {
    let page = (page > 0).then(|| page.to_string());
    let pairs = [("status", status), ("cancer", cancer), ("page", page.as_deref())];
    let query: Vec<String> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", crate::format::query_value(v))))
        .collect();
    if query.is_empty() { "/mdt".to_owned() } else { format!("/mdt?{}", query.join("&")) }
}

/// The case's category lists; where the server had none (an esophageal case without its
/// histology yet), the cancer's own lists, which do not depend on the histology.
fn categories_of(case: &CaseDetail) -> Categories {
    if !case.categories.t.is_empty() {
        return case.categories.clone();
    }
    let histology = case.histology.or(case.cancer.needs_histology().then_some(Histology::Squamous));
    staging::table(case.cancer, case.edition, histology, case.subsite)
        .map(|table| Categories {
            t: table.t.iter().map(|s| s.to_string()).collect(),
            n: table.n.iter().map(|s| s.to_string()).collect(),
            m: table.m.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap_or_default()
}

/// The stage group of a combination: `None` when a category is missing or not valid in the
/// frame, `Some(None)` when the manual assigns the combination no group.
fn stage_group_of(frame: Frame, t: Option<&str>, n: Option<&str>, m: Option<&str>) -> Option<Option<String>> {
    let request = staging::Request {
        cancer: frame.cancer,
        edition: frame.edition,
        t: t?,
        n: n?,
        m: m?,
        histology: frame.histology,
        subsite: frame.subsite,
    };
    staging::evaluate(&request).ok().map(|staged| staged.stage_group)
}

/// The category a review choice settles on: the proposal's for `accept`, none for no choice.
fn settled(choice: &str, proposed: Option<&str>) -> Option<String> {
    match choice {
        "accept" => proposed.map(str::to_owned),
        "" => None,
        other => Some(other.to_owned()),
    }
}

/// The slice viewer at `slice` (else its middle slice); opened from case `case`, it links a
/// measurement back to that case's form.
fn viewer_href(study: &str, series: &str, slice: Option<i64>, case: Option<i64>) -> String {
    let query: Vec<String> =
        [slice.map(|n| format!("slice={n}")), case.map(|id| format!("case={id}"))].into_iter().flatten().collect();
    if query.is_empty() {
        format!("/studies/{study}/series/{series}")
    } else {
        format!("/studies/{study}/series/{series}?{}", query.join("&"))
    }
}

/// What the slice viewer's measurement fills the measurement form with (`?size_mm=`,
/// `&slice_index=`, `&position_mm=x,y,z`); a value the form would not take is left out.
#[derive(Debug, Default, Clone, PartialEq)]
struct Prefill {
    size_mm: Option<String>,
    slice_index: Option<String>,
    position_mm: Option<String>,
}

impl Prefill {
    fn from_query(size_mm: Option<&str>, slice_index: Option<&str>, position_mm: Option<&str>) -> Prefill {
        Prefill {
            size_mm: size_mm
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && (0.1..=500.0).contains(s))
                .map(|s| format!("{s:.1}")),
            slice_index: slice_index.and_then(|s| s.trim().parse::<u32>().ok()).map(|s| s.to_string()),
            position_mm: position_mm
                .and_then(crate::domain::geometry::parse_position)
                .map(crate::domain::geometry::format_position),
        }
    }

    fn any(&self) -> bool {
        self.size_mm.is_some() || self.slice_index.is_some() || self.position_mm.is_some()
    }
}

/// The slice to open the viewer at: the finding's, else the current primary measurement's.
fn key_slice(case: &CaseDetail) -> Option<i64> {
    case.finding.as_ref().and_then(|f| f.slice_index).or_else(|| {
        case.measurements
            .iter()
            .find(|m| m.kind == "primary" && !m.superseded)
            .and_then(|m| m.slice_index)
            .map(i64::from)
    })
}

// ---- Notices ----

/// The outcome of the last form post: `?done=` worded in the page language, `?error=` worded
/// where it is a code and shown as the server wrote it otherwise.
#[component]
fn Notices() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let done = move || {
        query.read().get("done").map(|done| {
            let text = match done.as_str() {
                "review" => t!(i18n, mdt.done.review).into_any(),
                "sign" => t!(i18n, mdt.done.sign).into_any(),
                "locked" => t!(i18n, mdt.done.locked).into_any(),
                "treatment" => t!(i18n, mdt.done.treatment).into_any(),
                "measure" => t!(i18n, mdt.done.measure).into_any(),
                "open" => t!(i18n, mdt.done.open).into_any(),
                _ => t!(i18n, mdt.done.other).into_any(),
            };
            view! { <p class="notice info" role="status" data-testid="notice">{text}</p> }
        })
    };
    let error = move || {
        query.read().get("error").map(|error| {
            let text = match error.as_str() {
                "stale" => t!(i18n, mdt.refusal.stale).into_any(),
                "role_may_not" => t!(i18n, mdt.refusal.role_may_not).into_any(),
                _ => error.into_any(),
            };
            view! { <p class="notice error" role="alert" data-testid="error">{text}</p> }
        })
    };
    view! { {done} {error} }
}

// ---- The case list ----

#[component]
pub fn CaseListPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        let page = get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0).max(0);
        (get("status"), get("cancer"), page)
    });
    let cases = Resource::new(move || filter.get(), |(status, cancer, page)| load_cases(status, cancer, page));
    view! {
        <PageTitle text=t_string!(i18n, mdt.list.title).to_owned() />
        <h1>{t!(i18n, mdt.list.title)}</h1>
        <nav class="mdt-links" aria-label=move || t_string!(i18n, mdt.list.links)>
            <a href="/mdt/cases/new" class="button primary" data-testid="open-case-link">{t!(i18n, mdt.list.open_case)}</a>
            <a href="/mdt/meetings" class="button" data-testid="meetings-link">{t!(i18n, mdt.list.meetings)}</a>
            <a href="/mdt/agreement" class="button" data-testid="agreement-link">{t!(i18n, mdt.list.agreement)}</a>
        </nav>
        {move || {
            let (status, cancer, _) = filter.get();
            view! { <CaseFilters status cancer /> }
        }}
        <Transition fallback=move || view! { <p class="muted">{t!(i18n, mdt.loading)}</p> }>
            {move || Suspend::new(async move {
                let (status, cancer, page) = filter.get_untracked();
                match cases.await {
                    Ok(list) => view! { <CaseTable list=list.clone() /> <CasePager total=list.total page status cancer /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn CaseFilters(status: Option<String>, cancer: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="get" action="/mdt" class="filters" role="search" data-testid="case-filters">
            <label>{t!(i18n, mdt.list.filter_status)}
                <select name="status">
                    <option value="">{t!(i18n, mdt.list.all_statuses)}</option>
                    {CaseStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=status.as_deref() == Some(s.as_str())>{move || s.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, mdt.list.filter_cancer)}
                <select name="cancer">
                    <option value="">{t!(i18n, mdt.list.all_cancers)}</option>
                    {Cancer::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=cancer.as_deref() == Some(c.as_str())>{move || c.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button">{t!(i18n, mdt.list.apply)}</button>
            <a href="/mdt" class="button subtle">{t!(i18n, mdt.list.reset)}</a>
        </form>
    }
    .into_any()
}

#[component]
fn CaseTable(list: CaseList) -> impl IntoView {
    let i18n = use_i18n();
    if list.items.is_empty() {
        return view! { <p data-testid="no-cases">{t!(i18n, mdt.list.none)}</p> }.into_any();
    }
    view! {
        <table class="grid dense mdt-cases" data-testid="cases">
            <thead><tr>
                <th scope="col">{t!(i18n, mdt.list.col.case)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.patient)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.cancer)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.status)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.proposal)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.decision)}</th>
                <th scope="col">{t!(i18n, mdt.list.col.meeting)}</th>
            </tr></thead>
            <tbody>
                {list.items.into_iter().map(|item| view! { <CaseRow item /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn CaseRow(item: CaseListItem) -> impl IntoView {
    let i18n = use_i18n();
    let cancer = item.cancer;
    let proposal = item.proposal.as_ref().map_or_else(|| DASH.to_owned(), proposal_text);
    let decision = item.decision.clone().map(|d| {
        let text = decision_text(&d);
        let signers = d.signed_by.join(", ");
        view! {
            {text}
            {(!d.signed_by.is_empty()).then(|| view! {
                <br /><span class="muted small" data-testid="case-signers">{t!(i18n, mdt.list.signed_by, names = move || signers.clone())}</span>
            })}
            {item.signed_by_me.then(|| view! { " " <span class="tag">{t!(i18n, mdt.list.you_signed)}</span> })}
        }
    });
    let meeting = item.next_meeting.clone().map(|m| {
        // The list sends the meeting's time only (no title).
        let title = (!m.title.is_empty()).then(|| view! { <br /><span class="muted small">{m.title}</span> });
        view! { <a href=format!("/mdt/meetings/{}", m.id)>{when(&m.starts_at)}</a> {title} }
    });
    view! {
        <tr data-testid="case-row" data-case=item.id data-status=item.status.as_str()>
            <td><a href=format!("/mdt/cases/{}", item.id) data-testid="case-link">{format!("#{}", item.id)}</a></td>
            <td data-testid="case-patient"><PatientCell patient=item.patient.clone() /></td>
            <td data-testid="case-cancer">{move || cancer.label_in(language(i18n))}</td>
            <td data-testid="case-status"><CaseStatusBadge status=item.status /></td>
            <td class="nowrap" data-testid="case-proposal">{proposal}</td>
            <td data-testid="case-decision">{match decision {
                Some(d) => d.into_any(),
                None => DASH.into_any(),
            }}</td>
            <td class="nowrap" data-testid="case-meeting">{match meeting {
                Some(m) => m.into_any(),
                None => DASH.into_any(),
            }}</td>
        </tr>
    }
    .into_any()
}

#[component]
fn CasePager(total: i64, page: i64, status: Option<String>, cancer: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let pages = ((total + CASE_PAGE - 1) / CASE_PAGE).max(1);
    let prev = (page > 0).then(|| list_href(status.as_deref(), cancer.as_deref(), page - 1));
    let next = (page + 1 < pages).then(|| list_href(status.as_deref(), cancer.as_deref(), page + 1));
    let number = page + 1;
    view! {
        <p class="muted small" data-testid="case-total">
            {t!(i18n, mdt.list.total, total = move || total, page = move || number, pages = move || pages)}
        </p>
        <nav class="pager" aria-label=move || t_string!(i18n, mdt.list.pages)>
            {prev.map(|href| view! { <a href=href rel="prev" data-testid="prev-page">{t!(i18n, mdt.list.previous)}</a> })}
            {next.map(|href| view! { <a href=href rel="next" data-testid="next-page">{t!(i18n, mdt.list.next)}</a> })}
        </nav>
    }
    .into_any()
}

// ---- A case ----

#[component]
pub fn CasePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let case =
        Resource::new(move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0), load_case);
    view! {
        <PageTitle text=t_string!(i18n, mdt.case.title).to_owned() />
        <p><a href="/mdt">{t!(i18n, mdt.case.back)}</a></p>
        <Notices />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, mdt.loading)}</p> }>
            {move || Suspend::new(async move {
                match case.await {
                    Ok(case) => view! { <Case case /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn Case(case: CaseDetail) -> impl IntoView {
    let actions = case.actions;
    view! {
        <CaseHeader case=case.clone() />
        <div class="columns">
            <FindingBox case=case.clone() />
            <KeyImages case=case.clone() />
        </div>
        <div class="columns">
            <Referral case=case.clone() />
            <Meetings case=case.clone() />
        </div>
        <crate::pages::referrals::card::CaseReferralsCard referrals=case.referrals.clone() case_id=case.id />
        <ProposalBox case=case.clone() />
        {actions.measure.then(|| view! { <MeasureForm case=case.clone() /> })}
        {actions.review.then(|| view! { <ReviewForm case=case.clone() /> })}
        <SignOff case=case.clone() />
        <Decisions decisions=case.decisions.clone() />
        <Treatments case />
    }
    .into_any()
}

#[component]
fn CaseHeader(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let (id, cancer, status) = (case.id, case.cancer, case.status);
    let patient = case.patient.clone();
    let name = {
        let known = patient_name(&patient);
        move || known.clone().unwrap_or_else(|| t_string!(i18n, board.no_name).to_owned())
    };
    let sex = patient.sex.clone();
    let histology = case.histology;
    let subsite = case.subsite;
    let opened_by = case.opened_by.clone().unwrap_or_else(|| DASH.to_owned());
    let opened_at = when(&case.opened_at);
    view! {
        <h1 data-testid="case-heading">
            {name.clone()} " · " {move || cancer.label_in(language(i18n))} {format!(" #{id} ")}
            <span class=format!("status mdt-status-{}", status.as_str()) data-testid="case-status">
                {move || status.label_in(language(i18n))}
            </span>
        </h1>
        <dl class="facts patient" data-testid="patient">
            <dt>{t!(i18n, mdt.patient.name)}</dt><dd data-testid="patient-name">{name}</dd>
            <dt>{t!(i18n, mdt.patient.patient_id)}</dt><dd><code data-testid="patient-id">{patient.patient_id.clone()}</code></dd>
            <dt>{t!(i18n, mdt.patient.born)}</dt><dd>{patient.birth_date.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, mdt.patient.sex)}</dt><dd>{move || sex_text(i18n, sex.as_deref())}</dd>
            <dt>{t!(i18n, mdt.patient.site)}</dt><dd>{case.site.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, mdt.case.cancer)}</dt><dd data-testid="case-cancer">{move || cancer.label_in(language(i18n))}</dd>
            {cancer.needs_histology().then(|| view! {
                <dt>{t!(i18n, mdt.case.histology)}</dt>
                <dd data-testid="case-histology">{move || histology.map_or(DASH, |h| histology_text(i18n, h))}</dd>
            })}
            {cancer.has_subsites().then(|| view! {
                <dt>{t!(i18n, mdt.case.subsite)}</dt>
                <dd data-testid="case-subsite">{move || subsite.map_or(DASH, |s| subsite_text(i18n, s))}</dd>
            })}
            <dt>{t!(i18n, mdt.case.edition)}</dt><dd>{case.edition.as_str().to_uppercase()}</dd>
            <dt>{t!(i18n, mdt.case.opened)}</dt>
            <dd>{t!(i18n, mdt.case.opened_by, at = move || opened_at.clone(), by = move || opened_by.clone())}</dd>
        </dl>
        <p class="card-links">
            <a href=format!("/api/v1/mdt/cases/{id}/report.pdf") data-testid="report-pdf" rel="nofollow">{t!(i18n, mdt.case.report_pdf)}</a>
        </p>
    }
    .into_any()
}

#[component]
fn FindingBox(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let body = match case.finding {
        Some(f) => {
            let (model, version, at) = (f.model_name.clone(), f.model_version.clone(), when(&f.detected_at));
            view! {
                <p>
                    {let code = f.class_label.clone(); move || model_class::shown(&code, language(i18n))} " "
                    <strong data-testid="finding-probability">{percent(f.probability)}</strong>
                </p>
                <p class="muted small" data-testid="finding-model">{t!(i18n, mdt.finding.model,
                    name = move || model.clone(), version = move || version.clone(), at = move || at.clone())}</p>
                {f.diagnosis.clone().map(|d| view! { <p>{t!(i18n, mdt.finding.diagnosis, diagnosis = move || d.clone())}</p> })}
                <p><a href=format!("/findings/{}", f.id) data-testid="finding-link">{t!(i18n, mdt.finding.open, id = move || f.id)}</a></p>
            }
            .into_any()
        }
        None => view! { <p class="muted" data-testid="no-finding">{t!(i18n, mdt.finding.none)}</p> }.into_any(),
    };
    view! {
        <section class="card" data-testid="finding">
            <h2>{t!(i18n, mdt.finding.heading)}</h2>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn KeyImages(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let slice = key_slice(&case);
    // A reader who may record measurements on the case gets the viewer's link back to its form.
    let from_case = case.actions.measure.then_some(case.id);
    let viewer = case.study_uid.clone().zip(case.series_uid.clone()).map(|(study, series)| {
        let href = viewer_href(&study, &series, slice, from_case);
        let text = match slice {
            Some(n) => t!(i18n, mdt.images.open_at, slice = move || n).into_any(),
            None => t!(i18n, mdt.images.open_series).into_any(),
        };
        view! { <p><a href=href class="button" data-testid="viewer-link">{text}</a></p> }
    });
    let study = case.study_uid.clone().map(|study| {
        view! { <p><a href=format!("/studies/{study}") data-testid="study-link">{t!(i18n, mdt.images.study)}</a></p> }
    });
    let none = (viewer.is_none())
        .then(|| view! { <p class="muted" data-testid="no-series">{t!(i18n, mdt.images.no_series)}</p> });
    view! {
        <section class="card" data-testid="key-images">
            <h2>{t!(i18n, mdt.images.heading)}</h2>
            {viewer}
            {none}
            {study}
        </section>
    }
    .into_any()
}

#[component]
fn Referral(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" data-testid="referral">
            <h2>{t!(i18n, mdt.referral.heading)}</h2>
            <dl class="mdt-facts">
                <dt>{t!(i18n, mdt.referral.diagnosis)}</dt>
                <dd data-testid="diagnosis">{case.diagnosis.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
                <dt>{t!(i18n, mdt.referral.note)}</dt>
                <dd class="mdt-text" data-testid="referral-note">{case.referral_note.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
            </dl>
        </section>
    }
    .into_any()
}

#[component]
fn Meetings(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let list = if case.meetings.is_empty() {
        view! { <p class="muted" data-testid="no-meetings">{t!(i18n, mdt.meetings.none)}</p> }.into_any()
    } else {
        view! {
            <ul class="mdt-meetings" data-testid="case-meetings">
                {case.meetings.iter().map(|m| view! {
                    <li><a href=format!("/mdt/meetings/{}", m.id)>{when(&m.starts_at)}</a> " " {m.title.clone()}</li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card" data-testid="meetings">
            <h2>{t!(i18n, mdt.meetings.heading)}</h2>
            {list}
            // A site that follows a referred case read-only does not put it on its agenda.
            {case.referrals.work_up_at.is_none().then(|| view! { <AddToMeeting case_id=case.id on=case.meetings.clone() /> })}
        </section>
    }
    .into_any()
}

/// One button per upcoming meeting the case is not on yet, for those who prepare agendas.
#[component]
fn AddToMeeting(case_id: i64, on: Vec<MeetingRef>) -> impl IntoView {
    let i18n = use_i18n();
    let user = use_context::<CurrentUser>();
    let upcoming = Resource::new(|| (), |_| load_meetings(Some("upcoming".to_owned())));
    let on = StoredValue::new(on);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let may = match user {
                    Some(user) => matches!(user.0.await, Ok(Some(u)) if u.has_any_role(AGENDA_ROLES)),
                    None => false,
                };
                let meetings: Vec<_> = match upcoming.await {
                    Ok(list) if may => list
                        .items
                        .into_iter()
                        .filter(|m| m.upcoming && on.with_value(|on| on.iter().all(|o| o.id != m.id)))
                        .collect(),
                    _ => Vec::new(),
                };
                (!meetings.is_empty()).then(|| view! {
                    <h3>{t!(i18n, mdt.meetings.add_heading)}</h3>
                    <ul class="mdt-meetings" data-testid="agenda-forms">
                        {meetings.into_iter().map(|m| view! {
                            <li>
                                <form method="post" action=format!("/mdt/meetings/{}/agenda", m.id) class="inline-form" data-testid="agenda-form">
                                    <input type="hidden" name="case_id" value=case_id />
                                    <span>{when(&m.starts_at)} " " {m.title.clone()}</span>
                                    <button type="submit" class="button subtle">{t!(i18n, mdt.meetings.add)}</button>
                                </form>
                            </li>
                        }).collect_view()}
                    </ul>
                })
            })}
        </Suspense>
    }
    .into_any()
}

// ---- The AI proposal and the measurements ----

#[component]
fn ProposalBox(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let body = match case.proposal.clone() {
        Some(p) => view! {
            <ProposalFacts proposal=p.clone() />
            <ProposalRules proposal=p.clone() />
            <EarlierProposals proposals=case.proposals.iter().skip(1).cloned().collect() />
        }
        .into_any(),
        None => view! { <p class="muted" data-testid="no-proposal">{t!(i18n, mdt.proposal.none)}</p> }.into_any(),
    };
    let used = case.proposal.as_ref().map(|p| p.measurement_ids.clone()).unwrap_or_default();
    view! {
        <section class="card mdt-proposal" data-testid="proposal">
            <h2>{t!(i18n, mdt.proposal.heading)}</h2>
            {body}
            <h3>{t!(i18n, mdt.measurements.heading)}</h3>
            <Measurements measurements=case.measurements.clone() used />
        </section>
    }
    .into_any()
}

#[component]
fn ProposalFacts(proposal: Proposal) -> impl IntoView {
    let i18n = use_i18n();
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| DASH.to_owned());
    let method = proposal.method.clone();
    let model = proposal.model_name.clone().map(|name| {
        let version = proposal.model_version.clone().unwrap_or_default();
        let sha = proposal.model_sha256.clone().map(|s| s.chars().take(12).collect::<String>()).unwrap_or_default();
        view! {
            <dt>{t!(i18n, mdt.proposal.model)}</dt>
            <dd>{format!("{name} {version}")} " " <code class="small" title=proposal.model_sha256.clone()>{sha}</code></dd>
        }
    });
    view! {
        <dl class="mdt-tnm" data-testid="proposal-tnm">
            <dt>{t!(i18n, mdt.field.t)}</dt><dd data-testid="proposal-t">{value(&proposal.tnm.t)}</dd>
            <dt>{t!(i18n, mdt.field.n)}</dt><dd data-testid="proposal-n">{value(&proposal.tnm.n)}</dd>
            <dt>{t!(i18n, mdt.field.m)}</dt><dd data-testid="proposal-m">{value(&proposal.tnm.m)}</dd>
            <dt>{t!(i18n, mdt.field.stage_group)}</dt><dd data-testid="proposal-group"><strong>{value(&proposal.tnm.stage_group)}</strong></dd>
        </dl>
        <dl class="facts mdt-facts">
            <dt>{t!(i18n, mdt.proposal.confidence)}</dt><dd data-testid="proposal-confidence">{percent(proposal.confidence)}</dd>
            <dt>{t!(i18n, mdt.proposal.method)}</dt><dd data-testid="proposal-method">{move || method_text(i18n, &method)}</dd>
            {model}
            <dt>{t!(i18n, mdt.proposal.version)}</dt><dd data-testid="proposal-version">{proposal.version}</dd>
            <dt>{t!(i18n, mdt.case.edition)}</dt><dd>{proposal.edition.as_str().to_uppercase()}</dd>
            <dt>{t!(i18n, mdt.proposal.created)}</dt><dd>{when(&proposal.created_at)}</dd>
        </dl>
    }
    .into_any()
}

#[component]
fn ProposalRules(proposal: Proposal) -> impl IntoView {
    let i18n = use_i18n();
    if proposal.rules.is_empty() {
        return ().into_any();
    }
    view! {
        <h3>{t!(i18n, mdt.proposal.rules)}</h3>
        <ul class="mdt-rules" data-testid="proposal-rules">
            {proposal.rules.into_iter().map(|r| {
                let category = r.category.clone();
                let rule = move || r.in_language(language(i18n)).to_owned();
                view! { <li><strong>{move || field_text(i18n, &category)}</strong> {move || separator(i18n)} {rule}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The proposal's earlier versions (each new measurement recomputes it), folded away.
#[component]
fn EarlierProposals(proposals: Vec<Proposal>) -> impl IntoView {
    let i18n = use_i18n();
    (!proposals.is_empty()).then(|| {
        view! {
            <details class="mdt-earlier" data-testid="earlier-proposals">
                <summary>{t!(i18n, mdt.proposal.earlier)}</summary>
                <ul>
                    {proposals.into_iter().map(|p| {
                        let tnm = tnm_text(p.tnm.t.as_deref(), p.tnm.n.as_deref(), p.tnm.m.as_deref(), p.tnm.stage_group.as_deref());
                        let version = p.version;
                        view! {
                            <li>
                                {t!(i18n, mdt.proposal.version_n, version = move || version)} " · " {tnm} " · "
                                {percent(p.confidence)} " · " <span class="muted small">{when(&p.created_at)}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </details>
        }
    })
}

#[component]
fn Measurements(measurements: Vec<Measurement>, used: Vec<i64>) -> impl IntoView {
    let i18n = use_i18n();
    if measurements.is_empty() {
        return view! { <p class="muted" data-testid="no-measurements">{t!(i18n, mdt.measurements.none)}</p> }
            .into_any();
    }
    let all = measurements.clone();
    view! {
        <table class="grid dense" data-testid="measurements">
            <thead><tr>
                <th scope="col">"#"</th>
                <th scope="col">{t!(i18n, mdt.measurements.kind)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.size)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.location)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.side)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.slice)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.source)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.recorded)}</th>
                <th scope="col">{t!(i18n, mdt.measurements.state)}</th>
            </tr></thead>
            <tbody>
                {measurements.into_iter().map(|m| {
                    let by = all.iter().find(|later| later.corrects == Some(m.id)).map(|later| later.id);
                    view! { <MeasurementRow m=m.clone() superseded_by=by in_proposal=used.contains(&m.id) /> }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn MeasurementRow(m: Measurement, superseded_by: Option<i64>, in_proposal: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (kind, side, source) = (m.kind.clone(), m.side.clone(), m.source.clone());
    let recorded = format!("{} · {}", m.recorded_by.clone().unwrap_or_else(|| DASH.to_owned()), when(&m.recorded_at));
    let state = match (m.superseded, superseded_by) {
        (true, Some(by)) => t!(i18n, mdt.measurements.superseded_by, id = move || by).into_any(),
        (true, None) => t!(i18n, mdt.measurements.superseded).into_any(),
        (false, _) if in_proposal => t!(i18n, mdt.measurements.in_proposal).into_any(),
        (false, _) => ().into_any(),
    };
    let corrects = m
        .corrects
        .map(|c| view! { <br /><span class="small">{t!(i18n, mdt.measurements.corrects, id = move || c)}</span> });
    let note = m.note.clone().map(|n| view! { <br /><span class="muted small">{n}</span> });
    view! {
        <tr class:mdt-superseded=m.superseded data-testid="measurement-row" data-measurement=m.id data-superseded=m.superseded.to_string()>
            <td class="num">{m.id}</td>
            <td>{move || kind_text(i18n, &kind)}</td>
            <td class="num">{m.size_mm.map_or_else(|| DASH.to_owned(), |s| format!("{s:.1} mm"))}</td>
            <td>{m.location.clone().unwrap_or_else(|| DASH.to_owned())}</td>
            <td>{move || side.as_deref().map_or_else(|| DASH.to_owned(), |s| side_text(i18n, s))}</td>
            <td class="num">{m.slice_index.map_or_else(|| DASH.to_owned(), |s| s.to_string())}</td>
            <td>{move || source_text(i18n, &source)}</td>
            <td class="small">{recorded}</td>
            <td class="mdt-state">{state}{corrects}{note}</td>
        </tr>
    }
    .into_any()
}

/// A radiologist's measurement on the case's series (a correction names what it corrects).
#[component]
fn MeasureForm(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let current: Vec<Measurement> = case.measurements.iter().filter(|m| !m.superseded).cloned().collect();
    let prefill = {
        let query = use_query_map();
        let query = query.read_untracked();
        Prefill::from_query(query.get_str("size_mm"), query.get_str("slice_index"), query.get_str("position_mm"))
    };
    let from_viewer = prefill.any().then(|| {
        view! { <p class="notice info" data-testid="measure-prefilled">{t!(i18n, mdt.measure.from_viewer)}</p> }
    });
    let slice = prefill.slice_index.or_else(|| key_slice(&case).map(|s| s.to_string())).unwrap_or_default();
    let size = prefill.size_mm.unwrap_or_default();
    let position = prefill.position_mm.unwrap_or_default();
    view! {
        <section class="card" id="measure" data-testid="measure">
            <h2>{t!(i18n, mdt.measure.heading)}</h2>
            {from_viewer}
            <form method="post" action=format!("/mdt/cases/{}/measurements", case.id) class="mdt-form" data-testid="measure-form">
                <input type="hidden" name="expected_version" value=case.version />
                <label for="measure-kind">{t!(i18n, mdt.measure.kind)}</label>
                <select id="measure-kind" name="kind" required>
                    {KINDS.into_iter().map(|k| view! { <option value=k>{move || kind_text(i18n, k)}</option> }).collect_view()}
                </select>
                <label for="measure-size">{t!(i18n, mdt.measure.size)}</label>
                <input id="measure-size" name="size_mm" type="number" step="0.1" min="0.1" max="500" inputmode="decimal" aria-describedby="measure-size-hint" value=size />
                <span id="measure-size-hint" class="muted small">{t!(i18n, mdt.measure.size_hint)}</span>
                <label for="measure-location">{t!(i18n, mdt.measure.location)}</label>
                <input id="measure-location" name="location" maxlength="64" aria-describedby="measure-location-hint" />
                <span id="measure-location-hint" class="muted small">{t!(i18n, mdt.measure.location_hint)}</span>
                <label for="measure-side">{t!(i18n, mdt.measure.side)}</label>
                <select id="measure-side" name="side">
                    <option value="">{DASH}</option>
                    {SIDES.into_iter().map(|s| view! { <option value=s>{move || side_text(i18n, s)}</option> }).collect_view()}
                </select>
                <label for="measure-slice">{t!(i18n, mdt.measure.slice)}</label>
                <input id="measure-slice" name="slice_index" type="number" min="0" step="1" required value=slice />
                <label for="measure-position">{t!(i18n, mdt.measure.position)}</label>
                <input id="measure-position" name="position_mm" maxlength="64" inputmode="decimal" aria-describedby="measure-position-hint" value=position />
                <span id="measure-position-hint" class="muted small">{t!(i18n, mdt.measure.position_hint)}</span>
                <label for="measure-corrects">{t!(i18n, mdt.measure.corrects)}</label>
                <select id="measure-corrects" name="corrects">
                    <option value="">{t!(i18n, mdt.measure.corrects_none)}</option>
                    {current.into_iter().map(|m| {
                        let (id, kind) = (m.id, m.kind.clone());
                        let size = m.size_mm.map(|s| format!(" {s:.1} mm")).unwrap_or_default();
                        let location = m.location.clone().map(|l| format!(" {l}")).unwrap_or_default();
                        view! { <option value=id>{move || format!("#{id} {}{size}{location}", kind_text(i18n, &kind))}</option> }
                    }).collect_view()}
                </select>
                <label for="measure-note">{t!(i18n, mdt.measure.note)}</label>
                <textarea id="measure-note" name="note" maxlength="2000" rows="2"></textarea>
                <div><button type="submit" class="button primary" data-testid="measure-submit">{t!(i18n, mdt.measure.submit)}</button></div>
            </form>
        </section>
    }
    .into_any()
}

// ---- The review ----

/// The review form: each of T, N and M accepted or overridden with a reason, the recommendation
/// and, for a signed decision, the amendment's reason. The stage group beside the choices is
/// recomputed in the browser as they change (the server recomputes it when the form is saved).
#[component]
fn ReviewForm(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let proposal = case.proposal.as_ref().map(|p| p.tnm.clone()).unwrap_or_default();
    let current = case.decisions.first().cloned();
    let categories = categories_of(&case);
    let (cancer, edition) = (case.cancer, case.edition);
    let histology = RwSignal::new(case.histology);
    let subsite = RwSignal::new(case.subsite);
    // Each category starts where the current decision left it (or at the proposal).
    let start = |proposed: &Option<String>, decided: Option<&String>, reason: Option<&Option<String>>| match decided {
        Some(d) if proposed.as_ref() != Some(d) => (d.clone(), reason.cloned().flatten().unwrap_or_default()),
        _ if proposed.is_some() => ("accept".to_owned(), String::new()),
        _ => (String::new(), String::new()),
    };
    let (t0, t_reason) = start(&proposal.t, current.as_ref().map(|d| &d.t), current.as_ref().map(|d| &d.t_reason));
    let (n0, n_reason) = start(&proposal.n, current.as_ref().map(|d| &d.n), current.as_ref().map(|d| &d.n_reason));
    let (m0, m_reason) = start(&proposal.m, current.as_ref().map(|d| &d.m), current.as_ref().map(|d| &d.m_reason));
    let (t, n, m) = (RwSignal::new(t0), RwSignal::new(n0), RwSignal::new(m0));
    let group = {
        let proposal = proposal.clone();
        move || {
            let frame = Frame { cancer, edition, histology: histology.get(), subsite: subsite.get() };
            let (t, n, m) = (
                settled(&t.get(), proposal.t.as_deref()),
                settled(&n.get(), proposal.n.as_deref()),
                settled(&m.get(), proposal.m.as_deref()),
            );
            match stage_group_of(frame, t.as_deref(), n.as_deref(), m.as_deref()) {
                Some(Some(group)) => group,
                Some(None) => t_string!(i18n, mdt.review.no_group).to_owned(),
                None => DASH.to_owned(),
            }
        }
    };
    let status = case.status;
    let amending = status == CaseStatus::Decided;
    let recommended = current.as_ref().map(|d| d.recommendation);
    let note = current.as_ref().and_then(|d| d.note.clone()).unwrap_or_default();
    let refs = current.as_ref().and_then(|d| d.guideline_refs.clone()).unwrap_or_default();
    let submit = match status {
        CaseStatus::Decided => t!(i18n, mdt.review.amend).into_any(),
        CaseStatus::AwaitingSignatures => t!(i18n, mdt.review.revise).into_any(),
        CaseStatus::AwaitingReview => t!(i18n, mdt.review.record).into_any(),
    };
    view! {
        <section class="card mdt-review" data-testid="review">
            <h2>{if amending { t!(i18n, mdt.review.heading_amend).into_any() } else { t!(i18n, mdt.review.heading).into_any() }}</h2>
            <form method="post" action=format!("/mdt/cases/{}/review", case.id) class="mdt-form" data-testid="review-form">
                <input type="hidden" name="expected_version" value=case.version />
                <div class="mdt-categories">
                    <CategoryChoice field="t" proposed=proposal.t.clone() categories=categories.t.clone() choice=t reason=t_reason />
                    <CategoryChoice field="n" proposed=proposal.n.clone() categories=categories.n.clone() choice=n reason=n_reason />
                    <CategoryChoice field="m" proposed=proposal.m.clone() categories=categories.m.clone() choice=m reason=m_reason />
                    <div class="mdt-group">
                        <label for="review-group">{t!(i18n, mdt.field.stage_group)}</label>
                        <output id="review-group" for="review-t review-n review-m" class="mdt-stage-group" data-testid="stage-group" aria-live="polite">{group}</output>
                        <span class="muted small">{t!(i18n, mdt.review.group_hint)}</span>
                    </div>
                </div>
                {cancer.needs_histology().then(|| view! { <HistologyChoice current=histology /> })}
                {cancer.has_subsites().then(|| view! { <SubsiteChoice current=subsite /> })}
                <label for="review-recommendation">{t!(i18n, mdt.review.recommendation)}</label>
                <select id="review-recommendation" name="recommendation" required data-testid="recommendation">
                    {recommended.is_none().then(|| view! { <option value="" selected>{t!(i18n, mdt.review.choose)}</option> })}
                    {case.options.iter().copied().map(|o| view! {
                        <option value=o.as_str() selected=recommended == Some(o)>{move || o.label_in(language(i18n))}</option>
                    }).collect_view()}
                </select>
                <label for="review-note">{t!(i18n, mdt.review.note)}</label>
                // Set as markup, escaped: a textarea's children are written unescaped.
                <textarea id="review-note" name="note" maxlength="2000" rows="3" inner_html=escape_html(&note)></textarea>
                <label for="review-refs">{t!(i18n, mdt.review.guideline_refs)}</label>
                <input id="review-refs" name="guideline_refs" maxlength="2000" value=refs placeholder=move || t_string!(i18n, mdt.review.guideline_refs_example) />
                {amending.then(|| view! {
                    <label for="review-amendment">{t!(i18n, mdt.review.amendment_reason)} " " <span class="mdt-required">{t!(i18n, mdt.required)}</span></label>
                    <textarea id="review-amendment" name="amendment_reason" maxlength="2000" rows="2" required data-testid="amendment-reason"></textarea>
                })}
                <div><button type="submit" class="button primary" data-testid="review-submit">{submit}</button></div>
            </form>
        </section>
    }
    .into_any()
}

/// One category's choice: accept the proposal (when it has one) or one of the frame's
/// categories, with the override's reason.
#[component]
fn CategoryChoice(
    field: &'static str,
    proposed: Option<String>,
    categories: Vec<String>,
    choice: RwSignal<String>,
    reason: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let initial = choice.get_untracked();
    let legend = move || field_text(i18n, field);
    let (select_id, reason_id, hint_id) =
        (format!("review-{field}"), format!("review-{field}-reason"), format!("review-{field}-hint"));
    let accept = proposed.clone().map(|p| {
        view! { <option value="accept" selected=initial == "accept">{t!(i18n, mdt.review.accept, category = move || p.clone())}</option> }
    });
    let choose = proposed
        .is_none()
        .then(|| view! { <option value="" selected=initial.is_empty()>{t!(i18n, mdt.review.choose)}</option> });
    let options = categories
        .into_iter()
        .map(|c| {
            let is_proposal = proposed.as_deref() == Some(c.as_str());
            let label = c.clone();
            view! {
                <option value=c.clone() selected=initial == c disabled=is_proposal>
                    {label} {is_proposal.then(|| view! { " " {t!(i18n, mdt.review.proposed)} })}
                </option>
            }
        })
        .collect_view();
    let overriding = move || choice.with(|c| c != "accept");
    view! {
        <fieldset class="mdt-category" data-testid=format!("category-{field}")>
            <legend>{legend}</legend>
            <label for=select_id.clone()>{t!(i18n, mdt.review.category)}</label>
            <select id=select_id name=field required on:change=move |ev| choice.set(event_target_value(&ev))>
                {accept}
                {choose}
                {options}
            </select>
            <label for=reason_id.clone()>
                {t!(i18n, mdt.review.reason)} " " <span class="mdt-required" id=hint_id.clone()>{t!(i18n, mdt.review.reason_required)}</span>
            </label>
            <input id=reason_id name=format!("{field}_reason") maxlength="2000" value=reason required=overriding aria-describedby=hint_id />
        </fieldset>
    }
    .into_any()
}

#[component]
fn HistologyChoice(current: RwSignal<Option<Histology>>) -> impl IntoView {
    let i18n = use_i18n();
    let initial = current.get_untracked();
    view! {
        <label for="review-histology">{t!(i18n, mdt.case.histology)}</label>
        <select id="review-histology" name="histology" required data-testid="histology"
            on:change=move |ev| current.set(Histology::parse(&event_target_value(&ev)))>
            {initial.is_none().then(|| view! { <option value="" selected>{t!(i18n, mdt.review.choose)}</option> })}
            {Histology::ALL.into_iter().map(|h| view! {
                <option value=h.as_str() selected=initial == Some(h)>{move || histology_text(i18n, h)}</option>
            }).collect_view()}
        </select>
    }
    .into_any()
}

#[component]
fn SubsiteChoice(current: RwSignal<Option<Subsite>>) -> impl IntoView {
    let i18n = use_i18n();
    let initial = current.get_untracked();
    view! {
        <label for="review-subsite">{t!(i18n, mdt.case.subsite)}</label>
        <select id="review-subsite" name="subsite" data-testid="subsite"
            on:change=move |ev| current.set(Subsite::parse(&event_target_value(&ev)))>
            {initial.is_none().then(|| view! { <option value="" selected>{t!(i18n, mdt.subsite.not_given)}</option> })}
            {Subsite::ALL.into_iter().map(|s| view! {
                <option value=s.as_str() selected=initial == Some(s)>{move || subsite_text(i18n, s)}</option>
            }).collect_view()}
        </select>
    }
    .into_any()
}

// ---- Sign-off and decisions ----

/// The current decision's signatures against the quorum, and the button to sign it.
#[component]
fn SignOff(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let Some(current) = case.decisions.first().cloned() else { return ().into_any() };
    if !(case.actions.sign || case.signed_by_me || case.status == CaseStatus::AwaitingSignatures) {
        return ().into_any();
    }
    let (count, quorum) = (current.signatures.len(), case.quorum);
    let version = current.version;
    view! {
        <section class="card" data-testid="sign-off">
            <h2>{t!(i18n, mdt.sign.heading)}</h2>
            <p data-testid="quorum">
                {t!(i18n, mdt.sign.progress, count = move || count, quorum = move || quorum, version = move || version)}
            </p>
            {case.signed_by_me.then(|| view! { <p data-testid="signed-by-me"><strong>{t!(i18n, mdt.sign.signed_by_me)}</strong></p> })}
            {case.actions.sign.then(|| view! {
                <form method="post" action=format!("/mdt/cases/{}/sign", case.id) class="inline-form" data-testid="sign-form">
                    <input type="hidden" name="expected_version" value=case.version />
                    <button type="submit" class="button primary" data-testid="sign-submit">{t!(i18n, mdt.sign.submit)}</button>
                    <span class="muted small">{t!(i18n, mdt.sign.hint)}</span>
                </form>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn Decisions(decisions: Vec<Decision>) -> impl IntoView {
    let i18n = use_i18n();
    let body = if decisions.is_empty() {
        view! { <p class="muted" data-testid="no-decision">{t!(i18n, mdt.decision.none)}</p> }.into_any()
    } else {
        decisions
            .into_iter()
            .enumerate()
            .map(|(i, d)| view! { <DecisionVersion decision=d current=i == 0 /> })
            .collect_view()
            .into_any()
    };
    view! {
        <section data-testid="decisions">
            <h2>{t!(i18n, mdt.decision.heading)}</h2>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn DecisionVersion(decision: Decision, current: bool) -> impl IntoView {
    let i18n = use_i18n();
    let d = decision;
    let version = d.version;
    let tnm = tnm_text(Some(&d.t), Some(&d.n), Some(&d.m), d.stage_group.as_deref());
    let recommendation = d.recommendation;
    let reasons = [("t", d.t_reason.clone()), ("n", d.n_reason.clone()), ("m", d.m_reason.clone())]
        .into_iter()
        .filter_map(|(field, reason)| reason.map(|r| (field, r)))
        .map(|(field, reason)| {
            view! { <li data-testid=format!("reason-{field}")><strong>{move || field_text(i18n, field)}</strong> {move || separator(i18n)} {reason}</li> }
        })
        .collect_view();
    let badge = if d.locked {
        view! { <span class="badge mdt-locked" data-testid="locked">{t!(i18n, mdt.decision.locked)}</span> }.into_any()
    } else {
        view! { <span class="badge mdt-unlocked">{t!(i18n, mdt.decision.unlocked)}</span> }.into_any()
    };
    let (by, at) = (d.decided_by.clone(), when(&d.decided_at));
    let proposal_version = d.proposal_version;
    view! {
        <article class="card mdt-decision" class:mdt-current=current data-testid="decision" data-version=version>
            <h3>
                {t!(i18n, mdt.decision.version, version = move || version)} " " {badge}
                {current.then(|| view! { " " <span class="tag">{t!(i18n, mdt.decision.current)}</span> })}
            </h3>
            <p class="mdt-stage" data-testid="decision-tnm"><strong>{tnm}</strong></p>
            {d.amendment_reason.clone().map(|r| view! {
                <p data-testid="decision-amendment-reason"><strong>{t!(i18n, mdt.decision.amendment_reason)}</strong> " " {r}</p>
            })}
            <DecisionChanges changes=d.changes.clone() />
            <ul class="mdt-reasons" aria-label=move || t_string!(i18n, mdt.decision.reasons)>{reasons}</ul>
            <dl class="mdt-facts">
                <dt>{t!(i18n, mdt.field.recommendation)}</dt>
                <dd data-testid="decision-recommendation">{move || recommendation.label_in(language(i18n))}</dd>
                {d.note.clone().map(|n| view! { <dt>{t!(i18n, mdt.field.note)}</dt><dd class="mdt-text">{n}</dd> })}
                {d.guideline_refs.clone().map(|r| view! { <dt>{t!(i18n, mdt.field.guideline_refs)}</dt><dd>{r}</dd> })}
                <dt>{t!(i18n, mdt.decision.decided)}</dt>
                <dd>{t!(i18n, mdt.decision.decided_by, by = move || by.clone(), at = move || at.clone())}</dd>
                {proposal_version.map(|v| view! {
                    <dt>{t!(i18n, mdt.decision.reviewed)}</dt><dd>{t!(i18n, mdt.proposal.version_n, version = move || v)}</dd>
                })}
                <dt>{t!(i18n, mdt.decision.signatures)}</dt>
                <dd data-testid="signatures">{if d.signatures.is_empty() {
                    t!(i18n, mdt.decision.no_signatures).into_any()
                } else {
                    view! {
                        <ul class="mdt-signatures">
                            {d.signatures.iter().map(|s| view! { <li>{s.name.clone()} " · " <span class="muted small">{when(&s.signed_at)}</span></li> }).collect_view()}
                        </ul>
                    }.into_any()
                }}</dd>
            </dl>
        </article>
    }
    .into_any()
}

/// What an amendment changed from the version before: `field: before → after`.
#[component]
fn DecisionChanges(changes: Vec<(String, String, String)>) -> impl IntoView {
    let i18n = use_i18n();
    (!changes.is_empty()).then(|| {
        view! {
            <div class="mdt-changes">
                <strong>{t!(i18n, mdt.decision.changes)}</strong>
                <ul data-testid="changes">
                    {changes.into_iter().map(|(field, before, after)| {
                        let text = move || {
                            let language = language(i18n);
                            format!(
                                "{}{}{} → {}",
                                field_text(i18n, &field),
                                separator(i18n),
                                diff_value(language, &field, &before),
                                diff_value(language, &field, &after)
                            )
                        };
                        view! { <li>{text}</li> }
                    }).collect_view()}
                </ul>
            </div>
        }
    })
}

// ---- Treatment ----

#[component]
fn Treatments(case: CaseDetail) -> impl IntoView {
    let i18n = use_i18n();
    let recommended = case.decisions.iter().find(|d| d.locked).map(|d| d.recommendation);
    let list = if case.treatments.is_empty() {
        view! { <p class="muted" data-testid="no-treatment">{t!(i18n, mdt.treatment.none)}</p> }.into_any()
    } else {
        view! { <TreatmentTable records=case.treatments.clone() /> }.into_any()
    };
    view! {
        <section data-testid="treatment">
            <h2>{t!(i18n, mdt.treatment.heading)}</h2>
            {list}
            {case.actions.record_treatment.then(|| view! { <TreatmentForm case=case.clone() recommended /> })}
        </section>
    }
    .into_any()
}

#[component]
fn TreatmentTable(records: Vec<TreatmentRecord>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="grid dense" data-testid="treatments">
            <thead><tr>
                <th scope="col">{t!(i18n, mdt.treatment.treatment)}</th>
                <th scope="col">{t!(i18n, mdt.treatment.started_on)}</th>
                <th scope="col">{t!(i18n, mdt.treatment.deviation_reason)}</th>
                <th scope="col">{t!(i18n, mdt.treatment.decision_version)}</th>
                <th scope="col">{t!(i18n, mdt.treatment.recorded)}</th>
            </tr></thead>
            <tbody>
                {records.into_iter().map(|r| {
                    let treatment = r.treatment;
                    view! {
                        <tr data-testid="treatment-row" data-treatment=treatment.as_str()>
                            <td>{move || treatment.label_in(language(i18n))}</td>
                            <td class="nowrap">{r.started_on.clone()}</td>
                            <td>{r.deviation_reason.clone().unwrap_or_else(|| DASH.to_owned())}</td>
                            <td class="num">{r.decision_version}</td>
                            <td class="small">{format!("{} · {}", r.recorded_by, when(&r.recorded_at))}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn TreatmentForm(case: CaseDetail, recommended: Option<Treatment>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(recommended);
    let deviating = move || chosen.get() != recommended;
    let hint = recommended.map(|r| {
        view! { <span id="treatment-hint" class="muted small">{t!(i18n, mdt.treatment.recommended, treatment = move || r.label_in(language(i18n)))}</span> }
    });
    view! {
        <form method="post" action=format!("/mdt/cases/{}/treatment", case.id) class="mdt-form" data-testid="treatment-form">
            <input type="hidden" name="expected_version" value=case.version />
            <label for="treatment-treatment">{t!(i18n, mdt.treatment.treatment)}</label>
            <select id="treatment-treatment" name="treatment" required
                on:change=move |ev| chosen.set(Treatment::parse(&event_target_value(&ev)))>
                {recommended.is_none().then(|| view! { <option value="" selected>{t!(i18n, mdt.review.choose)}</option> })}
                {case.options.iter().copied().map(|o| view! {
                    <option value=o.as_str() selected=recommended == Some(o)>{move || o.label_in(language(i18n))}</option>
                }).collect_view()}
            </select>
            {hint}
            <label for="treatment-started">{t!(i18n, mdt.treatment.started_on)}</label>
            <input id="treatment-started" name="started_on" type="date" required />
            <label for="treatment-deviation">
                {t!(i18n, mdt.treatment.deviation_reason)} " " <span class="mdt-required" id="treatment-deviation-hint">{t!(i18n, mdt.treatment.deviation_required)}</span>
            </label>
            <input id="treatment-deviation" name="deviation_reason" maxlength="2000" required=deviating aria-describedby="treatment-deviation-hint" />
            <div><button type="submit" class="button primary" data-testid="treatment-submit">{t!(i18n, mdt.treatment.submit)}</button></div>
        </form>
    }
    .into_any()
}

// ---- Opening a case ----

#[component]
pub fn NewCasePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let study = Memo::new(move |_| query.read().get("study").filter(|s| !s.is_empty()));
    view! {
        <PageTitle text=t_string!(i18n, mdt.new_case.title).to_owned() />
        <p><a href="/mdt">{t!(i18n, mdt.case.back)}</a></p>
        <h1>{t!(i18n, mdt.new_case.title)}</h1>
        <Notices />
        {move || match study.get() {
            None => view! {
                <p data-testid="new-case-explainer">
                    {t!(i18n, mdt.new_case.from_study)} " " <a href="/studies" data-testid="studies-link">{t!(i18n, mdt.new_case.find_study)}</a>
                </p>
            }
            .into_any(),
            Some(study_uid) => view! { <NewCaseForStudy study_uid /> }.into_any(),
        }}
    }
    .into_any()
}

#[component]
fn NewCaseForStudy(study_uid: String) -> impl IntoView {
    let i18n = use_i18n();
    let study = Resource::new(move || study_uid.clone(), study_detail);
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, mdt.loading)}</p> }>
            {move || Suspend::new(async move {
                match study.await {
                    Ok(study) => view! { <NewCaseForm study /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn NewCaseForm(study: StudyWithSeries) -> impl IntoView {
    let i18n = use_i18n();
    let s = study.study.clone();
    let cancer = RwSignal::new(None::<Cancer>);
    // Until the page is hydrated every qualifier is shown (with the cancer it belongs to);
    // afterwards only the chosen cancer's.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let shows = move |needed: fn(Cancer) -> bool| !hydrated.get() || cancer.get().is_some_and(needed);
    let sex = s.patient_sex.clone();
    let default_series =
        study.series.iter().find(|se| se.modality.as_deref() == Some("CT")).map(|se| se.series_uid.clone());
    view! {
        <dl class="facts patient" data-testid="patient">
            <dt>{t!(i18n, mdt.patient.name)}</dt>
            <dd data-testid="patient-name">{s.patient_name.clone().unwrap_or_else(|| t_string!(i18n, board.no_name).to_owned())}</dd>
            <dt>{t!(i18n, mdt.patient.patient_id)}</dt><dd><code data-testid="patient-id">{s.patient_id.clone()}</code></dd>
            <dt>{t!(i18n, mdt.patient.born)}</dt><dd>{s.patient_birth_date.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, mdt.patient.sex)}</dt><dd>{move || sex_text(i18n, sex.as_deref())}</dd>
            <dt>{t!(i18n, mdt.new_case.study)}</dt>
            <dd><a href=format!("/studies/{}", s.study_uid)>{s.study_date.clone().unwrap_or_else(|| DASH.to_owned())}</a>
                " " {s.description.clone().unwrap_or_default()}</dd>
            <dt>{t!(i18n, mdt.patient.site)}</dt><dd>{s.site.clone().unwrap_or_else(|| DASH.to_owned())}</dd>
        </dl>
        <form method="post" action="/mdt/cases" class="card mdt-form" data-testid="new-case-form">
            <input type="hidden" name="study_uid" value=s.study_uid.clone() />
            <label for="new-cancer">{t!(i18n, mdt.case.cancer)}</label>
            <select id="new-cancer" name="cancer" required data-testid="cancer"
                on:change=move |ev| cancer.set(Cancer::parse(&event_target_value(&ev)))>
                <option value="" selected>{t!(i18n, mdt.review.choose)}</option>
                {Cancer::ALL.into_iter().map(|c| view! { <option value=c.as_str()>{move || c.label_in(language(i18n))}</option> }).collect_view()}
            </select>
            {move || shows(Cancer::needs_histology).then(|| view! {
                <label for="new-histology">{t!(i18n, mdt.case.histology)} " " <span class="muted small">{t!(i18n, mdt.new_case.histology_note)}</span></label>
                <select id="new-histology" name="histology" data-testid="histology">
                    <option value="">{DASH}</option>
                    {Histology::ALL.into_iter().map(|h| view! { <option value=h.as_str()>{move || histology_text(i18n, h)}</option> }).collect_view()}
                </select>
            })}
            {move || shows(Cancer::has_subsites).then(|| view! {
                <label for="new-subsite">{t!(i18n, mdt.case.subsite)} " " <span class="muted small">{t!(i18n, mdt.new_case.subsite_note)}</span></label>
                <select id="new-subsite" name="subsite" data-testid="subsite">
                    <option value="">{DASH}</option>
                    {Subsite::ALL.into_iter().map(|su| view! { <option value=su.as_str()>{move || subsite_text(i18n, su)}</option> }).collect_view()}
                </select>
            })}
            <label for="new-series">{t!(i18n, mdt.new_case.series)}</label>
            <select id="new-series" name="series_uid" data-testid="series">
                <option value="" selected=default_series.is_none()>{t!(i18n, mdt.new_case.no_series)}</option>
                {study.series.iter().map(|se| {
                    let text = format!(
                        "{} {} · {} · {}",
                        se.series_number.map(|n| format!("#{n}")).unwrap_or_default(),
                        se.description.clone().unwrap_or_default(),
                        se.modality.clone().unwrap_or_default(),
                        se.instance_count,
                    );
                    view! { <option value=se.series_uid.clone() selected=default_series.as_deref() == Some(se.series_uid.as_str())>{text}</option> }
                }).collect_view()}
            </select>
            <label for="new-diagnosis">{t!(i18n, mdt.referral.diagnosis)}</label>
            <input id="new-diagnosis" name="diagnosis" maxlength="2000" />
            <label for="new-referral">{t!(i18n, mdt.referral.note)}</label>
            <textarea id="new-referral" name="referral_note" maxlength="2000" rows="3"
                placeholder=move || t_string!(i18n, mdt.new_case.referral_example)></textarea>
            <div><button type="submit" class="button primary" data-testid="open-case-submit">{t!(i18n, mdt.new_case.submit)}</button></div>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::staging::Edition;

    fn frame(cancer: Cancer) -> Frame {
        Frame { cancer, edition: Edition::Ajcc8, histology: None, subsite: None }
    }

    #[test]
    fn a_choice_settles_on_the_proposal_or_the_override() {
        assert_eq!(settled("accept", Some("T2a")).as_deref(), Some("T2a"));
        assert_eq!(settled("accept", None), None, "nothing to accept");
        assert_eq!(settled("", Some("T2a")), None, "no choice yet");
        assert_eq!(settled("T3", Some("T2a")).as_deref(), Some("T3"));
    }

    #[test]
    fn the_live_stage_group_uses_the_staging_tables() {
        let lung = frame(Cancer::Lung);
        assert_eq!(stage_group_of(lung, Some("T2a"), Some("N1"), Some("M0")), Some(Some("IIB".to_owned())));
        assert_eq!(stage_group_of(lung, Some("T2a"), None, Some("M0")), None, "a category is missing");
        assert_eq!(stage_group_of(lung, Some("T9"), Some("N1"), Some("M0")), None, "not a category");
        // Esophagus is grouped by histology: without it there is no group to show.
        let mut esophagus = frame(Cancer::Esophagus);
        assert_eq!(stage_group_of(esophagus, Some("T2"), Some("N0"), Some("M0")), None);
        esophagus.histology = Some(Histology::Squamous);
        assert!(matches!(stage_group_of(esophagus, Some("T2"), Some("N0"), Some("M0")), Some(Some(_))));
    }

    #[test]
    fn list_links_keep_the_filters() {
        assert_eq!(list_href(None, None, 0), "/mdt");
        assert_eq!(list_href(Some("decided"), None, 1), "/mdt?status=decided&page=1");
        assert_eq!(list_href(Some(""), Some("lung"), 0), "/mdt?cancer=lung");
        assert_eq!(list_href(None, Some("a b&c"), 2), "/mdt?cancer=a%20b%26c&page=2");
    }

    #[test]
    fn the_diff_names_recommendations_and_shows_nothing_as_a_dash() {
        let english = Language::English;
        assert_eq!(diff_value(english, "recommendation", "upfront_resection"), "Upfront resection");
        assert_eq!(diff_value(Language::SimplifiedChinese, "recommendation", "upfront_resection"), "直接手术切除");
        assert_eq!(diff_value(english, "note", ""), DASH);
        assert_eq!(diff_value(english, "t", "T2a"), "T2a");
    }

    #[test]
    fn text_set_as_markup_cannot_close_its_textarea() {
        assert_eq!(
            escape_html("a < b & </textarea><b>\"x\"'"),
            "a &lt; b &amp; &lt;/textarea&gt;&lt;b&gt;&quot;x&quot;&#39;"
        );
        assert_eq!(escape_html(""), "");
    }

    #[test]
    fn the_viewer_link_names_the_case_for_a_reader_who_may_measure() {
        assert_eq!(viewer_href("1.2", "1.2.3", Some(40), Some(7)), "/studies/1.2/series/1.2.3?slice=40&case=7");
        assert_eq!(viewer_href("1.2", "1.2.3", Some(40), None), "/studies/1.2/series/1.2.3?slice=40");
        assert_eq!(viewer_href("1.2", "1.2.3", None, Some(7)), "/studies/1.2/series/1.2.3?case=7");
        assert_eq!(viewer_href("1.2", "1.2.3", None, None), "/studies/1.2/series/1.2.3");
    }

    #[test]
    fn the_viewer_fills_in_only_what_the_form_takes() {
        let filled = Prefill::from_query(Some("21.04"), Some("40"), Some("-157.5,-140,-40"));
        assert_eq!(
            filled,
            Prefill {
                size_mm: Some("21.0".into()),
                slice_index: Some("40".into()),
                position_mm: Some("-157.5,-140.0,-40.0".into()),
            }
        );
        assert!(filled.any());
        let nothing = Prefill::from_query(None, None, None);
        assert_eq!(nothing, Prefill::default());
        assert!(!nothing.any());
        for (size, slice, position) in
            [("0", "-1", "1,2"), ("500.1", "x", "1,2,3,4"), ("NaN", "1.5", "a,b,c"), ("inf", "", "1,,3")]
        {
            assert_eq!(Prefill::from_query(Some(size), Some(slice), Some(position)), Prefill::default());
        }
    }

    #[test]
    fn server_times_are_shown_in_utc() {
        assert_eq!(when("2026-12-04T08:05:07+08:00"), "2026-12-04 00:05 UTC");
        assert_eq!(when("not a time"), "not a time");
    }
}
