//! The rows behind the programme table: every AI-positive finding of a period with the dates of
//! its milestones, and every series of the period with how its screening ended. The figures are
//! counted from these rows in the `app` crate (`domain::program`), so that each figure and the
//! list of records behind it come from the same rows.

use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// Which records a programme figure covers. The period is by scan date: the study's date, or
/// (for a study without one) the day its finding or series was recorded, in UTC.
#[derive(Debug, Clone, Default)]
pub struct ProgramFilter {
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// The caller's sites (`None`: every site).
    pub scope: Option<Vec<Uuid>>,
    pub site_code: Option<String>,
    pub cancer: Option<String>,
    pub model_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PositiveRow {
    pub id: i64,
    pub organ: String,
    pub status: String,
    pub confirmed_by: Option<String>,
    pub scan_date: Date,
    pub outcome_date: Option<Date>,
    pub due_date: Option<Date>,
    pub workup_ordered: bool,
    pub decision_date: Option<Date>,
    pub treatment_date: Option<Date>,
    pub model_name: String,
    pub model_version: String,
    pub site_code: Option<String>,
    pub patient_id: String,
}

/// The AI-positive findings of the period, oldest first.
pub async fn positives(pool: &PgPool, filter: &ProgramFilter) -> DbResult<Vec<PositiveRow>> {
    Ok(sqlx::query_as!(
        PositiveRow,
        r#"select f.id, f.organ, f.status, f.confirmed_by,
                  coalesce(f.study_date, (f.detected_at at time zone 'UTC')::date) as "scan_date!",
                  f.outcome_date, f.due_date,
                  exists (select 1 from finding_event e where e.finding_id = f.id and e.event = 'order_workup')
                      as "workup_ordered!",
                  (select min((d.decided_at at time zone 'UTC')::date) from mdt_case c
                       join mdt_decision d on d.case_id = c.id where c.finding_id = f.id) as decision_date,
                  (select min(t.started_on) from mdt_case c
                       join mdt_treatment t on t.case_id = c.id where c.finding_id = f.id) as treatment_date,
                  f.model_name, f.model_version, si.code as "site_code?", p.patient_id
           from finding f
           join patient p on p.id = f.patient_ref
           left join site si on si.id = f.site_id
           where ($1::date is null or coalesce(f.study_date, (f.detected_at at time zone 'UTC')::date) >= $1)
             and ($2::date is null or coalesce(f.study_date, (f.detected_at at time zone 'UTC')::date) <= $2)
             and ($3::uuid[] is null or f.site_id = any($3))
             and ($4::text is null or si.code = $4)
             and ($5::text is null or f.organ = $5)
             and ($6::text is null or f.model_version = $6)
           order by 5, f.id"#,
        filter.from,
        filter.to,
        filter.scope.as_deref(),
        filter.site_code.as_deref(),
        filter.cancer.as_deref(),
        filter.model_version.as_deref(),
    )
    .fetch_all(pool)
    .await?)
}

/// A series of the period and how its latest finished screening ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenedRow {
    pub series_uid: String,
    pub study_uid: String,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub site_code: Option<String>,
    pub scan_date: Date,
    /// `done` (screened, it has a result) or `skipped` (not eligible).
    pub status: String,
    pub skip_codes: Option<Vec<String>>,
    /// The cancers the result covers (its `tumor_probabilities` organs); empty when skipped.
    pub organs: Vec<String>,
    pub model_version: String,
}

