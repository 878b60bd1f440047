//! The image store's index: patients, studies, series and instances.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{DbError, DbResult};

/// Everything registered for one received instance, in database vocabulary.
#[derive(Debug, Clone, Default)]
pub struct NewInstance {
    pub patient_id: String,
    /// The authority the instance names for `patient_id`; `None`: the receiving site's.
    pub issuer_of_patient_id: Option<String>,
    pub patient_name: Option<String>,
    /// The pinyin of the name's Han characters, for search (`app::service::names`).
    pub patient_name_pinyin: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<Date>,
    pub study_uid: String,
    /// The receiving site: every instance is filed under exactly one.
    pub site_id: Uuid,
    pub study_date: Option<Date>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub referring_physician: Option<String>,
    pub study_description: Option<String>,
    pub institution_name: Option<String>,
    pub series_uid: String,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub series_description: Option<String>,
    pub series_number: Option<i32>,
    pub contrast_agent: Option<String>,
    pub contrast_route: Option<String>,
    pub image_type: Vec<String>,
    pub slice_thickness: Option<f64>,
    pub pixel_spacing: Option<Vec<f64>>,
    pub image_orientation: Option<Vec<f64>>,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    pub kvp: Option<f64>,
    pub manufacturer: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax_uid: String,
    pub instance_number: Option<i32>,
    pub image_position: Option<Vec<f64>>,
    pub number_of_frames: Option<i32>,
    pub rescale_slope: Option<f64>,
    pub rescale_intercept: Option<f64>,
    pub sha256: String,
    /// The SHA-256 of the data set without its file meta group (see
    /// `elysium_dicom::header::dataset_sha256_hex`); `None` where the file meta's end is uncertain.
    pub dataset_sha256: Option<String>,
    pub size_bytes: i64,
    pub object_key: String,
    pub received_via: &'static str,
}

/// What is already stored under a SOP Instance UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    pub sha256: String,
    /// `None` for instances stored before it was kept (and where it could not be told).
    pub dataset_sha256: Option<String>,
    pub object_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// New rows were written; the patient's row id for the audit trail.
    Stored { patient_ref: Uuid },
    /// Another request registered the same UID first (with this content).
    AlreadyThere(StoredInstance),
    /// The study or series is already filed under a different patient or study.
    Inconsistent(&'static str),
}

