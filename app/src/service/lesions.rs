//! Lesion tracking: placing each finding that located a lesion on a track (the domain's
//! matching rule, on positions aligned by each series' anatomical anchor), the tracks of a
//! person with their size history and growth, and a person's split and join. Placing is the
//! system's and audited as such; views are audited like the record's; corrections are audited
//! with their reason in the transaction that makes them.

use std::collections::BTreeMap;

use elysium_db::DbError;
use elysium_db::lesions::{self as db, NewSighting, SightingRow, UntrackedFinding};
use elysium_db::record as record_db;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::lesions::{self as rules, Candidate, Sighting, TrackSighting};
use crate::domain::roles::Role;
use crate::format;
use crate::model::lesions::*;
use crate::said;
use crate::service::audit::Audit;
use crate::service::{Caller, ServiceError};

/// Who may split and join tracks: the radiologists who read the scans, and the coordinators
/// and administrators who keep records straight.
pub const EDITORS: [Role; 3] = [Role::Radiologist, Role::Coordinator, Role::Admin];

/// A finding's lesion centre (LPS mm) and diameter, from its stored location.
fn centre_and_diameter(location: &serde_json::Value) -> Option<([f64; 3], f64)> {
    let centre = location.get("center_mm")?.as_array()?;
    let mut point = [0.0; 3];
    for (slot, value) in point.iter_mut().zip(centre) {
        *slot = value.as_f64().filter(|v| v.is_finite())?;
    }
    let diameter = location.get("diameter_mm")?.as_f64().filter(|d| d.is_finite() && *d > 0.0)?;
    (centre.len() == 3).then_some((point, diameter))
}

fn array3(values: &[f64]) -> Option<[f64; 3]> {
    values.try_into().ok()
}

/// The rule's view of stored sightings, grouped by track in creation order.
fn candidates(rows: &[SightingRow]) -> Vec<Candidate> {
    let mut tracks: BTreeMap<i64, Candidate> = BTreeMap::new();
    for row in rows {
        tracks
            .entry(row.track_id)
            .or_insert_with(|| Candidate { track: row.track_id, organ: row.track_organ.clone(), sightings: Vec::new() })
            .sightings
            .push(Sighting {
                organ: row.track_organ.clone(),
                study_uid: row.study_uid.clone(),
                aligned_mm: row.aligned_mm.as_deref().and_then(array3),
                diameter_mm: row.diameter_mm,
            });
    }
    tracks.into_values().collect()
}