/// Every series of the period whose screening finished (done or skipped), once each: its latest
/// finished job of the model version (any version when none is given). Failed jobs are the
/// operations team's concern (the screening queue), not the programme's.
pub async fn screened(pool: &PgPool, filter: &ProgramFilter) -> DbResult<Vec<ScreenedRow>> {
    Ok(sqlx::query_as!(
        ScreenedRow,
        r#"select distinct on (se.id)
                  se.series_uid, st.study_uid, st.patient_ref, p.patient_id, si.code as "site_code?",
                  coalesce(st.study_date, (se.created_at at time zone 'UTC')::date) as "scan_date!",
                  j.status, j.skip_codes,
                  coalesce(array(select jsonb_object_keys(r.result->'tumor_probabilities')
                                 where jsonb_typeof(r.result->'tumor_probabilities') = 'object'
                                 order by 1), '{}') as "organs!",
                  j.model_version
           from screening_job j
           join series se on se.id = j.series_ref
           join study st on st.id = se.study_ref
           join patient p on p.id = st.patient_ref
           left join site si on si.id = st.site_id
           left join screening_result r on r.job_id = j.id
           where j.status in ('done', 'skipped')
             and ($1::date is null or coalesce(st.study_date, (se.created_at at time zone 'UTC')::date) >= $1)
             and ($2::date is null or coalesce(st.study_date, (se.created_at at time zone 'UTC')::date) <= $2)
             and ($3::uuid[] is null or st.site_id = any($3))
             and ($4::text is null or si.code = $4)
             and ($5::text is null or j.model_version = $5)
           order by se.id, j.finished_at desc nulls last, j.id desc"#,
        filter.from,
        filter.to,
        filter.scope.as_deref(),
        filter.site_code.as_deref(),
        filter.model_version.as_deref(),
    )
    .fetch_all(pool)
    .await?)
}

/// A referral of the period as the referral flows count it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub id: i64,
    pub from_site: String,
    pub to_site: String,
    pub status: String,
    /// The finding reached an outcome at the receiving site (`referral.outcome`).
    pub outcome_reported: bool,
    /// The latest decision's time: for an accepted referral, its acceptance.
    pub decided_at: Option<OffsetDateTime>,
    /// For an accepted referral, when its finding first entered one of `worked_up` at or after the
    /// acceptance (its history says, whoever recorded it: while accepted, the receiving site); for
    /// an accepted case referral, when the receiving board's decision was signed.
    pub worked_up_at: Option<OffsetDateTime>,
}

/// The referrals made in the period (by the day they were made, in UTC), from or to the site
/// (and the caller's sites) when given, whatever the cancer and model version, by sending then
/// receiving site. `worked_up` names the finding states that say its work-up is done.
pub async fn referrals(pool: &PgPool, filter: &ProgramFilter, worked_up: &[String]) -> DbResult<Vec<FlowRow>> {
    Ok(sqlx::query_as!(
        FlowRow,
        r#"select r.id, fs.code as from_site, ts.code as to_site, r.status,
                  r.outcome is not null as "outcome_reported!", r.decided_at,
                  case when r.status = 'accepted' and r.case_id is not null then r.outcome_at
                       when r.status = 'accepted' then
                      (select min(e.occurred_at) from finding_event e
                        where e.finding_id = r.finding_id and e.to_status = any($5) and e.occurred_at >= r.decided_at)
                  end as worked_up_at
           from referral r
           join site fs on fs.id = r.from_site_id
           join site ts on ts.id = r.to_site_id
           where ($1::date is null or (r.created_at at time zone 'UTC')::date >= $1)
             and ($2::date is null or (r.created_at at time zone 'UTC')::date <= $2)
             and ($3::uuid[] is null or r.from_site_id = any($3) or r.to_site_id = any($3))
             and ($4::text is null or fs.code = $4 or ts.code = $4)
           order by fs.code, ts.code, r.id"#,
        filter.from,
        filter.to,
        filter.scope.as_deref(),
        filter.site_code.as_deref(),
        worked_up,
    )
    .fetch_all(pool)
    .await?)
}

/// The model versions that have screened or raised findings, the one first seen last first (for
/// the filter).
pub async fn model_versions(pool: &PgPool) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"select v as "v!" from (
               select model_version as v, min(enqueued_at) as seen from screening_job group by 1
               union all
               select model_version, min(detected_at) from finding group by 1
           ) versions group by v order by min(seen) desc, v"#
    )
    .fetch_all(pool)
    .await?)
}
