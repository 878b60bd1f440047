//! The weekly trend as inline SVG drawn on the server (no chart library, nothing to hydrate but
//! its texts): eligible series as bars on the left scale, AI-positive findings and confirmed
//! cancers as lines on the right scale, each scale from its own maximum.

use leptos::prelude::*;

use crate::i18n::{t, t_string, use_i18n};
use crate::model::program::WeekFigures;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 48.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 24.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// At most this many week labels under the axis.
const X_LABELS: usize = 6;

/// The height of `value` on a scale whose top is `max` (a scale of zeros stays flat).
fn scaled(value: u64, max: u64) -> f64 {
    if max == 0 { 0.0 } else { value.min(max) as f64 / max as f64 * PLOT_H }
}

/// The y of `value` on a scale whose top is `max`.
fn y(value: u64, max: u64) -> f64 {
    TOP + PLOT_H - scaled(value, max)
}

/// A translation with its counts filled in. The texts of an attribute and of an SVG `<title>`
/// are one string, so the translation marks its values `{name}` (as `pages::upload` does).
fn fill(text: &str, counts: &[(&str, u64)]) -> String {
    counts.iter().fold(text.to_owned(), |text, (name, count)| text.replace(&format!("{{{name}}}"), &count.to_string()))
}

fn n(x: f64) -> String {
    format!("{x:.1}")
}

