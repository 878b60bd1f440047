//! The screening job queue (PostgreSQL, `FOR UPDATE SKIP LOCKED`). A worker claims a job with a
//! lease it renews by heartbeat while it works; a worker that dies (even by `kill -9`) simply
//! stops renewing, the lease expires, and another worker claims the job again. Every state change
//! checks the lease owner, so a worker that lost its lease cannot finish a job another now holds.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::DbResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobReason {
    /// The series completed and is eligible: screened once per model version.
    Auto,
    /// Someone asked for a (re-)run.
    Rerun,
}

impl JobReason {
    fn as_str(self) -> &'static str {
        match self {
            JobReason::Auto => "auto",
            JobReason::Rerun => "rerun",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnqueueRequest {
    pub series_uid: String,
    pub model_name: String,
    pub model_version: String,
    pub reason: JobReason,
    pub requested_by: Option<Uuid>,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued(i64),
    /// An automatic job for this series and model version exists already (its id).
    AlreadyScreened(i64),
    UnknownSeries,
}

/// Queues a job. Automatic jobs queued here are the first generation, idempotent per (series,
/// model, version); the scheduler queues later generations with [`queue_auto`].
pub async fn enqueue(conn: &mut PgConnection, request: &EnqueueRequest) -> DbResult<Enqueued> {
    let inserted = sqlx::query_scalar!(
        "insert into screening_job (series_ref, model_name, model_version, reason, requested_by, max_attempts)
         select id, $2, $3, $4, $5, $6 from series where series_uid = $1
         on conflict (series_ref, model_name, model_version, generation) where reason = 'auto' do nothing
         returning id",
        request.series_uid,
        request.model_name,
        request.model_version,
        request.reason.as_str(),
        request.requested_by,
        request.max_attempts,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok(Enqueued::Queued(id));
    }
    let existing = sqlx::query_scalar!(
        "select j.id from screening_job j join series se on se.id = j.series_ref
         where se.series_uid = $1 and j.model_name = $2 and j.model_version = $3 and j.reason = 'auto' and j.generation = 1",
        request.series_uid,
        request.model_name,
        request.model_version,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(existing.map_or(Enqueued::UnknownSeries, Enqueued::AlreadyScreened))
}

/// A job a worker now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub series_uid: String,
    pub study_uid: String,
    pub model_name: String,
    pub model_version: String,
    /// This is attempt number `attempts` (1 for the first).
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Who asks the queue for work: a worker's identity and the one model version its session runs.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    /// The lease owner (`host:pid:n`), checked by every later heartbeat and outcome.
    pub owner: &'a str,
    pub model_name: &'a str,
    pub model_version: &'a str,
}

/// Claims the oldest claimable job for the claimant's model version: queued and due, or running
/// with an expired lease (its worker died) and attempts left. A job queued for another version
/// waits for a worker that runs that version (the health panel's queue check calls it a backlog
/// after 30 minutes), so a series is never screened by a model other than the one its job
/// names. Jobs whose lease expired on their last attempt, of any version, are failed first.
pub async fn claim(pool: &PgPool, claimant: &Claimant<'_>, lease: Duration) -> DbResult<Option<ClaimedJob>> {
    sqlx::query!(
        "update screening_job
         set status = 'failed', finished_at = now(), lease_owner = null,
             last_error = coalesce(last_error || '; ', '') || 'the worker stopped answering on its last attempt'
         where status = 'running' and lease_expires_at < now() and attempts >= max_attempts"
    )
    .execute(pool)
    .await?;
    Ok(sqlx::query_as!(
        ClaimedJob,
        r#"with next as (
               select id from screening_job
               where model_name = $3 and model_version = $4
                 and ((status = 'queued' and not_before <= now())
                      or (status = 'running' and lease_expires_at < now() and attempts < max_attempts))
               order by id
               for update skip locked
               limit 1)
           update screening_job j
           set status = 'running', attempts = j.attempts + 1, lease_owner = $1,
               lease_expires_at = now() + make_interval(secs => $2), heartbeat_at = now(),
               started_at = coalesce(j.started_at, now()), stage = null
           from next, series se, study st
           where j.id = next.id and se.id = j.series_ref and st.id = se.study_ref
           returning j.id, se.series_uid, st.study_uid, j.model_name, j.model_version, j.attempts, j.max_attempts"#,
        claimant.owner,
        lease.as_secs_f64(),
        claimant.model_name,
        claimant.model_version,
    )
    .fetch_optional(pool)
    .await?)
}

/// Renews the lease and records the stage. `false`: the lease was lost (it expired and another
/// worker holds the job now): the caller must stop working on it.
pub async fn heartbeat(pool: &PgPool, id: i64, owner: &str, lease: Duration, stage: Option<&str>) -> DbResult<bool> {
    let renewed = sqlx::query!(
        "update screening_job
         set lease_expires_at = now() + make_interval(secs => $3), heartbeat_at = now(), stage = coalesce($4, stage)
         where id = $1 and lease_owner = $2 and status = 'running'",
        id,
        owner,
        lease.as_secs_f64(),
        stage,
    )
    .execute(pool)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Marks the job done, inside the caller's transaction (with the results it stores). `false`:
/// the lease was lost and nothing may be committed.
pub async fn complete(conn: &mut PgConnection, id: i64, owner: &str) -> DbResult<bool> {
    let done = sqlx::query!(
        "update screening_job
         set status = 'done', finished_at = now(), stage = null, lease_owner = null, lease_expires_at = null
         where id = $1 and lease_owner = $2 and status = 'running'",
        id,
        owner,
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: back to the queue after `backoff`, or `failed` once the attempts
/// are used up. Returns the job's new status (`None`: the lease was lost).
pub async fn fail(pool: &PgPool, id: i64, owner: &str, error: &str, backoff: Duration) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        "update screening_job
         set status = case when attempts >= max_attempts then 'failed' else 'queued' end,
             finished_at = case when attempts >= max_attempts then now() end,
             not_before = now() + make_interval(secs => $4),
             last_error = $3, lease_owner = null, lease_expires_at = null
         where id = $1 and lease_owner = $2 and status = 'running'
         returning status",
        id,
        owner,
        error,
        backoff.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub series_uid: String,
    pub model_name: String,
    pub model_version: String,
    pub status: String,
    pub stage: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub reason: String,
    /// 1 for a series' first automatic job, one more each time the series changed after it.
    pub generation: i32,
    pub enqueued_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// A skipped job's failed eligibility rules, as codes (empty otherwise).
    pub skip_codes: Vec<String>,
}

/// The study's jobs, newest first (the study page's progress).
pub async fn of_study(pool: &PgPool, study_uid: &str) -> DbResult<Vec<JobRow>> {
    Ok(sqlx::query_as!(
        JobRow,
        r#"select j.id, se.series_uid, j.model_name, j.model_version, j.status, j.stage, j.attempts, j.max_attempts,
                j.last_error, j.reason, j.generation, j.enqueued_at, j.finished_at,
                coalesce(j.skip_codes, '{}') as "skip_codes!"
         from screening_job j join series se on se.id = j.series_ref join study st on st.id = se.study_ref
         where st.study_uid = $1 order by j.id desc"#,
        study_uid,
    )
    .fetch_all(pool)
    .await?)
}

/// Jobs per status (the inference status endpoint).
pub async fn counts(pool: &PgPool) -> DbResult<Vec<(String, i64)>> {
    let rows = sqlx::query!(r#"select status, count(*) as "n!" from screening_job group by status order by status"#)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// The queue as the health panel sees it, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueHealth {
    pub queued: i64,
    pub running: i64,
    /// Workers (lease owners, in any process) holding a lease that has not expired: the only
    /// sign of life the database has of workers in other processes.
    pub live_workers: i64,
    pub oldest_queued_at: Option<OffsetDateTime>,
    pub last_done_at: Option<OffsetDateTime>,
}

/// Sequential over the finished jobs for `last_done_at`: fine for a panel an administrator opens,
/// not for a hot path.
pub async fn health(pool: &PgPool) -> DbResult<QueueHealth> {
    Ok(sqlx::query_as!(
        QueueHealth,
        r#"select count(*) filter (where status = 'queued') as "queued!",
                  count(*) filter (where status = 'running') as "running!",
                  count(distinct lease_owner) filter (where status = 'running' and lease_expires_at > now()) as "live_workers!",
                  min(enqueued_at) filter (where status = 'queued') as oldest_queued_at,
                  max(finished_at) filter (where status = 'done') as last_done_at
           from screening_job"#
    )
    .fetch_one(pool)
    .await?)
}

/// What a finished job stores.
#[derive(Debug, Clone)]
pub struct NewResult<'a> {
    pub job_id: i64,
    pub series_uid: &'a str,
    pub model_name: &'a str,
    pub model_version: &'a str,
    pub model_sha256: &'a str,
    pub execution_provider: &'a str,
    pub device: &'a str,
    pub result: serde_json::Value,
    pub timings_ms: serde_json::Value,
    /// The instances the result was computed on.
    pub instances: i32,
}

/// Stores a result in the caller's transaction (with the job's completion and its findings).
pub async fn store_result(conn: &mut PgConnection, new: &NewResult<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                       execution_provider, device, result, timings_ms, instances)
         select $1, se.id, se.study_ref, $3, $4, $5, $6, $7, $8, $9, $10 from series se where se.series_uid = $2
         returning id",
        new.job_id,
        new.series_uid,
        new.model_name,
        new.model_version,
        new.model_sha256,
        new.execution_provider,
        new.device,
        new.result,
        new.timings_ms,
        new.instances,
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub id: i64,
    pub series_uid: String,
    pub model_name: String,
    pub model_version: String,
    pub model_sha256: String,
    pub execution_provider: String,
    pub device: String,
    pub result: serde_json::Value,
    pub timings_ms: serde_json::Value,
    pub created_at: OffsetDateTime,
    /// The instances it was computed on (unknown for results stored before this was kept).
    pub instances: Option<i32>,
    /// The result it superseded, if any: its id, time and instances.
    pub superseded_id: Option<i64>,
    pub superseded_at: Option<OffsetDateTime>,
    pub superseded_instances: Option<i32>,
}

/// The current (latest) result per series of a study, with the one it superseded.
pub async fn latest_results(pool: &PgPool, study_uid: &str) -> DbResult<Vec<ResultRow>> {
    Ok(sqlx::query_as!(
        ResultRow,
        r#"select distinct on (r.series_ref) r.id, se.series_uid, r.model_name, r.model_version, r.model_sha256,
                r.execution_provider, r.device, r.result, r.timings_ms, r.created_at, r.instances,
                before.id as "superseded_id?", before.created_at as "superseded_at?", before.instances as "superseded_instances?"
         from screening_result r join series se on se.id = r.series_ref join study st on st.id = r.study_ref
         left join lateral (select b.id, b.created_at, b.instances from screening_result b
                            where b.series_ref = r.series_ref and (b.created_at, b.id) < (r.created_at, r.id)
                            order by b.created_at desc, b.id desc limit 1) before on true
         where st.study_uid = $1
         order by r.series_ref, r.created_at desc, r.id desc"#,
        study_uid,
    )
    .fetch_all(pool)
    .await?)
}

/// CT series that are complete (their last instance arrived more than `quiet` ago, or no later
/// than their sender said it was done: `series.sender_done_at`) and that have no automatic job
/// for this model version yet, or that changed since theirs (see [`queue_auto`]): the candidates
/// for automatic screening (eligibility is checked by the caller on the images themselves).
///
/// Series that already have their job (nearly all of them, once a program runs) are set aside
/// first (`offset 0` keeps the planner from merging the two steps); only the rest, and the few
/// marked changed, have their latest arrival looked up, one index probe each.
pub async fn series_awaiting_screening(
    pool: &PgPool,
    model_name: &str,
    model_version: &str,
    quiet: Duration,
    limit: i64,
) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"select waiting.series_uid as "series_uid!"
         from (select se.id, se.series_uid, se.sender_done_at from series se
               where se.modality = 'CT'
                 and not exists (select 1 from screening_job j where j.series_ref = se.id and j.model_name = $1
                                                                and j.model_version = $2 and j.reason = 'auto')
               union
               select se.id, se.series_uid, se.sender_done_at from series_changed c join series se on se.id = c.series_ref
               where se.modality = 'CT'
               offset 0) waiting
         cross join lateral (select max(i.received_at) as at from instance i where i.series_ref = waiting.id) latest
         where latest.at < now() - make_interval(secs => $3) or latest.at <= waiting.sender_done_at
         order by latest.at
         limit $4"#,
        model_name,
        model_version,
        quiet.as_secs_f64(),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// Records that a sender finished sending `series_uids` (the end of a C-STORE association or of
/// a STOW-RS request): each is complete once no instance has arrived since (see
/// [`series_awaiting_screening`]). Returns how many series were marked.
pub async fn mark_sender_done(pool: &PgPool, series_uids: &[String]) -> DbResult<u64> {
    if series_uids.is_empty() {
        return Ok(0);
    }
    let marked = sqlx::query!("update series set sender_done_at = now() where series_uid = any($1)", series_uids)
        .execute(pool)
        .await?;
    Ok(marked.rows_affected())
}

/// What [`queue_auto`] did with a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoQueued {
    /// A job of this generation (1 the first time, then one more each time the series changed).
    Queued {
        id: i64,
        generation: i32,
    },
    /// Recorded as not screenable, with the reason, at this generation.
    Skipped {
        generation: i32,
    },
    /// An instance arrived meanwhile: the series is not complete yet.
    NotQuiet,
    /// Nothing to do: its latest job is still queued (it will read every instance when it runs),
    /// or nothing changed since its latest job.
    Covered,
    /// Its latest job is running and may have read the series before the change: once it ends,
    /// the series is queued again.
    Running,
    UnknownSeries,
}

/// Queues the automatic screening of a complete series, or its next one when it changed since
/// the last (`skip`: record it as not screenable instead, with this reason). Holds the series'
/// completeness lock (exclusive; ingest holds it shared), so no instance is being registered
/// while the series is judged quiet, and every later instance finds the job and marks the series
/// changed: no instance goes unscreened. Clears the series' change mark.
pub async fn queue_auto(
    conn: &mut PgConnection,
    series_uid: &str,
    model_name: &str,
    model_version: &str,
    max_attempts: i32,
    quiet: Duration,
    skip: Option<Skip<'_>>,
) -> DbResult<AutoQueued> {
    let Some(series_ref) = sqlx::query_scalar!("select id from series where series_uid = $1", series_uid)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(AutoQueued::UnknownSeries);
    };
    crate::images::lock_series_exclusive(conn, series_ref).await?;
    let quiet_now = sqlx::query_scalar!(
        r#"select coalesce(max(i.received_at) < now() - make_interval(secs => $2)
                           or max(i.received_at) <= (select sender_done_at from series where id = $1), false) as "quiet!"
           from instance i where i.series_ref = $1"#,
        series_ref,
        quiet.as_secs_f64()
    )
    .fetch_one(&mut *conn)
    .await?;
    if !quiet_now {
        return Ok(AutoQueued::NotQuiet);
    }
    let latest = sqlx::query!(
        "select generation, status from screening_job
         where series_ref = $1 and model_name = $2 and model_version = $3 and reason = 'auto'
         order by generation desc limit 1",
        series_ref,
        model_name,
        model_version
    )
    .fetch_optional(&mut *conn)
    .await?;
    let changed = sqlx::query_scalar!(
        r#"select exists (select 1 from series_changed where series_ref = $1) as "changed!""#,
        series_ref
    )
    .fetch_one(&mut *conn)
    .await?;
    let generation = match latest {
        None => 1,
        Some(job) if job.status == "running" => return Ok(AutoQueued::Running),
        Some(job) if job.status == "queued" || !changed => {
            sqlx::query!("delete from series_changed where series_ref = $1", series_ref).execute(&mut *conn).await?;
            return Ok(AutoQueued::Covered);
        }
        Some(job) => job.generation + 1,
    };
    let (status, finished) =
        if skip.is_some() { ("skipped", Some(OffsetDateTime::now_utc())) } else { ("queued", None) };
    let id = sqlx::query_scalar!(
        "insert into screening_job (series_ref, model_name, model_version, reason, generation, status, last_error,
                                    max_attempts, finished_at, skip_codes)
         values ($1, $2, $3, 'auto', $4, $5, $6, $7, $8, $9)
         returning id",
        series_ref,
        model_name,
        model_version,
        generation,
        status,
        skip.as_ref().map(|s| s.reason),
        if skip.is_some() { 1 } else { max_attempts },
        finished,
        skip.as_ref().map(|s| s.codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()) as Option<Vec<String>>
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("delete from series_changed where series_ref = $1", series_ref).execute(&mut *conn).await?;
    Ok(if skip.is_some() { AutoQueued::Skipped { generation } } else { AutoQueued::Queued { id, generation } })
}

