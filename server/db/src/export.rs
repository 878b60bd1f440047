//! What the de-identified export reads besides the programme's rows (`program::positives`, whose
//! period and milestones it reuses): the identity each pseudonym is derived from, the images of
//! the period's studies, and the tumour board's signed decisions. Free text (diagnoses, reasons,
//! notes) is never selected.

use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// What the export adds to a programme positive.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingDetail {
    pub id: i64,
    pub assigning_authority: String,
    pub patient_id: String,
    pub study_ref: Uuid,
    pub study_uid: String,
    pub series_uid: Option<String>,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    /// The lesion's diameter where the model located it.
    pub diameter_mm: Option<f64>,
}

/// The details of findings `ids` (any order).
pub async fn finding_details(pool: &PgPool, ids: &[i64]) -> DbResult<Vec<FindingDetail>> {
    Ok(sqlx::query_as!(
        FindingDetail,
        r#"select f.id, p.assigning_authority, p.patient_id, f.study_ref, st.study_uid, se.series_uid as "series_uid?",
                  f.class_label, f.probability, f.threshold,
                  case when jsonb_typeof(f.location->'diameter_mm') = 'number'
                       then (f.location->>'diameter_mm')::double precision end as diameter_mm
           from finding f
           join patient p on p.id = f.patient_ref
           join study st on st.id = f.study_ref
           left join series se on se.id = f.series_ref
           where f.id = any($1)"#,
        ids
    )
    .fetch_all(pool)
    .await?)
}

/// A decided tumour-board case with its signed decision (the latest version, as the agreement
/// statistics read it), the AI proposal it reviewed, and the first treatment recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionExportRow {
    pub case_id: i64,
    pub finding_id: Option<i64>,
    pub assigning_authority: String,
    pub patient_id: String,
    pub site_code: Option<String>,
    pub cancer: String,
    pub edition: String,
    pub histology: Option<String>,
    pub subsite: Option<String>,
    /// The finding's scan date as the programme counts it; for a case opened without a finding,
    /// the date of its series' study, else the day it was opened (UTC).
    pub scan_date: Date,
    /// The study the case's images belong to (the finding's, or its series').
    pub study_ref: Option<Uuid>,
    pub decision_version: i32,
    pub decided_at: OffsetDateTime,
    pub signatures: i64,
    pub proposal_t: Option<String>,
    pub proposal_n: Option<String>,
    pub proposal_m: Option<String>,
    pub proposal_group: Option<String>,
    pub proposal_confidence: Option<f64>,
    pub proposal_method: Option<String>,
    pub proposal_model_name: Option<String>,
    pub proposal_model_version: Option<String>,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub recommendation: String,
    pub treatment: Option<String>,
    pub treatment_started_on: Option<Date>,
}

/// Decided cases whose scan date lies in `[from, to]`, of `scope`'s sites (`None`: every site),
/// by case.
pub async fn decisions(
    pool: &PgPool,
    from: Date,
    to: Date,
    scope: Option<&[Uuid]>,
) -> DbResult<Vec<DecisionExportRow>> {
    Ok(sqlx::query_as!(
        DecisionExportRow,
        r#"select m.id as case_id, m.finding_id as "finding_id?", p.assigning_authority, p.patient_id,
                  si.code as "site_code?", m.cancer, m.edition, m.histology, m.subsite,
                  sd.scan_date as "scan_date!", coalesce(f.study_ref, se.study_ref) as "study_ref?",
                  d.version as decision_version, d.decided_at,
                  (select count(*) from mdt_signature s where s.decision_id = d.id) as "signatures!",
                  pr.t as "proposal_t?", pr.n as "proposal_n?", pr.m as "proposal_m?",
                  pr.stage_group as "proposal_group?", pr.confidence as "proposal_confidence?",
                  pr.method as "proposal_method?", pr.model_name as "proposal_model_name?",
                  pr.model_version as "proposal_model_version?",
                  d.t, d.n, d.m, d.stage_group, d.recommendation,
                  tr.treatment as "treatment?", tr.started_on as "treatment_started_on?"
           from mdt_case m
           join patient p on p.id = m.patient_ref
           left join finding f on f.id = m.finding_id
           left join series se on se.id = m.series_ref
           left join study st on st.id = se.study_ref
           left join site si on si.id = m.site_id
           cross join lateral (select coalesce(f.study_date, (f.detected_at at time zone 'UTC')::date,
                                               st.study_date, (se.created_at at time zone 'UTC')::date,
                                               (m.opened_at at time zone 'UTC')::date) as scan_date) sd
           join lateral (select * from mdt_decision where case_id = m.id order by version desc limit 1) d on true
           left join mdt_proposal pr on pr.id = d.proposal_id
           left join lateral (select t.treatment, t.started_on from mdt_treatment t where t.case_id = m.id
                              order by t.started_on, t.id limit 1) tr on true
           where m.status = 'decided'
             and sd.scan_date between $1 and $2
             and ($3::uuid[] is null or m.site_id = any($3))
           order by m.id"#,
        from,
        to,
        scope as Option<&[Uuid]>,
    )
    .fetch_all(pool)
    .await?)
}

/// A stored instance of a study, with the identity of the study's patient.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportInstance {
    pub study_ref: Uuid,
    pub assigning_authority: String,
    pub patient_id: String,
    pub object_key: String,
}

/// Every stored instance of `studies`, study by study, series by series, in slice order.
pub async fn instances_of_studies(pool: &PgPool, studies: &[Uuid]) -> DbResult<Vec<ExportInstance>> {
    Ok(sqlx::query_as!(
        ExportInstance,
        "select st.id as study_ref, p.assigning_authority, p.patient_id, i.object_key
         from instance i
         join series se on se.id = i.series_ref
         join study st on st.id = se.study_ref
         join patient p on p.id = st.patient_ref
         where st.id = any($1)
         order by st.id, se.id, i.instance_number nulls last, i.sop_instance_uid",
        studies
    )
    .fetch_all(pool)
    .await?)
}
