//! The chronic-finding pathway: simpler than a cancer's. The finding is reported to the patient's
//! primary-care physician by letter, the physician acknowledges it, and it is closed; managing
//! the condition is the physician's. One transition table, who may do what, and what each payload
//! must hold. Pure: the service runs this inside the transaction that writes the result.

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::said;

/// Free text is kept short enough to read on the list.
pub const MAX_TEXT: usize = 2000;
/// A physician's name and practice.
pub const MAX_PHYSICIAN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChronicStatus {
    /// Raised from a screening result; no letter yet.
    New,
    /// The letter to the primary-care physician has been sent.
    LetterSent,
    /// The physician has confirmed receiving it.
    Acknowledged,
    /// Nothing more for the programme to do (the reason is recorded).
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chronic finding status `{0}`")]
pub struct UnknownStatus(pub String);

impl ChronicStatus {
    pub const ALL: [ChronicStatus; 4] =
        [ChronicStatus::New, ChronicStatus::LetterSent, ChronicStatus::Acknowledged, ChronicStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            ChronicStatus::New => "new",
            ChronicStatus::LetterSent => "letter_sent",
            ChronicStatus::Acknowledged => "acknowledged",
            ChronicStatus::Closed => "closed",
        }
    }

    pub fn is_open(self) -> bool {
        self != ChronicStatus::Closed
    }
}

impl std::str::FromStr for ChronicStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChronicStatus::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl Labelled for ChronicStatus {
    fn label_en(self) -> &'static str {
        match self {
            ChronicStatus::New => "New",
            ChronicStatus::LetterSent => "Letter sent",
            ChronicStatus::Acknowledged => "Acknowledged",
            ChronicStatus::Closed => "Closed",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            ChronicStatus::New => "新发现",
            ChronicStatus::LetterSent => "已致函",
            ChronicStatus::Acknowledged => "已确认收悉",
            ChronicStatus::Closed => "已结案",
        }
    }
}

/// Why a chronic finding is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The physician has taken it over (the usual end).
    ManagedByPhysician,
    /// Already known and treated.
    AlreadyKnown,
    /// The image or measurement does not support it on a person's review.
    NotSupportedOnReview,
    PatientDeclined,
    Other,
}

impl CloseReason {
    pub const ALL: [CloseReason; 5] = [
        CloseReason::ManagedByPhysician,
        CloseReason::AlreadyKnown,
        CloseReason::NotSupportedOnReview,
        CloseReason::PatientDeclined,
        CloseReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ManagedByPhysician => "managed_by_physician",
            CloseReason::AlreadyKnown => "already_known",
            CloseReason::NotSupportedOnReview => "not_supported_on_review",
            CloseReason::PatientDeclined => "patient_declined",
            CloseReason::Other => "other",
        }
    }
}

impl Labelled for CloseReason {
    fn label_en(self) -> &'static str {
        match self {
            CloseReason::ManagedByPhysician => "Managed by the primary-care physician",
            CloseReason::AlreadyKnown => "Already known and managed",
            CloseReason::NotSupportedOnReview => "Not supported on review of the images",
            CloseReason::PatientDeclined => "Patient declined",
            CloseReason::Other => "Other",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            CloseReason::ManagedByPhysician => "已由基层医生管理",
            CloseReason::AlreadyKnown => "既往已知并已管理",
            CloseReason::NotSupportedOnReview => "阅片复核不支持",
            CloseReason::PatientDeclined => "患者拒绝",
            CloseReason::Other => "其他",
        }
    }
}

