//! The slice viewer: one series, slice by slice, rendered on the server as PNG through a
//! window. Without JavaScript, links step through slices and presets; hydrated, the mouse wheel
//! and the arrow / Page / Home / End keys scroll, neighbours are preloaded, and the HU under the
//! cursor is shown.
//!
//! Hydrated, and where the series has a pixel spacing, a "Measure" toggle measures a distance
//! with two clicks (each point is the centre of the pixel clicked; [`crate::domain::geometry`]
//! gives the length in mm and the midpoint in patient coordinates). An SVG over the image draws
//! the line; changing slice clears it. Opened from a tumour-board case (`?case=ID`, which the
//! case page adds for a reader who may record measurements), the viewer links the measurement to
//! the case page's form, filled in (`size_mm`, `slice_index`, `position_mm`): the radiologist
//! still chooses its kind and location and records it there; the viewer records nothing.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::studies::{hu_at, series_slices};
use crate::components::errors::ErrorNotice;
use crate::domain::geometry::{PixelPoint, Segment, SliceGeometry, format_position, pixel_under};
use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::model::studies::SliceStack;

/// A text in the page's language (tracked: call it inside the view).
type Text = fn(I18nContext<Locale>) -> &'static str;

/// The presets offered (key, label, center, width): lung, mediastinum, abdomen/liver, bone.
const PRESETS: &[(&str, Text, f64, f64)] = &[
    ("lung", |i18n| t_string!(i18n, viewer.preset.lung), -600.0, 1500.0),
    ("mediastinum", |i18n| t_string!(i18n, viewer.preset.mediastinum), 40.0, 400.0),
    ("abdomen", |i18n| t_string!(i18n, viewer.preset.abdomen), 60.0, 160.0),
    ("bone", |i18n| t_string!(i18n, viewer.preset.bone), 400.0, 1800.0),
];

fn preset(key: &str) -> (f64, f64) {
    PRESETS.iter().find(|p| p.0 == key).map_or((40.0, 400.0), |p| (p.2, p.3))
}

/// The segment between two clicked pixels (`(column, row)`) of slice `index`; `None` where the
/// series has no usable pixel spacing.
fn segment_on(series: &SliceStack, index: usize, a: (u32, u32), b: (u32, u32)) -> Option<Segment> {
    let slice = series.slices.get(index)?;
    let geometry = SliceGeometry::new(
        &series.pixel_spacing?,
        series.orientation.as_ref().map(|o| &o[..]),
        slice.image_position.as_ref().map(|p| &p[..]),
    )?;
    let point = |(column, row): (u32, u32)| PixelPoint { column: f64::from(column), row: f64::from(row) };
    Some(geometry.measure(point(a), point(b)))
}

/// The case page's measurement form, filled in with a segment measured on slice `index`; `None`
/// for a length the form does not take (it takes 0.1 to 500 mm, to one decimal).
fn record_href(case: i64, index: usize, segment: &Segment) -> Option<String> {
    let size = (segment.length_mm * 10.0).round() / 10.0;
    if !(0.1..=500.0).contains(&size) {
        return None;
    }
    let position = segment.midpoint_mm.map(|p| format!("&position_mm={}", format_position(p))).unwrap_or_default();
    Some(format!("/mdt/cases/{case}?size_mm={size:.1}&slice_index={index}{position}#measure"))
}

