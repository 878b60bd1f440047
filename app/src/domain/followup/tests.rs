//! The lifecycle against the specification, written out independently of the table.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use time::macros::date;

use super::event::*;
use super::lifecycle::*;
use super::status::FindingStatus;
use crate::domain::organs::Organ;
use crate::domain::roles::Role;

use FindingStatus as S;

/// Every state-changing edge the specification allows, as (from, event, to).
const SPEC_EDGES: &[(S, &str, S)] = &[
    (S::New, "start_review", S::InReview),
    (S::InReview, "dismiss", S::Dismissed),
    (S::InReview, "order_workup", S::WorkupOrdered),
    (S::WorkupOrdered, "schedule_workup", S::WorkupScheduled),
    (S::WorkupScheduled, "schedule_workup", S::WorkupScheduled),
    (S::WorkupScheduled, "complete_workup", S::WorkupDone),
    (S::WorkupDone, "record_outcome", S::ConfirmedMalignant),
    (S::WorkupDone, "record_outcome", S::Benign),
    (S::WorkupDone, "record_outcome", S::NoLesion),
    (S::ConfirmedMalignant, "refer_to_mdt", S::ReferredToMdt),
];
const OPEN: &[S] = &[S::New, S::InReview, S::WorkupOrdered, S::WorkupScheduled, S::WorkupDone];
const CLOSED: &[S] =
    &[S::Dismissed, S::ConfirmedMalignant, S::Benign, S::NoLesion, S::Declined, S::LostToFollowup, S::ReferredToMdt];

/// Whether the specification allows `from --kind--> to`.
fn spec_allows(from: S, kind: EventKind, to: S) -> bool {
    let name = kind.as_str();
    SPEC_EDGES.contains(&(from, name, to))
        || (name == "mark_declined" && OPEN.contains(&from) && to == S::Declined)
        || (name == "mark_lost" && OPEN.contains(&from) && to == S::LostToFollowup)
        || (name == "reopen" && CLOSED.contains(&from) && to == S::InReview)
        || (matches!(name, "record_contact_attempt" | "assign") && OPEN.contains(&from) && to == from)
        || (name == "add_note" && to == from)
        || (name == "set_surveillance" && matches!(from, S::Benign | S::NoLesion | S::Dismissed) && to == from)
}

/// Cell by cell: the table's answer for every (state, event) equals the specification's.
#[test]
fn transition_table_matches_the_specification_in_every_cell() {
    for from in S::ALL {
        for kind in EventKind::ALL {
            let expected: Vec<S> = S::ALL.into_iter().filter(|to| spec_allows(from, kind, *to)).collect();
            let mut actual = targets(from, kind).to_vec();
            actual.sort();
            assert_eq!(actual, expected, "{from:?} --{kind:?}-->");
        }
    }
}

const TODAY: time::Date = date!(2026 - 11 - 26);

fn facts(roles: &[Role]) -> Facts<'_> {
    Facts {
        organ: Organ::Colorectal,
        today: TODAY,
        detected_on: date!(2026 - 11 - 01),
        unsuccessful_contacts: 0,
        contacts_before_lost: 3,
        roles,
    }
}

/// A valid example of each event, for a colorectal finding.
fn example(kind: EventKind) -> FindingEvent {
    match kind {
        EventKind::StartReview => FindingEvent::StartReview,
        EventKind::Dismiss => FindingEvent::Dismiss { reason: DismissReason::Duplicate, note: None },
        EventKind::OrderWorkup => FindingEvent::OrderWorkup {
            modality: WorkupModality::Colonoscopy,
            due_date: date!(2026 - 12 - 10),
            responsible: Some("Dr Gale".into()),
        },
        EventKind::ScheduleWorkup => FindingEvent::ScheduleWorkup { date: date!(2026 - 12 - 05), site: None },
        EventKind::CompleteWorkup => FindingEvent::CompleteWorkup { summary: None },
        EventKind::RecordOutcome => FindingEvent::RecordOutcome {
            outcome: Outcome::ConfirmedMalignant,
            confirmed_by: Some(ConfirmedBy::Pathology),
            diagnosis: Some("Adenocarcinoma".into()),
            date: date!(2026 - 11 - 20),
        },
        EventKind::RecordContactAttempt => FindingEvent::RecordContactAttempt {
            channel: ContactChannel::Phone,
            result: ContactResult::NoAnswer,
            note: None,
        },
        EventKind::MarkDeclined => FindingEvent::MarkDeclined { note: None },
        EventKind::MarkLost => FindingEvent::MarkLost,
        EventKind::ReferToMdt => FindingEvent::ReferToMdt,
        EventKind::Reopen => FindingEvent::Reopen { reason: "new information".into() },
        EventKind::Assign => FindingEvent::Assign { assignee: Some("cora".into()) },
        EventKind::AddNote => FindingEvent::AddNote { text: "called GP".into() },
        EventKind::SetSurveillance => FindingEvent::SetSurveillance { months: Some(12), note: None },
    }
}

