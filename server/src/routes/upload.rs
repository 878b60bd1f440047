//! The upload page's form post: files, folders (the browser sends each file) and .zip archives,
//! stored through the ingest path. The per-file results are kept in the session and shown by
//! the upload page after a redirect, so the page works with and without JavaScript.

use app::api::session::ssr::ClientAddr;
use app::model::SessionUser;
use app::model::upload::{
    LAST_UPLOAD, RefusalReason, UploadDetail, UploadOutcome, UploadRefusal, UploadResult, UploadRow,
};
use axum::{
    Extension,
    body::Body,
    extract::State,
    http::{HeaderMap, header},
    response::{Redirect, Response},
};
use bytes::Bytes;
use tower_sessions::Session;

use crate::error::{ApiError, body_over_limit_said};
use crate::ingest::{Outcome, Received, Rejection, Via};
use crate::state::AppState;
use app::domain::said::Said;
use elysium_dicom::header::HeaderError;

/// The largest file of an upload (held in memory while stored, as is each entry of a zip): the
/// same as STOW-RS's largest instance. The whole upload is `ELYSIUM_MAX_UPLOAD_BYTES`.
const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;
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
    let limit = state.config.http.max_upload_bytes;
    if let Err(over) = crate::limits::refuse_declared_over(&headers, limit) {
        // Nothing is read or stored; the upload page shows why (it reads the session's result).
        let result = UploadResult { error: Some(body_over_limit_said(limit)), ..UploadResult::default() };
        session.insert(LAST_UPLOAD, &result).await.map_err(ApiError::internal)?;
        return Err(over);
    }
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limit).per_field(MAX_FILE_BYTES.min(limit)));
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    // The form's `site` field comes before its files; without one, the uploader's only site.
    let mut received: Option<Received> = None;

    let mut result = UploadResult::default();
    let mut outcomes = Vec::new();
    // Past the limit (a body sent without its length): what arrived whole before it is kept.
    let mut over_limit = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                over_limit = crate::limits::over_limit(&error);
                let why = crate::limits::why(&error);
                result.error =
                    Some(Said::new(format!("the upload ended early: {why}"), format!("上传中途结束：{why}")));
                break;
            }
        };
        if field.name() == Some("site") && received.is_none() {
            let code = field.text().await.unwrap_or_default();
            match crate::ingest::site::resolve(&state.pool, &user, Some(&code)).await {
                Ok(site_id) => received = Some(Received::new(Via::Upload, site_id)),
                Err(error) => {
                    result.error = Some(error.said());
                    break;
                }
            }
            continue;
        }
        let name = field.file_name().unwrap_or("(unnamed)").to_owned();
        if field.name() != Some("files") || name.is_empty() {
            continue;
        }
        let received = match &received {
            Some(received) => received.clone(),
            None => match crate::ingest::site::resolve(&state.pool, &user, None).await {
                Ok(site_id) => received.insert(Received::new(Via::Upload, site_id)).clone(),
                Err(error) => {
                    result.error = Some(error.said());
                    break;
                }
            },
        };
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                over_limit = crate::limits::over_limit(&error);
                let why = crate::limits::why(&error);
                result.error = Some(Said::new(format!("{name}: {why}"), format!("{name}：{why}")));
                break;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        if name.to_ascii_lowercase().ends_with(".zip") {
            // Each entry is stored as soon as it is inflated, before the next one is read: an
            // archive never sits in memory inflated, however many entries it has.
            let (entries, mut inflated) = tokio::sync::mpsc::channel::<Item>(1);
            let archive = name.clone();
            let reader = tokio::task::spawn_blocking(move || {
                read_zip(&archive, bytes, ZIP_LIMITS, |item| entries.blocking_send(item).is_ok())
            });
            while let Some(item) = inflated.recv().await {
                store(&state, &received, item, &mut result, &mut outcomes).await;
            }
            match reader.await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    store(&state, &received, (format!("{name} (zip)"), Err(reason)), &mut result, &mut outcomes).await
                }
                Err(error) => {
                    let refusal = UploadRefusal::new(RefusalReason::Storage, Some(error.to_string()));
                    store(&state, &received, (format!("{name} (zip)"), Err(refusal)), &mut result, &mut outcomes).await;
                }
            }
        } else {
            store(&state, &received, (name, Ok(bytes)), &mut result, &mut outcomes).await;
        }
    }
    // The upload is complete: a completion hint for the series it stored.
    state.ingestor.sender_done(&outcomes).await;
    let template = app::service::Audit::by(&user, Some(client), "dicom.upload");
    crate::ingest::audit::record_batch(&state.pool, &template, &outcomes)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if over_limit {
        result.error = Some(body_over_limit_said(limit));
    }
    session.insert(LAST_UPLOAD, &result).await.map_err(ApiError::internal)?;
    if over_limit {
        return Ok(crate::http::audited(ApiError::BodyOverLimit(limit)));
    }
    Ok(crate::http::audited(Redirect::to("/upload")))
}

