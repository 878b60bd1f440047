//! Tracking, growth and the edit rules against values worked out by hand from the stated rule
//! and the published formula, not from the code.

use proptest::prelude::*;

use super::*;

fn sighting(organ: &str, study: &str, at: [f64; 3], diameter_mm: f64) -> Sighting {
    Sighting { organ: organ.into(), study_uid: study.into(), aligned_mm: Some(at), diameter_mm }
}

fn track(id: i64, organ: &str, sightings: Vec<Sighting>) -> Candidate {
    Candidate { track: id, organ: organ.into(), sightings }
}

#[test]
fn tolerance_is_ten_millimetres_plus_half_the_larger_diameter() {
    assert_eq!(tolerance_mm(6.0, 10.0), 15.0);
    assert_eq!(tolerance_mm(10.0, 6.0), 15.0);
    assert_eq!(tolerance_mm(0.0, 0.0), 10.0);
    assert_eq!(tolerance_mm(40.0, 8.0), 30.0);
}

#[test]
fn a_sighting_within_tolerance_of_the_same_organ_joins_the_track() {
    let earlier = track(7, "lung", vec![sighting("lung", "1.1", [0.0, 0.0, 0.0], 6.0)]);
    // (6, 2, 12) mm away: sqrt(36 + 4 + 144) = 13.56 mm, within 15.
    let later = sighting("lung", "1.2", [6.0, 2.0, 12.0], 10.0);
    assert_eq!(assign(&later, std::slice::from_ref(&earlier)), Some(7));
    // 16 mm straight up is beyond 15.
    assert_eq!(assign(&sighting("lung", "1.2", [0.0, 0.0, 16.0], 10.0), &[earlier]), None);
}

#[test]
fn the_boundary_itself_still_matches() {
    let earlier = track(1, "liver", vec![sighting("liver", "a", [0.0, 0.0, 0.0], 20.0)]);
    assert_eq!(assign(&sighting("liver", "b", [20.0, 0.0, 0.0], 20.0), std::slice::from_ref(&earlier)), Some(1));
    assert_eq!(assign(&sighting("liver", "b", [20.001, 0.0, 0.0], 20.0), &[earlier]), None);
}

#[test]
fn another_organ_the_same_study_or_no_anchor_never_match() {
    let earlier = track(1, "liver", vec![sighting("liver", "a", [0.0, 0.0, 0.0], 20.0)]);
    assert_eq!(assign(&sighting("kidney", "b", [0.0, 0.0, 0.0], 20.0), std::slice::from_ref(&earlier)), None);
    assert_eq!(assign(&sighting("liver", "a", [1.0, 0.0, 0.0], 20.0), std::slice::from_ref(&earlier)), None);
    let unaligned = Sighting { aligned_mm: None, ..sighting("liver", "b", [0.0; 3], 20.0) };
    assert_eq!(assign(&unaligned, &[earlier]), None);
    // An earlier sighting without an anchor is no anchor to match against either.
    let blind = track(2, "liver", vec![Sighting { aligned_mm: None, ..sighting("liver", "a", [0.0; 3], 20.0) }]);
    assert_eq!(assign(&sighting("liver", "b", [0.0; 3], 20.0), &[blind]), None);
}

#[test]
fn the_nearest_track_wins_and_a_tie_goes_to_the_older() {
    let far = track(1, "lung", vec![sighting("lung", "a", [10.0, 0.0, 0.0], 8.0)]);
    let near = track(2, "lung", vec![sighting("lung", "a", [-4.0, 0.0, 0.0], 8.0)]);
    let new = sighting("lung", "b", [0.0, 0.0, 0.0], 8.0);
    assert_eq!(assign(&new, &[far.clone(), near.clone()]), Some(2));
    let twin = track(3, "lung", vec![sighting("lung", "a", [4.0, 0.0, 0.0], 8.0)]);
    assert_eq!(assign(&new, &[near, twin]), Some(2));
}

#[test]
fn a_track_matches_through_its_nearest_sighting_not_only_its_latest() {
    // A prior study filed late: it lies near the track's first sighting, not its last.
    let grown = track(
        4,
        "liver",
        vec![sighting("liver", "2019", [0.0, 0.0, 0.0], 10.0), sighting("liver", "2024", [40.0, 0.0, 0.0], 50.0)],
    );
    assert_eq!(assign(&sighting("liver", "2017", [3.0, 0.0, 0.0], 8.0), &[grown]), Some(4));
}