fn arb_event() -> impl Strategy<Value = FindingEvent> {
    let outcome = prop_oneof![Just(Outcome::ConfirmedMalignant), Just(Outcome::Benign), Just(Outcome::NoLesion)];
    prop_oneof![
        proptest::sample::select(EventKind::ALL.to_vec()).prop_map(example),
        outcome.prop_map(|outcome| FindingEvent::RecordOutcome {
            outcome,
            confirmed_by: Some(ConfirmedBy::Imaging),
            diagnosis: Some("x".into()),
            date: TODAY,
        }),
    ]
}

fn arb_roles() -> impl Strategy<Value = Vec<Role>> {
    proptest::sample::subsequence(Role::ALL.to_vec(), 0..=4)
}

/// One step of a walk: with `follow`, an event the specification allows in the current state
/// (picked by `pick`), else `blind` (any event at all); by `roles`, with `contacts` unsuccessful
/// contact attempts so far.
#[derive(Debug, Clone)]
struct Step {
    follow: bool,
    pick: usize,
    blind: FindingEvent,
    outcome: Outcome,
    roles: Vec<Role>,
    contacts: u32,
}

fn arb_step() -> impl Strategy<Value = Step> {
    let outcome = prop_oneof![Just(Outcome::ConfirmedMalignant), Just(Outcome::Benign), Just(Outcome::NoLesion)];
    // Mostly the roles that may act (coordinator or radiologist among them), sometimes any mix.
    let roles = prop_oneof![
        3 => proptest::sample::select(vec![vec![Role::Coordinator], vec![Role::Radiologist], vec![Role::Coordinator, Role::Admin]]),
        1 => arb_roles(),
    ];
    (proptest::bool::weighted(0.85), any::<usize>(), arb_event(), outcome, roles, 0u32..5).prop_map(
        |(follow, pick, blind, outcome, roles, contacts)| Step { follow, pick, blind, outcome, roles, contacts },
    )
}

/// The event a step records in `status`.
fn step_event(step: &Step, status: S) -> FindingEvent {
    if !step.follow {
        return step.blind.clone();
    }
    let allowed: Vec<EventKind> =
        EventKind::ALL.into_iter().filter(|k| S::ALL.iter().any(|to| spec_allows(status, *k, *to))).collect();
    match allowed[step.pick % allowed.len()] {
        EventKind::RecordOutcome => FindingEvent::RecordOutcome {
            outcome: step.outcome,
            confirmed_by: Some(ConfirmedBy::Pathology),
            diagnosis: Some("x".into()),
            date: TODAY,
        },
        kind => example(kind),
    }
}

/// Runs a walk; returns every state it passed through. Each accepted event must be an edge of the
/// specification, by a role the specification names; a refused one changes nothing.
fn walk(steps: &[Step]) -> Result<Vec<S>, TestCaseError> {
    let mut status = S::New;
    let mut visited = vec![status];
    for step in steps {
        let event = step_event(step, status);
        let mut facts = facts(&step.roles);
        facts.unsuccessful_contacts = step.contacts;
        if let Ok(next) = apply(status, &event, &facts) {
            prop_assert!(spec_allows(status, event.kind(), next), "{status:?} --{:?}--> {next:?}", event.kind());
            prop_assert!(
                spec_roles(event.kind()).iter().any(|r| step.roles.contains(r)),
                "{:?} by {:?}",
                event.kind(),
                step.roles
            );
            status = next;
            visited.push(status);
        }
    }
    Ok(visited)
}

