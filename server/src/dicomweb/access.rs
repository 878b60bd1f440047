//! Who may read a study over DICOMweb, and the audit row every read of patient data writes
//! before anything is sent. A read whose row cannot be written is refused with 503
//! (`audit_unavailable`): patient data never leaves unrecorded.

use app::api::SessionUser;
use elysium_db::images::StudyRow;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// The study, if it is within the user's sites. Outside them it answers 404, exactly like a
/// study that does not exist.
pub async fn visible_study(state: &AppState, user: &SessionUser, study: &str) -> Result<StudyRow, ApiError> {
    elysium_db::images::study_within(&state.pool, study, user.site_scope()).await?.ok_or(ApiError::NotFound)
}

/// One audit row for a read of `study`'s patient data (`action`, with `detail`).
pub async fn audit_read(
    state: &AppState,
    user: &SessionUser,
    client: String,
    study: &StudyRow,
    action: &str,
    detail: Value,
) -> Result<(), ApiError> {
    let event = read_event(user, client, study, action, detail);
    Ok(app::service::audit::record(&state.pool, &event).await?)
}

/// A look at a series slice by slice (rendered slices, frames): one `series.view` row per user
/// and series while the view lasts (see [`app::service::audit::ViewLog`]), not one per slice.
pub async fn audit_series_view(
    state: &AppState,
    user: &SessionUser,
    client: String,
    study: &StudyRow,
    series: &str,
) -> Result<(), ApiError> {
    let event = read_event(user, client, study, "series.view", serde_json::json!({ "series_uid": series }));
    Ok(state.views.record_once(&state.pool, user.id, &format!("series:{series}"), &event).await?)
}

fn read_event(
    user: &SessionUser,
    client: String,
    study: &StudyRow,
    action: &str,
    detail: Value,
) -> elysium_db::audit::NewAuditEvent {
    let mut event = user.audit_event(action, "success", Some(client));
    event.target_type = Some("study".into());
    event.target_id = Some(study.study_uid.clone());
    event.patient_id = Some(study.patient_id.clone());
    event.detail = detail;
    event
}
