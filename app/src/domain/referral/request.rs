//! Making a referral: a coordinator at the finding's site sends an open finding to another site of
//! the network, along a route an administrator has opened, with a reason and the work-up asked for.
//! Pure: the service reads the facts inside the transaction that inserts the referral (the
//! database's `referral_one_active` index still decides between two coordinators at once).

use serde::{Deserialize, Serialize};

use super::level::SiteLevel;
use super::lifecycle::text;
use crate::domain::followup::FindingStatus;
use crate::domain::followup::event::WorkupModality;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::said::Said;
use crate::said;

/// What the sender asks for. The JSON form is `{"to_site": CODE, "reason": ..., "requested_workup": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReferral {
    /// The receiving site's code.
    pub to_site: String,
    pub reason: String,
    pub requested_workup: WorkupModality,
}

impl NewReferral {
    /// The site code as stored (trimmed, upper case) and the reason trimmed, as a form sends them.
    pub fn normalised(self) -> NewReferral {
        NewReferral {
            to_site: self.to_site.trim().to_uppercase(),
            reason: self.reason.trim().to_owned(),
            requested_workup: self.requested_workup,
        }
    }
}

/// What a new referral is checked against beyond its own fields. The receiving site is known (an
/// unknown code is the service's "not found").
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The finding's site (its code): the sending end.
    pub from_site: &'a str,
    /// The level of the finding's site; `None`: the site is outside the network.
    pub from_level: Option<SiteLevel>,
    /// The level of the receiving site; `None`: the site is outside the network.
    pub to_level: Option<SiteLevel>,
    /// Whether an administrator has opened the route from the finding's site to the receiving one.
    pub route_exists: bool,
    pub organ: Organ,
    pub finding_status: FindingStatus,
    /// Whether the finding already has a requested or accepted referral.
    pub active_referral_exists: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewRefusal {
    #[error("only an open finding is referred; this one is {}", status.label().to_lowercase())]
    FindingNotOpen { status: FindingStatus },
    /// A conflict (HTTP 409), not a mistake in the request.
    #[error("the finding already has an active referral")]
    AlreadyReferred,
    /// A conflict (HTTP 409), as for a finding.
    #[error("the case already has an active referral")]
    CaseAlreadyReferred,
    #[error("the case's board decision is signed; only an undecided case is referred")]
    CaseDecided,
    #[error("a referral goes to another site")]
    SameSite,
    #[error("the finding's site {site} is not in the referral network")]
    SenderOutsideNetwork { site: String },
    #[error("site {site} is not in the referral network")]
    OutsideNetwork { site: String },
    #[error("no referral route from {from} to {to}; an administrator configures routes")]
    NoRoute { from: String, to: String },
    #[error("{} does not examine the {}", workup.label(), organ.as_str())]
    WorkupDoesNotSuit { workup: WorkupModality, organ: Organ },
    #[error("{message}")]
    Reason { message: Said },
}

impl NewRefusal {
    /// The refusal in both languages, as `Display` says it in English (without the field: the
    /// service pairs it with [`NewRefusal::field`]).
    pub fn said(&self) -> Said {
        match self {
            NewRefusal::FindingNotOpen { status } => said!(
                ("only an open finding is referred; this one is {}", status.label().to_lowercase()),
                ("只有未结案的发现可以转诊；该发现当前为“{}”", status.label_zh())
            ),
            NewRefusal::AlreadyReferred => {
                said!("the finding already has an active referral", "该发现已有进行中的转诊")
            }
            NewRefusal::CaseAlreadyReferred => {
                said!("the case already has an active referral", "该病例已有进行中的转诊")
            }
            NewRefusal::CaseDecided => said!(
                "the case's board decision is signed; only an undecided case is referred",
                "该病例的 MDT 决定已签署；只有尚未决定的病例可以转诊"
            ),
            NewRefusal::SameSite => said!("a referral goes to another site", "转诊须转至其他站点"),
            NewRefusal::SenderOutsideNetwork { site } => {
                said!("the finding's site {site} is not in the referral network", "发现所属站点 {site} 不在转诊网络中")
            }
            NewRefusal::OutsideNetwork { site } => {
                said!("site {site} is not in the referral network", "站点 {site} 不在转诊网络中")
            }
            NewRefusal::NoRoute { from, to } => said!(
                "no referral route from {from} to {to}; an administrator configures routes",
                "没有从 {from} 到 {to} 的转诊路径；转诊路径由管理员配置"
            ),
            NewRefusal::WorkupDoesNotSuit { workup, organ } => said!(
                ("{} does not examine the {}", workup.label(), organ.as_str()),
                ("{}不能检查{}", workup.label_zh(), organ.label_zh())
            ),
            NewRefusal::Reason { message } => message.clone(),
        }
    }

