//! The slice viewer: one series, slice by slice, rendered on the server as PNG through a
//! window. Without JavaScript, links step through slices and presets; hydrated, the mouse wheel
//! and the arrow / Page / Home / End keys scroll, neighbours are preloaded, and the HU under the
//! cursor is shown.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::studies::{hu_at, series_slices};
use crate::components::errors::ErrorNotice;
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
        let next = (index.get_untracked() as i64 + delta).clamp(0, count as i64 - 1);
        index.set(next as usize);
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
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some(img) = image.get() else { return };
        let (shown_w, shown_h) = (f64::from(img.client_width()), f64::from(img.client_height()));
        if shown_w <= 0.0 || shown_h <= 0.0 || in_flight.get_untracked() {
            return;
        }
        let x = (f64::from(ev.offset_x()) * f64::from(img.natural_width()) / shown_w).floor() as u32;
        let y = (f64::from(ev.offset_y()) * f64::from(img.natural_height()) / shown_h).floor() as u32;
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
            <div class="viewer-toolbar" role="toolbar" aria-label=move || t_string!(i18n, viewer.toolbar)>
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
            </div>
            <div class="viewer-stage" tabindex="0" aria-label=move || t_string!(i18n, viewer.stage)
                on:keydown=on_key on:wheel=on_wheel>
                <img node_ref=image src=move || image_url(index.get()) alt=move || t_string!(i18n, viewer.slice_alt) data-testid="slice"
                    on:mousemove=on_move draggable="false" />
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
                <a href=move || page_url((index.get() + 1).min(count - 1), &window_key.get()) on:click=move |ev| { ev.prevent_default(); step(1) }>{t!(i18n, viewer.next)}</a>
            </div>
        </div>
    }
}
