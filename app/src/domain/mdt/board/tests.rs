use proptest::prelude::*;
use time::macros::date;

use super::*;

const SURGEON: &[Role] = &[Role::Surgeon];
const COORDINATOR: &[Role] = &[Role::Coordinator];
const RADIOLOGIST: &[Role] = &[Role::Radiologist];

fn lung() -> Frame {
    Frame { cancer: Cancer::Lung, edition: Edition::Ajcc8, histology: None, subsite: None }
}

fn proposed() -> Proposed<'static> {
    Proposed { t: Some("T2a"), n: Some("N0"), m: Some("M0") }
}

fn review() -> Review {
    Review {
        t: CategoryReview::accept(),
        n: CategoryReview::accept(),
        m: CategoryReview::accept(),
        recommendation: Treatment::UpfrontResection,
        note: None,
        guideline_refs: None,
        amendment_reason: None,
    }
}

fn overridden(category: &str, reason: &str) -> CategoryReview {
    CategoryReview::Override { category: category.into(), reason: reason.into() }
}

#[test]
fn the_transition_table() {
    use CaseStatus::*;
    let table = [
        (AwaitingReview, Action::Review, &[AwaitingSignatures][..]),
        (AwaitingSignatures, Action::Review, &[AwaitingSignatures]),
        (Decided, Action::Review, &[AwaitingSignatures]),
        (AwaitingReview, Action::Sign, &[]),
        (AwaitingSignatures, Action::Sign, &[AwaitingSignatures, Decided]),
        (Decided, Action::Sign, &[]),
        (AwaitingReview, Action::RecordTreatment, &[]),
        (AwaitingSignatures, Action::RecordTreatment, &[]),
        (Decided, Action::RecordTreatment, &[Decided]),
        (AwaitingReview, Action::Measure, &[AwaitingReview]),
        (AwaitingSignatures, Action::Measure, &[AwaitingSignatures]),
        (Decided, Action::Measure, &[Decided]),
    ];
    for (status, action, expected) in table {
        assert_eq!(targets(status, action), expected, "{status:?} {action}");
    }
}

#[test]
fn only_surgeons_decide_and_sign_and_only_radiologists_measure() {
    assert_eq!(
        decide(CaseStatus::AwaitingReview, COORDINATOR, lung(), &proposed(), &review()),
        Err(Refusal::RoleMayNot { action: Action::Review })
    );
    assert!(decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &review()).is_ok());
    assert_eq!(
        permitted(CaseStatus::AwaitingReview, Action::Measure, SURGEON),
        Err(Refusal::RoleMayNot { action: Action::Measure })
    );
    assert_eq!(permitted(CaseStatus::AwaitingReview, Action::Measure, RADIOLOGIST), Ok(()));
    let facts = SignFacts {
        status: CaseStatus::AwaitingSignatures,
        roles: RADIOLOGIST,
        already_signed: false,
        signatures: 0,
        quorum: 2,
    };
    assert_eq!(sign(&facts), Err(Refusal::RoleMayNot { action: Action::Sign }));
}

#[test]
fn accepting_everything_stages_the_proposal() {
    let decision = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &review()).expect("present");
    assert_eq!((decision.t.as_str(), decision.n.as_str(), decision.m.as_str()), ("T2a", "N0", "M0"));
    assert_eq!(decision.stage_group.as_deref(), Some("IB"));
    assert_eq!((decision.t_reason, decision.n_reason, decision.m_reason), (None, None, None));
}

