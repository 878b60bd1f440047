//! WADO-RS (PS3.18 §10.4): studies, series and instances as `multipart/related;
//! type="application/dicom"` (the originals, byte for byte), their metadata in DICOM JSON, frames
//! as native pixel data (`multipart/related; type="application/octet-stream"`, what OHIF loads),
//! and rendered frames as PNG with `window=center,width`.

use std::collections::HashMap;

use app::api::session::ssr::ClientAddr;
use app::model::SessionUser;
use axum::{
    Extension,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use elysium_dicom::render::{self, Window};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::DICOM_JSON;
use super::access::{audit_read, audit_series_view, visible_study};
use crate::error::ApiError;
use crate::state::AppState;

type InstancePath = Path<(String, String, String)>;

pub async fn instance(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series, instance)): InstancePath,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    audit_retrieval(&state, &user, client, &visible, "instance").await?;
    Ok(multipart(futures::stream::once(async move { Ok::<_, ApiError>(bytes) }), DICOM_PART))
}

pub async fn series(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let instances = elysium_db::images::instances_of_series(&state.pool, &study, &series).await?;
    retrieve(&state, &user, client, &visible, "series", instances).await
}

pub async fn study(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(study): Path<String>,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let instances = elysium_db::images::instances_of_study(&state.pool, &study).await?;
    retrieve(&state, &user, client, &visible, "study", instances).await
}

/// A series' or study's originals (`level`), audited as a view of the patient's record; none:
/// not found.
async fn retrieve(
    state: &AppState,
    user: &SessionUser,
    client: String,
    study: &elysium_db::images::StudyRow,
    level: &str,
    instances: Vec<elysium_db::images::InstanceRow>,
) -> Result<Response, ApiError> {
    if instances.is_empty() {
        return Err(ApiError::NotFound);
    }
    audit_retrieval(state, user, client, study, level).await?;
    Ok(stream_instances(state, instances))
}

/// The originals, streamed one instance at a time: a whole series or study never sits in memory.
fn stream_instances(state: &AppState, instances: Vec<elysium_db::images::InstanceRow>) -> Response {
    let store = state.ingestor.store().clone();
    let parts = futures::stream::iter(instances).then(move |row| {
        let store = store.clone();
        async move {
            let object = store.get(&row.object_key.into()).await.map_err(ApiError::internal)?;
            object.bytes().await.map_err(ApiError::internal)
        }
    });
    multipart(parts, DICOM_PART)
}

/// Metadata carries the patient's name and birth date: each request is audited
/// (`dicomweb.metadata`, with its level) before it is answered.
pub async fn instance_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series, instance)): InstancePath,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    let json = tokio::task::spawn_blocking(move || metadata(&bytes)).await.map_err(ApiError::internal)??;
    let detail = serde_json::json!({ "level": "instance", "series_uid": series, "sop_instance_uid": instance });
    audit_read(&state, &user, client, &visible, "dicomweb.metadata", detail).await?;
    Ok(dicom_json(vec![json]))
}

pub async fn series_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let instances = elysium_db::images::instances_of_series(&state.pool, &study, &series).await?;
    let body = metadata_of(&state, instances).await?;
    let detail = serde_json::json!({ "level": "series", "series_uid": series });
    audit_read(&state, &user, client, &visible, "dicomweb.metadata", detail).await?;
    Ok(dicom_json(body))
}

pub async fn study_metadata(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(study): Path<String>,
) -> Result<Response, ApiError> {
    let visible = visible_study(&state, &user, &client, &study).await?;
    let instances = elysium_db::images::instances_of_study(&state.pool, &study).await?;
    if instances.is_empty() {
        return Err(ApiError::NotFound);
    }
    let body = metadata_of(&state, instances).await?;
    audit_read(&state, &user, client, &visible, "dicomweb.metadata", serde_json::json!({ "level": "study" })).await?;
    Ok(dicom_json(body))
}

async fn metadata_of(
    state: &AppState,
    instances: Vec<elysium_db::images::InstanceRow>,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let mut all = Vec::with_capacity(instances.len());
    for row in instances {
        let bytes = read_key(state, &row.object_key).await?;
        all.push(tokio::task::spawn_blocking(move || metadata(&bytes)).await.map_err(ApiError::internal)??);
    }
    Ok(all)
}

