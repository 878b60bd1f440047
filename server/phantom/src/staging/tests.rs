use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ResolvedStaging;
use crate::anatomy::{Anatomy, place_lesion};
use crate::rng::{Rng, stream};
use crate::spec::Sex;
use crate::tests::{f, read_series, tempdir};
use crate::*;

fn staging(nodes: &[&str], distant: &[&str], invasion: &[&str]) -> StagingOptions {
    StagingOptions {
        nodes: nodes.iter().map(|n| n.parse().expect("a node request")).collect(),
        distant: distant.iter().map(|d| d.parse().expect("a distant request")).collect(),
        invasion: invasion.iter().map(|i| i.parse().expect("an invasion request")).collect(),
    }
}

fn options(out: &Path, seed: u64, rows: u16, slices: u32, lesions: &[&str]) -> PhantomOptions {
    PhantomOptions {
        rows,
        slices: Some(slices),
        seed,
        lesions: lesions.iter().map(|l| l.parse().expect("a lesion request")).collect(),
        ..PhantomOptions::new(out)
    }
}

fn point(v: &Value) -> [f64; 3] {
    [0, 1, 2].map(|i| f(&v[i]))
}

/// SHA-256 over the names and bytes of every file under `dir`, in name order.
fn tree_digest(dir: &Path) -> String {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() { walk(&path, files) } else { files.push(path) }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut h = Sha256::new();
    for path in files {
        h.update(path.strip_prefix(dir).expect("inside").to_string_lossy().as_bytes());
        let bytes = std::fs::read(&path).expect("readable");
        // The label map's gzip bytes depend on which deflate backend the build unified flate2
        // to (a workspace build and a crate build differ); its content does not.
        if path.extension().is_some_and(|e| e == "gz") {
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut content)
                .expect("gzip");
            h.update(content);
        } else {
            h.update(bytes);
        }
    }
    format!("{:x}", h.finalize())
}

#[test]
fn staging_requests_parse_and_print() {
    let node: NodeRequest = " lung : Hilar : 14mm ".parse().expect("parses");
    assert_eq!(node, NodeRequest { organ: "lung".into(), region: "hilar".into(), short_axis_mm: 14.0 });
    assert_eq!(node.to_string(), "lung:hilar:14");
    let distant: DistantRequest = "liver:18.5".parse().expect("parses");
    assert_eq!(distant, DistantRequest { organ: "liver".into(), diameter_mm: 18.5 });
    assert_eq!(distant.to_string(), "liver:18.5");
    let invasion: InvasionRequest = "lung:Chest-Wall".parse().expect("parses");
    assert_eq!(invasion, InvasionRequest { organ: "lung".into(), structure: "chest_wall".into() });
    assert_eq!(invasion.to_string(), "lung:chest_wall");

    for bad in
        ["lung:hilar", "lung:hilar:14:2", ":hilar:14", "lung::14", "lung:hilar:0", "lung:hilar:-3", "lung:hi lar:4"]
    {
        assert!(matches!(bad.parse::<NodeRequest>(), Err(PhantomError::InvalidNodeRequest { .. })), "{bad}");
    }
    for bad in ["liver", "liver:", ":18", "liver:abc", "liver:inf", "li ver:3"] {
        assert!(matches!(bad.parse::<DistantRequest>(), Err(PhantomError::InvalidDistantRequest { .. })), "{bad}");
    }
    for bad in ["lung", "lung:", ":chest_wall", "lung:chest wall", "lung:chest_wall:1"] {
        assert!(matches!(bad.parse::<InvasionRequest>(), Err(PhantomError::InvalidInvasionRequest { .. })), "{bad}");
    }
    let message = "lung:hilar".parse::<NodeRequest>().expect_err("invalid").to_string();
    assert!(message.contains("ORGAN:REGION:SHORT_AXIS_MM"), "{message}");
}

