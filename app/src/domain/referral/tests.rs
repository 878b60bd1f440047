//! The referral rules against the specification, written out independently of the code: the
//! lifecycle (requested, then accepted or declined by the receiving site, or withdrawn by the
//! sender), who may do what from which end, and what a new referral needs.

use proptest::prelude::*;

use super::level::*;
use super::lifecycle::*;
use super::request::*;
use crate::domain::followup::FindingStatus;
use crate::domain::followup::event::WorkupModality;
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::roles::Role;
use crate::domain::said::Said;

use ReferralEventKind as E;
use ReferralStatus as S;

/// Every cell of the specification's table: (from, event, to), `None` where the event is not
/// possible. Declined and withdrawn are final.
const SPEC: [(S, E, Option<S>); 12] = [
    (S::Requested, E::Accept, Some(S::Accepted)),
    (S::Requested, E::Decline, Some(S::Declined)),
    (S::Requested, E::Withdraw, Some(S::Withdrawn)),
    (S::Accepted, E::Accept, None),
    (S::Accepted, E::Decline, None),
    (S::Accepted, E::Withdraw, Some(S::Withdrawn)),
    (S::Declined, E::Accept, None),
    (S::Declined, E::Decline, None),
    (S::Declined, E::Withdraw, None),
    (S::Withdrawn, E::Accept, None),
    (S::Withdrawn, E::Decline, None),
    (S::Withdrawn, E::Withdraw, None),
];

fn spec(from: S, kind: E) -> Option<S> {
    SPEC.iter().find(|(f, k, _)| *f == from && *k == kind).map(|(_, _, to)| *to).expect("every cell is written out")
}

/// Whether the specification accepts this payload (reason required; both at most 2000 characters
/// after trimming; no control characters but line breaks and tabs).
fn spec_payload_ok(event: &ReferralEvent) -> bool {
    let ok = |t: &str| {
        let t = t.trim();
        t.chars().count() <= 2000 && !t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    };
    match event {
        ReferralEvent::Accept { note } => note.as_deref().is_none_or(ok),
        ReferralEvent::Decline { reason } | ReferralEvent::Withdraw { reason } => {
            !reason.trim().is_empty() && ok(reason)
        }
    }
}

fn has_han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

const COORDINATOR: &[Role] = &[Role::Coordinator];
const RECEIVING: &[Side] = &[Side::Receiving];
const SENDING: &[Side] = &[Side::Sending];

fn example(kind: E) -> ReferralEvent {
    match kind {
        E::Accept => ReferralEvent::Accept { note: Some("Booked for contrast CT on Monday.".into()) },
        E::Decline => ReferralEvent::Decline { reason: "Thoracic surgery has no capacity this month.".into() },
        E::Withdraw => ReferralEvent::Withdraw { reason: "The patient chose the provincial hospital.".into() },
    }
}

// --- the table, the sides and the roles, cell by cell ---

#[test]
fn transition_table_matches_the_specification_in_every_cell() {
    assert_eq!(S::ALL.len() * E::ALL.len(), SPEC.len());
    for from in S::ALL {
        for kind in E::ALL {
            assert_eq!(target(from, kind), spec(from, kind), "{from:?} --{kind:?}-->");
        }
    }
}

#[test]
fn sides_cell_by_cell() {
    let cases: &[(E, Side, bool)] = &[
        (E::Accept, Side::Receiving, true),
        (E::Accept, Side::Sending, false),
        (E::Decline, Side::Receiving, true),
        (E::Decline, Side::Sending, false),
        (E::Withdraw, Side::Sending, true),
        (E::Withdraw, Side::Receiving, false),
    ];
    assert_eq!(cases.len(), E::ALL.len() * Side::ALL.len());
    for (kind, side, allowed) in cases {
        assert_eq!(side_for(*kind) == *side, *allowed, "{kind:?} by the {side:?} side");
    }
}

#[test]
fn roles_cell_by_cell() {
    for kind in E::ALL {
        for role in Role::ALL {
            assert_eq!(roles_for(kind).contains(&role), role == Role::Coordinator, "{kind:?} by {role:?}");
        }
    }
}

