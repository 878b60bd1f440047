use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, open_file};
use dicom_pixeldata::PixelDecoder;
use serde_json::Value;

use super::anatomy::{Anatomy, place_lesion};
use super::rng::{Rng, stream};
use super::*;

fn options(out: &Path, rows: u16, slices: Option<u32>) -> PhantomOptions {
    PhantomOptions { rows, slices, seed: 42, ..PhantomOptions::new(out) }
}

fn lesion(s: &str) -> LesionRequest {
    s.parse().expect("a valid lesion request")
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .expect("the attribute is present")
        .to_str()
        .expect("a text value")
        .trim_end_matches(['\0', ' '])
        .to_owned()
}

fn floats(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag).expect("the attribute is present").to_multi_float64().expect("numeric values")
}

fn int(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> i64 {
    obj.element(tag).expect("the attribute is present").to_int::<i64>().expect("an integer")
}

/// A series read back: truth, label map and HU (both z, y, x).
pub(crate) struct Series {
    pub truth: Value,
    pub labels: Vec<u8>,
    pub hu: Vec<f32>,
    pub objects: Vec<DefaultDicomObject>,
}

pub(crate) fn read_series(dir: &Path) -> Series {
    let truth: Value = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json is readable"))
        .expect("truth.json is JSON");
    let mut labels = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join("labels.u8.gz")).expect("labels.u8.gz exists"))
        .read_to_end(&mut labels)
        .expect("labels.u8.gz is gzip");
    let mut hu = Vec::new();
    let mut objects = Vec::new();
    for name in truth["files"].as_array().expect("a file list") {
        let obj = open_file(dir.join(name.as_str().expect("a file name"))).expect("the DICOM file re-opens");
        let pixels: Vec<f32> = obj.decode_pixel_data().expect("the pixel data decodes").to_vec().expect("HU values");
        hu.extend(pixels);
        objects.push(obj);
    }
    Series { truth, labels, hu, objects }
}

pub(crate) fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// Mean and sd of the HU of the voxels where `pick` holds.
fn stats(series: &Series, pick: impl Fn(usize) -> bool) -> (f64, f64, usize) {
    let values: Vec<f64> = (0..series.hu.len()).filter(|&i| pick(i)).map(|i| f64::from(series.hu[i])).collect();
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt(), values.len())
}

/// Standard error of a mean over `n` voxels of correlated noise with sd `sd` (the
/// [1,2,1]/4 filter multiplies the variance of a large-region mean by 64/9).
fn standard_error(sd: f64, n: usize) -> f64 {
    sd * (64.0f64 / 9.0).sqrt() / (n.max(1) as f64).sqrt()
}