#[test]
fn staging_requests_are_checked_against_the_specs() {
    let dir = tempdir();
    let base = options(dir.path(), 1, 32, 8, &["lung:20"]);
    let run = |lesions: &[&str], staging: StagingOptions| {
        let mut o = base.clone();
        o.lesions = lesions.iter().map(|l| l.parse().expect("a lesion")).collect();
        generate_staged(&o, &staging)
    };
    let reason = |result: Result<PhantomReport, PhantomError>| match result {
        Err(PhantomError::InvalidStagingRequest { reason, .. }) => reason,
        other => panic!("expected a staging error, got {other:?}"),
    };
    assert!(reason(run(&["liver:20"], staging(&["lung:hilar:12"], &[], &[]))).contains("no lung lesion"));
    assert!(reason(run(&["lung:20"], staging(&["lung:regional:12"], &[], &[]))).contains("known: hilar"));
    assert!(reason(run(&["lung:20"], staging(&["lung:hilar:60"], &[], &[]))).contains("within"));
    assert!(reason(run(&["lung:20"], staging(&["spleen:hilar:12"], &[], &[]))).contains("no lesion rule"));
    assert!(reason(run(&["breast:20"], staging(&["breast:axillary:12"], &[], &[]))).contains("known: none"));
    assert!(reason(run(&["lung:20"], staging(&[], &["bone:12"], &[]))).contains("no distant lesion rule"));
    assert!(reason(run(&["lung:20"], staging(&[], &["liver:80"], &[]))).contains("within"));
    assert!(reason(run(&["lung:20"], staging(&[], &[], &["lung:aorta"]))).contains("known: lung:chest_wall"));
    assert!(reason(run(&["lung:20"], staging(&[], &[], &["lung:chest_wall", "lungs:chest_wall"]))).contains("already"));
    // Eight slices cannot hold a hilar node and its fat.
    assert!(matches!(
        run(&["liver:20"], staging(&["liver:regional:20"], &[], &[])),
        Err(PhantomError::StagingDoesNotFit { .. }) | Err(PhantomError::LesionDoesNotFit { .. })
    ));
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).expect("the folder").count(), 0);
}

/// Phantoms without staging options are those of the generator before staging existed: the
/// digest below was taken from it (the same files, byte for byte; the label map by content).
#[test]
fn staging_leaves_plain_phantoms_byte_identical() {
    let (a, b) = (tempdir(), tempdir());
    let mut o = options(a.path(), 9, 32, 12, &["liver:20", "kidney:15"]);
    generate(&o).expect("generates");
    o.out = b.path().to_owned();
    generate_staged(&o, &StagingOptions::default()).expect("generates");
    let digest = tree_digest(a.path());
    assert_eq!(digest, tree_digest(b.path()));
    assert_eq!(digest, "80443784253c647101a62376a03c0090d24ba19f1b70a525682ef3746931771c");
}

#[test]
fn staged_phantoms_are_deterministic_and_distinct() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let st = staging(&["pancreas:regional:10"], &["liver:12"], &[]);
    let o = options(a.path(), 5, 48, 60, &["pancreas:20"]);
    let first = generate_staged(&o, &st).expect("generates");
    generate_staged(&PhantomOptions { out: b.path().to_owned(), ..o.clone() }, &st).expect("generates");
    assert_eq!(tree_digest(a.path()), tree_digest(b.path()));
    let plain = generate(&PhantomOptions { out: c.path().to_owned(), ..o.clone() }).expect("generates");
    assert_ne!(first.series[0].series_uid, plain.series[0].series_uid, "staging changes the UIDs");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(plain.series[0].dir.join("truth.json")).expect("truth")).expect("json");
    for key in ["nodes", "distant", "invasion"] {
        assert!(truth.get(key).is_none(), "a plain truth.json has no {key}");
    }
    assert!(truth["labels"].get("22").is_none());
}

