//! The longitudinal patient record: search, the records linked as one person, the timeline
//! across their studies and years, and the biomarkers scan by scan. Scoping by site is the
//! caller's `scope` (`None`: every site, for administrators).

use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;

#[derive(Debug, Clone, PartialEq)]
pub struct PatientRow {
    pub id: Uuid,
    pub patient_id: String,
    pub authority: String,
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<Date>,
    /// Studies within the caller's sites.
    pub studies: i64,
}

/// What a search matches: every word of `words` in the identifier or the name (in any of its
/// DICOM groups, its components read both apart, `Okafor Grace`, and together, `张伟` for
/// `张^伟`), or the birth date, or an accession number exactly.
#[derive(Debug, Clone, Default)]
pub struct PatientSearch {
    /// LIKE patterns, one per word, wildcards in the words escaped by the caller.
    pub words: Vec<String>,
    pub birth_date: Option<Date>,
    pub accession: Option<String>,
    pub scope: Option<Vec<Uuid>>,
    pub limit: i64,
    pub offset: i64,
}

/// Patients with at least one study within `scope` that match, by name, and how many match.
pub async fn search(pool: &PgPool, query: &PatientSearch) -> DbResult<(Vec<PatientRow>, i64)> {
    let rows = sqlx::query_as!(
        PatientRow,
        r#"select p.id, p.patient_id, p.assigning_authority as authority, p.name, p.sex, p.birth_date,
                  (select count(*) from study s where s.patient_ref = p.id
                     and ($4::uuid[] is null or s.site_id = any($4))) as "studies!"
           from patient p
           where exists (select 1 from study s where s.patient_ref = p.id and ($4::uuid[] is null or s.site_id = any($4)))
             and ((cardinality($1::text[]) > 0
                   and not exists (select 1 from unnest($1::text[]) w
                                   where (p.patient_id || ' ' || replace(coalesce(p.name, ''), '^', ' ') || ' ' || replace(coalesce(p.name, ''), '^', '')
                                          || ' ' || coalesce(p.name_pinyin, '')) not ilike w))
                  or ($2::date is not null and p.birth_date = $2)
                  or ($3::text is not null and exists (select 1 from study s where s.patient_ref = p.id
                                                        and s.accession_number = $3
                                                        and ($4::uuid[] is null or s.site_id = any($4)))))
           order by p.name nulls last, p.patient_id, p.id
           limit $5 offset $6"#,
        &query.words,
        query.birth_date,
        query.accession.as_deref(),
        query.scope.as_deref(),
        query.limit,
        query.offset
    )
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from patient p
           where exists (select 1 from study s where s.patient_ref = p.id and ($4::uuid[] is null or s.site_id = any($4)))
             and ((cardinality($1::text[]) > 0
                   and not exists (select 1 from unnest($1::text[]) w
                                   where (p.patient_id || ' ' || replace(coalesce(p.name, ''), '^', ' ') || ' ' || replace(coalesce(p.name, ''), '^', '')
                                          || ' ' || coalesce(p.name_pinyin, '')) not ilike w))
                  or ($2::date is not null and p.birth_date = $2)
                  or ($3::text is not null and exists (select 1 from study s where s.patient_ref = p.id
                                                        and s.accession_number = $3
                                                        and ($4::uuid[] is null or s.site_id = any($4)))))"#,
        &query.words,
        query.birth_date,
        query.accession.as_deref(),
        query.scope.as_deref()
    )
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// One patient, with its studies within `scope` counted (`None` when unknown).
pub async fn patient(pool: &PgPool, id: Uuid, scope: Option<&[Uuid]>) -> DbResult<Option<PatientRow>> {
    Ok(sqlx::query_as!(
        PatientRow,
        r#"select p.id, p.patient_id, p.assigning_authority as authority, p.name, p.sex, p.birth_date,
                  (select count(*) from study s where s.patient_ref = p.id
                     and ($2::uuid[] is null or s.site_id = any($2))) as "studies!"
           from patient p where p.id = $1"#,
        id,
        scope
    )
    .fetch_optional(pool)
    .await?)
}

/// The records linked to `id` as one person, through any chain of active links, `id` included.
pub async fn linked_group(pool: &PgPool, id: Uuid) -> DbResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        r#"with recursive grp(id) as (
               select $1::uuid
               union
               select case when l.patient_a = g.id then l.patient_b else l.patient_a end
               from patient_link l join grp g on l.patient_a = g.id or l.patient_b = g.id
               where l.unlinked_at is null)
           select id as "id!" from grp order by id"#,
        id
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub id: i64,
    /// The other record of the pair.
    pub other: Uuid,
    pub other_patient_id: String,
    pub other_authority: String,
    pub other_name: Option<String>,
    pub reason: String,
    pub linked_by: String,
    pub linked_at: OffsetDateTime,
    pub unlinked_by: Option<String>,
    pub unlinked_at: Option<OffsetDateTime>,
    pub unlink_reason: Option<String>,
}