/// A line through one value per week, at the centres of the weeks' slots.
fn points(weeks: &[WeekFigures], slot: f64, max: u64, value: fn(&WeekFigures) -> u64) -> String {
    weeks
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{},{}", n(LEFT + slot * (i as f64 + 0.5)), n(y(value(w), max))))
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn TrendChart(weeks: Vec<WeekFigures>, from: String, to: String) -> impl IntoView {
    let i18n = use_i18n();
    if weeks.is_empty() {
        return ().into_any();
    }
    let slot = PLOT_W / weeks.len() as f64;
    let max_eligible = weeks.iter().map(|w| w.eligible).max().unwrap_or(0);
    let max_found = weeks.iter().map(|w| w.positive.max(w.confirmed)).max().unwrap_or(0);
    let every = weeks.len().div_ceil(X_LABELS);
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let x = LEFT + slot * i as f64;
            let h = scaled(w.eligible, max_eligible);
            let (week, eligible, positive, confirmed) = (w.week_start.clone(), w.eligible, w.positive, w.confirmed);
            let tip = move || {
                let figures = [("eligible", eligible), ("positive", positive), ("confirmed", confirmed)];
                fill(t_string!(i18n, program.trend.week), &figures).replace("{week}", &week)
            };
            view! {
                <g class="program-week">
                    <title>{tip}</title>
                    <rect class="program-hit" x=n(x) y=n(TOP) width=n(slot) height=n(PLOT_H) />
                    <rect class="program-bar" x=n(x + slot * 0.15) y=n(TOP + PLOT_H - h) width=n(slot * 0.7) height=n(h) />
                </g>
            }
        })
        .collect_view();
    let dots = |class: &'static str, value: fn(&WeekFigures) -> u64| {
        weeks
            .iter()
            .enumerate()
            .map(|(i, w)| {
                view! { <circle class=class cx=n(LEFT + slot * (i as f64 + 0.5)) cy=n(y(value(w), max_found)) r="2.5" /> }
            })
            .collect_view()
    };
    let week_labels = weeks
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(every))
        .map(|(i, w)| {
            view! {
                <text class="program-tick" x=n(LEFT + slot * (i as f64 + 0.5)) y=n(TOP + PLOT_H + 16.0) text-anchor="middle">
                    {w.week_start.clone()}
                </text>
            }
        })
        .collect_view();
    let positive_line = points(&weeks, slot, max_found, |w| w.positive);
    let confirmed_line = points(&weeks, slot, max_found, |w| w.confirmed);
    let positive_dots = dots("program-dot-positive", |w| w.positive);
    let confirmed_dots = dots("program-dot-confirmed", |w| w.confirmed);
    let aria = move || {
        fill(t_string!(i18n, program.trend.aria), &[("eligible", max_eligible), ("found", max_found)])
            .replace("{from}", &from)
            .replace("{to}", &to)
    };
    let (bottom, right) = (n(TOP + PLOT_H), n(WIDTH - RIGHT));
    view! {
        <figure class="program-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=aria data-testid="program-trend">
                <title>{move || t_string!(i18n, program.trend.title)}</title>
                <line class="program-axis" x1=n(LEFT) y1=bottom.clone() x2=right.clone() y2=bottom.clone() />
                <line class="program-axis" x1=n(LEFT) y1=n(TOP) x2=n(LEFT) y2=bottom.clone() />
                <line class="program-axis" x1=right.clone() y1=n(TOP) x2=right.clone() y2=bottom.clone() />
                <line class="program-grid" x1=n(LEFT) y1=n(TOP) x2=right.clone() y2=n(TOP) />
                <text class="program-tick" x=n(LEFT - 6.0) y=n(TOP + 4.0) text-anchor="end">{max_eligible}</text>
                <text class="program-tick" x=n(LEFT - 6.0) y=n(TOP + PLOT_H) text-anchor="end">"0"</text>
                <text class="program-tick" x=n(WIDTH - RIGHT + 6.0) y=n(TOP + 4.0) text-anchor="start">{max_found}</text>
                <text class="program-tick" x=n(WIDTH - RIGHT + 6.0) y=n(TOP + PLOT_H) text-anchor="start">"0"</text>
                <text class="program-axis-name" x="4" y="12" text-anchor="start">
                    {move || t_string!(i18n, program.trend.left_axis)}
                </text>
                <text class="program-axis-name" x=n(WIDTH - 4.0) y="12" text-anchor="end">
                    {move || t_string!(i18n, program.trend.right_axis)}
                </text>
                {bars}
                <polyline class="program-line-positive" points=positive_line />
                <polyline class="program-line-confirmed" points=confirmed_line />
                {positive_dots}
                {confirmed_dots}
                {week_labels}
            </svg>
            <figcaption>
                <ul class="program-chart-legend">
                    <li><span class="program-key program-key-eligible" aria-hidden="true"></span>{t!(i18n, program.trend.eligible)}</li>
                    <li><span class="program-key program-key-positive" aria-hidden="true"></span>{t!(i18n, program.trend.positive)}</li>
                    <li><span class="program-key program-key-confirmed" aria-hidden="true"></span>{t!(i18n, program.trend.confirmed)}</li>
                </ul>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(eligible: u64, positive: u64, confirmed: u64) -> WeekFigures {
        WeekFigures { week_start: "2026-05-04".into(), eligible, positive, confirmed }
    }

    #[test]
    fn counts_fill_their_marks() {
        assert_eq!(fill("{a} of {b}, {a}", &[("a", 1), ("b", 20)]), "1 of 20, 1");
    }

    #[test]
    fn scales_run_from_zero_to_their_maximum_and_zeros_stay_flat() {
        assert_eq!(scaled(0, 0), 0.0);
        assert_eq!(scaled(5, 0), 0.0);
        assert_eq!(scaled(10, 10), PLOT_H);
        assert_eq!(scaled(5, 10), PLOT_H / 2.0);
        assert_eq!(y(0, 10), TOP + PLOT_H);
        assert_eq!(y(10, 10), TOP);
    }

    #[test]
    fn a_line_has_one_point_per_week_at_the_slot_centres() {
        let weeks = [week(4, 2, 0), week(0, 0, 0)];
        let slot = PLOT_W / 2.0;
        assert_eq!(
            points(&weeks, slot, 2, |w| w.positive),
            format!("{},{} {},{}", n(LEFT + slot / 2.0), n(TOP), n(LEFT + slot * 1.5), n(TOP + PLOT_H))
        );
        // All-zero weeks: flat on the axis, no division by zero.
        let zeros = [week(0, 0, 0)];
        assert_eq!(
            points(&zeros, PLOT_W, 0, |w| w.confirmed),
            format!("{},{}", n(LEFT + PLOT_W / 2.0), n(TOP + PLOT_H))
        );
    }
}
