//! Measurements of real phantom series against their truth.json (which the measurements do
//! not read).

use std::path::Path;

use elysium_dicom::header;
use elysium_dicom::volume::{Volume, load_series};
use elysium_phantom::{PhantomOptions, StagingOptions, generate_staged};
use serde_json::Value;

use super::*;

/// A generated series read back: its volume and truth.
pub(crate) struct Phantom {
    pub volume: Volume,
    pub truth: Value,
    /// The label map, file order (z from the top), and the truth's pixel spacing.
    labels: Vec<u8>,
}

impl Phantom {
    /// The longest axial diameter of the voxels labelled `label` (mm), from the label map.
    fn labelled_long_axis(&self, label: u8) -> f64 {
        let (rows, columns) = (self.volume.rows, self.volume.columns);
        let [sx, sy, _] = self.volume.spacing;
        let plane = rows * columns;
        let mut best: f64 = 0.0;
        for slice in self.labels.chunks(plane) {
            let points: Vec<[f64; 2]> = (0..plane)
                .filter(|&i| slice[i] == label)
                .map(|i| [(i / columns) as f64 * sy, (i % columns) as f64 * sx])
                .collect();
            for (k, a) in points.iter().enumerate() {
                for b in &points[k..] {
                    best = best.max(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt());
                }
            }
        }
        best + sx.max(sy)
    }

    pub fn view(&self) -> VolumeView<'_> {
        let v = &self.volume;
        VolumeView::from_dicom_layout(&v.voxels, [v.slices, v.rows, v.columns], v.spacing, v.origin, v.direction)
            .expect("a view")
    }

    fn hint(&self) -> PrimaryHint {
        let lesion = &self.truth["lesions"][0];
        PrimaryHint {
            organ: lesion["organ"].as_str().expect("organ").to_owned(),
            center_mm: point(&lesion["centre_mm"]),
            diameter_mm: lesion["diameter_mm"].as_f64(),
        }
    }
}

fn point(v: &Value) -> [f64; 3] {
    let a = v.as_array().expect("a point");
    [0, 1, 2].map(|i| a[i].as_f64().expect("a number"))
}

pub(crate) fn phantom(dir: &Path, options: PhantomOptions, staging: &StagingOptions) -> Phantom {
    let report = generate_staged(&PhantomOptions { out: dir.to_owned(), ..options }, staging).expect("phantom");
    let series = &report.series[0];
    let truth: Value =
        serde_json::from_slice(&std::fs::read(series.dir.join("truth.json")).expect("truth")).expect("json");
    let instances: Vec<_> = series
        .dicom_files()
        .expect("files")
        .iter()
        .map(|path| header::parse(&std::fs::read(path).expect("slice")).expect("parses"))
        .collect();
    let volume = load_series(&instances).expect("loads").volume;
    let mut labels = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(series.dir.join("labels.u8.gz")).expect("labels")),
        &mut labels,
    )
    .expect("gzip");
    Phantom { volume, truth, labels }
}

pub(crate) fn options(seed: u64, slices: u32, lesions: &[&str]) -> PhantomOptions {
    PhantomOptions {
        rows: 128,
        slices: Some(slices),
        seed,
        lesions: lesions.iter().map(|l| l.parse().expect("lesion")).collect(),
        ..PhantomOptions::new("")
    }
}

