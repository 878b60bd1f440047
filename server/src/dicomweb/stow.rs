//! STOW-RS (PS3.18 §10.5): `POST /studies` and `/studies/{study}` with a
//! `multipart/related; type="application/dicom"` body, one instance per part. The response
//! lists what was stored (ReferencedSOPSequence) and what was not, with a FailureReason
//! (FailedSOPSequence): 200 all stored, 202 some, 409 none.

use app::api::session::ssr::ClientAddr;
use app::model::SessionUser;
use axum::{
    Extension,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use std::sync::Arc;

use elysium_dicom::multipart::{ContentTypeError, Limits, Part, Parts};
use tokio::sync::Semaphore;

use super::json::Dataset;
use super::{DICOM_JSON, base_url};
use crate::error::ApiError;
use crate::ingest::{Outcome, Received, Via};
use crate::state::AppState;

/// The largest instance accepted in one part (and never more than the whole request may be,
/// `ELYSIUM_MAX_STOW_BYTES`: the parts held in memory at once come out of the request, so that
/// limit bounds what one request holds).
const MAX_PART_BYTES: u64 = 1024 * 1024 * 1024;
/// Parts of one request being stored at the same time (each holds its bytes in memory).
const PARTS_IN_FLIGHT: usize = 4;

/// `?site=CODE`: the receiving site, required when the sender belongs to several.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StowQuery {
    site: Option<String>,
}

pub async fn store(
    State(state): State<AppState>,
    user: Extension<SessionUser>,
    client: Extension<ClientAddr>,
    Query(query): Query<StowQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    receive_detached(state, user.0, client.0, query, headers, body, None).await
}

pub async fn store_into_study(
    State(state): State<AppState>,
    user: Extension<SessionUser>,
    client: Extension<ClientAddr>,
    Path(study): Path<String>,
    Query(query): Query<StowQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    receive_detached(state, user.0, client.0, query, headers, body, Some(study)).await
}

/// Runs [`receive`] as its own task, so that it always runs to its end: an HTTP/2 client that
/// resets its stream mid-body makes the server drop the request's handler, and the instances
/// already stored must still be audited (and those in progress finished, all or nothing) rather
/// than abandoned with it. (Over HTTP/1 the body read fails and the handler ends on its own.)
async fn receive_detached(
    state: AppState,
    user: SessionUser,
    client: ClientAddr,
    query: StowQuery,
    headers: HeaderMap,
    body: Body,
    expected_study: Option<String>,
) -> Result<Response, ApiError> {
    // Resolved before the body is read (after the content type, the first thing wrong with a
    // request that is not STOW-RS at all): a request that names no site stores nothing.
    related_boundary(&headers)?;
    // A request that says it is too large is refused before anything is read or stored.
    crate::limits::refuse_declared_over(&headers, state.config.http.max_stow_bytes)?;
    let site_id = crate::ingest::site::resolve(&state.pool, &user, query.site.as_deref()).await?;
    let received = Received { via: Via::Stow, site_id, expected_study };
    tokio::spawn(receive(state, user, client, headers, body, received)).await.map_err(ApiError::internal)?
}

