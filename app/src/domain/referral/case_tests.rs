//! The case referral's rules against the specification, written out by hand: what a new case
//! referral needs, in which order it is refused, who works a referred case, and when the sender
//! hears of the board's decision.

use super::case::*;
use super::level::SiteLevel;
use super::lifecycle::{ReferralStatus as S, Side};
use super::request::{NewRefusal, Route};
use super::workup::{WorkUpRefusal, check_work_up};
use crate::domain::mdt::CaseStatus;

fn request() -> NewCaseReferral {
    NewCaseReferral { to_site: "PROV-1".into(), reason: "board review of a T4 larynx case".into() }
}

fn facts() -> CaseFacts<'static> {
    CaseFacts {
        route: Route {
            from_site: "CHC-EAST",
            to_site: "PROV-1",
            from_level: Some(SiteLevel::Community),
            to_level: Some(SiteLevel::Provincial),
            route_exists: true,
        },
        case_status: CaseStatus::AwaitingReview,
        active_referral_exists: false,
    }
}

#[test]
fn an_undecided_case_along_an_open_route_is_referred() {
    assert_eq!(check_new_case(&request(), &facts()), Ok(()));
    let awaiting_signatures = CaseFacts { case_status: CaseStatus::AwaitingSignatures, ..facts() };
    assert_eq!(check_new_case(&request(), &awaiting_signatures), Ok(()));
}

#[test]
fn each_refusal_of_a_new_case_referral() {
    let decided = CaseFacts { case_status: CaseStatus::Decided, ..facts() };
    assert_eq!(check_new_case(&request(), &decided), Err(NewRefusal::CaseDecided));
    let referred = CaseFacts { active_referral_exists: true, ..facts() };
    assert_eq!(check_new_case(&request(), &referred), Err(NewRefusal::CaseAlreadyReferred));
    let same = NewCaseReferral { to_site: "chc-east".into(), ..request() };
    assert_eq!(check_new_case(&same, &facts()), Err(NewRefusal::SameSite));
    let outside = CaseFacts { route: Route { from_level: None, ..facts().route }, ..facts() };
    assert_eq!(check_new_case(&request(), &outside), Err(NewRefusal::SenderOutsideNetwork { site: "CHC-EAST".into() }));
    let to_outside = CaseFacts { route: Route { to_level: None, ..facts().route }, ..facts() };
    assert_eq!(check_new_case(&request(), &to_outside), Err(NewRefusal::OutsideNetwork { site: "PROV-1".into() }));
    let no_route = CaseFacts { route: Route { route_exists: false, ..facts().route }, ..facts() };
    assert_eq!(
        check_new_case(&request(), &no_route),
        Err(NewRefusal::NoRoute { from: "CHC-EAST".into(), to: "PROV-1".into() })
    );
    let blank = NewCaseReferral { reason: "  ".into(), ..request() };
    assert!(matches!(check_new_case(&blank, &facts()), Err(NewRefusal::Reason { .. })));
    // Refusals name the case as the field for the case's own state, 409 for a second referral.
    assert_eq!(NewRefusal::CaseDecided.field(), "case");
    assert_eq!(NewRefusal::CaseAlreadyReferred.field(), "case");
}

#[test]
fn a_decided_case_is_refused_before_anything_else() {
    let everything_wrong = CaseFacts {
        route: Route { from_level: None, to_level: None, route_exists: false, ..facts().route },
        case_status: CaseStatus::Decided,
        active_referral_exists: true,
    };
    let blank = NewCaseReferral { to_site: "CHC-EAST".into(), reason: String::new() };
    assert_eq!(check_new_case(&blank, &everything_wrong), Err(NewRefusal::CaseDecided));
}

#[test]
fn case_referrals_read_from_json_exactly_and_normalise() {
    let parsed: NewCaseReferral = serde_json::from_str(r#"{"to_site":" prov-1 ","reason":" why "}"#).expect("parses");
    assert_eq!(parsed.normalised(), NewCaseReferral { to_site: "PROV-1".into(), reason: "why".into() });
    // A finding referral's work-up has no place in a case's.
    let extra = r#"{"to_site":"PROV-1","reason":"why","requested_workup":"biopsy"}"#;
    assert!(serde_json::from_str::<NewCaseReferral>(extra).is_err());
}

#[test]
fn the_sender_hears_of_the_signed_decision_under_an_accepted_referral_only() {
    use CaseStatus::*;
    // (referral, before, after, told): written out cell by cell.
    let table = [
        (Some(S::Accepted), AwaitingSignatures, Decided, true),
        (Some(S::Accepted), AwaitingReview, Decided, true),
        (Some(S::Accepted), Decided, Decided, false),
        (Some(S::Accepted), AwaitingReview, AwaitingSignatures, false),
        (Some(S::Accepted), Decided, AwaitingSignatures, false),
        (Some(S::Requested), AwaitingSignatures, Decided, false),
        (Some(S::Declined), AwaitingSignatures, Decided, false),
        (Some(S::Withdrawn), AwaitingSignatures, Decided, false),
        (None, AwaitingSignatures, Decided, false),
    ];
    for (referral, before, after, told) in table {
        assert_eq!(case_outcome_to_report(referral, before, after), told, "{referral:?} {before:?} -> {after:?}");
    }
}

#[test]
fn a_referred_case_is_worked_by_one_end_and_refused_in_both_languages() {
    assert_eq!(check_work_up(Some(S::Requested), &[Side::Receiving]), Err(WorkUpRefusal::NotAcceptedYet));
    assert_eq!(check_work_up(Some(S::Accepted), &[Side::Sending]), Err(WorkUpRefusal::WithTheReceivingSite));
    let said = WorkUpRefusal::WithTheReceivingSite.said_of_case();
    assert_eq!(
        said.en,
        "the receiving site has accepted this case's referral and its board decides it; this site follows it read-only"
    );
    assert_eq!(said.zh, "接收方已接收此病例的转诊并由其 MDT 决定；本院只能查看");
    let said = WorkUpRefusal::NotAcceptedYet.said_of_case();
    assert_eq!(said.en, "accept the referral before the board works on this case here");
    assert_eq!(said.zh, "请先接收转诊，再由本院 MDT 处理此病例");
}
