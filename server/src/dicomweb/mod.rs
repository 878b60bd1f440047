//! DICOMweb (PS3.18): STOW-RS to store, QIDO-RS to search, WADO-RS to retrieve. Enough for a PACS to send studies
//! and for a viewer such as OHIF to browse them. Every route needs a signed-in session or an
//! API token (see the authorization policy).

pub mod access;
pub mod json;
pub mod qido;
pub mod stow;
pub mod wado;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderMap, header},
    routing::get,
};

use crate::state::AppState;

pub const DICOM_JSON: &str = "application/dicom+json";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/studies", get(qido::studies).post(stow::store))
        .route("/studies/{study}", get(wado::study).post(stow::store_into_study))
        .route("/studies/{study}/metadata", get(wado::study_metadata))
        .route("/studies/{study}/series", get(qido::series))
        .route("/studies/{study}/series/{series}", get(wado::series))
        .route("/studies/{study}/series/{series}/metadata", get(wado::series_metadata))
        .route("/studies/{study}/series/{series}/instances", get(qido::instances))
        .route("/studies/{study}/series/{series}/instances/{instance}", get(wado::instance))
        .route("/studies/{study}/series/{series}/instances/{instance}/metadata", get(wado::instance_metadata))
        .route("/studies/{study}/series/{series}/instances/{instance}/rendered", get(wado::rendered))
        .route("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}", get(wado::frames))
        .route(
            "/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered",
            get(wado::frame_rendered),
        )
        // STOW-RS bodies are whole studies: the multipart reader enforces its own limits.
        .layer(DefaultBodyLimit::disable())
}

/// The base of the URLs Elysium hands out: the configured public URL, or the Host it was asked on.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = state.config.public_origin() {
        return format!("{origin}/dicomweb");
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}/dicomweb")
}
