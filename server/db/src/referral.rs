//! Cross-site referral: the sites' levels in the network, the routes between them, and the
//! referrals of findings and tumour-board cases with their events. The rules are `app::domain::referral`'s; this module
//! stores what they decided. The database itself holds one rule: a finding (a case) has at most
//! one requested or accepted referral (`referral_one_active`, `referral_one_active_case`), so two
//! coordinators referring the same finding at once cannot both succeed.

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{DbResult, unique_violation};

/// A site as the network sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSite {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub level: Option<String>,
}

pub async fn sites(pool: &PgPool) -> DbResult<Vec<NetworkSite>> {
    Ok(sqlx::query_as!(NetworkSite, "select id, code, name, level from site order by code").fetch_all(pool).await?)
}

pub async fn site(conn: &mut PgConnection, code: &str) -> DbResult<Option<NetworkSite>> {
    Ok(sqlx::query_as!(NetworkSite, "select id, code, name, level from site where code = $1", code)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A site's level (`None`: outside the network, or no such site).
pub async fn level_of_site(conn: &mut PgConnection, id: Uuid) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar!("select level from site where id = $1", id).fetch_optional(&mut *conn).await?.flatten())
}

/// Sets (or with `None` clears) a site's level.
pub async fn set_level(conn: &mut PgConnection, site_id: Uuid, level: Option<&str>) -> DbResult<()> {
    sqlx::query!("update site set level = $2 where id = $1", site_id, level).execute(&mut *conn).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    pub from_code: String,
    pub to_code: String,
    pub created_at: OffsetDateTime,
}

pub async fn routes(pool: &PgPool) -> DbResult<Vec<RouteRow>> {
    Ok(sqlx::query_as!(
        RouteRow,
        "select f.code as from_code, t.code as to_code, r.created_at
         from referral_route r join site f on f.id = r.from_site_id join site t on t.id = r.to_site_id
         order by f.code, t.code"
    )
    .fetch_all(pool)
    .await?)
}

