//! The named events that move a finding, with their payloads. An event is the only way a
//! finding's state changes; each is stored with its actor, role, time and payload.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::domain::organs::Organ;
use crate::format::iso_date;

/// Free-text fields longer than this are refused (a note, not a document).
pub const MAX_TEXT: usize = 4000;
/// Short text fields: a diagnosis, a clinician's name, a site.
pub const MAX_SHORT_TEXT: usize = 200;
/// The longest surveillance interval (months): five years.
pub const MAX_SURVEILLANCE_MONTHS: u32 = 60;
/// The surveillance interval for organs no guideline gives one for; lung nodules and kidney
/// masses have theirs (`surveillance::default_interval`, with the sources). The person setting
/// it chooses per patient.
pub const DEFAULT_SURVEILLANCE_MONTHS: u32 = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum FindingEvent {
    StartReview,
    Dismiss {
        reason: DismissReason,
        #[serde(default)]
        note: Option<String>,
    },
    OrderWorkup {
        modality: WorkupModality,
        #[serde(with = "iso_date")]
        due_date: Date,
        #[serde(default)]
        responsible: Option<String>,
    },
    ScheduleWorkup {
        #[serde(with = "iso_date")]
        date: Date,
        #[serde(default)]
        site: Option<String>,
    },
    CompleteWorkup {
        #[serde(default)]
        summary: Option<String>,
    },
    RecordOutcome {
        outcome: Outcome,
        #[serde(default)]
        confirmed_by: Option<ConfirmedBy>,
        #[serde(default)]
        diagnosis: Option<String>,
        #[serde(with = "iso_date")]
        date: Date,
    },
    RecordContactAttempt {
        channel: ContactChannel,
        result: ContactResult,
        #[serde(default)]
        note: Option<String>,
    },
    MarkDeclined {
        #[serde(default)]
        note: Option<String>,
    },
    MarkLost,
    ReferToMdt,
    Reopen {
        reason: String,
    },
    /// Hand the finding to a colleague (`None`: back to the unassigned pool).
    Assign {
        #[serde(default)]
        assignee: Option<String>,
    },
    AddNote {
        text: String,
    },
    /// Imaging again after `months` (from today) for a closed finding that is benign, had no
    /// lesion or was dismissed; `None` ends the surveillance.
    SetSurveillance {
        #[serde(default)]
        months: Option<u32>,
        #[serde(default)]
        note: Option<String>,
    },
}

/// An event's name without its payload: what the transition table and the permissions speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StartReview,
    Dismiss,
    OrderWorkup,
    ScheduleWorkup,
    CompleteWorkup,
    RecordOutcome,
    RecordContactAttempt,
    MarkDeclined,
    MarkLost,
    ReferToMdt,
    Reopen,
    Assign,
    AddNote,
    SetSurveillance,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::StartReview,
        EventKind::Dismiss,
        EventKind::OrderWorkup,
        EventKind::ScheduleWorkup,
        EventKind::CompleteWorkup,
        EventKind::RecordOutcome,
        EventKind::RecordContactAttempt,
        EventKind::MarkDeclined,
        EventKind::MarkLost,
        EventKind::ReferToMdt,
        EventKind::Reopen,
        EventKind::Assign,
        EventKind::AddNote,
        EventKind::SetSurveillance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::StartReview => "start_review",
            EventKind::Dismiss => "dismiss",
            EventKind::OrderWorkup => "order_workup",
            EventKind::ScheduleWorkup => "schedule_workup",
            EventKind::CompleteWorkup => "complete_workup",
            EventKind::RecordOutcome => "record_outcome",
            EventKind::RecordContactAttempt => "record_contact_attempt",
            EventKind::MarkDeclined => "mark_declined",
            EventKind::MarkLost => "mark_lost",
            EventKind::ReferToMdt => "refer_to_mdt",
            EventKind::Reopen => "reopen",
            EventKind::Assign => "assign",
            EventKind::AddNote => "add_note",
            EventKind::SetSurveillance => "set_surveillance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::StartReview => "Take for review",
            EventKind::Dismiss => "Dismiss",
            EventKind::OrderWorkup => "Order work-up",
            EventKind::ScheduleWorkup => "Schedule work-up",
            EventKind::CompleteWorkup => "Work-up done",
            EventKind::RecordOutcome => "Record outcome",
            EventKind::RecordContactAttempt => "Log contact attempt",
            EventKind::MarkDeclined => "Patient declined",
            EventKind::MarkLost => "Lost to follow-up",
            EventKind::ReferToMdt => "Refer to MDT",
            EventKind::Reopen => "Reopen",
            EventKind::Assign => "Assign",
            EventKind::AddNote => "Add note",
            EventKind::SetSurveillance => "Set surveillance",
        }
    }
}