/// The walks reach every state of the lifecycle, the deep ones included: a property that held
/// only near `new` would prove little. (A fixed seed: the same commit, the same verdict.)
#[test]
fn the_walks_reach_every_state() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(arb_step(), 0..40);
    let mut reached = std::collections::BTreeMap::<S, usize>::new();
    for _ in 0..512 {
        let steps = strategy.new_tree(&mut runner).expect("steps").current();
        for status in walk(&steps).expect("within the specification") {
            *reached.entry(status).or_default() += 1;
        }
    }
    for status in S::ALL {
        assert!(reached.get(&status).copied().unwrap_or(0) >= 5, "{status:?} reached too rarely: {reached:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// No event sequence, by any mix of roles and with any number of contact attempts, reaches a
    /// state by an edge the specification does not allow; refused events change nothing. The walks
    /// mostly follow the events the specification allows in the current state, so they go deep
    /// (see `the_walks_reach_every_state`), and sometimes try any event at all.
    #[test]
    fn no_event_sequence_leaves_the_specification(steps in proptest::collection::vec(arb_step(), 0..40)) {
        walk(&steps)?;
    }

    /// A closed finding changes state only by `reopen` (or, once confirmed, `refer_to_mdt`).
    #[test]
    fn closed_findings_only_leave_by_reopening_or_mdt_referral(event in arb_event()) {
        for from in CLOSED {
            let roles = Role::ALL;
            if let Ok(next) = apply(*from, &event, &facts(&roles))
                && next != *from
            {
                prop_assert!(matches!(event.kind(), EventKind::Reopen | EventKind::ReferToMdt));
            }
        }
    }
}

#[test]
fn the_happy_path_reaches_the_mdt() {
    let roles = [Role::Coordinator];
    let mut status = S::New;
    for kind in [
        EventKind::StartReview,
        EventKind::OrderWorkup,
        EventKind::ScheduleWorkup,
        EventKind::CompleteWorkup,
        EventKind::RecordOutcome,
        EventKind::ReferToMdt,
    ] {
        status = apply(status, &example(kind), &facts(&roles)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
    assert_eq!(status, S::ReferredToMdt);
}

/// Who may perform each event, role by role.
#[test]
fn permissions_per_role() {
    use EventKind as E;
    let expect = |kind: EventKind| -> Vec<Role> {
        match kind {
            E::AddNote => Role::ALL.to_vec(),
            E::Reopen | E::Assign => vec![Role::Coordinator, Role::Radiologist, Role::Admin],
            _ => vec![Role::Coordinator, Role::Radiologist],
        }
    };
    for kind in EventKind::ALL {
        for role in Role::ALL {
            assert_eq!(roles_for(kind).contains(&role), expect(kind).contains(&role), "{kind:?} by {role:?}");
        }
    }
}

#[test]
fn surgeons_and_admins_cannot_make_clinical_follow_up_decisions() {
    for roles in [[Role::Surgeon], [Role::Admin]] {
        let refused = apply(S::New, &FindingEvent::StartReview, &facts(&roles));
        assert!(matches!(refused, Err(Refusal::RoleMayNot { .. })), "{roles:?}");
        let refused = apply(S::WorkupDone, &example(EventKind::RecordOutcome), &facts(&roles));
        assert!(matches!(refused, Err(Refusal::RoleMayNot { .. })), "{roles:?}");
    }
}

#[test]
fn image_based_dismissal_reasons_are_a_radiologists_call() {
    for reason in DismissReason::ALL {
        let event = FindingEvent::Dismiss { reason: *reason, note: Some("see images".into()) };
        let by_coordinator = apply(S::InReview, &event, &facts(&[Role::Coordinator]));
        let by_radiologist = apply(S::InReview, &event, &facts(&[Role::Radiologist]));
        assert_eq!(by_radiologist, Ok(S::Dismissed), "{reason:?}");
        // The specification's list, written out here rather than asked of the code.
        let radiologists_call = matches!(
            reason,
            DismissReason::ImagingArtefact | DismissReason::BenignAppearance | DismissReason::AiFalsePositive
        );
        if radiologists_call {
            assert!(matches!(by_coordinator, Err(Refusal::RoleMayNot { .. })), "{reason:?}");
        } else {
            assert_eq!(by_coordinator, Ok(S::Dismissed), "{reason:?}");
        }
    }
}

#[test]
fn payload_rules() {
    let roles = [Role::Radiologist];
    let f = facts(&roles);
    let invalid = |status, event: FindingEvent| match apply(status, &event, &f) {
        Err(Refusal::Invalid { field, .. }) => field,
        other => panic!("expected a payload refusal, got {other:?}"),
    };
    assert_eq!(invalid(S::InReview, FindingEvent::Dismiss { reason: DismissReason::Other, note: None }), "note");
    assert_eq!(
        invalid(
            S::InReview,
            FindingEvent::OrderWorkup {
                modality: WorkupModality::Endoscopy,
                due_date: date!(2026 - 12 - 10),
                responsible: None
            }
        ),
        "modality"
    );
    assert_eq!(
        invalid(
            S::InReview,
            FindingEvent::OrderWorkup {
                modality: WorkupModality::Biopsy,
                due_date: date!(2026 - 11 - 25),
                responsible: None
            }
        ),
        "due_date"
    );
    assert_eq!(
        invalid(
            S::InReview,
            FindingEvent::OrderWorkup {
                modality: WorkupModality::Biopsy,
                due_date: date!(2028 - 01 - 01),
                responsible: None
            }
        ),
        "due_date"
    );
    assert_eq!(
        invalid(S::WorkupOrdered, FindingEvent::ScheduleWorkup { date: date!(2026 - 10 - 01), site: None }),
        "date"
    );
    let outcome = |outcome, confirmed_by, diagnosis: Option<&str>, date| FindingEvent::RecordOutcome {
        outcome,
        confirmed_by,
        diagnosis: diagnosis.map(str::to_owned),
        date,
    };
    assert_eq!(invalid(S::WorkupDone, outcome(Outcome::ConfirmedMalignant, None, Some("ca"), TODAY)), "confirmed_by");
    assert_eq!(
        invalid(S::WorkupDone, outcome(Outcome::ConfirmedMalignant, Some(ConfirmedBy::Imaging), None, TODAY)),
        "diagnosis"
    );
    assert_eq!(invalid(S::WorkupDone, outcome(Outcome::Benign, None, None, TODAY)), "diagnosis");
    assert_eq!(invalid(S::WorkupDone, outcome(Outcome::NoLesion, None, None, date!(2026 - 11 - 27))), "date");
    assert_eq!(apply(S::WorkupDone, &outcome(Outcome::NoLesion, None, None, TODAY), &f), Ok(S::NoLesion));
    assert_eq!(invalid(S::Dismissed, FindingEvent::Reopen { reason: String::new() }), "reason");
    assert_eq!(invalid(S::New, FindingEvent::AddNote { text: "x".repeat(MAX_TEXT + 1) }), "text");
    assert_eq!(invalid(S::New, FindingEvent::AddNote { text: "bell\u{7}".into() }), "text");
}

#[test]
fn lost_to_follow_up_needs_the_configured_number_of_unsuccessful_attempts() {
    let roles = [Role::Coordinator];
    let mut f = facts(&roles);
    for have in 0..3 {
        f.unsuccessful_contacts = have;
        assert_eq!(
            apply(S::WorkupOrdered, &FindingEvent::MarkLost, &f),
            Err(Refusal::TooFewContactAttempts { have, need: 3 })
        );
    }
    f.unsuccessful_contacts = 3;
    assert_eq!(apply(S::WorkupOrdered, &FindingEvent::MarkLost, &f), Ok(S::LostToFollowup));
    f.contacts_before_lost = 5;
    assert!(apply(S::WorkupOrdered, &FindingEvent::MarkLost, &f).is_err());
}

/// Who may record each event, as the specification's table says (independent of `roles_for`).
fn spec_roles(kind: EventKind) -> &'static [Role] {
    const CLINICAL: &[Role] = &[Role::Coordinator, Role::Radiologist];
    const WITH_ADMIN: &[Role] = &[Role::Coordinator, Role::Radiologist, Role::Admin];
    match kind.as_str() {
        "reopen" | "assign" => WITH_ADMIN,
        "add_note" => &Role::ALL,
        _ => CLINICAL,
    }
}

#[test]
fn the_ui_offers_exactly_what_the_specification_allows_by_state_and_role() {
    for status in S::ALL {
        for role in Role::ALL {
            let offered = available(status, &[role]);
            for kind in EventKind::ALL {
                let allowed =
                    S::ALL.iter().any(|to| spec_allows(status, kind, *to)) && spec_roles(kind).contains(&role);
                assert_eq!(offered.contains(&kind), allowed, "{status:?} {kind:?} {role:?}");
            }
        }
    }
    assert_eq!(available(S::ReferredToMdt, &[Role::Surgeon]), vec![EventKind::AddNote]);
}

#[test]
fn refusals_read_well() {
    let refusal = apply(S::Dismissed, &FindingEvent::StartReview, &facts(&[Role::Coordinator])).expect_err("refused");
    assert_eq!(refusal.to_string(), "`start_review` is not possible while the finding is dismissed");
}

#[test]
fn surveillance_intervals_are_one_to_sixty_months_or_none() {
    let radiologist = [Role::Radiologist];
    let set = |months| FindingEvent::SetSurveillance { months, note: None };
    for (months, ok) in [(Some(0), false), (Some(1), true), (Some(60), true), (Some(61), false), (None, true)] {
        assert_eq!(apply(S::Benign, &set(months), &facts(&radiologist)).is_ok(), ok, "{months:?}");
    }
    assert!(matches!(
        apply(S::Benign, &set(Some(0)), &facts(&radiologist)),
        Err(Refusal::Invalid { field: "months", .. })
    ));
    // Not on an open finding, nor on a confirmed cancer (the board follows those).
    assert!(matches!(apply(S::InReview, &set(Some(12)), &facts(&radiologist)), Err(Refusal::NotInThisState { .. })));
    assert!(matches!(
        apply(S::ConfirmedMalignant, &set(Some(12)), &facts(&radiologist)),
        Err(Refusal::NotInThisState { .. })
    ));
    // The state stays: surveillance does not reopen the finding.
    assert_eq!(apply(S::NoLesion, &set(Some(6)), &facts(&[Role::Coordinator])), Ok(S::NoLesion));
    assert!(matches!(apply(S::Benign, &set(Some(6)), &facts(&[Role::Surgeon])), Err(Refusal::RoleMayNot { .. })));
}