fn staging(nodes: &[&str], distant: &[&str], invasion: &[&str]) -> StagingOptions {
    StagingOptions {
        nodes: nodes.iter().map(|n| n.parse().expect("node")).collect(),
        distant: distant.iter().map(|d| d.parse().expect("distant")).collect(),
        invasion: invasion.iter().map(|i| i.parse().expect("invasion")).collect(),
    }
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// How far apart a finding and its truth may be (mm): two voxels.
fn position_tolerance(p: &Phantom) -> f64 {
    let [sx, sy, sz] = p.volume.spacing;
    2.0 * sx.max(sy).max(sz)
}

/// Node short axes: ±2 mm or one pixel, whichever is larger.
fn axis_tolerance(p: &Phantom) -> f64 {
    p.volume.spacing[0].max(p.volume.spacing[1]).max(2.0)
}

/// Checks the measured nodes against truth.json, one for one; returns the largest short-axis
/// error.
fn check_nodes(p: &Phantom, m: &Measured) -> f64 {
    let truth = p.truth["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(m.nodes.len(), truth.len(), "one measured node per true node: {:#?}", m.nodes);
    let mut worst: f64 = 0.0;
    for t in &truth {
        let centre = point(&t["centre_mm"]);
        let node = m
            .nodes
            .iter()
            .find(|n| distance(n.center_mm, centre) <= position_tolerance(p))
            .unwrap_or_else(|| panic!("no node measured near {t}: {:#?}", m.nodes));
        let error = node.short_axis_mm - num(&t["short_axis_mm"]);
        assert!(error.abs() <= axis_tolerance(p), "short axis {} vs {}", node.short_axis_mm, t["short_axis_mm"]);
        assert!((node.long_axis_mm - num(&t["long_axis_mm"])).abs() <= 2.0 * axis_tolerance(p));
        // Within the tolerance of 10 mm either answer is right.
        if (num(&t["short_axis_mm"]) - INVOLVED_SHORT_AXIS_MM).abs() > axis_tolerance(p) {
            assert_eq!(node.involved, t["involved"].as_bool().expect("a flag"), "{node:?} vs {t}");
        }
        let (region, side) = match (t["region"].as_str(), t["side"].as_str()) {
            (Some("contralateral"), _) => ("hilar", Side::Contralateral),
            (Some(region), Some("contralateral")) => (region, Side::Contralateral),
            (Some(region), _) => (region, Side::Ipsilateral),
            _ => panic!("a region"),
        };
        assert_eq!(node.region, region, "{t}");
        // The truth's side is the sign of x; the measurement keeps a midline band.
        let near_midline = |x: f64| x.abs() < MIDLINE_BAND_MM + p.volume.spacing[0];
        if near_midline(centre[0]) {
            assert!(node.side == side || node.side == Side::Midline, "{t}");
        } else if !near_midline(point(&p.truth["lesions"][0]["centre_mm"])[0]) {
            assert_eq!(node.side, side, "{t}");
        }
        worst = worst.max(error.abs());
    }
    worst
}

/// Checks the measured distant lesions against truth.json, one for one.
fn check_distant(p: &Phantom, m: &Measured) {
    let truth = p.truth["distant"].as_array().cloned().unwrap_or_default();
    assert_eq!(m.distant.len(), truth.len(), "one measured distant lesion per true one: {:#?}", m.distant);
    let pixel = p.volume.spacing[0].max(p.volume.spacing[1]);
    let primary_x = point(&p.truth["lesions"][0]["centre_mm"])[0];
    for t in &truth {
        let centre = point(&t["centre_mm"]);
        let lesion = m
            .distant
            .iter()
            .find(|d| distance(d.center_mm, centre) <= position_tolerance(p))
            .unwrap_or_else(|| panic!("no distant lesion measured near {t}: {:#?}", m.distant));
        assert_eq!(lesion.organ, t["organ"].as_str().expect("an organ"));
        assert!((lesion.diameter_mm - num(&t["diameter_mm"])).abs() <= 2.0 * pixel, "{lesion:?} vs {t}");
        let side = if (centre[0] < 0.0) == (primary_x < 0.0) { Side::Ipsilateral } else { Side::Contralateral };
        if primary_x.abs() >= MIDLINE_BAND_MM + pixel && centre[0].abs() >= MIDLINE_BAND_MM + pixel {
            assert_eq!(lesion.side, side);
        }
    }
}

/// Whether the voxels labelled `label` touch (6-neighbours) those labelled any of `others`.
fn labels_touch(p: &Phantom, label: u8, others: &[u8]) -> bool {
    let (rows, columns, slices) = (p.volume.rows, p.volume.columns, p.volume.slices);
    let plane = rows * columns;
    (0..p.labels.len()).filter(|&i| p.labels[i] == label).any(|i| {
        let (z, y, x) = (i / plane, i / columns % rows, i % columns);
        [
            (z > 0).then(|| i - plane),
            (z + 1 < slices).then(|| i + plane),
            (y > 0).then(|| i - columns),
            (y + 1 < rows).then(|| i + columns),
            (x > 0).then(|| i - 1),
            (x + 1 < columns).then(|| i + 1),
        ]
        .into_iter()
        .flatten()
        .any(|j| others.contains(&p.labels[j]))
    })
}

const LESION_LABEL: u8 = 21;
const AORTA_LABEL: u8 = 5;
const CHEST_WALL_LABELS: [u8; 3] = [2, 19, 20];

/// A lung primary against the chest wall, a 14 mm hilar node (involved), a 6 mm mediastinal
/// node (normal) and an 18 mm liver metastasis.
#[test]
fn lung_primary_with_nodes_invasion_and_a_liver_metastasis() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let p = phantom(
        dir.path(),
        options(1, 116, &["lung:30"]),
        &staging(&["lung:hilar:14", "lung:mediastinal:6"], &["liver:18"], &["lung:chest_wall"]),
    );
    let m = measure(&p.view(), p.hint());
    let worst = check_nodes(&p, &m);
    assert!(worst <= axis_tolerance(&p), "{worst}");
    assert_eq!(m.involved_nodes().count(), 1, "only the 14 mm node is involved");
    check_distant(&p, &m);
    assert_eq!(m.invasion, ["chest_wall"]);
    assert!(labels_touch(&p, LESION_LABEL, &CHEST_WALL_LABELS), "the oracle agrees");
    let pixel = p.volume.spacing[0];
    let long = m.primary_long_axis_mm.expect("a long axis");
    assert!((long - p.labelled_long_axis(LESION_LABEL)).abs() <= 2.0 * pixel, "{long}");
    let centre = m.primary_center_mm.expect("a centre");
    assert!(distance(centre, point(&p.truth["lesions"][0]["centre_mm"])) <= 15.0);
}

/// A lung primary with contralateral disease: a contralateral hilar node (N3) and a nodule in
/// the other lung (M1a); the other nodes normal.
#[test]
fn lung_primary_with_contralateral_node_and_nodule() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let p = phantom(
        dir.path(),
        options(3, 116, &["lung:20"]),
        &staging(&["lung:contralateral:12", "lung:hilar:8"], &["lung:10"], &[]),
    );
    let m = measure(&p.view(), p.hint());
    check_nodes(&p, &m);
    let involved: Vec<&MeasuredNode> = m.involved_nodes().collect();
    assert_eq!(involved.len(), 1);
    assert_eq!((involved[0].region.as_str(), involved[0].side), ("hilar", Side::Contralateral));
    check_distant(&p, &m);
    assert_eq!(m.distant[0].side, Side::Contralateral);
    assert!(m.invasion.is_empty(), "{:?}", m.invasion);
    let long = m.primary_long_axis_mm.expect("a long axis");
    assert!((long - p.labelled_long_axis(LESION_LABEL)).abs() <= p.volume.spacing[0], "{long}");
}

/// With contrast: a pancreatic primary against the aorta, a 12 mm and a 6 mm regional node,
/// a liver metastasis and a lung nodule.
#[test]
fn pancreas_primary_with_aorta_contact_nodes_and_metastases() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut o = options(4, 80, &["pancreas:25"]);
    o.contrast = true;
    let p = phantom(
        dir.path(),
        o,
        &staging(&["pancreas:regional:12", "pancreas:regional:6"], &["liver:15", "lung:10"], &["pancreas:aorta"]),
    );
    let m = measure(&p.view(), p.hint());
    check_nodes(&p, &m);
    assert_eq!(m.involved_nodes().count(), 1);
    check_distant(&p, &m);
    assert_eq!(m.invasion, ["aorta"]);
    assert!(labels_touch(&p, LESION_LABEL, &[AORTA_LABEL]), "the oracle agrees");
    let long = m.primary_long_axis_mm.expect("a long axis");
    assert!((long - p.labelled_long_axis(LESION_LABEL)).abs() <= 2.0 * p.volume.spacing[0], "{long}");
}

