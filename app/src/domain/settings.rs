//! The programme settings an administrator may change from the page: the follow-up service
//! levels, the contact attempts before "lost to follow-up", and the device screening runs on.
//! The environment gives their defaults; a change on the page overrides them, for every server
//! and worker, from their next use.

use crate::domain::followup::ServiceLevels;

/// The devices screening may be asked to run on (`elysium_inference::runtime::DevicePreference`).
pub const INFERENCE_DEVICES: [&str; 3] = ["auto", "cuda", "cpu"];

/// Each service level's allowed range (inclusive). Wide enough for any programme; a zero would
/// make every finding overdue the day it is raised.
pub const REVIEW_WORKING_DAYS: (u32, u32) = (1, 20);
pub const WORKUP_ORDERED_DAYS: (u32, u32) = (1, 90);
pub const WORKUP_DONE_DAYS: (u32, u32) = (1, 180);
pub const OUTCOME_DAYS: (u32, u32) = (1, 365);
/// As `ELYSIUM_CONTACTS_BEFORE_LOST` allows.
pub const CONTACTS_BEFORE_LOST: (u32, u32) = (1, 20);

/// A refused setting: which field, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsRefusal {
    pub field: &'static str,
    pub message: crate::domain::said::Said,
}

fn within(field: &'static str, value: u32, (low, high): (u32, u32)) -> Result<(), SettingsRefusal> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(SettingsRefusal { field, message: crate::said!("{low} to {high}", "{low} 至 {high}") })
    }
}

/// Checks service levels: each within its range, and the deadlines, all counted from detection,
/// in the order the steps happen (work-up ordered, then done, then the outcome).
pub fn check_levels(levels: &ServiceLevels) -> Result<(), SettingsRefusal> {
    within("review_working_days", levels.review_working_days, REVIEW_WORKING_DAYS)?;
    within("workup_ordered_days", levels.workup_ordered_days, WORKUP_ORDERED_DAYS)?;
    within("workup_done_days", levels.workup_done_days, WORKUP_DONE_DAYS)?;
    within("outcome_days", levels.outcome_days, OUTCOME_DAYS)?;
    within("contacts_before_lost", levels.contacts_before_lost, CONTACTS_BEFORE_LOST)?;
    if levels.workup_done_days < levels.workup_ordered_days {
        return Err(SettingsRefusal {
            field: "workup_done_days",
            message: crate::said!(
                "at least the days to order the work-up (both count from detection)",
                "不少于开具检查的天数（均自检出之日起计）"
            ),
        });
    }
    if levels.outcome_days < levels.workup_done_days {
        return Err(SettingsRefusal {
            field: "outcome_days",
            message: crate::said!(
                "at least the days to complete the work-up (both count from detection)",
                "不少于完成检查的天数（均自检出之日起计）"
            ),
        });
    }
    Ok(())
}

pub fn check_device(device: &str) -> Result<(), SettingsRefusal> {
    if INFERENCE_DEVICES.contains(&device) {
        Ok(())
    } else {
        Err(SettingsRefusal {
            field: "inference_device",
            message: crate::domain::said::Said::one_of(&INFERENCE_DEVICES),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass() {
        assert_eq!(check_levels(&ServiceLevels::default()), Ok(()));
        for device in INFERENCE_DEVICES {
            assert_eq!(check_device(device), Ok(()));
        }
    }

    #[test]
    fn each_bound_and_the_order_of_the_steps() {
        let base = ServiceLevels::default();
        let cases: [(ServiceLevels, Option<&str>); 12] = [
            (ServiceLevels { review_working_days: 0, ..base }, Some("review_working_days")),
            (ServiceLevels { review_working_days: 20, ..base }, None),
            (ServiceLevels { review_working_days: 21, ..base }, Some("review_working_days")),
            (ServiceLevels { workup_ordered_days: 0, ..base }, Some("workup_ordered_days")),
            (ServiceLevels { workup_ordered_days: 91, ..base }, Some("workup_ordered_days")),
            (ServiceLevels { workup_done_days: 181, ..base }, Some("workup_done_days")),
            (ServiceLevels { outcome_days: 366, ..base }, Some("outcome_days")),
            (ServiceLevels { contacts_before_lost: 0, ..base }, Some("contacts_before_lost")),
            (ServiceLevels { contacts_before_lost: 21, ..base }, Some("contacts_before_lost")),
            // Done before it is ordered; an outcome before the work-up is done.
            (ServiceLevels { workup_ordered_days: 31, ..base }, Some("workup_done_days")),
            (ServiceLevels { outcome_days: 29, ..base }, Some("outcome_days")),
            // Equal deadlines are allowed.
            (ServiceLevels { workup_ordered_days: 30, workup_done_days: 30, outcome_days: 30, ..base }, None),
        ];
        for (levels, refused) in cases {
            assert_eq!(check_levels(&levels).err().map(|r| r.field), refused, "{levels:?}");
        }
        let gpu = check_device("gpu").expect_err("unknown");
        assert_eq!(gpu.to_string(), "inference_device: valid: auto, cuda, cpu");
        assert!(check_device("CUDA").is_err(), "matched exactly");
    }
}
