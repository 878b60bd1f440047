//! A figure over time as inline SVG drawn on the server (a chronic finding's measurement, a
//! biomarker, a lesion's diameter): the measurements on a time axis, the cut-off (when there is
//! one) as a dashed line, and the points beyond it marked. The table beside it is the text
//! alternative.
//!
//! Why not a chart library's SVG backend (plotters): the chart is part of the page's view, so it
//! hydrates like the rest of it, its texts follow the page's language, and its marks carry the
//! classes and titles the style sheet and the tests address; a backend's output is one opaque
//! string. What is drawn is a polyline, circles and two axes: the arithmetic below, tested.

use leptos::prelude::*;

use crate::i18n::{t_string, use_i18n};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 28.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// One point: its day (days since an epoch, for the axis), its label and value, and whether it
/// is beyond the cut-off.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub day: i64,
    pub label: String,
    pub value: f64,
    pub beyond: bool,
}

/// The value range the axis spans: every point and the cut-off, with a tenth of the span (at
/// least 5 units) of room on each side, so the cut-off line never sits on the frame.
pub fn value_range(points: &[Point], cut_off: Option<f64>) -> (f64, f64) {
    let start = cut_off.or(points.first().map(|p| p.value)).unwrap_or(0.0);
    let (low, high) = points.iter().map(|p| p.value).fold((start, start), |(low, high), v| (low.min(v), high.max(v)));
    let pad = ((high - low) / 10.0).max(5.0);
    (low - pad, high + pad)
}

/// Where a point falls in the drawing: x from its day between the first and last day (a single
/// day sits in the middle), y from its value in `range` (higher values higher up).
pub fn place(day: i64, value: f64, days: (i64, i64), range: (f64, f64)) -> (f64, f64) {
    let x = if days.1 == days.0 {
        LEFT + PLOT_W / 2.0
    } else {
        LEFT + (day - days.0) as f64 / (days.1 - days.0) as f64 * PLOT_W
    };
    let y = TOP + PLOT_H - (value - range.0) / (range.1 - range.0) * PLOT_H;
    (x, y)
}

fn n(x: f64) -> String {
    format!("{x:.1}")
}

#[component]
pub fn ChronicTrend(points: Vec<Point>, cut_off: Option<f64>, unit: String, aria: String) -> impl IntoView {
    let i18n = use_i18n();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return ().into_any();
    };
    let days = (first.day, last.day);
    let range = value_range(&points, cut_off);
    let line = points
        .iter()
        .map(|p| {
            let (x, y) = place(p.day, p.value, days, range);
            format!("{},{}", n(x), n(y))
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dots = points
        .iter()
        .map(|p| {
            let (x, y) = place(p.day, p.value, days, range);
            let class = if p.beyond { "trend-dot beyond" } else { "trend-dot" };
            let tip = format!("{}: {:.0} {}", p.label, p.value, unit);
            view! { <circle class=class cx=n(x) cy=n(y) r="4"><title>{tip}</title></circle> }
        })
        .collect_view();
    let labels = points
        .iter()
        .map(|p| {
            let (x, _) = place(p.day, p.value, days, range);
            view! { <text class="trend-tick" x=n(x) y=n(TOP + PLOT_H + 18.0) text-anchor="middle">{p.label.clone()}</text> }
        })
        .collect_view();
    let bottom = n(TOP + PLOT_H);
    view! {
        <svg class="trend-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=aria data-testid="chronic-trend">
            <line class="trend-axis" x1=n(LEFT) y1=bottom.clone() x2=n(WIDTH - RIGHT) y2=bottom.clone() />
            <line class="trend-axis" x1=n(LEFT) y1=n(TOP) x2=n(LEFT) y2=bottom />
            <text class="trend-tick" x=n(LEFT - 6.0) y=n(TOP + 4.0) text-anchor="end">{format!("{:.0}", range.1)}</text>
            <text class="trend-tick" x=n(LEFT - 6.0) y=n(TOP + PLOT_H) text-anchor="end">{format!("{:.0}", range.0)}</text>
            {cut_off.map(|cut_off| {
                let (_, cut_y) = place(days.0, cut_off, days, range);
                let unit = unit.clone();
                view! {
                    <line class="trend-cut-off" x1=n(LEFT) y1=n(cut_y) x2=n(WIDTH - RIGHT) y2=n(cut_y) data-testid="trend-cut-off" />
                    <text class="trend-tick" x=n(WIDTH - RIGHT) y=n(cut_y - 4.0) text-anchor="end">
                        {move || format!("{} {cut_off:.0} {}", t_string!(i18n, chronic.trend.cut_off), unit)}
                    </text>
                }
            })}
            <polyline class="trend-line" points=line />
            {dots}
            {labels}
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: i64, value: f64) -> Point {
        Point { day, label: String::new(), value, beyond: false }
    }

    #[test]
    fn the_range_holds_every_point_and_the_cut_off_with_room() {
        // Values 36..52 and cut-off 40: span 16, pad max(1.6, 5) = 5.
        let points = [point(0, 52.0), point(365, 44.0), point(730, 36.0)];
        assert_eq!(value_range(&points, Some(40.0)), (31.0, 57.0));
        // A cut-off outside the values widens the range: 100 with cut-off 300, pad 20.
        assert_eq!(value_range(&[point(0, 100.0)], Some(300.0)), (80.0, 320.0));
        // No cut-off: the values alone (100..240, pad 14).
        assert_eq!(value_range(&[point(0, 100.0), point(9, 240.0)], None), (86.0, 254.0));
    }

    #[test]
    fn points_are_placed_by_day_and_value() {
        let range = (0.0, 100.0);
        // The first day at the left edge, the last at the right, 50 halfway up.
        assert_eq!(place(0, 0.0, (0, 10), range), (LEFT, TOP + PLOT_H));
        assert_eq!(place(10, 100.0, (0, 10), range), (LEFT + PLOT_W, TOP));
        assert_eq!(place(5, 50.0, (0, 10), range), (LEFT + PLOT_W / 2.0, TOP + PLOT_H / 2.0));
        // One day only: in the middle.
        assert_eq!(place(3, 50.0, (3, 3), range).0, LEFT + PLOT_W / 2.0);
    }
}
