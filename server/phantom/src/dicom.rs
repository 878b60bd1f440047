//! The DICOM side of the phantom: UIDs, dates, the CT image attributes, and encoding.

use std::io::BufWriter;
use std::path::Path;

use dicom_core::smallvec::SmallVec;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};

use super::{PhantomError, PhantomSyntax};

/// `2.25.<decimal of the first 128 bits of SHA-256(parts)>`: valid (digits and dots, no
/// leading zero, at most 44 characters) and deterministic.
pub(crate) fn derive_uid(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"elysium-phantom-uid/1");
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    format!("2.25.{}", u128::from_be_bytes(first))
}

/// Whether `uid` is a valid DICOM UID (PS3.5 §9.1).
#[cfg(test)]
pub(crate) fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid
            .split('.')
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && (c.len() == 1 || !c.starts_with('0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(crate) fn da((y, m, d): (i64, u32, u32)) -> String {
    format!("{y:04}{m:02}{d:02}")
}

/// A DS value: rounded to 0.0001, without trailing zeros (at most 16 characters for the
/// magnitudes the phantom uses).
pub(crate) fn ds(value: f64) -> String {
    let mut s = format!("{:.4}", round4(value));
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".to_owned() } else { s }
}

pub(crate) fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn strs<const N: usize>(values: [String; N]) -> PrimitiveValue {
    PrimitiveValue::Strs(SmallVec::from_vec(values.to_vec()))
}

/// Everything the slices of one series share.
pub(crate) struct SeriesAttributes<'a> {
    pub patient_name: &'a str,
    pub patient_id: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub age_years: u32,
    pub study_uid: &'a str,
    pub series_uid: &'a str,
    pub frame_of_reference_uid: &'a str,
    pub study_date: &'a str,
    pub study_time: &'a str,
    pub accession: &'a str,
    pub contrast: bool,
    pub rows: u16,
    pub columns: u16,
    /// Row spacing (along y), column spacing (along x).
    pub pixel_spacing: [f64; 2],
    pub slice_thickness: f64,
    pub slice_spacing: f64,
}

pub(crate) const MANUFACTURER: &str = "Elysium Phantom";
pub(crate) const BODY_PART: &str = "CHESTABDOMEN";
pub(crate) const RESCALE_INTERCEPT: f64 = -1024.0;
/// Stored values are HU + 1024 in 12 bits (0..=4095): -1024..=3071 HU.
pub(crate) const MAX_STORED: f32 = 4095.0;

pub(crate) fn series_description(contrast: bool) -> &'static str {
    if contrast { "Phantom chest-abdomen with contrast" } else { "Phantom chest-abdomen non-contrast" }
}