/// `.../frames/{list}`: frames (numbered from 1, comma separated) as native pixel data, one part
/// each, in Explicit VR Little Endian whatever the instance is stored in (compressed frames are
/// decoded). A client that accepts neither that nor any representation is told so (406).
pub async fn frames(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series, instance, list)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let numbers = frame_numbers(&list)?;
    if !accepts_native_frames(&headers) {
        return Err(ApiError::NotAcceptable(format!(
            "frames are returned as multipart/related; type=\"application/octet-stream\"; transfer-syntax={NATIVE_SYNTAX}"
        )));
    }
    let visible = visible_study(&state, &user, &client, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    audit_series_view(&state, &user, client, &visible, &series).await?;
    let parts = tokio::task::spawn_blocking(move || -> Result<Vec<Bytes>, ApiError> {
        let parsed = elysium_dicom::header::parse(&bytes).map_err(ApiError::internal)?;
        numbers
            .iter()
            .map(|n| match render::native_frame(&parsed.object, n - 1) {
                Ok(frame) => Ok(Bytes::from(frame)),
                Err(render::RenderError::NoSuchFrame(_)) => Err(ApiError::NotFound),
                Err(other) => Err(ApiError::Validation(other.to_string())),
            })
            .collect()
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(multipart(futures::stream::iter(parts.into_iter().map(Ok)), FRAME_PART))
}

/// `1`, `1,3,5`: frame numbers from 1, each at most once (`1,1,1,...` would decode one frame
/// over and over), at most [`MAX_FRAMES_PER_REQUEST`] of them.
fn frame_numbers(list: &str) -> Result<Vec<u32>, ApiError> {
    let numbers: Vec<u32> = list
        .split(',')
        .map(|n| n.trim().parse::<u32>().ok().filter(|n| *n >= 1))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::BadRequest("frames are a comma-separated list of numbers from 1".into()))?;
    if numbers.len() > MAX_FRAMES_PER_REQUEST {
        return Err(ApiError::BadRequest(format!("at most {MAX_FRAMES_PER_REQUEST} frames per request")));
    }
    let distinct: std::collections::HashSet<u32> = numbers.iter().copied().collect();
    if distinct.len() != numbers.len() {
        return Err(ApiError::BadRequest("each frame is named at most once".into()));
    }
    Ok(numbers)
}

/// Whether `Accept` allows native frames: absent, `*/*`, `multipart/related` with
/// `application/octet-stream` (or no type), and a transfer syntax of `*` or Explicit VR LE (or none).
fn accepts_native_frames(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|range| {
        let mut fields = range.split(';').map(str::trim);
        let media = fields.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<(String, String)> = fields
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
            .collect();
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match media.as_str() {
            "*/*" | "multipart/*" => true,
            "multipart/related" => {
                param("type").is_none_or(|t| t.eq_ignore_ascii_case("application/octet-stream"))
                    && param("transfer-syntax").is_none_or(|ts| ts == "*" || ts == NATIVE_SYNTAX)
            }
            _ => false,
        }
    })
}

/// `.../rendered` and `.../frames/{n}/rendered`: PNG through `window=center,width`
/// (default: the image's own window, else soft tissue).
/// Rendered slices are what the viewer shows: a look through a series is one audited view.
pub async fn rendered(
    state: State<AppState>,
    user: Extension<SessionUser>,
    client: Extension<ClientAddr>,
    path: InstancePath,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    render_frame(state, user, client, path, 1, query).await
}

pub async fn frame_rendered(
    state: State<AppState>,
    user: Extension<SessionUser>,
    client: Extension<ClientAddr>,
    Path((study, series, instance, frame)): Path<(String, String, String, u32)>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    render_frame(state, user, client, Path((study, series, instance)), frame, query).await
}

