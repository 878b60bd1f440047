//! The chronic pathway and its rules against the specification, written out independently of
//! the code: the issue's lifecycle (new, letter sent, acknowledged, closed) and the published
//! cut-offs at their boundaries.

use proptest::prelude::*;

use super::kind::{ChronicKind, Criterion};
use super::lifecycle::*;
use super::rules::*;
use crate::domain::roles::Role;

use ChronicStatus as S;

/// Every edge the specification allows, as (from, event, to).
const SPEC_EDGES: &[(S, &str, S)] = &[
    (S::New, "send_letter", S::LetterSent),
    (S::LetterSent, "send_letter", S::LetterSent),
    (S::LetterSent, "record_acknowledgement", S::Acknowledged),
    (S::New, "close", S::Closed),
    (S::LetterSent, "close", S::Closed),
    (S::Acknowledged, "close", S::Closed),
    (S::Closed, "reopen", S::New),
    (S::New, "add_note", S::New),
    (S::LetterSent, "add_note", S::LetterSent),
    (S::Acknowledged, "add_note", S::Acknowledged),
    (S::Closed, "add_note", S::Closed),
];

#[test]
fn transition_table_matches_the_specification_in_every_cell() {
    for from in S::ALL {
        for kind in ChronicEventKind::ALL {
            let expected = SPEC_EDGES.iter().find(|(f, k, _)| *f == from && *k == kind.as_str()).map(|(_, _, to)| *to);
            assert_eq!(target(from, kind), expected, "{from:?} --{kind:?}-->");
        }
    }
}

/// Who the specification lets do what (coordinators run the pathway; radiologists close what
/// the images do not support; administrators reopen; surgeons have no part in it).
#[test]
fn roles_cell_by_cell() {
    use ChronicEventKind as E;
    let cases: &[(E, Role, bool)] = &[
        (E::SendLetter, Role::Coordinator, true),
        (E::SendLetter, Role::Radiologist, false),
        (E::SendLetter, Role::Admin, false),
        (E::SendLetter, Role::Surgeon, false),
        (E::RecordAcknowledgement, Role::Coordinator, true),
        (E::RecordAcknowledgement, Role::Admin, false),
        (E::Close, Role::Coordinator, true),
        (E::Close, Role::Radiologist, true),
        (E::Close, Role::Admin, false),
        (E::Close, Role::Surgeon, false),
        (E::Reopen, Role::Coordinator, true),
        (E::Reopen, Role::Admin, true),
        (E::Reopen, Role::Radiologist, false),
        (E::AddNote, Role::Radiologist, true),
        (E::AddNote, Role::Admin, true),
        (E::AddNote, Role::Surgeon, false),
    ];
    for (kind, role, allowed) in cases {
        assert_eq!(roles_for(*kind).contains(role), *allowed, "{kind:?} by {role:?}");
    }
}

#[test]
fn closing_as_not_supported_is_the_radiologists_call_and_other_needs_a_note() {
    let close = |reason, note: Option<&str>| ChronicEvent::Close { reason, note: note.map(str::to_owned) };
    assert_eq!(
        apply(S::New, &close(CloseReason::NotSupportedOnReview, None), &[Role::Coordinator]),
        Err(Refusal::RoleMayNot { event: ChronicEventKind::Close })
    );
    assert_eq!(apply(S::New, &close(CloseReason::NotSupportedOnReview, None), &[Role::Radiologist]), Ok(S::Closed));
    assert_eq!(
        apply(S::New, &close(CloseReason::ManagedByPhysician, None), &[Role::Radiologist]),
        Err(Refusal::RoleMayNot { event: ChronicEventKind::Close })
    );
    assert!(matches!(
        apply(S::Acknowledged, &close(CloseReason::Other, None), &[Role::Coordinator]),
        Err(Refusal::Invalid { field: "note", .. })
    ));
    assert_eq!(
        apply(S::Acknowledged, &close(CloseReason::Other, Some("Moved away")), &[Role::Coordinator]),
        Ok(S::Closed)
    );
}

#[test]
fn payloads_are_checked() {
    let coordinator = &[Role::Coordinator];
    let letter = |p: &str| ChronicEvent::SendLetter { physician: p.to_owned() };
    assert!(matches!(apply(S::New, &letter(""), coordinator), Err(Refusal::Invalid { field: "physician", .. })));
    let refusal = apply(S::New, &letter(""), coordinator).expect_err("refused");
    assert_eq!((refusal.said().en, refusal.said().zh), (refusal.to_string(), "physician：必填".to_owned()));
    assert!(matches!(
        apply(S::New, &letter(&"x".repeat(MAX_PHYSICIAN + 1)), coordinator),
        Err(Refusal::Invalid { field: "physician", .. })
    ));
    assert!(matches!(apply(S::New, &letter("Dr\u{0}"), coordinator), Err(Refusal::Invalid { field: "physician", .. })));
    assert_eq!(apply(S::New, &letter(&"x".repeat(MAX_PHYSICIAN)), coordinator), Ok(S::LetterSent));
    let reopen = ChronicEvent::Reopen { reason: String::new() };
    assert!(matches!(apply(S::Closed, &reopen, &[Role::Admin]), Err(Refusal::Invalid { field: "reason", .. })));
    let note = ChronicEvent::AddNote { text: " ".into() }.normalised();
    assert!(matches!(apply(S::New, &note, &[Role::Admin]), Err(Refusal::Invalid { field: "text", .. })));
}

