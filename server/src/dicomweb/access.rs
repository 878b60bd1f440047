//! Who may read a study over DICOMweb, and the audit row every read of patient data writes
//! before anything is sent: the studies service's one visibility rule and its audit builder. A
//! read whose row cannot be written is refused with 503 (`audit_unavailable`): patient data
//! never leaves unrecorded.

use app::model::SessionUser;
use app::service::Caller;
use elysium_db::images::StudyRow;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// The study, if it is within the user's sites or reached through a referral to one of them
/// (see [`app::service::studies::visible_study`]). Otherwise it answers 404, exactly like a
/// study that does not exist.
pub async fn visible_study(
    state: &AppState,
    user: &SessionUser,
    client: &str,
    study: &str,
) -> Result<StudyRow, ApiError> {
    let caller = Caller::new(user.clone(), Some(client.to_owned()));
    Ok(app::service::studies::visible_study(&state.pool, &state.views, &caller, study).await?)
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
    let caller = Caller::new(user.clone(), Some(client));
    Ok(caller.audit(action).study(&study.study_uid, &study.patient_id).detail(detail).record(&state.pool).await?)
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
    let caller = Caller::new(user.clone(), Some(client));
    Ok(app::service::studies::audit_series_view(&state.pool, &state.views, &caller, study, series).await?)
}