impl crate::domain::language::Labelled for EventKind {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            EventKind::StartReview => "接手审核",
            EventKind::Dismiss => "排除",
            EventKind::OrderWorkup => "申请进一步检查",
            EventKind::ScheduleWorkup => "预约检查",
            EventKind::CompleteWorkup => "检查已完成",
            EventKind::RecordOutcome => "记录结局",
            EventKind::RecordContactAttempt => "记录联系尝试",
            EventKind::MarkDeclined => "患者拒绝",
            EventKind::MarkLost => "失访",
            EventKind::ReferToMdt => "提交多学科诊疗（MDT）",
            EventKind::Reopen => "重新打开",
            EventKind::Assign => "分配",
            EventKind::AddNote => "添加备注",
            EventKind::SetSurveillance => "设定随访复查",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FindingEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            FindingEvent::StartReview => EventKind::StartReview,
            FindingEvent::Dismiss { .. } => EventKind::Dismiss,
            FindingEvent::OrderWorkup { .. } => EventKind::OrderWorkup,
            FindingEvent::ScheduleWorkup { .. } => EventKind::ScheduleWorkup,
            FindingEvent::CompleteWorkup { .. } => EventKind::CompleteWorkup,
            FindingEvent::RecordOutcome { .. } => EventKind::RecordOutcome,
            FindingEvent::RecordContactAttempt { .. } => EventKind::RecordContactAttempt,
            FindingEvent::MarkDeclined { .. } => EventKind::MarkDeclined,
            FindingEvent::MarkLost => EventKind::MarkLost,
            FindingEvent::ReferToMdt => EventKind::ReferToMdt,
            FindingEvent::Reopen { .. } => EventKind::Reopen,
            FindingEvent::Assign { .. } => EventKind::Assign,
            FindingEvent::AddNote { .. } => EventKind::AddNote,
            FindingEvent::SetSurveillance { .. } => EventKind::SetSurveillance,
        }
    }

    /// Whether the event carries fields besides its name. Every variant is named, so a new event
    /// must say: the events without any refuse every field but their name when read from JSON,
    /// which serde's `deny_unknown_fields` does not do for unit variants.
    pub fn has_fields(&self) -> bool {
        match self {
            FindingEvent::StartReview | FindingEvent::MarkLost | FindingEvent::ReferToMdt => false,
            FindingEvent::Dismiss { .. }
            | FindingEvent::OrderWorkup { .. }
            | FindingEvent::ScheduleWorkup { .. }
            | FindingEvent::CompleteWorkup { .. }
            | FindingEvent::RecordOutcome { .. }
            | FindingEvent::RecordContactAttempt { .. }
            | FindingEvent::MarkDeclined { .. }
            | FindingEvent::Reopen { .. }
            | FindingEvent::Assign { .. }
            | FindingEvent::AddNote { .. }
            | FindingEvent::SetSurveillance { .. } => true,
        }
    }

    /// The reason recorded with the event in the history, where the event has one.
    pub fn reason(&self) -> Option<String> {
        match self {
            FindingEvent::Dismiss { reason, note } => Some(match note {
                Some(note) => format!("{}: {note}", reason.label()),
                None => reason.label().to_owned(),
            }),
            FindingEvent::Reopen { reason } => Some(reason.clone()),
            FindingEvent::MarkDeclined { note } => note.clone(),
            FindingEvent::SetSurveillance { note, .. } => note.clone(),
            _ => None,
        }
    }

    /// Trims free text and turns blank optional fields into `None`, so that "  " is never stored
    /// as a note. Validation runs on the normalised event.
    pub fn normalised(self) -> FindingEvent {
        fn opt(text: Option<String>) -> Option<String> {
            text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
        }
        match self {
            FindingEvent::Dismiss { reason, note } => FindingEvent::Dismiss { reason, note: opt(note) },
            FindingEvent::OrderWorkup { modality, due_date, responsible } => {
                FindingEvent::OrderWorkup { modality, due_date, responsible: opt(responsible) }
            }
            FindingEvent::ScheduleWorkup { date, site } => FindingEvent::ScheduleWorkup { date, site: opt(site) },
            FindingEvent::CompleteWorkup { summary } => FindingEvent::CompleteWorkup { summary: opt(summary) },
            FindingEvent::RecordOutcome { outcome, confirmed_by, diagnosis, date } => {
                FindingEvent::RecordOutcome { outcome, confirmed_by, diagnosis: opt(diagnosis), date }
            }
            FindingEvent::RecordContactAttempt { channel, result, note } => {
                FindingEvent::RecordContactAttempt { channel, result, note: opt(note) }
            }
            FindingEvent::MarkDeclined { note } => FindingEvent::MarkDeclined { note: opt(note) },
            FindingEvent::Reopen { reason } => FindingEvent::Reopen { reason: reason.trim().to_owned() },
            FindingEvent::Assign { assignee } => {
                FindingEvent::Assign { assignee: opt(assignee).map(|a| a.to_lowercase()) }
            }
            FindingEvent::AddNote { text } => FindingEvent::AddNote { text: text.trim().to_owned() },
            FindingEvent::SetSurveillance { months, note } => FindingEvent::SetSurveillance { months, note: opt(note) },
            other @ (FindingEvent::StartReview | FindingEvent::MarkLost | FindingEvent::ReferToMdt) => other,
        }
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal, $label:literal, $zh:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }

        impl crate::domain::language::Labelled for $name {
            fn label_en(self) -> &'static str {
                self.label()
            }

            fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
        }
    };
}