/// Opens a route; `false` when it was open already.
pub async fn add_route(conn: &mut PgConnection, from: Uuid, to: Uuid, by: Option<Uuid>) -> DbResult<bool> {
    let inserted = sqlx::query!(
        "insert into referral_route (from_site_id, to_site_id, created_by) values ($1, $2, $3)
         on conflict do nothing",
        from,
        to,
        by
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Closes a route (referrals already made along it stay); `false` when it was not open.
pub async fn remove_route(conn: &mut PgConnection, from: Uuid, to: Uuid) -> DbResult<bool> {
    let deleted = sqlx::query!("delete from referral_route where from_site_id = $1 and to_site_id = $2", from, to)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// The sites a finding screened at `from` may be referred to now: the open routes from it to
/// sites in the network (none when `from` itself is out of it), by code.
pub async fn targets_from(conn: &mut PgConnection, from: Uuid) -> DbResult<Vec<NetworkSite>> {
    Ok(sqlx::query_as!(
        NetworkSite,
        "select t.id, t.code, t.name, t.level
           from referral_route r
           join site f on f.id = r.from_site_id
           join site t on t.id = r.to_site_id
          where r.from_site_id = $1 and f.level is not null and t.level is not null
          order by t.code",
        from
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// What a referral is of: a finding or a tumour-board case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Finding(i64),
    Case(i64),
}

/// What a referral is of (`None`: no such referral), read without a lock: the caller locks the
/// finding or case before the referral, the order every writer of both follows.
pub async fn subject_of(conn: &mut PgConnection, id: i64) -> DbResult<Option<Subject>> {
    let row =
        sqlx::query!("select finding_id, case_id from referral where id = $1", id).fetch_optional(&mut *conn).await?;
    // The `referral_of_one` check keeps exactly one of the two set.
    Ok(row.and_then(|r| match (r.finding_id, r.case_id) {
        (Some(finding), _) => Some(Subject::Finding(finding)),
        (None, Some(case)) => Some(Subject::Case(case)),
        (None, None) => None,
    }))
}

pub async fn route_exists(conn: &mut PgConnection, from: Uuid, to: Uuid) -> DbResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from referral_route where from_site_id = $1 and to_site_id = $2) as "exists!""#,
        from,
        to
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub struct NewReferral<'a> {
    pub subject: Subject,
    pub from_site_id: Uuid,
    pub to_site_id: Uuid,
    pub reason: &'a str,
    pub requested_workup: &'a str,
    pub created_by: Option<Uuid>,
}

/// Writes a requested referral and its `request` event; `AlreadyExists("referral")` when the
/// finding or case has an active one.
pub async fn insert(conn: &mut PgConnection, new: &NewReferral<'_>) -> DbResult<i64> {
    let (finding_id, case_id) = match new.subject {
        Subject::Finding(id) => (Some(id), None),
        Subject::Case(id) => (None, Some(id)),
    };
    let id = sqlx::query_scalar!(
        "insert into referral (finding_id, case_id, from_site_id, to_site_id, reason, requested_workup, created_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        finding_id,
        case_id,
        new.from_site_id,
        new.to_site_id,
        new.reason,
        new.requested_workup,
        new.created_by
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "referral"))?;
    insert_event(conn, id, "request", Some(new.reason), new.created_by).await?;
    Ok(id)
}

pub async fn insert_event(
    conn: &mut PgConnection,
    referral_id: i64,
    event: &str,
    note: Option<&str>,
    actor: Option<Uuid>,
) -> DbResult<()> {
    sqlx::query!(
        "insert into referral_event (referral_id, event, note, actor_id) values ($1, $2, $3, $4)",
        referral_id,
        event,
        note,
        actor
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A referral as its lists and pages show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralRow {
    pub id: i64,
    /// Exactly one of the two is set.
    pub finding_id: Option<i64>,
    pub case_id: Option<i64>,
    pub from_site_id: Uuid,
    pub from_site: String,
    pub to_site_id: Uuid,
    pub to_site: String,
    pub status: String,
    pub reason: String,
    pub requested_workup: String,
    pub decision_note: Option<String>,
    pub version: i32,
    pub created_by: Option<String>,
    pub created_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// The finding's organ (a case's cancer) and state (the case's), and its patient, as the
    /// receiving site needs them to decide.
    pub organ: String,
    pub finding_status: Option<String>,
    pub case_status: Option<String>,
    pub patient_id: String,
    pub patient_name: Option<String>,
    /// The finding's status when it reached an outcome at the receiving site (`decided` for a
    /// case the receiving board decided), and when.
    pub outcome: Option<String>,
    pub outcome_at: Option<OffsetDateTime>,
}

/// The referral, its row locked for an event (`None` when unknown). Only the referral's row is
/// locked (not its sites' or finding's, which the summary joins).
pub async fn lock(conn: &mut PgConnection, id: i64) -> DbResult<Option<ReferralRow>> {
    let locked =
        sqlx::query_scalar!("select id from referral where id = $1 for update", id).fetch_optional(&mut *conn).await?;
    if locked.is_none() {
        return Ok(None);
    }
    let filter = Filter { id: Some(id), ..Filter::default() };
    Ok(select(&mut *conn, &filter).await?.into_iter().next())
}

/// Moves the referral to `status` with the decision's words; returns the new version.
pub async fn decide(
    conn: &mut PgConnection,
    id: i64,
    status: &str,
    note: Option<&str>,
    actor: Option<Uuid>,
) -> DbResult<i32> {
    sqlx::query_scalar!(
        "update referral set status = $2, decision_note = $3, decided_by = $4, decided_at = now(),
                version = version + 1
         where id = $1 returning version",
        id,
        status,
        note,
        actor
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "referral"))
}

/// Records the outcome the referred finding reached at the receiving site, with an `outcome`
/// event (the referral's decision and version stay: no one decided anything about the referral).
pub async fn record_outcome(conn: &mut PgConnection, id: i64, outcome: &str, actor: Option<Uuid>) -> DbResult<()> {
    sqlx::query!("update referral set outcome = $2, outcome_at = now() where id = $1", id, outcome)
        .execute(&mut *conn)
        .await?;
    insert_event(conn, id, "outcome", Some(outcome), actor).await
}

/// The active (requested or accepted) referral to one of `sites` of a finding on the study
/// `study_uid`, or of a case measured on one of its series, if there is one: the receiving
/// site's way to the study's images.
pub async fn reaching_study(pool: &PgPool, study_uid: &str, sites: &[Uuid]) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "select r.id from referral r
           left join finding f on f.id = r.finding_id
           left join mdt_case c on c.id = r.case_id
           left join series se on se.id = c.series_ref
           join study st on st.id = coalesce(f.study_ref, se.study_ref)
          where st.study_uid = $1 and r.to_site_id = any($2) and r.status in ('requested', 'accepted')
          order by r.id
          limit 1",
        study_uid,
        sites
    )
    .fetch_optional(pool)
    .await?)
}

/// Which end of the referrals a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Referrals to the given sites.
    Incoming,
    /// Referrals from the given sites.
    Outgoing,
}