#[test]
fn volume_doubling_time_matches_the_formula_worked_by_hand() {
    // 8 mm → 16 mm: the volume grows eightfold, three doublings in 300 days: 100 days.
    assert!((doubling_time_days(8.0, 16.0, 300.0).expect("a value") - 100.0).abs() < 1e-9);
    // 10 mm → 12.6 mm in a year: V2/V1 = 1.26³ = 2.000376, ln 2 / ln 2.000376 = 0.999729,
    // so 365 × 0.999729 = 364.90 days.
    assert!((doubling_time_days(10.0, 12.6, 365.0).expect("a value") - 364.90).abs() < 0.01);
    assert_eq!(doubling_time_days(5.0, 5.0, 365.0), None, "no growth, no doubling time");
    assert_eq!(doubling_time_days(10.0, 8.0, 365.0), None, "shrinking");
    assert_eq!(doubling_time_days(8.0, 10.0, 0.0), None, "no interval");
    assert_eq!(doubling_time_days(0.0, 10.0, 100.0), None, "no first size");
    assert_eq!(doubling_time_days(f64::NAN, 10.0, 100.0), None);
}

#[test]
fn sphere_volume() {
    // π · 10³ / 6 = 523.599 mm³.
    assert!((volume_mm3(10.0) - 523.599).abs() < 0.001);
}

#[test]
fn nelson_categories_at_their_boundaries() {
    assert_eq!(NelsonCategory::of(399.9), NelsonCategory::Fast);
    assert_eq!(NelsonCategory::of(400.0), NelsonCategory::Indeterminate);
    assert_eq!(NelsonCategory::of(600.0), NelsonCategory::Indeterminate);
    assert_eq!(NelsonCategory::of(600.1), NelsonCategory::Slow);
}

#[test]
fn growth_between_two_sightings() {
    // 6 mm → 9 mm in 730 days: +3 mm, 3 × 365.25 / 730 = 1.50103 mm a year; volume × 3.375 (+237.5 %);
    // VDT = 730 · ln 2 / (3 ln 1.5) = 730 × 0.693147 / 1.216395 = 415.98 days: indeterminate.
    let g = growth_between("lung", 6.0, 9.0, 730);
    assert_eq!(g.diameter_change_mm, 3.0);
    assert!((g.diameter_mm_per_year.expect("a value") - 1.50103).abs() < 1e-5);
    assert!((g.volume_change_percent - 237.5).abs() < 1e-9);
    assert!((g.doubling_time_days.expect("a value") - 415.98).abs() < 0.01);
    assert_eq!(g.nelson, Some(NelsonCategory::Indeterminate));
    // The same growth in the liver has a VDT but no NELSON category.
    assert_eq!(growth_between("liver", 6.0, 9.0, 730).nelson, None);
    // The same day: no rate, no VDT.
    let same_day = growth_between("lung", 6.0, 9.0, 0);
    assert_eq!((same_day.diameter_mm_per_year, same_day.doubling_time_days), (None, None));
}

fn on_track(ids: &[(i64, &str)]) -> Vec<TrackSighting> {
    ids.iter().map(|(id, study)| TrackSighting { id: *id, study_uid: (*study).into() }).collect()
}

#[test]
fn split_refusals() {
    let two = on_track(&[(1, "a"), (2, "b")]);
    assert_eq!(check_split(&two, 2, "a different nodule"), Ok(()));
    assert_eq!(check_split(&two, 2, "  "), Err(EditRefusal::ReasonRequired));
    assert_eq!(check_split(&two, 2, &"x".repeat(2001)), Err(EditRefusal::ReasonTooLong));
    assert_eq!(check_split(&two, 3, "why"), Err(EditRefusal::NotOnTrack { sighting: 3 }));
    assert_eq!(check_split(&on_track(&[(1, "a")]), 1, "why"), Err(EditRefusal::OnlySighting));
}

