//! The follow-up lifecycle: the one transition table, who may perform which event, and what each
//! payload must hold. Pure: the caller supplies the facts (today, contact attempts so far); the
//! server runs this inside the transaction that writes the result.

use time::Date;

use super::event::{EventKind, FindingEvent, MAX_SHORT_TEXT, MAX_TEXT, Outcome};
use super::status::FindingStatus;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::said;

use FindingStatus as S;

/// Work-up orders and appointments further away than this are typing mistakes.
pub const MAX_DAYS_AHEAD: i64 = 366;

/// The facts a transition depends on beyond the current state.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub organ: Organ,
    pub today: Date,
    /// The finding's detection date: nothing about it can have happened earlier.
    pub detected_on: Date,
    /// Contact attempts recorded so far that did not reach the patient.
    pub unsuccessful_contacts: u32,
    /// How many such attempts `mark_lost` needs (the program's setting; default 3).
    pub contacts_before_lost: u32,
    pub roles: &'a [Role],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{event}` is not possible while the finding is {}", status.label().to_lowercase())]
    NotInThisState { event: EventKind, status: FindingStatus },
    #[error("your role may not `{event}`{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    RoleMayNot { event: EventKind, detail: Option<Said> },
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: Said },
    #[error("a patient is marked lost to follow-up only after {need} unsuccessful contact attempts; {have} recorded")]
    TooFewContactAttempts { have: u32, need: u32 },
}

impl Refusal {
    fn invalid(field: &'static str, message: Said) -> Self {
        Refusal::Invalid { field, message }
    }

    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        match self {
            Refusal::NotInThisState { event, status } => said!(
                ("`{event}` is not possible while the finding is {}", status.label().to_lowercase()),
                ("发现处于“{}”状态，不能执行“{}”", status.label_zh(), event.label_zh())
            ),
            Refusal::RoleMayNot { event, detail: None } => {
                said!(("your role may not `{event}`"), ("您的角色不能执行“{}”", event.label_zh()))
            }
            Refusal::RoleMayNot { event, detail: Some(detail) } => said!(
                ("your role may not `{event}` ({})", detail.en),
                ("您的角色不能执行“{}”（{}）", event.label_zh(), detail.zh)
            ),
            Refusal::Invalid { field, message } => message.with_field(field),
            Refusal::TooFewContactAttempts { have, need } => said!(
                "a patient is marked lost to follow-up only after {need} unsuccessful contact attempts; {have} recorded",
                "须有 {need} 次未成功的联系尝试才能标记为失访；目前记录了 {have} 次"
            ),
        }
    }
}

/// The transition table: the states an event of `kind` may lead to from `status`; empty where
/// the event is not possible. `record_outcome` may lead to three states (its payload picks one);
/// events that do not change the state (notes, contact attempts, assignment, rescheduling) lead
/// back to `status` itself.
pub fn targets(status: FindingStatus, kind: EventKind) -> &'static [FindingStatus] {
    match (kind, status) {
        (EventKind::StartReview, S::New) => &[S::InReview],
        (EventKind::Dismiss, S::InReview) => &[S::Dismissed],
        (EventKind::OrderWorkup, S::InReview) => &[S::WorkupOrdered],
        (EventKind::ScheduleWorkup, S::WorkupOrdered | S::WorkupScheduled) => &[S::WorkupScheduled],
        (EventKind::CompleteWorkup, S::WorkupScheduled) => &[S::WorkupDone],
        (EventKind::RecordOutcome, S::WorkupDone) => &[S::ConfirmedMalignant, S::Benign, S::NoLesion],
        (EventKind::ReferToMdt, S::ConfirmedMalignant) => &[S::ReferredToMdt],
        (EventKind::MarkDeclined, s) if s.is_open() => &[S::Declined],
        (EventKind::MarkLost, s) if s.is_open() => &[S::LostToFollowup],
        (EventKind::Reopen, s) if s.is_closed() => &[S::InReview],
        (EventKind::RecordContactAttempt | EventKind::Assign, s) if s.is_open() => same(s),
        (EventKind::AddNote, s) => same(s),
        // Surveillance follows a closure that leaves something to watch; it does not reopen.
        (EventKind::SetSurveillance, s @ (S::Benign | S::NoLesion | S::Dismissed)) => same(s),
        _ => &[],
    }
}

