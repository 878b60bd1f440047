//! Studies for people: the study list, a study's page and the viewer's slice stack.

use serde::{Deserialize, Serialize};

/// Rows per page of the study list.
pub const STUDIES_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyItem {
    pub study_uid: String,
    pub patient_id: String,
    /// Who assigned `patient_id` (the patient is this pair, never the ID alone).
    pub patient_authority: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<String>,
    pub study_date: Option<String>,
    pub accession_number: Option<String>,
    pub description: Option<String>,
    pub site: Option<String>,
    pub modalities: Vec<String>,
    pub series_count: i64,
    pub instance_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesItem {
    pub series_uid: String,
    pub series_number: Option<i32>,
    pub description: Option<String>,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub contrast: Option<String>,
    pub slice_thickness: Option<f64>,
    pub matrix: Option<String>,
    pub instance_count: i32,
    /// The screening eligibility verdict from the series' header and slice count.
    pub eligibility: Option<EligibilityView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibilityView {
    pub eligible: bool,
    pub contrast_phase: String,
    /// What blocks screening.
    pub reasons: Vec<String>,
    /// The codes of the rules it failed (`domain::program::SkipReason`), which the page labels
    /// in its language.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Caveats of an eligible series.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyWithSeries {
    pub study: StudyItem,
    pub series: Vec<SeriesItem>,
    /// Demographics mismatches of the study's patient (this study's and the patient's other
    /// studies'), open and resolved.
    pub mismatches: Vec<crate::model::patients::MismatchView>,
}

/// One slice of the viewer: its instance and its position along the slice normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewerSlice {
    pub sop_instance_uid: String,
    pub position_mm: Option<f64>,
    /// Image Position (Patient) (0020,0032): the centre of the slice's first pixel, mm; `None`
    /// where the instance does not carry three values.
    #[serde(default)]
    pub image_position: Option<[f64; 3]>,
}

/// A series in the slice viewer, with the geometry it measures with
/// ([`crate::domain::geometry`]); a series without a pixel spacing offers no measuring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceStack {
    pub study_uid: String,
    pub series_uid: String,
    pub description: Option<String>,
    pub slices: Vec<ViewerSlice>,
    /// Pixel Spacing (0028,0030): `[row spacing (vertical), column spacing (horizontal)]`, mm.
    #[serde(default)]
    pub pixel_spacing: Option<[f64; 2]>,
    /// Image Orientation (Patient) (0020,0037): row then column direction cosines.
    #[serde(default)]
    pub orientation: Option<[f64; 6]>,
}
