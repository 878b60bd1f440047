//! The tumour board's records: cases, measurements, proposals, decisions and signatures,
//! meetings and their agendas, treatment started. The board's rules live in the `app` crate's
//! domain (`domain::mdt`); these functions read and write what the caller decided, inside the
//! caller's transaction. Everything but the case row is append-only.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// A case with what its page needs from the patient, study and finding.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub id: i64,
    pub status: String,
    pub version: i32,
    pub cancer: String,
    pub edition: String,
    pub histology: Option<String>,
    pub subsite: Option<String>,
    pub diagnosis: Option<String>,
    pub referral_note: Option<String>,
    pub finding_id: Option<i64>,
    pub site_id: Option<Uuid>,
    pub site_code: Option<String>,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub patient_birth_date: Option<Date>,
    pub patient_sex: Option<String>,
    pub series_ref: Option<Uuid>,
    pub series_uid: Option<String>,
    pub study_uid: Option<String>,
    pub opened_at: OffsetDateTime,
    pub opened_by_name: Option<String>,
    pub updated_at: OffsetDateTime,
    pub images_measured_at: Option<OffsetDateTime>,
}

/// One case, if it is at one of `sites` (any with `None`) or referred to one of them by a
/// requested or accepted referral (the receiving board reads it to decide, then works it).
pub async fn get_case(
    conn: &mut PgConnection,
    id: i64,
    sites: Option<&[Uuid]>,
    lock: bool,
) -> DbResult<Option<CaseRow>> {
    // Locking reads the row alone first (a `for update` over the outer joins would lock the
    // patient and series rows too).
    if lock {
        let locked = sqlx::query_scalar!(
            "select m.id from mdt_case m where m.id = $1 and ($2::uuid[] is null or m.site_id = any($2) or exists (
                 select 1 from referral r where r.case_id = m.id and r.to_site_id = any($2)
                    and r.status in ('requested', 'accepted')))
             for update of m",
            id,
            sites as Option<&[Uuid]>
        )
        .fetch_optional(&mut *conn)
        .await?;
        if locked.is_none() {
            return Ok(None);
        }
    }
    Ok(sqlx::query_as!(
        CaseRow,
        r#"select m.id, m.status, m.version, m.cancer, m.edition, m.histology, m.subsite, m.diagnosis, m.referral_note,
                  m.finding_id, m.site_id, si.code as "site_code?", m.patient_ref, p.patient_id, p.name as patient_name,
                  p.birth_date as patient_birth_date, p.sex as patient_sex, m.series_ref,
                  se.series_uid as "series_uid?", st.study_uid as "study_uid?", m.opened_at,
                  u.display_name as "opened_by_name?", m.updated_at, m.images_measured_at
           from mdt_case m
           join patient p on p.id = m.patient_ref
           left join site si on si.id = m.site_id
           left join series se on se.id = m.series_ref
           left join study st on st.id = se.study_ref
           left join app_user u on u.id = m.opened_by
           where m.id = $1 and ($2::uuid[] is null or m.site_id = any($2) or exists (
                     select 1 from referral r where r.case_id = m.id and r.to_site_id = any($2)
                        and r.status in ('requested', 'accepted')))"#,
        id,
        sites as Option<&[Uuid]>
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A case as a list shows it: the latest proposal and decision with its signers.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseListRow {
    pub id: i64,
    pub status: String,
    pub version: i32,
    pub cancer: String,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub site_code: Option<String>,
    pub opened_at: OffsetDateTime,
    pub proposal_t: Option<String>,
    pub proposal_n: Option<String>,
    pub proposal_m: Option<String>,
    pub proposal_group: Option<String>,
    pub decision_version: Option<i32>,
    pub decision_t: Option<String>,
    pub decision_n: Option<String>,
    pub decision_m: Option<String>,
    pub decision_group: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub signed_by: Vec<String>,
    pub signer_ids: Vec<Uuid>,
    pub next_meeting_id: Option<i64>,
    pub next_meeting_title: Option<String>,
    pub next_meeting_at: Option<OffsetDateTime>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter<'a> {
    pub sites: Option<&'a [Uuid]>,
    pub status: Option<&'a str>,
    pub cancer: Option<&'a str>,
    pub ids: Option<&'a [i64]>,
    pub limit: i64,
    pub offset: i64,
}

/// Cases, newest activity first, and how many match in all. A site's lists hold its own cases and
/// those it accepted by referral (a requested one waits on the referrals page).
pub async fn list_cases(pool: &PgPool, filter: &CaseFilter<'_>) -> DbResult<(Vec<CaseListRow>, i64)> {
    let rows = sqlx::query_as!(
        CaseListRow,
        r#"select m.id, m.status, m.version, m.cancer, m.patient_ref, p.patient_id, p.name as patient_name,
                  si.code as "site_code?", m.opened_at,
                  pr.t as "proposal_t?", pr.n as "proposal_n?", pr.m as "proposal_m?", pr.stage_group as "proposal_group?",
                  d.version as "decision_version?", d.t as "decision_t?", d.n as "decision_n?", d.m as "decision_m?",
                  d.stage_group as "decision_group?", d.decided_at as "decided_at?",
                  coalesce(sg.names, '{}') as "signed_by!", coalesce(sg.ids, '{}') as "signer_ids!",
                  nm.id as "next_meeting_id?", nm.title as "next_meeting_title?", nm.starts_at as "next_meeting_at?"
           from mdt_case m
           join patient p on p.id = m.patient_ref
           left join site si on si.id = m.site_id
           left join lateral (select * from mdt_proposal where case_id = m.id order by version desc limit 1) pr on true
           left join lateral (select * from mdt_decision where case_id = m.id order by version desc limit 1) d on true
           left join lateral (select array_agg(u.display_name order by s.signed_at) as names,
                                     array_agg(u.id order by s.signed_at) as ids
                              from mdt_signature s join app_user u on u.id = s.signer_id
                              where s.decision_id = d.id) sg on true
           left join lateral (select mt.id, mt.title, mt.starts_at from mdt_agenda_item a join mdt_meeting mt on mt.id = a.meeting_id
                              where a.case_id = m.id and mt.starts_at >= now() - interval '12 hours'
                              order by mt.starts_at limit 1) nm on true
           where ($1::uuid[] is null or m.site_id = any($1) or exists (
                     select 1 from referral r where r.case_id = m.id and r.to_site_id = any($1)
                        and r.status = 'accepted'))
             and ($2::text is null or m.status = $2)
             and ($3::text is null or m.cancer = $3)
             and ($4::bigint[] is null or m.id = any($4))
           order by m.updated_at desc, m.id desc
           limit $5 offset $6"#,
        filter.sites as Option<&[Uuid]>,
        filter.status,
        filter.cancer,
        filter.ids as Option<&[i64]>,
        filter.limit,
        filter.offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from mdt_case m
           where ($1::uuid[] is null or m.site_id = any($1) or exists (
                     select 1 from referral r where r.case_id = m.id and r.to_site_id = any($1)
                        and r.status = 'accepted'))
             and ($2::text is null or m.status = $2)
             and ($3::text is null or m.cancer = $3)
             and ($4::bigint[] is null or m.id = any($4))"#,
        filter.sites as Option<&[Uuid]>,
        filter.status,
        filter.cancer,
        filter.ids as Option<&[i64]>,
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// A case opened directly by a surgeon or coordinator (no screening finding).
#[derive(Debug, Clone)]
pub struct NewDirectCase<'a> {
    pub patient_ref: Uuid,
    pub site_id: Option<Uuid>,
    pub cancer: &'a str,
    pub histology: Option<&'a str>,
    pub subsite: Option<&'a str>,
    pub diagnosis: Option<&'a str>,
    pub referral_note: Option<&'a str>,
    pub series_ref: Option<Uuid>,
    pub opened_by: Uuid,
}

pub async fn insert_direct_case(conn: &mut PgConnection, case: &NewDirectCase<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into mdt_case (patient_ref, site_id, cancer, histology, subsite, diagnosis, referral_note, series_ref, opened_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        case.patient_ref,
        case.site_id,
        case.cancer,
        case.histology,
        case.subsite,
        case.diagnosis,
        case.referral_note,
        case.series_ref,
        case.opened_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves a locked case to `status` (and the staging frame the review settled), if it is still
/// at `expected_version`. Returns the new version, or `None` when stale.
pub async fn update_case(
    conn: &mut PgConnection,
    id: i64,
    expected_version: i32,
    status: &str,
    histology: Option<&str>,
    subsite: Option<&str>,
) -> DbResult<Option<i32>> {
    Ok(sqlx::query_scalar!(
        "update mdt_case set status = $3, histology = $4, subsite = $5, version = version + 1, updated_at = now()
         where id = $1 and version = $2 returning version",
        id,
        expected_version,
        status,
        histology,
        subsite
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records that the image measurement read the case's series: `false` when it already had (the
/// row lock makes a second, concurrent measurement of the same case wait here and then stand
/// down, so measurements are never recorded twice).
pub async fn mark_images_measured(conn: &mut PgConnection, id: i64) -> DbResult<bool> {
    let updated =
        sqlx::query!("update mdt_case set images_measured_at = now() where id = $1 and images_measured_at is null", id)
            .execute(&mut *conn)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// Cases referred from a located screening finding whose images have not been measured yet,
/// oldest first.
pub async fn unmeasured_cases(pool: &sqlx::PgPool) -> DbResult<Vec<i64>> {
    Ok(sqlx::query_scalar!(
        "select id from mdt_case where images_measured_at is null and finding_id is not null
           and series_ref is not null order by id"
    )
    .fetch_all(pool)
    .await?)
}

/// Marks a case as changed without changing its state (a new proposal version): bumps the
/// version so that a review of the older proposal is refused as stale.
pub async fn touch_case(conn: &mut PgConnection, id: i64) -> DbResult<i32> {
    Ok(sqlx::query_scalar!(
        "update mdt_case set version = version + 1, updated_at = now() where id = $1 returning version",
        id
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementRow {
    pub id: i64,
    pub kind: String,
    pub size_mm: Option<f64>,
    pub location: Option<String>,
    pub side: Option<String>,
    pub series_ref: Option<Uuid>,
    pub slice_index: Option<i32>,
    pub position_mm: Option<Vec<f64>>,
    pub source: String,
    pub corrects: Option<i64>,
    pub note: Option<String>,
    pub recorded_by_name: Option<String>,
    pub recorded_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewMeasurement<'a> {
    pub case_id: i64,
    pub kind: &'a str,
    pub size_mm: Option<f64>,
    pub location: Option<&'a str>,
    pub side: Option<&'a str>,
    pub series_ref: Option<Uuid>,
    pub slice_index: Option<i32>,
    pub position_mm: Option<&'a [f64]>,
    pub source: &'a str,
    pub corrects: Option<i64>,
    pub note: Option<&'a str>,
    pub recorded_by: Option<Uuid>,
}

pub async fn insert_measurement(conn: &mut PgConnection, m: &NewMeasurement<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into mdt_measurement (case_id, kind, size_mm, location, side, series_ref, slice_index, position_mm,
                                      source, corrects, note, recorded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
        m.case_id,
        m.kind,
        m.size_mm,
        m.location,
        m.side,
        m.series_ref,
        m.slice_index,
        m.position_mm,
        m.source,
        m.corrects,
        m.note,
        m.recorded_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// A case's measurements, oldest first (corrected ones included; `corrects` says which).
pub async fn measurements(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<MeasurementRow>> {
    Ok(sqlx::query_as!(
        MeasurementRow,
        r#"select m.id, m.kind, m.size_mm, m.location, m.side, m.series_ref, m.slice_index, m.position_mm, m.source,
                  m.corrects, m.note, u.display_name as "recorded_by_name?", m.recorded_at
           from mdt_measurement m left join app_user u on u.id = m.recorded_by
           where m.case_id = $1 order by m.id"#,
        case_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    pub id: i64,
    pub version: i32,
    pub edition: String,
    pub t: Option<String>,
    pub n: Option<String>,
    pub m: Option<String>,
    pub stage_group: Option<String>,
    pub confidence: f64,
    pub method: String,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub model_sha256: Option<String>,
    pub evidence: serde_json::Value,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewProposal<'a> {
    pub case_id: i64,
    pub edition: &'a str,
    pub t: Option<&'a str>,
    pub n: Option<&'a str>,
    pub m: Option<&'a str>,
    pub stage_group: Option<&'a str>,
    pub confidence: f64,
    pub method: &'a str,
    pub model_name: Option<&'a str>,
    pub model_version: Option<&'a str>,
    pub model_sha256: Option<&'a str>,
    pub evidence: serde_json::Value,
    pub created_by: Option<Uuid>,
}

/// Appends the next proposal version. Returns (id, version).
pub async fn insert_proposal(conn: &mut PgConnection, p: &NewProposal<'_>) -> DbResult<(i64, i32)> {
    let row = sqlx::query!(
        "insert into mdt_proposal (case_id, version, edition, t, n, m, stage_group, confidence, method, model_name,
                                   model_version, model_sha256, evidence, created_by)
         select $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
         from mdt_proposal where case_id = $1
         returning id, version",
        p.case_id,
        p.edition,
        p.t,
        p.n,
        p.m,
        p.stage_group,
        p.confidence,
        p.method,
        p.model_name,
        p.model_version,
        p.model_sha256,
        p.evidence,
        p.created_by
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.id, row.version))
}

/// A case's proposals, newest first.
pub async fn proposals(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<ProposalRow>> {
    Ok(sqlx::query_as!(
        ProposalRow,
        "select id, version, edition, t, n, m, stage_group, confidence, method, model_name, model_version, model_sha256,
                evidence, created_at
         from mdt_proposal where case_id = $1 order by version desc",
        case_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// A staging model's run on a case (see the `mdt_model_staging` migration).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStagingRow {
    pub id: i64,
    pub model_name: String,
    pub model_version: String,
    pub model_sha256: String,
    pub provider: String,
    /// Per category the model declares: `{"t": {"label", "probability", "probabilities"}, ...}`.
    pub probabilities: serde_json::Value,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewModelStaging<'a> {
    pub case_id: i64,
    pub model_name: &'a str,
    pub model_version: &'a str,
    pub model_sha256: &'a str,
    pub provider: &'a str,
    pub probabilities: &'a serde_json::Value,
}

/// Records a staging model's run; `None` when this model version already ran on the case (a
/// model runs once per case, even when two runs meet).
pub async fn insert_model_staging(conn: &mut PgConnection, run: &NewModelStaging<'_>) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "insert into mdt_model_staging (case_id, model_name, model_version, model_sha256, provider, probabilities)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (case_id, model_name, model_version) do nothing
         returning id",
        run.case_id,
        run.model_name,
        run.model_version,
        run.model_sha256,
        run.provider,
        run.probabilities
    )
    .fetch_optional(conn)
    .await?)
}

/// The case's latest staging-model run, if a model ran on it.
pub async fn latest_model_staging(conn: &mut PgConnection, case_id: i64) -> DbResult<Option<ModelStagingRow>> {
    Ok(sqlx::query_as!(
        ModelStagingRow,
        "select id, model_name, model_version, model_sha256, provider, probabilities, created_at
           from mdt_model_staging where case_id = $1 order by id desc limit 1",
        case_id
    )
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub id: i64,
    pub version: i32,
    pub proposal_id: Option<i64>,
    pub edition: String,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub t_reason: Option<String>,
    pub n_reason: Option<String>,
    pub m_reason: Option<String>,
    pub recommendation: String,
    pub note: Option<String>,
    pub guideline_refs: Option<String>,
    pub amendment_reason: Option<String>,
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
    pub signers: Vec<String>,
    pub signer_ids: Vec<Uuid>,
    pub signed_at: Vec<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    pub case_id: i64,
    pub proposal_id: Option<i64>,
    pub edition: &'a str,
    pub t: &'a str,
    pub n: &'a str,
    pub m: &'a str,
    pub stage_group: Option<&'a str>,
    pub t_reason: Option<&'a str>,
    pub n_reason: Option<&'a str>,
    pub m_reason: Option<&'a str>,
    pub recommendation: &'a str,
    pub note: Option<&'a str>,
    pub guideline_refs: Option<&'a str>,
    pub amendment_reason: Option<&'a str>,
    pub decided_by: Uuid,
}

/// Appends the next decision version. Returns (id, version).
pub async fn insert_decision(conn: &mut PgConnection, d: &NewDecision<'_>) -> DbResult<(i64, i32)> {
    let row = sqlx::query!(
        "insert into mdt_decision (case_id, version, proposal_id, edition, t, n, m, stage_group, t_reason, n_reason,
                                   m_reason, recommendation, note, guideline_refs, amendment_reason, decided_by)
         select $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
         from mdt_decision where case_id = $1
         returning id, version",
        d.case_id,
        d.proposal_id,
        d.edition,
        d.t,
        d.n,
        d.m,
        d.stage_group,
        d.t_reason,
        d.n_reason,
        d.m_reason,
        d.recommendation,
        d.note,
        d.guideline_refs,
        d.amendment_reason,
        d.decided_by
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.id, row.version))
}

/// A case's decisions with their signatures, newest first.
pub async fn decisions(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<DecisionRow>> {
    Ok(sqlx::query_as!(
        DecisionRow,
        r#"select d.id, d.version, d.proposal_id, d.edition, d.t, d.n, d.m, d.stage_group, d.t_reason, d.n_reason,
                  d.m_reason, d.recommendation, d.note, d.guideline_refs, d.amendment_reason,
                  u.display_name as decided_by_name, d.decided_at,
                  coalesce(sg.names, '{}') as "signers!", coalesce(sg.ids, '{}') as "signer_ids!",
                  coalesce(sg.times, '{}') as "signed_at!"
           from mdt_decision d
           join app_user u on u.id = d.decided_by
           left join lateral (select array_agg(su.display_name order by s.signed_at) as names,
                                     array_agg(su.id order by s.signed_at) as ids,
                                     array_agg(s.signed_at order by s.signed_at) as times
                              from mdt_signature s join app_user su on su.id = s.signer_id
                              where s.decision_id = d.id) sg on true
           where d.case_id = $1 order by d.version desc"#,
        case_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn insert_signature(conn: &mut PgConnection, decision_id: i64, signer: Uuid) -> DbResult<()> {
    sqlx::query!("insert into mdt_signature (decision_id, signer_id) values ($1, $2)", decision_id, signer)
        .execute(&mut *conn)
        .await
        .map_err(|e| crate::unique_violation(e, "signature"))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentRow {
    pub id: i64,
    pub decision_id: i64,
    pub treatment: String,
    pub started_on: Date,
    pub deviation_reason: Option<String>,
    pub recorded_by_name: String,
    pub recorded_at: OffsetDateTime,
}

pub async fn insert_treatment(
    conn: &mut PgConnection,
    case_id: i64,
    decision_id: i64,
    treatment: &str,
    started_on: Date,
    deviation_reason: Option<&str>,
    recorded_by: Uuid,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into mdt_treatment (case_id, decision_id, treatment, started_on, deviation_reason, recorded_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        case_id,
        decision_id,
        treatment,
        started_on,
        deviation_reason,
        recorded_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn treatments(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<TreatmentRow>> {
    Ok(sqlx::query_as!(
        TreatmentRow,
        "select t.id, t.decision_id, t.treatment, t.started_on, t.deviation_reason, u.display_name as recorded_by_name,
                t.recorded_at
         from mdt_treatment t join app_user u on u.id = t.recorded_by
         where t.case_id = $1 order by t.id desc",
        case_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRow {
    pub id: i64,
    pub title: String,
    pub starts_at: OffsetDateTime,
    pub site_id: Option<Uuid>,
    pub site_code: Option<String>,
    pub chair_id: Option<Uuid>,
    pub chair_name: Option<String>,
    pub attendee_ids: Vec<Uuid>,
    pub attendees: Vec<String>,
    pub case_count: i64,
}

/// Meetings of the given sites (all with `None`), in time order; `upcoming` keeps those not yet
/// over (started less than 12 hours ago), otherwise past ones come newest first.
pub async fn meetings(
    pool: &PgPool,
    sites: Option<&[Uuid]>,
    upcoming: Option<bool>,
    limit: i64,
) -> DbResult<Vec<MeetingRow>> {
    Ok(sqlx::query_as!(
        MeetingRow,
        r#"select id as "id!", title as "title!", starts_at as "starts_at!", site_id, site_code as "site_code?",
                  chair_id, chair_name as "chair_name?", attendee_ids as "attendee_ids!", attendees as "attendees!",
                  case_count as "case_count!"
           from mdt_meeting_summary mt
           where ($1::uuid[] is null or mt.site_id = any($1))
             and ($2::bool is null or ($2 = (mt.starts_at >= now() - interval '12 hours')))
           order by case when $2 = false then extract(epoch from mt.starts_at) * -1 else extract(epoch from mt.starts_at) end
           limit $3"#,
        sites as Option<&[Uuid]>,
        upcoming,
        limit
    )
    .fetch_all(pool)
    .await?)
}

pub async fn get_meeting(conn: &mut PgConnection, id: i64, sites: Option<&[Uuid]>) -> DbResult<Option<MeetingRow>> {
    Ok(sqlx::query_as!(
        MeetingRow,
        r#"select id as "id!", title as "title!", starts_at as "starts_at!", site_id, site_code as "site_code?",
                  chair_id, chair_name as "chair_name?", attendee_ids as "attendee_ids!", attendees as "attendees!",
                  case_count as "case_count!"
           from mdt_meeting_summary mt
           where mt.id = $1 and ($2::uuid[] is null or mt.site_id = any($2))"#,
        id,
        sites as Option<&[Uuid]>
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A meeting's agenda: case ids in order.
pub async fn agenda(conn: &mut PgConnection, meeting_id: i64) -> DbResult<Vec<i64>> {
    Ok(sqlx::query_scalar!("select case_id from mdt_agenda_item where meeting_id = $1 order by position", meeting_id)
        .fetch_all(&mut *conn)
        .await?)
}

pub async fn insert_meeting(
    conn: &mut PgConnection,
    site_id: Option<Uuid>,
    title: &str,
    starts_at: OffsetDateTime,
    chair_id: Option<Uuid>,
    attendees: &[Uuid],
    created_by: Option<Uuid>,
) -> DbResult<i64> {
    let id = sqlx::query_scalar!(
        "insert into mdt_meeting (site_id, title, starts_at, chair_id, created_by) values ($1, $2, $3, $4, $5) returning id",
        site_id,
        title,
        starts_at,
        chair_id,
        created_by
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into mdt_attendee (meeting_id, user_id) select $1, unnest($2::uuid[]) on conflict do nothing",
        id,
        attendees
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Puts a case at the end of a meeting's agenda (once). Returns its position.
pub async fn add_to_agenda(
    conn: &mut PgConnection,
    meeting_id: i64,
    case_id: i64,
    added_by: Option<Uuid>,
) -> DbResult<i32> {
    let position = sqlx::query_scalar!(
        r#"insert into mdt_agenda_item (meeting_id, case_id, position, added_by)
           select $1, $2, coalesce(max(position), 0) + 1, $3 from mdt_agenda_item where meeting_id = $1
           on conflict (meeting_id, case_id) do nothing
           returning position"#,
        meeting_id,
        case_id,
        added_by
    )
    .fetch_optional(&mut *conn)
    .await?;
    position.ok_or(crate::DbError::AlreadyExists("agenda item"))
}

/// The meetings a case is on, in time order: (id, title, starts_at).
pub async fn meetings_of_case(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<(i64, String, OffsetDateTime)>> {
    Ok(sqlx::query!(
        "select mt.id, mt.title, mt.starts_at from mdt_agenda_item a join mdt_meeting mt on mt.id = a.meeting_id
         where a.case_id = $1 order by mt.starts_at",
        case_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.title, r.starts_at))
    .collect())
}

/// A signed decision beside the proposal it reviewed: one row per decided case (its latest
/// signed version), for the agreement statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparedRow {
    pub case_id: i64,
    pub cancer: String,
    pub patient_id: String,
    pub decided_at: OffsetDateTime,
    pub proposal_t: Option<String>,
    pub proposal_n: Option<String>,
    pub proposal_m: Option<String>,
    pub proposal_group: Option<String>,
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub t_reason: Option<String>,
    pub n_reason: Option<String>,
    pub m_reason: Option<String>,
}

/// Decided cases of the given sites and cancer, decided within `[from, to)`.
pub async fn compared(
    pool: &PgPool,
    sites: Option<&[Uuid]>,
    cancer: Option<&str>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> DbResult<Vec<ComparedRow>> {
    Ok(sqlx::query_as!(
        ComparedRow,
        r#"select m.id as case_id, m.cancer, p.patient_id, d.decided_at,
                  pr.t as "proposal_t?", pr.n as "proposal_n?", pr.m as "proposal_m?", pr.stage_group as "proposal_group?",
                  d.t, d.n, d.m, d.stage_group, d.t_reason, d.n_reason, d.m_reason
           from mdt_case m
           join patient p on p.id = m.patient_ref
           join lateral (select * from mdt_decision where case_id = m.id order by version desc limit 1) d on true
           left join mdt_proposal pr on pr.id = d.proposal_id
           where m.status = 'decided'
             and ($1::uuid[] is null or m.site_id = any($1))
             and ($2::text is null or m.cancer = $2)
             and ($3::timestamptz is null or d.decided_at >= $3)
             and ($4::timestamptz is null or d.decided_at < $4)
           order by m.id"#,
        sites as Option<&[Uuid]>,
        cancer,
        from,
        to
    )
    .fetch_all(pool)
    .await?)
}
