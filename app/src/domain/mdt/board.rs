//! A tumour-board case: its states, the one transition table, who may act, and the rules a
//! review, a signature and a treatment record must follow. A review turns the AI's proposal
//! into a decision (each of T, N and M accepted or overridden with a reason); surgeons sign it
//! until the quorum locks it; changing a locked decision is an amendment, which needs a reason,
//! becomes a new version and needs signing again. Nothing is overwritten: every decision
//! version and every signature stays.

use serde::{Deserialize, Serialize};
use time::Date;

use super::treatment::Treatment;
use crate::domain::language::Labelled;
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::domain::staging::{self, Cancer, Edition, Histology, StagingError, Subsite};
use crate::said;

/// The longest reason, note or guideline reference accepted (characters).
pub const MAX_TEXT: usize = 2000;
/// The default quorum: how many surgeons sign a decision before it is locked.
pub const DEFAULT_QUORUM: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Opened with the AI's proposal; no decision yet.
    AwaitingReview,
    /// A decision is recorded and is collecting signatures.
    AwaitingSignatures,
    /// The quorum signed: the decision is locked (amending it starts a new version).
    Decided,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 3] = [CaseStatus::AwaitingReview, CaseStatus::AwaitingSignatures, CaseStatus::Decided];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::AwaitingReview => "awaiting_review",
            CaseStatus::AwaitingSignatures => "awaiting_signatures",
            CaseStatus::Decided => "decided",
        }
    }

    pub fn parse(name: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl crate::domain::language::Labelled for CaseStatus {
    fn label_en(self) -> &'static str {
        match self {
            CaseStatus::AwaitingReview => "Awaiting review",
            CaseStatus::AwaitingSignatures => "Awaiting signatures",
            CaseStatus::Decided => "Decided",
        }
    }

    fn label_zh(self) -> &'static str {
        match self {
            CaseStatus::AwaitingReview => "待讨论",
            CaseStatus::AwaitingSignatures => "待签署",
            CaseStatus::Decided => "已决议",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Record the board's decision (or amend a locked one).
    Review,
    Sign,
    /// Record the treatment actually started.
    RecordTreatment,
    /// Add or correct a measurement on the case's images (recomputes the proposal).
    Measure,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Review => "review",
            Action::Sign => "sign",
            Action::RecordTreatment => "record_treatment",
            Action::Measure => "measure",
        }
    }

    /// The action as a refusal names it in Simplified Chinese.
    fn name_zh(self) -> &'static str {
        match self {
            Action::Review => "讨论决议",
            Action::Sign => "签署",
            Action::RecordTreatment => "记录治疗",
            Action::Measure => "测量",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use CaseStatus as S;

/// The transition table: the states `action` may lead to from `status`; empty where it is not
/// possible. A signature leads to `Decided` once the quorum is reached.
pub fn targets(status: CaseStatus, action: Action) -> &'static [CaseStatus] {
    match (action, status) {
        (Action::Review, _) => &[S::AwaitingSignatures],
        (Action::Sign, S::AwaitingSignatures) => &[S::AwaitingSignatures, S::Decided],
        (Action::RecordTreatment, S::Decided) => &[S::Decided],
        // A new measurement makes a new proposal version; a decision keeps the version it
        // reviewed, so measuring never changes what was decided.
        (Action::Measure, S::AwaitingReview) => &[S::AwaitingReview],
        (Action::Measure, S::AwaitingSignatures) => &[S::AwaitingSignatures],
        (Action::Measure, S::Decided) => &[S::Decided],
        _ => &[],
    }
}

/// Who may open a case directly (cancers screening does not raise come to the board from
/// clinics: larynx from ENT).
pub const OPEN_CASE_ROLES: &[Role] = &[Role::Surgeon, Role::Coordinator];
/// Who prepares meetings and their agendas.
pub const AGENDA_ROLES: &[Role] = &[Role::Coordinator, Role::Surgeon];

