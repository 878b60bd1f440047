//! Prometheus metrics, `GET /metrics` (an administrator's session, or a token with
//! `metrics:read`): HTTP requests and their latency by route template, the screening queue by
//! state and each stage's duration by execution provider, ingested instances and bytes by way
//! in, sign-in failures, and the database pool. Recorded with the `metrics` facade and rendered
//! by `metrics-exporter-prometheus`; the queue and the pool are read when scraped
//! (`routes::scrape`). A leaf: the modules that record here pass plain values, so none of them
//! and this module import each other.

use std::sync::OnceLock;
use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds (seconds) of the duration histograms: from a 5 ms page to a two-minute series.
const SECONDS_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use. One per process: the metrics facade has one
/// global recorder, so servers in one process (the integration tests) share it.
pub fn handle() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .inspect_err(|e| tracing::error!(%e, "metrics buckets"))
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::error!(%e, "another metrics recorder is installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Middleware: counts each request and times it, labelled by its route template (`/findings/{id}`,
/// never the id itself, so that the label set stays small) or `unmatched`.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!("elysium_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    histogram!("elysium_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A screened series: each stage's duration in milliseconds, by the provider that ran the model.
pub fn record_screening(provider: &str, stages_ms: &[(&'static str, f64)]) {
    for (stage, ms) in stages_ms {
        histogram!("elysium_screening_stage_seconds", "stage" => *stage, "provider" => provider.to_owned())
            .record(ms / 1000.0);
    }
    counter!("elysium_screening_series_total", "provider" => provider.to_owned()).increment(1);
}

/// An instance through ingest: counted by way in and outcome (`stored`, `duplicate`,
/// `rejected`); the bytes of a stored one by way in.
pub fn record_ingest(via: &'static str, outcome: &'static str, bytes: usize) {
    counter!("elysium_ingest_instances_total", "via" => via, "outcome" => outcome).increment(1);
    if outcome == "stored" {
        counter!("elysium_ingest_bytes_total", "via" => via).increment(bytes as u64);
    }
}

/// A failed sign-in, and whether it locked the username at that address.
pub fn record_signin_failure(locked: bool) {
    counter!("elysium_signin_failures_total", "locked" => if locked { "true" } else { "false" }).increment(1);
}

/// The queue by state and the database pool, set just before a scrape renders them.
pub fn set_gauges(jobs_by_status: &[(String, i64)], pool: &sqlx::PgPool) {
    // Every state, so that an empty queue reads 0 rather than disappearing.
    for status in ["queued", "running", "done", "failed", "skipped"] {
        let n = jobs_by_status.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        gauge!("elysium_screening_jobs", "status" => status).set(n as f64);
    }
    let size = pool.size() as f64;
    let idle = pool.num_idle() as f64;
    gauge!("elysium_db_pool_connections", "state" => "idle").set(idle);
    gauge!("elysium_db_pool_connections", "state" => "in_use").set(size - idle);
    gauge!("elysium_db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
}