#[test]
fn events_read_from_json_exactly() {
    let event: ChronicEvent =
        serde_json::from_str(r#"{"event":"send_letter","physician":"Dr. Lin, Riverside Practice"}"#).expect("valid");
    assert_eq!(event, ChronicEvent::SendLetter { physician: "Dr. Lin, Riverside Practice".into() });
    let close: ChronicEvent = serde_json::from_str(r#"{"event":"close","reason":"already_known"}"#).expect("valid");
    assert_eq!(close, ChronicEvent::Close { reason: CloseReason::AlreadyKnown, note: None });
    assert!(serde_json::from_str::<ChronicEvent>(r#"{"event":"close","reason":"fine"}"#).is_err());
    assert!(serde_json::from_str::<ChronicEvent>(r#"{"event":"send_letter","physician":"x","extra":1}"#).is_err());
    assert!(serde_json::from_str::<ChronicEvent>(r#"{"event":"delete"}"#).is_err());
}

// --- the rules, at each published boundary (hand-chosen values on both sides) ---

fn met(measured: Measured) -> Vec<(ChronicKind, Criterion)> {
    evaluate(&measured, &ChronicRules::default()).into_iter().map(|m| (m.kind, m.criterion)).collect()
}

#[test]
fn steatosis_below_40_hu_or_liver_minus_spleen_below_minus_10() {
    let liver = |liver, spleen| Measured { liver_hu: Some(liver), spleen_hu: spleen, ..Measured::default() };
    assert_eq!(met(liver(39.9, None)), [(ChronicKind::Steatosis, Criterion::LiverBelow)]);
    assert_eq!(met(liver(40.0, None)), []);
    // 45 - 55.1 = -10.1: below -10.
    assert_eq!(met(liver(45.0, Some(55.1))), [(ChronicKind::Steatosis, Criterion::LiverMinusSpleenBelow)]);
    // 45 - 55 = -10: not below.
    assert_eq!(met(liver(45.0, Some(55.0))), []);
    // Both hold: the liver criterion is named.
    assert_eq!(met(liver(30.0, Some(50.0))), [(ChronicKind::Steatosis, Criterion::LiverBelow)]);
    // The figure followed is the liver attenuation.
    let found = evaluate(&liver(45.0, Some(60.0)), &ChronicRules::default());
    assert_eq!(found[0].value, 45.0);
}

#[test]
fn bone_density_bands_at_110_and_160_hu() {
    let l1 = |hu| Measured { l1_trabecular_hu: Some(hu), ..Measured::default() };
    assert_eq!(met(l1(110.0)), [(ChronicKind::Osteoporosis, Criterion::OsteoporosisLikely)]);
    assert_eq!(met(l1(110.1)), [(ChronicKind::Osteoporosis, Criterion::LowBoneDensity)]);
    assert_eq!(met(l1(160.0)), [(ChronicKind::Osteoporosis, Criterion::LowBoneDensity)]);
    assert_eq!(met(l1(160.1)), []);
    assert_eq!(met(l1(-20.0)), [(ChronicKind::Osteoporosis, Criterion::OsteoporosisLikely)]);
}

#[test]
fn coronary_calcium_strictly_above_the_volume_cut_off() {
    let calcium = |mm3| Measured { coronary_calcium_mm3: Some(mm3), ..Measured::default() };
    assert_eq!(met(calcium(100.0)), []);
    assert_eq!(met(calcium(100.5)), [(ChronicKind::CoronaryCalcium, Criterion::CoronaryCalciumAbove)]);
    assert_eq!(met(calcium(0.0)), []);
}

#[test]
fn unmeasured_or_non_finite_values_raise_nothing() {
    assert_eq!(met(Measured::default()), []);
    let nan = Measured {
        liver_hu: Some(f64::NAN),
        spleen_hu: Some(50.0),
        l1_trabecular_hu: Some(f64::NEG_INFINITY),
        coronary_calcium_mm3: Some(f64::INFINITY),
    };
    assert_eq!(met(nan), []);
}

#[test]
fn all_three_at_once_in_kind_order() {
    let all = Measured {
        liver_hu: Some(31.0),
        spleen_hu: Some(52.0),
        l1_trabecular_hu: Some(96.0),
        coronary_calcium_mm3: Some(240.0),
    };
    assert_eq!(
        met(all),
        [
            (ChronicKind::Steatosis, Criterion::LiverBelow),
            (ChronicKind::Osteoporosis, Criterion::OsteoporosisLikely),
            (ChronicKind::CoronaryCalcium, Criterion::CoronaryCalciumAbove),
        ]
    );
}

#[test]
fn moved_cut_offs_apply() {
    let rules = ChronicRules { steatosis_liver_hu: 48.0, coronary_calcium_mm3: 0.0, ..ChronicRules::default() };
    let measured = Measured { liver_hu: Some(47.0), coronary_calcium_mm3: Some(0.5), ..Measured::default() };
    let kinds: Vec<ChronicKind> = evaluate(&measured, &rules).into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [ChronicKind::Steatosis, ChronicKind::CoronaryCalcium]);
}

#[test]
fn cut_off_ranges_and_order() {
    assert_eq!(ChronicRules::default().check(), Ok(()));
    let field = |rules: ChronicRules| rules.check().err().map(|r| r.field);
    let d = ChronicRules::default();
    assert_eq!(field(ChronicRules { steatosis_liver_hu: 19.9, ..d }), Some("steatosis_liver_hu"));
    assert_eq!(field(ChronicRules { steatosis_liver_hu: 60.0, ..d }), None);
    assert_eq!(field(ChronicRules { steatosis_liver_minus_spleen_hu: 10.0, ..d }), None);
    assert_eq!(
        field(ChronicRules { steatosis_liver_minus_spleen_hu: 10.1, ..d }),
        Some("steatosis_liver_minus_spleen_hu")
    );
    assert_eq!(field(ChronicRules { osteoporosis_l1_hu: f64::NAN, ..d }), Some("osteoporosis_l1_hu"));
    assert_eq!(field(ChronicRules { coronary_calcium_mm3: -1.0, ..d }), Some("coronary_calcium_mm3"));
    assert_eq!(field(ChronicRules { low_bone_density_l1_hu: 110.0, ..d }), Some("low_bone_density_l1_hu"));
    assert_eq!(field(ChronicRules { low_bone_density_l1_hu: 110.5, ..d }), None);
}

// --- walks through the pathway ---

fn any_role_set() -> impl Strategy<Value = Vec<Role>> {
    proptest::sample::subsequence(Role::ALL.to_vec(), 1..=2)
}

fn any_event() -> impl Strategy<Value = ChronicEvent> {
    let reason = proptest::sample::select(CloseReason::ALL.to_vec());
    prop_oneof![
        Just(ChronicEvent::SendLetter { physician: "Dr. Lin".into() }),
        Just(ChronicEvent::RecordAcknowledgement { note: None }),
        reason.prop_map(|reason| ChronicEvent::Close { reason, note: Some("note".into()) }),
        Just(ChronicEvent::Reopen { reason: "New measurement".into() }),
        Just(ChronicEvent::AddNote { text: "Called the practice.".into() }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random walks of valid events by random roles: every accepted step is an edge of the
    /// specification, every refused one leaves the state as it was, and an acknowledged finding
    /// has had a letter sent since it was last opened.
    #[test]
    fn walks_stay_on_the_specified_edges(steps in proptest::collection::vec((any_event(), any_role_set()), 1..40)) {
        let mut status = S::New;
        let mut letter_since_opened = false;
        for (event, roles) in steps {
            match apply(status, &event, &roles) {
                Ok(next) => {
                    let kind = event.kind().as_str();
                    prop_assert!(SPEC_EDGES.contains(&(status, kind, next)), "{status:?} --{kind}--> {next:?}");
                    match event.kind() {
                        ChronicEventKind::SendLetter => letter_since_opened = true,
                        ChronicEventKind::Reopen => letter_since_opened = false,
                        _ => {}
                    }
                    if next == S::Acknowledged {
                        prop_assert!(letter_since_opened);
                    }
                    status = next;
                }
                Err(Refusal::NotInThisState { status: at, .. }) => prop_assert_eq!(at, status),
                Err(_) => {}
            }
        }
    }
}

/// Every state is reachable by a coordinator from `new` (no dead corner in the table).
#[test]
fn a_coordinator_reaches_every_state() {
    let coordinator = &[Role::Coordinator];
    let mut status = S::New;
    let mut seen = vec![status];
    for event in [
        ChronicEvent::SendLetter { physician: "Dr. Lin".into() },
        ChronicEvent::RecordAcknowledgement { note: None },
        ChronicEvent::Close { reason: CloseReason::ManagedByPhysician, note: None },
        ChronicEvent::Reopen { reason: "Worse on the next scan".into() },
    ] {
        status = apply(status, &event, coordinator).expect("allowed");
        seen.push(status);
    }
    assert_eq!(seen, [S::New, S::LetterSent, S::Acknowledged, S::Closed, S::New]);
    assert_eq!(available(S::Closed, coordinator), [ChronicEventKind::Reopen, ChronicEventKind::AddNote]);
}
