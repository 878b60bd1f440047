//! WADO-RS (PS3.18 §10.4): instances and series as `multipart/related; type="application/dicom"`
//! (the originals, byte for byte), their metadata in DICOM JSON, and rendered frames as PNG with
//! `window=center,width`.

use std::collections::HashMap;

use app::api::SessionUser;
use app::api::session::ssr::ClientAddr;
use axum::{
    Extension,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use elysium_dicom::render::{self, Window};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::DICOM_JSON;
use super::qido::ensure_visible;
use crate::error::ApiError;
use crate::state::AppState;

const BOUNDARY: &str = "elysium-wado-boundary";

type InstancePath = Path<(String, String, String)>;

pub async fn instance(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series, instance)): InstancePath,
) -> Result<Response, ApiError> {
    ensure_visible(&state, &user, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    audit_retrieval(&state, &user, client, &study, "instance").await;
    Ok(multipart(futures::stream::once(async move { Ok::<_, ApiError>(bytes) })))
}

pub async fn series(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    ensure_visible(&state, &user, &study).await?;
    let instances = elysium_db::images::instances_of_series(&state.pool, &study, &series).await?;
    if instances.is_empty() {
        return Err(ApiError::NotFound);
    }
    audit_retrieval(&state, &user, client, &study, "series").await;
    // Streamed one instance at a time: a whole series never sits in memory.
    let store = state.ingestor.store().clone();
    let parts = futures::stream::iter(instances).then(move |row| {
        let store = store.clone();
        async move {
            let object = store.get(&row.object_key.into()).await.map_err(ApiError::internal)?;
            object.bytes().await.map_err(ApiError::internal)
        }
    });
    Ok(multipart(parts))
}

pub async fn instance_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Path((study, series, instance)): InstancePath,
) -> Result<Response, ApiError> {
    ensure_visible(&state, &user, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    let json = tokio::task::spawn_blocking(move || metadata(&bytes)).await.map_err(ApiError::internal)??;
    Ok(dicom_json(vec![json]))
}

pub async fn series_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Path((study, series)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    ensure_visible(&state, &user, &study).await?;
    let instances = elysium_db::images::instances_of_series(&state.pool, &study, &series).await?;
    let mut all = Vec::with_capacity(instances.len());
    for row in instances {
        let bytes = read_key(&state, &row.object_key).await?;
        all.push(tokio::task::spawn_blocking(move || metadata(&bytes)).await.map_err(ApiError::internal)??);
    }
    Ok(dicom_json(all))
}

/// `.../rendered` and `.../frames/{n}/rendered`: PNG through `window=center,width`
/// (default: the image's own window, else soft tissue).
pub async fn rendered(
    state: State<AppState>,
    user: Extension<SessionUser>,
    path: InstancePath,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    render_frame(state, user, path, 1, query).await
}

pub async fn frame_rendered(
    state: State<AppState>,
    user: Extension<SessionUser>,
    Path((study, series, instance, frame)): Path<(String, String, String, u32)>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    render_frame(state, user, Path((study, series, instance)), frame, query).await
}

async fn render_frame(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Path((study, series, instance)): InstancePath,
    frame: u32,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let window = match query.get("window") {
        Some(value) => Some(
            Window::parse(value).ok_or_else(|| ApiError::BadRequest("window must be center,width with width >= 1".into()))?,
        ),
        None => None,
    };
    if frame == 0 {
        return Err(ApiError::BadRequest("frames are numbered from 1".into()));
    }
    ensure_visible(&state, &user, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let parsed = elysium_dicom::header::parse(&bytes).map_err(ApiError::internal)?;
        let decoded = render::decode_frame(&parsed.object, frame - 1).map_err(|e| match e {
            render::RenderError::NoSuchFrame(_) => ApiError::NotFound,
            other => ApiError::Validation(other.to_string()),
        })?;
        let window = window
            .or_else(|| render::suggested_window(&parsed.object))
            .or_else(|| Window::preset("mediastinum"))
            .unwrap_or(Window { center: 40.0, width: 400.0 });
        render::png(&decoded, window).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    let mut response = (StatusCode::OK, png).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}

fn metadata(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let parsed = elysium_dicom::header::parse(bytes).map_err(ApiError::internal)?;
    render::metadata_json(&parsed.object).map_err(ApiError::internal)
}

pub async fn read_instance(state: &AppState, study: &str, series: &str, instance: &str) -> Result<Bytes, ApiError> {
    let key = elysium_db::images::instance_key(&state.pool, study, series, instance).await?.ok_or(ApiError::NotFound)?;
    read_key(state, &key).await
}

async fn read_key(state: &AppState, key: &str) -> Result<Bytes, ApiError> {
    let object = state.ingestor.store().get(&key.into()).await.map_err(ApiError::internal)?;
    object.bytes().await.map_err(ApiError::internal)
}

fn multipart(parts: impl futures::Stream<Item = Result<Bytes, ApiError>> + Send + 'static) -> Response {
    let framed = parts
        .map(|part| {
            part.map(|bytes| {
                let mut chunk = Vec::with_capacity(bytes.len() + 96);
                chunk.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes());
                chunk.extend_from_slice(&bytes);
                chunk.extend_from_slice(b"\r\n");
                Bytes::from(chunk)
            })
        })
        .chain(futures::stream::once(async { Ok(Bytes::from(format!("--{BOUNDARY}--\r\n"))) }))
        .map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
    let mut response = Response::new(Body::from_stream(framed));
    let content_type = format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}");
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn dicom_json(body: Vec<serde_json::Value>) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(DICOM_JSON));
    response
}

/// Retrievals of whole instances or series are views of a patient's record.
async fn audit_retrieval(state: &AppState, user: &SessionUser, client: String, study: &str, level: &str) {
    let mut event = user.audit_event("dicomweb.retrieve", "success", Some(client));
    event.target_type = Some("study".into());
    event.target_id = Some(study.to_owned());
    event.detail = serde_json::json!({ "level": level });
    event.patient_id = elysium_db::images::study_within(&state.pool, study, None).await.ok().flatten().map(|s| s.patient_id);
    crate::auth::guard::audit(state, &event).await;
}
