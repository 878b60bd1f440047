//! The anatomical anchor: on one synthetic patient moved in the scanner (the phantoms'
//! `shift_mm`), and on volumes built here whose anchor is worked out by hand.

use elysium_phantom::{PhantomOptions, StagingOptions};

use super::tests::{Phantom, options, phantom};
use super::*;

/// The seed of the patient whose studies are compared: one whose body, moved by the largest
/// shift below, still lies inside the 380 mm field of view (checked in the test).
const SEED: u64 = 3;

fn study(dir: &std::path::Path, slices: u32, shift_mm: [f64; 3]) -> Phantom {
    phantom(dir, PhantomOptions { shift_mm, ..options(SEED, slices, &[]) }, &StagingOptions::default())
}

fn anchor(p: &Phantom) -> [f64; 3] {
    anatomical_anchor(&p.view()).unwrap_or_else(|e| panic!("an anchor: {e}")).point_mm
}

#[test]
fn anchor_moves_with_the_patient() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let still = study(&dir.path().join("still"), 100, [0.0; 3]);
    let reference = anchor(&still);
    let [pixel_x, pixel_y, slice] = still.volume.spacing;
    for shift in [[12.0, -9.0, 20.0], [-15.0, 6.0, -25.0]] {
        let moved = study(&dir.path().join(format!("{shift:?}")), 100, shift);
        // The body stays inside the image (a body cut by the field of view has another
        // centre): half the field of view, less a pixel, holds the half width plus the shift.
        let body = &moved.truth["body"];
        let half_fov = 190.0 - pixel_x;
        assert!(body["half_width_mm"].as_f64().expect("a width") + shift[0].abs() < half_fov);
        assert!(body["half_depth_mm"].as_f64().expect("a depth") + shift[1].abs() < half_fov);

        let found = anchor(&moved);
        let moved_by = [0, 1, 2].map(|i| found[i] - reference[i]);
        let tolerance = [pixel_x, pixel_y, slice];
        for i in 0..3 {
            assert!(
                (moved_by[i] - shift[i]).abs() <= tolerance[i],
                "shift {shift:?}: the anchor moved by {moved_by:?} ({reference:?} to {found:?})"
            );
        }
    }
}

/// Ten more millimetres scanned at each end (the same slice positions): the same anchor.
#[test]
fn anchor_does_not_depend_on_the_scan_range() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let shorter = anchor(&study(&dir.path().join("100"), 100, [0.0; 3]));
    let longer = anchor(&study(&dir.path().join("108"), 108, [0.0; 3]));
    for i in 0..3 {
        assert!((shorter[i] - longer[i]).abs() < 1e-9, "{shorter:?} vs {longer:?}");
    }
}

#[test]
fn anchor_needs_the_lung_base_in_the_scan() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // 20 slices (50 mm) about the middle of the body model, the patient 150 mm towards the head:
    // the pelvis, no lung.
    let pelvis = study(&dir.path().join("pelvis"), 20, [0.0, 0.0, 150.0]);
    assert_eq!(anatomical_anchor(&pelvis.view()), Err(AnchorUnmeasured::NoLungBase));
    // 150 mm towards the feet: the upper chest, lung down to the last slice.
    let chest = study(&dir.path().join("chest"), 20, [0.0, 0.0, -150.0]);
    assert_eq!(anatomical_anchor(&chest.view()), Err(AnchorUnmeasured::LungBaseNotInScan));
}

const AXIAL: [[f64; 3]; 3] = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];

/// A box body of soft tissue (0 HU, rows 8..=55, columns 4..=59 of 64 × 64 pixels of 4 mm,
/// in air) on 30 slices 5 mm apart, slice 0 the lowest; from slice 10 up, two lungs
/// (-850 HU) 20 rows tall whose width is 2, 4, 8, then 16 columns.
fn box_patient() -> Vec<i16> {
    let (n, size) = (30usize, 64usize);
    let mut voxels = vec![-1000i16; n * size * size];
    for k in 0..n {
        let width = match k {
            0..=9 => 0,
            10 => 2,
            11 => 4,
            12 => 8,
            _ => 16,
        };
        for r in 8..=55 {
            for c in 4..=59 {
                let lung = (20..40).contains(&r) && ((10..10 + width).contains(&c) || (36..36 + width).contains(&c));
                voxels[(k * size + r) * size + c] = if lung { -850 } else { 0 };
            }
        }
    }
    voxels
}