named_enum! {
    /// Why a finding is closed on review without work-up.
    DismissReason {
        ImagingArtefact => "imaging_artefact", "Imaging artefact", "影像伪影";
        KnownDiagnosis => "known_diagnosis", "Known / previously diagnosed", "已知或既往已诊断";
        BenignAppearance => "benign_appearance", "Benign appearance on review", "复核为良性表现";
        AiFalsePositive => "ai_false_positive", "AI false positive", "AI 假阳性";
        Duplicate => "duplicate", "Duplicate", "重复";
        Other => "other", "Other", "其他";
    }
}

impl DismissReason {
    /// Reasons that rest on reading the images: only a radiologist may give them. The others
    /// (a known diagnosis, a duplicate) a coordinator can establish from the record.
    pub fn needs_image_review(self) -> bool {
        matches!(
            self,
            DismissReason::ImagingArtefact | DismissReason::BenignAppearance | DismissReason::AiFalsePositive
        )
    }
}

named_enum! {
    /// The work-up a finding is sent for.
    WorkupModality {
        ContrastCt => "contrast_ct", "Contrast-enhanced CT", "增强 CT";
        ContrastMri => "contrast_mri", "Contrast-enhanced MRI", "增强 MRI";
        Endoscopy => "endoscopy", "Upper endoscopy", "胃镜（上消化道内镜）";
        Colonoscopy => "colonoscopy", "Colonoscopy", "结肠镜";
        Biopsy => "biopsy", "Biopsy", "活检";
        PetCt => "pet_ct", "PET-CT", "PET-CT";
        MammographyUltrasound => "mammography_ultrasound", "Mammography / breast ultrasound", "乳腺 X 线摄影／乳腺超声";
        SpecialistReferral => "specialist_referral", "Specialist referral", "专科转诊";
    }
}

impl WorkupModality {
    /// Whether this work-up examines `organ`. Upper endoscopy reaches the esophagus and stomach,
    /// colonoscopy the colon and rectum, mammography and breast ultrasound the breast; the rest
    /// apply to every organ.
    pub fn suits(self, organ: Organ) -> bool {
        match self {
            WorkupModality::Endoscopy => matches!(organ, Organ::Esophagus | Organ::Stomach),
            WorkupModality::Colonoscopy => organ == Organ::Colorectal,
            WorkupModality::MammographyUltrasound => organ == Organ::Breast,
            WorkupModality::ContrastCt
            | WorkupModality::ContrastMri
            | WorkupModality::Biopsy
            | WorkupModality::PetCt
            | WorkupModality::SpecialistReferral => true,
        }
    }
}