/// Every link `id` is part of, active or ended, newest first.
pub async fn links(pool: &PgPool, id: Uuid) -> DbResult<Vec<LinkRow>> {
    Ok(sqlx::query_as!(
        LinkRow,
        r#"select l.id, o.id as other, o.patient_id as other_patient_id, o.assigning_authority as other_authority,
                  o.name as other_name, l.reason, lb.username as linked_by, l.linked_at,
                  ub.username as "unlinked_by?", l.unlinked_at, l.unlink_reason
           from patient_link l
           join patient o on o.id = case when l.patient_a = $1 then l.patient_b else l.patient_a end
           join app_user lb on lb.id = l.linked_by
           left join app_user ub on ub.id = l.unlinked_by
           where l.patient_a = $1 or l.patient_b = $1
           order by l.linked_at desc, l.id desc"#,
        id
    )
    .fetch_all(pool)
    .await?)
}

/// A patient's identity and whether it has a study within `scope`, its row locked.
pub async fn lock_patient(
    conn: &mut PgConnection,
    id: Uuid,
    scope: Option<&[Uuid]>,
) -> DbResult<Option<(String, String, bool)>> {
    Ok(sqlx::query!(
        r#"select p.patient_id, p.assigning_authority,
                  exists (select 1 from study s where s.patient_ref = p.id
                          and ($2::uuid[] is null or s.site_id = any($2))) as "visible!"
           from patient p where p.id = $1 for update"#,
        id,
        scope
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| (r.patient_id, r.assigning_authority, r.visible)))
}