#[test]
fn phantom_files_reopen_with_declared_attributes() {
    let dir = tempdir();
    let report = generate(&options(dir.path(), 64, Some(12))).expect("generation succeeds");
    assert_eq!(report.series.len(), 1);
    let s = &report.series[0];
    assert_eq!(s.patient_id, "PH-42-0001");
    assert_eq!(s.files, 12);
    assert_eq!(s.lesions, 0);
    assert_eq!(s.dir, dir.path().join("PH-42-0001").join(&s.series_uid));
    for uid in [&s.study_uid, &s.series_uid] {
        assert!(dicom::is_valid_uid(uid), "{uid}");
        elysium_dicom::uid::Uid::parse(uid).expect("the crate's UID check accepts it");
    }

    let series = read_series(&s.dir);
    assert_eq!(series.objects.len(), 12);
    assert_eq!(series.labels.len(), 12 * 64 * 64);
    assert_eq!(series.hu.len(), 12 * 64 * 64);
    let mut sop_uids = std::collections::HashSet::new();
    let mut previous_z = f64::MAX;
    for (k, obj) in series.objects.iter().enumerate() {
        assert_eq!(obj.meta().transfer_syntax().trim_end_matches('\0'), "1.2.840.10008.1.2.1");
        assert_eq!(text(obj, tags::SOP_CLASS_UID), "1.2.840.10008.5.1.4.1.1.2");
        assert_eq!(
            obj.meta().media_storage_sop_instance_uid().trim_end_matches('\0'),
            text(obj, tags::SOP_INSTANCE_UID)
        );
        assert_eq!(text(obj, tags::MODALITY), "CT");
        assert_eq!(text(obj, tags::MANUFACTURER), "Elysium Phantom");
        assert_eq!(text(obj, tags::BODY_PART_EXAMINED), "CHESTABDOMEN");
        assert_eq!(text(obj, tags::IMAGE_TYPE), "ORIGINAL\\PRIMARY\\AXIAL");
        assert_eq!(text(obj, tags::PATIENT_ID), "PH-42-0001");
        let name = text(obj, tags::PATIENT_NAME);
        assert!(name.split_once('^').is_some_and(|(family, given)| !family.is_empty() && !given.is_empty()), "{name}");
        assert!(["M", "F"].contains(&text(obj, tags::PATIENT_SEX).as_str()));
        assert_eq!(text(obj, tags::PATIENT_BIRTH_DATE).len(), 8);
        assert_eq!(text(obj, tags::STUDY_DATE).len(), 8);
        assert_eq!(text(obj, tags::STUDY_TIME).len(), 6);
        assert!(!text(obj, tags::ACCESSION_NUMBER).is_empty());
        assert_eq!(text(obj, tags::STUDY_INSTANCE_UID), s.study_uid);
        assert_eq!(text(obj, tags::SERIES_INSTANCE_UID), s.series_uid);
        assert_eq!(text(obj, tags::SERIES_DESCRIPTION), "Phantom chest-abdomen non-contrast");
        assert!(obj.element_opt(tags::CONTRAST_BOLUS_AGENT).expect("lookup").is_none());
        assert_eq!(int(obj, tags::ROWS), 64);
        assert_eq!(int(obj, tags::COLUMNS), 64);
        assert_eq!(int(obj, tags::BITS_ALLOCATED), 16);
        assert_eq!(int(obj, tags::BITS_STORED), 12);
        assert_eq!(int(obj, tags::HIGH_BIT), 11);
        assert_eq!(int(obj, tags::PIXEL_REPRESENTATION), 0);
        assert_eq!(int(obj, tags::SAMPLES_PER_PIXEL), 1);
        assert_eq!(text(obj, tags::PHOTOMETRIC_INTERPRETATION), "MONOCHROME2");
        assert_eq!(int(obj, tags::INSTANCE_NUMBER), k as i64 + 1);
        assert_eq!(floats(obj, tags::RESCALE_INTERCEPT), vec![-1024.0]);
        assert_eq!(floats(obj, tags::RESCALE_SLOPE), vec![1.0]);
        assert_eq!(floats(obj, tags::KVP), vec![120.0]);
        assert_eq!(floats(obj, tags::SLICE_THICKNESS), vec![2.5]);
        assert_eq!(floats(obj, tags::PIXEL_SPACING), vec![5.9375, 5.9375]);
        assert_eq!(floats(obj, tags::IMAGE_ORIENTATION_PATIENT), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let position = floats(obj, tags::IMAGE_POSITION_PATIENT);
        assert_eq!(position.len(), 3);
        assert_eq!(position[0], -187.0313);
        assert!(position[2] < previous_z, "z decreases with the instance number");
        if previous_z != f64::MAX {
            assert!((previous_z - position[2] - 2.5).abs() < 1e-9);
        }
        previous_z = position[2];
        assert_eq!(floats(obj, tags::SLICE_LOCATION), vec![position[2]]);
        let sop = text(obj, tags::SOP_INSTANCE_UID);
        assert!(dicom::is_valid_uid(&sop), "{sop}");
        elysium_dicom::uid::Uid::parse(&sop).expect("the crate's UID check accepts it");
        assert!(sop_uids.insert(sop), "SOP instance UIDs are unique");
        let frame = text(obj, tags::FRAME_OF_REFERENCE_UID);
        assert!(dicom::is_valid_uid(&frame), "{frame}");
    }

    let truth = &series.truth;
    assert_eq!(truth["patient_id"], "PH-42-0001");
    assert_eq!(truth["study_uid"], s.study_uid.as_str());
    assert_eq!(truth["series_uid"], s.series_uid.as_str());
    assert_eq!(truth["geometry"]["rows"], 64);
    assert_eq!(truth["geometry"]["columns"], 64);
    assert_eq!(truth["geometry"]["slices"], 12);
    assert_eq!(truth["labels_order"], "z,y,x");
    let first = floats(&series.objects[0], tags::IMAGE_POSITION_PATIENT);
    let origin: Vec<f64> = truth["geometry"]["origin_mm"].as_array().expect("an origin").iter().map(f).collect();
    assert_eq!(origin, first);
    assert_eq!(truth["labels"]["0"], "background");
    assert_eq!(truth["labels"]["8"], "liver");
    assert_eq!(truth["labels"]["21"], "lesion");
    assert_eq!(truth["lesions"].as_array().map(Vec::len), Some(0));
}

#[test]
fn phantom_organ_hu_matches_the_spec() {
    let dir = tempdir();
    let report = generate(&options(dir.path(), 64, None)).expect("generation succeeds");
    let spec = PhantomSpec::builtin().expect("the built-in spec is valid");
    let series = read_series(&report.series[0].dir);
    assert_eq!(series.objects.len(), 160, "default slices: 400 mm / 2.5 mm");

    for organ in &spec.organs {
        let (mean, sd, n) = stats(&series, |i| series.labels[i] == organ.label);
        // Every organ of the spec is in the label map (the scan covers the whole body model).
        assert!(n >= 20, "{}: only {n} voxels", organ.name);
        let patient_mean = f(&series.truth["organ_hu"][&organ.name]);
        assert!(
            (patient_mean - organ.hu).abs() <= 4.0 * organ.hu_jitter + 1e-6,
            "{}: patient mean {patient_mean} vs spec {}",
            organ.name,
            organ.hu
        );
        // The background sits near the bottom of the 12-bit range, which clips its noise.
        let tolerance = 5.0 * standard_error(organ.sd, n) + 1.0;
        assert!(
            (mean - patient_mean).abs() <= tolerance,
            "{}: measured {mean:.1} HU vs {patient_mean:.1} (n {n}, tolerance {tolerance:.1})",
            organ.name
        );
        if n >= 2000 && organ.label != 0 {
            assert!((sd / organ.sd - 1.0).abs() < 0.2, "{}: noise sd {sd:.1} vs spec {}", organ.name, organ.sd);
        }
    }
    // The body outline: air outside, tissue inside.
    let corner = series.labels[0];
    assert_eq!(corner, 0);
}

#[test]
fn phantom_contrast_raises_enhancing_organs() {
    let dir = tempdir();
    let mut opts = options(dir.path(), 64, Some(40));
    opts.contrast = true;
    let report = generate(&opts).expect("generation succeeds");
    let spec = PhantomSpec::builtin().expect("the built-in spec is valid");
    let series = read_series(&report.series[0].dir);
    let obj = &series.objects[0];
    assert_eq!(text(obj, tags::SERIES_DESCRIPTION), "Phantom chest-abdomen with contrast");
    assert!(!text(obj, tags::CONTRAST_BOLUS_AGENT).is_empty());
    assert_eq!(series.truth["contrast"], true);
    let liver = spec.organ("liver").expect("a liver");
    let (mean, _, n) = stats(&series, |i| series.labels[i] == liver.label);
    assert!(n > 100);
    let expected = liver.hu_contrast.expect("the liver enhances");
    assert!((mean - expected).abs() < 4.0 * liver.hu_jitter + 5.0, "liver {mean:.1} HU with contrast, spec {expected}");
}

#[test]
fn phantom_lesions_are_in_truth_and_differ_by_the_offset() {
    let dir = tempdir();
    let mut opts = options(dir.path(), 128, Some(80));
    opts.lesions = vec![lesion("liver:30"), lesion("kidney:20"), lesion("lung:12")];
    let report = generate(&opts).expect("generation succeeds");
    let spec = PhantomSpec::builtin().expect("the built-in spec is valid");
    assert_eq!(report.series[0].lesions, 3);
    let series = read_series(&report.series[0].dir);
    let geometry = &series.truth["geometry"];
    let (rows, columns) =
        (geometry["rows"].as_u64().expect("rows") as usize, geometry["columns"].as_u64().expect("columns") as usize);
    let spacing = f(&geometry["pixel_spacing_mm"][0]);
    let slice_spacing = f(&geometry["slice_spacing_mm"]);
    let lesions = series.truth["lesions"].as_array().expect("lesions");
    assert_eq!(lesions.len(), 3);

    let expected = [("liver", "HCC", 30.0), ("kidney", "RCC", 20.0), ("lung", "Cancer", 12.0)];
    for (truth, (organ, class, diameter)) in lesions.iter().zip(expected) {
        assert_eq!(truth["organ"], organ);
        assert_eq!(truth["class"], class);
        assert_eq!(f(&truth["diameter_mm"]), diameter);
        let rule = spec.lesion_rule(organ).expect("a rule");
        let offset = f(&truth["hu_offset"]);
        assert!((rule.hu_offset[0]..=rule.hu_offset[1]).contains(&offset), "{organ}: offset {offset}");
        if organ != "lung" {
            assert!((10.0..100.0).contains(&offset.abs()), "{organ}: subtle, {offset}");
        }
        let host = spec.organ(organ).expect("an organ");

        // The lesion's voxels: lesion label within its bounding sphere.
        let centre: Vec<f64> = truth["centre_voxel"].as_array().expect("a voxel centre").iter().map(f).collect();
        let radius = diameter / 2.0;
        let near = |i: usize, extra: f64| {
            let (k, r, c) = (i / (rows * columns), i / columns % rows, i % columns);
            let dz = (k as f64 - centre[0]) * slice_spacing;
            let dy = (r as f64 - centre[1]) * spacing;
            let dx = (c as f64 - centre[2]) * spacing;
            (dx * dx + dy * dy + dz * dz).sqrt() <= radius + extra
        };
        let (lesion_mean, _, n) = stats(&series, |i| series.labels[i] == 21 && near(i, 0.01));
        assert!(n >= 10, "{organ}: {n} lesion voxels");
        let (organ_mean, _, m) = stats(&series, |i| series.labels[i] == host.label && near(i, 40.0));
        assert!(m >= 50, "{organ}: {m} organ voxels around the lesion");
        let measured = lesion_mean - organ_mean;
        let tolerance = 4.0 * standard_error(host.sd, n) + 4.0 * standard_error(host.sd, m) + 1.0;
        assert!(
            (measured - offset).abs() <= tolerance,
            "{organ}: measured offset {measured:.1} vs {offset:.1} (tolerance {tolerance:.1})"
        );
        assert!((f(&truth["hu_mean"]) - f(&truth["organ_hu"]) - offset).abs() < 1e-9);
        // Lesion voxels only outside the bounding sphere by less than a voxel (none at all).
        let stray = (0..series.labels.len())
            .filter(|&i| series.labels[i] == 21 && !near(i, 0.01))
            .filter(|&i| {
                lesions.iter().all(|other| {
                    let c: Vec<f64> = other["centre_voxel"].as_array().expect("a voxel centre").iter().map(f).collect();
                    let (k, r, col) = (i / (rows * columns), i / columns % rows, i % columns);
                    let d = ((k as f64 - c[0]) * slice_spacing).powi(2)
                        + ((r as f64 - c[1]) * spacing).powi(2)
                        + ((col as f64 - c[2]) * spacing).powi(2);
                    d.sqrt() > f(&other["diameter_mm"]) / 2.0 + 0.01
                })
            })
            .count();
        assert_eq!(stray, 0, "{organ}: lesion voxels outside every lesion");
    }
}

#[test]
fn phantom_same_seed_gives_identical_files() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let mut opts = options(a.path(), 32, Some(10));
    opts.lesions = vec![lesion("liver:20")];
    opts.patients = 2;
    let first = generate(&opts).expect("generation succeeds");
    opts.out = b.path().to_owned();
    let second = generate(&opts).expect("generation succeeds");
    opts.out = c.path().to_owned();
    opts.seed = 43;
    let other = generate(&opts).expect("generation succeeds");
    assert_eq!(first.series.len(), 2);
    assert_ne!(first.series[0].series_uid, first.series[1].series_uid);
    assert_ne!(first.series[0].study_uid, first.series[1].study_uid);

    for (x, y) in first.series.iter().zip(&second.series) {
        assert_eq!(x.series_uid, y.series_uid);
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(&x.dir).expect("a series folder").map(|e| e.expect("an entry").path()).collect();
        names.sort();
        assert_eq!(names.len(), 12, "10 slices, labels and truth");
        for path in names {
            let name = path.file_name().expect("a file name");
            let bytes_x = std::fs::read(&path).expect("readable");
            let bytes_y = std::fs::read(y.dir.join(name)).expect("readable");
            assert!(bytes_x == bytes_y, "{} differs between runs", name.to_string_lossy());
        }
    }
    let pixels = |dir: &Path| read_series(dir).hu;
    assert_ne!(pixels(&first.series[0].dir), pixels(&other.series[0].dir));
    assert_ne!(first.series[0].series_uid, other.series[0].series_uid);
}

