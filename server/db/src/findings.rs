//! Findings, their event history, and the MDT cases they open. The lifecycle rules live in the
//! `app` crate's domain; these functions only read and write what the caller decided, inside the
//! caller's transaction.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// The statuses of findings still being worked (must match the partial indexes' predicate, so
/// that the planner can use them).
pub const OPEN_STATUSES: [&str; 5] = ["new", "in_review", "workup_ordered", "workup_scheduled", "workup_done"];
pub(crate) const OPEN_PREDICATE: &str =
    "f.status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done')";

/// A finding raised by the screening pipeline (or by demo data and tests).
#[derive(Debug, Clone)]
pub struct NewFinding {
    pub study_uid: String,
    pub series_uid: Option<String>,
    pub organ: String,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    pub class_probabilities: serde_json::Value,
    pub model_name: String,
    pub model_version: String,
    pub location: Option<serde_json::Value>,
    pub detected_at: OffsetDateTime,
    pub due_date: Option<Date>,
    /// The screening result that raised it (none for demo data and tests).
    pub screening_result_ref: Option<i64>,
}

/// A finding with what its page and the service need from the patient, study and assignee.
/// Read with `FINDING_COLUMNS` (runtime-checked: the query is assembled).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FindingRow {
    pub id: i64,
    pub status: String,
    pub version: i32,
    pub organ: String,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    pub class_probabilities: serde_json::Value,
    pub model_name: String,
    pub model_version: String,
    pub location: Option<serde_json::Value>,
    pub due_date: Option<Date>,
    pub detected_at: OffsetDateTime,
    pub clock_start: Date,
    pub assignee_id: Option<Uuid>,
    pub assignee_username: Option<String>,
    pub assignee_name: Option<String>,
    pub workup_modality: Option<String>,
    pub workup_due: Option<Date>,
    pub workup_responsible: Option<String>,
    pub appointment_date: Option<Date>,
    pub appointment_site: Option<String>,
    pub outcome: Option<String>,
    pub confirmed_by: Option<String>,
    pub diagnosis: Option<String>,
    pub outcome_date: Option<Date>,
    pub dismiss_reason: Option<String>,
    pub unsuccessful_contacts: i32,
    pub surveillance_months: Option<i32>,
    pub surveillance_due: Option<Date>,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<Date>,
    /// The language chosen for the patient's letters (BCP 47), if any.
    pub patient_letter_language: Option<String>,
    pub study_uid: String,
    pub study_date: Option<Date>,
    pub series_uid: Option<String>,
    pub site_id: Option<Uuid>,
    pub site_code: Option<String>,
    pub site_name: Option<String>,
}

/// The new projection after an event, as the service computed it from the domain rules.
#[derive(Debug, Clone)]
pub struct FindingUpdate {
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<Date>,
    pub clock_start: Date,
    pub workup_modality: Option<String>,
    pub workup_due: Option<Date>,
    pub workup_responsible: Option<String>,
    pub appointment_date: Option<Date>,
    pub appointment_site: Option<String>,
    pub outcome: Option<String>,
    pub confirmed_by: Option<String>,
    pub diagnosis: Option<String>,
    pub outcome_date: Option<Date>,
    pub dismiss_reason: Option<String>,
    pub unsuccessful_contacts: i32,
    /// Both set (imaging again by the due date) or both unset.
    pub surveillance_months: Option<i32>,
    pub surveillance_due: Option<Date>,
}