#[test]
fn available_offers_each_end_its_own_events() {
    assert_eq!(available(S::Requested, COORDINATOR, RECEIVING), [E::Accept, E::Decline]);
    assert_eq!(available(S::Requested, COORDINATOR, SENDING), [E::Withdraw]);
    assert_eq!(available(S::Requested, COORDINATOR, &Side::ALL), [E::Accept, E::Decline, E::Withdraw]);
    assert_eq!(available(S::Accepted, COORDINATOR, RECEIVING), []);
    assert_eq!(available(S::Accepted, COORDINATOR, SENDING), [E::Withdraw]);
    assert_eq!(available(S::Requested, &[Role::Radiologist, Role::Admin, Role::Surgeon], &Side::ALL), []);
    assert_eq!(available(S::Requested, COORDINATOR, &[]), []);
    for status in [S::Declined, S::Withdrawn] {
        assert_eq!(available(status, &Role::ALL, &Side::ALL), []);
    }
}

#[test]
fn refusals_come_in_order_state_role_side_payload() {
    let empty = ReferralEvent::Decline { reason: String::new() };
    assert_eq!(
        apply(S::Declined, &empty, &[Role::Admin], SENDING),
        Err(Refusal::NotInThisState { event: E::Decline, status: S::Declined })
    );
    assert_eq!(apply(S::Requested, &empty, &[Role::Admin], SENDING), Err(Refusal::RoleMayNot { event: E::Decline }));
    assert_eq!(
        apply(S::Requested, &empty, COORDINATOR, SENDING),
        Err(Refusal::WrongSide { event: E::Decline, side: Side::Receiving })
    );
    assert!(matches!(
        apply(S::Requested, &empty, COORDINATOR, RECEIVING),
        Err(Refusal::Invalid { field: "reason", .. })
    ));
    assert_eq!(
        apply(S::Accepted, &example(E::Withdraw), COORDINATOR, RECEIVING),
        Err(Refusal::WrongSide { event: E::Withdraw, side: Side::Sending })
    );
    assert_eq!(apply(S::Accepted, &example(E::Withdraw), COORDINATOR, SENDING), Ok(S::Withdrawn));
}

// --- payloads ---

#[test]
fn reasons_and_notes_at_their_boundaries() {
    // Characters, not bytes: a Chinese reason of 2000 characters is 6000 bytes.
    let reason = |text: String| ReferralEvent::Decline { reason: text };
    let withdraw = |text: String| ReferralEvent::Withdraw { reason: text };
    let note = |text: Option<String>| ReferralEvent::Accept { note: text };
    let decline = |event: &ReferralEvent| apply(S::Requested, event, COORDINATOR, RECEIVING);

    assert_eq!(decline(&reason("理".repeat(2000))), Ok(S::Declined));
    let too_long = decline(&reason("理".repeat(2001))).expect_err("2001 characters");
    assert_eq!(too_long, Refusal::Invalid { field: "reason", message: Said::at_most_chars(2000) });
    assert_eq!(too_long.said().en, "reason: at most 2000 characters");
    assert_eq!(too_long.said().zh, "reason：最多 2000 个字符");
    // Surrounding white space does not count.
    assert_eq!(decline(&reason(format!("  {}\n", "x".repeat(2000)))), Ok(S::Declined));
    assert_eq!(decline(&reason("x".into())), Ok(S::Declined));
    for blank in ["", "   ", "\n\t"] {
        let refusal = decline(&reason(blank.into())).expect_err("blank");
        assert_eq!((refusal.said().en, refusal.said().zh), ("reason: required".into(), "reason：必填".into()));
    }
    assert!(matches!(decline(&reason("no\u{7}bell".into())), Err(Refusal::Invalid { field: "reason", .. })));
    assert!(matches!(decline(&reason("no\u{0}nul".into())), Err(Refusal::Invalid { field: "reason", .. })));
    assert_eq!(decline(&reason("line one\r\nline\ttwo".into())), Ok(S::Declined));

    let sender = |event: &ReferralEvent| apply(S::Accepted, event, COORDINATOR, SENDING);
    assert_eq!(sender(&withdraw("x".repeat(2000))), Ok(S::Withdrawn));
    assert!(matches!(sender(&withdraw("x".repeat(2001))), Err(Refusal::Invalid { field: "reason", .. })));
    assert!(matches!(sender(&withdraw(" ".into())), Err(Refusal::Invalid { field: "reason", .. })));

    let accept = |event: &ReferralEvent| apply(S::Requested, event, COORDINATOR, RECEIVING);
    assert_eq!(accept(&note(None)), Ok(S::Accepted));
    assert_eq!(accept(&note(Some("x".repeat(2000)))), Ok(S::Accepted));
    assert!(matches!(accept(&note(Some("x".repeat(2001)))), Err(Refusal::Invalid { field: "note", .. })));
    assert!(matches!(accept(&note(Some("\u{1b}[31m".into()))), Err(Refusal::Invalid { field: "note", .. })));
}

