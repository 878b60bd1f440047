//! Tracked lesions: the record page's list of a person's lesions, and a lesion's own page
//! (`/lesions/{id}`) with its size over time (chart and table), the growth between scans with
//! the volume doubling time, the corrections people made, and the forms to split a sighting off
//! or join another track. The forms post to `/lesions/{id}/split|join`, so the page works
//! without JavaScript; the server redirects back with `?done=` or `?error=`.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::lesions::load_lesion;
use crate::components::errors::ErrorNotice;
use crate::domain::language::Labelled;
use crate::domain::model_class;
use crate::domain::organs::Organ;
use crate::i18n::{language, t, t_string, use_i18n};
use crate::model::lesions::{GrowthView, LesionDetail, LesionTrack, TrackEventView};
use crate::pages::chronic::chart::{ChronicTrend, Point};

const DASH: &str = "—";

fn mm(value: f64) -> String {
    format!("{value:.1} mm")
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| DASH.to_owned(), |d| format!("{d:.0}"))
}

/// The organ's name in the page's language (the tracks carry screening's organ names).
#[component]
fn OrganName(organ: String) -> impl IntoView {
    let i18n = use_i18n();
    match organ.parse::<Organ>() {
        Ok(organ) => view! { <span>{move || organ.label_in(language(i18n))}</span> }.into_any(),
        Err(_) => view! { <span>{organ}</span> }.into_any(),
    }
}

/// The volume doubling time with NELSON's reading where one applies.
#[component]
fn Doubling(growth: Option<GrowthView>) -> impl IntoView {
    let i18n = use_i18n();
    let Some(growth) = growth else { return view! { <span class="muted">{DASH}</span> }.into_any() };
    let nelson = growth.growth.nelson;
    match growth.growth.doubling_time_days {
        Some(vdt) => view! {
            <span data-testid="vdt">{format!("{vdt:.0}")}" "{t!(i18n, patients.lesions.days)}</span>
            {nelson.map(|n| view! { " " <span class=format!("status nelson-{}", n.as_str()) data-testid="nelson">{move || n.label_in(language(i18n))}</span> })}
        }
        .into_any(),
        None => view! { <span data-testid="vdt">{t!(i18n, patients.lesions.not_growing)}</span> }.into_any(),
    }
}

/// The record page's list of tracked lesions.
#[component]
pub fn LesionList(lesions: Vec<LesionTrack>) -> impl IntoView {
    let i18n = use_i18n();
    let body = if lesions.is_empty() {
        view! { <p class="muted" data-testid="no-lesions">{t!(i18n, patients.lesions.none)}</p> }.into_any()
    } else {
        let rows = lesions
            .into_iter()
            .map(|track| {
                let first = track.sightings.first().map(|s| s.on.clone()).unwrap_or_default();
                let last = track.sightings.last().map(|s| (s.on.clone(), s.diameter_mm));
                let count = track.sightings.len();
                view! {
                    <tr data-testid="lesion-row" data-track=track.id.to_string() data-organ=track.organ.clone()>
                        <td><a href=format!("/lesions/{}", track.id)>{format!("L-{}", track.id)}</a></td>
                        <td><OrganName organ=track.organ.clone() /></td>
                        <td>{first}</td>
                        <td>{last.as_ref().map(|(on, _)| on.clone())}</td>
                        <td data-testid="lesion-latest">{last.map(|(_, d)| mm(d))}</td>
                        <td>{count}</td>
                        <td><Doubling growth=track.overall.clone() /></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data" data-testid="lesions">
                <thead><tr>
                    <th scope="col">{t!(i18n, patients.lesions.track)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.organ)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.first_seen)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.last_seen)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.latest_size)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.sightings)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.vdt)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="lesions-heading" data-testid="lesion-list">
            <h2 id="lesions-heading">{t!(i18n, patients.lesions.title)}</h2>
            <p class="muted small">{t!(i18n, patients.lesions.explainer)}</p>
            {body}
        </section>
    }
}