#[test]
fn an_override_needs_a_reason_and_a_valid_category_and_changes_the_group() {
    let mut r = review();
    r.n = overridden("N1", "  ");
    let refusal = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).expect_err("refused");
    assert_eq!(
        refusal,
        Refusal::Invalid { field: "n", message: said!("an override needs a reason", "修改分类须说明理由") }
    );
    assert_eq!(refusal.said().en, refusal.to_string(), "said() speaks Display's English");
    assert_eq!(refusal.said().zh, "n：修改分类须说明理由");

    r.n = overridden("N4", "PET");
    let refusal = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).expect_err("refused");
    assert!(
        matches!(&refusal, Refusal::Invalid { field: "n", message } if message.en.contains("valid: NX, N0, N1, N2, N3")),
        "{refusal}"
    );

    r.n = overridden("N0", "same");
    assert!(
        decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).is_err(),
        "an override equal to the proposal"
    );

    r.n = overridden("N1", "PET-CT shows an avid hilar node");
    let decision = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).expect("present");
    assert_eq!(decision.stage_group.as_deref(), Some("IIB"), "T2a N1 M0");
    assert_eq!(decision.n_reason.as_deref(), Some("PET-CT shows an avid hilar node"));
}

#[test]
fn a_missing_proposal_must_be_overridden() {
    let partial = Proposed { t: Some("T2a"), n: None, m: Some("M0") };
    let refusal = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &partial, &review()).expect_err("refused");
    assert_eq!(refusal.code(), "invalid");
    let mut r = review();
    r.n = overridden("N2", "EBUS: station 7 positive");
    assert_eq!(
        decide(CaseStatus::AwaitingReview, SURGEON, lung(), &partial, &r).expect("present").stage_group.as_deref(),
        Some("IIIA")
    );
}

#[test]
fn the_recommendation_must_be_an_option_for_the_cancer() {
    let mut r = review();
    r.recommendation = Treatment::TotalLaryngectomy;
    let refusal = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).expect_err("refused");
    assert!(matches!(refusal, Refusal::Invalid { field: "recommendation", .. }));
}

#[test]
fn amending_a_signed_decision_needs_a_reason_and_first_reviews_may_not_claim_one() {
    let refusal = decide(CaseStatus::Decided, SURGEON, lung(), &proposed(), &review()).expect_err("refused");
    assert!(matches!(refusal, Refusal::Invalid { field: "amendment_reason", .. }));
    let mut r = review();
    r.amendment_reason = Some("Pathology after resection: visceral pleural invasion".into());
    assert!(decide(CaseStatus::Decided, SURGEON, lung(), &proposed(), &r).is_ok());
    assert!(decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &r).is_err());
}

#[test]
fn esophagus_is_decided_in_its_histology() {
    let frame = Frame {
        cancer: Cancer::Esophagus,
        edition: Edition::Ajcc8,
        histology: Some(Histology::Squamous),
        subsite: None,
    };
    let p = Proposed { t: Some("T3"), n: Some("N1"), m: Some("M0") };
    let mut r = review();
    r.recommendation = Treatment::NeoadjuvantChemoradiotherapyThenSurgery;
    let decision = decide(CaseStatus::AwaitingReview, SURGEON, frame, &p, &r).expect("present");
    assert_eq!(decision.stage_group.as_deref(), Some("III"));
}

#[test]
fn the_quorum_locks_the_decision() {
    let facts = |signatures, already_signed| SignFacts {
        status: CaseStatus::AwaitingSignatures,
        roles: SURGEON,
        already_signed,
        signatures,
        quorum: 2,
    };
    assert_eq!(sign(&facts(0, false)), Ok(CaseStatus::AwaitingSignatures));
    assert_eq!(sign(&facts(1, false)), Ok(CaseStatus::Decided));
    assert_eq!(sign(&facts(1, true)), Err(Refusal::AlreadySigned));
    let decided = SignFacts { status: CaseStatus::Decided, ..facts(2, false) };
    assert_eq!(sign(&decided), Err(Refusal::NotInThisState { action: Action::Sign, status: CaseStatus::Decided }));
    let refusal = Refusal::NotInThisState { action: Action::Sign, status: CaseStatus::Decided };
    assert_eq!(refusal.said().en, "`sign` is not possible while the case is decided");
    assert_eq!(refusal.said().zh, "病例处于“已决议”状态，不能执行“签署”");
    let quorum_one = SignFacts { quorum: 1, ..facts(0, false) };
    assert_eq!(sign(&quorum_one), Ok(CaseStatus::Decided));
}