    /// The request field the refusal is about (`finding`, `case`: the finding or case itself, or
    /// its site).
    pub fn field(&self) -> &'static str {
        match self {
            NewRefusal::FindingNotOpen { .. }
            | NewRefusal::AlreadyReferred
            | NewRefusal::SenderOutsideNetwork { .. } => "finding",
            NewRefusal::CaseAlreadyReferred | NewRefusal::CaseDecided => "case",
            NewRefusal::SameSite | NewRefusal::OutsideNetwork { .. } | NewRefusal::NoRoute { .. } => "to_site",
            NewRefusal::WorkupDoesNotSuit { .. } => "requested_workup",
            NewRefusal::Reason { .. } => "reason",
        }
    }
}

/// Whether `new` may be sent: the finding first (open, not referred already), then where it goes
/// (another site, both in the network, along an open route), then what it asks for (a work-up
/// that examines the organ, a reason of 1 to [`MAX_TEXT`](super::lifecycle::MAX_TEXT) characters).
/// The first refusal is returned.
pub fn check_new(new: &NewReferral, facts: &Facts<'_>) -> Result<(), NewRefusal> {
    if !facts.finding_status.is_open() {
        return Err(NewRefusal::FindingNotOpen { status: facts.finding_status });
    }
    if facts.active_referral_exists {
        return Err(NewRefusal::AlreadyReferred);
    }
    check_route(&Route {
        from_site: facts.from_site,
        to_site: &new.to_site,
        from_level: facts.from_level,
        to_level: facts.to_level,
        route_exists: facts.route_exists,
    })?;
    if !new.requested_workup.suits(facts.organ) {
        return Err(NewRefusal::WorkupDoesNotSuit { workup: new.requested_workup, organ: facts.organ });
    }
    text(&new.reason, true).map_err(|message| NewRefusal::Reason { message })
}

/// Where a referral goes, as its checks see it: a finding's and a case's alike.
#[derive(Debug, Clone)]
pub struct Route<'a> {
    /// The sending site's code.
    pub from_site: &'a str,
    /// The receiving site's code, as requested.
    pub to_site: &'a str,
    pub from_level: Option<SiteLevel>,
    pub to_level: Option<SiteLevel>,
    /// Whether an administrator has opened the route from the sending site to the receiving one.
    pub route_exists: bool,
}

/// Whether a referral may go this way: to another site, both in the network, along an open route.
pub fn check_route(route: &Route<'_>) -> Result<(), NewRefusal> {
    let (from, to) = (route.from_site.trim(), route.to_site.trim());
    if from.eq_ignore_ascii_case(to) {
        return Err(NewRefusal::SameSite);
    }
    if route.from_level.is_none() {
        return Err(NewRefusal::SenderOutsideNetwork { site: from.to_owned() });
    }
    if route.to_level.is_none() {
        return Err(NewRefusal::OutsideNetwork { site: to.to_owned() });
    }
    if !route.route_exists {
        return Err(NewRefusal::NoRoute { from: from.to_owned(), to: to.to_owned() });
    }
    Ok(())
}