/// Phantoms without staging findings: nothing measured besides the primary.
#[test]
fn nothing_extra_without_staging_findings() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let p = phantom(dir.path(), options(2, 116, &["lung:20"]), &StagingOptions::default());
    let m = measure(&p.view(), p.hint());
    assert!(m.nodes.is_empty(), "{:#?}", m.nodes);
    assert!(m.distant.is_empty(), "{:#?}", m.distant);
    assert!(m.invasion.is_empty(), "{:?}", m.invasion);
    assert!(!labels_touch(&p, LESION_LABEL, &CHEST_WALL_LABELS));
    let long = m.primary_long_axis_mm.expect("a long axis");
    assert!((long - p.labelled_long_axis(LESION_LABEL)).abs() <= p.volume.spacing[0], "{long}");

    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut o = options(1, 80, &["pancreas:20"]);
    o.contrast = true;
    let p = phantom(dir.path(), o, &StagingOptions::default());
    let m = measure(&p.view(), p.hint());
    assert!(m.nodes.is_empty(), "{:#?}", m.nodes);
    assert!(m.distant.is_empty(), "{:#?}", m.distant);
    assert!(!labels_touch(&p, LESION_LABEL, &[AORTA_LABEL]), "this lesion is clear of the aorta");
    assert!(m.invasion.is_empty(), "{:?}", m.invasion);
}