/// What a list keeps besides the caller's sites; every condition left out holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter<'a> {
    pub status: Option<&'a str>,
    /// The sending and the receiving site, by code.
    pub from_site: Option<&'a str>,
    pub to_site: Option<&'a str>,
    /// Made on or after, and on or before, these days (UTC), as the programme's flows count them.
    pub created_from: Option<Date>,
    pub created_to: Option<Date>,
    /// Whether the finding reached an outcome at the receiving site (`referral.outcome`).
    pub outcome_reported: Option<bool>,
}

/// Referrals to (incoming) or from (outgoing) `sites` (every site with `None`), newest first,
/// kept by `list`; with the total for paging.
pub async fn list(
    pool: &PgPool,
    sites: Option<&[Uuid]>,
    direction: Direction,
    list: &ListFilter<'_>,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<ReferralRow>, i64)> {
    let incoming = direction == Direction::Incoming;
    let filter = Filter { sites, incoming, list: *list, limit, offset, ..Filter::default() };
    let rows = select(pool, &filter).await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "total!" from referral_summary r
           where ($1::uuid[] is null or (case when $2 then r.to_site_id else r.from_site_id end) = any($1))
             and ($3::text is null or r.status = $3)
             and ($4::text is null or r.from_site = $4)
             and ($5::text is null or r.to_site = $5)
             and ($6::date is null or (r.created_at at time zone 'UTC')::date >= $6)
             and ($7::date is null or (r.created_at at time zone 'UTC')::date <= $7)
             and ($8::boolean is null or (r.outcome is not null) = $8)"#,
        sites as Option<&[Uuid]>,
        incoming,
        list.status,
        list.from_site,
        list.to_site,
        list.created_from,
        list.created_to,
        list.outcome_reported
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// A finding's referrals, newest first (for its page).
pub async fn of_finding(conn: &mut PgConnection, finding_id: i64) -> DbResult<Vec<ReferralRow>> {
    select(&mut *conn, &Filter { finding_id: Some(finding_id), ..Filter::default() }).await
}

/// A tumour-board case's referrals, newest first (for its page).
pub async fn of_case(conn: &mut PgConnection, case_id: i64) -> DbResult<Vec<ReferralRow>> {
    select(&mut *conn, &Filter { case_id: Some(case_id), ..Filter::default() }).await
}

/// Which referrals [`select`] reads; every condition left out holds.
struct Filter<'a> {
    id: Option<i64>,
    finding_id: Option<i64>,
    case_id: Option<i64>,
    /// With `incoming`, referrals to these sites; otherwise from them. `None`: every site.
    sites: Option<&'a [Uuid]>,
    incoming: bool,
    list: ListFilter<'a>,
    limit: i64,
    offset: i64,
}

impl Default for Filter<'_> {
    fn default() -> Self {
        Filter {
            id: None,
            finding_id: None,
            case_id: None,
            sites: None,
            incoming: true,
            list: ListFilter::default(),
            limit: 1000,
            offset: 0,
        }
    }
}

/// The one query that reads referrals as they are shown, newest first.
async fn select<'e>(executor: impl sqlx::PgExecutor<'e>, filter: &Filter<'_>) -> DbResult<Vec<ReferralRow>> {
    Ok(sqlx::query_as!(
        ReferralRow,
        r#"select id as "id!", finding_id, case_id, from_site_id as "from_site_id!", from_site as "from_site!",
                  to_site_id as "to_site_id!", to_site as "to_site!", status as "status!", reason as "reason!",
                  requested_workup as "requested_workup!", decision_note, version as "version!", created_by,
                  created_at as "created_at!", decided_by, decided_at, organ as "organ!",
                  finding_status, case_status, patient_id as "patient_id!", patient_name,
                  outcome, outcome_at
           from referral_summary r
           where ($1::bigint is null or r.id = $1)
             and ($2::bigint is null or r.finding_id = $2)
             and ($3::uuid[] is null or (case when $4 then r.to_site_id else r.from_site_id end) = any($3))
             and ($5::text is null or r.status = $5)
             and ($8::text is null or r.from_site = $8)
             and ($9::text is null or r.to_site = $9)
             and ($10::date is null or (r.created_at at time zone 'UTC')::date >= $10)
             and ($11::date is null or (r.created_at at time zone 'UTC')::date <= $11)
             and ($12::boolean is null or (r.outcome is not null) = $12)
             and ($13::bigint is null or r.case_id = $13)
           order by r.created_at desc, r.id desc
           limit $6 offset $7"#,
        filter.id,
        filter.finding_id,
        filter.sites as Option<&[Uuid]>,
        filter.incoming,
        filter.list.status,
        filter.limit,
        filter.offset,
        filter.list.from_site,
        filter.list.to_site,
        filter.list.created_from,
        filter.list.created_to,
        filter.list.outcome_reported,
        filter.case_id
    )
    .fetch_all(executor)
    .await?)
}