#[test]
fn join_refusals() {
    let a = on_track(&[(1, "s1")]);
    let b = on_track(&[(2, "s2")]);
    assert_eq!(check_join((10, "lung", &a), (11, "lung", &b), "same nodule"), Ok(()));
    assert_eq!(check_join((10, "lung", &a), (10, "lung", &a), "x"), Err(EditRefusal::SameTrack));
    assert_eq!(
        check_join((10, "lung", &a), (11, "liver", &b), "x"),
        Err(EditRefusal::DifferentOrgans { first: "lung".into(), second: "liver".into() })
    );
    let clash = on_track(&[(3, "s1")]);
    assert_eq!(
        check_join((10, "lung", &a), (12, "lung", &clash), "x"),
        Err(EditRefusal::SameStudy { study_uid: "s1".into() })
    );
    assert_eq!(check_join((10, "lung", &a), (11, "lung", &b), ""), Err(EditRefusal::ReasonRequired));
}

fn arb_point() -> impl Strategy<Value = [f64; 3]> {
    [-200.0..200.0f64, -200.0..200.0f64, -300.0..300.0f64]
}

fn arb_sighting() -> impl Strategy<Value = Sighting> {
    (prop::sample::select(vec!["lung", "liver", "kidney"]), 0..4u8, arb_point(), 3.0..60.0f64)
        .prop_map(|(organ, study, at, d)| sighting(organ, &format!("study-{study}"), at, d))
}

fn arb_candidates() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec(
        (prop::sample::select(vec!["lung", "liver", "kidney"]), prop::collection::vec(arb_sighting(), 1..4)),
        0..6,
    )
    .prop_map(|tracks| {
        tracks.into_iter().enumerate().map(|(i, (organ, sightings))| track(i as i64, organ, sightings)).collect()
    })
}

proptest! {
    /// Whatever the tracks, a sighting joins one of its organ, without a sighting of its study,
    /// and within tolerance of one of its sightings.
    #[test]
    fn an_assignment_keeps_every_rule(new in arb_sighting(), candidates in arb_candidates()) {
        if let Some(id) = assign(&new, &candidates) {
            let chosen = candidates.iter().find(|c| c.track == id).expect("a value");
            prop_assert_eq!(&chosen.organ, &new.organ);
            prop_assert!(chosen.sightings.iter().all(|s| s.study_uid != new.study_uid));
            let within = chosen.sightings.iter().any(|s| {
                distance_mm(s.aligned_mm.expect("a value"), new.aligned_mm.expect("a value")) <= tolerance_mm(s.diameter_mm, new.diameter_mm)
            });
            prop_assert!(within);
        }
    }

    /// Moving every position by one vector (the anchor's job) changes no assignment beyond
    /// rounding at the tolerance's edge.
    #[test]
    fn assignment_ignores_a_common_translation(new in arb_sighting(), candidates in arb_candidates(), shift in arb_point()) {
        let moved = |s: &Sighting| Sighting { aligned_mm: s.aligned_mm.map(|p| [p[0] + shift[0], p[1] + shift[1], p[2] + shift[2]]), ..s.clone() };
        let near_edge = candidates.iter().flat_map(|c| &c.sightings).any(|s| {
            (distance_mm(s.aligned_mm.expect("a value"), new.aligned_mm.expect("a value")) - tolerance_mm(s.diameter_mm, new.diameter_mm)).abs() < 1e-6
        });
        prop_assume!(!near_edge);
        let shifted: Vec<Candidate> = candidates.iter().map(|c| Candidate { sightings: c.sightings.iter().map(moved).collect(), ..c.clone() }).collect();
        prop_assert_eq!(assign(&new, &candidates), assign(&moved(&new), &shifted));
    }

    /// Growing by the cube root of two in `days` is one doubling: the VDT is `days`.
    #[test]
    fn one_doubling_takes_the_interval(first in 2.0..80.0f64, days in 1.0..3000.0f64) {
        let vdt = doubling_time_days(first, first * 2f64.cbrt(), days).expect("a value");
        prop_assert!((vdt - days).abs() < 1e-6 * days);
    }

    /// Faster growth over the same interval means a shorter doubling time.
    #[test]
    fn faster_growth_doubles_sooner(first in 2.0..50.0f64, a in 1.01..3.0f64, b in 1.01..3.0f64, days in 1.0..2000.0f64) {
        prop_assume!((a - b).abs() > 1e-6);
        let (slow, fast) = if a < b { (a, b) } else { (b, a) };
        prop_assert!(doubling_time_days(first, first * fast, days) < doubling_time_days(first, first * slow, days));
    }
}
