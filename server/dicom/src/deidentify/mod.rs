//! De-identification of stored instances for research exports, by the DICOM PS3.15 Annex E
//! Basic Application Level Confidentiality Profile (DCM 113100) with the Retain Longitudinal
//! Temporal Information with Modified Dates Option (DCM 113107): dates are shifted by the
//! patient's offset rather than emptied, so the intervals between a patient's scans survive.
//!
//! - [`table`]: the profile's attribute table (Table E.1-1), kept as data in
//!   `ps3.15-table-e1-1.tsv` and parsed at first use;
//! - [`apply`]: the table's actions over a data set, at every nesting level;
//! - [`dates`]: the date shift;
//! - [`deidentify_file`]: one Part 10 file in, one out, with the transfer syntax and the pixel
//!   data as they were.
//!
//! What the caller supplies ([`Replacements`]): the patient's pseudonym, their date shift and a
//! deterministic UID replacement (the export keys all three; see the server's `export` module).
//! Burned-in text in the pixel data is not removed: the Basic Profile does not clean pixel data.

pub mod apply;
pub mod dates;
pub mod table;

pub use apply::{BASIC_PROFILE, MODIFIED_DATES_OPTION, Replacements, deidentify};
pub use table::{Action, Table, TableError};

use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;

use crate::header::HeaderError;
use crate::uid::Uid;

#[derive(Debug, thiserror::Error)]
pub enum DeidentifyError {
    #[error("the profile's table: {0}")]
    Table(#[from] TableError),
    #[error("the stored instance cannot be read: {0}")]
    Read(#[from] HeaderError),
    #[error("the de-identified instance has no valid {0}")]
    Uid(&'static str),
    #[error("the de-identified instance cannot be written: {0}")]
    Write(String),
}

/// One de-identified Part 10 file and the replacement UIDs that name it.
#[derive(Debug, Clone)]
pub struct Deidentified {
    pub bytes: Vec<u8>,
    pub study_uid: Uid,
    pub series_uid: Uid,
    pub sop_instance_uid: Uid,
}

/// De-identifies one stored instance (Part 10 bytes). The file meta group is written anew (the
/// source's, which names the sending application, is not carried over); the transfer syntax
/// stays, so compressed pixel data is kept as it was, fragment for fragment.
pub fn deidentify_file(bytes: &[u8], with: &Replacements<'_>) -> Result<Deidentified, DeidentifyError> {
    let table = Table::standard()?;
    let parsed = crate::header::parse(bytes)?;
    let syntax = parsed.object.meta().transfer_syntax().trim_end_matches(['\0', ' ']).to_owned();
    let object = deidentify(table, parsed.object.into_inner(), with);
    let uid = |tag, name: &'static str| -> Result<Uid, DeidentifyError> {
        let value = object.get(tag).and_then(|e| e.to_str().ok()).ok_or(DeidentifyError::Uid(name))?;
        Uid::parse(&value).map_err(|_| DeidentifyError::Uid(name))
    };
    let study_uid = uid(tags::STUDY_INSTANCE_UID, "Study Instance UID")?;
    let series_uid = uid(tags::SERIES_INSTANCE_UID, "Series Instance UID")?;
    let sop_instance_uid = uid(tags::SOP_INSTANCE_UID, "SOP Instance UID")?;
    let file = object
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(syntax))
        .map_err(|e| DeidentifyError::Write(e.to_string()))?;
    let mut out = Vec::with_capacity(bytes.len());
    file.write_all(&mut out).map_err(|e| DeidentifyError::Write(e.to_string()))?;
    Ok(Deidentified { bytes: out, study_uid, series_uid, sop_instance_uid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::Tag;
    use dicom_core::header::Header;
    use dicom_object::OpenFileOptions;
    use dicom_object::file::ReadPreamble;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/dicom/pydicom/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn mapped(uid: &str) -> String {
        // Any deterministic map will do here; the export's is keyed.
        let sum: u64 = uid.bytes().map(u64::from).sum();
        format!("2.25.{sum}{}", uid.len())
    }

    #[test]
    fn a_public_ct_instance_keeps_its_pixels_and_loses_its_identity() {
        let source = fixture("CT_small.dcm");
        let with = Replacements { pseudonym: "P0123456789ABCDEF", shift_days: -100, uid: &mapped };
        let out = deidentify_file(&source, &with).expect("de-identified");
        let read = |bytes: &[u8]| {
            OpenFileOptions::new().read_preamble(ReadPreamble::Never).from_reader(&bytes[128..]).expect("readable")
        };
        let (before, after) = (read(&source), read(&out.bytes));
        assert_eq!(after.meta().transfer_syntax(), before.meta().transfer_syntax());
        assert_eq!(after.element(tags::PIXEL_DATA).ok(), before.element(tags::PIXEL_DATA).ok());
        assert_eq!(out.study_uid.as_str(), mapped("1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"));
        let text = String::from_utf8_lossy(&out.bytes);
        for identifier in [
            "CompressedSamples",
            "1CT1",
            "JFK IMAGING",
            "CT01_OC0",
            "ABCD1234",
            "GEMS_",
            "20040119",
            "19970430",
            "1.3.6.1.4.1.5962",
        ] {
            assert!(!text.contains(identifier), "{identifier} survived");
        }
        let study_date =
            after.element(tags::STUDY_DATE).ok().and_then(|e| e.to_str().ok()).map(|s| s.trim().to_owned());
        assert_eq!(study_date.as_deref(), Some("20031011"));
        assert!(after.iter().all(|e| e.tag().group() % 2 == 0));
        assert!(after.element(Tag(0x0012, 0x0062)).is_ok());
    }
}