#[test]
fn phantom_transfer_syntaxes_round_trip() {
    let mut reference: Option<Vec<f32>> = None;
    for syntax in PhantomSyntax::ALL {
        let dir = tempdir();
        let mut opts = options(dir.path(), 32, Some(3));
        opts.transfer_syntax = syntax;
        let report = generate(&opts).expect("generation succeeds");
        let series = read_series(&report.series[0].dir);
        for obj in &series.objects {
            assert_eq!(obj.meta().transfer_syntax().trim_end_matches('\0'), syntax.uid());
            assert_eq!(int(obj, tags::ROWS), 32);
        }
        match &reference {
            None => reference = Some(series.hu),
            Some(hu) => assert!(hu == &series.hu, "{syntax}: same pixels"),
        }
    }
}

#[test]
fn phantom_bad_arguments_are_typed_errors() {
    for bad in ["liver", "liver:", ":25", "liver:-3", "liver:0", "liver:abc", "liver:NaN", "li ver:3", "liver:inf"] {
        assert!(matches!(bad.parse::<LesionRequest>(), Err(PhantomError::InvalidLesionRequest { .. })), "{bad}");
    }
    assert!(matches!("jpeg".parse::<PhantomSyntax>(), Err(PhantomError::UnknownTransferSyntax(_))));

    let dir = tempdir();
    let base = options(dir.path(), 32, Some(4));
    let run = |change: &dyn Fn(&mut PhantomOptions)| {
        let mut opts = base.clone();
        change(&mut opts);
        generate(&opts)
    };
    assert!(matches!(
        run(&|o| o.lesions = vec![lesion("spleen:20")]),
        Err(PhantomError::UnknownLesionOrgan { organ, .. }) if organ == "spleen"
    ));
    assert!(matches!(
        run(&|o| o.lesions = vec![lesion("liver:500")]),
        Err(PhantomError::LesionDiameterOutOfRange { .. })
    ));
    assert!(matches!(
        run(&|o| o.lesions = vec![LesionRequest { organ: "liver".into(), diameter_mm: f32::NAN }]),
        Err(PhantomError::LesionDiameterOutOfRange { .. })
    ));
    assert!(matches!(run(&|o| o.patients = 0), Err(PhantomError::InvalidOption(_))));
    assert!(matches!(run(&|o| o.rows = 8), Err(PhantomError::InvalidOption(_))));
    assert!(matches!(run(&|o| o.rows = 4096), Err(PhantomError::InvalidOption(_))));
    assert!(matches!(run(&|o| o.slices = Some(0)), Err(PhantomError::InvalidOption(_))));
    assert!(matches!(run(&|o| o.out = PathBuf::new()), Err(PhantomError::InvalidOption(_))));
    // Two slices cannot hold a 50 mm lesion.
    assert!(matches!(
        run(&|o| {
            o.slices = Some(2);
            o.lesions = vec![lesion("liver:50")];
        }),
        Err(PhantomError::LesionDoesNotFit { .. })
    ));
    assert!(matches!(run(&|o| o.spec = Some(dir.path().join("missing.toml"))), Err(PhantomError::SpecRead { .. })));
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "version = [").expect("writable");
    assert!(matches!(run(&|o| o.spec = Some(broken.clone())), Err(PhantomError::SpecParse { .. })));
    let unknown_field = dir.path().join("unknown.toml");
    std::fs::write(&unknown_field, DEFAULT_SPEC.replace("kind = \"tube\"", "kind = \"tube\"\nwidth = 3"))
        .expect("writable");
    assert!(matches!(run(&|o| o.spec = Some(unknown_field.clone())), Err(PhantomError::SpecParse { .. })));
    let inconsistent = dir.path().join("inconsistent.toml");
    std::fs::write(&inconsistent, DEFAULT_SPEC.replace("label = 9\n", "label = 8\n")).expect("writable");
    assert!(matches!(run(&|o| o.spec = Some(inconsistent.clone())), Err(PhantomError::SpecInvalid { .. })));
    // Nothing was written by the failed runs.
    assert_eq!(
        std::fs::read_dir(dir.path())
            .expect("the folder")
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
            .count(),
        0
    );
}

