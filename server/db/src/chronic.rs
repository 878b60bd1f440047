//! Chronic findings (fatty liver, low bone density, coronary calcium), their observations over
//! time and their event history. The rules and the pathway live in the `app` crate's domain;
//! these functions read and write what the caller decided, inside the caller's transaction.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// The study a screening result belongs to, as a chronic finding needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultStudy {
    pub study_ref: Uuid,
    pub patient_ref: Uuid,
    pub site_id: Option<Uuid>,
    /// The study date, or the result's day where the study has none.
    pub observed_on: Date,
}

pub async fn result_study(conn: &mut PgConnection, result_id: i64) -> DbResult<Option<ResultStudy>> {
    Ok(sqlx::query_as!(
        ResultStudy,
        r#"select st.id as study_ref, st.patient_ref, st.site_id,
                  coalesce(st.study_date, r.created_at::date) as "observed_on!"
           from screening_result r join study st on st.id = r.study_ref where r.id = $1"#,
        result_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A screening result's biomarkers, with its study and day.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierResult {
    pub result_id: i64,
    pub study_ref: Uuid,
    pub observed_on: Date,
    pub biomarkers: serde_json::Value,
}

/// The patient's screening results from studies before `study_ref`'s day (the latest result
/// of each study), oldest first: the history a newly raised finding starts its trend with.
pub async fn earlier_results(
    conn: &mut PgConnection,
    patient_ref: Uuid,
    study_ref: Uuid,
    observed_on: Date,
) -> DbResult<Vec<EarlierResult>> {
    Ok(sqlx::query_as!(
        EarlierResult,
        r#"select result_id as "result_id!", study_ref as "study_ref!", observed_on as "observed_on!",
                  biomarkers as "biomarkers!"
           from (select distinct on (r.study_ref) r.id as result_id, r.study_ref,
                        coalesce(st.study_date, r.created_at::date) as observed_on,
                        coalesce(r.result -> 'biomarkers', 'null'::jsonb) as biomarkers
                 from screening_result r join study st on st.id = r.study_ref
                 where st.patient_ref = $1 and st.id <> $2
                 order by r.study_ref, r.created_at desc, r.id desc) latest
           where observed_on <= $3
           order by observed_on, result_id"#,
        patient_ref,
        study_ref,
        observed_on
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The patient's open finding of `kind`, locked for the rest of the transaction.
pub async fn open_of_patient(conn: &mut PgConnection, patient_ref: Uuid, kind: &str) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "select id from chronic_finding where patient_ref = $1 and kind = $2 and status <> 'closed' for update",
        patient_ref,
        kind
    )
    .fetch_optional(&mut *conn)
    .await?)
}

#[derive(Debug, Clone)]
pub struct NewChronic<'a> {
    pub patient_ref: Uuid,
    pub site_id: Option<Uuid>,
    pub kind: &'a str,
    pub criterion: &'a str,
    pub value: f64,
    pub unit: &'a str,
    pub rules: serde_json::Value,
    pub study_ref: Uuid,
    pub screening_result_ref: i64,
    pub raised_at: OffsetDateTime,
}

/// Raises a finding with its first history entry (`raised`, version 1, by the system).
pub async fn raise(conn: &mut PgConnection, new: &NewChronic<'_>) -> DbResult<i64> {
    let id = sqlx::query_scalar!(
        "insert into chronic_finding (patient_ref, site_id, kind, criterion, value, unit, rules, study_ref,
                                      screening_result_ref, raised_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning id",
        new.patient_ref,
        new.site_id,
        new.kind,
        new.criterion,
        new.value,
        new.unit,
        new.rules,
        new.study_ref,
        new.screening_result_ref,
        new.raised_at
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into chronic_event (chronic_ref, version, kind, from_status, to_status, actor_role, occurred_at, payload)
         values ($1, 1, 'raised', null, 'new', 'system', $2, $3)",
        id,
        new.raised_at,
        serde_json::json!({ "criterion": new.criterion, "value": new.value, "unit": new.unit, "rules": new.rules })
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Records one result's figure for a finding; a result already recorded is left as it was.
pub async fn observe(
    conn: &mut PgConnection,
    chronic_id: i64,
    result_id: i64,
    study_ref: Uuid,
    value: f64,
    criterion: Option<&str>,
    observed_on: Date,
) -> DbResult<()> {
    sqlx::query!(
        "insert into chronic_observation (chronic_ref, screening_result_ref, study_ref, value, criterion, observed_on)
         values ($1, $2, $3, $4, $5, $6) on conflict (chronic_ref, screening_result_ref) do nothing",
        chronic_id,
        result_id,
        study_ref,
        value,
        criterion,
        observed_on
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A finding with what the list, its page and the letter show of the patient and study.
#[derive(Debug, Clone, PartialEq)]
pub struct ChronicRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub criterion: String,
    pub value: f64,
    pub unit: String,
    pub rules: serde_json::Value,
    pub physician: Option<String>,
    pub close_reason: Option<String>,
    pub version: i32,
    pub raised_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub patient_ref: Uuid,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<Date>,
    pub patient_letter_language: Option<String>,
    pub study_uid: String,
    pub study_date: Option<Date>,
    pub referring_physician: Option<String>,
    pub site_id: Option<Uuid>,
    pub site_code: Option<String>,
    pub site_name: Option<String>,
    /// The latest observation's figure and day.
    pub latest_value: Option<f64>,
    pub latest_on: Option<Date>,
}

/// Which findings a list shows.
#[derive(Debug, Clone, Default)]
pub struct ChronicQuery {
    pub statuses: Option<Vec<String>>,
    pub kind: Option<String>,
    /// The user's sites (`None`: every site, for administrators).
    pub scope: Option<Vec<Uuid>>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of findings, oldest first within the open ones (the longest waiting lead), and the
/// total that match.
pub async fn list(pool: &PgPool, query: &ChronicQuery) -> DbResult<(Vec<ChronicRow>, i64)> {
    let rows = rows(pool, query, None).await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from chronic_finding c
           where ($1::text[] is null or c.status = any($1))
             and ($2::text is null or c.kind = $2)
             and ($3::uuid[] is null or c.site_id = any($3))"#,
        query.statuses.as_deref(),
        query.kind.as_deref(),
        query.scope.as_deref()
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// One finding (`None` when unknown).
pub async fn get(pool: &PgPool, id: i64) -> DbResult<Option<ChronicRow>> {
    let query = ChronicQuery { limit: 1, ..ChronicQuery::default() };
    Ok(rows(pool, &query, Some(id)).await?.into_iter().next())
}

/// The list's rows, or the one finding `id`: one SELECT for both, so the page and the list
/// never disagree on what a finding shows.
async fn rows(pool: &PgPool, query: &ChronicQuery, id: Option<i64>) -> DbResult<Vec<ChronicRow>> {
    Ok(sqlx::query_as!(
        ChronicRow,
        r#"select c.id, c.kind, c.status, c.criterion, c.value, c.unit, c.rules, c.physician, c.close_reason,
                  c.version, c.raised_at, c.updated_at, p.id as patient_ref, p.patient_id, p.name as patient_name,
                  p.sex as patient_sex, p.birth_date as patient_birth_date,
                  p.letter_language as patient_letter_language, st.study_uid, st.study_date,
                  st.referring_physician, c.site_id, si.code as "site_code?", si.name as "site_name?",
                  o.value as "latest_value?", o.observed_on as "latest_on?"
           from chronic_finding c
           join patient p on p.id = c.patient_ref
           join study st on st.id = c.study_ref
           left join site si on si.id = c.site_id
           left join lateral (select value, observed_on from chronic_observation
                              where chronic_ref = c.id order by observed_on desc, id desc limit 1) o on true
           where ($1::text[] is null or c.status = any($1))
             and ($2::text is null or c.kind = $2)
             and ($3::uuid[] is null or c.site_id = any($3))
             and ($6::bigint is null or c.id = $6)
           order by (c.status = 'closed'), c.raised_at, c.id
           limit $4 offset $5"#,
        query.statuses.as_deref(),
        query.kind.as_deref(),
        query.scope.as_deref(),
        query.limit,
        query.offset,
        id
    )
    .fetch_all(pool)
    .await?)
}

/// The finding's status, version and site, its row locked for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, id: i64) -> DbResult<Option<(String, i32, Option<Uuid>)>> {
    Ok(sqlx::query!("select status, version, site_id from chronic_finding where id = $1 for update", id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.status, r.version, r.site_id)))
}

/// What an accepted event changes on the finding's row.
#[derive(Debug, Clone)]
pub struct ChronicUpdate<'a> {
    pub id: i64,
    pub to_status: &'a str,
    /// Set when a letter is sent (kept otherwise).
    pub physician: Option<&'a str>,
    /// Set on closing; kept while closed, cleared once reopened.
    pub close_reason: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct NewChronicEvent<'a> {
    pub chronic_id: i64,
    pub kind: &'a str,
    pub from_status: &'a str,
    pub actor_id: Uuid,
    pub actor_role: &'a str,
    pub payload: serde_json::Value,
}

/// Applies an accepted event: the row moves on one version and the history gains the entry.
/// Returns the new version.
pub async fn record(conn: &mut PgConnection, update: &ChronicUpdate<'_>, event: &NewChronicEvent<'_>) -> DbResult<i32> {
    let version = sqlx::query_scalar!(
        "update chronic_finding
         set status = $2, physician = coalesce($3, physician),
             close_reason = case when $2 = 'closed' then coalesce($4, close_reason) end,
             version = version + 1, updated_at = now()
         where id = $1 returning version",
        update.id,
        update.to_status,
        update.physician,
        update.close_reason
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into chronic_event (chronic_ref, version, kind, from_status, to_status, actor_id, actor_role, payload)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        event.chronic_id,
        version,
        event.kind,
        event.from_status,
        update.to_status,
        event.actor_id,
        event.actor_role,
        event.payload
    )
    .execute(&mut *conn)
    .await?;
    Ok(version)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChronicEventRow {
    pub version: i32,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_username: Option<String>,
    pub actor_name: Option<String>,
    pub actor_role: String,
    pub occurred_at: OffsetDateTime,
    pub payload: serde_json::Value,
}

pub async fn events(pool: &PgPool, id: i64) -> DbResult<Vec<ChronicEventRow>> {
    Ok(sqlx::query_as!(
        ChronicEventRow,
        r#"select e.version, e.kind, e.from_status, e.to_status, u.username as "actor_username?",
                  u.display_name as "actor_name?", e.actor_role, e.occurred_at, e.payload
           from chronic_event e left join app_user u on u.id = e.actor_id
           where e.chronic_ref = $1 order by e.version"#,
        id
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRow {
    pub value: f64,
    pub criterion: Option<String>,
    pub observed_on: Date,
    pub study_uid: String,
}

/// The finding's figures over time, oldest first.
pub async fn observations(pool: &PgPool, id: i64) -> DbResult<Vec<ObservationRow>> {
    Ok(sqlx::query_as!(
        ObservationRow,
        "select o.value, o.criterion, o.observed_on, st.study_uid
         from chronic_observation o join study st on st.id = o.study_ref
         where o.chronic_ref = $1 order by o.observed_on, o.id",
        id
    )
    .fetch_all(pool)
    .await?)
}

/// Findings raised from `from` to `to` (inclusive days; `None`: open-ended) at site `site_code`
/// (`None`: any) within `scope`, counted by kind and current status: the programme page's
/// chronic table.
pub async fn counts(
    pool: &PgPool,
    from: Option<Date>,
    to: Option<Date>,
    site_code: Option<&str>,
    scope: Option<&[Uuid]>,
) -> DbResult<Vec<(String, String, i64)>> {
    Ok(sqlx::query!(
        r#"select c.kind, c.status, count(*) as "n!" from chronic_finding c left join site si on si.id = c.site_id
           where ($1::date is null or c.raised_at >= $1::date)
             and ($2::date is null or c.raised_at < $2::date + 1)
             and ($3::text is null or si.code = $3)
             and ($4::uuid[] is null or c.site_id = any($4))
           group by c.kind, c.status order by c.kind, c.status"#,
        from,
        to,
        site_code,
        scope
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.kind, r.status, r.n))
    .collect())
}
