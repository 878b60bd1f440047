//! `manifest.json`: what an export holds and how it was de-identified, with its counts and the
//! software that wrote it. It names no patient, study or instance.

use serde_json::{Value, json};
use time::Date;

use super::images::{DICOM_FOLDER, ImageCounts};
use super::tables::{DECISIONS_FILE, FINDINGS_FILE, Period, Tables};
use elysium_dicom::deidentify::{BASIC_PROFILE, MODIFIED_DATES_OPTION};

pub const MANIFEST_FILE: &str = "manifest.json";

pub fn manifest(period: Period, tables: &Tables, images: &ImageCounts, created_on: Date) -> Value {
    let code = |(value, meaning): (&str, &str)| json!({ "code": value, "scheme": "DCM", "meaning": meaning });
    json!({
        "export": "Elysium de-identified research export",
        "software": { "name": "elysium", "version": env!("CARGO_PKG_VERSION") },
        "created_on": app::format::date(created_on),
        "period": {
            "from": app::format::date(period.from),
            "to": app::format::date(period.to),
            "by": "scan date: the study's date (for a finding whose study has none, the day it was detected), as the programme dashboard counts it; board cases by their finding's scan date, else their series' study date, else the day they were opened",
        },
        "deidentification": {
            "profile": code(BASIC_PROFILE),
            "options": [code(MODIFIED_DATES_OPTION)],
            "attribute_table": "DICOM PS3.15 2024b Table E.1-1 (Application Level Confidentiality Profile Attributes)",
            "compound_actions": "the first alternative (X of X/Z, X/D, X/Z/D and X/Z/U*; Z of Z/D)",
            "patients": "Patient's Name and Patient ID are the patient's pseudonym: HMAC-SHA256 of the patient's assigning authority and ID under the export key (the same key gives the same pseudonym in every export)",
            "dates": "every date of a patient is moved by the same whole number of days (between -365 and -1, derived from the same HMAC): intervals are kept; times of day are kept",
            "uids": "replaced by 2.25 UIDs derived with HMAC-SHA256 of the original under the export key: consistent between instances and between exports with the same key",
            "private_attributes": "removed",
            "free_text": "removed or emptied as the profile's table says; the tables have no free-text column",
            "pixel_data": "unchanged: burned-in text in the images is not removed (the Basic Profile does not clean pixel data; the Clean Pixel Data Option is not claimed)",
        },
        "files": {
            FINDINGS_FILE: { "rows": tables.findings.len(), "one_row_per": "AI-positive finding of the period" },
            DECISIONS_FILE: { "rows": tables.decisions.len(), "one_row_per": "decided tumour-board case of the period (its signed decision)" },
            DICOM_FOLDER: {
                "layout": "dicom/<patient pseudonym>/<study UID>/<series UID>/<SOP instance UID>.dcm",
                "patients": images.patients,
                "studies": images.studies,
                "series": images.series,
                "instances": images.instances,
                "bytes": images.bytes,
            },
        },
        "patients": tables.patients.len(),
    })
}