#[test]
fn phantom_requests_and_syntaxes_parse() {
    assert_eq!(lesion("liver:25"), LesionRequest { organ: "liver".into(), diameter_mm: 25.0 });
    assert_eq!(lesion(" colorectal : 12.5mm ").diameter_mm, 12.5);
    assert_eq!(lesion("HCC:8").organ, "HCC");
    assert_eq!(lesion("liver:25").to_string(), "liver:25");
    for syntax in PhantomSyntax::ALL {
        assert_eq!(syntax.to_string().parse::<PhantomSyntax>().ok(), Some(syntax));
        assert_eq!(syntax.uid().parse::<PhantomSyntax>().ok(), Some(syntax));
    }
    assert_eq!("implicit".parse::<PhantomSyntax>().ok(), Some(PhantomSyntax::ImplicitVrLittleEndian));
    assert_eq!("Explicit_VR_Little_Endian".parse::<PhantomSyntax>().ok(), Some(PhantomSyntax::ExplicitVrLittleEndian));
    assert_eq!("deflate".parse::<PhantomSyntax>().ok(), Some(PhantomSyntax::DeflatedExplicitVrLittleEndian));
    assert_eq!(PhantomSyntax::default(), PhantomSyntax::ExplicitVrLittleEndian);
}

#[test]
fn phantom_spec_on_disk_is_the_builtin_and_covers_the_screened_organs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/phantom/spec.toml");
    let on_disk = std::fs::read_to_string(&path).expect("models/phantom/spec.toml");
    assert_eq!(on_disk, DEFAULT_SPEC);
    let spec = PhantomSpec::load(&path).expect("the spec is valid");
    let screened = [
        ("lung", "Cancer"),
        ("breast", "BC"),
        ("esophagus", "EC"),
        ("stomach", "GC"),
        ("colorectal", "CRC"),
        ("liver", "HCC"),
        ("pancreas", "PDAC"),
        ("kidney", "RCC"),
    ];
    assert_eq!(spec.lesion_rules.len(), screened.len());
    for (name, class) in screened {
        let rule = spec.lesion_rule(name).expect("a rule per screened organ");
        assert_eq!(rule.class, class);
        assert!(spec.lesion_rule(class).is_some_and(|r| r.organ == rule.organ));
        if name != "lung" {
            for offset in rule.hu_offset {
                assert!((5.0..=60.0).contains(&offset.abs()), "{name}: {offset}");
            }
        }
    }
    let names: BTreeMap<u8, &str> = spec.organs.iter().map(|o| (o.label, o.name.as_str())).collect();
    for organ in [
        "fat",
        "muscle",
        "lung",
        "heart",
        "aorta",
        "vertebra",
        "liver",
        "spleen",
        "kidney",
        "pancreas",
        "stomach",
        "colon",
        "esophagus",
        "breast",
    ] {
        assert!(names.values().any(|n| *n == organ), "{organ}");
    }
}