/// Puts `finding` on the track the rule picks among the tracks of the patient's linked records,
/// or on a new one; `anchor` is its series' landmark (`None`: not measurable, so the sighting
/// starts a track of its own). Returns the track, or `None` when the finding was placed already
/// or its location has no usable centre and diameter. Audited as the system's.
pub async fn place(
    pool: &PgPool,
    finding: &UntrackedFinding,
    anchor: Option<[f64; 3]>,
) -> Result<Option<i64>, ServiceError> {
    let Some((center_mm, diameter_mm)) = centre_and_diameter(&finding.location) else {
        return Ok(None);
    };
    let aligned_mm = anchor.map(|a| [center_mm[0] - a[0], center_mm[1] - a[1], center_mm[2] - a[2]]);
    let group = record_db::linked_group(pool, finding.patient_ref).await?;
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    db::lock_tracking(&mut tx).await?;
    if db::is_tracked(&mut tx, finding.finding_id).await? {
        return Ok(None);
    }
    let rows = db::sightings_of(&mut tx, &group, None).await?;
    let sighting =
        Sighting { organ: finding.organ.clone(), study_uid: finding.study_uid.clone(), aligned_mm, diameter_mm };
    let matched = rules::assign(&sighting, &candidates(&rows));
    let track = match matched {
        Some(track) => track,
        None => db::create_track(&mut tx, finding.patient_ref, &finding.organ, "tracking").await?,
    };
    let id = db::insert_sighting(
        &mut tx,
        &NewSighting {
            track_id: track,
            finding_id: finding.finding_id,
            patient_ref: finding.patient_ref,
            study_ref: finding.study_ref,
            organ: &finding.organ,
            observed_on: finding.observed_on,
            center_mm,
            aligned_mm,
            diameter_mm,
        },
    )
    .await?;
    Audit::anonymous("lesion.track", Some("tracking"), None)
        .target("lesion_track", track.to_string())
        .detail(serde_json::json!({
            "sighting": id,
            "finding": finding.finding_id,
            "study_uid": finding.study_uid,
            "organ": finding.organ,
            "matched": matched.is_some(),
            "aligned": aligned_mm.is_some(),
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Some(track))
}

fn sighting_view(row: &SightingRow) -> SightingView {
    SightingView {
        id: row.id,
        finding_id: row.finding_id,
        finding_status: row.finding_status.clone(),
        class_label: row.class_label.clone(),
        study_uid: row.study_uid.clone(),
        on: format::date(row.observed_on),
        diameter_mm: row.diameter_mm,
        volume_mm3: rules::volume_mm3(row.diameter_mm),
        center_mm: array3(&row.center_mm).unwrap_or_default(),
        aligned: row.aligned_mm.is_some(),
        placed_by: row.placed_by.clone(),
    }
}

fn growth(organ: &str, first: &SightingRow, second: &SightingRow) -> GrowthView {
    let days = (second.observed_on - first.observed_on).whole_days();
    GrowthView {
        from: format::date(first.observed_on),
        to: format::date(second.observed_on),
        growth: rules::growth_between(organ, first.diameter_mm, second.diameter_mm, days),
    }
}

/// One track from its sightings (oldest first, all of one track).
fn track_view(rows: &[SightingRow]) -> Option<LesionTrack> {
    let first = rows.first()?;
    let organ = first.track_organ.clone();
    let intervals = rows.windows(2).map(|pair| growth(&organ, &pair[0], &pair[1])).collect();
    let overall = (rows.len() > 1).then(|| growth(&organ, first, rows.last().unwrap_or(first)));
    Some(LesionTrack {
        id: first.track_id,
        organ,
        created_by: first.track_created_by.clone(),
        sightings: rows.iter().map(sighting_view).collect(),
        intervals,
        overall,
    })
}

fn tracks(rows: &[SightingRow]) -> Vec<LesionTrack> {
    rows.chunk_by(|a, b| a.track_id == b.track_id).filter_map(track_view).collect()
}

/// The tracked lesions of record `id`'s person within the caller's sites (the record page and
/// `GET /api/v1/patients/{id}/lesions`). Audited as a view of the record.
pub async fn of_patient(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<PatientLesions, ServiceError> {
    let patient = crate::service::record::visible(pool, caller, id).await?;
    let group = record_db::linked_group(pool, id).await?;
    let items = tracks_of_group(pool, caller, &group).await?;
    caller
        .audit("patient.lesions")
        .target("patient", patient.id.to_string())
        .patient(patient.patient_id.clone())
        .detail(serde_json::json!({ "tracks": items.len() }))
        .record(pool)
        .await?;
    Ok(PatientLesions { items })
}

/// The tracks of a person's linked records (`group`) within the caller's sites (no audit: the
/// caller's view is audited by whoever calls).
pub(crate) async fn tracks_of_group(
    pool: &PgPool,
    caller: &Caller,
    group: &[Uuid],
) -> Result<Vec<LesionTrack>, ServiceError> {
    let scope = caller.user.site_scope();
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    Ok(tracks(&db::sightings_of(&mut conn, group, scope.as_deref()).await?))
}

/// A track the caller may see: every sighting of its person (the linked records) within the
/// caller's sites, and the record it was first seen on. 404 when none of the track's sightings
/// is visible.
struct VisibleTrack {
    person: Vec<SightingRow>,
    patient: record_db::PatientRow,
}

async fn visible_track(pool: &PgPool, caller: &Caller, id: i64) -> Result<VisibleTrack, ServiceError> {
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let all = db::sightings_of_track(&mut conn, id).await?;
    let first = all.first().ok_or(ServiceError::NotFound)?;
    let patient = crate::service::record::visible(pool, caller, first.patient_ref).await?;
    let group = record_db::linked_group(pool, patient.id).await?;
    let scope = caller.user.site_scope();
    let person = db::sightings_of(&mut conn, &group, scope.as_deref()).await?;
    if !person.iter().any(|row| row.track_id == id) {
        return Err(ServiceError::NotFound);
    }
    Ok(VisibleTrack { person, patient })
}

/// The lesion page: the track, its corrections, and the tracks it could be joined with.
/// Audited as a view of the record.
pub async fn detail(pool: &PgPool, caller: &Caller, id: i64) -> Result<LesionDetail, ServiceError> {
    let VisibleTrack { person, patient } = visible_track(pool, caller, id).await?;
    let all = tracks(&person);
    let track = all.iter().find(|t| t.id == id).cloned().ok_or(ServiceError::NotFound)?;
    let join_candidates = all
        .into_iter()
        .filter(|t| t.id != id && t.organ == track.organ)
        .filter_map(|t| {
            let (first, last) = (t.sightings.first()?, t.sightings.last()?);
            Some(JoinCandidate {
                id: t.id,
                first_on: first.on.clone(),
                last_on: last.on.clone(),
                latest_diameter_mm: last.diameter_mm,
                sightings: t.sightings.len(),
            })
        })
        .collect();
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let events = db::events_of(&mut conn, id)
        .await?
        .into_iter()
        .map(|e| TrackEventView {
            kind: e.kind,
            track_id: e.track_id,
            other_id: e.other_id,
            sighting_id: e.sighting_id,
            reason: e.reason,
            actor: e.actor,
            at: format::minute(e.occurred_at),
        })
        .collect();
    caller
        .audit("lesion.view")
        .target("lesion_track", id.to_string())
        .patient(patient.patient_id.clone())
        .record(pool)
        .await?;
    Ok(LesionDetail {
        patient: patient.id,
        patient_id: patient.patient_id,
        patient_name: patient.name,
        track,
        events,
        join_candidates,
        may_edit: caller.user.has_any_role(&EDITORS),
    })
}

fn refused(error: rules::EditRefusal) -> ServiceError {
    let field = match error {
        rules::EditRefusal::ReasonRequired | rules::EditRefusal::ReasonTooLong => "reason",
        rules::EditRefusal::NotOnTrack { .. } | rules::EditRefusal::OnlySighting => "sighting",
        _ => "other",
    };
    ServiceError::invalid(field, error.said())
}

fn edit_sightings(rows: &[SightingRow]) -> Vec<TrackSighting> {
    rows.iter().map(|r| TrackSighting { id: r.id, study_uid: r.study_uid.clone() }).collect()
}

fn may_edit(caller: &Caller) -> Result<(), ServiceError> {
    if caller.user.has_any_role(&EDITORS) { Ok(()) } else { Err(ServiceError::Forbidden) }
}

/// Splits `request.sighting` off track `id` into a new track of its own. Audited with the
/// reason; a refusal changes nothing.
pub async fn split(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &SplitRequest,
) -> Result<EditOutcome, ServiceError> {
    may_edit(caller)?;
    let VisibleTrack { patient, .. } = visible_track(pool, caller, id).await?;
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    db::lock_tracking(&mut tx).await?;
    let track = db::track_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let rows = db::sightings_of_track(&mut tx, id).await?;
    rules::check_split(&edit_sightings(&rows), request.sighting, &request.reason).map_err(refused)?;
    let moved = rows.iter().find(|r| r.id == request.sighting).ok_or(ServiceError::NotFound)?;
    let reason = request.reason.trim();
    let new_track = db::create_track(&mut tx, moved.patient_ref, &track.organ, &caller.user.username).await?;
    db::move_sighting(&mut tx, moved.id, new_track, &caller.user.username).await?;
    db::insert_event(&mut tx, "split", id, new_track, Some(moved.id), reason, caller.user.id).await?;
    caller
        .audit("lesion.split")
        .target("lesion_track", id.to_string())
        .patient(patient.patient_id.clone())
        .detail(serde_json::json!({ "sighting": moved.id, "new_track": new_track, "reason": reason }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(EditOutcome { track: id, new_track: Some(new_track) })
}

/// Joins track `request.other` into track `id` (its sightings move; the emptied track stays,
/// named in the history). Both tracks must be the caller's to see. Audited with the reason.
pub async fn join(pool: &PgPool, caller: &Caller, id: i64, request: &JoinRequest) -> Result<EditOutcome, ServiceError> {
    may_edit(caller)?;
    let VisibleTrack { person, patient } = visible_track(pool, caller, id).await?;
    // The other track must be one of this person's that the caller can see.
    if !person.iter().any(|row| row.track_id == request.other) {
        return Err(ServiceError::invalid(
            "other",
            said!("no such lesion track of this patient", "该患者没有此病灶追踪"),
        ));
    }
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    db::lock_tracking(&mut tx).await?;
    let (first_id, second_id) = (id.min(request.other), id.max(request.other));
    let first = db::track_for_update(&mut tx, first_id).await?.ok_or(ServiceError::NotFound)?;
    let second = db::track_for_update(&mut tx, second_id).await?.ok_or(ServiceError::NotFound)?;
    let (kept, other) = if first.id == id { (first, second) } else { (second, first) };
    let kept_rows = db::sightings_of_track(&mut tx, kept.id).await?;
    let other_rows = db::sightings_of_track(&mut tx, other.id).await?;
    rules::check_join(
        (kept.id, &kept.organ, &edit_sightings(&kept_rows)),
        (other.id, &other.organ, &edit_sightings(&other_rows)),
        &request.reason,
    )
    .map_err(refused)?;
    let reason = request.reason.trim();
    let moved = db::move_all(&mut tx, other.id, kept.id, &caller.user.username).await?;
    db::insert_event(&mut tx, "join", kept.id, other.id, None, reason, caller.user.id).await?;
    caller
        .audit("lesion.join")
        .target("lesion_track", kept.id.to_string())
        .patient(patient.patient_id.clone())
        .detail(serde_json::json!({ "joined": other.id, "sightings_moved": moved, "reason": reason }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(EditOutcome { track: kept.id, new_track: None })
}