async fn receive(
    state: AppState,
    user: SessionUser,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Body,
    received: Received,
) -> Result<Response, ApiError> {
    let boundary = related_boundary(&headers)?;
    let limit = state.config.http.max_stow_bytes;
    let limits = Limits { body_bytes: limit, part_bytes: MAX_PART_BYTES.min(limit) };
    let mut parts = Parts::new(body.into_data_stream(), boundary, limits);

    // Parts are read one after another (that is how a body arrives) but stored concurrently,
    // a few at a time: one instance's database round trips and commit overlap the next one's
    // parsing, so a single request keeps both cores busy. The outcomes keep the parts' order.
    let in_flight = Arc::new(Semaphore::new(PARTS_IN_FLIGHT));
    let mut pending = Vec::new();
    let mut stream_error = None;
    loop {
        match parts.next().await {
            Ok(Some(Part::Dicom(bytes))) => {
                let permit = in_flight.clone().acquire_owned().await.map_err(ApiError::internal)?;
                let (ingestor, received) = (state.ingestor.clone(), received.clone());
                pending.push(tokio::spawn(async move {
                    let outcome = ingestor.ingest(bytes, &received).await;
                    drop(permit);
                    outcome
                }));
            }
            Ok(Some(Part::NotDicom)) => pending.push(tokio::spawn(std::future::ready(Outcome::Rejected {
                sop_class_uid: None,
                sop_instance_uid: None,
                reason: crate::ingest::Rejection::Invalid(elysium_dicom::header::HeaderError::NotDicom),
            }))),
            Ok(None) => break,
            Err(error) => {
                stream_error = Some(error);
                break;
            }
        }
    }
    let mut outcomes = Vec::with_capacity(pending.len());
    for task in pending {
        outcomes.push(task.await.unwrap_or_else(|join| {
            tracing::error!(error = %join, "a STOW-RS part's ingest task failed");
            Outcome::Rejected { sop_class_uid: None, sop_instance_uid: None, reason: crate::ingest::Rejection::Storage }
        }));
    }

    if stream_error.is_none() {
        // The request arrived whole: a completion hint for the series it stored.
        state.ingestor.sender_done(&outcomes).await;
    }
    let template = app::service::Audit::by(&user, Some(client), "dicom.stow");
    if let Err(error) = crate::ingest::audit::record_batch(&state.pool, &template, &outcomes).await {
        tracing::error!(%error, "could not audit a STOW-RS request");
    }
    if let Some(error) = stream_error.as_ref().filter(|e| crate::limits::over_limit(e)) {
        // Past the limit (a body sent without its length): what arrived whole before it is stored
        // and audited, and a sender that splits the request and sends it again gets those as
        // duplicates.
        tracing::warn!(%error, "STOW-RS body over the limit");
        return Err(ApiError::BodyOverLimit(limit));
    }
    if let Some(error) = stream_error {
        // A client that disconnects mid-upload or sends a broken body: what arrived whole is
        // stored (and listed in the audit trail); the request itself is an error.
        tracing::warn!(%error, "STOW-RS body ended abnormally");
        if outcomes.is_empty() {
            return Err(ApiError::BadRequest(format!("unreadable multipart body: {}", crate::limits::why(&error))));
        }
    }
    Ok(response(&base_url(&state, &headers), &outcomes))
}

/// The boundary of a `multipart/related; type="application/dicom"` body: 415 for any other
/// content type, 400 for one without a boundary.
fn related_boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).ok_or(ApiError::UnsupportedMediaType)?;
    elysium_dicom::multipart::related_boundary(content_type).map_err(|error| match error {
        ContentTypeError::NotRelatedDicom => ApiError::UnsupportedMediaType,
        ContentTypeError::NoBoundary => ApiError::BadRequest(error.to_string()),
    })
}

fn response(base: &str, outcomes: &[Outcome]) -> Response {
    let mut referenced = Vec::new();
    let mut failed = Vec::new();
    let mut studies = std::collections::BTreeSet::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Stored(r) | Outcome::Duplicate(r) => {
                studies.insert(r.study_uid.clone());
                let mut item = Dataset::new();
                item.text("00081150", "UI", Some(&r.sop_class_uid))
                    .text("00081155", "UI", Some(&r.sop_instance_uid))
                    .text(
                        "00081190",
                        "UR",
                        Some(&format!(
                            "{base}/studies/{}/series/{}/instances/{}",
                            r.study_uid, r.series_uid, r.sop_instance_uid
                        )),
                    );
                referenced.push(item);
            }
            Outcome::Rejected { sop_class_uid, sop_instance_uid, reason } => {
                let mut item = Dataset::new();
                item.text("00081150", "UI", sop_class_uid.as_deref())
                    .text("00081155", "UI", sop_instance_uid.as_deref())
                    .number("00081197", "US", Some(i64::from(reason.failure_reason())))
                    // Elysium's own reason text, so a PACS administrator can read why.
                    .text("00090010", "LO", Some("ELYSIUM"))
                    .text("00091001", "LT", Some(&reason.to_string()));
                failed.push(item);
            }
        }
    }
    let status = match (referenced.is_empty(), failed.is_empty()) {
        (false, true) => StatusCode::OK,
        (false, false) => StatusCode::ACCEPTED,
        (true, _) => StatusCode::CONFLICT,
    };
    let mut body = Dataset::new();
    if studies.len() == 1
        && let Some(study) = studies.first()
    {
        body.text("00081190", "UR", Some(&format!("{base}/studies/{study}")));
    }
    if !referenced.is_empty() {
        body.sequence("00081199", referenced);
    }
    if !failed.is_empty() {
        body.sequence("00081198", failed);
    }
    let mut response = (status, axum::Json(body.into_value())).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(DICOM_JSON));
    crate::http::audited(response)
}
