//! The system health panel at the top of the administrator's home: the database, the object
//! store, the screening workers, the queue and the data folder's free disk, each with its
//! verdict and one line of facts. Rendered on the server (the page needs no JavaScript); the
//! same report is `GET /api/v1/admin/health`.

use leptos::prelude::*;
use leptos_i18n::I18nContext;

use crate::api::admin::system_health;
use crate::components::errors::ErrorNotice;
use crate::format;
use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::model::health::{DiskCheck, HealthReport, HealthStatus, QueueCheck, WorkersCheck, human_bytes};

#[component]
pub fn SystemHealthPanel() -> impl IntoView {
    let i18n = use_i18n();
    let report = Resource::new(|| (), |_| system_health());
    view! {
        <section class="card health" aria-labelledby="health-heading" data-testid="system-health">
            <h2 id="health-heading">{t!(i18n, admin.health.title)}</h2>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, admin.loading)}</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(report) => view! { <HealthChecks report /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn HealthChecks(report: HealthReport) -> impl IntoView {
    let i18n = use_i18n();
    let checked = format::second(report.checked_at);
    let (database, store) = (&report.database, &report.object_store);
    let rows = [
        row(
            "database",
            database.status,
            move || t_string!(i18n, admin.health.database.label),
            round_trip(i18n, database.status, database.round_trip_ms),
        ),
        row(
            "object_store",
            store.status,
            move || t_string!(i18n, admin.health.object_store.label),
            round_trip(i18n, store.status, store.round_trip_ms),
        ),
        row(
            "workers",
            report.workers.status,
            move || t_string!(i18n, admin.health.workers.label),
            workers(i18n, &report.workers),
        ),
        row(
            "queue",
            report.queue.status,
            move || t_string!(i18n, admin.health.queue.label),
            queue(i18n, &report.queue),
        ),
        row("disk", report.disk.status, move || t_string!(i18n, admin.health.disk.label), disk(i18n, &report.disk)),
    ];
    view! {
        <ul class="health-checks" data-status=report.status.as_str()>{rows.into_iter().collect_view()}</ul>
        <p class="muted small">{t!(i18n, admin.health.checked_at, time = move || checked.clone())}</p>
    }
}

/// One check: its verdict as a word (never colour alone), its name, its facts.
fn row(
    key: &'static str,
    status: HealthStatus,
    label: impl Fn() -> &'static str + Send + Sync + 'static,
    detail: AnyView,
) -> AnyView {
    let i18n = use_i18n();
    let word = move || match status {
        HealthStatus::Ok => t_string!(i18n, admin.health.status.ok),
        HealthStatus::Warn => t_string!(i18n, admin.health.status.warn),
        HealthStatus::Failed => t_string!(i18n, admin.health.status.failed),
    };
    view! {
        <li data-check=key data-status=status.as_str()>
            <span class=format!("badge health-{}", status.as_str())>{word}</span>
            " " <strong>{label}</strong> " " <span class="health-detail">{detail}</span>
        </li>
    }
    .into_any()
}

fn millis(value: f64) -> String {
    format!("{value:.1}")
}

/// The database's or the object store's answer: how fast, or that there was none.
fn round_trip(i18n: I18nContext<Locale>, status: HealthStatus, ms: Option<f64>) -> AnyView {
    match (status, ms) {
        (HealthStatus::Failed, _) | (_, None) => t!(i18n, admin.health.unreachable).into_any(),
        (HealthStatus::Warn, Some(v)) => t!(i18n, admin.health.slow, ms = move || millis(v)).into_any(),
        (HealthStatus::Ok, Some(v)) => t!(i18n, admin.health.answers, ms = move || millis(v)).into_any(),
    }
}

fn workers(i18n: I18nContext<Locale>, check: &WorkersCheck) -> AnyView {
    let here = if check.running_here > 0 {
        let count = check.running_here;
        let provider = check.provider.clone().unwrap_or_default();
        let device = check.device.clone().unwrap_or_default();
        let model = check.model.clone().unwrap_or_default();
        t!(
            i18n,
            admin.health.workers.here,
            count = move || count,
            provider = move || provider.clone(),
            device = move || device.clone(),
            model = move || model.clone()
        )
        .into_any()
    } else if check.configured_here > 0 {
        let count = check.configured_here;
        t!(i18n, admin.health.workers.not_started, count = move || count).into_any()
    } else {
        t!(i18n, admin.health.workers.none_here).into_any()
    };
    let busy =
        check.busy_anywhere.map(|count| view! { " · " {t!(i18n, admin.health.workers.busy, count = move || count)} });
    let last = match check.last_done_at {
        Some(at) => {
            let at = format::minute(at);
            t!(i18n, admin.health.workers.last_done, time = move || at.clone()).into_any()
        }
        None => t!(i18n, admin.health.workers.never_done).into_any(),
    };
    // The only warning the workers' check gives: work waits and nobody takes it.
    let stalled = (check.status == HealthStatus::Warn)
        .then(|| view! { " · " <strong>{t!(i18n, admin.health.workers.stalled)}</strong> });
    view! { {here} {busy} " · " {last} {stalled} }.into_any()
}

fn queue(i18n: I18nContext<Locale>, check: &QueueCheck) -> AnyView {
    let (Some(queued), Some(running)) = (check.queued, check.running) else {
        return t!(i18n, admin.health.queue.unknown).into_any();
    };
    let oldest = check.oldest_queued_at.map(|at| {
        let at = format::minute(at);
        view! { " · " {t!(i18n, admin.health.queue.oldest, time = move || at.clone())} }
    });
    view! {
        <span data-testid="queue-depth" data-queued=queued.to_string() data-running=running.to_string()>
            {t!(i18n, admin.health.queue.counts, queued = move || queued, running = move || running)}
        </span>
        {oldest}
    }
    .into_any()
}

fn disk(i18n: I18nContext<Locale>, check: &DiskCheck) -> AnyView {
    let path = check.path.clone();
    match (check.free_bytes, check.total_bytes, check.free_percent()) {
        (Some(free), Some(total), Some(percent)) => t!(
            i18n,
            admin.health.disk.space,
            free = move || human_bytes(free),
            total = move || human_bytes(total),
            percent = move || percent,
            path = move || path.clone()
        )
        .into_any(),
        _ => t!(i18n, admin.health.disk.unknown, path = move || path.clone()).into_any(),
    }
}