impl FindingRow {
    /// The current projection, to be changed field by field for an update.
    pub fn projection(&self) -> FindingUpdate {
        FindingUpdate {
            status: self.status.clone(),
            assignee_id: self.assignee_id,
            due_date: self.due_date,
            clock_start: self.clock_start,
            workup_modality: self.workup_modality.clone(),
            workup_due: self.workup_due,
            workup_responsible: self.workup_responsible.clone(),
            appointment_date: self.appointment_date,
            appointment_site: self.appointment_site.clone(),
            outcome: self.outcome.clone(),
            confirmed_by: self.confirmed_by.clone(),
            diagnosis: self.diagnosis.clone(),
            outcome_date: self.outcome_date,
            dismiss_reason: self.dismiss_reason.clone(),
            unsuccessful_contacts: self.unsuccessful_contacts,
            surveillance_months: self.surveillance_months,
            surveillance_due: self.surveillance_due,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub event: &'a str,
    pub from_status: &'a str,
    pub to_status: &'a str,
    pub actor_user_id: Option<Uuid>,
    pub actor_username: &'a str,
    pub actor_role: &'a str,
    pub reason: Option<String>,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub version: i32,
    pub event: String,
    pub from_status: String,
    pub to_status: String,
    pub actor_username: String,
    pub actor_name: Option<String>,
    pub actor_role: String,
    pub occurred_at: OffsetDateTime,
    pub reason: Option<String>,
    pub payload: serde_json::Value,
}

/// Registers a finding on a stored study, with its first history entry (`detected`). `None`
/// when the study is not stored.
pub async fn insert(conn: &mut PgConnection, new: &NewFinding, actor: &str) -> DbResult<Option<i64>> {
    // A finding screening raised on (series, organ) exists once (a unique index): when an
    // automatic job and a re-run race, the second insert does nothing.
    let id = sqlx::query_scalar!(
        r#"insert into finding (patient_ref, study_ref, series_ref, site_id, study_date, organ, class_label,
                                probability, threshold, class_probabilities, model_name, model_version, location,
                                detected_at, clock_start, due_date, screening_result_ref)
           select st.patient_ref, st.id, se.id, st.site_id, st.study_date, $3, $4, $5, $6, $7, $8, $9, $10,
                  $11, ($11::timestamptz at time zone 'UTC')::date, $12, $13
           from study st left join series se on se.series_uid = $2 and se.study_ref = st.id
           where st.study_uid = $1
           on conflict (series_ref, organ) where series_ref is not null and screening_result_ref is not null do nothing
           returning id"#,
        new.study_uid,
        new.series_uid,
        new.organ,
        new.class_label,
        new.probability,
        new.threshold,
        new.class_probabilities,
        new.model_name,
        new.model_version,
        new.location,
        new.detected_at,
        new.due_date,
        new.screening_result_ref,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = id {
        let payload = serde_json::json!({
            "organ": new.organ, "class": new.class_label, "probability": new.probability,
            "threshold": new.threshold, "model": format!("{} {}", new.model_name, new.model_version),
        });
        sqlx::query!(
            "insert into finding_event (finding_id, version, event, from_status, to_status, actor_username, actor_role, occurred_at, payload)
             values ($1, 1, 'detected', 'new', 'new', $2, 'system', $3, $4)",
            id,
            actor,
            new.detected_at,
            payload
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

pub(crate) const FINDING_COLUMNS: &str = r#"
    f.id, f.status, f.version, f.organ, f.class_label, f.probability, f.threshold, f.class_probabilities,
    f.model_name, f.model_version, f.location, f.due_date, f.detected_at, f.clock_start, f.assignee_id,
    u.username as assignee_username, u.display_name as assignee_name,
    f.workup_modality, f.workup_due, f.workup_responsible, f.appointment_date, f.appointment_site,
    f.outcome, f.confirmed_by, f.diagnosis, f.outcome_date, f.dismiss_reason, f.unsuccessful_contacts,
    f.surveillance_months, f.surveillance_due,
    f.patient_ref, p.patient_id, p.name as patient_name, p.sex as patient_sex, p.birth_date as patient_birth_date,
    p.letter_language as patient_letter_language,
    st.study_uid, f.study_date, se.series_uid, f.site_id, si.code as site_code, si.name as site_name
    from finding f
    join patient p on p.id = f.patient_ref
    join study st on st.id = f.study_ref
    left join series se on se.id = f.series_ref
    left join site si on si.id = f.site_id
    left join app_user u on u.id = f.assignee_id"#;

/// One finding, within `sites` (`None`: all sites). `lock` takes a row lock for the rest of the
/// caller's transaction, so that two events on one finding are applied one after the other.
pub async fn get(conn: &mut PgConnection, id: i64, sites: Option<&[Uuid]>, lock: bool) -> DbResult<Option<FindingRow>> {
    let mut query = QueryBuilder::<Postgres>::new(format!("select {FINDING_COLUMNS} where f.id = "));
    query.push_bind(id);
    push_site_scope(&mut query, sites);
    if lock {
        query.push(" for update of f");
    }
    Ok(query.build_query_as::<FindingRow>().fetch_optional(&mut *conn).await?)
}

/// Writes the new projection and its history entry, if the finding is still at
/// `expected_version`. Returns the new version, or `None` when the version was stale.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    expected_version: i32,
    update: &FindingUpdate,
    event: &NewEvent<'_>,
) -> DbResult<Option<i32>> {
    let version = sqlx::query_scalar!(
        "update finding set status = $3, assignee_id = $4, due_date = $5, clock_start = $6,
                workup_modality = $7, workup_due = $8, workup_responsible = $9, appointment_date = $10,
                appointment_site = $11, outcome = $12, confirmed_by = $13, diagnosis = $14, outcome_date = $15,
                dismiss_reason = $16, unsuccessful_contacts = $17, surveillance_months = $18, surveillance_due = $19,
                version = version + 1, updated_at = now()
         where id = $1 and version = $2
         returning version",
        id,
        expected_version,
        update.status,
        update.assignee_id,
        update.due_date,
        update.clock_start,
        update.workup_modality,
        update.workup_due,
        update.workup_responsible,
        update.appointment_date,
        update.appointment_site,
        update.outcome,
        update.confirmed_by,
        update.diagnosis,
        update.outcome_date,
        update.dismiss_reason,
        update.unsuccessful_contacts,
        update.surveillance_months,
        update.surveillance_due,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(version) = version else { return Ok(None) };
    sqlx::query!(
        "insert into finding_event (finding_id, version, event, from_status, to_status, actor_user_id,
                                    actor_username, actor_role, reason, payload)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id,
        version,
        event.event,
        event.from_status,
        event.to_status,
        event.actor_user_id,
        event.actor_username,
        event.actor_role,
        event.reason,
        event.payload,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some(version))
}

/// A finding's history, oldest first.
pub async fn events(pool: &PgPool, finding_id: i64) -> DbResult<Vec<EventRow>> {
    Ok(sqlx::query_as!(
        EventRow,
        r#"select e.version, e.event, e.from_status, e.to_status, e.actor_username, u.display_name as "actor_name?",
                  e.actor_role, e.occurred_at, e.reason, e.payload
           from finding_event e left join app_user u on u.id = e.actor_user_id
           where e.finding_id = $1 order by e.version"#,
        finding_id
    )
    .fetch_all(pool)
    .await?)
}

/// Opens the MDT case for a confirmed cancer (once per finding; a second referral after a
/// reopening finds the case already there). Returns the case's id.
pub async fn open_mdt_case(conn: &mut PgConnection, finding_id: i64, opened_by: Uuid) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"with inserted as (
               insert into mdt_case (finding_id, patient_ref, site_id, organ, cancer, diagnosis, series_ref, opened_by)
               select id, patient_ref, site_id, organ, organ, diagnosis, series_ref, $2 from finding where id = $1
               on conflict (finding_id) do nothing
               returning id)
           select id as "id!" from inserted
           union all select id from mdt_case where finding_id = $1
           limit 1"#,
        finding_id,
        opened_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// A user who may be assigned findings at a site: active, a coordinator or radiologist, and
/// working at that site (any site when the finding has none).
pub async fn assignable_user(conn: &mut PgConnection, username: &str, site_id: Option<Uuid>) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        r#"select u.id from app_user u
           where u.username = $1 and u.active
             and exists (select 1 from user_role r where r.user_id = u.id and r.role in ('coordinator', 'radiologist'))
             and ($2::uuid is null or exists (select 1 from user_site us where us.user_id = u.id and us.site_id = $2))"#,
        username,
        site_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// People findings can be assigned to, for the worklist's assign menu, within `sites`.
pub async fn assignees(pool: &PgPool, sites: Option<&[Uuid]>) -> DbResult<Vec<(String, String)>> {
    let rows = sqlx::query!(
        r#"select u.username, u.display_name from app_user u
           where u.active
             and exists (select 1 from user_role r where r.user_id = u.id and r.role in ('coordinator', 'radiologist'))
             and ($1::uuid[] is null or exists (select 1 from user_site us where us.user_id = u.id and us.site_id = any($1)))
           order by u.display_name"#,
        sites as Option<&[Uuid]>
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.username, r.display_name)).collect())
}

pub(crate) fn push_site_scope(query: &mut QueryBuilder<'_, Postgres>, sites: Option<&[Uuid]>) {
    if let Some(sites) = sites {
        query.push(" and f.site_id = any(").push_bind(sites.to_vec()).push(")");
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelatedRow {
    pub id: i64,
    pub study_uid: String,
    pub study_date: Option<Date>,
    pub organ: String,
    pub probability: f64,
    pub status: String,
}

/// The patient's findings, newest first, within `sites`.
pub async fn of_patient(pool: &PgPool, patient_ref: Uuid, sites: Option<&[Uuid]>) -> DbResult<Vec<RelatedRow>> {
    Ok(sqlx::query_as!(
        RelatedRow,
        r#"select f.id, st.study_uid, f.study_date, f.organ, f.probability, f.status
           from finding f join study st on st.id = f.study_ref
           where f.patient_ref = $1 and ($2::uuid[] is null or f.site_id = any($2))
           order by f.detected_at desc, f.id desc limit 200"#,
        patient_ref,
        sites as Option<&[Uuid]>
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatientStudyRow {
    pub study_uid: String,
    pub study_date: Option<Date>,
    pub description: Option<String>,
}

/// The patient's studies, newest first, within `sites`.
pub async fn studies_of_patient(
    pool: &PgPool,
    patient_ref: Uuid,
    sites: Option<&[Uuid]>,
) -> DbResult<Vec<PatientStudyRow>> {
    Ok(sqlx::query_as!(
        PatientStudyRow,
        r#"select study_uid, study_date, description from study
           where patient_ref = $1 and ($2::uuid[] is null or site_id = any($2))
           order by study_date desc nulls last, created_at desc limit 200"#,
        patient_ref,
        sites as Option<&[Uuid]>
    )
    .fetch_all(pool)
    .await?)
}

/// One study as the patient's study list shows it (a referred finding's study, for the
/// receiving site, which sees no other study of the patient).
pub async fn patient_study(pool: &PgPool, study_uid: &str) -> DbResult<Option<PatientStudyRow>> {
    Ok(sqlx::query_as!(
        PatientStudyRow,
        "select study_uid, study_date, description from study where study_uid = $1",
        study_uid
    )
    .fetch_optional(pool)
    .await?)
}

/// How many findings exist (the demo seeds them only into an empty table).
pub async fn count(pool: &PgPool) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(r#"select count(*) as "n!" from finding"#).fetch_one(pool).await?)
}

/// The finding already raised for this organ on this series, if any (a re-run does not raise the
/// same lesion twice, nor bring back one a person closed).
pub async fn existing_for_series(conn: &mut PgConnection, series_uid: &str, organ: &str) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "select f.id from finding f join series se on se.id = f.series_ref
         where se.series_uid = $1 and f.organ = $2 order by f.id limit 1",
        series_uid,
        organ
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Findings on this series that screening results other than `result_id` raised, still open:
/// (id, organ). A newer result that no longer flags their organ notes it on them.
pub async fn open_raised_by_other_results(
    conn: &mut PgConnection,
    series_uid: &str,
    result_id: i64,
) -> DbResult<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        "select f.id, f.organ from finding f join series se on se.id = f.series_ref
         where se.series_uid = $1 and f.screening_result_ref is not null and f.screening_result_ref <> $2
           and f.status in ('new', 'in_review', 'workup_ordered', 'workup_scheduled', 'workup_done')
         order by f.id",
        series_uid,
        result_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.organ)).collect())
}

/// What a tumour-board case shows of the finding it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFindingRow {
    pub id: i64,
    pub class_label: String,
    pub probability: f64,
    pub model_name: String,
    pub model_version: String,
    pub detected_at: OffsetDateTime,
    pub diagnosis: Option<String>,
    pub location: Option<serde_json::Value>,
}

pub async fn case_finding(conn: &mut PgConnection, id: i64) -> DbResult<Option<CaseFindingRow>> {
    Ok(sqlx::query_as!(
        CaseFindingRow,
        "select id, class_label, probability, model_name, model_version, detected_at, diagnosis, location
         from finding where id = $1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A finding as a study's screening report prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyFindingRow {
    pub id: i64,
    pub series_uid: Option<String>,
    pub organ: String,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    pub status: String,
    pub model_name: String,
    pub model_version: String,
    pub location: Option<serde_json::Value>,
    /// The checksum of the model file, from the stored result that raised the finding (none for
    /// a finding entered without one).
    pub model_sha256: Option<String>,
}

/// The findings raised on a study, oldest first (the caller has checked that the study is
/// visible; its findings are at its site).
pub async fn of_study(pool: &PgPool, study_uid: &str) -> DbResult<Vec<StudyFindingRow>> {
    Ok(sqlx::query_as!(
        StudyFindingRow,
        r#"select f.id, se.series_uid as "series_uid?", f.organ, f.class_label, f.probability, f.threshold, f.status,
                  f.model_name, f.model_version, f.location, r.model_sha256 as "model_sha256?"
           from finding f join study st on st.id = f.study_ref
           left join series se on se.id = f.series_ref
           left join screening_result r on r.id = f.screening_result_ref
           where st.study_uid = $1
           order by f.detected_at, f.id"#,
        study_uid
    )
    .fetch_all(pool)
    .await?)
}
