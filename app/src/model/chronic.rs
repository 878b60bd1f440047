//! Chronic findings as the coordinator's list, the finding page, the letter and
//! `GET /api/v1/chronic` carry them.

use serde::{Deserialize, Serialize};

use crate::domain::chronic::{ChronicEventKind, ChronicKind, ChronicRules, ChronicStatus, CloseReason, Criterion};
use crate::domain::language::Language;

/// One finding on the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicItem {
    pub id: i64,
    /// The patient's identifier at their assigning authority.
    pub patient: String,
    pub patient_name: Option<String>,
    pub kind: ChronicKind,
    pub criterion: Criterion,
    /// The figure that raised it, in `unit`.
    pub value: f64,
    pub unit: String,
    /// The latest figure measured (the trend's end), and its day (`YYYY-MM-DD`).
    pub latest_value: Option<f64>,
    pub latest_on: Option<String>,
    pub status: ChronicStatus,
    pub version: i32,
    pub site: Option<String>,
    /// The day it was raised (`YYYY-MM-DD`).
    pub raised_on: String,
    pub study_uid: String,
    /// Whom the letter went to, once sent.
    pub physician: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicList {
    pub items: Vec<ChronicItem>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// The list's query (`?status=&kind=&page=`); `status` may be `open` (every state but closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChronicParams {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
}

/// One figure in the finding's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub on: String,
    pub value: f64,
    /// The criterion it meets (none: within the normal range).
    pub criterion: Option<Criterion>,
    pub study_uid: String,
}

/// One entry in the finding's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicEventView {
    pub version: i32,
    /// `raised` for the system's first entry, else a [`ChronicEventKind`]'s name.
    pub kind: String,
    pub to_status: ChronicStatus,
    pub actor: String,
    pub at: String,
    /// The payload's text worth reading (physician, reason, note).
    pub detail: Option<String>,
    pub close_reason: Option<CloseReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicDetail {
    pub item: ChronicItem,
    pub site_name: Option<String>,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    /// The language the patient's letters are printed in (the physician's letter too).
    pub letter_language: Option<Language>,
    /// Whom the study named as referring physician (the letter's default addressee).
    pub referring_physician: Option<String>,
    /// The cut-offs in force when it was raised.
    pub rules: ChronicRules,
    pub observations: Vec<Observation>,
    pub events: Vec<ChronicEventView>,
    /// What the viewer may do now.
    pub available: Vec<ChronicEventKind>,
}

/// An event as the page's form or `POST /api/v1/chronic/{id}/events` sends it: the version the
/// user saw and the event (`{"version": 3, "event": "send_letter", "physician": "…"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicRecorded {
    pub id: i64,
    pub status: ChronicStatus,
    pub version: i32,
}