/// Every region, distant organ and invasion of the staging spec takes its finding in many
/// patients at moderate sizes, on the whole scan.
#[test]
fn staging_findings_fit_in_many_patients() {
    let spec = PhantomSpec::builtin().expect("the spec");
    let staging_spec = StagingSpec::builtin(&spec).expect("the staging spec");
    let z_range = [-398.75, -1.25];
    type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
    let cases: [Case<'_>; 6] = [
        (
            "lung:30",
            &["lung:hilar:16", "lung:mediastinal:12", "lung:contralateral:16", "lung:hilar:6"],
            &["liver:25", "lung:15"],
            &["lung:chest_wall"],
        ),
        (
            "pancreas:30",
            &["pancreas:regional:15", "pancreas:regional:8"],
            &["liver:25", "lung:15"],
            &["pancreas:aorta"],
        ),
        ("liver:30", &["liver:regional:12"], &["lung:12"], &[]),
        ("kidney:30", &["kidney:regional:15"], &["liver:20"], &[]),
        ("stomach:30", &["stomach:regional:15"], &["liver:20"], &[]),
        ("colon:30", &["colon:regional:15"], &["liver:20"], &[]),
    ];
    let mut failures = Vec::new();
    for (lesion, nodes, distant, invasion) in cases {
        let options = staging(nodes, distant, invasion);
        let (organ, diameter) = lesion.split_once(':').expect("organ:diameter");
        let rule = spec.lesion_rule(organ).expect("a rule");
        let diameter: f64 = diameter.parse().expect("a diameter");
        let resolved = ResolvedStaging::resolve(&spec, &staging_spec, &options, &[rule.organ.as_str()]).expect("valid");
        for seed in 0..20u64 {
            let sex = if seed % 2 == 0 { Sex::F } else { Sex::M };
            let contrast = seed % 3 == 0;
            let anatomy = Anatomy::build(&spec, seed, 1, sex, contrast);
            let mut rng = Rng::for_stream(seed, &[stream::LESION, 1, 0]);
            let primary = match resolved.invasion_of(0) {
                Some(inv) => resolved
                    .place_invading(inv, &spec, &anatomy, rule, diameter, contrast, z_range, &[], &mut rng)
                    .map(|(lesion, placed)| {
                        assert!(placed.overlap_mm > 0.0 && placed.overlap_mm <= 0.45 * diameter / 2.0 + 0.5);
                        lesion
                    }),
                None => place_lesion(&spec, &anatomy, rule, diameter, contrast, z_range, &[], &mut rng),
            };
            let Ok(primary) = primary else {
                failures.push(format!("seed {seed}: {lesion}"));
                continue;
            };
            match resolved.place_patient(&spec, &anatomy, contrast, z_range, 2.5, &[primary], seed, 1) {
                Ok(placed) => assert_eq!(placed.nodes.len() + placed.distant.len(), nodes.len() + distant.len()),
                Err(failure) => failures.push(format!("seed {seed}: {} ({lesion})", failure.what)),
            }
        }
    }
    assert!(failures.is_empty(), "no room: {failures:#?}");
}