/// The attributes shared by every slice of a series.
pub(crate) fn series_template(a: &SeriesAttributes<'_>) -> InMemDicomObject {
    let text = |tag: Tag, vr: VR, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let mut elements = vec![
        DataElement::new(tags::IMAGE_TYPE, VR::CS, strs(["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()])),
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(tags::STUDY_DATE, VR::DA, a.study_date),
        text(tags::SERIES_DATE, VR::DA, a.study_date),
        text(tags::ACQUISITION_DATE, VR::DA, a.study_date),
        text(tags::CONTENT_DATE, VR::DA, a.study_date),
        text(tags::STUDY_TIME, VR::TM, a.study_time),
        text(tags::SERIES_TIME, VR::TM, a.study_time),
        text(tags::ACQUISITION_TIME, VR::TM, a.study_time),
        text(tags::CONTENT_TIME, VR::TM, a.study_time),
        text(tags::ACCESSION_NUMBER, VR::SH, a.accession),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::MANUFACTURER, VR::LO, MANUFACTURER),
        text(tags::INSTITUTION_NAME, VR::LO, "Elysium synthetic data"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        text(tags::STUDY_DESCRIPTION, VR::LO, "CT chest abdomen (synthetic phantom)"),
        text(tags::SERIES_DESCRIPTION, VR::LO, series_description(a.contrast)),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "elysium-dicom phantom"),
        text(tags::PATIENT_NAME, VR::PN, a.patient_name),
        text(tags::PATIENT_ID, VR::LO, a.patient_id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, a.birth_date),
        text(tags::PATIENT_SEX, VR::CS, a.sex),
        text(tags::PATIENT_AGE, VR::AS, &format!("{:03}Y", a.age_years)),
        text(tags::BODY_PART_EXAMINED, VR::CS, BODY_PART),
        text(tags::SLICE_THICKNESS, VR::DS, &ds(a.slice_thickness)),
        text(tags::KVP, VR::DS, "120"),
        text(tags::SPACING_BETWEEN_SLICES, VR::DS, &ds(a.slice_spacing)),
        text(tags::SOFTWARE_VERSIONS, VR::LO, concat!("elysium-dicom ", env!("CARGO_PKG_VERSION"))),
        text(tags::CONVOLUTION_KERNEL, VR::SH, "STANDARD"),
        text(tags::PATIENT_POSITION, VR::CS, "HFS"),
        text(tags::STUDY_INSTANCE_UID, VR::UI, a.study_uid),
        text(tags::SERIES_INSTANCE_UID, VR::UI, a.series_uid),
        text(tags::STUDY_ID, VR::SH, "1"),
        text(tags::SERIES_NUMBER, VR::IS, "1"),
        text(tags::ACQUISITION_NUMBER, VR::IS, "1"),
        DataElement::new(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            strs(["1", "0", "0", "0", "1", "0"].map(String::from)),
        ),
        text(tags::FRAME_OF_REFERENCE_UID, VR::UI, a.frame_of_reference_uid),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(a.rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(a.columns)),
        DataElement::new(tags::PIXEL_SPACING, VR::DS, strs([ds(a.pixel_spacing[0]), ds(a.pixel_spacing[1])])),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)),
        text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        text(tags::WINDOW_CENTER, VR::DS, "40"),
        text(tags::WINDOW_WIDTH, VR::DS, "400"),
        text(tags::RESCALE_INTERCEPT, VR::DS, &ds(RESCALE_INTERCEPT)),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
        text(tags::RESCALE_TYPE, VR::LO, "HU"),
        text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
    ];
    if !a.patient_name.is_ascii() {
        // A name beyond ASCII (a Chinese patient's ideographic group) is written in UTF-8, which
        // the data set then has to declare (PS3.3 C.12.1.1.2); ASCII needs no declaration.
        elements.push(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    }
    if a.contrast {
        elements.push(text(tags::CONTRAST_BOLUS_AGENT, VR::LO, "Iohexol 350 mgI/mL (synthetic)"));
        elements.push(text(tags::CONTRAST_BOLUS_ROUTE, VR::LO, "IV"));
    }
    InMemDicomObject::from_element_iter(elements)
}

/// One slice, encoded as a Part 10 file in memory.
pub(crate) fn encode_slice(
    template: &InMemDicomObject,
    sop_instance_uid: &str,
    instance_number: u32,
    position: [f64; 3],
    pixels: Vec<u16>,
    syntax: PhantomSyntax,
    path: &Path,
) -> Result<Vec<u8>, PhantomError> {
    let mut obj = template.clone();
    let text = |tag: Tag, vr: VR, value: String| DataElement::new(tag, vr, PrimitiveValue::from(value));
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, sop_instance_uid.to_owned()));
    obj.put(text(tags::INSTANCE_NUMBER, VR::IS, instance_number.to_string()));
    obj.put(DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, strs(position.map(ds))));
    obj.put(text(tags::SLICE_LOCATION, VR::DS, ds(position[2])));
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(SmallVec::from_vec(pixels))));
    encode_file(obj, syntax).map_err(|source| PhantomError::Dicom { path: path.to_owned(), source })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Encodes a data set as a Part 10 file with `syntax`.