/// Links the pair (in either order); `None` when they are linked already.
pub async fn link(conn: &mut PgConnection, a: Uuid, b: Uuid, reason: &str, by: Uuid) -> DbResult<Option<i64>> {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    Ok(sqlx::query_scalar!(
        "insert into patient_link (patient_a, patient_b, reason, linked_by) values ($1, $2, $3, $4)
         on conflict (patient_a, patient_b) where unlinked_at is null do nothing returning id",
        a,
        b,
        reason,
        by
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Ends the active link `link_id` of patient `id`; returns the other record, `None` when there
/// is no such active link.
pub async fn unlink(conn: &mut PgConnection, id: Uuid, link_id: i64, reason: &str, by: Uuid) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        r#"update patient_link set unlinked_at = now(), unlinked_by = $4, unlink_reason = $3
           where id = $2 and (patient_a = $1 or patient_b = $1) and unlinked_at is null
           returning case when patient_a = $1 then patient_b else patient_a end as "other!""#,
        id,
        link_id,
        reason,
        by
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// One entry of the timeline: when, what kind, and what it refers to; `detail` holds the
/// kind's own facts.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub at: OffsetDateTime,
    pub kind: String,
    pub study_uid: Option<String>,
    pub organ: Option<String>,
    pub ref_id: Option<i64>,
    pub patient_id: String,
    pub detail: serde_json::Value,
}

/// Everything that happened to the records `patients`, within `scope`, newest first (at most
/// `limit`): studies (with their latest screening results and skipped series), findings and
/// their events, tumour-board decisions, chronic findings and their events.
pub async fn timeline(
    pool: &PgPool,
    patients: &[Uuid],
    scope: Option<&[Uuid]>,
    limit: i64,
) -> DbResult<Vec<TimelineRow>> {
    Ok(sqlx::query_as!(
        TimelineRow,
        r#"with st as (
               select s.*, p.patient_id as pid from study s join patient p on p.id = s.patient_ref
               where s.patient_ref = any($1) and ($2::uuid[] is null or s.site_id = any($2)))
           select at as "at!", kind as "kind!", study_uid, organ, ref_id, patient_id as "patient_id!",
                  detail as "detail!"
           from (
             select coalesce(st.study_date::timestamp at time zone 'UTC', st.created_at) as at, 'study' as kind,
                    st.study_uid, null::text as organ, null::bigint as ref_id, st.pid as patient_id,
                    jsonb_build_object(
                      'description', st.description,
                      'accession', st.accession_number,
                      'site', (select code from site where id = st.site_id),
                      'positives', (select coalesce(jsonb_agg(distinct p ->> 'organ'), '[]'::jsonb)
                                    from screening_result r, jsonb_array_elements(coalesce(r.result -> 'positives', '[]'::jsonb)) p
                                    where r.study_ref = st.id
                                      and r.id = (select max(r2.id) from screening_result r2 where r2.series_ref = r.series_ref)),
                      'screened', (select count(distinct r.series_ref) from screening_result r where r.study_ref = st.id),
                      'skipped', (select coalesce(jsonb_agg(distinct c), '[]'::jsonb)
                                  from screening_job j join series se on se.id = j.series_ref, unnest(j.skip_codes) c
                                  where se.study_ref = st.id and j.status = 'skipped')) as detail
             from st
             union all
             select f.detected_at, 'finding', st.study_uid, f.organ, f.id, st.pid,
                    jsonb_build_object('probability', f.probability, 'status', f.status, 'class', f.class_label)
             from finding f join st on st.id = f.study_ref
             union all
             select e.occurred_at, 'finding_event', st.study_uid, f.organ, f.id, st.pid,
                    jsonb_build_object('event', e.event, 'from_status', e.from_status, 'to_status', e.to_status,
                                       'actor', e.actor_username)
             from finding_event e join finding f on f.id = e.finding_id join st on st.id = f.study_ref
             where e.version > 1
             union all
             select f.surveillance_due::timestamp at time zone 'UTC', 'surveillance_due', st.study_uid, f.organ, f.id,
                    st.pid, jsonb_build_object('months', f.surveillance_months, 'status', f.status)
             from finding f join st on st.id = f.study_ref
             where f.surveillance_due is not null
             union all
             select d.decided_at, 'mdt_decision', null, c.cancer, c.id, p.patient_id,
                    jsonb_build_object('version', d.version, 't', d.t, 'n', d.n, 'm', d.m, 'stage_group', d.stage_group,
                                       'recommendation', d.recommendation, 'amended', d.version > 1)
             from mdt_decision d join mdt_case c on c.id = d.case_id join patient p on p.id = c.patient_ref
             where c.patient_ref = any($1) and ($2::uuid[] is null or c.site_id = any($2))
             union all
             select c.raised_at, 'chronic', st.study_uid, null, c.id, st.pid,
                    jsonb_build_object('condition', c.kind, 'criterion', c.criterion, 'value', c.value, 'unit', c.unit,
                                       'status', c.status)
             from chronic_finding c join st on st.id = c.study_ref
             union all
             select e.occurred_at, 'chronic_event', null, null, c.id, p.patient_id,
                    jsonb_build_object('condition', c.kind, 'event', e.kind, 'to_status', e.to_status)
             from chronic_event e join chronic_finding c on c.id = e.chronic_ref join patient p on p.id = c.patient_ref
             where e.version > 1 and c.patient_ref = any($1) and ($2::uuid[] is null or c.site_id = any($2))
           ) t
           order by at desc, kind, ref_id desc nulls last
           limit $3"#,
        patients,
        scope,
        limit
    )
    .fetch_all(pool)
    .await?)
}

/// The latest screening result's biomarkers of each study of `patients` within `scope`, oldest
/// first.
#[derive(Debug, Clone, PartialEq)]
pub struct BiomarkerRow {
    pub observed_on: Date,
    pub study_uid: String,
    pub biomarkers: serde_json::Value,
}

pub async fn biomarkers(pool: &PgPool, patients: &[Uuid], scope: Option<&[Uuid]>) -> DbResult<Vec<BiomarkerRow>> {
    Ok(sqlx::query_as!(
        BiomarkerRow,
        r#"select observed_on as "observed_on!", study_uid as "study_uid!", biomarkers as "biomarkers!"
           from (select distinct on (st.id) coalesce(st.study_date, r.created_at::date) as observed_on, st.study_uid,
                        r.result -> 'biomarkers' as biomarkers
                 from screening_result r join study st on st.id = r.study_ref
                 where st.patient_ref = any($1) and ($2::uuid[] is null or st.site_id = any($2))
                   and jsonb_typeof(r.result -> 'biomarkers') = 'object'
                 order by st.id, r.created_at desc, r.id desc) latest
           order by observed_on, study_uid"#,
        patients,
        scope
    )
    .fetch_all(pool)
    .await?)
}

/// Studies of `patients` outside `scope` (the record page says how many it cannot show).
pub async fn studies_outside(pool: &PgPool, patients: &[Uuid], scope: &[Uuid]) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from study where patient_ref = any($1) and (site_id is null or not site_id = any($2))"#,
        patients,
        scope
    )
    .fetch_one(pool)
    .await?)
}

/// The record of `patient_id` at `authority` (`None` when there is none).
pub async fn by_identifier(pool: &PgPool, authority: &str, patient_id: &str) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "select id from patient where assigning_authority = $1 and patient_id = $2",
        authority,
        patient_id
    )
    .fetch_optional(pool)
    .await?)
}