/// Without contrast the aorta cannot be told from its neighbours: not assessed, and said so.
#[test]
fn vessel_contact_needs_contrast() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let p = phantom(dir.path(), options(4, 40, &["pancreas:25"]), &staging(&[], &[], &["pancreas:aorta"]));
    let m = measure(&p.view(), p.hint());
    assert!(m.invasion.is_empty());
    assert!(m.notes.iter().any(|n| n.contains("not assessed")), "{:?}", m.notes);
    // Nor is the size of a solid-organ lesion, a few noise sd from its parenchyma.
    assert_eq!(m.primary_long_axis_mm, None);
    assert!(m.primary_center_mm.is_some());
}

#[test]
fn views_check_their_layout() {
    let voxels = vec![0i16; 2 * 3 * 4];
    let axes = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
    let view = VolumeView::new(&voxels, [2, 3, 4], [2.5, 0.5, 0.7], [10.0, 20.0, 30.0], axes).expect("a view");
    assert_eq!(view.voxel_to_patient([1.0, 2.0, 3.0]), [10.0 + 2.1, 20.0 + 1.0, 30.0 + 2.5]);
    let back = view.patient_to_voxel([12.1, 21.0, 32.5]);
    assert!(back.iter().zip([1.0, 2.0, 3.0]).all(|(a, b)| (a - b).abs() < 1e-9), "{back:?}");
    assert!(view.is_axial());
    // The DICOM layout: spacing x, y, z and direction [row, column, normal].
    let dicom = VolumeView::from_dicom_layout(
        &voxels,
        [2, 3, 4],
        [0.7, 0.5, 2.5],
        [10.0, 20.0, 30.0],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    )
    .expect("a view");
    assert_eq!(dicom, view);
    assert_eq!(
        VolumeView::new(&voxels, [2, 3, 5], [1.0; 3], [0.0; 3], axes),
        Err(ViewError::SizeMismatch { voxels: 24, dims: [2, 3, 5] })
    );
    assert_eq!(VolumeView::new(&[], [0, 3, 4], [1.0; 3], [0.0; 3], axes), Err(ViewError::Empty));
    assert!(matches!(
        VolumeView::new(&voxels, [2, 3, 4], [1.0, 0.0, 1.0], [0.0; 3], axes),
        Err(ViewError::BadSpacing(_))
    ));
    assert!(matches!(
        VolumeView::new(&voxels, [2, 3, 4], [1.0; 3], [0.0; 3], [[0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]),
        Err(ViewError::BadAxes)
    ));
    assert!(matches!(
        VolumeView::new(&voxels, [2, 3, 4], [1.0; 3], [f64::NAN, 0.0, 0.0], axes),
        Err(ViewError::BadOrigin)
    ));
    // A uniform block of fat holds nothing.
    let fat = vec![-100i16; 8 * 16 * 16];
    let view = VolumeView::new(&fat, [8, 16, 16], [2.5, 3.0, 3.0], [0.0; 3], axes).expect("a view");
    let m = measure(&view, PrimaryHint { organ: "liver".into(), center_mm: [10.0, 24.0, 24.0], diameter_mm: None });
    assert!(m.nodes.is_empty() && m.distant.is_empty() && m.invasion.is_empty());
    assert!(m.notes.iter().any(|n| n.contains("no diameter")), "{:?}", m.notes);
}

/// The tolerances over many patients (slow in debug builds: `cargo test --release -p
/// elysium-measure -- --ignored --nocapture`): every finding recovered, nothing extra, node
/// short axes within tolerance; prints the error distribution.
#[test]
#[ignore = "a sweep over patients: run with --release -- --ignored --nocapture"]
fn sweep_over_patients() {
    type Case<'a> = (&'a str, u32, bool, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
    let cases: [Case<'_>; 3] = [
        (
            "lung:24",
            116,
            false,
            &["lung:hilar:12", "lung:mediastinal:9", "lung:contralateral:6"],
            &["lung:10", "liver:15"],
            &[],
        ),
        ("lung:26", 116, false, &["lung:hilar:16", "lung:mediastinal:11"], &["liver:20"], &["lung:chest_wall"]),
        (
            "pancreas:25",
            80,
            true,
            &["pancreas:regional:14", "pancreas:regional:7"],
            &["liver:15", "lung:10"],
            &["pancreas:aorta"],
        ),
    ];
    let mut errors = Vec::new();
    let mut primary = Vec::new();
    let mut lung_primary = Vec::new();
    let mut failures = Vec::new();
    for seed in 10..30u64 {
        if std::env::var("SEED").ok().is_some_and(|s| s != seed.to_string()) {
            continue;
        }
        for (lesion, slices, contrast, nodes, distant, invasion) in cases {
            if std::env::var("ONLY").ok().is_some_and(|s| s != lesion) {
                continue;
            }
            let dir = tempfile::tempdir().expect("a temporary folder");
            let mut o = options(seed, slices, &[lesion]);
            o.contrast = contrast;
            let st = staging(nodes, distant, invasion);
            if generate_staged(&PhantomOptions { out: dir.path().join("probe"), ..o.clone() }, &st).is_err() {
                println!("seed {seed} {lesion}: does not fit");
                continue;
            }
            let p = phantom(dir.path(), o, &st);
            let m = measure(&p.view(), p.hint());
            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let worst = check_nodes(&p, &m);
                check_distant(&p, &m);
                assert_eq!(m.invasion.len(), invasion.len(), "{:?}", m.invasion);
                worst
            }));
            match checked {
                Ok(worst) => errors.push(worst),
                Err(_) => failures.push(format!("seed {seed} {lesion}: {m:#?}")),
            }
            if let Some(long) = m.primary_long_axis_mm {
                let error = long - p.labelled_long_axis(LESION_LABEL);
                if lesion.starts_with("lung") {
                    lung_primary.push(error);
                } else {
                    primary.push(error);
                }
            }
        }
    }
    let max = |v: &[f64]| v.iter().map(|e| e.abs()).fold(0.0, f64::max);
    println!(
        "{} series passed; worst node short-axis error {:.2} mm; worst lung primary long-axis error {:.1} mm; \
         pancreas primary long-axis errors {:?}",
        errors.len(),
        max(&errors),
        max(&lung_primary),
        primary.iter().map(|e| (e * 10.0).round() / 10.0).collect::<Vec<_>>()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(max(&lung_primary) <= 2.0 * 2.97);
}