/// A series recorded as not screenable: the codes of the rules it failed, and the reason.
#[derive(Debug, Clone, Copy)]
pub struct Skip<'a> {
    pub codes: &'a [&'static str],
    pub reason: &'a str,
}

/// How a running job ends without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The error is permanent: retrying cannot help.
    Failed,
    /// The series turned out not to be screenable (by this model), found once it was loaded.
    Skipped,
}

impl JobEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            JobEnd::Failed => "failed",
            JobEnd::Skipped => "skipped",
        }
    }
}

/// Ends a running job at once as `end`, with its reason (and, when skipped, the codes of the
/// eligibility rules the series failed). `false`: the lease was lost.
pub async fn end_without_result(
    pool: &PgPool,
    id: i64,
    owner: &str,
    end: JobEnd,
    reason: &str,
    codes: &[&str],
) -> DbResult<bool> {
    let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    let ended = sqlx::query!(
        "update screening_job
         set status = $4, stage = null, finished_at = now(), last_error = $3, lease_owner = null, lease_expires_at = null,
             skip_codes = case when $4 = 'skipped' then $5::text[] end
         where id = $1 and lease_owner = $2 and status = 'running'",
        id,
        owner,
        reason,
        end.as_str(),
        &codes,
    )
    .execute(pool)
    .await?;
    Ok(ended.rows_affected() == 1)
}

/// Replaces a result's stage timings (the storage stage is only known once it has written).
pub async fn set_timings(conn: &mut PgConnection, result_id: i64, timings_ms: &serde_json::Value) -> DbResult<()> {
    sqlx::query!("update screening_result set timings_ms = $2 where id = $1", result_id, timings_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many automatic jobs of the series have ended (done, failed or skipped).
pub async fn finished_auto_jobs(pool: &PgPool, series_uid: &str) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from screening_job j join series se on se.id = j.series_ref
           where se.series_uid = $1 and j.reason = 'auto' and j.status in ('done', 'failed', 'skipped')"#,
        series_uid
    )
    .fetch_one(pool)
    .await?)
}
