//! Where a finding stands on its way to a confirmed outcome.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Just raised by the screening model; nobody has looked at it yet.
    New,
    /// A coordinator or radiologist has taken it.
    InReview,
    /// Closed on review without work-up (the reason is recorded).
    Dismissed,
    WorkupOrdered,
    WorkupScheduled,
    WorkupDone,
    /// Outcome: cancer confirmed by pathology or imaging.
    ConfirmedMalignant,
    /// Outcome: a benign diagnosis.
    Benign,
    /// Outcome: work-up found no lesion (an AI false positive).
    NoLesion,
    /// The patient declined work-up.
    Declined,
    /// The patient could not be reached after the required contact attempts.
    LostToFollowup,
    /// A confirmed cancer handed to the multidisciplinary tumour board.
    ReferredToMdt,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding status `{0}`")]
pub struct UnknownStatus(pub String);

impl FindingStatus {
    pub const ALL: [FindingStatus; 12] = [
        FindingStatus::New,
        FindingStatus::InReview,
        FindingStatus::Dismissed,
        FindingStatus::WorkupOrdered,
        FindingStatus::WorkupScheduled,
        FindingStatus::WorkupDone,
        FindingStatus::ConfirmedMalignant,
        FindingStatus::Benign,
        FindingStatus::NoLesion,
        FindingStatus::Declined,
        FindingStatus::LostToFollowup,
        FindingStatus::ReferredToMdt,
    ];

    /// The states a finding is still being worked in (the default worklist).
    pub const OPEN: [FindingStatus; 5] = [
        FindingStatus::New,
        FindingStatus::InReview,
        FindingStatus::WorkupOrdered,
        FindingStatus::WorkupScheduled,
        FindingStatus::WorkupDone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::New => "new",
            FindingStatus::InReview => "in_review",
            FindingStatus::Dismissed => "dismissed",
            FindingStatus::WorkupOrdered => "workup_ordered",
            FindingStatus::WorkupScheduled => "workup_scheduled",
            FindingStatus::WorkupDone => "workup_done",
            FindingStatus::ConfirmedMalignant => "confirmed_malignant",
            FindingStatus::Benign => "benign",
            FindingStatus::NoLesion => "no_lesion",
            FindingStatus::Declined => "declined",
            FindingStatus::LostToFollowup => "lost_to_followup",
            FindingStatus::ReferredToMdt => "referred_to_mdt",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FindingStatus::New => "New",
            FindingStatus::InReview => "In review",
            FindingStatus::Dismissed => "Dismissed",
            FindingStatus::WorkupOrdered => "Work-up ordered",
            FindingStatus::WorkupScheduled => "Work-up scheduled",
            FindingStatus::WorkupDone => "Work-up done",
            FindingStatus::ConfirmedMalignant => "Confirmed malignant",
            FindingStatus::Benign => "Benign",
            FindingStatus::NoLesion => "No lesion",
            FindingStatus::Declined => "Declined",
            FindingStatus::LostToFollowup => "Lost to follow-up",
            FindingStatus::ReferredToMdt => "Referred to MDT",
        }
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// Closed states keep their outcome; only `reopen` leaves them (and `refer_to_mdt` leaves
    /// `confirmed_malignant`).
    pub fn is_closed(self) -> bool {
        !self.is_open()
    }
}

impl std::str::FromStr for FindingStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingStatus::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl std::fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl crate::domain::language::Labelled for FindingStatus {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            FindingStatus::New => "新发现",
            FindingStatus::InReview => "审核中",
            FindingStatus::Dismissed => "已排除",
            FindingStatus::WorkupOrdered => "已申请检查",
            FindingStatus::WorkupScheduled => "检查已预约",
            FindingStatus::WorkupDone => "检查已完成",
            FindingStatus::ConfirmedMalignant => "确诊恶性",
            FindingStatus::Benign => "良性",
            FindingStatus::NoLesion => "未见病灶",
            FindingStatus::Declined => "患者拒绝",
            FindingStatus::LostToFollowup => "失访",
            FindingStatus::ReferredToMdt => "已提交多学科诊疗（MDT）",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name_and_serde() {
        for status in FindingStatus::ALL {
            assert_eq!(status.as_str().parse::<FindingStatus>(), Ok(status));
            let json = serde_json_name(status);
            assert_eq!(json, status.as_str());
        }
    }

    fn serde_json_name(status: FindingStatus) -> String {
        // serde's snake_case must agree with the database names.
        let quoted = serde_json::to_string(&status).expect("serialises");
        quoted.trim_matches('"').to_owned()
    }

    #[test]
    fn open_and_closed_partition_the_states() {
        let open: Vec<_> = FindingStatus::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, FindingStatus::OPEN);
        assert!(FindingStatus::ReferredToMdt.is_closed());
        assert!(FindingStatus::Dismissed.is_closed());
    }
}
