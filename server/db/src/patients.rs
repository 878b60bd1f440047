//! Patient identity: demographics mismatches raised at ingest (a study whose name or birth date
//! differs from its patient's) and their resolution by a person.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MismatchRow {
    pub id: Uuid,
    pub study_uid: String,
    /// `name` or `birth_date`.
    pub field: String,
    pub stored_value: String,
    pub received_value: String,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
    /// `kept_stored` or `updated_patient`; `None` while open.
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolution_note: Option<String>,
}

/// The mismatches raised on a study, or on any study of its patient (`of_patient`), oldest first.
pub async fn mismatches(pool: &PgPool, study_uid: &str, of_patient: bool) -> DbResult<Vec<MismatchRow>> {
    Ok(sqlx::query_as!(
        MismatchRow,
        r#"select m.id, st.study_uid, m.field, m.stored_value, m.received_value, m.detected_at, m.resolution,
                  u.username as "resolved_by?", m.resolved_at, m.resolution_note
           from demographics_mismatch m
           join study st on st.id = m.study_ref
           left join app_user u on u.id = m.resolved_by
           where case when $2 then m.patient_ref = (select patient_ref from study where study_uid = $1)
                      else st.study_uid = $1 end
           order by m.detected_at, m.field"#,
        study_uid,
        of_patient
    )
    .fetch_all(pool)
    .await?)
}

/// An open mismatch, locked for its resolution, with what its resolution needs to know.
#[derive(Debug, Clone)]
pub struct OpenMismatch {
    pub study_uid: String,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub site_id: Option<Uuid>,
    pub field: String,
    pub stored_value: String,
    pub received_value: String,
    pub resolution: Option<String>,
}

/// The mismatch `id`, locked until the caller's transaction ends.
pub async fn lock_mismatch(conn: &mut PgConnection, id: Uuid) -> DbResult<Option<OpenMismatch>> {
    Ok(sqlx::query_as!(
        OpenMismatch,
        r#"select st.study_uid, m.patient_ref, p.patient_id, st.site_id, m.field, m.stored_value, m.received_value, m.resolution
           from demographics_mismatch m
           join study st on st.id = m.study_ref
           join patient p on p.id = m.patient_ref
           where m.id = $1
           for update of m"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records the resolution of an open mismatch (the caller checked that it is open).
pub async fn resolve_mismatch(
    conn: &mut PgConnection,
    id: Uuid,
    resolution: &str,
    resolved_by: Uuid,
    note: Option<&str>,
) -> DbResult<()> {
    sqlx::query!(
        "update demographics_mismatch set resolution = $2, resolved_by = $3, resolved_at = now(), resolution_note = $4
         where id = $1 and resolution is null",
        id,
        resolution,
        resolved_by,
        note
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the patient's name and the pinyin made from it (a person's decision, after a mismatch).
pub async fn set_name(conn: &mut PgConnection, patient_ref: Uuid, name: &str, pinyin: Option<&str>) -> DbResult<()> {
    sqlx::query!("update patient set name = $2, name_pinyin = $3 where id = $1", patient_ref, name, pinyin)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Patients whose name has a Han character (CJK Unified Ideographs and Extension A,
/// U+3400–U+9FFF) and no pinyin yet: stored before it was kept, or by SQL outside the server.
/// Names without one (`Müller^Hans`) are never selected, so they are not read again at each start.
pub async fn names_without_pinyin(pool: &PgPool) -> DbResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        r#"select id, name as "name!" from patient
           where name_pinyin is null and name is not null and name ~ '[㐀-鿿]'"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Records the pinyin of the patient's current name.
pub async fn set_name_pinyin(pool: &PgPool, patient_ref: Uuid, pinyin: &str) -> DbResult<()> {
    sqlx::query!("update patient set name_pinyin = $2 where id = $1", patient_ref, pinyin).execute(pool).await?;
    Ok(())
}

/// Sets (or with `None` clears) the language of the patient's letters.
pub async fn set_letter_language(conn: &mut PgConnection, patient_ref: Uuid, language: Option<&str>) -> DbResult<()> {
    sqlx::query!("update patient set letter_language = $2 where id = $1", patient_ref, language)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the patient's birth date (a person's decision, after a mismatch).
pub async fn set_birth_date(conn: &mut PgConnection, patient_ref: Uuid, birth_date: Date) -> DbResult<()> {
    sqlx::query!("update patient set birth_date = $2 where id = $1", patient_ref, birth_date)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A patient record and the site whose authority assigned its PatientID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientAtSite {
    pub id: Uuid,
    pub patient_id: String,
    pub site_id: Option<Uuid>,
}

/// A patient record, if its assigning site is one of `sites` (any with `None`).
pub async fn get_within(conn: &mut PgConnection, id: Uuid, sites: Option<&[Uuid]>) -> DbResult<Option<PatientAtSite>> {
    Ok(sqlx::query_as!(
        PatientAtSite,
        r#"select p.id, p.patient_id, si.id as "site_id?" from patient p
           left join site si on si.patient_id_authority = p.assigning_authority
           where p.id = $1 and ($2::uuid[] is null or si.id = any($2))"#,
        id,
        sites as Option<&[Uuid]>
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The patient of a study, if the study is at one of `sites` (any with `None`); `site_id` is
/// the study's site.
pub async fn of_study(
    conn: &mut PgConnection,
    study_uid: &str,
    sites: Option<&[Uuid]>,
) -> DbResult<Option<PatientAtSite>> {
    Ok(sqlx::query_as!(
        PatientAtSite,
        r#"select p.id, p.patient_id, st.site_id as "site_id?" from study st join patient p on p.id = st.patient_ref
           where st.study_uid = $1 and ($2::uuid[] is null or st.site_id = any($2))"#,
        study_uid,
        sites as Option<&[Uuid]>
    )
    .fetch_optional(&mut *conn)
    .await?)
}
