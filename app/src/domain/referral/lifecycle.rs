//! A referral's lifecycle: requested by the sending site, then accepted or declined by the
//! receiving site, or withdrawn by the sender. Once accepted, the work-up follows the finding's own
//! lifecycle; the referral only records who has it. One transition table, who may do what (by role
//! and by side), and what each payload must hold. Pure: the service supplies the actor's roles and
//! sides and runs this inside the transaction that writes the result.

use serde::{Deserialize, Serialize};

use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::said;

/// A reason or note is kept short enough to read on the list (`referral.reason` and
/// `referral.decision_note` hold at most this many characters).
pub const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Sent; waiting for the receiving site.
    Requested,
    /// The receiving site has taken the finding's work-up.
    Accepted,
    /// The receiving site returned it to the sender (final).
    Declined,
    /// The sender took it back (final).
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown referral status `{0}` (expected requested, accepted, declined or withdrawn)")]
pub struct UnknownReferralStatus(pub String);

impl UnknownReferralStatus {
    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        let status = &self.0;
        said!(
            "unknown referral status `{status}` (expected requested, accepted, declined or withdrawn)",
            "未知的转诊状态“{status}”（应为 requested, accepted, declined 或 withdrawn）"
        )
    }
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 4] =
        [ReferralStatus::Requested, ReferralStatus::Accepted, ReferralStatus::Declined, ReferralStatus::Withdrawn];

    /// The name stored in `referral.status` and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Requested => "requested",
            ReferralStatus::Accepted => "accepted",
            ReferralStatus::Declined => "declined",
            ReferralStatus::Withdrawn => "withdrawn",
        }
    }

    /// Requested or accepted: a finding has at most one active referral.
    pub fn is_active(self) -> bool {
        matches!(self, ReferralStatus::Requested | ReferralStatus::Accepted)
    }

    /// Declined or withdrawn: nothing more happens to the referral (a new one may be made).
    pub fn is_final(self) -> bool {
        !self.is_active()
    }
}

impl std::str::FromStr for ReferralStatus {
    type Err = UnknownReferralStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReferralStatus::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownReferralStatus(s.to_owned()))
    }
}

impl std::fmt::Display for ReferralStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Labelled for ReferralStatus {
    fn label_en(self) -> &'static str {
        match self {
            ReferralStatus::Requested => "Requested",
            ReferralStatus::Accepted => "Accepted",
            ReferralStatus::Declined => "Declined",
            ReferralStatus::Withdrawn => "Withdrawn",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            ReferralStatus::Requested => "待接收",
            ReferralStatus::Accepted => "已接收",
            ReferralStatus::Declined => "已拒绝",
            ReferralStatus::Withdrawn => "已撤回",
        }
    }
}

/// Which end of a referral the actor's site is. The service knows it: the caller's sites include
/// the referral's from-site (sending), its to-site (receiving), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Sending,
    Receiving,
}

impl Side {
    pub const ALL: [Side; 2] = [Side::Sending, Side::Receiving];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Sending => "sending",
            Side::Receiving => "receiving",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Labelled for Side {
    fn label_en(self) -> &'static str {
        match self {
            Side::Sending => "Sending site",
            Side::Receiving => "Receiving site",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            Side::Sending => "转出方",
            Side::Receiving => "接收方",
        }
    }
}

/// What a person does to a referral once it is requested (making one is
/// [`check_new`](super::request::check_new)'s). The JSON form is `{"event": NAME, ...payload}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReferralEvent {
    /// The receiving site takes the work-up.
    Accept {
        #[serde(default)]
        note: Option<String>,
    },
    /// The receiving site returns the referral to the sender.
    Decline { reason: String },
    /// The sender takes the referral back.
    Withdraw { reason: String },
}

/// An event's name without its payload: what the table, the roles and the sides speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralEventKind {
    Accept,
    Decline,
    Withdraw,
}

impl ReferralEventKind {
    pub const ALL: [ReferralEventKind; 3] =
        [ReferralEventKind::Accept, ReferralEventKind::Decline, ReferralEventKind::Withdraw];

    /// The name stored in `referral_event.event` and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralEventKind::Accept => "accept",
            ReferralEventKind::Decline => "decline",
            ReferralEventKind::Withdraw => "withdraw",
        }
    }
}

impl std::fmt::Display for ReferralEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Labelled for ReferralEventKind {
    fn label_en(self) -> &'static str {
        match self {
            ReferralEventKind::Accept => "Accept",
            ReferralEventKind::Decline => "Decline",
            ReferralEventKind::Withdraw => "Withdraw",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            ReferralEventKind::Accept => "接收",
            ReferralEventKind::Decline => "拒绝",
            ReferralEventKind::Withdraw => "撤回",
        }
    }
}

impl ReferralEvent {
    pub fn kind(&self) -> ReferralEventKind {
        match self {
            ReferralEvent::Accept { .. } => ReferralEventKind::Accept,
            ReferralEvent::Decline { .. } => ReferralEventKind::Decline,
            ReferralEvent::Withdraw { .. } => ReferralEventKind::Withdraw,
        }
    }

    /// The words recorded with the event (`referral.decision_note`, `referral_event.note`).
    pub fn text(&self) -> Option<&str> {
        match self {
            ReferralEvent::Accept { note } => note.as_deref(),
            ReferralEvent::Decline { reason } | ReferralEvent::Withdraw { reason } => Some(reason),
        }
    }