#[component]
pub fn LesionPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let detail =
        Resource::new(move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0), load_lesion);
    let done = move || {
        query.read().get("done").map(|done| {
            let text = if done == "split" {
                t_string!(i18n, patients.lesions.done_split)
            } else {
                t_string!(i18n, patients.lesions.done_join)
            };
            view! { <p class="notice info" role="status" data-testid="notice">{text}</p> }
        })
    };
    let refused = move || {
        query.read().get("error").map(|error| {
            let text = match error.as_str() {
                "role_may_not" => t_string!(i18n, patients.lesions.error_role).to_owned(),
                other => format!("{} {other}", t_string!(i18n, patients.lesions.error_other)),
            };
            view! { <p class="notice error" role="alert" data-testid="refusal">{text}</p> }
        })
    };
    view! {
        <PageTitle text=t_string!(i18n, patients.lesions.page_title).to_owned() />
        {done}
        {refused}
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, patients.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <Lesion detail /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Lesion(detail: LesionDetail) -> impl IntoView {
    let i18n = use_i18n();
    let track = detail.track.clone();
    let patient_name = crate::domain::names::display_name_of(detail.patient_name.as_deref()).unwrap_or_default();
    let latest = track.sightings.last().map(|s| mm(s.diameter_mm));
    view! {
        <p><a href=format!("/patients/{}", detail.patient)>{t!(i18n, patients.lesions.back)}</a></p>
        <h1 data-testid="lesion-heading">{format!("L-{} · ", track.id)}<OrganName organ=track.organ.clone() /></h1>
        <dl class="facts" data-testid="lesion-facts">
            <dt>{t!(i18n, patients.lesions.patient)}</dt>
            <dd>{patient_name}" · "{detail.patient_id.clone()}</dd>
            <dt>{t!(i18n, patients.lesions.latest_size)}</dt>
            <dd data-testid="lesion-latest">{latest.unwrap_or_else(|| DASH.to_owned())}</dd>
            <dt>{t!(i18n, patients.lesions.vdt_overall)}</dt>
            <dd><Doubling growth=track.overall.clone() /></dd>
            <dt>{t!(i18n, patients.lesions.tracked_by)}</dt>
            <dd>{if track.created_by == "tracking" { t_string!(i18n, patients.lesions.by_rule).to_owned() } else { track.created_by.clone() }}</dd>
        </dl>
        <p class="muted small">{t!(i18n, patients.lesions.rule)}</p>
        <SizeChart track=track.clone() />
        <Sightings detail=detail.clone() />
        <Intervals intervals=track.intervals.clone() />
        <Join detail=detail.clone() />
        <History events=detail.events />
    }
    .into_any()
}

/// The diameter over time, drawn as the chronic trends are (no cut-off: size has none).
#[component]
fn SizeChart(track: LesionTrack) -> impl IntoView {
    let i18n = use_i18n();
    let points: Vec<Point> = track
        .sightings
        .iter()
        .filter_map(|s| {
            let day = crate::format::parse_date(&s.on)?.to_julian_day();
            Some(Point { day: i64::from(day), label: s.on.clone(), value: s.diameter_mm, beyond: false })
        })
        .collect();
    let aria = format!(
        "{}: {}",
        t_string!(i18n, patients.lesions.chart),
        track.sightings.iter().map(|s| format!("{} {}", s.on, mm(s.diameter_mm))).collect::<Vec<_>>().join(", ")
    );
    view! {
        <section aria-labelledby="lesion-size">
            <h2 id="lesion-size">{t!(i18n, patients.lesions.chart)}</h2>
            <div data-testid="lesion-chart"><ChronicTrend points cut_off=None unit="mm".to_owned() aria /></div>
        </section>
    }
}

/// The sightings: the chart's text alternative, and where a sighting can be split off.
#[component]
fn Sightings(detail: LesionDetail) -> impl IntoView {
    let i18n = use_i18n();
    let track = detail.track;
    let splittable = detail.may_edit && track.sightings.len() > 1;
    let action = format!("/lesions/{}/split", track.id);
    let rows = track
        .sightings
        .into_iter()
        .map(|s| {
            let action = action.clone();
            let split = splittable.then(|| {
                view! {
                    <form method="post" action=action class="inline-form" data-testid="split-form">
                        <input type="hidden" name="sighting" value=s.id.to_string() />
                        <label>{t!(i18n, patients.lesions.reason)}" "<input type="text" name="reason" required maxlength="2000" /></label>
                        " "<button type="submit" class="button secondary" data-testid="split-submit">{t!(i18n, patients.lesions.split)}</button>
                    </form>
                }
            });
            view! {
                <tr data-testid="sighting" data-sighting=s.id.to_string()>
                    <td>{s.on.clone()}</td>
                    <td data-testid="sighting-diameter">{mm(s.diameter_mm)}</td>
                    <td>{format!("{:.0} mm³", s.volume_mm3)}</td>
                    <td><a href=format!("/findings/{}", s.finding_id)>{format!("F-{}", s.finding_id)}</a>" · "{let code = s.class_label.clone(); move || model_class::shown(&code, language(i18n))}</td>
                    <td><a href=format!("/studies/{}", s.study_uid)>{t!(i18n, patients.lesions.study)}</a></td>
                    <td>{if s.aligned { t_string!(i18n, patients.lesions.aligned) } else { t_string!(i18n, patients.lesions.unaligned) }}</td>
                    <td>{if s.placed_by == "rule" { t_string!(i18n, patients.lesions.by_rule).to_owned() } else { s.placed_by.clone() }}</td>
                    <td>{split}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="lesion-sightings">
            <h2 id="lesion-sightings">{t!(i18n, patients.lesions.sightings_title)}</h2>
            <table class="data" data-testid="sightings">
                <thead><tr>
                    <th scope="col">{t!(i18n, patients.lesions.date)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.diameter)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.volume)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.finding)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.study)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.alignment)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.placed_by)}</th>
                    <th scope="col"><span class="visually-hidden">{t!(i18n, patients.lesions.split)}</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