/// A staged lung phantom: truth.json describes what the label map and the pixels hold.
#[test]
fn staged_lung_phantom_matches_its_truth() {
    let dir = tempdir();
    let st = staging(&["lung:hilar:14", "lung:mediastinal:6"], &["liver:18"], &["lung:chest_wall"]);
    let report = generate_staged(&options(dir.path(), 1, 128, 116, &["lung:30"]), &st).expect("generates");
    let s = read_series(&report.series[0].dir);
    let truth = &s.truth;
    let g = &truth["geometry"];
    let (rows, columns, slices) = (128usize, 128usize, 116usize);
    let (spacing, slice_spacing) = (f(&g["pixel_spacing_mm"][0]), f(&g["slice_spacing_mm"]));
    let voxel_volume = spacing * spacing * slice_spacing;
    let plane = rows * columns;
    let neighbours = |i: usize| {
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
    };
    assert_eq!(truth["labels"]["22"], "lymph_node");
    assert_eq!(truth["labels"]["23"], "metastasis");

    // Nodes: the labelled voxels fill each ellipsoid, sit in fat, and have the node HU.
    let nodes = truth["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);
    let node_voxels: Vec<usize> = (0..s.labels.len()).filter(|&i| s.labels[i] == 22).collect();
    let mut expected_volume = 0.0;
    for (node, (region, short)) in nodes.iter().zip([("hilar", 14.0), ("mediastinal", 6.0)]) {
        assert_eq!(node["region"], region);
        assert_eq!(node["side"], "ipsilateral");
        assert_eq!(f(&node["short_axis_mm"]), short);
        assert_eq!(node["involved"], short >= 10.0);
        let (long, cc) = (f(&node["long_axis_mm"]), f(&node["craniocaudal_mm"]));
        assert!(long >= 1.2 * short - 1e-9 && long <= 1.6 * short + 1e-9);
        assert!(cc >= 1.1 * short - 1e-9 && cc <= 1.4 * short + 1e-9);
        expected_volume += std::f64::consts::PI / 6.0 * short * long * cc;
        let x = point(&node["centre_mm"])[0];
        let lesion_x = point(&truth["lesions"][0]["centre_mm"])[0];
        assert_eq!(x < 0.0, lesion_x < 0.0, "an ipsilateral node is on the lesion's side");
        let band = if region == "hilar" { 34.0..=64.0 } else { 7.0..=30.0 };
        assert!(band.contains(&x.abs()), "{region} node at x {x}");
    }
    let measured = node_voxels.len() as f64 * voxel_volume;
    assert!((measured / expected_volume - 1.0).abs() < 0.25, "{measured} mm³ of node voxels vs {expected_volume}");
    for &i in &node_voxels {
        assert!(neighbours(i).all(|j| [22, 1].contains(&s.labels[j])), "a node touches only node or fat");
    }
    let node_hu = node_voxels.iter().map(|&i| f64::from(s.hu[i])).sum::<f64>() / node_voxels.len() as f64;
    assert!((node_hu - 40.0).abs() < 5.0, "node HU {node_hu}");

    // The distant lesion: metastasis voxels inside the liver, hypodense.
    let distant = &truth["distant"][0];
    assert_eq!(distant["organ"], "liver");
    assert_eq!(f(&distant["diameter_mm"]), 18.0);
    let metastasis: Vec<usize> = (0..s.labels.len()).filter(|&i| s.labels[i] == 23).collect();
    let sphere = std::f64::consts::PI / 6.0 * 18f64.powi(3);
    assert!((metastasis.len() as f64 * voxel_volume / sphere - 1.0).abs() < 0.25);
    assert!(metastasis.iter().all(|&i| neighbours(i).all(|j| [8, 23].contains(&s.labels[j]))));
    let offset = f(&distant["hu_offset"]);
    assert!((-40.0..=-30.0).contains(&offset));

    // The invasion: the lesion replaced chest-wall muscle and touches the wall.
    let invasion = &truth["invasion"][0];
    assert_eq!(invasion["structure"], "chest_wall");
    assert_eq!(invasion["lesion_index"], 0);
    let overlap = f(&invasion["overlap_mm"]);
    assert!((0.2 * 15.0 - 0.5..=0.45 * 15.0 + 0.5).contains(&overlap), "overlap {overlap}");
    let lesion: Vec<usize> = (0..s.labels.len()).filter(|&i| s.labels[i] == 21).collect();
    let wall = [2u8, 19, 20];
    assert!(lesion.iter().any(|&i| neighbours(i).any(|j| wall.contains(&s.labels[j]))), "the lesion touches the wall");
    let contact = point(&invasion["contact_mm"]);
    let centre = point(&truth["lesions"][0]["centre_mm"]);
    let d = (0..3).map(|a| (contact[a] - centre[a]).powi(2)).sum::<f64>().sqrt();
    assert!((d - (15.0 - overlap)).abs() < 1e-6);
}