#[test]
fn treatment_started_is_checked_against_the_recommendation() {
    let started = |treatment, deviation_reason: Option<&str>| TreatmentStarted {
        treatment,
        started_on: date!(2026 - 11 - 20),
        deviation_reason: deviation_reason.map(str::to_owned),
    };
    let check = |s: &TreatmentStarted| {
        record_treatment(
            CaseStatus::Decided,
            COORDINATOR,
            Cancer::Lung,
            Treatment::UpfrontResection,
            date!(2026 - 11 - 01),
            date!(2026 - 12 - 01),
            s,
        )
    };
    assert!(check(&started(Treatment::UpfrontResection, None)).is_ok());
    let deviation = check(&started(Treatment::StereotacticRadiotherapy, None)).expect_err("refused");
    assert!(matches!(deviation, Refusal::Invalid { field: "deviation_reason", .. }));
    assert!(check(&started(Treatment::StereotacticRadiotherapy, Some("The patient declined surgery"))).is_ok());
    let mut future = started(Treatment::UpfrontResection, None);
    future.started_on = date!(2026 - 12 - 02);
    assert!(check(&future).is_err());
    let mut early = started(Treatment::UpfrontResection, None);
    early.started_on = date!(2026 - 10 - 31);
    assert!(check(&early).is_err());
    assert!(check(&started(Treatment::TotalLaryngectomy, Some("x"))).is_err(), "not a lung treatment");
}

#[test]
fn the_diff_names_what_changed() {
    let before = decide(CaseStatus::AwaitingReview, SURGEON, lung(), &proposed(), &review()).expect("present");
    let mut r = review();
    r.n = overridden("N2", "mediastinoscopy");
    r.amendment_reason = Some("mediastinoscopy result".into());
    let after = decide(CaseStatus::Decided, SURGEON, lung(), &proposed(), &r).expect("present");
    let changed: Vec<_> =
        diff(&before, &after).into_iter().map(|(field, a, b)| format!("{field}: {a} -> {b}")).collect();
    assert_eq!(changed, ["n: N0 -> N2", "stage_group: IB -> IIIA"]);
}

#[test]
fn a_review_parses_from_its_json_form() {
    let accept: CategoryReview = serde_json::from_str(r#""accept""#).expect("present");
    assert_eq!(accept, CategoryReview::accept());
    let over: CategoryReview = serde_json::from_str(r#"{"override":"N2","reason":"EBUS"}"#).expect("present");
    assert_eq!(over, overridden("N2", "EBUS"));
    assert!(serde_json::from_str::<CategoryReview>(r#""acept""#).is_err());
}

#[derive(Debug, Clone)]
enum Step {
    Review,
    Amend,
    Sign(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![Just(Step::Review), Just(Step::Amend), (0u8..4).prop_map(Step::Sign)]
}

proptest! {
    /// Whatever surgeons do in whatever order, a case is decided exactly when the current
    /// version holds the quorum of distinct signatures, and every review starts a version that
    /// nobody has signed.
    #[test]
    fn decided_exactly_when_the_quorum_signed_the_current_version(steps in prop::collection::vec(step(), 1..40), quorum in 1u32..4) {
        let mut status = CaseStatus::AwaitingReview;
        let mut signers: Vec<u8> = Vec::new();
        for s in steps {
            match s {
                Step::Review | Step::Amend => {
                    let mut r = review();
                    if matches!(s, Step::Amend) { r.amendment_reason = Some("new facts".into()); }
                    if let Ok(_decision) = decide(status, SURGEON, lung(), &proposed(), &r) {
                        status = CaseStatus::AwaitingSignatures;
                        signers.clear();
                    }
                }
                Step::Sign(who) => {
                    let facts = SignFacts { status, roles: SURGEON, already_signed: signers.contains(&who), signatures: signers.len() as u32, quorum };
                    if let Ok(next) = sign(&facts) {
                        signers.push(who);
                        status = next;
                    }
                }
            }
            prop_assert_eq!(status == CaseStatus::Decided, signers.len() as u32 >= quorum);
            let mut distinct = signers.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), signers.len());
        }
    }
}