#[component]
pub fn ViewerPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (p.get("uid").unwrap_or_default(), p.get("series").unwrap_or_default())
    };
    let slices = Resource::new(ids, |(study, series)| series_slices(study, series));
    view! {
        <PageTitle text=t_string!(i18n, viewer.title).to_string() />
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, viewer.loading)}</p> }>
            {move || Suspend::new(async move {
                match slices.await {
                    Ok(series) if series.slices.is_empty() => view! { <p>{t!(i18n, viewer.no_images)}</p> }.into_any(),
                    Ok(series) => view! { <Viewer series /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Viewer(series: SliceStack) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let count = series.slices.len();
    let start =
        query.read_untracked().get("slice").and_then(|s| s.parse::<usize>().ok()).unwrap_or(count / 2).min(count - 1);
    let start_window = query.read_untracked().get("window").unwrap_or_else(|| "mediastinum".into());
    let index = RwSignal::new(start);
    let (start_center, start_width) = preset(&start_window);
    let center = RwSignal::new(start_center);
    let width = RwSignal::new(start_width);
    let window_key = RwSignal::new(start_window);
    // The HU under the cursor and where it was read: (HU, x, y) in the image's pixels.
    let hu = RwSignal::new(None::<(f32, u32, u32)>);
    // Measuring (hydrated only: the toggle and the overlay appear once the page runs).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let measurable = series.pixel_spacing.and_then(|s| SliceGeometry::new(&s, None, None)).is_some();
    let measuring = RwSignal::new(false);
    // The points clicked on this slice, `(column, row)`: none, one end, or both.
    let points = RwSignal::new(Vec::<(u32, u32)>::new());
    // The image's size in pixels when the points were clicked (the overlay's coordinates).
    let natural = RwSignal::new((1u32, 1u32));
    // The tumour-board case the viewer was opened from.
    let case = query.read_untracked().get("case").and_then(|c| c.parse::<i64>().ok()).filter(|c| *c > 0);

    let series = StoredValue::new(series);
    let image_url = move |i: usize| {
        series.with_value(|s| {
            format!(
                "/dicomweb/studies/{}/series/{}/instances/{}/rendered?window={},{}",
                s.study_uid,
                s.series_uid,
                s.slices[i].sop_instance_uid,
                center.get(),
                width.get()
            )
        })
    };
    let page_url = move |i: usize, key: &str| {
        series.with_value(|s| format!("/studies/{}/series/{}?slice={i}&window={key}", s.study_uid, s.series_uid))
    };
    let step = move |delta: i64| {
        let next = (index.get_untracked() as i64 + delta).clamp(0, count as i64 - 1) as usize;
        if next != index.get_untracked() {
            points.set(Vec::new());
        }
        index.set(next);
        hu.set(None);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let delta = match ev.key().as_str() {
            "ArrowDown" | "ArrowRight" | "j" => 1,
            "ArrowUp" | "ArrowLeft" | "k" => -1,
            "PageDown" => 10,
            "PageUp" => -10,
            "Home" => -(count as i64),
            "End" => count as i64,
            _ => return,
        };
        ev.prevent_default();
        step(delta);
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        step(if ev.delta_y() > 0.0 { 1 } else { -1 });
    };
    let image = NodeRef::<leptos::html::Img>::new();
    let in_flight = RwSignal::new(false);
    // The pixel under the pointer, `(column, row)`: the image is drawn with `object-fit:
    // contain`, so a band beside or above it has none.
    let pixel_at = move |ev: &leptos::ev::MouseEvent| {
        let img = image.get_untracked()?;
        pixel_under(
            (f64::from(ev.offset_x()), f64::from(ev.offset_y())),
            (f64::from(img.client_width()), f64::from(img.client_height())),
            (img.natural_width(), img.natural_height()),
        )
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if !measuring.get_untracked() {
            return;
        }
        let (Some(img), Some(pixel)) = (image.get_untracked(), pixel_at(&ev)) else { return };
        natural.set((img.natural_width().max(1), img.natural_height().max(1)));
        points.update(|p| {
            if p.len() >= 2 {
                p.clear();
            }
            p.push(pixel);
        });
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        if in_flight.get_untracked() {
            return;
        }
        let Some((x, y)) = pixel_at(&ev) else { return };
        let (study, series_uid, instance) = series.with_value(|s| {
            (s.study_uid.clone(), s.series_uid.clone(), s.slices[index.get_untracked()].sop_instance_uid.clone())
        });
        in_flight.set(true);
        leptos::task::spawn_local(async move {
            let value = hu_at(study, series_uid, instance, x, y).await;
            hu.set(value.ok().flatten().map(|v| (v, x, y)));
            in_flight.set(false);
        });
    };

    let position = move || series.with_value(|s| s.slices[index.get()].position_mm).map(|p| format!("{p:.1} mm"));
    let segment = move || match points.get()[..] {
        [a, b] => series.with_value(|s| segment_on(s, index.get(), a, b)),
        _ => None,
    };
    let toggle = move || {
        (hydrated.get() && measurable).then(|| {
            view! {
                <button type="button" class=move || if measuring.get() { "button active" } else { "button" }
                    data-testid="measure-toggle" aria-pressed=move || measuring.get().to_string()
                    title=move || t_string!(i18n, viewer.measure.title)
                    on:click=move |_| {
                        measuring.update(|m| *m = !*m);
                        points.set(Vec::new());
                    }>{t!(i18n, viewer.measure.button)}</button>
            }
        })
    };
    // The line (or the first end) over the image, in the image's pixels: the SVG covers the
    // image's box and fits its view box the way `object-fit: contain` fits the image.
    let overlay = move || {
        let points = points.get();
        (measuring.get() && !points.is_empty()).then(|| {
            let (width, height) = natural.get();
            // The ends' rings, about 1 % of the image across.
            let radius = f64::from(width.max(height)) / 100.0;
            let centre = |(column, row): (u32, u32)| (f64::from(column) + 0.5, f64::from(row) + 0.5);
            let ends = points
                .iter()
                .map(|p| {
                    let (x, y) = centre(*p);
                    view! { <circle cx=x cy=y r=radius class="measure-end" /> }
                })
                .collect_view();
            let line = match points[..] {
                [a, b] => {
                    let ((x1, y1), (x2, y2)) = (centre(a), centre(b));
                    Some(view! { <line x1=x1 y1=y1 x2=x2 y2=y2 class="measure-line" /> })
                }
                _ => None,
            };
            view! {
                <svg class="measure-overlay" viewBox=format!("0 0 {width} {height}") aria-hidden="true"
                    data-testid="measure-overlay">{line}{ends}</svg>
            }
        })
    };
    let measured = move || {
        if !measuring.get() {
            return None;
        }
        let text = match (points.get().len(), segment()) {
            (2, Some(segment)) => {
                t!(i18n, viewer.measure.length, length = format!("{:.1}", segment.length_mm)).into_any()
            }
            (1, _) => t!(i18n, viewer.measure.second).into_any(),
            _ => t!(i18n, viewer.measure.first).into_any(),
        };
        Some(view! { <span data-testid="measured-length" aria-live="polite">{text}</span> })
    };
    let record = move || {
        let (case, segment) = (case?, segment()?);
        let href = record_href(case, index.get(), &segment)?;
        Some(view! {
            <a href=href data-testid="record-measurement">{t!(i18n, viewer.measure.record, id = move || case)}</a>
        })
    };
    let title = series.with_value(|s| s.description.clone());
    let back = series.with_value(|s| format!("/studies/{}", s.study_uid));
    let ohif = series.with_value(|s| {
        format!("/ohif/viewer?StudyInstanceUIDs={}&initialSeriesInstanceUID={}", s.study_uid, s.series_uid)
    });
    view! {
        <p class="card-links">
            <a href=back>{t!(i18n, viewer.back)}</a>
            <a href=ohif data-testid="open-ohif" rel="nofollow">{t!(i18n, viewer.open_ohif)}</a>
        </p>
        <h1>{match title {
            Some(title) => title.into_any(),
            None => t!(i18n, viewer.series).into_any(),
        }}</h1>
        <div class="viewer">
            <div class="viewer-toolbar" role="toolbar" aria-label=move || {
                if hydrated.get() && measurable { t_string!(i18n, viewer.toolbar_measure) } else { t_string!(i18n, viewer.toolbar) }
            }>
                {PRESETS.iter().map(|(key, label, c, w)| {
                    let (key, label) = (*key, *label);
                    let (c, w) = (*c, *w);
                    view! {
                        <a href=move || page_url(index.get(), key)
                            class=move || if window_key.get() == key { "button active" } else { "button" }
                            data-preset=key
                            on:click=move |ev| {
                                ev.prevent_default();
                                center.set(c);
                                width.set(w);
                                window_key.set(key.to_owned());
                            }>{move || label(i18n)}</a>
                    }
                }).collect_view()}
                <label>{t!(i18n, viewer.center)} " " <input type="number" class="wl" prop:value=move || center.get()
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { center.set(v) } } /></label>
                <label>{t!(i18n, viewer.width)} " " <input type="number" class="wl" min="1" prop:value=move || width.get()
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { width.set(v.max(1.0)) } } /></label>
                {toggle}
            </div>
            <div class="viewer-stage" tabindex="0" aria-label=move || t_string!(i18n, viewer.stage)
                on:keydown=on_key on:wheel=on_wheel>
                <img node_ref=image src=move || image_url(index.get()) alt=move || t_string!(i18n, viewer.slice_alt) data-testid="slice"
                    on:mousemove=on_move on:click=on_click draggable="false" />
                {overlay}
                // Neighbours, so scrolling feels immediate.
                {move || {
                    let i = index.get();
                    [i.saturating_sub(1), (i + 1).min(count - 1), (i + 2).min(count - 1)]
                        .into_iter()
                        .map(|n| view! { <link rel="prefetch" href=image_url(n) /> })
                        .collect_view()
                }}
            </div>
            <div class="viewer-status">
                <a href=move || page_url(index.get().saturating_sub(1), &window_key.get()) on:click=move |ev| { ev.prevent_default(); step(-1) }>{t!(i18n, viewer.previous)}</a>
                <span data-testid="slice-position">{t!(i18n, viewer.position, index = move || index.get() + 1, count)}</span>
                <span>{position}</span>
                <span data-testid="hu">{move || hu.get().map(|(v, x, y)| t!(i18n, viewer.hu_at, value = format!("{v:.0}"), x, y))}</span>
                {measured}
                {record}
                <a href=move || page_url((index.get() + 1).min(count - 1), &window_key.get()) on:click=move |ev| { ev.prevent_default(); step(1) }>{t!(i18n, viewer.next)}</a>
            </div>
        </div>
    }
}
