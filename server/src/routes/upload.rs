//! The upload page's form post: files, folders (the browser sends each file) and .zip archives,
//! stored through the ingest path. The per-file results are kept in the session and shown by
//! the upload page after a redirect, so the page works with and without JavaScript.

use app::api::SessionUser;
use app::api::session::ssr::{AUDITED_HEADER, ClientAddr};
use app::api::upload::{LAST_UPLOAD, UploadResult, UploadRow};
use axum::{
    Extension,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use bytes::Bytes;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::ingest::{Outcome, Received, Via};
use crate::state::AppState;

const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
const MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// Rows kept for the result table (the counts always cover everything).
const MAX_ROWS: usize = 1000;

pub async fn upload(
    State(state): State<AppState>,
    Extension(user): Extension<SessionUser>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    session: Session,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| ApiError::UnsupportedMediaType)?;
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_UPLOAD_BYTES).per_field(MAX_FILE_BYTES));
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let received = Received::new(Via::Upload, user.sites.first().map(|s| s.id));

    let mut result = UploadResult::default();
    let mut outcomes = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                result.error = Some(format!("the upload ended early: {error}"));
                break;
            }
        };
        let name = field.file_name().unwrap_or("(unnamed)").to_owned();
        if field.name() != Some("files") || name.is_empty() {
            continue;
        }
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                result.error = Some(format!("{name}: {error}"));
                break;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        let is_zip = name.to_ascii_lowercase().ends_with(".zip");
        let items = if is_zip { zip_entries(&name, bytes).await } else { vec![(name, Ok(bytes))] };
        for (label, item) in items {
            let outcome = match item {
                Ok(bytes) => state.ingestor.ingest(bytes, &received).await,
                Err(reason) => {
                    result.push(UploadRow { file: label, outcome: "refused".into(), detail: reason }, MAX_ROWS);
                    continue;
                }
            };
            result.push(row(label, &outcome), MAX_ROWS);
            outcomes.push(outcome);
        }
    }
    let template = user.audit_event("dicom.upload", "success", Some(client));
    crate::ingest::audit::record_batch(&state.pool, &template, &outcomes).await.map_err(|e| ApiError::Internal(e.into()))?;
    session.insert(LAST_UPLOAD, &result).await.map_err(ApiError::internal)?;
    let mut response = Redirect::to("/upload").into_response();
    response.headers_mut().insert(AUDITED_HEADER, HeaderValue::from_static("1"));
    Ok(response)
}

fn row(file: String, outcome: &Outcome) -> UploadRow {
    match outcome {
        Outcome::Stored(r) => UploadRow { file, outcome: "stored".into(), detail: format!("patient {}, study {}", r.patient_id, r.study_uid) },
        Outcome::Duplicate(r) => UploadRow { file, outcome: "duplicate".into(), detail: format!("already stored ({})", r.sop_instance_uid) },
        Outcome::Rejected { reason, .. } => UploadRow { file, outcome: "refused".into(), detail: reason.to_string() },
    }
}

/// One file to ingest: its label for the result table, and its bytes or why it has none.
type Item = (String, Result<Bytes, String>);

/// The entries of an uploaded zip, each bounded in size; entry names are labels only.
async fn zip_entries(name: &str, bytes: Bytes) -> Vec<Item> {
    let name = name.to_owned();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<Item>, String> {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
        let mut entries = Vec::new();
        for index in 0..zip.len() {
            let mut entry = zip.by_index(index).map_err(|e| e.to_string())?;
            if entry.is_dir() {
                continue;
            }
            let label = format!("{name}!{}", entry.name().map_or_else(|_| "?".into(), std::borrow::Cow::into_owned));
            let mut data = Vec::new();
            let read = (&mut entry).take(MAX_FILE_BYTES + 1).read_to_end(&mut data);
            let item = match read {
                Ok(_) if data.len() as u64 > MAX_FILE_BYTES => Err("zip entry inflates past the size limit".to_owned()),
                Ok(_) => Ok(Bytes::from(data)),
                Err(error) => Err(format!("unreadable zip entry: {error}")),
            };
            entries.push((label, item));
        }
        Ok(entries)
    })
    .await;
    match read {
        Ok(Ok(entries)) => entries,
        Ok(Err(reason)) => vec![(String::from("(zip)"), Err(reason))],
        Err(error) => vec![(String::from("(zip)"), Err(error.to_string()))],
    }
}