/// Who may take `action`. Surgeons decide and sign; a radiologist measures; a coordinator (who
/// runs the board's paperwork) or a surgeon records the treatment that started.
pub fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::Review | Action::Sign => &[Role::Surgeon],
        Action::RecordTreatment => &[Role::Surgeon, Role::Coordinator],
        Action::Measure => &[Role::Radiologist],
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{action}` is not possible while the case is {}", status.as_str().replace('_', " "))]
    NotInThisState { action: Action, status: CaseStatus },
    #[error("your role may not `{action}`")]
    RoleMayNot { action: Action },
    #[error("you have already signed this version of the decision")]
    AlreadySigned,
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
            Refusal::NotInThisState { action, status } => said!(
                ("`{action}` is not possible while the case is {}", status.as_str().replace('_', " ")),
                ("病例处于“{}”状态，不能执行“{}”", status.label_zh(), action.name_zh())
            ),
            Refusal::RoleMayNot { action } => {
                said!(("your role may not `{action}`"), ("您的角色不能执行“{}”", action.name_zh()))
            }
            Refusal::AlreadySigned => {
                said!("you have already signed this version of the decision", "您已签署此版本的决议")
            }
            Refusal::Invalid { field, message } => message.with_field(field),
        }
    }

    /// A stable code for the refusal (pages word it in the reader's language).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotInThisState { .. } => "not_in_state",
            Refusal::RoleMayNot { .. } => "role_may_not",
            Refusal::AlreadySigned => "already_signed",
            Refusal::Invalid { .. } => "invalid",
        }
    }
}

/// Whether `roles` may take `action` on a case in `status`.
pub fn permitted(status: CaseStatus, action: Action, roles: &[Role]) -> Result<(), Refusal> {
    if !roles.iter().any(|r| roles_for(action).contains(r)) {
        return Err(Refusal::RoleMayNot { action });
    }
    if targets(status, action).is_empty() {
        return Err(Refusal::NotInThisState { action, status });
    }
    Ok(())
}

/// One category's review: the proposal accepted, or overridden with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CategoryReview {
    /// `"accept"`.
    Accept(AcceptWord),
    /// `{"override": "N2", "reason": "..."}`.
    Override {
        #[serde(rename = "override")]
        category: String,
        reason: String,
    },
}

/// The one word an accepted category is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcceptWord {
    Accept,
}

impl CategoryReview {
    pub fn accept() -> CategoryReview {
        CategoryReview::Accept(AcceptWord::Accept)
    }
}

/// The staging frame a case is reviewed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub cancer: Cancer,
    pub edition: Edition,
    pub histology: Option<Histology>,
    pub subsite: Option<Subsite>,
}

/// The AI's proposal as the review sees it; a category may be missing where the images could not
/// decide it (the board must then choose one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proposed<'a> {
    pub t: Option<&'a str>,
    pub n: Option<&'a str>,
    pub m: Option<&'a str>,
}

/// What the board submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub t: CategoryReview,
    pub n: CategoryReview,
    pub m: CategoryReview,
    pub recommendation: Treatment,
    pub note: Option<String>,
    pub guideline_refs: Option<String>,
    /// Required when the case is already decided: why the signed decision changes.
    pub amendment_reason: Option<String>,
}

/// A decision: the final categories, their stage group, and the reasons for each override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub t: String,
    pub n: String,
    pub m: String,
    pub stage_group: Option<String>,
    pub t_reason: Option<String>,
    pub n_reason: Option<String>,
    pub m_reason: Option<String>,
    pub recommendation: Treatment,
    pub note: Option<String>,
    pub guideline_refs: Option<String>,
    pub amendment_reason: Option<String>,
}

/// Turns a review into a decision, or says what is wrong with it.
pub fn decide(
    status: CaseStatus,
    roles: &[Role],
    frame: Frame,
    proposed: &Proposed<'_>,
    review: &Review,
) -> Result<Decision, Refusal> {
    permitted(status, Action::Review, roles)?;
    let (t, t_reason) = settle("t", proposed.t, &review.t)?;
    let (n, n_reason) = settle("n", proposed.n, &review.n)?;
    let (m, m_reason) = settle("m", proposed.m, &review.m)?;
    let request = staging::Request {
        cancer: frame.cancer,
        edition: frame.edition,
        t: &t,
        n: &n,
        m: &m,
        histology: frame.histology,
        subsite: frame.subsite,
    };
    let staged = staging::evaluate(&request).map_err(|e| staging_refusal(&e))?;
    if !Treatment::options_for(frame.cancer).contains(&review.recommendation) {
        let valid: Vec<&str> = Treatment::options_for(frame.cancer).iter().map(|t| t.as_str()).collect();
        let what = said!(("not an option for {}", frame.cancer), ("不是{}的可选治疗方案", frame.cancer.label_zh()));
        return Err(Refusal::invalid("recommendation", Said::not_one_of(what, &valid)));
    }
    let note = optional_text("note", review.note.as_deref())?;
    let guideline_refs = optional_text("guideline_refs", review.guideline_refs.as_deref())?;
    let amendment_reason = optional_text("amendment_reason", review.amendment_reason.as_deref())?;
    match (status, &amendment_reason) {
        (CaseStatus::Decided, None) => {
            return Err(Refusal::invalid(
                "amendment_reason",
                said!("a signed decision changes only with a reason", "修改已签署的决议须说明理由"),
            ));
        }
        (CaseStatus::AwaitingReview, Some(_)) => {
            return Err(Refusal::invalid(
                "amendment_reason",
                said!("there is no decision to amend yet", "尚无可修改的决议"),
            ));
        }
        _ => {}
    }
    Ok(Decision {
        t: staged.t,
        n: staged.n,
        m: staged.m,
        stage_group: staged.stage_group,
        t_reason,
        n_reason,
        m_reason,
        recommendation: review.recommendation,
        note,
        guideline_refs,
        amendment_reason,
    })
}

fn staging_refusal(error: &StagingError) -> Refusal {
    Refusal::invalid(error.field(), error.said())
}

/// The category a review settles on and the override's reason.
fn settle(
    field: &'static str,
    proposed: Option<&str>,
    review: &CategoryReview,
) -> Result<(String, Option<String>), Refusal> {
    match review {
        CategoryReview::Accept(_) => proposed.map(|p| (p.to_owned(), None)).ok_or_else(|| {
            Refusal::invalid(
                field,
                said!(
                    "the images did not decide this category; choose one and say why",
                    "影像未能确定此分类；请选择一个分类并说明理由"
                ),
            )
        }),
        CategoryReview::Override { category, reason } => {
            if Some(category.as_str()) == proposed {
                return Err(Refusal::invalid(
                    field,
                    said!(
                        "the override is the proposal itself; accept it instead",
                        "修改后的分类与建议相同；请直接接受建议"
                    ),
                ));
            }
            let reason = optional_text(field, Some(reason))?
                .ok_or_else(|| Refusal::invalid(field, said!("an override needs a reason", "修改分类须说明理由")))?;
            Ok((category.clone(), Some(reason)))
        }
    }
}

/// Text that may be absent: blank counts as absent; too long is refused.
fn optional_text(field: &'static str, text: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > MAX_TEXT {
        return Err(Refusal::invalid(field, Said::at_most_chars(MAX_TEXT)));
    }
    Ok(Some(text.to_owned()))
}

/// The facts a signature depends on.
#[derive(Debug, Clone)]
pub struct SignFacts<'a> {
    pub status: CaseStatus,
    pub roles: &'a [Role],
    /// Whether this user already signed the current decision version.
    pub already_signed: bool,
    /// Signatures on the current decision version so far.
    pub signatures: u32,
    pub quorum: u32,
}

/// The state after a signature: `Decided` when it completes the quorum.
pub fn sign(facts: &SignFacts<'_>) -> Result<CaseStatus, Refusal> {
    permitted(facts.status, Action::Sign, facts.roles)?;
    if facts.already_signed {
        return Err(Refusal::AlreadySigned);
    }
    Ok(if facts.signatures + 1 >= facts.quorum.max(1) { CaseStatus::Decided } else { CaseStatus::AwaitingSignatures })
}

/// Treatment actually started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreatmentStarted {
    pub treatment: Treatment,
    pub started_on: Date,
    pub deviation_reason: Option<String>,
}

/// Checks a treatment record against the signed recommendation: a different treatment needs a
/// reason (the patient's wish, a change in condition); the date is neither in the future nor
/// before the case was opened.
pub fn record_treatment(
    status: CaseStatus,
    roles: &[Role],
    cancer: Cancer,
    recommended: Treatment,
    opened_on: Date,
    today: Date,
    started: &TreatmentStarted,
) -> Result<TreatmentStarted, Refusal> {
    permitted(status, Action::RecordTreatment, roles)?;
    if !Treatment::options_for(cancer).contains(&started.treatment) {
        return Err(Refusal::invalid(
            "treatment",
            said!(("not a treatment of {cancer} here"), ("不是此处{}的治疗方案", cancer.label_zh())),
        ));
    }
    if started.started_on > today {
        return Err(Refusal::invalid(
            "started_on",
            said!("treatment that started cannot be in the future", "治疗开始日期不能晚于今天"),
        ));
    }
    if started.started_on < opened_on {
        return Err(Refusal::invalid(
            "started_on",
            said!("before the case came to the board", "早于病例提交多学科诊疗（MDT）的日期"),
        ));
    }
    let deviation_reason = optional_text("deviation_reason", started.deviation_reason.as_deref())?;
    if started.treatment != recommended && deviation_reason.is_none() {
        return Err(Refusal::invalid(
            "deviation_reason",
            said!("treatment differs from the recommendation; say why", "实际治疗与推荐方案不同；请说明原因"),
        ));
    }
    Ok(TreatmentStarted { deviation_reason, ..started.clone() })
}

/// What changed from one decision version to the next, category by category (for the visible
/// diff of an amendment): `(field, before, after)`.
pub fn diff(before: &Decision, after: &Decision) -> Vec<(&'static str, String, String)> {
    let pairs = [
        ("t", before.t.clone(), after.t.clone()),
        ("n", before.n.clone(), after.n.clone()),
        ("m", before.m.clone(), after.m.clone()),
        ("stage_group", before.stage_group.clone().unwrap_or_default(), after.stage_group.clone().unwrap_or_default()),
        ("recommendation", before.recommendation.as_str().to_owned(), after.recommendation.as_str().to_owned()),
        ("note", before.note.clone().unwrap_or_default(), after.note.clone().unwrap_or_default()),
        (
            "guideline_refs",
            before.guideline_refs.clone().unwrap_or_default(),
            after.guideline_refs.clone().unwrap_or_default(),
        ),
    ];
    pairs.into_iter().filter(|(_, a, b)| a != b).collect()
}

#[cfg(test)]
mod tests;
