//! The patient-identity service: demographics mismatches on a study, and their resolution by a
//! person, in one transaction with the patient's change (if any) and its audit event.

use elysium_db::DbError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::identity::{DemographicField, MismatchResolution, may_resolve};
use crate::domain::language::Labelled;
use crate::domain::said::Said;
use crate::model::patients::MismatchView;
use crate::said;
use crate::service::{Caller, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("demographics mismatch not found")]
    NotFound,
    #[error("only a coordinator, radiologist or administrator may resolve a demographics mismatch")]
    Forbidden,
    #[error("this mismatch was already resolved ({}); reload the page", .0.en)]
    AlreadyResolved(Said),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: Said },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ResolveError> for ServiceError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::NotFound => ServiceError::NotFound,
            ResolveError::Forbidden => ServiceError::Forbidden,
            ResolveError::AlreadyResolved(how) => ServiceError::Conflict(said!(
                ("this mismatch was already resolved ({}); reload the page", how.en),
                ("此不一致已处理（{}）；请重新加载页面", how.zh)
            )),
            ResolveError::Invalid { field, message } => ServiceError::invalid(field, message),
            ResolveError::Db(db) => db.into(),
        }
    }
}

/// Chooses the language of a patient's letters, from one of the patient's findings (within the
/// caller's sites: elsewhere it does not exist). Those who keep patient records straight may
/// choose it (coordinators, radiologists, administrators); the choice is audited.
pub async fn set_letter_language(
    pool: &PgPool,
    caller: &Caller,
    finding_id: i64,
    language: crate::domain::language::Language,
) -> Result<(), ServiceError> {
    if !may_resolve(&caller.user.roles) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = pool.begin().await?;
    let scope = caller.user.site_scope();
    let finding =
        elysium_db::findings::get(&mut tx, finding_id, scope.as_deref(), false).await?.ok_or(ServiceError::NotFound)?;
    elysium_db::patients::set_letter_language(&mut tx, finding.patient_ref, Some(language.as_str())).await?;
    caller
        .audit("patient.letter_language")
        .target("finding", finding_id.to_string())
        .patient(&finding.patient_id)
        .detail(serde_json::json!({ "language": language.as_str() }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The mismatches of the study's patient (on this study and the patient's others), oldest first.
pub async fn mismatches_of_patient(pool: &PgPool, study_uid: &str) -> Result<Vec<MismatchView>, DbError> {
    let rows = elysium_db::patients::mismatches(pool, study_uid, true).await?;
    Ok(rows.into_iter().filter_map(view).collect())
}

fn view(row: elysium_db::patients::MismatchRow) -> Option<MismatchView> {
    Some(MismatchView {
        id: row.id,
        study_uid: row.study_uid,
        field: DemographicField::parse(&row.field)?,
        stored_value: row.stored_value,
        received_value: row.received_value,
        detected_at: crate::format::date(row.detected_at.date()),
        resolution: row.resolution.as_deref().and_then(MismatchResolution::parse),
        resolved_by: row.resolved_by,
        note: row.resolution_note,
    })
}

/// Resolves mismatch `id`; answers the study it was raised on. `UpdatedPatient` gives the patient the study's
/// value; `KeptStored` leaves the patient as it is. Either way the decision, both values and who
/// made it are kept on the mismatch and in the audit trail. Outside the user's sites a mismatch
/// does not exist (404, as for an unknown one).
pub async fn resolve(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    resolution: MismatchResolution,
    note: Option<String>,
) -> Result<String, ResolveError> {
    let user = &caller.user;
    if !may_resolve(&user.roles) {
        return Err(ResolveError::Forbidden);
    }
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ResolveError::Invalid {
            field: "note",
            message: said!("at most 2,000 characters", "最多 2000 个字符"),
        });
    }
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let mismatch = elysium_db::patients::lock_mismatch(&mut tx, id).await?.ok_or(ResolveError::NotFound)?;
    if !user.may_see_site(mismatch.site_id) {
        return Err(ResolveError::NotFound);
    }
    if let Some(done) = &mismatch.resolution {
        let label = MismatchResolution::parse(done)
            .map_or_else(|| Said::new(done.clone(), done.clone()), |r| Said::new(r.label(), r.label_zh()));
        return Err(ResolveError::AlreadyResolved(label));
    }
    let field = DemographicField::parse(&mismatch.field).ok_or_else(|| ResolveError::Invalid {
        field: "field",
        message: said!(("unknown field {}", mismatch.field), ("未知字段 {}", mismatch.field)),
    })?;
    if resolution == MismatchResolution::UpdatedPatient {
        match field {
            DemographicField::Name => {
                elysium_db::patients::set_name(
                    &mut tx,
                    mismatch.patient_ref,
                    &mismatch.received_value,
                    crate::service::names::name_pinyin(&mismatch.received_value).as_deref(),
                )
                .await?
            }
            DemographicField::BirthDate => {
                let date = crate::format::parse_date(&mismatch.received_value).ok_or_else(|| {
                    ResolveError::Invalid { field: "received_value", message: said!("not a date", "不是日期") }
                })?;
                elysium_db::patients::set_birth_date(&mut tx, mismatch.patient_ref, date).await?
            }
        }
    }
    elysium_db::patients::resolve_mismatch(&mut tx, id, resolution.as_str(), user.id, note.as_deref()).await?;
    caller
        .audit("patient.demographics_resolve")
        .target("demographics_mismatch", id.to_string())
        .patient(&mismatch.patient_id)
        .detail(serde_json::json!({
            "study_uid": mismatch.study_uid,
            "field": field.as_str(),
            "stored_value": mismatch.stored_value,
            "received_value": mismatch.received_value,
            "resolution": resolution.as_str(),
            "note": note,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(mismatch.study_uid)
}