/// Stores one file (or records why it has no bytes) and adds its row to the result table.
async fn store(
    state: &AppState,
    received: &Received,
    (label, item): Item,
    result: &mut UploadResult,
    outcomes: &mut Vec<Outcome>,
) {
    match item {
        Ok(bytes) => {
            let outcome = state.ingestor.ingest(bytes, received).await;
            result.push(row(label, &outcome), MAX_ROWS);
            outcomes.push(outcome);
        }
        Err(refusal) => result.push(
            UploadRow { file: label, outcome: UploadOutcome::Refused, detail: UploadDetail::Refused(refusal) },
            MAX_ROWS,
        ),
    }
}

fn row(file: String, outcome: &Outcome) -> UploadRow {
    match outcome {
        Outcome::Stored(r) => UploadRow {
            file,
            outcome: UploadOutcome::Stored,
            detail: UploadDetail::Stored { patient_id: r.patient_id.clone(), study_uid: r.study_uid.clone() },
        },
        Outcome::Duplicate(r) => UploadRow {
            file,
            outcome: UploadOutcome::Duplicate,
            detail: UploadDetail::Duplicate { sop_instance_uid: r.sop_instance_uid.clone() },
        },
        Outcome::Rejected { reason, .. } => {
            UploadRow { file, outcome: UploadOutcome::Refused, detail: UploadDetail::Refused(refusal(reason)) }
        }
    }
}

/// The ingest's refusal as the page words it: the reason as a code, its particulars as they are.
fn refusal(rejection: &Rejection) -> UploadRefusal {
    use RefusalReason as R;
    let (reason, particulars) = match rejection {
        Rejection::Invalid(error) => match error {
            HeaderError::NotDicom => (R::NotDicom, None),
            HeaderError::BadFileMeta(why) => (R::BadFileMeta, Some(why.clone())),
            HeaderError::Unreadable(why) => (R::Unreadable, Some(why.clone())),
            HeaderError::UnsupportedTransferSyntax(uid) => (R::UnsupportedTransferSyntax, Some(uid.clone())),
            HeaderError::MissingAttribute(attribute) => (R::MissingAttribute, Some((*attribute).to_owned())),
            HeaderError::InvalidUid { attribute, error } => (R::InvalidUid, Some(format!("{attribute}: {error}"))),
            HeaderError::BadValue(attribute) => (R::BadValue, Some((*attribute).to_owned())),
            HeaderError::MetaMismatch => (R::MetaMismatch, None),
            HeaderError::IncompletePixelData => (R::IncompletePixelData, None),
            HeaderError::NotInCharacterSet { attribute, charset } => {
                (R::NotInCharacterSet, Some(format!("{attribute}, {charset}")))
            }
        },
        Rejection::MissingPatientId => (R::MissingPatientId, None),
        Rejection::NotCt(class) => (R::NotCt, Some(class.clone())),
        Rejection::ConflictingContent => (R::ConflictingContent, None),
        Rejection::Inconsistent(why) => (R::Inconsistent, Some((*why).to_owned())),
        Rejection::WrongStudy(study) => (R::WrongStudy, Some(study.clone())),
        Rejection::Storage => (R::Storage, None),
    };
    UploadRefusal::new(reason, particulars)
}

/// One file to ingest: its label for the result table, and its bytes or why it has none.
type Item = (String, Result<Bytes, UploadRefusal>);

/// What one uploaded zip may inflate to: each entry (held in memory until stored), and all of
/// its entries together (a zip bomb inflates a small archive to terabytes: the time it takes).
#[derive(Debug, Clone, Copy)]
struct ZipLimits {
    entry_bytes: u64,
    total_bytes: u64,
}

const ZIP_LIMITS: ZipLimits = ZipLimits { entry_bytes: MAX_FILE_BYTES, total_bytes: 2 * MAX_FILE_BYTES };

