//! Lesion tracks and their sightings, series anchors, and people's corrections. The matching
//! rule lives in the `app` crate's domain; these functions read and write what the caller
//! decided, inside the caller's transaction.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

/// A finding that located a lesion (its location has a centre and a diameter) and is not yet on
/// a track.
#[derive(Debug, Clone, PartialEq)]
pub struct UntrackedFinding {
    pub finding_id: i64,
    pub patient_ref: Uuid,
    pub study_ref: Uuid,
    pub study_uid: String,
    pub series_ref: Uuid,
    pub series_uid: String,
    pub organ: String,
    pub observed_on: Date,
    pub location: serde_json::Value,
}

/// Up to `limit` untracked findings, oldest study first (so that tracks grow in time order).
pub async fn untracked(pool: &PgPool, limit: i64) -> DbResult<Vec<UntrackedFinding>> {
    Ok(sqlx::query_as!(
        UntrackedFinding,
        r#"select f.id as finding_id, f.patient_ref, f.study_ref, st.study_uid, se.id as series_ref,
                  se.series_uid, f.organ, coalesce(f.study_date, f.detected_at::date) as "observed_on!",
                  f.location as "location!"
           from finding f
           join study st on st.id = f.study_ref
           join series se on se.id = f.series_ref
           where jsonb_typeof(f.location -> 'center_mm') = 'array'
             and jsonb_array_length(f.location -> 'center_mm') = 3
             and jsonb_typeof(f.location -> 'diameter_mm') = 'number'
             and (f.location ->> 'diameter_mm')::float8 > 0
             and not exists (select 1 from lesion_sighting s where s.finding_ref = f.id)
           order by coalesce(f.study_date, f.detected_at::date), f.id
           limit $1"#,
        limit
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnchorRow {
    pub point_mm: Option<Vec<f64>>,
    pub unmeasured: Option<String>,
}

pub async fn anchor(pool: &PgPool, series_ref: Uuid) -> DbResult<Option<AnchorRow>> {
    Ok(sqlx::query_as!(AnchorRow, "select point_mm, unmeasured from series_anchor where series_ref = $1", series_ref)
        .fetch_optional(pool)
        .await?)
}

/// Records a series' anchor, or why there is none; the first measurement stands.
pub async fn store_anchor(
    pool: &PgPool,
    series_ref: Uuid,
    point_mm: Option<&[f64]>,
    unmeasured: Option<&str>,
) -> DbResult<()> {
    sqlx::query!(
        "insert into series_anchor (series_ref, point_mm, unmeasured) values ($1, $2, $3)
         on conflict (series_ref) do nothing",
        series_ref,
        point_mm as Option<&[f64]>,
        unmeasured
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Serialises tracking: one writer at a time places sightings (two workers finishing scans of
/// one patient at once would otherwise each start a track for the same lesion).
pub async fn lock_tracking(conn: &mut PgConnection) -> DbResult<()> {
    sqlx::query!("select pg_advisory_xact_lock(hashtext('elysium.lesion_tracking'))").execute(&mut *conn).await?;
    Ok(())
}

pub async fn is_tracked(conn: &mut PgConnection, finding_id: i64) -> DbResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from lesion_sighting where finding_ref = $1) as "tracked!""#,
        finding_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// One sighting with its track and what the pages show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SightingRow {
    pub id: i64,
    pub track_id: i64,
    pub track_organ: String,
    pub track_created_by: String,
    pub track_created_at: OffsetDateTime,
    pub finding_id: i64,
    pub finding_status: String,
    pub class_label: String,
    pub patient_ref: Uuid,
    pub study_uid: String,
    pub observed_on: Date,
    pub center_mm: Vec<f64>,
    pub aligned_mm: Option<Vec<f64>>,
    pub diameter_mm: f64,
    pub placed_by: String,
}

/// Every sighting of the given records (a person's linked records), within `scope` (`None`:
/// every site), by track then time.
pub async fn sightings_of(
    conn: &mut PgConnection,
    patients: &[Uuid],
    scope: Option<&[Uuid]>,
) -> DbResult<Vec<SightingRow>> {
    sightings(conn, None, Some(patients), scope).await
}

/// The sightings of one track (all sites: the caller checks scope through the patient).
pub async fn sightings_of_track(conn: &mut PgConnection, track: i64) -> DbResult<Vec<SightingRow>> {
    sightings(conn, Some(track), None, None).await
}

/// The one SELECT of sightings: of one track, or of some records, or both, within a scope.
async fn sightings(
    conn: &mut PgConnection,
    track: Option<i64>,
    patients: Option<&[Uuid]>,
    scope: Option<&[Uuid]>,
) -> DbResult<Vec<SightingRow>> {
    Ok(sqlx::query_as!(
        SightingRow,
        r#"select s.id, t.id as track_id, t.organ as track_organ, t.created_by as track_created_by,
                  t.created_at as track_created_at, s.finding_ref as finding_id, f.status as finding_status,
                  f.class_label, s.patient_ref, st.study_uid, s.observed_on, s.center_mm as "center_mm!",
                  s.aligned_mm, s.diameter_mm, s.placed_by
           from lesion_sighting s
           join lesion_track t on t.id = s.track_ref
           join finding f on f.id = s.finding_ref
           join study st on st.id = s.study_ref
           where ($1::bigint is null or t.id = $1)
             and ($2::uuid[] is null or s.patient_ref = any($2))
             and ($3::uuid[] is null or st.site_id = any($3))
           order by t.id, s.observed_on, s.id"#,
        track,
        patients,
        scope
    )
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrackRow {
    pub id: i64,
    pub patient_ref: Uuid,
    pub organ: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

/// A track, locked for an edit when `conn` is in a transaction.
pub async fn track_for_update(conn: &mut PgConnection, id: i64) -> DbResult<Option<TrackRow>> {
    Ok(sqlx::query_as!(
        TrackRow,
        "select id, patient_ref, organ, created_by, created_at from lesion_track where id = $1 for update",
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn create_track(conn: &mut PgConnection, patient_ref: Uuid, organ: &str, created_by: &str) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into lesion_track (patient_ref, organ, created_by) values ($1, $2, $3) returning id",
        patient_ref,
        organ,
        created_by
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSighting<'a> {
    pub track_id: i64,
    pub finding_id: i64,
    pub patient_ref: Uuid,
    pub study_ref: Uuid,
    pub organ: &'a str,
    pub observed_on: Date,
    pub center_mm: [f64; 3],
    pub aligned_mm: Option<[f64; 3]>,
    pub diameter_mm: f64,
}

pub async fn insert_sighting(conn: &mut PgConnection, new: &NewSighting<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into lesion_sighting (track_ref, finding_ref, patient_ref, study_ref, organ, observed_on,
                                      center_mm, aligned_mm, diameter_mm)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        new.track_id,
        new.finding_id,
        new.patient_ref,
        new.study_ref,
        new.organ,
        new.observed_on,
        &new.center_mm[..],
        new.aligned_mm.as_ref().map(|a| &a[..]) as Option<&[f64]>,
        new.diameter_mm
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves one sighting to `track`, naming who moved it.
pub async fn move_sighting(conn: &mut PgConnection, sighting: i64, track: i64, by: &str) -> DbResult<()> {
    sqlx::query!("update lesion_sighting set track_ref = $2, placed_by = $3 where id = $1", sighting, track, by)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves every sighting of `from` to `to`, naming who moved them.
pub async fn move_all(conn: &mut PgConnection, from: i64, to: i64, by: &str) -> DbResult<u64> {
    Ok(sqlx::query!("update lesion_sighting set track_ref = $2, placed_by = $3 where track_ref = $1", from, to, by)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

pub async fn insert_event(
    conn: &mut PgConnection,
    kind: &str,
    track: i64,
    other: i64,
    sighting: Option<i64>,
    reason: &str,
    actor: Uuid,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        "insert into lesion_track_event (kind, track_ref, other_ref, sighting_ref, reason, actor_id)
         values ($1, $2, $3, $4, $5, $6) returning id",
        kind,
        track,
        other,
        sighting,
        reason,
        actor
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub track_id: i64,
    pub other_id: i64,
    pub sighting_id: Option<i64>,
    pub reason: String,
    pub actor: String,
    pub occurred_at: OffsetDateTime,
}

/// The corrections that touched `track` (either side), oldest first.
pub async fn events_of(conn: &mut PgConnection, track: i64) -> DbResult<Vec<EventRow>> {
    Ok(sqlx::query_as!(
        EventRow,
        r#"select e.id, e.kind, e.track_ref as track_id, e.other_ref as other_id, e.sighting_ref as sighting_id,
                  e.reason, u.username as actor, e.occurred_at
           from lesion_track_event e join app_user u on u.id = e.actor_id
           where e.track_ref = $1 or e.other_ref = $1
           order by e.occurred_at, e.id"#,
        track
    )
    .fetch_all(&mut *conn)
    .await?)
}
