//! What a person may change when the rule got a track wrong: split one sighting off a track
//! into a track of its own, or join two tracks into one. Both need a reason and are audited;
//! neither deletes a sighting. These are the refusals, checked before anything is written.

use serde::Serialize;

use crate::domain::said::Said;
use crate::said;

/// A reason is kept short enough to read in the history.
pub const MAX_REASON: usize = 2000;

/// A sighting as the edit rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSighting {
    pub id: i64,
    pub study_uid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum EditRefusal {
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the reason is longer than {MAX_REASON} characters")]
    ReasonTooLong,
    #[error("sighting {sighting} is not on this track")]
    NotOnTrack { sighting: i64 },
    #[error("the track has only this sighting; there is nothing to split it from")]
    OnlySighting,
    #[error("a track cannot be joined with itself")]
    SameTrack,
    #[error("the tracks are of different organs ({first}, {second})")]
    DifferentOrgans { first: String, second: String },
    #[error("both tracks have a sighting on study {study_uid}; one lesion is seen once per study")]
    SameStudy { study_uid: String },
}

impl EditRefusal {
    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        match self {
            EditRefusal::ReasonRequired => said!("a reason is required", "须填写理由"),
            EditRefusal::ReasonTooLong => {
                said!("the reason is longer than {MAX_REASON} characters", "理由超过 {MAX_REASON} 个字符")
            }
            EditRefusal::NotOnTrack { sighting } => {
                said!("sighting {sighting} is not on this track", "检查记录 {sighting} 不在此追踪中")
            }
            EditRefusal::OnlySighting => said!(
                "the track has only this sighting; there is nothing to split it from",
                "此追踪仅有这一次检查记录，无可拆分"
            ),
            EditRefusal::SameTrack => said!("a track cannot be joined with itself", "追踪不能与自身合并"),
            EditRefusal::DifferentOrgans { first, second } => {
                said!(
                    "the tracks are of different organs ({first}, {second})",
                    "两条追踪属于不同器官（{first}, {second}）"
                )
            }
            EditRefusal::SameStudy { study_uid } => said!(
                "both tracks have a sighting on study {study_uid}; one lesion is seen once per study",
                "两条追踪在检查 {study_uid} 中均有记录；同一病灶在一次检查中只出现一次"
            ),
        }
    }
}

fn check_reason(reason: &str) -> Result<(), EditRefusal> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EditRefusal::ReasonRequired);
    }
    if reason.chars().count() > MAX_REASON {
        return Err(EditRefusal::ReasonTooLong);
    }
    Ok(())
}

/// Whether `sighting` may be split off `track` into a new track.
pub fn check_split(track: &[TrackSighting], sighting: i64, reason: &str) -> Result<(), EditRefusal> {
    check_reason(reason)?;
    if !track.iter().any(|s| s.id == sighting) {
        return Err(EditRefusal::NotOnTrack { sighting });
    }
    if track.len() < 2 {
        return Err(EditRefusal::OnlySighting);
    }
    Ok(())
}

/// Whether the track `second` may be joined into `first` (its sightings move to `first`).
pub fn check_join(
    (first_id, first_organ, first): (i64, &str, &[TrackSighting]),
    (second_id, second_organ, second): (i64, &str, &[TrackSighting]),
    reason: &str,
) -> Result<(), EditRefusal> {
    check_reason(reason)?;
    if first_id == second_id {
        return Err(EditRefusal::SameTrack);
    }
    if first_organ != second_organ {
        return Err(EditRefusal::DifferentOrgans { first: first_organ.to_owned(), second: second_organ.to_owned() });
    }
    if let Some(shared) = first.iter().find(|a| second.iter().any(|b| b.study_uid == a.study_uid)) {
        return Err(EditRefusal::SameStudy { study_uid: shared.study_uid.clone() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn said_speaks_displays_english() {
        let refusals = [
            EditRefusal::ReasonRequired,
            EditRefusal::ReasonTooLong,
            EditRefusal::NotOnTrack { sighting: 3 },
            EditRefusal::OnlySighting,
            EditRefusal::SameTrack,
            EditRefusal::DifferentOrgans { first: "lung".into(), second: "liver".into() },
            EditRefusal::SameStudy { study_uid: "1.2.3".into() },
        ];
        for refusal in refusals {
            assert_eq!(refusal.said().en, refusal.to_string());
            assert!(!refusal.said().zh.is_empty());
        }
        assert_eq!(EditRefusal::NotOnTrack { sighting: 3 }.said().zh, "检查记录 3 不在此追踪中");
    }
}
