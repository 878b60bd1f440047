//! Programme settings as the settings page and `GET|POST /api/v1/admin/settings` carry them.

use serde::{Deserialize, Serialize};

use crate::domain::chronic::ChronicRules;
use crate::domain::followup::ServiceLevels;

/// Who last changed a setting on the page, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    /// In force: the page's, else the environment's.
    pub levels: ServiceLevels,
    /// The environment's (`ELYSIUM_SLA_*`, `ELYSIUM_CONTACTS_BEFORE_LOST`).
    pub default_levels: ServiceLevels,
    /// `None`: the environment's are in force.
    pub levels_changed: Option<Changed>,
    pub inference_device: String,
    /// The environment's (`ELYSIUM_INFERENCE_DEVICE`).
    pub default_inference_device: String,
    pub device_changed: Option<Changed>,
    /// The chronic-finding cut-offs in force (the published defaults until changed).
    pub chronic_rules: ChronicRules,
    pub chronic_rules_changed: Option<Changed>,
}

/// An administrator's change: every setting, as the form sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    pub review_working_days: u32,
    pub workup_ordered_days: u32,
    pub workup_done_days: u32,
    pub outcome_days: u32,
    pub contacts_before_lost: u32,
    pub inference_device: String,
}

impl SettingsUpdate {
    pub fn levels(&self) -> ServiceLevels {
        ServiceLevels {
            review_working_days: self.review_working_days,
            workup_ordered_days: self.workup_ordered_days,
            workup_done_days: self.workup_done_days,
            outcome_days: self.outcome_days,
            contacts_before_lost: self.contacts_before_lost,
        }
    }
}