/// `&[status]` as a static slice.
fn same(status: FindingStatus) -> &'static [FindingStatus] {
    let index = FindingStatus::ALL.iter().position(|s| *s == status).unwrap_or(0);
    &FindingStatus::ALL[index..=index]
}

/// Who may perform an event at all (payload rules such as dismiss reasons come on top).
pub fn roles_for(kind: EventKind) -> &'static [Role] {
    const CLINICAL: &[Role] = &[Role::Coordinator, Role::Radiologist];
    const CLINICAL_AND_ADMIN: &[Role] = &[Role::Coordinator, Role::Radiologist, Role::Admin];
    const EVERYONE: &[Role] = &Role::ALL;
    match kind {
        EventKind::Reopen | EventKind::Assign => CLINICAL_AND_ADMIN,
        EventKind::AddNote => EVERYONE,
        EventKind::StartReview
        | EventKind::Dismiss
        | EventKind::OrderWorkup
        | EventKind::ScheduleWorkup
        | EventKind::CompleteWorkup
        | EventKind::RecordOutcome
        | EventKind::RecordContactAttempt
        | EventKind::MarkDeclined
        | EventKind::MarkLost
        | EventKind::ReferToMdt
        | EventKind::SetSurveillance => CLINICAL,
    }
}

/// The events the UI offers: possible in this state and allowed to these roles.
pub fn available(status: FindingStatus, roles: &[Role]) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|kind| !targets(status, *kind).is_empty())
        .filter(|kind| roles_for(*kind).iter().any(|r| roles.contains(r)))
        .collect()
}

/// Checks `event` against the table, the actor's roles and the payload rules; returns the state
/// the finding moves to. Nothing is changed here: a refusal leaves the finding as it was.
pub fn apply(status: FindingStatus, event: &FindingEvent, facts: &Facts<'_>) -> Result<FindingStatus, Refusal> {
    let kind = event.kind();
    let targets = targets(status, kind);
    if targets.is_empty() {
        return Err(Refusal::NotInThisState { event: kind, status });
    }
    if !roles_for(kind).iter().any(|r| facts.roles.contains(r)) {
        return Err(Refusal::RoleMayNot { event: kind, detail: None });
    }
    validate(event, facts)?;
    let next = match event {
        FindingEvent::RecordOutcome { outcome, .. } => match outcome {
            Outcome::ConfirmedMalignant => S::ConfirmedMalignant,
            Outcome::Benign => S::Benign,
            Outcome::NoLesion => S::NoLesion,
        },
        _ => targets[0],
    };
    debug_assert!(targets.contains(&next));
    Ok(next)
}