#[test]
fn anchor_of_a_box_patient_is_worked_out_by_hand() {
    let voxels = box_patient();
    let origin = [-116.0, -146.0, 30.0];
    let view = VolumeView::new(&voxels, [30, 64, 64], [5.0, 4.0, 4.0], origin, AXIAL).expect("a view");
    let found = anatomical_anchor(&view).expect("an anchor").point_mm;
    // Centre: columns 4..=59 and rows 8..=55 are centred on pixel 31.5, i.e. 126 mm from the
    // origin: (-116 + 126, -146 + 126) = (10, -20).
    // Base: lung area 2 lungs × 20 rows × width × 16 mm²: 0 on slice 9, 1280 mm² on slice 10,
    // so 1000 mm² is reached 1000 / 1280 of the way from slice 9 (z = 30 + 45 = 75) to slice
    // 10: z = 75 + 5 × 0.78125 = 78.90625.
    assert_eq!(found, [10.0, -20.0, 78.90625]);

    // The same patient stored top slice first (slice axis towards the feet): the same anchor.
    let n = 30;
    let plane = 64 * 64;
    let flipped: Vec<i16> = (0..n).rev().flat_map(|k| voxels[k * plane..(k + 1) * plane].iter().copied()).collect();
    let top = [origin[0], origin[1], origin[2] + 29.0 * 5.0];
    let axes = [[0.0, 0.0, -1.0], AXIAL[1], AXIAL[2]];
    let view = VolumeView::new(&flipped, [30, 64, 64], [5.0, 4.0, 4.0], top, axes).expect("a view");
    assert_eq!(anatomical_anchor(&view).expect("an anchor").point_mm, [10.0, -20.0, 78.90625]);
}

#[test]
fn anchor_refuses_odd_volumes_without_panicking() {
    let voxels = box_patient();
    // Sagittal slices: the slice axis along x.
    let sagittal = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let view = VolumeView::new(&voxels, [30, 64, 64], [5.0, 4.0, 4.0], [0.0; 3], sagittal).expect("a view");
    assert_eq!(anatomical_anchor(&view), Err(AnchorUnmeasured::NotAxial));

    let air = vec![-1000i16; 4 * 16 * 16];
    let view = VolumeView::new(&air, [4, 16, 16], [2.5, 1.0, 1.0], [0.0; 3], AXIAL).expect("a view");
    assert_eq!(anatomical_anchor(&view), Err(AnchorUnmeasured::NoBody));

    let tissue = vec![40i16; 4 * 16 * 16];
    let view = VolumeView::new(&tissue, [4, 16, 16], [2.5, 1.0, 1.0], [0.0; 3], AXIAL).expect("a view");
    assert_eq!(anatomical_anchor(&view), Err(AnchorUnmeasured::NoLungBase));

    // One slice through the lungs, one voxel, one row: no panic, no anchor.
    let plane = 64 * 64;
    let one_slice = &voxels[20 * plane..21 * plane];
    let view = VolumeView::new(one_slice, [1, 64, 64], [5.0, 4.0, 4.0], [0.0; 3], AXIAL).expect("a view");
    assert!(anatomical_anchor(&view).is_err());
    for (dims, data) in [([1, 1, 1], &voxels[..1]), ([1, 1, 64], &voxels[..64]), ([30, 1, 1], &voxels[..30])] {
        let view = VolumeView::new(data, dims, [5.0, 4.0, 4.0], [0.0; 3], AXIAL).expect("a view");
        assert!(anatomical_anchor(&view).is_err(), "{dims:?}");
    }
}
