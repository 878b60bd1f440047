//! The HTTP surface: REST v1 (JSON), the form posts behind the sign-in page, health checks,
//! and the Leptos pages and server functions, all behind one guard.

pub mod account;
pub mod audit;
pub mod auth;
pub mod chronic;
pub mod export;
pub mod extract;
pub mod followup;
pub mod guard;
pub mod health;
pub mod language;
pub mod lesions;
pub mod mdt;
pub mod metrics;
pub mod models;
pub mod patients;
pub mod record;
pub mod referral;
pub mod referral_forms;
pub mod scrape;
pub mod screening;
pub mod settings;
pub mod signin;
pub mod sites;
pub mod staging;
pub mod tokens;
pub mod upload;
pub mod users;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tower_sessions_sqlx_store::PostgresStore;

use crate::error::ApiError;
use crate::state::AppState;

/// Requests larger than this are refused with 413 before a handler sees them. Later features
/// that take images raise it on their own routes only.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const SESSION_COOKIE: &str = "elysium_session";

pub fn router(state: AppState) -> Router {
    // Metrics are recorded from the first request.
    crate::monitoring::handle();
    let routes = generate_route_list(app::App);
    let pool = state.pool.clone();
    let store = state.ingestor.store().clone();
    let leptos_options = state.leptos_options.clone();
    let levels = state.levels;
    let board = state.board;
    let views = state.views.clone();
    let health_sources = state.health.clone();
    let registry = state.registry.clone();
    let setting_defaults = state.setting_defaults();
    let export_key = app::model::export::ExportKeyConfigured(
        state.config.export_key.as_ref().is_some_and(|k| !k.expose().is_empty()),
    );

    let limits = std::sync::Arc::new(crate::limits::Limits::new(&state.config.http));

    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(state.config.session_idle_minutes)));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(scrape::scrape))
        .route("/readyz", get(health::readyz))
        .route("/login", post(auth::login_form))
        .route("/logout", post(auth::logout_form))
        .route("/language", post(language::switch))
        .route("/upload", post(upload::upload).layer(DefaultBodyLimit::disable()))
        .route("/findings/{id}/events", post(followup::record_event_form))
        .route("/findings/{id}/letter", get(crate::reports::recall_letter::recall_letter))
        .route("/findings/{id}/letter-language", post(followup::letter_language_form))
        .route("/worklist/assign", post(followup::assign_form))
        .route("/findings/{id}/referrals", post(referral_forms::refer_form))
        .route("/mdt/cases/{id}/referrals", post(referral_forms::refer_case_form))
        .route("/referrals/{id}/events", post(referral_forms::record_event_form))
        .route("/admin/network/levels", post(referral_forms::set_level_form))
        .route("/admin/network/routes", post(referral_forms::open_route_form))
        .route("/admin/network/routes/close", post(referral_forms::close_route_form))
        .route("/mismatches/{id}/resolve", post(patients::resolve_form))
        .route("/mdt/cases", post(mdt::open_form))
        .route("/admin/tokens", post(tokens::create_form))
        .route("/admin/models/thresholds", post(models::change_form))
        .route("/admin/settings", post(settings::update_form))
        .route("/admin/settings/chronic", post(chronic::update_rules_form))
        .route("/chronic/{id}/events", post(chronic::record_event_form))
        .route("/patients/{id}/links", post(record::link_form))
        .route("/patients/{id}/links/{link}/end", post(record::unlink_form))
        .route("/lesions/{id}/split", post(lesions::split_form))
        .route("/lesions/{id}/join", post(lesions::join_form))
        .route("/chronic/{id}/letter", get(crate::reports::physician_letter::physician_letter))
        .route("/admin/users", post(users::create_form))
        .route("/admin/users/{username}", post(users::update_form))
        .route("/admin/users/{username}/end-sessions", post(users::end_sessions_form))
        .route("/admin/users/{username}/reset-password", post(users::reset_password_form))
        .route("/admin/sites", post(sites::create_form))
        .route("/admin/sites/{code}", post(sites::update_form))
        .route("/account/password", post(account::change_form))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke_form))
        .route("/mdt/cases/{id}/review", post(mdt::review_form))
        .route("/mdt/cases/{id}/sign", post(mdt::sign_form))
        .route("/mdt/cases/{id}/treatment", post(mdt::treatment_form))
        .route("/mdt/cases/{id}/measurements", post(mdt::measure_form))
        .route("/mdt/meetings", post(mdt::create_meeting_form))
        .route("/mdt/meetings/{id}/agenda", post(mdt::agenda_form))
        .nest("/api/v1", api_v1())
        .nest("/dicomweb", crate::dicomweb::router())
        .merge(crate::ohif::router(state.config.ohif_dir.as_deref()))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                crate::security_headers::provide_leptos_nonce();
                provide_context(pool.clone());
                provide_context(store.clone());
                provide_context(levels);
                provide_context(board);
                provide_context(views.clone());
                provide_context(health_sources.clone());
                provide_context(registry.clone());
                provide_context(setting_defaults.clone());
                provide_context(export_key);
            },
            move || app::shell(leptos_options.clone()),
        )
        // The 404 page is a Leptos page too: its scripts carry the request's nonce.
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            crate::security_headers::provide_leptos_nonce,
            app::shell,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        // Admission before anything touches the database (the guard reads the session), so a
        // saturated server refuses at once instead of queueing on the pool; the request timeout
        // covers the guard and the handler.
        .layer(middleware::from_fn_with_state(limits, crate::limits::enforce))
        // Outside the guard and the limits, so refused requests are counted too; inside the
        // router's matching, so each is labelled by its route template.
        .layer(middleware::from_fn(crate::monitoring::track_http))
        .layer(sessions)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(crate::logging::trace_layer())
        // Every response, refusals and 413s included, carries the security headers...
        .layer(middleware::from_fn_with_state(state.clone(), crate::security_headers::add))
        // ...and, outermost, its request id.
        .layer(middleware::from_fn(crate::logging::assign_request_id))
        .with_state(state)
}