/// Every screened organ takes a lesion, in many patients, with the whole scan: all eight at
/// once at a moderate size, and each alone at the largest diameter its rule accepts.
#[test]
fn phantom_every_screened_organ_takes_a_lesion() {
    let spec = PhantomSpec::builtin().expect("the built-in spec is valid");
    let z_range = [-398.75, -1.25];
    let mut failures = Vec::new();
    for seed in 0..30u64 {
        let sex = if seed % 2 == 0 { Sex::F } else { Sex::M };
        let contrast = seed % 3 == 0;
        let anatomy = Anatomy::build(&spec, seed, 1, sex, contrast);
        let mut placed = Vec::new();
        for (i, rule) in spec.lesion_rules.iter().enumerate() {
            if rule.patient_sex.is_some_and(|s| s != sex) {
                continue;
            }
            let moderate = (rule.diameter_mm[0] * 3.0).min(rule.diameter_mm[1]);
            for largest in [false, true] {
                let diameter = if largest { rule.diameter_mm[1] } else { moderate };
                let others = if largest { &[][..] } else { &placed[..] };
                let mut rng = Rng::for_stream(seed, &[stream::LESION, 1, i as u64]);
                let Ok(lesion) = place_lesion(&spec, &anatomy, rule, diameter, contrast, z_range, others, &mut rng)
                else {
                    failures.push(format!("seed {seed}: {diameter} mm {}", rule.organ));
                    continue;
                };
                assert_eq!(anatomy.label_at(lesion.centre), lesion.host_label);
                let [lo, hi] = rule.offset_range(contrast);
                assert!((lo..=hi).contains(&lesion.hu_offset));
                for (c, r) in &lesion.lobes {
                    let d = ((0..3).map(|i| (c[i] - lesion.centre[i]).powi(2)).sum::<f64>()).sqrt();
                    assert!(d + r <= lesion.radius + 1e-9, "lobes stay in the bounding sphere");
                }
                if !largest {
                    placed.push(lesion);
                }
            }
        }
    }
    assert!(failures.is_empty(), "no room: {failures:#?}");
}