///
/// For the deflated syntax, dicom-rs's own path (`FileDicomObject::write_all`) feeds its
/// deflate adapter one element value at a time, unbuffered, which takes seconds per series;
/// here the same explicit VR little endian data set goes through a buffer into the same
/// deflate encoder (raw deflate, fast level), which gives the same bytes (tested).
fn encode_file(obj: InMemDicomObject, syntax: PhantomSyntax) -> Result<Vec<u8>, BoxError> {
    let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(syntax.uid()))?;
    let mut bytes = Vec::with_capacity(1 << 20);
    if syntax != PhantomSyntax::DeflatedExplicitVrLittleEndian {
        file.write_all(&mut bytes)?;
        return Ok(bytes);
    }
    bytes.extend_from_slice(&[0u8; 128]);
    bytes.extend_from_slice(b"DICM");
    file.meta().write(&mut bytes)?;
    let deflater = DeflateEncoder::new(bytes, Compression::fast());
    let mut buffered = BufWriter::with_capacity(1 << 16, deflater);
    let explicit = dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased();
    file.write_dataset_with_ts(&mut buffered, &explicit)?;
    let deflater = buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(deflater.finish()?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn phantom_deflated_files_match_the_dicom_rs_encoder() {
        let template = series_template(&SeriesAttributes {
            patient_name: "PHANTOM^0001",
            patient_id: "PH-1-0001",
            birth_date: "19600101",
            sex: "F",
            age_years: 63,
            study_uid: "2.25.1",
            series_uid: "2.25.2",
            frame_of_reference_uid: "2.25.3",
            study_date: "20240101",
            study_time: "120000",
            accession: "PH1",
            contrast: true,
            rows: 16,
            columns: 16,
            pixel_spacing: [0.5, 0.5],
            slice_thickness: 2.5,
            slice_spacing: 2.5,
        });
        let mut obj = template.clone();
        obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("2.25.4")));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16((0..256u16).map(|v| v * 13 % 4096).collect()),
        ));
        let syntax = PhantomSyntax::DeflatedExplicitVrLittleEndian;
        let ours = encode_file(obj.clone(), syntax).expect("our encoding");
        let mut native = Vec::new();
        obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(syntax.uid()))
            .expect("a meta group")
            .write_all(&mut native)
            .expect("dicom-rs's encoding");
        // The same preamble and meta group, then the same data set once inflated (the
        // compressed streams may differ with the write pattern).
        let meta_end = |b: &[u8]| {
            let length = u32::from_le_bytes([b[140], b[141], b[142], b[143]]);
            144 + length as usize
        };
        let (end_ours, end_native) = (meta_end(&ours), meta_end(&native));
        assert!(ours[..end_ours] == native[..end_native], "identical meta groups");
        let inflate = |b: &[u8]| {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(b).read_to_end(&mut out).expect("raw deflate");
            out
        };
        let (data_ours, data_native) = (inflate(&ours[end_ours..]), inflate(&native[end_native..]));
        assert!(data_ours.len() > 512);
        assert!(data_ours == data_native, "identical data sets");
    }

    #[test]
    fn phantom_dates_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2024, 12, 31), (1943, 7, 15)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 1, 1), 19_358);
    }

    #[test]
    fn phantom_ds_is_short_and_exact() {
        assert_eq!(ds(0.7421875), "0.7422");
        assert_eq!(ds(-189.63210000001), "-189.6321");
        assert_eq!(ds(2.5), "2.5");
        assert_eq!(ds(-1024.0), "-1024");
        assert_eq!(ds(-0.00001), "0");
    }

    #[test]
    fn phantom_uids_are_valid() {
        for i in 0..200u32 {
            let uid = derive_uid(&[b"x", &i.to_le_bytes()]);
            assert!(is_valid_uid(&uid), "{uid}");
        }
        assert!(!is_valid_uid("1.02.3"));
        assert!(!is_valid_uid("1..3"));
        assert!(!is_valid_uid("1.a"));
        assert!(is_valid_uid("2.25.0"));
    }
}
