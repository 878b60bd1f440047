//! Model governance rows: the operating thresholds administrators set over a model version's
//! manifest thresholds (append-only history), the probabilities a threshold preview replays,
//! and each version's screened and positive series per day.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};

use crate::DbResult;

/// The operating threshold in force for each output of a model version that has one (outputs
/// without a row use the manifest's).
pub async fn current_thresholds(
    conn: &mut PgConnection,
    model_name: &str,
    model_version: &str,
) -> DbResult<Vec<(String, String, f64)>> {
    Ok(sqlx::query!(
        "select distinct on (organ, class) organ, class, threshold
         from operating_threshold where model_name = $1 and model_version = $2
         order by organ, class, id desc",
        model_name,
        model_version
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.organ, r.class, r.threshold))
    .collect())
}

/// One threshold change.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdChangeRow {
    pub model_name: String,
    pub model_version: String,
    pub organ: String,
    pub class: String,
    pub threshold: f64,
    pub previous: f64,
    pub reason: String,
    pub preview: Value,
    pub changed_by: String,
    pub changed_at: OffsetDateTime,
}

/// Every threshold change, newest first.
pub async fn threshold_changes(pool: &PgPool) -> DbResult<Vec<ThresholdChangeRow>> {
    Ok(sqlx::query_as!(
        ThresholdChangeRow,
        "select t.model_name, t.model_version, t.organ, t.class, t.threshold, t.previous, t.reason, t.preview,
                u.username as changed_by, t.changed_at
         from operating_threshold t join app_user u on u.id = t.changed_by
         order by t.id desc"
    )
    .fetch_all(pool)
    .await?)
}

pub struct NewThreshold<'a> {
    pub model_name: &'a str,
    pub model_version: &'a str,
    pub organ: &'a str,
    pub class: &'a str,
    pub threshold: f64,
    pub previous: f64,
    pub reason: &'a str,
    pub preview: Value,
    pub changed_by: uuid::Uuid,
}

/// Serialises changes of one output (two administrators changing it at once are taken one after
/// the other, so each sees the other's as its `previous`), for the rest of the transaction.
pub async fn lock_output(conn: &mut PgConnection, model_name: &str, model_version: &str, output: &str) -> DbResult<()> {
    let key = format!("operating_threshold:{model_name}@{model_version}:{output}");
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", key).execute(&mut *conn).await?;
    Ok(())
}

pub async fn record_threshold(conn: &mut PgConnection, new: &NewThreshold<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into operating_threshold
             (model_name, model_version, organ, class, threshold, previous, reason, preview, changed_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        new.model_name,
        new.model_version,
        new.organ,
        new.class,
        new.threshold,
        new.previous,
        new.reason,
        new.preview,
        new.changed_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The probability of `organ/class` in the model version's last `last` results that have one,
/// newest first (the series a threshold preview replays).
pub async fn recent_probabilities(
    pool: &PgPool,
    model_name: &str,
    model_version: &str,
    organ: &str,
    class: &str,
    last: i64,
) -> DbResult<Vec<f64>> {
    Ok(sqlx::query_scalar!(
        r#"select (r.result->'tumor_probabilities'->$3->>$4)::float8 as "p!"
           from screening_result r
           where r.model_name = $1 and r.model_version = $2
             and jsonb_typeof(r.result->'tumor_probabilities'->$3->$4) = 'number'
           order by r.created_at desc, r.id desc
           limit $5"#,
        model_name,
        model_version,
        organ,
        class,
        last
    )
    .fetch_all(pool)
    .await?)
}

/// A model version's screened series on one day (UTC, by result time), and those with at least
/// one positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDay {
    pub model_name: String,
    pub model_version: String,
    pub day: Date,
    pub series: i64,
    pub positive: i64,
}

/// Every model version's screened and positive series per day, oldest first. A series screened
/// twice by one version on one day counts once.
pub async fn daily_rates(pool: &PgPool) -> DbResult<Vec<VersionDay>> {
    Ok(sqlx::query_as!(
        VersionDay,
        r#"select model_name, model_version, (created_at at time zone 'UTC')::date as "day!",
                  count(distinct series_ref) as "series!",
                  count(distinct series_ref) filter (
                      where jsonb_typeof(result->'positives') = 'array' and jsonb_array_length(result->'positives') > 0
                  ) as "positive!"
           from screening_result
           group by 1, 2, 3
           order by 3, 1, 2"#
    )
    .fetch_all(pool)
    .await?)
}

pub struct NewShadowResult<'a> {
    pub live_result_id: i64,
    pub series_uid: &'a str,
    pub model_name: &'a str,
    pub model_version: &'a str,
    pub model_sha256: &'a str,
    pub execution_provider: &'a str,
    pub device: &'a str,
    pub result: Value,
    pub timings_ms: Value,
}

/// Stores a shadow model's result for a live result; a second one for the same pair is ignored
/// (a re-run of the job). Returns whether it was stored.
pub async fn store_shadow(conn: &mut PgConnection, new: &NewShadowResult<'_>) -> DbResult<bool> {
    let done = sqlx::query!(
        "insert into shadow_result (live_result_ref, series_ref, model_name, model_version, model_sha256,
                                    execution_provider, device, result, timings_ms)
         select $1, se.id, $3, $4, $5, $6, $7, $8, $9 from series se where se.series_uid = $2
         on conflict (live_result_ref, model_name, model_version) do nothing",
        new.live_result_id,
        new.series_uid,
        new.model_name,
        new.model_version,
        new.model_sha256,
        new.execution_provider,
        new.device,
        new.result,
        new.timings_ms
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A series screened by a live version and by a shadow version: both results' positives.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowPairRow {
    pub shadow_name: String,
    pub shadow_version: String,
    pub live_name: String,
    pub live_version: String,
    pub day: Date,
    pub live_positives: Option<Value>,
    pub shadow_positives: Option<Value>,
}

/// Every shadow result with the live result it shadowed, oldest first.
pub async fn shadow_pairs(pool: &PgPool) -> DbResult<Vec<ShadowPairRow>> {
    Ok(sqlx::query_as!(
        ShadowPairRow,
        r#"select s.model_name as shadow_name, s.model_version as shadow_version,
                  r.model_name as live_name, r.model_version as live_version,
                  (s.created_at at time zone 'UTC')::date as "day!",
                  r.result->'positives' as live_positives, s.result->'positives' as shadow_positives
           from shadow_result s join screening_result r on r.id = s.live_result_ref
           order by s.created_at, s.id"#
    )
    .fetch_all(pool)
    .await?)
}