pub async fn find_instance(conn: &mut PgConnection, sop_instance_uid: &str) -> DbResult<Option<StoredInstance>> {
    Ok(sqlx::query_as!(
        StoredInstance,
        "select sha256, dataset_sha256, object_key from instance where sop_instance_uid = $1",
        sop_instance_uid
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Registers the instance with its patient, study and series in the caller's transaction.
///
/// The patient, study and series rows are looked up first and inserted only when missing: an
/// existing row is never rewritten for an instance, so concurrent instances of one series do
/// not queue on its row lock (held until each commit) and arrive in parallel. A series' instance
/// count and latest arrival are read from the instance rows (see [`series_of_study`]).
pub async fn register(conn: &mut PgConnection, new: &NewInstance) -> DbResult<Registered> {
    let patient = patient_for(conn, new).await?;
    let (study_ref, study_patient) = study_for(conn, new, patient.id).await?;
    if study_patient != patient.id {
        return Ok(Registered::Inconsistent("the study is already filed under another patient"));
    }
    let (series_ref, series_study) = series_for(conn, new, study_ref).await?;
    if series_study != study_ref {
        return Ok(Registered::Inconsistent("the series is already filed under another study"));
    }
    for (field, stored, received) in patient.differs_from(new) {
        record_mismatch(conn, patient.id, study_ref, field, &stored, &received).await?;
    }
    // Shared with every other instance of the series (they never wait on each other), exclusive
    // with the scheduler queueing its screening: an instance either commits before the series is
    // judged complete, or finds the job and marks the series changed below.
    lock_series_shared(conn, series_ref).await?;

    let inserted = sqlx::query_scalar!(
        "insert into instance (sop_instance_uid, series_ref, sop_class_uid, transfer_syntax_uid,
                               instance_number, image_position, number_of_frames, rescale_slope,
                               rescale_intercept, sha256, dataset_sha256, size_bytes, object_key, received_via)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         on conflict (sop_instance_uid) do nothing
         returning id",
        new.sop_instance_uid,
        series_ref,
        new.sop_class_uid,
        new.transfer_syntax_uid,
        new.instance_number,
        new.image_position.as_deref(),
        new.number_of_frames,
        new.rescale_slope,
        new.rescale_intercept,
        new.sha256,
        new.dataset_sha256,
        new.size_bytes,
        new.object_key,
        new.received_via
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        let existing = find_instance(conn, &new.sop_instance_uid).await?.ok_or(DbError::NotFound("instance"))?;
        return Ok(Registered::AlreadyThere(existing));
    }
    // Late for a series already queued for screening: it will be screened again once quiet.
    sqlx::query!(
        "insert into series_changed (series_ref)
         select $1 where exists (select 1 from screening_job where series_ref = $1 and reason = 'auto')
         on conflict (series_ref) do update set changed_at = now()",
        series_ref
    )
    .execute(&mut *conn)
    .await?;
    Ok(Registered::Stored { patient_ref: patient.id })
}

/// The advisory lock key of a series' completeness (see [`crate::jobs::queue_auto`]).
fn series_lock_key(series_ref: Uuid) -> String {
    format!("series-complete:{series_ref}")
}

async fn lock_series_shared(conn: &mut PgConnection, series_ref: Uuid) -> DbResult<()> {
    let key = series_lock_key(series_ref);
    sqlx::query!("select pg_advisory_xact_lock_shared(hashtextextended($1, 0))", key).execute(&mut *conn).await?;
    Ok(())
}

/// Waits for the instances of the series being registered right now, and keeps new ones out
/// until the caller's transaction ends.
pub async fn lock_series_exclusive(conn: &mut PgConnection, series_ref: Uuid) -> DbResult<()> {
    let key = series_lock_key(series_ref);
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", key).execute(&mut *conn).await?;
    Ok(())
}

/// How many times a lookup-or-insert retries when another transaction inserts the same row at
/// the same moment and then rolls back (each retry sees the outcome of the previous race).
const INSERT_RACE_RETRIES: usize = 3;

/// The stored patient an instance is filed under, with the demographics it had before.
struct PatientMatch {
    id: Uuid,
    name: Option<String>,
    birth_date: Option<Date>,
}

impl PatientMatch {
    /// The demographics the instance states differently from the stored patient: (field,
    /// stored, received). A value missing on either side is not a difference (an empty stored
    /// value is filled in instead); names are compared by [`same_person_name`].
    fn differs_from(&self, new: &NewInstance) -> Vec<(&'static str, String, String)> {
        let mut differences = Vec::new();
        if let (Some(stored), Some(received)) = (&self.name, &new.patient_name)
            && !same_person_name(stored, received)
        {
            differences.push(("name", stored.clone(), received.clone()));
        }
        if let (Some(stored), Some(received)) = (self.birth_date, new.patient_birth_date)
            && stored != received
        {
            differences.push(("birth_date", stored.to_string(), received.to_string()));
        }
        differences
    }
}

/// Whether two DICOM person names (PN) are the same name as written: case, surrounding spaces
/// and empty trailing components (`WANG^XIAOMING^^` = `Wang^XiaoMing`) do not count; anything
/// else (another spelling, another ideographic group) does, and is left to a person.
pub fn same_person_name(a: &str, b: &str) -> bool {
    fn canonical(name: &str) -> String {
        name.split('=')
            .map(|group| group.split('^').map(str::trim).collect::<Vec<_>>().join("^").trim_end_matches('^').to_owned())
            .collect::<Vec<_>>()
            .join("=")
            .trim_end_matches('=')
            .to_uppercase()
    }
    canonical(a) == canonical(b)
}

/// The patient's row under (authority, PatientID), created if missing: the authority is the one
/// the instance names, else the receiving site's. Demographics an earlier instance left empty
/// are filled in from this one (never overwritten): the only case that writes an existing
/// patient row. A stored value that differs is returned for [`record_mismatch`].
async fn patient_for(conn: &mut PgConnection, new: &NewInstance) -> DbResult<PatientMatch> {
    for _ in 0..INSERT_RACE_RETRIES {
        let existing = sqlx::query!(
            r#"select id, name, birth_date,
                      (name is null and $2::text is not null) or (sex is null and $3::text is not null)
                          or (birth_date is null and $4::date is not null) as "fills_in!"
               from patient
               where assigning_authority = coalesce($5::text, (select patient_id_authority from site where id = $6))
                 and patient_id = $1"#,
            new.patient_id,
            new.patient_name,
            new.patient_sex,
            new.patient_birth_date,
            new.issuer_of_patient_id,
            new.site_id
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(patient) = existing {
            if patient.fills_in {
                sqlx::query!(
                    // The pinyin goes with the name it was made from: set only when the name is.
                    "update patient set name = coalesce(name, $2), sex = coalesce(sex, $3), birth_date = coalesce(birth_date, $4),
                                        name_pinyin = case when name is null then $5 else name_pinyin end
                     where id = $1",
                    patient.id,
                    new.patient_name,
                    new.patient_sex,
                    new.patient_birth_date,
                    new.patient_name_pinyin
                )
                .execute(&mut *conn)
                .await?;
            }
            return Ok(PatientMatch { id: patient.id, name: patient.name, birth_date: patient.birth_date });
        }
        // Waits for a concurrent insert of the same patient to end; then nothing is returned
        // when it committed, and the lookup above finds its row.
        let inserted = sqlx::query_scalar!(
            "insert into patient (patient_id, assigning_authority, name, sex, birth_date, name_pinyin)
             values ($1, coalesce($5::text, (select patient_id_authority from site where id = $6)), $2, $3, $4, $7)
             on conflict (assigning_authority, patient_id) do nothing
             returning id",
            new.patient_id,
            new.patient_name,
            new.patient_sex,
            new.patient_birth_date,
            new.issuer_of_patient_id,
            new.site_id,
            new.patient_name_pinyin
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = inserted {
            return Ok(PatientMatch { id, name: None, birth_date: None });
        }
    }
    Err(DbError::Contended("the patient row is being created and removed concurrently; try again"))
}

/// Records that `study` states `field` differently from its patient (once per study and field).
async fn record_mismatch(
    conn: &mut PgConnection,
    patient_ref: Uuid,
    study_ref: Uuid,
    field: &str,
    stored: &str,
    received: &str,
) -> DbResult<()> {
    sqlx::query!(
        "insert into demographics_mismatch (patient_ref, study_ref, field, stored_value, received_value)
         values ($1, $2, $3, $4, $5)
         on conflict (study_ref, field) do nothing",
        patient_ref,
        study_ref,
        field,
        stored,
        received
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The study's row and the patient it is filed under, created if missing.
async fn study_for(conn: &mut PgConnection, new: &NewInstance, patient_ref: Uuid) -> DbResult<(Uuid, Uuid)> {
    for _ in 0..INSERT_RACE_RETRIES {
        let existing = sqlx::query!("select id, patient_ref from study where study_uid = $1", new.study_uid)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(study) = existing {
            return Ok((study.id, study.patient_ref));
        }
        let inserted = sqlx::query!(
            "insert into study (study_uid, patient_ref, site_id, study_date, study_time, accession_number,
                                referring_physician, description, institution_name)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (study_uid) do nothing
             returning id, patient_ref",
            new.study_uid,
            patient_ref,
            new.site_id,
            new.study_date,
            new.study_time,
            new.accession_number,
            new.referring_physician,
            new.study_description,
            new.institution_name
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(study) = inserted {
            return Ok((study.id, study.patient_ref));
        }
    }
    Err(DbError::Contended("the study row is being created and removed concurrently; try again"))
}

/// The series' row and the study it is filed under, created if missing.
async fn series_for(conn: &mut PgConnection, new: &NewInstance, study_ref: Uuid) -> DbResult<(Uuid, Uuid)> {
    for _ in 0..INSERT_RACE_RETRIES {
        let existing = sqlx::query!("select id, study_ref from series where series_uid = $1", new.series_uid)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(series) = existing {
            return Ok((series.id, series.study_ref));
        }
        let inserted = sqlx::query!(
            "insert into series (series_uid, study_ref, modality, body_part, description, series_number,
                                 contrast_agent, contrast_route, image_type, slice_thickness, pixel_spacing,
                                 image_orientation, rows, columns, kvp, manufacturer, frame_of_reference_uid)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             on conflict (series_uid) do nothing
             returning id, study_ref",
            new.series_uid,
            study_ref,
            new.modality,
            new.body_part,
            new.series_description,
            new.series_number,
            new.contrast_agent,
            new.contrast_route,
            &new.image_type,
            new.slice_thickness,
            new.pixel_spacing.as_deref(),
            new.image_orientation.as_deref(),
            new.rows,
            new.columns,
            new.kvp,
            new.manufacturer,
            new.frame_of_reference_uid
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(series) = inserted {
            return Ok((series.id, series.study_ref));
        }
    }
    Err(DbError::Contended("the series row is being created and removed concurrently; try again"))
}

/// Serialises what touches one object key for the rest of the caller's transaction: ingest holds
/// it from checking for an existing row, through writing the object, to registering it; the
/// orphan sweep holds it while it checks and deletes. Different keys never wait on each other.
pub async fn lock_object_key(conn: &mut PgConnection, object_key: &str) -> DbResult<()> {
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", object_key).execute(&mut *conn).await?;
    Ok(())
}

/// Which of `object_keys` an instance row references.
pub async fn registered_object_keys(conn: &mut PgConnection, object_keys: &[String]) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar!("select object_key from instance where object_key = any($1)", object_keys)
        .fetch_all(&mut *conn)
        .await?)
}

/// How many studies belong to patients whose ID starts with `prefix` (demo data check).
pub async fn count_studies_with_patient_prefix(pool: &PgPool, prefix: &str) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from study st join patient p on p.id = st.patient_ref
           where starts_with(p.patient_id, $1)"#,
        prefix
    )
    .fetch_one(pool)
    .await?)
}

/// One row of the study list (QIDO-RS studies and the study list page).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StudyRow {
    pub study_uid: String,
    pub patient_id: String,
    /// The authority that assigned `patient_id` (empty for studies stored before sites were
    /// required and never filed at one).
    pub patient_authority: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<Date>,
    pub study_date: Option<Date>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub referring_physician: Option<String>,
    pub description: Option<String>,
    pub site_code: Option<String>,
    pub modalities: Vec<String>,
    pub series_count: i64,
    pub instance_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Matching keys for studies (QIDO-RS); `None` matches everything. Text keys match exactly or
/// with `*` wildcards (translated to SQL LIKE by the caller's escaping helper).
#[derive(Debug, Clone, Default)]
pub struct StudyFilter {
    pub patient_id: Option<String>,
    pub patient_name_like: Option<String>,
    pub accession_number: Option<String>,
    pub study_uid: Option<String>,
    pub modality: Option<String>,
    pub date_from: Option<Date>,
    pub date_to: Option<Date>,
    /// Only studies of these sites (a user's data scope); `None` for all.
    pub site_ids: Option<Vec<Uuid>>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn studies(pool: &PgPool, filter: &StudyFilter) -> DbResult<Vec<StudyRow>> {
    Ok(sqlx::query_as!(
        StudyRow,
        r#"select st.study_uid, p.patient_id, p.assigning_authority as patient_authority, p.name as patient_name, p.sex as patient_sex,
                  p.birth_date as patient_birth_date, st.study_date, st.study_time, st.accession_number,
                  st.referring_physician, st.description, si.code as "site_code?", st.updated_at,
                  array(select distinct se.modality from series se
                        where se.study_ref = st.id and se.modality is not null) as "modalities!",
                  (select count(*) from series se where se.study_ref = st.id) as "series_count!",
                  (select count(*) from instance i join series se on se.id = i.series_ref
                   where se.study_ref = st.id) as "instance_count!"
           from study st
           join patient p on p.id = st.patient_ref
           left join site si on si.id = st.site_id
           where ($1::text is null or p.patient_id = $1)
             and ($2::text is null or p.name ilike $2)
             and ($3::text is null or st.accession_number = $3)
             and ($4::text is null or st.study_uid = $4)
             and ($5::text is null or exists (select 1 from series se where se.study_ref = st.id and se.modality = $5))
             and ($6::date is null or st.study_date >= $6)
             and ($7::date is null or st.study_date <= $7)
             and ($8::uuid[] is null or st.site_id = any($8))
           order by st.study_date desc nulls last, st.updated_at desc
           limit $9 offset $10"#,
        filter.patient_id,
        filter.patient_name_like,
        filter.accession_number,
        filter.study_uid,
        filter.modality,
        filter.date_from,
        filter.date_to,
        filter.site_ids.as_deref(),
        filter.limit,
        filter.offset
    )
    .fetch_all(pool)
    .await?)
}

/// One study by UID, if it belongs to one of `site_ids` (`None`: any site).
pub async fn study_within(pool: &PgPool, study_uid: &str, site_ids: Option<Vec<Uuid>>) -> DbResult<Option<StudyRow>> {
    let filter = StudyFilter { study_uid: Some(study_uid.to_owned()), site_ids, limit: 1, ..Default::default() };
    Ok(studies(pool, &filter).await?.into_iter().next())
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesRow {
    pub series_uid: String,
    pub study_uid: String,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub description: Option<String>,
    pub series_number: Option<i32>,
    pub contrast_agent: Option<String>,
    pub contrast_route: Option<String>,
    pub image_type: Vec<String>,
    pub slice_thickness: Option<f64>,
    pub pixel_spacing: Option<Vec<f64>>,
    pub image_orientation: Option<Vec<f64>>,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    pub kvp: Option<f64>,
    pub manufacturer: Option<String>,
    pub instance_count: i32,
}

pub async fn series_of_study(pool: &PgPool, study_uid: &str, modality: Option<&str>) -> DbResult<Vec<SeriesRow>> {
    Ok(sqlx::query_as!(
        SeriesRow,
        r#"select se.series_uid, st.study_uid, se.modality, se.body_part, se.description, se.series_number,
                  se.contrast_agent, se.contrast_route, se.image_type, se.slice_thickness, se.pixel_spacing,
                  se.image_orientation, se.rows, se.columns, se.kvp, se.manufacturer,
                  (select count(*)::int from instance i where i.series_ref = se.id) as "instance_count!"
           from series se join study st on st.id = se.study_ref
           where st.study_uid = $1 and ($2::text is null or se.modality = $2)
           order by se.series_number nulls last, se.created_at"#,
        study_uid,
        modality
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstanceRow {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax_uid: String,
    pub instance_number: Option<i32>,
    pub image_position: Option<Vec<f64>>,
    pub number_of_frames: Option<i32>,
    pub size_bytes: i64,
    pub object_key: String,
}

/// Instances of a series in slice order as received (instance number, then UID).
pub async fn instances_of_series(pool: &PgPool, study_uid: &str, series_uid: &str) -> DbResult<Vec<InstanceRow>> {
    Ok(sqlx::query_as!(
        InstanceRow,
        "select i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.instance_number, i.image_position,
                i.number_of_frames, i.size_bytes, i.object_key
         from instance i join series se on se.id = i.series_ref join study st on st.id = se.study_ref
         where st.study_uid = $1 and se.series_uid = $2
         order by i.instance_number nulls last, i.sop_instance_uid",
        study_uid,
        series_uid
    )
    .fetch_all(pool)
    .await?)
}

/// Instances of a study, series by series (as [`series_of_study`] orders them), each in slice
/// order as received.
pub async fn instances_of_study(pool: &PgPool, study_uid: &str) -> DbResult<Vec<InstanceRow>> {
    Ok(sqlx::query_as!(
        InstanceRow,
        "select i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, i.instance_number, i.image_position,
                i.number_of_frames, i.size_bytes, i.object_key
         from instance i join series se on se.id = i.series_ref join study st on st.id = se.study_ref
         where st.study_uid = $1
         order by se.series_number nulls last, se.created_at, se.id, i.instance_number nulls last, i.sop_instance_uid",
        study_uid
    )
    .fetch_all(pool)
    .await?)
}

/// The object key of one instance, addressed by its study, series and instance UIDs.
pub async fn instance_key(
    pool: &PgPool,
    study_uid: &str,
    series_uid: &str,
    sop_instance_uid: &str,
) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        "select i.object_key from instance i join series se on se.id = i.series_ref join study st on st.id = se.study_ref
         where st.study_uid = $1 and se.series_uid = $2 and i.sop_instance_uid = $3",
        study_uid,
        series_uid,
        sop_instance_uid
    )
    .fetch_optional(pool)
    .await?)
}

/// The study a series belongs to and how many instances it has.
pub async fn series_location(pool: &PgPool, series_uid: &str) -> DbResult<Option<(String, i32)>> {
    let row = sqlx::query!(
        r#"select st.study_uid, (select count(*)::int from instance i where i.series_ref = se.id) as "instance_count!"
           from series se join study st on st.id = se.study_ref where se.series_uid = $1"#,
        series_uid
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.study_uid, r.instance_count)))
}

/// The id of a series of a patient's study.
pub async fn series_of_patient(conn: &mut PgConnection, series_uid: &str, patient_ref: Uuid) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "select se.id from series se join study st on st.id = se.study_ref where se.series_uid = $1 and st.patient_ref = $2",
        series_uid,
        patient_ref
    )
    .fetch_optional(&mut *conn)
    .await?)
}