async fn render_frame(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path((study, series, instance)): InstancePath,
    frame: u32,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let window = match query.get("window") {
        Some(value) => Some(
            Window::parse(value)
                .ok_or_else(|| ApiError::BadRequest("window must be center,width with width >= 1".into()))?,
        ),
        None => None,
    };
    if frame == 0 {
        return Err(ApiError::BadRequest("frames are numbered from 1".into()));
    }
    let visible = visible_study(&state, &user, &client, &study).await?;
    let bytes = read_instance(&state, &study, &series, &instance).await?;
    audit_series_view(&state, &user, client, &visible, &series).await?;
    let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let parsed = elysium_dicom::header::parse(&bytes).map_err(ApiError::internal)?;
        let decoded = render::decode_frame(&parsed, frame - 1).map_err(|e| match e {
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
    // A patient's image: never kept on the workstation's disk.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

fn metadata(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let parsed = elysium_dicom::header::parse(bytes).map_err(ApiError::internal)?;
    render::metadata_json(&parsed.object).map_err(ApiError::internal)
}

pub async fn read_instance(state: &AppState, study: &str, series: &str, instance: &str) -> Result<Bytes, ApiError> {
    let key =
        elysium_db::images::instance_key(&state.pool, study, series, instance).await?.ok_or(ApiError::NotFound)?;
    read_key(state, &key).await
}

async fn read_key(state: &AppState, key: &str) -> Result<Bytes, ApiError> {
    let object = state.ingestor.store().get(&key.into()).await.map_err(ApiError::internal)?;
    object.bytes().await.map_err(ApiError::internal)
}

/// The content type of each part: originals, or native frames.
const DICOM_PART: &str = "application/dicom";
const FRAME_PART: &str = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1";
/// Explicit VR Little Endian: the transfer syntax of the frames returned.
const NATIVE_SYNTAX: &str = "1.2.840.10008.1.2.1";
/// Frames one request may ask for (each is decoded in memory before the response starts).
const MAX_FRAMES_PER_REQUEST: usize = 64;

fn multipart(
    parts: impl futures::Stream<Item = Result<Bytes, ApiError>> + Send + 'static,
    part_type: &'static str,
) -> Response {
    let boundary = boundary();
    let closing = Bytes::from(format!("--{boundary}--\r\n"));
    let opening = format!("--{boundary}\r\nContent-Type: {part_type}\r\n\r\n");
    let framed = parts
        .map(move |part| {
            part.map(|bytes| {
                let mut chunk = Vec::with_capacity(bytes.len() + 128);
                chunk.extend_from_slice(opening.as_bytes());
                chunk.extend_from_slice(&bytes);
                chunk.extend_from_slice(b"\r\n");
                Bytes::from(chunk)
            })
        })
        .chain(futures::stream::once(async move { Ok(closing) }))
        .map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
    let mut response = Response::new(Body::from_stream(framed));
    let kind = part_type.split(';').next().unwrap_or(part_type);
    let content_type = format!("multipart/related; type=\"{kind}\"; boundary={boundary}");
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A boundary of its own for each response: a fixed one could occur inside a stored instance (a
/// text attribute is the sender's to write) and cut the response into parts of the sender's
/// choosing. 128 random bits never do, in practice.
fn boundary() -> String {
    format!("elysium-{}", uuid::Uuid::new_v4().simple())
}

fn dicom_json(body: Vec<serde_json::Value>) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(DICOM_JSON));
    response
}

/// Retrievals of whole instances, series or studies are views of a patient's record.
async fn audit_retrieval(
    state: &AppState,
    user: &SessionUser,
    client: String,
    study: &elysium_db::images::StudyRow,
    level: &str,
) -> Result<(), ApiError> {
    audit_read(state, user, client, study, "dicomweb.retrieve", serde_json::json!({ "level": level })).await
}

#[cfg(test)]
mod frame_list_tests {
    use super::*;

    #[test]
    fn frame_lists_name_each_frame_once_from_one() {
        assert_eq!(frame_numbers("1").ok(), Some(vec![1]));
        assert_eq!(frame_numbers("3, 1,2").ok(), Some(vec![3, 1, 2]));
        for refused in ["0", "1,1", "2,1,2", "x", "", "1,,2", "-1"] {
            assert!(frame_numbers(refused).is_err(), "{refused:?}");
        }
        let too_many = (1..=MAX_FRAMES_PER_REQUEST as u32 + 1).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        assert!(frame_numbers(&too_many).is_err());
    }
}
