//! Patient identity on the wire: demographics mismatches to resolve.

use serde::{Deserialize, Serialize};

use crate::domain::identity::{DemographicField, MismatchResolution};

/// A study that states its patient's name or birth date differently from the patient's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MismatchView {
    pub id: uuid::Uuid,
    pub study_uid: String,
    pub field: DemographicField,
    pub stored_value: String,
    pub received_value: String,
    pub detected_at: String,
    pub resolution: Option<MismatchResolution>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}