/// What a person does to a chronic finding. The JSON form is `{"event": NAME, ...payload}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChronicEvent {
    /// The letter was printed and sent to `physician` (sending it again, for a lost letter, is
    /// allowed and recorded).
    SendLetter {
        physician: String,
    },
    RecordAcknowledgement {
        #[serde(default)]
        note: Option<String>,
    },
    Close {
        reason: CloseReason,
        #[serde(default)]
        note: Option<String>,
    },
    Reopen {
        reason: String,
    },
    AddNote {
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChronicEventKind {
    SendLetter,
    RecordAcknowledgement,
    Close,
    Reopen,
    AddNote,
}

impl ChronicEventKind {
    pub const ALL: [ChronicEventKind; 5] = [
        ChronicEventKind::SendLetter,
        ChronicEventKind::RecordAcknowledgement,
        ChronicEventKind::Close,
        ChronicEventKind::Reopen,
        ChronicEventKind::AddNote,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChronicEventKind::SendLetter => "send_letter",
            ChronicEventKind::RecordAcknowledgement => "record_acknowledgement",
            ChronicEventKind::Close => "close",
            ChronicEventKind::Reopen => "reopen",
            ChronicEventKind::AddNote => "add_note",
        }
    }
}

impl std::fmt::Display for ChronicEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Labelled for ChronicEventKind {
    fn label_en(self) -> &'static str {
        match self {
            ChronicEventKind::SendLetter => "Letter sent to the physician",
            ChronicEventKind::RecordAcknowledgement => "Acknowledged by the physician",
            ChronicEventKind::Close => "Closed",
            ChronicEventKind::Reopen => "Reopened",
            ChronicEventKind::AddNote => "Note",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            ChronicEventKind::SendLetter => "已致函基层医生",
            ChronicEventKind::RecordAcknowledgement => "医生已确认收悉",
            ChronicEventKind::Close => "结案",
            ChronicEventKind::Reopen => "重新打开",
            ChronicEventKind::AddNote => "备注",
        }
    }
}

impl ChronicEvent {
    pub fn kind(&self) -> ChronicEventKind {
        match self {
            ChronicEvent::SendLetter { .. } => ChronicEventKind::SendLetter,
            ChronicEvent::RecordAcknowledgement { .. } => ChronicEventKind::RecordAcknowledgement,
            ChronicEvent::Close { .. } => ChronicEventKind::Close,
            ChronicEvent::Reopen { .. } => ChronicEventKind::Reopen,
            ChronicEvent::AddNote { .. } => ChronicEventKind::AddNote,
        }
    }

