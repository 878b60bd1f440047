//! What a patient's FHIR bundle is built from: the records linked as one person, their studies,
//! screening results, findings with their work-up and outcome, and the tumour board's decided
//! cases. Scoping by site is the caller's `scope` (`None`: every site).

use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

#[derive(Debug, Clone, PartialEq)]
pub struct StudyRow {
    pub study_uid: String,
    pub patient_ref: Uuid,
    pub study_date: Option<Date>,
    pub accession_number: Option<String>,
    pub description: Option<String>,
    pub series: i64,
    pub instances: i64,
}

pub async fn studies(pool: &PgPool, patients: &[Uuid], scope: Option<&[Uuid]>) -> DbResult<Vec<StudyRow>> {
    Ok(sqlx::query_as!(
        StudyRow,
        r#"select st.study_uid, st.patient_ref, st.study_date, st.accession_number, st.description,
                  (select count(*) from series se where se.study_ref = st.id) as "series!",
                  (select count(*) from instance i join series se on se.id = i.series_ref where se.study_ref = st.id) as "instances!"
           from study st
           where st.patient_ref = any($1) and ($2::uuid[] is null or st.site_id = any($2))
           order by st.study_date nulls last, st.study_uid"#,
        patients,
        scope
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub id: i64,
    pub study_uid: String,
    pub series_uid: String,
    pub patient_ref: Uuid,
    pub model_name: String,
    pub model_version: String,
    pub model_sha256: String,
    pub created_at: OffsetDateTime,
    pub result: serde_json::Value,
}

/// The latest screening result of each series.
pub async fn results(pool: &PgPool, patients: &[Uuid], scope: Option<&[Uuid]>) -> DbResult<Vec<ResultRow>> {
    Ok(sqlx::query_as!(
        ResultRow,
        r#"select distinct on (r.series_ref) r.id, st.study_uid, se.series_uid, st.patient_ref, r.model_name,
                  r.model_version, r.model_sha256, r.created_at, r.result
           from screening_result r join study st on st.id = r.study_ref join series se on se.id = r.series_ref
           where st.patient_ref = any($1) and ($2::uuid[] is null or st.site_id = any($2))
           order by r.series_ref, r.created_at desc, r.id desc"#,
        patients,
        scope
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub id: i64,
    pub study_uid: String,
    pub patient_ref: Uuid,
    pub organ: String,
    pub class_label: String,
    pub probability: f64,
    pub status: String,
    pub detected_at: OffsetDateTime,
    pub screening_result_ref: Option<i64>,
    pub workup_modality: Option<String>,
    pub workup_due: Option<Date>,
    pub workup_ordered_at: Option<OffsetDateTime>,
    pub outcome: Option<String>,
    pub confirmed_by: Option<String>,
    pub diagnosis: Option<String>,
    pub outcome_date: Option<Date>,
}

pub async fn findings(pool: &PgPool, patients: &[Uuid], scope: Option<&[Uuid]>) -> DbResult<Vec<FindingRow>> {
    Ok(sqlx::query_as!(
        FindingRow,
        r#"select f.id, st.study_uid, f.patient_ref, f.organ, f.class_label, f.probability, f.status, f.detected_at,
                  f.screening_result_ref, f.workup_modality, f.workup_due,
                  (select max(e.occurred_at) from finding_event e where e.finding_id = f.id and e.event = 'order_workup')
                    as workup_ordered_at,
                  f.outcome, f.confirmed_by, f.diagnosis, f.outcome_date
           from finding f join study st on st.id = f.study_ref
           where f.patient_ref = any($1) and ($2::uuid[] is null or f.site_id = any($2))
           order by f.detected_at, f.id"#,
        patients,
        scope
    )
    .fetch_all(pool)
    .await?)
}

/// A decided tumour-board case's decision in force (its latest version).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub case_id: i64,
    pub patient_ref: Uuid,
    pub finding_id: Option<i64>,
    pub cancer: String,
    pub version: i32,
    pub edition: String,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub decided_at: OffsetDateTime,
}

pub async fn decisions(pool: &PgPool, patients: &[Uuid], scope: Option<&[Uuid]>) -> DbResult<Vec<DecisionRow>> {
    Ok(sqlx::query_as!(
        DecisionRow,
        r#"select distinct on (c.id) c.id as case_id, c.patient_ref, c.finding_id, c.cancer, d.version, d.edition,
                  d.t, d.n, d.m, d.stage_group, d.decided_at
           from mdt_case c join mdt_decision d on d.case_id = c.id
           where c.status = 'decided' and c.patient_ref = any($1) and ($2::uuid[] is null or c.site_id = any($2))
           order by c.id, d.version desc"#,
        patients,
        scope
    )
    .fetch_all(pool)
    .await?)
}