#[test]
fn events_read_from_json_exactly() {
    let read = |json: &str| serde_json::from_str::<ReferralEvent>(json);
    assert_eq!(read(r#"{"event":"accept"}"#).ok(), Some(ReferralEvent::Accept { note: None }));
    assert_eq!(
        read(r#"{"event":"accept","note":"Monday"}"#).ok(),
        Some(ReferralEvent::Accept { note: Some("Monday".into()) })
    );
    assert_eq!(
        read(r#"{"event":"decline","reason":"No capacity"}"#).ok(),
        Some(ReferralEvent::Decline { reason: "No capacity".into() })
    );
    assert_eq!(
        read(r#"{"event":"withdraw","reason":"Moved"}"#).ok(),
        Some(ReferralEvent::Withdraw { reason: "Moved".into() })
    );
    for bad in [
        r#"{"event":"decline"}"#,
        r#"{"event":"withdraw"}"#,
        r#"{"event":"accept","reason":"a typo for note"}"#,
        r#"{"event":"decline","reason":"x","note":"y"}"#,
        r#"{"event":"request","reason":"x"}"#,
        r#"{"event":"Accept"}"#,
        r#"{"reason":"x"}"#,
    ] {
        assert!(read(bad).is_err(), "{bad}");
    }
    for kind in E::ALL {
        let json = serde_json::to_value(example(kind)).expect("serialises");
        assert_eq!(json["event"], kind.as_str());
        assert_eq!(example(kind).kind(), kind);
        assert_eq!(serde_json::to_value(kind).ok(), Some(serde_json::json!(kind.as_str())));
        assert_eq!(kind.to_string(), kind.as_str());
    }
}

#[test]
fn normalising_trims_and_drops_blank_notes() {
    assert_eq!(ReferralEvent::Accept { note: Some(" \n ".into()) }.normalised(), ReferralEvent::Accept { note: None });
    assert_eq!(
        ReferralEvent::Accept { note: Some(" Monday ".into()) }.normalised(),
        ReferralEvent::Accept { note: Some("Monday".into()) }
    );
    assert_eq!(
        ReferralEvent::Decline { reason: "\tNo capacity \n".into() }.normalised(),
        ReferralEvent::Decline { reason: "No capacity".into() }
    );
    assert_eq!(
        ReferralEvent::Withdraw { reason: "  ".into() }.normalised(),
        ReferralEvent::Withdraw { reason: String::new() }
    );
    assert_eq!(ReferralEvent::Withdraw { reason: "Moved".into() }.text(), Some("Moved"));
    assert_eq!(ReferralEvent::Accept { note: None }.text(), None);
}

// --- names ---

#[test]
fn levels_round_trip_and_rank_upwards() {
    let names = ["community", "county", "municipal", "provincial"];
    for (level, name) in SiteLevel::ALL.into_iter().zip(names) {
        assert_eq!(level.as_str(), name);
        assert_eq!(name.parse::<SiteLevel>(), Ok(level));
        assert_eq!(serde_json::to_value(level).ok(), Some(serde_json::json!(name)));
        assert_eq!(level.to_string(), name);
    }
    let ranks: Vec<u8> = SiteLevel::ALL.into_iter().map(SiteLevel::rank).collect();
    assert_eq!(ranks, [1, 2, 3, 4]);
    let upward = |from: SiteLevel, to: SiteLevel| to.rank() > from.rank();
    assert!(upward(SiteLevel::Community, SiteLevel::County));
    assert!(upward(SiteLevel::County, SiteLevel::Provincial));
    assert!(!upward(SiteLevel::Provincial, SiteLevel::Community));
    assert!(!upward(SiteLevel::County, SiteLevel::County));
    let unknown = "Community".parse::<SiteLevel>().expect_err("names are exact");
    assert_eq!(unknown, UnknownSiteLevel("Community".into()));
    assert_eq!(unknown.said().en, unknown.to_string());
    assert!(has_han(&unknown.said().zh));
    assert!("township".parse::<SiteLevel>().is_err());
    assert!("".parse::<SiteLevel>().is_err());
}

#[test]
fn statuses_round_trip_and_two_are_active() {
    let cases = [
        (S::Requested, "requested", true),
        (S::Accepted, "accepted", true),
        (S::Declined, "declined", false),
        (S::Withdrawn, "withdrawn", false),
    ];
    assert_eq!(cases.len(), S::ALL.len());
    for (status, name, active) in cases {
        assert_eq!(status.as_str(), name);
        assert_eq!(name.parse::<S>(), Ok(status));
        assert_eq!(serde_json::to_value(status).ok(), Some(serde_json::json!(name)));
        assert_eq!(status.is_active(), active, "{status:?}");
        assert_eq!(status.is_final(), !active, "{status:?}");
    }
    let unknown = "pending".parse::<S>().expect_err("unknown");
    assert_eq!(unknown.said().en, unknown.to_string());
    assert!(has_han(&unknown.said().zh));
}

#[test]
fn every_label_is_in_both_languages() {
    fn check<T: Labelled + std::fmt::Debug>(values: impl IntoIterator<Item = T>) {
        for value in values {
            assert!(!value.label_en().is_empty(), "{value:?}");
            assert!(has_han(value.label_zh()), "{value:?}: {}", value.label_zh());
            // Where the glossary names a term, the label follows it.
            if let Some(zh) = crate::domain::glossary::chinese(value.label_en()) {
                assert_eq!(value.label_zh(), zh, "{value:?}");
            }
        }
    }
    check(SiteLevel::ALL);
    check(S::ALL);
    check(E::ALL);
    check(Side::ALL);
    let zh: Vec<&str> = SiteLevel::ALL.into_iter().map(SiteLevel::label_zh).collect();
    assert_eq!(zh, ["社区卫生服务中心", "县级医院", "市级医院", "省级医院"]);
    let zh: Vec<&str> = S::ALL.into_iter().map(S::label_zh).collect();
    assert_eq!(zh, ["待接收", "已接收", "已拒绝", "已撤回"]);
}

// --- what refusals say ---

/// One of each refusal, the lifecycle's and a new referral's.
fn every_refusal() -> (Vec<Refusal>, Vec<NewRefusal>) {
    let lifecycle = vec![
        Refusal::NotInThisState { event: E::Accept, status: S::Withdrawn },
        Refusal::RoleMayNot { event: E::Decline },
        Refusal::WrongSide { event: E::Accept, side: Side::Receiving },
        Refusal::Invalid { field: "reason", message: Said::at_most_chars(MAX_TEXT) },
    ];
    let new = vec![
        NewRefusal::FindingNotOpen { status: FindingStatus::Dismissed },
        NewRefusal::AlreadyReferred,
        NewRefusal::SameSite,
        NewRefusal::SenderOutsideNetwork { site: "PRIVATE-1".into() },
        NewRefusal::OutsideNetwork { site: "PRIVATE-2".into() },
        NewRefusal::NoRoute { from: "CHC-EAST".into(), to: "PROV-1".into() },
        NewRefusal::WorkupDoesNotSuit { workup: WorkupModality::Colonoscopy, organ: Organ::Liver },
        NewRefusal::Reason { message: crate::said!("required", "必填") },
        NewRefusal::CaseAlreadyReferred,
        NewRefusal::CaseDecided,
    ];
    (lifecycle, new)
}

#[test]
fn every_refusal_says_in_english_what_display_says_and_has_chinese() {
    let (lifecycle, new) = every_refusal();
    let said: Vec<(String, Said)> = lifecycle
        .iter()
        .map(|r| (r.to_string(), r.said()))
        .chain(new.iter().map(|r| (r.to_string(), r.said())))
        .collect();
    for (display, said) in said {
        assert_eq!(said.en, display);
        assert!(!said.en.is_empty());
        assert!(has_han(&said.zh), "{}", said.zh);
        // Chinese punctuation is full width (codes and numbers aside).
        assert!(!said.zh.contains([',', ';', ':', '(', ')', '"']), "{}", said.zh);
    }
}

#[test]
fn refusals_word_for_word() {
    let cases: &[(Said, &str, &str)] = &[
        (
            Refusal::NotInThisState { event: E::Accept, status: S::Withdrawn }.said(),
            "`accept` is not possible while the referral is withdrawn",
            "转诊处于“已撤回”状态，不能执行“接收”",
        ),
        (Refusal::RoleMayNot { event: E::Decline }.said(), "your role may not `decline`", "您的角色不能执行“拒绝”"),
        (
            Refusal::WrongSide { event: E::Accept, side: Side::Receiving }.said(),
            "only the receiving site may `accept`",
            "只有接收方可以执行“接收”",
        ),
        (
            Refusal::WrongSide { event: E::Withdraw, side: Side::Sending }.said(),
            "only the sending site may `withdraw`",
            "只有转出方可以执行“撤回”",
        ),
        (NewRefusal::SameSite.said(), "a referral goes to another site", "转诊须转至其他站点"),
        (
            NewRefusal::NoRoute { from: "CHC-EAST".into(), to: "PROV-1".into() }.said(),
            "no referral route from CHC-EAST to PROV-1; an administrator configures routes",
            "没有从 CHC-EAST 到 PROV-1 的转诊路径；转诊路径由管理员配置",
        ),
        (
            NewRefusal::FindingNotOpen { status: FindingStatus::Dismissed }.said(),
            "only an open finding is referred; this one is dismissed",
            "只有未结案的发现可以转诊；该发现当前为“已排除”",
        ),
        (
            NewRefusal::WorkupDoesNotSuit { workup: WorkupModality::Colonoscopy, organ: Organ::Liver }.said(),
            "Colonoscopy does not examine the liver",
            "结肠镜不能检查肝癌",
        ),
    ];
    for (said, en, zh) in cases {
        assert_eq!((said.en.as_str(), said.zh.as_str()), (*en, *zh));
    }
}

// --- a new referral ---

fn request() -> NewReferral {
    NewReferral {
        to_site: "COUNTY-1".into(),
        reason: "Pancreatic mass on screening CT; please assess for resection.".into(),
        requested_workup: WorkupModality::ContrastMri,
    }
}

fn facts() -> Facts<'static> {
    Facts {
        from_site: "CHC-EAST",
        from_level: Some(SiteLevel::Community),
        to_level: Some(SiteLevel::County),
        route_exists: true,
        organ: Organ::Pancreas,
        finding_status: FindingStatus::InReview,
        active_referral_exists: false,
    }
}

#[test]
fn a_new_referral_with_every_fact_in_order_is_accepted() {
    assert_eq!(check_new(&request(), &facts()), Ok(()));
    // Every open state of the finding may be referred, and a referral may go down a level too.
    for status in FindingStatus::OPEN {
        assert_eq!(check_new(&request(), &Facts { finding_status: status, ..facts() }), Ok(()), "{status:?}");
    }
    let down = Facts { from_level: Some(SiteLevel::Provincial), to_level: Some(SiteLevel::Community), ..facts() };
    assert_eq!(check_new(&request(), &down), Ok(()));
}

#[test]
fn each_refusal_of_a_new_referral() {
    let refused = |new: NewReferral, facts: Facts<'static>| check_new(&new, &facts).expect_err("refused");
    let cases: Vec<(NewRefusal, NewRefusal, &str)> = vec![
        (
            refused(request(), Facts { finding_status: FindingStatus::Dismissed, ..facts() }),
            NewRefusal::FindingNotOpen { status: FindingStatus::Dismissed },
            "finding",
        ),
        (
            refused(request(), Facts { finding_status: FindingStatus::ConfirmedMalignant, ..facts() }),
            NewRefusal::FindingNotOpen { status: FindingStatus::ConfirmedMalignant },
            "finding",
        ),
        (refused(request(), Facts { active_referral_exists: true, ..facts() }), NewRefusal::AlreadyReferred, "finding"),
        (refused(NewReferral { to_site: "CHC-EAST".into(), ..request() }, facts()), NewRefusal::SameSite, "to_site"),
        (refused(NewReferral { to_site: " chc-east ".into(), ..request() }, facts()), NewRefusal::SameSite, "to_site"),
        (
            refused(request(), Facts { from_level: None, ..facts() }),
            NewRefusal::SenderOutsideNetwork { site: "CHC-EAST".into() },
            "finding",
        ),
        (
            refused(request(), Facts { to_level: None, ..facts() }),
            NewRefusal::OutsideNetwork { site: "COUNTY-1".into() },
            "to_site",
        ),
        (
            refused(request(), Facts { route_exists: false, ..facts() }),
            NewRefusal::NoRoute { from: "CHC-EAST".into(), to: "COUNTY-1".into() },
            "to_site",
        ),
        (
            refused(NewReferral { requested_workup: WorkupModality::Endoscopy, ..request() }, facts()),
            NewRefusal::WorkupDoesNotSuit { workup: WorkupModality::Endoscopy, organ: Organ::Pancreas },
            "requested_workup",
        ),
        (
            refused(NewReferral { reason: " \n".into(), ..request() }, facts()),
            NewRefusal::Reason { message: crate::said!("required", "必填") },
            "reason",
        ),
        (
            refused(NewReferral { reason: "肿".repeat(2001), ..request() }, facts()),
            NewRefusal::Reason { message: Said::at_most_chars(2000) },
            "reason",
        ),
        (
            refused(NewReferral { reason: "see\u{0}".into(), ..request() }, facts()),
            NewRefusal::Reason {
                message: crate::said!("control characters are not allowed", "不允许包含控制字符")
            },
            "reason",
        ),
    ];
    for (actual, expected, field) in cases {
        assert_eq!(actual, expected);
        assert_eq!(actual.field(), field, "{expected:?}");
    }
    assert_eq!(check_new(&NewReferral { reason: "肿".repeat(2000), ..request() }, &facts()), Ok(()));
    // The work-up rule is followup's: colonoscopy examines the bowel, a biopsy any organ.
    let colorectal = Facts { organ: Organ::Colorectal, ..facts() };
    assert_eq!(
        check_new(&NewReferral { requested_workup: WorkupModality::Colonoscopy, ..request() }, &colorectal),
        Ok(())
    );
    assert_eq!(check_new(&NewReferral { requested_workup: WorkupModality::Biopsy, ..request() }, &colorectal), Ok(()));
}

#[test]
fn a_closed_finding_is_refused_before_anything_else() {
    let everything_wrong = Facts {
        from_level: None,
        to_level: None,
        route_exists: false,
        finding_status: FindingStatus::Benign,
        active_referral_exists: true,
        ..facts()
    };
    let new = NewReferral { to_site: "CHC-EAST".into(), reason: String::new(), ..request() };
    assert_eq!(check_new(&new, &everything_wrong), Err(NewRefusal::FindingNotOpen { status: FindingStatus::Benign }));
}

#[test]
fn new_referrals_read_from_json_exactly_and_normalise() {
    let new: NewReferral =
        serde_json::from_str(r#"{"to_site":" county-1 ","reason":" Mass \n","requested_workup":"contrast_mri"}"#)
            .expect("valid");
    assert_eq!(new.normalised(), NewReferral { reason: "Mass".into(), ..request() });
    for bad in [
        r#"{"to_site":"COUNTY-1","reason":"x","requested_workup":"xray"}"#,
        r#"{"to_site":"COUNTY-1","reason":"x"}"#,
        r#"{"to_site":"COUNTY-1","reason":"x","requested_workup":"biopsy","urgent":true}"#,
    ] {
        assert!(serde_json::from_str::<NewReferral>(bad).is_err(), "{bad}");
    }
}

// --- properties ---

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("Seen at the county hospital.".to_owned()),
        1 => Just(String::new()),
        1 => Just("  \n ".to_owned()),
        1 => Just("x".repeat(2000)),
        1 => Just("x".repeat(2001)),
        1 => Just("bell\u{7}".to_owned()),
        1 => "[a-z \\t\\n]{0,12}",
    ]
}

fn any_event() -> impl Strategy<Value = ReferralEvent> {
    prop_oneof![
        proptest::option::of(any_text()).prop_map(|note| ReferralEvent::Accept { note }),
        any_text().prop_map(|reason| ReferralEvent::Decline { reason }),
        any_text().prop_map(|reason| ReferralEvent::Withdraw { reason }),
    ]
}

fn any_roles() -> impl Strategy<Value = Vec<Role>> {
    proptest::sample::subsequence(Role::ALL.to_vec(), 0..=2)
}

fn any_sides() -> impl Strategy<Value = Vec<Side>> {
    proptest::sample::subsequence(Side::ALL.to_vec(), 0..=2)
}

fn any_status() -> impl Strategy<Value = S> {
    proptest::sample::select(S::ALL.to_vec())
}

/// What a finding's coordinators do: refer it (to one of a few sites) or act on one of its
/// referrals.
#[derive(Debug, Clone)]
enum Step {
    Refer { to_site: &'static str, route_exists: bool },
    Act { referral: usize, event: ReferralEvent, roles: Vec<Role>, sides: Vec<Side> },
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (proptest::sample::select(vec!["COUNTY-1", "CITY-1", "CHC-EAST"]), any::<bool>())
            .prop_map(|(to_site, route_exists)| Step::Refer { to_site, route_exists }),
        3 => (0..4usize, any_event(), any_roles(), any_sides())
            .prop_map(|(referral, event, roles, sides)| Step::Act { referral, event, roles, sides }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Declined and withdrawn are final: no event, by anyone from either end, changes them.
    #[test]
    fn a_final_state_never_changes(event in any_event(), roles in any_roles(), sides in any_sides()) {
        for status in [S::Declined, S::Withdrawn] {
            prop_assert_eq!(
                apply(status, &event, &roles, &sides),
                Err(Refusal::NotInThisState { event: event.kind(), status })
            );
        }
    }

    /// An event is accepted exactly when the page offers it and its payload is valid, and then it
    /// leads where the specification says.
    #[test]
    fn apply_agrees_with_available(
        status in any_status(), event in any_event(), roles in any_roles(), sides in any_sides()
    ) {
        let offered = available(status, &roles, &sides).contains(&event.kind());
        let result = apply(status, &event, &roles, &sides);
        prop_assert_eq!(result.is_ok(), offered && spec_payload_ok(&event), "{:?}", result);
        if let Ok(next) = result {
            prop_assert_eq!(Some(next), spec(status, event.kind()));
        }
        // A normalised event is judged the same: trimming never turns a refusal into acceptance.
        prop_assert_eq!(apply(status, &event.clone().normalised(), &roles, &sides).is_ok(), result.is_ok());
    }

    /// Any sequence of referrals and events on one finding: at most one referral is active at a
    /// time, every accepted step is an edge of the specification, a refused one changes nothing,
    /// and a referral is accepted at most once and never after it was declined or withdrawn.
    #[test]
    fn a_finding_has_at_most_one_active_referral(steps in proptest::collection::vec(any_step(), 1..40)) {
        let mut referrals: Vec<(S, Vec<E>)> = Vec::new();
        for step in steps {
            match step {
                Step::Refer { to_site, route_exists } => {
                    let active = referrals.iter().any(|(s, _)| s.is_active());
                    let new = NewReferral { to_site: to_site.into(), ..request() };
                    let facts = Facts { route_exists, active_referral_exists: active, ..facts() };
                    match check_new(&new, &facts) {
                        Ok(()) => {
                            prop_assert!(!active && route_exists && to_site != "CHC-EAST");
                            referrals.push((S::Requested, Vec::new()));
                        }
                        Err(NewRefusal::AlreadyReferred) => prop_assert!(active),
                        Err(_) => {}
                    }
                }
                Step::Act { referral, event, roles, sides } => {
                    let Some((status, history)) = referrals.get_mut(referral) else { continue };
                    match apply(*status, &event, &roles, &sides) {
                        Ok(next) => {
                            prop_assert_eq!(Some(next), spec(*status, event.kind()));
                            prop_assert!(roles.contains(&Role::Coordinator));
                            prop_assert!(sides.contains(&side_for(event.kind())));
                            history.push(event.kind());
                            *status = next;
                        }
                        Err(Refusal::NotInThisState { status: at, .. }) => prop_assert_eq!(at, *status),
                        Err(_) => {}
                    }
                }
            }
            prop_assert!(referrals.iter().filter(|(s, _)| s.is_active()).count() <= 1);
            for (status, history) in &referrals {
                prop_assert!(history.iter().filter(|k| **k == E::Accept).count() <= 1);
                prop_assert!(history.len() <= 2, "{history:?}");
                // Only the last event may end it (decline or withdraw), and only after an accept.
                if let Some(ending) = history.iter().position(|k| *k != E::Accept) {
                    prop_assert_eq!(ending, history.len() - 1);
                }
                prop_assert_eq!(status.is_final(), history.iter().any(|k| *k != E::Accept));
            }
        }
    }
}

/// Both ends of the lifecycle are reachable by coordinators (no dead corner in the table).
#[test]
fn coordinators_reach_every_state() {
    assert_eq!(apply(S::Requested, &example(E::Accept), COORDINATOR, RECEIVING), Ok(S::Accepted));
    assert_eq!(apply(S::Requested, &example(E::Decline), COORDINATOR, RECEIVING), Ok(S::Declined));
    assert_eq!(apply(S::Requested, &example(E::Withdraw), COORDINATOR, SENDING), Ok(S::Withdrawn));
    assert_eq!(apply(S::Accepted, &example(E::Withdraw), COORDINATOR, SENDING), Ok(S::Withdrawn));
    // A user of both sites may act from either end.
    assert_eq!(apply(S::Requested, &example(E::Accept), COORDINATOR, &Side::ALL), Ok(S::Accepted));
}

mod work_up {
    use super::*;
    use crate::domain::referral::workup::*;

    /// One cell: the finding's active referral, the actor's sides, and the verdict.
    type Case = (Option<S>, &'static [Side], Result<(), WorkUpRefusal>);

    /// Who records the finding's events, cell by cell: (referral, actor's sides, allowed?).
    /// Requested: still the sender's; accepted: the receiver's; final or none: the finding's own
    /// site (the service has already checked the actor sees it).
    #[test]
    fn each_end_works_the_finding_up_only_in_its_turn() {
        let sending = &[Side::Sending][..];
        let receiving = &[Side::Receiving][..];
        let both = &[Side::Sending, Side::Receiving][..];
        let cases: [Case; 15] = [
            (None, sending, Ok(())),
            (None, receiving, Ok(())),
            (None, both, Ok(())),
            (Some(S::Requested), sending, Ok(())),
            (Some(S::Requested), receiving, Err(WorkUpRefusal::NotAcceptedYet)),
            (Some(S::Requested), both, Ok(())),
            (Some(S::Accepted), sending, Err(WorkUpRefusal::WithTheReceivingSite)),
            (Some(S::Accepted), receiving, Ok(())),
            (Some(S::Accepted), both, Ok(())),
            (Some(S::Declined), sending, Ok(())),
            (Some(S::Declined), receiving, Ok(())),
            (Some(S::Declined), both, Ok(())),
            (Some(S::Withdrawn), sending, Ok(())),
            (Some(S::Withdrawn), receiving, Ok(())),
            (Some(S::Withdrawn), both, Ok(())),
        ];
        for (referral, sides, expected) in cases {
            assert_eq!(check_work_up(referral, sides), expected, "{referral:?} {sides:?}");
        }
    }

    #[test]
    fn the_refusals_say_what_to_do_in_both_languages() {
        for refusal in [WorkUpRefusal::NotAcceptedYet, WorkUpRefusal::WithTheReceivingSite] {
            let said = refusal.said();
            assert_eq!(said.en, refusal.to_string());
            assert!(said.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{said:?}");
        }
        assert!(WorkUpRefusal::NotAcceptedYet.said().zh.contains("接收"));
    }

    #[test]
    fn the_sender_hears_of_an_outcome_reached_under_an_accepted_referral_only() {
        use FindingStatus as F;
        // Closing under an accepted referral reports the outcome.
        assert_eq!(
            outcome_to_report(Some(S::Accepted), F::WorkupDone, F::ConfirmedMalignant),
            Some(F::ConfirmedMalignant)
        );
        assert_eq!(
            outcome_to_report(Some(S::Accepted), F::WorkupScheduled, F::LostToFollowup),
            Some(F::LostToFollowup)
        );
        assert_eq!(outcome_to_report(Some(S::Accepted), F::InReview, F::Dismissed), Some(F::Dismissed));
        // Handing a confirmed cancer to the board is a new outcome to report.
        assert_eq!(
            outcome_to_report(Some(S::Accepted), F::ConfirmedMalignant, F::ReferredToMdt),
            Some(F::ReferredToMdt)
        );
        // Moves between open states, reopening, and anything outside an accepted referral: nothing.
        assert_eq!(outcome_to_report(Some(S::Accepted), F::WorkupOrdered, F::WorkupScheduled), None);
        assert_eq!(outcome_to_report(Some(S::Accepted), F::Benign, F::InReview), None);
        assert_eq!(outcome_to_report(Some(S::Requested), F::WorkupDone, F::Benign), None);
        assert_eq!(outcome_to_report(Some(S::Withdrawn), F::WorkupDone, F::Benign), None);
        assert_eq!(outcome_to_report(None, F::WorkupDone, F::Benign), None);
    }

    proptest! {
        /// Whatever the state, exactly one end alone may work an active referral's finding up, and
        /// nobody is ever locked out of a finding with no active referral.
        #[test]
        fn exactly_one_end_alone_works_an_active_referral(status in prop::sample::select(S::ALL.to_vec())) {
            let alone: Vec<Side> =
                Side::ALL.into_iter().filter(|side| check_work_up(Some(status), &[*side]).is_ok()).collect();
            if status.is_active() {
                prop_assert_eq!(alone.len(), 1);
            } else {
                prop_assert_eq!(alone.len(), 2);
            }
            prop_assert!(check_work_up(Some(status), &Side::ALL).is_ok());
        }
    }
}