fn validate(event: &FindingEvent, facts: &Facts<'_>) -> Result<(), Refusal> {
    match event {
        FindingEvent::StartReview | FindingEvent::ReferToMdt => Ok(()),
        FindingEvent::Dismiss { reason, note } => {
            if reason.needs_image_review() && !facts.roles.contains(&Role::Radiologist) {
                return Err(Refusal::RoleMayNot {
                    event: EventKind::Dismiss,
                    detail: Some(said!(
                        ("“{}” is a radiologist's call", reason.label()),
                        ("“{}”须由放射科医生判断", reason.label_zh())
                    )),
                });
            }
            if *reason == super::event::DismissReason::Other && note.is_none() {
                return Err(Refusal::invalid(
                    "note",
                    said!("say why when the reason is “Other”", "原因为“其他”时请说明"),
                ));
            }
            text("note", note.as_deref(), MAX_TEXT)
        }
        FindingEvent::OrderWorkup { modality, due_date, responsible } => {
            if !modality.suits(facts.organ) {
                return Err(Refusal::invalid(
                    "modality",
                    said!(
                        ("{} does not examine the {}", modality.label(), facts.organ.as_str()),
                        ("{}不能检查{}", modality.label_zh(), facts.organ.label_zh())
                    ),
                ));
            }
            if *due_date < facts.today {
                return Err(Refusal::invalid("due_date", said!("the due date is in the past", "截止日期已过")));
            }
            not_too_far("due_date", *due_date, facts.today)?;
            text("responsible", responsible.as_deref(), MAX_SHORT_TEXT)
        }
        FindingEvent::ScheduleWorkup { date, site } => {
            not_before_detection("date", *date, facts)?;
            not_too_far("date", *date, facts.today)?;
            text("site", site.as_deref(), MAX_SHORT_TEXT)
        }
        FindingEvent::CompleteWorkup { summary } => text("summary", summary.as_deref(), MAX_TEXT),
        FindingEvent::RecordOutcome { outcome, confirmed_by, diagnosis, date } => {
            if *date > facts.today {
                return Err(Refusal::invalid(
                    "date",
                    said!("an outcome cannot be dated in the future", "结局日期不能晚于今天"),
                ));
            }
            not_before_detection("date", *date, facts)?;
            match (outcome, confirmed_by, diagnosis) {
                (Outcome::ConfirmedMalignant, None, _) => Err(Refusal::invalid(
                    "confirmed_by",
                    said!("say whether pathology or imaging confirmed it", "请说明是经病理还是影像确诊"),
                )),
                (Outcome::ConfirmedMalignant | Outcome::Benign, _, None) => {
                    Err(Refusal::invalid("diagnosis", said!("record the diagnosis", "请填写诊断")))
                }
                _ => text("diagnosis", diagnosis.as_deref(), MAX_SHORT_TEXT),
            }
        }
        FindingEvent::RecordContactAttempt { note, .. } | FindingEvent::MarkDeclined { note } => {
            text("note", note.as_deref(), MAX_TEXT)
        }
        FindingEvent::MarkLost => {
            if facts.unsuccessful_contacts < facts.contacts_before_lost {
                Err(Refusal::TooFewContactAttempts {
                    have: facts.unsuccessful_contacts,
                    need: facts.contacts_before_lost,
                })
            } else {
                Ok(())
            }
        }
        FindingEvent::Reopen { reason } => {
            if reason.is_empty() {
                return Err(Refusal::invalid(
                    "reason",
                    said!("say why the finding is reopened", "请说明重新打开的原因"),
                ));
            }
            text("reason", Some(reason), MAX_TEXT)
        }
        FindingEvent::Assign { assignee } => text("assignee", assignee.as_deref(), 64),
        FindingEvent::SetSurveillance { months, note } => {
            if let Some(months) = months
                && !(1..=super::event::MAX_SURVEILLANCE_MONTHS).contains(months)
            {
                let max = super::event::MAX_SURVEILLANCE_MONTHS;
                return Err(Refusal::invalid("months", said!("1 to {max} months", "1 至 {max} 个月")));
            }
            text("note", note.as_deref(), MAX_TEXT)
        }
        FindingEvent::AddNote { text: note } => {
            if note.is_empty() {
                return Err(Refusal::invalid("text", said!("the note is empty", "备注为空")));
            }
            text("text", Some(note), MAX_TEXT)
        }
    }
}

fn text(field: &'static str, value: Option<&str>, max: usize) -> Result<(), Refusal> {
    match value {
        Some(v) if v.chars().count() > max => Err(Refusal::invalid(field, Said::at_most_chars(max))),
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') => {
            Err(Refusal::invalid(field, said!("contains control characters", "含有控制字符")))
        }
        _ => Ok(()),
    }
}

fn not_too_far(field: &'static str, date: Date, today: Date) -> Result<(), Refusal> {
    if (date - today).whole_days() > MAX_DAYS_AHEAD {
        return Err(Refusal::invalid(field, said!("more than a year ahead", "超过一年以后")));
    }
    Ok(())
}

fn not_before_detection(field: &'static str, date: Date, facts: &Facts<'_>) -> Result<(), Refusal> {
    if date < facts.detected_on {
        return Err(Refusal::invalid(field, said!("before the finding was detected", "早于发现的检出日期")));
    }
    Ok(())
}