/// The time to write one full 512 x 512 series (run with `--release -- --ignored`).
#[test]
#[ignore = "timing only: cargo test --release -p elysium-dicom phantom -- --ignored --nocapture"]
fn phantom_timing_512() {
    // ELYSIUM_PHANTOM_OUT keeps the series for inspection.
    let dir = tempdir();
    let out = std::env::var_os("ELYSIUM_PHANTOM_OUT").map_or_else(|| dir.path().to_owned(), PathBuf::from);
    let mut opts = PhantomOptions::new(out);
    opts.lesions = vec![lesion("liver:25"), lesion("lung:12"), lesion("pancreas:20")];
    for syntax in PhantomSyntax::ALL {
        opts.transfer_syntax = syntax;
        let start = Instant::now();
        let report = generate(&opts).expect("generation succeeds");
        let elapsed = start.elapsed();
        let bytes: u64 = std::fs::read_dir(&report.series[0].dir)
            .expect("a series folder")
            .map(|e| e.expect("an entry").metadata().expect("metadata").len())
            .sum();
        println!(
            "phantom 512x512x{} ({syntax}): {:.2} s, {:.1} MB on disk, {} threads",
            report.series[0].files,
            elapsed.as_secs_f64(),
            bytes as f64 / 1e6,
            rayon::current_num_threads()
        );
    }
}