/// Inflates the archive's entries within `limits`, one at a time, handing each to `emit` (which
/// returns false to stop early). Entry names are labels only. Past the total, the entry that
/// crossed it is refused and the rest are not read at all.
fn read_zip(
    name: &str,
    bytes: Bytes,
    limits: ZipLimits,
    mut emit: impl FnMut(Item) -> bool,
) -> Result<(), UploadRefusal> {
    use std::io::Read;
    let unreadable = |reason, error: zip::result::ZipError| UploadRefusal::new(reason, Some(error.to_string()));
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(RefusalReason::NotAZip, e))?;
    let mut inflated: u64 = 0;
    let count = zip.len();
    for index in 0..count {
        let mut entry = zip.by_index(index).map_err(|e| unreadable(RefusalReason::ZipEntryUnreadable, e))?;
        if entry.is_dir() {
            continue;
        }
        let label = format!("{name}!{}", entry.name().map_or_else(|_| "?".into(), std::borrow::Cow::into_owned));
        let budget = limits.entry_bytes.min(limits.total_bytes - inflated);
        let mut data = Vec::new();
        let read = (&mut entry).take(budget + 1).read_to_end(&mut data);
        let item = match read {
            Ok(_) if data.len() as u64 > budget && budget < limits.entry_bytes => {
                // The particulars: the total allowed, and how many entries are left unread.
                let particulars = format!("{} MiB; +{}", limits.total_bytes / (1024 * 1024), count - index - 1);
                emit((label, Err(UploadRefusal::new(RefusalReason::ZipTooLarge, Some(particulars)))));
                return Ok(());
            }
            Ok(_) if data.len() as u64 > budget => {
                let limit = format!("{} MiB", limits.entry_bytes / (1024 * 1024));
                Err(UploadRefusal::new(RefusalReason::ZipEntryTooLarge, Some(limit)))
            }
            Ok(_) => {
                inflated += data.len() as u64;
                Ok(Bytes::from(data))
            }
            Err(error) => Err(UploadRefusal::new(RefusalReason::ZipEntryUnreadable, Some(error.to_string()))),
        };
        if !emit((label, item)) {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, usize)]) -> Bytes {
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut cursor);
        for (name, size) in entries {
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            zip.start_file(*name, options).expect("entry");
            zip.write_all(&vec![0u8; *size]).expect("write");
        }
        zip.finish().expect("finish");
        Bytes::from(cursor.into_inner())
    }

    #[test]
    fn a_zip_that_inflates_past_its_total_is_cut_off_there() {
        const MIB: usize = 1024 * 1024;
        let limits = ZipLimits { entry_bytes: 4 * MIB as u64, total_bytes: 10 * MIB as u64 };
        // Zeros deflate about a thousandfold: 17 MiB of entries in an archive of a few KiB.
        let sizes = [
            ("a.dcm", 3 * MIB),
            ("b.dcm", 5 * MIB),
            ("c.dcm", 2 * MIB),
            ("d.dcm", 3 * MIB),
            ("e.dcm", 3 * MIB),
            ("f.dcm", MIB),
        ];
        let archive = zip_of(&sizes);
        assert!(archive.len() < 100 * 1024, "{} bytes", archive.len());
        let mut entries = Vec::new();
        read_zip("up.zip", archive, limits, |item| {
            entries.push(item);
            true
        })
        .expect("reads");
        let outcome: Vec<(&str, Result<usize, &UploadRefusal>)> =
            entries.iter().map(|(label, item)| (label.as_str(), item.as_ref().map(Bytes::len))).collect();
        let entry_limit = UploadRefusal::new(RefusalReason::ZipEntryTooLarge, Some("4 MiB".into()));
        assert_eq!(outcome[0], ("up.zip!a.dcm", Ok(3 * MIB)));
        assert_eq!(outcome[1], ("up.zip!b.dcm", Err(&entry_limit)), "over the entry limit");
        assert_eq!(outcome[2], ("up.zip!c.dcm", Ok(2 * MIB)));
        assert_eq!(outcome[3], ("up.zip!d.dcm", Ok(3 * MIB)), "8 MiB in all so far");
        assert_eq!(outcome.len(), 5, "reading stops at the entry that crosses the total: {outcome:?}");
        let (label, refused) = &outcome[4];
        assert_eq!(*label, "up.zip!e.dcm");
        // 10 MiB in all, and one entry (f.dcm) left unread.
        let total = UploadRefusal::new(RefusalReason::ZipTooLarge, Some("10 MiB; +1".into()));
        assert_eq!(*refused, Err(&total));
    }
}