    /// Surrounding white space trimmed and empty optional text read as none, as a form sends it.
    pub fn normalised(self) -> ChronicEvent {
        let optional = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        match self {
            ChronicEvent::SendLetter { physician } => {
                ChronicEvent::SendLetter { physician: physician.trim().to_owned() }
            }
            ChronicEvent::RecordAcknowledgement { note } => {
                ChronicEvent::RecordAcknowledgement { note: optional(note) }
            }
            ChronicEvent::Close { reason, note } => ChronicEvent::Close { reason, note: optional(note) },
            ChronicEvent::Reopen { reason } => ChronicEvent::Reopen { reason: reason.trim().to_owned() },
            ChronicEvent::AddNote { text } => ChronicEvent::AddNote { text: text.trim().to_owned() },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{event}` is not possible while the finding is {}", status.label_en().to_lowercase())]
    NotInThisState { event: ChronicEventKind, status: ChronicStatus },
    #[error("your role may not `{event}`")]
    RoleMayNot { event: ChronicEventKind },
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: Said },
}

impl Refusal {
    fn invalid(field: &'static str, message: Said) -> Refusal {
        Refusal::Invalid { field, message }
    }

    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        match self {
            Refusal::NotInThisState { event, status } => said!(
                ("`{event}` is not possible while the finding is {}", status.label_en().to_lowercase()),
                ("发现处于“{}”状态，不能执行“{}”", status.label_zh(), event.label_zh())
            ),
            Refusal::RoleMayNot { event } => {
                said!(("your role may not `{event}`"), ("您的角色不能执行“{}”", event.label_zh()))
            }
            Refusal::Invalid { field, message } => message.with_field(field),
        }
    }
}

use ChronicStatus as S;

/// The transition table: the state an event of `kind` leads to from `status`, or `None` where
/// it is not possible. Notes, and a letter sent again, leave the state as it is.
pub fn target(status: ChronicStatus, kind: ChronicEventKind) -> Option<ChronicStatus> {
    use ChronicEventKind as E;
    match (kind, status) {
        (E::SendLetter, S::New | S::LetterSent) => Some(S::LetterSent),
        (E::RecordAcknowledgement, S::LetterSent) => Some(S::Acknowledged),
        (E::Close, s) if s.is_open() => Some(S::Closed),
        (E::Reopen, S::Closed) => Some(S::New),
        (E::AddNote, s) => Some(s),
        _ => None,
    }
}

/// Who may perform an event: the coordinators run the pathway; a radiologist may close one the
/// images do not support; an administrator may reopen; anyone clinical may add a note.
pub fn roles_for(kind: ChronicEventKind) -> &'static [Role] {
    use ChronicEventKind as E;
    match kind {
        E::SendLetter | E::RecordAcknowledgement => &[Role::Coordinator],
        E::Close => &[Role::Coordinator, Role::Radiologist],
        E::Reopen => &[Role::Coordinator, Role::Admin],
        E::AddNote => &[Role::Coordinator, Role::Radiologist, Role::Admin],
    }
}

/// The events the page offers: possible in this state and allowed to these roles.
pub fn available(status: ChronicStatus, roles: &[Role]) -> Vec<ChronicEventKind> {
    ChronicEventKind::ALL
        .into_iter()
        .filter(|kind| target(status, *kind).is_some())
        .filter(|kind| roles_for(*kind).iter().any(|r| roles.contains(r)))
        .collect()
}

/// Checks `event` against the table, the actor's roles and the payload rules; returns the state
/// the finding moves to. A refusal changes nothing.
pub fn apply(status: ChronicStatus, event: &ChronicEvent, roles: &[Role]) -> Result<ChronicStatus, Refusal> {
    let kind = event.kind();
    let next = target(status, kind).ok_or(Refusal::NotInThisState { event: kind, status })?;
    if !roles_for(kind).iter().any(|r| roles.contains(r)) {
        return Err(Refusal::RoleMayNot { event: kind });
    }
    validate(event, roles)?;
    Ok(next)
}

fn validate(event: &ChronicEvent, roles: &[Role]) -> Result<(), Refusal> {
    match event {
        ChronicEvent::SendLetter { physician } => required("physician", physician, MAX_PHYSICIAN),
        ChronicEvent::RecordAcknowledgement { note } => optional("note", note.as_deref()),
        ChronicEvent::Close { reason, note } => {
            // Whether the images support the finding is a radiologist's call; the pathway's other
            // closures are the coordinator's.
            let needs =
                if *reason == CloseReason::NotSupportedOnReview { Role::Radiologist } else { Role::Coordinator };
            if !roles.contains(&needs) {
                return Err(Refusal::RoleMayNot { event: ChronicEventKind::Close });
            }
            if *reason == CloseReason::Other && note.is_none() {
                return Err(Refusal::invalid(
                    "note",
                    said!("say why when the reason is “Other”", "原因为“其他”时请说明"),
                ));
            }
            optional("note", note.as_deref())
        }
        ChronicEvent::Reopen { reason } => required("reason", reason, MAX_TEXT),
        ChronicEvent::AddNote { text } => required("text", text, MAX_TEXT),
    }
}

fn required(field: &'static str, text: &str, max: usize) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::invalid(field, said!("required", "必填")));
    }
    within(field, text, max)
}

fn optional(field: &'static str, text: Option<&str>) -> Result<(), Refusal> {
    text.map_or(Ok(()), |t| within(field, t, MAX_TEXT))
}

fn within(field: &'static str, text: &str, max: usize) -> Result<(), Refusal> {
    if text.chars().count() > max {
        return Err(Refusal::invalid(field, Said::at_most_chars(max)));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(Refusal::invalid(field, said!("control characters are not allowed", "不允许包含控制字符")));
    }
    Ok(())
}