#[test]
fn a_chinese_name_is_written_in_utf8_and_declared() {
    let out = tempdir();
    let mut options = options(out.path(), 32, Some(4));
    let name = "Zhang^Wei=张^伟=zhang^wei";
    options.identity = PatientIdentity { name: Some(name.into()), ..PatientIdentity::default() };
    let report = generate(&options).expect("phantom");
    let files = report.series[0].dicom_files().expect("files");
    let object = open_file(&files[0]).expect("reopens");
    assert_eq!(text(&object, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    assert_eq!(text(&object, tags::PATIENT_NAME), name);
    // The bytes on disk are UTF-8 (张 is E5 BC A0), as the declaration says.
    let bytes = std::fs::read(&files[0]).expect("bytes");
    assert!(bytes.windows(3).any(|w| w == [0xE5, 0xBC, 0xA0]), "张 in UTF-8");

    // An ASCII name declares nothing (the default repertoire).
    let plain = generate(&self::options(out.path().join("plain").as_path(), 32, Some(4))).expect("phantom");
    let object = open_file(&plain.series[0].dicom_files().expect("files")[0]).expect("reopens");
    assert!(object.element(tags::SPECIFIC_CHARACTER_SET).is_err());
}

/// A point of truth.json.
fn point(v: &Value) -> [f64; 3] {
    [0, 1, 2].map(|i| f(&v[i]))
}

/// The same patient moved in the scanner by whole pixels and slices: every voxel of the moved
/// label map is the voxel of the unmoved one that many pixels and slices away (where both
/// images hold it), and every position in truth.json moved by exactly the shift.
#[test]
fn phantom_shift_translates_labels_and_truth() {
    // 64 rows: 380 / 64 = 5.9375 mm pixels exactly; 2.5 mm slices. The whole body length is
    // scanned so that the liver and kidneys lie inside the scan moved or not, and their
    // lesions are drawn the same.
    // 2 columns towards +x, 3 rows towards -y, 4 slices towards the head (+z; the slice index
    // grows towards the feet).
    let (columns, rows, slices_up) = (2i64, -3i64, 4i64);
    let pixel = 380.0 / 64.0;
    let shift = [columns as f64 * pixel, rows as f64 * pixel, slices_up as f64 * 2.5];
    assert_eq!(shift, [11.875, -17.8125, 10.0]);
    let (a, b) = (tempdir(), tempdir());
    let mut opts = options(a.path(), 64, Some(160));
    opts.lesions = vec![lesion("liver:20"), lesion("kidney:16")];
    let staging =
        StagingOptions { distant: vec!["liver:15".parse().expect("a distant request")], ..Default::default() };
    let still = generate_staged(&opts, &staging).expect("generation succeeds");
    opts.out = b.path().to_owned();
    opts.shift_mm = shift;
    let moved = generate_staged(&opts, &staging).expect("generation succeeds");
    assert_ne!(still.series[0].series_uid, moved.series[0].series_uid, "a moved patient is another series");
    let (still, moved) = (read_series(&still.series[0].dir), read_series(&moved.series[0].dir));

    // Moved voxel (k, r, c) shows the anatomy at its position less the shift: the unmoved
    // voxel (k + 4, r + 3, c - 2).
    let (n, size) = (160i64, 64i64);
    let mut compared = 0usize;
    for k in 0..n {
        for r in 0..size {
            for c in 0..size {
                let (k0, r0, c0) = (k + slices_up, r - rows, c - columns);
                if !(0..n).contains(&k0) || !(0..size).contains(&r0) || !(0..size).contains(&c0) {
                    continue;
                }
                let at = |k: i64, r: i64, c: i64| ((k * size + r) * size + c) as usize;
                assert_eq!(moved.labels[at(k, r, c)], still.labels[at(k0, r0, c0)], "voxel ({k}, {r}, {c})");
                compared += 1;
            }
        }
    }
    assert!(compared > 100_000, "{compared} voxels compared");
    // Lesions (21) and the metastasis (23) lie away from the image edges: moved whole.
    for label in [21u8, 23] {
        let count = |s: &Series| s.labels.iter().filter(|&&l| l == label).count();
        assert!(count(&moved) > 10 && count(&moved) == count(&still), "label {label}: {}", count(&moved));
    }

    // truth.json: the shift recorded, every position moved by it, the grid unchanged.
    assert_eq!(point(&moved.truth["shift_mm"]), shift);
    assert!(still.truth.get("shift_mm").is_none(), "left out unmoved, as before the option existed");
    assert_eq!(moved.truth["geometry"], still.truth["geometry"]);
    for list in ["lesions", "distant"] {
        let (found, expected) = (moved.truth[list].as_array().expect(list), still.truth[list].as_array().expect(list));
        assert_eq!(found.len(), expected.len());
        assert!(!found.is_empty());
        for (m, s) in found.iter().zip(expected) {
            // Exactly, but for the last bit that serde_json's default float parsing may round
            // differently.
            let (cm, cs) = (point(&m["centre_mm"]), point(&s["centre_mm"]));
            for i in 0..3 {
                assert!((cm[i] - (cs[i] + shift[i])).abs() < 1e-9, "{list}: centre {cm:?} is {cs:?} + {shift:?}");
            }
            let (vm, vs) = (point(&m["centre_voxel"]), point(&s["centre_voxel"]));
            let expected_voxel = [vs[0] - slices_up as f64, vs[1] + rows as f64, vs[2] + columns as f64];
            for i in 0..3 {
                assert!((vm[i] - expected_voxel[i]).abs() < 1e-9, "{list}: voxel {vm:?} vs {expected_voxel:?}");
            }
            assert_eq!(m["diameter_mm"], s["diameter_mm"]);
            assert_eq!(m["laterality"], s["laterality"], "laterality is the patient's own");
        }
    }
}

/// Growth keeps each lesion where it was placed and paints it larger: diameter × 1.5, its
/// lobes scaled about the centre, and 1.5³ as many voxels.
#[test]
fn phantom_growth_paints_the_same_lesion_larger() {
    // 256 rows (1.4844 mm pixels) and 2.5 mm slices: a 20 mm lesion holds about 750 voxels
    // and a 30 mm one about 2,500, so that counting voxel centres measures volume to a few
    // per cent.
    let (a, b) = (tempdir(), tempdir());
    let mut opts = options(a.path(), 256, Some(40));
    opts.lesions = vec![lesion("liver:20")];
    let base = read_series(&generate(&opts).expect("generation succeeds").series[0].dir);
    opts.out = b.path().to_owned();
    opts.growth = 1.5;
    let grown = read_series(&generate(&opts).expect("generation succeeds").series[0].dir);
    assert_eq!(f(&grown.truth["growth"]), 1.5);
    assert!(base.truth.get("growth").is_none(), "left out ungrown, as before the option existed");

    let (l0, l1) = (&base.truth["lesions"][0], &grown.truth["lesions"][0]);
    assert_eq!(l1["centre_mm"], l0["centre_mm"], "placed where it was");
    assert_eq!(l1["shape"], l0["shape"]);
    assert_eq!(f(&l0["diameter_mm"]), 20.0);
    assert_eq!(f(&l1["diameter_mm"]), 30.0);
    let centre = point(&l0["centre_mm"]);
    let lobes = |l: &Value| -> Vec<([f64; 3], f64)> {
        l["lobes"].as_array().expect("lobes").iter().map(|o| (point(&o["centre_mm"]), f(&o["radius_mm"]))).collect()
    };
    let (lobes0, lobes1) = (lobes(l0), lobes(l1));
    assert_eq!(lobes0.len(), lobes1.len());
    for ((c0, r0), (c1, r1)) in lobes0.iter().zip(&lobes1) {
        assert!((r1 - 1.5 * r0).abs() < 1e-9, "lobe radius {r1} vs 1.5 × {r0}");
        for i in 0..3 {
            assert!(
                (c1[i] - (centre[i] + 1.5 * (c0[i] - centre[i]))).abs() < 1e-9,
                "lobe centre scaled about the centre"
            );
        }
    }

    // The lesion label is exactly the voxel centres inside the truth's lobes (the grown lesion
    // still lies in the liver: nothing of it is clipped), counted here from the geometry.
    let inside_lobes = |s: &Series, lobes: &[([f64; 3], f64)]| {
        let g = &s.truth["geometry"];
        let (origin, pixel, spacing) =
            (point(&g["origin_mm"]), f(&g["pixel_spacing_mm"][0]), f(&g["slice_spacing_mm"]));
        let (n, size) = (g["slices"].as_u64().expect("slices") as usize, g["rows"].as_u64().expect("rows") as usize);
        let mut count = 0;
        for k in 0..n {
            for r in 0..size {
                for c in 0..size {
                    let p =
                        [origin[0] + c as f64 * pixel, origin[1] + r as f64 * pixel, origin[2] - k as f64 * spacing];
                    if lobes
                        .iter()
                        .any(|(o, radius)| (0..3).map(|i| (p[i] - o[i]).powi(2)).sum::<f64>() <= radius * radius)
                    {
                        count += 1;
                    }
                }
            }
        }
        count
    };
    let lesion_voxels = |s: &Series| s.labels.iter().filter(|&&l| l == 21).count();
    let (n0, n1) = (lesion_voxels(&base), lesion_voxels(&grown));
    assert_eq!(n0, inside_lobes(&base, &lobes0));
    assert_eq!(n1, inside_lobes(&grown, &lobes1));
    // Each count is the volume over the voxel volume to within the centres the surface passes
    // between, a few per cent at these radii (10 to 15 mm, about 7 to 10 pixels) and mostly
    // cancelling around it; 10 % on the ratio tells the volume law (1.5³ = 3.375) from an area
    // or diameter law (2.25, 1.5).
    let ratio = n1 as f64 / n0 as f64;
    assert!((ratio / 3.375 - 1.0).abs() < 0.10, "{n1} / {n0} voxels = {ratio:.3}, expected about 3.375");
}

#[test]
fn phantom_growth_and_shift_must_be_finite() {
    let dir = tempdir();
    let base = options(dir.path(), 32, Some(4));
    for growth in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let opts = PhantomOptions { growth, ..base.clone() };
        assert!(matches!(generate(&opts), Err(PhantomError::InvalidOption(_))), "growth {growth}");
    }
    for shift_mm in [[f64::NAN, 0.0, 0.0], [0.0, 0.0, f64::INFINITY]] {
        let opts = PhantomOptions { shift_mm, ..base.clone() };
        assert!(matches!(generate(&opts), Err(PhantomError::InvalidOption(_))), "shift {shift_mm:?}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("the folder").count(), 0, "nothing written");

    assert_eq!(parse_shift_mm("12,-9,20").ok(), Some([12.0, -9.0, 20.0]));
    assert_eq!(parse_shift_mm(" -15.5, 6 ,-25 mm").ok(), Some([-15.5, 6.0, -25.0]));
    for bad in ["", "12,-9", "12,-9,20,1", "a,b,c", "1,NaN,2", "1,2,inf", "1;2;3"] {
        assert!(matches!(parse_shift_mm(bad), Err(PhantomError::InvalidOption(_))), "shift `{bad}`");
    }
    assert_eq!(parse_growth("1.5").ok(), Some(1.5));
    assert_eq!(parse_growth(" 0.7 ").ok(), Some(0.7));
    for bad in ["0", "-1", "NaN", "inf", "", "x1.5"] {
        assert!(matches!(parse_growth(bad), Err(PhantomError::InvalidOption(_))), "growth `{bad}`");
    }
}

/// Moved or grown, a patient's series never shares the UIDs (the cache key) of another
/// position or size; unmoved and ungrown, it keeps those it had before these options.
#[test]
fn phantom_shift_and_growth_change_the_uids() {
    let dir = tempdir();
    let base = PhantomOptions { lesions: vec![lesion("liver:20")], ..options(dir.path(), 32, Some(40)) };
    let uid = |change: &dyn Fn(&mut PhantomOptions)| {
        let mut opts = base.clone();
        change(&mut opts);
        options_digest(&opts, DEFAULT_SPEC, 40)
    };
    let plain = uid(&|_| {});
    let variants = [
        uid(&|o| o.shift_mm = [1.0, 0.0, 0.0]),
        uid(&|o| o.shift_mm = [0.0, 0.0, 1.0]),
        uid(&|o| o.shift_mm = [0.0, 0.0, 2.0]),
        uid(&|o| o.growth = 1.5),
        uid(&|o| o.growth = 2.0),
        uid(&|o| {
            o.growth = 1.5;
            o.shift_mm = [1.0, 0.0, 0.0];
        }),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(*v, plain, "variant {i}");
        for w in &variants[i + 1..] {
            assert_ne!(v, w);
        }
    }
    assert_eq!(uid(&|o| o.shift_mm = [-0.0, 0.0, -0.0]), plain, "a zero shift is no shift");
    // The digest of an unmoved, ungrown patient is what it was before these options existed:
    // the same hash over the same inputs.
    let mut h = Sha256::new();
    h.update(DEFAULT_SPEC.as_bytes());
    h.update(32u16.to_le_bytes());
    h.update(40u64.to_le_bytes());
    h.update([0u8]);
    h.update(b"liver");
    h.update(20f32.to_le_bytes());
    assert_eq!(plain, <[u8; 32]>::from(h.finalize()));
}

/// An invading lesion grown: placed where it was, against the same contact point, reaching
/// deeper into the wall. The contact lies on the lesion's sphere less the overlap, so that
/// overlap grows by the radius's growth.
#[test]
fn phantom_growth_deepens_an_invasion() {
    let (a, b) = (tempdir(), tempdir());
    let staging = StagingOptions {
        invasion: vec!["lung:chest_wall".parse().expect("an invasion request")],
        ..Default::default()
    };
    let mut opts = PhantomOptions { seed: 1, lesions: vec![lesion("lung:30")], ..options(a.path(), 32, Some(116)) };
    let base = read_series(&generate_staged(&opts, &staging).expect("generation succeeds").series[0].dir);
    opts.out = b.path().to_owned();
    opts.growth = 1.5;
    let grown = read_series(&generate_staged(&opts, &staging).expect("generation succeeds").series[0].dir);

    let (i0, i1) = (&base.truth["invasion"][0], &grown.truth["invasion"][0]);
    assert_eq!(i1["contact_mm"], i0["contact_mm"]);
    assert_eq!(grown.truth["lesions"][0]["centre_mm"], base.truth["lesions"][0]["centre_mm"]);
    // Radius 15 mm grown to 22.5 mm: 7.5 mm deeper.
    assert!((f(&i1["overlap_mm"]) - (f(&i0["overlap_mm"]) + 7.5)).abs() < 1e-9);
    let centre = point(&grown.truth["lesions"][0]["centre_mm"]);
    let contact = point(&i1["contact_mm"]);
    let d = (0..3).map(|i| (contact[i] - centre[i]).powi(2)).sum::<f64>().sqrt();
    assert!((d - (22.5 - f(&i1["overlap_mm"]))).abs() < 1e-6, "the contact lies overlap_mm inside the sphere");
}