fn api_v1() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login_json))
        .route("/auth/logout", post(auth::logout_json))
        .route("/auth/password", post(account::change_json))
        .route("/me", get(auth::me))
        .route("/worklist", get(followup::worklist))
        .route("/worklist/assign", post(followup::assign))
        .route("/findings/{id}", get(followup::finding))
        .route("/findings/{id}/events", post(followup::record_event))
        .route("/findings/{id}/referrals", post(referral::refer))
        .route("/mdt/cases/{id}/referrals", post(referral::refer_case))
        .route("/referrals", get(referral::list))
        .route("/referrals/{id}/events", post(referral::record_event))
        .route("/admin/network", get(referral::network))
        .route("/admin/network/levels", post(referral::set_level))
        .route("/admin/network/routes", post(referral::open_route))
        .route("/admin/network/routes/close", post(referral::close_route))
        .route("/followup/overdue", get(followup::overdue))
        .route("/mismatches/{id}/resolve", post(patients::resolve))
        .route("/audit", get(audit::search))
        .route("/audit.csv", get(audit::export_csv))
        .route("/studies/{study_uid}/screening", get(screening::results).post(screening::rerun))
        .route("/studies/{study_uid}/report.pdf", get(crate::reports::screening_report::screening_report))
        .route("/inference/status", get(screening::status))
        .route("/mdt/cases", get(mdt::list).post(mdt::open))
        .route("/mdt/cases/{id}", get(mdt::detail))
        .route("/mdt/cases/{id}/report.pdf", get(crate::reports::mdt_summary::mdt_summary))
        .route("/mdt/cases/{id}/review", post(mdt::review))
        .route("/mdt/cases/{id}/sign", post(mdt::sign))
        .route("/mdt/cases/{id}/treatment", post(mdt::treatment))
        .route("/mdt/cases/{id}/measurements", post(mdt::measure))
        .route("/mdt/meetings", get(mdt::meeting_list).post(mdt::create_meeting))
        .route("/mdt/meetings/{id}", get(mdt::meeting))
        .route("/mdt/meetings/{id}/agenda", post(mdt::add_to_agenda))
        .route("/mdt/agreement", get(mdt::agreement))
        .route("/metrics/program", get(metrics::program_json))
        .route("/admin/health", get(health::admin_health))
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/models", get(models::overview))
        .route("/admin/settings", get(settings::show).post(settings::update))
        .route("/admin/settings/chronic", post(chronic::update_rules))
        .route("/chronic", get(chronic::list))
        .route("/chronic/{id}", get(chronic::detail))
        .route("/chronic/{id}/events", post(chronic::record_event))
        .route("/patients", get(record::search))
        .route("/patients/{id}", get(record::record))
        .route("/patients/{id}/timeline", get(record::timeline))
        .route("/patients/{id}/links", post(record::link))
        .route("/patients/{id}/links/{link}/end", post(record::unlink))
        .route("/patients/{id}/lesions", get(lesions::of_patient))
        .route("/patients/{id}/fhir", get(record::fhir))
        .route("/lesions/{id}", get(lesions::detail))
        .route("/lesions/{id}/split", post(lesions::split))
        .route("/lesions/{id}/join", post(lesions::join))
        .route("/admin/models/thresholds", post(models::change))
        .route("/admin/models/thresholds/preview", post(models::preview))
        .route("/admin/users", post(users::create))
        .route("/admin/users/{username}", post(users::update))
        .route("/admin/users/{username}/end-sessions", post(users::end_sessions))
        .route("/admin/users/{username}/reset-password", post(users::reset_password))
        .route("/admin/sites", get(sites::list).post(sites::create))
        .route("/admin/sites/{code}", post(sites::update))
        .route("/admin/export/findings.csv", get(export::findings_csv))
        .route("/admin/export/mdt_decisions.csv", get(export::decisions_csv))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/metrics/program.csv", get(metrics::program_csv))
        .route("/metrics/program/records", get(metrics::records))
        .route("/staging/evaluate", post(staging::evaluate))
        .route("/staging/derive", post(staging::derive))
        .fallback(|| async { ApiError::NotFound })
}