#[component]
fn Intervals(intervals: Vec<GrowthView>) -> impl IntoView {
    let i18n = use_i18n();
    if intervals.is_empty() {
        return view! { <p class="muted" data-testid="no-intervals">{t!(i18n, patients.lesions.single)}</p> }
            .into_any();
    }
    let rows = intervals
        .into_iter()
        .map(|g| {
            let growth = g.growth;
            view! {
                <tr data-testid="interval">
                    <td>{format!("{} → {}", g.from, g.to)}</td>
                    <td>{growth.days}</td>
                    <td>{format!("{:+.1} mm", growth.diameter_change_mm)}</td>
                    <td>{growth.diameter_mm_per_year.map_or_else(|| DASH.to_owned(), |r| format!("{r:+.1}"))}</td>
                    <td>{format!("{:+.0} %", growth.volume_change_percent)}</td>
                    <td data-testid="interval-vdt">{days(growth.doubling_time_days)}</td>
                    <td>{growth.nelson.map(|n| view! { <span>{move || n.label_in(language(i18n))}</span> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="lesion-growth">
            <h2 id="lesion-growth">{t!(i18n, patients.lesions.growth)}</h2>
            <table class="data" data-testid="intervals">
                <thead><tr>
                    <th scope="col">{t!(i18n, patients.lesions.interval)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.days_col)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.change)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.per_year)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.volume_change)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.vdt)}</th>
                    <th scope="col">{t!(i18n, patients.lesions.nelson)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted small">{t!(i18n, patients.lesions.vdt_note)}</p>
        </section>
    }
    .into_any()
}

#[component]
fn Join(detail: LesionDetail) -> impl IntoView {
    let i18n = use_i18n();
    if !detail.may_edit || detail.join_candidates.is_empty() {
        return ().into_any();
    }
    let options = detail
        .join_candidates
        .into_iter()
        .map(|c| {
            let text =
                format!("L-{} · {} → {} · {} · {}", c.id, c.first_on, c.last_on, mm(c.latest_diameter_mm), c.sightings);
            view! { <option value=c.id.to_string()>{text}</option> }
        })
        .collect_view();
    view! {
        <section aria-labelledby="lesion-join">
            <h2 id="lesion-join">{t!(i18n, patients.lesions.join_title)}</h2>
            <form method="post" action=format!("/lesions/{}/join", detail.track.id) data-testid="join-form">
                <label>{t!(i18n, patients.lesions.join_other)}" "<select name="other" required>{options}</select></label>
                <label>{t!(i18n, patients.lesions.reason)}" "<input type="text" name="reason" required maxlength="2000" /></label>
                <button type="submit" class="button" data-testid="join-submit">{t!(i18n, patients.lesions.join)}</button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn History(events: Vec<TrackEventView>) -> impl IntoView {
    let i18n = use_i18n();
    if events.is_empty() {
        return ().into_any();
    }
    let items = events
        .into_iter()
        .map(|e| {
            let what = if e.kind == "split" {
                format!("{} L-{} → L-{}", t_string!(i18n, patients.lesions.split), e.track_id, e.other_id)
            } else {
                format!("{} L-{} → L-{}", t_string!(i18n, patients.lesions.join), e.other_id, e.track_id)
            };
            view! {
                <li data-testid="lesion-event" data-kind=e.kind.clone()>
                    {e.at.clone()}" · "{e.actor.clone()}" · "{what}" · "{e.reason.clone()}
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="lesion-history">
            <h2 id="lesion-history">{t!(i18n, patients.lesions.history)}</h2>
            <ul data-testid="lesion-history">{items}</ul>
        </section>
    }
    .into_any()
}