    /// Surrounding white space trimmed and empty optional text read as none, as a form sends it.
    pub fn normalised(self) -> ReferralEvent {
        match self {
            ReferralEvent::Accept { note } => {
                ReferralEvent::Accept { note: note.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) }
            }
            ReferralEvent::Decline { reason } => ReferralEvent::Decline { reason: reason.trim().to_owned() },
            ReferralEvent::Withdraw { reason } => ReferralEvent::Withdraw { reason: reason.trim().to_owned() },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{event}` is not possible while the referral is {}", status.label_en().to_lowercase())]
    NotInThisState { event: ReferralEventKind, status: ReferralStatus },
    #[error("your role may not `{event}`")]
    RoleMayNot { event: ReferralEventKind },
    /// `side` is the side that may perform the event (the actor's site is not it).
    #[error("only the {} may `{event}`", side.label_en().to_lowercase())]
    WrongSide { event: ReferralEventKind, side: Side },
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: Said },
}

impl Refusal {
    /// The refusal in both languages, as `Display` says it in English.
    pub fn said(&self) -> Said {
        match self {
            Refusal::NotInThisState { event, status } => said!(
                ("`{event}` is not possible while the referral is {}", status.label_en().to_lowercase()),
                ("转诊处于“{}”状态，不能执行“{}”", status.label_zh(), event.label_zh())
            ),
            Refusal::RoleMayNot { event } => {
                said!(("your role may not `{event}`"), ("您的角色不能执行“{}”", event.label_zh()))
            }
            Refusal::WrongSide { event, side } => said!(
                ("only the {} may `{event}`", side.label_en().to_lowercase()),
                ("只有{}可以执行“{}”", side.label_zh(), event.label_zh())
            ),
            Refusal::Invalid { field, message } => message.with_field(field),
        }
    }
}

use ReferralStatus as S;

/// The transition table: the state an event of `kind` leads to from `status`, or `None` where it
/// is not possible. Declined and withdrawn are final.
pub fn target(status: ReferralStatus, kind: ReferralEventKind) -> Option<ReferralStatus> {
    use ReferralEventKind as E;
    match (kind, status) {
        (E::Accept, S::Requested) => Some(S::Accepted),
        (E::Decline, S::Requested) => Some(S::Declined),
        (E::Withdraw, S::Requested | S::Accepted) => Some(S::Withdrawn),
        _ => None,
    }
}

/// Which end of the referral performs an event: the receiving site accepts or declines, the
/// sending site withdraws.
pub fn side_for(kind: ReferralEventKind) -> Side {
    match kind {
        ReferralEventKind::Accept | ReferralEventKind::Decline => Side::Receiving,
        ReferralEventKind::Withdraw => Side::Sending,
    }
}

/// Who may perform an event: the screening coordinators, at either end.
pub fn roles_for(kind: ReferralEventKind) -> &'static [Role] {
    match kind {
        ReferralEventKind::Accept | ReferralEventKind::Decline | ReferralEventKind::Withdraw => &[Role::Coordinator],
    }
}

/// The events the page offers: possible in this state, allowed to these roles and done from one of
/// these sides (`sides`: the ends of the referral the actor's sites are; both for a user of both).
pub fn available(status: ReferralStatus, roles: &[Role], sides: &[Side]) -> Vec<ReferralEventKind> {
    ReferralEventKind::ALL
        .into_iter()
        .filter(|kind| target(status, *kind).is_some())
        .filter(|kind| roles_for(*kind).iter().any(|r| roles.contains(r)))
        .filter(|kind| sides.contains(&side_for(*kind)))
        .collect()
}

/// Checks `event` against the table, the actor's roles and sides and the payload rules, in that
/// order; returns the state the referral moves to. A refusal changes nothing.
pub fn apply(
    status: ReferralStatus,
    event: &ReferralEvent,
    roles: &[Role],
    sides: &[Side],
) -> Result<ReferralStatus, Refusal> {
    let kind = event.kind();
    let next = target(status, kind).ok_or(Refusal::NotInThisState { event: kind, status })?;
    if !roles_for(kind).iter().any(|r| roles.contains(r)) {
        return Err(Refusal::RoleMayNot { event: kind });
    }
    let side = side_for(kind);
    if !sides.contains(&side) {
        return Err(Refusal::WrongSide { event: kind, side });
    }
    let (field, checked) = match event {
        ReferralEvent::Accept { note } => ("note", note.as_deref().map_or(Ok(()), |t| text(t, false))),
        ReferralEvent::Decline { reason } | ReferralEvent::Withdraw { reason } => ("reason", text(reason, true)),
    };
    checked.map_err(|message| Refusal::Invalid { field, message })?;
    Ok(next)
}

/// What is wrong with a reason (`required`) or a note: judged after trimming, 1 (a reason) to
/// [`MAX_TEXT`] characters without control characters other than line breaks and tabs.
pub(super) fn text(value: &str, required: bool) -> Result<(), Said> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(said!("required", "必填"));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(Said::at_most_chars(MAX_TEXT));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(said!("control characters are not allowed", "不允许包含控制字符"));
    }
    Ok(())
}
