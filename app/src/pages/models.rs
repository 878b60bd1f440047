//! Models: the registry (each model found at start, its checksum, card and calibrated outputs,
//! which is active), the operating threshold of each output with a preview-then-change form,
//! every model version's positive rate, PPV and drift, and the history of threshold changes.
//! Plain GET and POST forms: works without JavaScript.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::governance::{load_models, preview_threshold};
use crate::components::errors::ErrorNotice;
use crate::domain::governance::Drift;
use crate::domain::program::Proportion;
use crate::i18n::{t, t_string, use_i18n};
use crate::model::governance::{
    ModelEntry, ModelsOverview, PREVIEW_DEFAULT_SERIES, ShadowComparison, ThresholdChange, ThresholdPreview,
    ThresholdRequest, VersionMonitor, WeekRate,
};

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// `12.5% (8.1–18.9%), 9/72`; `—` without a denominator.
fn proportion(p: &Proportion) -> String {
    match p.value {
        None => "—".to_owned(),
        Some(_) => format!(
            "{} ({}–{}), {}/{}",
            percent(p.value),
            percent(p.ci_low),
            percent(p.ci_high),
            p.numerator,
            p.denominator
        ),
    }
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"))
}

/// The proposed change the page's query asks to preview: `model=name@version`, `output`,
/// `threshold`, `last`.
fn asked(query: &leptos_router::params::ParamsMap) -> Option<ThresholdRequest> {
    let (name, version) = query.get("model")?.rsplit_once('@').map(|(n, v)| (n.to_owned(), v.to_owned()))?;
    Some(ThresholdRequest {
        model_name: name,
        model_version: version,
        output: query.get("output")?,
        threshold: query.get("threshold")?.trim().parse().unwrap_or(f64::NAN),
        reason: None,
        last: query.get("last").and_then(|l| l.trim().parse().ok()),
    })
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let changed = move || query.read().get("changed");
    let refused = move || query.read().get("error").filter(|e| !e.is_empty());
    let page = Resource::new(|| (), |_| load_models());
    let request = move || asked(&query.read());
    let preview = Resource::new(request, |request| async move {
        match request {
            Some(request) => Some(preview_threshold(request).await),
            None => None,
        }
    });
    view! {
        <PageTitle text=t_string!(i18n, models.title).to_string() />
        <h1>{t!(i18n, models.title)}</h1>
        <p class="muted">{t!(i18n, models.explainer)}</p>
        {move || changed().map(|output| view! {
            <p class="notice" role="status" data-testid="threshold-changed">{t!(i18n, models.changed)}" "{output}</p>
        })}
        {move || refused().map(|e| view! {
            <p class="notice error" role="alert" data-testid="threshold-refused">{t!(i18n, models.refused)}" "{e}</p>
        })}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match (preview.await, request()) {
                    (Some(Ok(preview)), _) => view! { <PreviewPanel preview /> }.into_any(),
                    (Some(Err(error)), _) => view! { <ErrorNotice error /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, models.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(overview) => view! { <Overview overview /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(overview: ModelsOverview) -> impl IntoView {
    let i18n = use_i18n();
    let ModelsOverview { models, refused, versions, shadow, changes } = overview;
    view! {
        <h2>{t!(i18n, models.registry)}</h2>
        {models.is_empty().then(|| view! { <p class="muted">{t!(i18n, models.no_models)}</p> })}
        {models.into_iter().map(|entry| view! { <Model entry /> }).collect_view()}
        {(!refused.is_empty()).then(|| view! {
            <section class="card" data-testid="refused-models">
                <h3>{t!(i18n, models.refused_models)}</h3>
                <ul>{refused.into_iter().map(|r| view! { <li><code>{r}</code></li> }).collect_view()}</ul>
            </section>
        })}
        <h2>{t!(i18n, models.versions)}</h2>
        <p class="muted">{t!(i18n, models.drift_rule)}</p>
        <Versions versions />
        <h2>{t!(i18n, models.shadow.title)}</h2>
        <p class="muted">{t!(i18n, models.shadow.explainer)}</p>
        <Shadows shadow />
        <h2>{t!(i18n, models.changes)}</h2>
        <Changes changes />
    }
}

#[component]
fn Model(entry: ModelEntry) -> impl IntoView {
    let i18n = use_i18n();
    let ModelEntry { model, thresholds } = entry;
    let id = format!("{}@{}", model.name, model.version);
    let outputs = model.outputs.clone();
    view! {
        <section class="card model" data-model=id.clone()>
            <h3>
                {model.name.clone()}" "{model.version.clone()}
                {model.active.then(|| view! { " " <span class="badge ok">{t!(i18n, models.active)}</span> })}
                {model.shadow.then(|| view! { " " <span class="badge plain">{t!(i18n, models.shadow.badge)}</span> })}
                {(!model.clinical_use).then(|| view! { " " <span class="badge warn">{t!(i18n, models.not_clinical)}</span> })}
            </h3>
            <p>{model.description.clone()}</p>
            <p class="muted">{t!(i18n, models.task)}": "{model.task.clone()}" · SHA-256 "<code class="wrap">{model.sha256.clone()}</code></p>
            {model.card.clone().map(|card| view! {
                <details><summary>{t!(i18n, models.card)}</summary><pre class="model-card">{card}</pre></details>
            })}
            <table class="grid" data-testid="thresholds">
                <thead><tr>
                    <th scope="col">{t!(i18n, models.col.output)}</th>
                    <th scope="col">{t!(i18n, models.col.manifest)}</th>
                    <th scope="col">{t!(i18n, models.col.operating)}</th>
                    <th scope="col">{t!(i18n, models.col.specificity)}</th>
                    <th scope="col">{t!(i18n, models.col.sensitivity)}</th>
                    <th scope="col">"AUC"</th>
                    <th scope="col">{t!(i18n, models.col.preview)}</th>
                </tr></thead>
                <tbody>
                    {thresholds.into_iter().map(|t| {
                        let calibration = outputs.iter().find(|o| o.name() == t.output).cloned();
                        let changed = t.current != t.manifest;
                        let model_id = id.clone();
                        let input_id = format!("threshold-{id}-{}", t.output);
                        view! {
                            <tr data-output=t.output.clone()>
                                <th scope="row"><code>{t.output.clone()}</code></th>
                                <td class="num">{format!("{:.3}", t.manifest)}</td>
                                <td class="num" class:changed=changed data-testid="operating">{format!("{:.3}", t.current)}</td>
                                <td class="num">{calibration.as_ref().map(|c| format!("{:.3}", c.specificity))}
                                    {calibration.as_ref().and_then(|c| c.measured_specificity).map(|m| format!(" ({m:.3})"))}</td>
                                <td class="num">{optional(calibration.as_ref().and_then(|c| c.sensitivity))}</td>
                                <td class="num">{optional(calibration.as_ref().and_then(|c| c.auc))}</td>
                                <td>
                                    <form method="get" action="/admin/models" class="inline-form">
                                        <input type="hidden" name="model" value=model_id />
                                        <input type="hidden" name="output" value=t.output.clone() />
                                        <label class="visually-hidden" for=input_id.clone()>{t!(i18n, models.proposed)}</label>
                                        <input type="number" id=input_id name="threshold" min="0.001" max="0.999" step="0.001" value=format!("{:.3}", t.current) required />
                                        <input type="hidden" name="last" value=PREVIEW_DEFAULT_SERIES.to_string() />
                                        <button type="submit" class="button subtle">{t!(i18n, models.preview)}</button>
                                    </form>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn PreviewPanel(preview: ThresholdPreview) -> impl IntoView {
    let i18n = use_i18n();
    let p = preview.preview;
    let model = format!("{} {}", preview.model_name, preview.model_version);
    view! {
        <section class="card preview" data-testid="threshold-preview" aria-labelledby="preview-title">
            <h2 id="preview-title">{t!(i18n, models.preview_title)}": "<code>{preview.output.clone()}</code>" · "{model}</h2>
            <dl class="facts">
                <dt>{t!(i18n, models.fact.series)}</dt><dd data-testid="preview-series">{p.series}" / "{preview.last}</dd>
                <dt>{t!(i18n, models.fact.now)}" ("{format!("{:.3}", preview.current)}")"</dt><dd data-testid="preview-now">{p.positive_now}</dd>
                <dt>{t!(i18n, models.fact.then)}" ("{format!("{:.3}", preview.proposed)}")"</dt><dd data-testid="preview-then">{p.positive_then}</dd>
                <dt>{t!(i18n, models.fact.gained)}</dt><dd data-testid="preview-gained">{p.gained}</dd>
                <dt>{t!(i18n, models.fact.lost)}</dt><dd data-testid="preview-lost">{p.lost}</dd>
            </dl>
            <form method="post" action="/admin/models/thresholds" class="stacked" data-testid="threshold-change">
                <input type="hidden" name="model_name" value=preview.model_name.clone() />
                <input type="hidden" name="model_version" value=preview.model_version.clone() />
                <input type="hidden" name="output" value=preview.output.clone() />
                <input type="hidden" name="threshold" value=preview.proposed.to_string() />
                <input type="hidden" name="last" value=preview.last.to_string() />
                <label>{t!(i18n, models.reason)}
                    <textarea name="reason" required maxlength="2000" rows="3"></textarea>
                </label>
                <button type="submit" class="button">{t!(i18n, models.apply)}</button>
            </form>
        </section>
    }
}

fn drift_text(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, drift: Drift) -> &'static str {
    match drift {
        Drift::TooFew => t_string!(i18n, models.drift.too_few),
        Drift::Within => t_string!(i18n, models.drift.within),
        Drift::Above => t_string!(i18n, models.drift.above),
        Drift::Below => t_string!(i18n, models.drift.below),
    }
}

#[component]
fn Versions(versions: Vec<VersionMonitor>) -> impl IntoView {
    let i18n = use_i18n();
    if versions.is_empty() {
        return view! { <p class="muted">{t!(i18n, models.no_versions)}</p> }.into_any();
    }
    view! {
        <table class="grid" data-testid="versions">
            <thead><tr>
                <th scope="col">{t!(i18n, models.col.version)}</th>
                <th scope="col">{t!(i18n, models.col.in_use)}</th>
                <th scope="col">{t!(i18n, models.col.positive_rate)}</th>
                <th scope="col">{t!(i18n, models.col.ppv)}</th>
                <th scope="col">{t!(i18n, models.col.drift)}</th>
                <th scope="col">{t!(i18n, models.col.weekly)}</th>
            </tr></thead>
            <tbody>
                {versions.into_iter().map(|v| {
                    let drift = v.drift.drift;
                    let state = if v.active {
                        t_string!(i18n, models.active)
                    } else if v.registered {
                        t_string!(i18n, models.registered)
                    } else {
                        t_string!(i18n, models.not_registered)
                    };
                    view! {
                        <tr data-version=format!("{}@{}", v.model_name, v.model_version) data-drift=drift.as_str()>
                            <th scope="row">{v.model_name.clone()}" "{v.model_version.clone()}<br /><span class="muted">{state}</span></th>
                            <td class="nowrap">{v.first_day.clone()}" – "{v.last_day.clone()}</td>
                            <td data-testid="positive-rate">{proportion(&v.positive_rate)}</td>
                            <td data-testid="ppv">{proportion(&v.ppv)}</td>
                            <td data-testid="drift">
                                <span class=if drift.alert() { "badge warn" } else { "badge plain" } role=drift.alert().then_some("alert")>{drift_text(i18n, drift)}</span>
                                <br /><span class="muted">{t!(i18n, models.calibration)}" "{proportion(&v.drift.calibration)}</span>
                                <br /><span class="muted">{t!(i18n, models.recent)}" "{proportion(&v.drift.recent)}</span>
                            </td>
                            <td><RateChart weeks=v.weeks.clone() band=(v.drift.calibration.ci_low, v.drift.calibration.ci_high) /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A version's weekly positive rate as a small inline SVG, with its calibration band shaded.
#[component]
fn RateChart(weeks: Vec<WeekRate>, band: (Option<f64>, Option<f64>)) -> impl IntoView {
    let i18n = use_i18n();
    const W: f64 = 200.0;
    const H: f64 = 48.0;
    let rates: Vec<f64> =
        weeks.iter().map(|w| if w.series == 0 { 0.0 } else { w.positive as f64 / w.series as f64 }).collect();
    let top = rates.iter().copied().chain(band.1).fold(0.05f64, f64::max);
    let y = move |rate: f64| H - (rate / top).min(1.0) * H;
    let slot = W / rates.len().max(1) as f64;
    let points: Vec<String> =
        rates.iter().enumerate().map(|(i, r)| format!("{:.1},{:.1}", slot * (i as f64 + 0.5), y(*r))).collect();
    let text =
        weeks.iter().map(|w| format!("{}: {}/{}", w.week_start, w.positive, w.series)).collect::<Vec<_>>().join("; ");
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {W} {H}") width=W height=H role="img">
            <title>{move || format!("{} {text}", t_string!(i18n, models.chart_label))}</title>
            {match band {
                (Some(low), Some(high)) => view! {
                    <rect class="band" x="0" width=W y=format!("{:.1}", y(high)) height=format!("{:.1}", (y(low) - y(high)).max(0.5)) />
                }.into_any(),
                _ => ().into_any(),
            }}
            <polyline class="rate" fill="none" points=points.join(" ") />
        </svg>
    }
}

#[component]
fn Shadows(shadow: Vec<ShadowComparison>) -> impl IntoView {
    let i18n = use_i18n();
    if shadow.is_empty() {
        return view! { <p class="muted">{t!(i18n, models.shadow.none)}</p> }.into_any();
    }
    shadow
        .into_iter()
        .map(|s| {
            let series = s.comparison.series;
            let id = format!("{}@{}", s.model_name, s.model_version);
            view! {
                <section class="card" data-shadow=id>
                    <h3>
                        {s.model_name.clone()}" "{s.model_version.clone()}" · "{t!(i18n, models.shadow.against)}" "
                        {s.live_model_name.clone()}" "{s.live_model_version.clone()}
                        {s.running.then(|| view! { " " <span class="badge plain">{t!(i18n, models.shadow.badge)}</span> })}
                    </h3>
                    <p class="muted">{s.first_day.clone()}" – "{s.last_day.clone()}</p>
                    <dl class="facts">
                        <dt>{t!(i18n, models.shadow.series)}</dt><dd data-testid="shadow-series">{series.series()}</dd>
                        <dt>{t!(i18n, models.shadow.agreement)}</dt><dd data-testid="shadow-agreement">{proportion(&series.agreement())}</dd>
                        <dt>{t!(i18n, models.shadow.both)}</dt><dd>{series.both}</dd>
                        <dt>{t!(i18n, models.shadow.gained)}</dt><dd data-testid="shadow-gained">{series.gained}</dd>
                        <dt>{t!(i18n, models.shadow.lost)}</dt><dd data-testid="shadow-lost">{series.lost}</dd>
                    </dl>
                    <table class="grid">
                        <thead><tr>
                            <th scope="col">{t!(i18n, models.col.output)}</th>
                            <th scope="col">{t!(i18n, models.shadow.both)}</th>
                            <th scope="col">{t!(i18n, models.shadow.gained)}</th>
                            <th scope="col">{t!(i18n, models.shadow.lost)}</th>
                            <th scope="col">{t!(i18n, models.shadow.agreement)}</th>
                        </tr></thead>
                        <tbody>
                            {s.comparison.outputs.into_iter().map(|(output, a)| view! {
                                <tr>
                                    <th scope="row"><code>{output}</code></th>
                                    <td class="num">{a.both}</td>
                                    <td class="num">{a.gained}</td>
                                    <td class="num">{a.lost}</td>
                                    <td>{proportion(&a.agreement())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }
        })
        .collect_view()
        .into_any()
}

#[component]
fn Changes(changes: Vec<ThresholdChange>) -> impl IntoView {
    let i18n = use_i18n();
    if changes.is_empty() {
        return view! { <p class="muted">{t!(i18n, models.no_changes)}</p> }.into_any();
    }
    view! {
        <table class="grid" data-testid="threshold-changes">
            <thead><tr>
                <th scope="col">{t!(i18n, models.col.when)}</th>
                <th scope="col">{t!(i18n, models.col.who)}</th>
                <th scope="col">{t!(i18n, models.col.version)}</th>
                <th scope="col">{t!(i18n, models.col.output)}</th>
                <th scope="col">{t!(i18n, models.col.change)}</th>
                <th scope="col">{t!(i18n, models.col.preview_then)}</th>
                <th scope="col">{t!(i18n, models.reason)}</th>
            </tr></thead>
            <tbody>
                {changes.into_iter().map(|c| view! {
                    <tr>
                        <td class="nowrap">{c.changed_at}</td>
                        <td>{c.changed_by}</td>
                        <td>{c.model_name}" "{c.model_version}</td>
                        <td><code>{c.output}</code></td>
                        <td class="num">{format!("{:.3} → {:.3}", c.previous, c.threshold)}</td>
                        <td class="num">{format!("+{} −{} / {}", c.preview.gained, c.preview.lost, c.preview.series)}</td>
                        <td>{c.reason}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