named_enum! {
    Outcome {
        ConfirmedMalignant => "confirmed_malignant", "Confirmed malignant", "确诊恶性";
        Benign => "benign", "Benign", "良性";
        NoLesion => "no_lesion", "No lesion (AI false positive)", "未见病灶（AI 假阳性）";
    }
}

named_enum! {
    /// What confirmed a malignancy.
    ConfirmedBy {
        Pathology => "pathology", "Pathology", "病理";
        Imaging => "imaging", "Imaging", "影像";
    }
}

named_enum! {
    ContactChannel {
        Phone => "phone", "Phone", "电话";
        Letter => "letter", "Letter", "信函";
        Portal => "portal", "Patient portal", "患者服务平台";
    }
}

named_enum! {
    ContactResult {
        Reached => "reached", "Reached the patient", "已联系到患者";
        NoAnswer => "no_answer", "No answer", "无人接听";
        LeftMessage => "left_message", "Left a message", "已留言";
        WrongNumber => "wrong_number", "Wrong number / address", "号码或地址错误";
        Sent => "sent", "Sent, no reply yet", "已发送，尚未回复";
        Undeliverable => "undeliverable", "Returned undeliverable", "无法投递被退回";
    }
}

impl ContactResult {
    /// Attempts that did not reach the patient count towards "lost to follow-up".
    pub fn is_unsuccessful(self) -> bool {
        self != ContactResult::Reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_wire_name() {
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }

    #[test]
    fn events_parse_from_the_api_shape() {
        let event: FindingEvent = serde_json::from_str(
            r#"{"event":"order_workup","modality":"colonoscopy","due_date":"2026-12-01","responsible":"Dr Who"}"#,
        )
        .expect("parses");
        assert_eq!(event.kind(), EventKind::OrderWorkup);
        assert_eq!(
            event,
            FindingEvent::OrderWorkup {
                modality: WorkupModality::Colonoscopy,
                due_date: time::macros::date!(2026 - 12 - 01),
                responsible: Some("Dr Who".into())
            }
        );
        let kind: EventKind = serde_json::from_str("\"record_contact_attempt\"").expect("parses");
        assert_eq!(kind, EventKind::RecordContactAttempt);
    }

    #[test]
    fn malformed_events_are_refused_by_the_parser() {
        for bad in [
            r#"{"event":"launch_rocket"}"#,
            r#"{"event":"order_workup","modality":"xray","due_date":"2026-12-01"}"#,
            r#"{"event":"order_workup","modality":"biopsy","due_date":"01/12/2026"}"#,
            r#"{"event":"dismiss"}"#,
            r#"{"event":"dismiss","reason":"duplicate","notes":"a typo in an optional field"}"#,
            r#"{"modality":"biopsy"}"#,
        ] {
            assert!(serde_json::from_str::<FindingEvent>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_and_events_agree_on_names() {
        let event: FindingEvent = serde_json::from_str(r#"{"event":"mark_lost"}"#).expect("parses");
        assert_eq!(event.kind().as_str(), "mark_lost");
    }

    /// Cell by cell: which work-up suits which organ.
    #[test]
    fn workup_modality_suits_organ_table() {
        use Organ::*;
        use WorkupModality::*;
        for organ in Organ::ALL {
            for modality in WorkupModality::ALL {
                let expected = match modality {
                    Endoscopy => matches!(organ, Esophagus | Stomach),
                    Colonoscopy => organ == Colorectal,
                    MammographyUltrasound => organ == Breast,
                    _ => true,
                };
                assert_eq!(modality.suits(organ), expected, "{modality:?} for {organ:?}");
            }
        }
        assert!(!Colonoscopy.suits(Liver));
        assert!(Endoscopy.suits(Stomach));
        assert!(!Endoscopy.suits(Colorectal));
    }

    #[test]
    fn blank_text_is_normalised_away() {
        let event = FindingEvent::Dismiss { reason: DismissReason::Other, note: Some("   ".into()) }.normalised();
        assert_eq!(event, FindingEvent::Dismiss { reason: DismissReason::Other, note: None });
        let event = FindingEvent::Assign { assignee: Some(" Cora ".into()) }.normalised();
        assert_eq!(event, FindingEvent::Assign { assignee: Some("cora".into()) });
    }
}
