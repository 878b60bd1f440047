//! Tracked lesions as the record page, the lesion page and `GET /api/v1/patients/{id}/lesions`
//! carry them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::lesions::Growth;

/// One lesion as one study saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SightingView {
    pub id: i64,
    pub finding_id: i64,
    pub finding_status: String,
    pub class_label: String,
    pub study_uid: String,
    /// The study date, `YYYY-MM-DD`.
    pub on: String,
    pub diameter_mm: f64,
    /// The sphere of that diameter (mm³).
    pub volume_mm3: f64,
    /// In patient coordinates (LPS mm) of its own series.
    pub center_mm: [f64; 3],
    /// Whether its series' anatomy could be aligned (unaligned sightings match no other).
    pub aligned: bool,
    /// `rule`, or the username of the person who last moved it.
    pub placed_by: String,
}

/// Growth from one sighting to a later one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthView {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub growth: Growth,
}

/// One lesion followed across studies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionTrack {
    pub id: i64,
    pub organ: String,
    /// `tracking` (the rule) or the person who split it off.
    pub created_by: String,
    /// Oldest first.
    pub sightings: Vec<SightingView>,
    /// Between consecutive sightings.
    pub intervals: Vec<GrowthView>,
    /// From the first sighting to the latest (none with a single sighting).
    pub overall: Option<GrowthView>,
}

/// `GET /api/v1/patients/{id}/lesions`: the person's tracked lesions (across linked records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientLesions {
    pub items: Vec<LesionTrack>,
}

/// A person's correction of a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackEventView {
    /// `split` or `join`.
    pub kind: String,
    pub track_id: i64,
    pub other_id: i64,
    pub sighting_id: Option<i64>,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

/// Another track of the same person and organ this one could be joined with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinCandidate {
    pub id: i64,
    pub first_on: String,
    pub last_on: String,
    pub latest_diameter_mm: f64,
    pub sightings: usize,
}

/// `GET /api/v1/lesions/{id}`: the lesion page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionDetail {
    /// The record the track was first seen on.
    pub patient: Uuid,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub track: LesionTrack,
    pub events: Vec<TrackEventView>,
    pub join_candidates: Vec<JoinCandidate>,
    /// Whether the caller may split and join.
    pub may_edit: bool,
}

/// `POST /api/v1/lesions/{id}/split`: `sighting` leaves the track for a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRequest {
    pub sighting: i64,
    pub reason: String,
}

/// `POST /api/v1/lesions/{id}/join`: the sightings of track `other` move to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub other: i64,
    pub reason: String,
}

/// What an edit left: the track(s) now holding the sightings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditOutcome {
    pub track: i64,
    /// The new track a split made.
    pub new_track: Option<i64>,
}
