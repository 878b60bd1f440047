//! Applying the profile to a data set (`InMemDicomObject`), attribute by attribute, at every
//! nesting level:
//!
//! | Attribute | What happens |
//! |---|---|
//! | Patient's Name, Patient ID | the patient's pseudonym (a dummy value the Z and Z/D actions allow) |
//! | a date the Modified Dates Option lists (C), or any DA/DT the table does not list | shifted by the patient's days (DA; DT's date part); TM kept (a whole-day shift leaves times of day as they were) |
//! | a date that cannot be shifted (not a full date) | the Basic Profile's action; removed when the table does not list it |
//! | X (and a compound action's X) | removed, sequences with their items |
//! | Z | zero length (an empty sequence) |
//! | D, C | a dummy value of the VR (C: nothing here cleans better than a dummy); a sequence is cleaned item by item |
//! | U | each UID replaced by the caller's deterministic replacement, so references between instances stay consistent |
//! | K, and every attribute the table does not list | kept; a sequence is cleaned item by item |
//! | private attributes (odd groups) | removed (the table's `(gggg,eeee)` row) |
//!
//! Pixel data is kept byte for byte: the Basic Profile does not clean burned-in text (that is
//! the Clean Pixel Data Option, which this does not claim).
//! The top level then records what was done: Patient Identity Removed (0012,0062) `YES`,
//! De-identification Method (0012,0063), De-identification Method Code Sequence (0012,0064)
//! with DCM 113100 and 113107, and Longitudinal Temporal Information Modified (0028,0303)
//! `MODIFIED`.

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, mem::InMemElement};

use super::dates::{shift_date, shift_datetime};
use super::table::{Action, Table};

/// The text written where the profile asks for a dummy value (valid in every text VR, CS and
/// AE included: at most 16 characters, upper case).
pub const DUMMY_TEXT: &str = "DEIDENTIFIED";

/// The code of the profile (DCM, PS3.16 CID 7050 "De-identification Method").
pub const BASIC_PROFILE: (&str, &str) = ("113100", "Basic Application Confidentiality Profile");
/// The code of the option applied: dates shifted rather than removed.
pub const MODIFIED_DATES_OPTION: (&str, &str) =
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option");

/// What replaces the patient's identity in one patient's instances.
pub struct Replacements<'a> {
    /// Patient's Name and Patient ID become this.
    pub pseudonym: &'a str,
    /// Days every date of the patient moves by (the same for all their instances).
    pub shift_days: i64,
    /// The replacement of a UID; the same original always gets the same replacement.
    pub uid: &'a (dyn Fn(&str) -> String + Sync),
}

/// `object` de-identified by `table`'s Basic Profile with the Modified Dates Option.
pub fn deidentify(table: &Table, object: InMemDicomObject, with: &Replacements<'_>) -> InMemDicomObject {
    let mut object = clean(table, object, with);
    for element in method_attributes() {
        object.put(element);
    }
    object
}

/// The attributes that say what was done (top level only).
fn method_attributes() -> Vec<InMemElement> {
    let code = |(value, meaning): (&str, &str)| {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
            DataElement::new(tags::CODING_SCHEME_DESIGNATOR, VR::SH, PrimitiveValue::from("DCM")),
            DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
        ])
    };
    let methods = [BASIC_PROFILE.1, MODIFIED_DATES_OPTION.1].map(str::to_owned);
    vec![
        DataElement::new(tags::PATIENT_IDENTITY_REMOVED, VR::CS, PrimitiveValue::from("YES")),
        DataElement::new(tags::DEIDENTIFICATION_METHOD, VR::LO, PrimitiveValue::Strs(methods.into_iter().collect())),
        DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            Value::Sequence(DataSetSequence::new(
                vec![code(BASIC_PROFILE), code(MODIFIED_DATES_OPTION)],
                Length::UNDEFINED,
            )),
        ),
        DataElement::new(tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, VR::CS, PrimitiveValue::from("MODIFIED")),
    ]
}

fn clean(table: &Table, object: InMemDicomObject, with: &Replacements<'_>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(object.into_iter().filter_map(|element| clean_element(table, element, with)))
}

fn clean_element(table: &Table, element: InMemElement, with: &Replacements<'_>) -> Option<InMemElement> {
    let (tag, vr) = (element.tag(), element.vr());
    if tag == tags::PATIENT_NAME || tag == tags::PATIENT_ID {
        return Some(DataElement::new(tag, vr, PrimitiveValue::from(with.pseudonym)));
    }
    let row = table.get(tag);
    let is_date = matches!(vr, VR::DA | VR::DT | VR::TM);
    if is_date && row.is_none_or(|r| r.modified_dates.is_some()) {
        match shift(&element, with.shift_days) {
            Some(shifted) => return Some(shifted),
            // A date the table does not list and that cannot be shifted is not kept.
            None if row.is_none() => return None,
            None => {}
        }
    }
    match row.map_or(Action::K, |r| r.basic.taken()) {
        Action::X => None,
        Action::Z if vr == VR::SQ => Some(sequence(tag, Vec::new())),
        Action::Z => Some(DataElement::empty(tag, vr)),
        Action::U if vr != VR::SQ => Some(replace_uids(element, with)),
        Action::D | Action::C if vr != VR::SQ => Some(dummy(element, with)),
        // K, and D, C or U on a sequence: the sequence stays and its items are cleaned.
        _ => Some(recurse(table, element, with)),
    }
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)))
}

/// A sequence with each item cleaned; any other element as it was.
fn recurse(table: &Table, element: InMemElement, with: &Replacements<'_>) -> InMemElement {
    if element.items().is_none() {
        return element;
    }
    let tag = element.tag();
    let items = element.into_value().into_items().unwrap_or_default();
    sequence(tag, items.into_iter().map(|item| clean(table, item, with)).collect())
}

/// Text values of a primitive element (`None` for sequences and fragments).
fn texts(element: &InMemElement) -> Option<Vec<String>> {
    element.value().primitive().map(|p| p.to_multi_str().iter().map(|s| s.trim().to_owned()).collect())
}

fn strs(values: Vec<String>) -> PrimitiveValue {
    PrimitiveValue::Strs(values.into_iter().collect())
}

/// A DA or DT moved by `days`, a TM as it was; `None` when a value is not a full date.
fn shift(element: &InMemElement, days: i64) -> Option<InMemElement> {
    let (tag, vr) = (element.tag(), element.vr());
    let values = texts(element)?;
    if vr == VR::TM || values.iter().all(String::is_empty) {
        return Some(element.clone());
    }
    let shifted = values
        .iter()
        .map(|v| if vr == VR::DA { shift_date(v, days) } else { shift_datetime(v, days) })
        .collect::<Option<Vec<String>>>()?;
    Some(DataElement::new(tag, vr, strs(shifted)))
}

fn replace_uids(element: InMemElement, with: &Replacements<'_>) -> InMemElement {
    let (tag, vr) = (element.tag(), element.vr());
    match texts(&element) {
        Some(values) if !values.iter().all(String::is_empty) => DataElement::new(
            tag,
            vr,
            strs(values.iter().map(|v| if v.is_empty() { String::new() } else { (with.uid)(v) }).collect()),
        ),
        _ => DataElement::empty(tag, vr),
    }
}

/// A non-empty dummy value of the element's VR (a UID's replacement for a UI; nothing for the
/// binary VRs, whose dummy would mean nothing).
fn dummy(element: InMemElement, with: &Replacements<'_>) -> InMemElement {
    let (tag, vr) = (element.tag(), element.vr());
    let value = match vr {
        VR::UI => return replace_uids(element, with),
        VR::AE | VR::CS | VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UR | VR::UT => {
            PrimitiveValue::from(DUMMY_TEXT)
        }
        VR::DA => PrimitiveValue::from("19000101"),
        VR::DT => PrimitiveValue::from("19000101000000"),
        VR::TM => PrimitiveValue::from("000000"),
        VR::AS => PrimitiveValue::from("000D"),
        VR::DS | VR::IS => PrimitiveValue::from("0"),
        VR::US => PrimitiveValue::from(0u16),
        VR::SS => PrimitiveValue::from(0i16),
        VR::UL => PrimitiveValue::from(0u32),
        VR::SL => PrimitiveValue::from(0i32),
        VR::UV => PrimitiveValue::from(0u64),
        VR::SV => PrimitiveValue::from(0i64),
        VR::FL => PrimitiveValue::from(0f32),
        VR::FD => PrimitiveValue::from(0f64),
        VR::AT => PrimitiveValue::from(Tag(0, 0)),
        VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::UN | VR::SQ => PrimitiveValue::Empty,
    };
    DataElement::new(tag, vr, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }

    fn mapped(uid: &str) -> String {
        format!("2.25.{}", uid.len())
    }

    fn replacements() -> Replacements<'static> {
        Replacements { pseudonym: "PSEUDONYM", shift_days: -10, uid: &mapped }
    }

    fn value(object: &InMemDicomObject, tag: Tag) -> Option<String> {
        object.get(tag).map(|e| e.to_str().map(|s| s.trim().to_owned()).unwrap_or_default())
    }

    fn source() -> InMemDicomObject {
        let item = InMemDicomObject::from_element_iter([
            text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5"),
            text(tags::PATIENT_ID, VR::LO, "NESTED-ID"),
        ]);
        let other_ids = InMemDicomObject::from_element_iter([text(tags::PATIENT_ID, VR::LO, "ABCD1234")]);
        InMemDicomObject::from_element_iter([
            text(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
            text(tags::PATIENT_ID, VR::LO, "MRN-1"),
            text(tags::PATIENT_BIRTH_DATE, VR::DA, "19600101"),
            text(tags::ACCESSION_NUMBER, VR::SH, "ACC-9"),
            text(tags::INSTITUTION_NAME, VR::LO, "General Hospital"),
            text(tags::OPERATORS_NAME, VR::PN, "Smith^Tech"),
            text(tags::PERSON_NAME, VR::PN, "Brown^Observer"),
            text(tags::STUDY_DATE, VR::DA, "20040119"),
            text(tags::STUDY_TIME, VR::TM, "072730"),
            text(tags::ACQUISITION_DATE_TIME, VR::DT, "20040119072730"),
            text(tags::DATE_OF_SECONDARY_CAPTURE, VR::DA, "20040120"),
            text(tags::DATE_OF_LAST_CALIBRATION, VR::DA, "2004"),
            text(tags::SECONDARY_REVIEW_DATE, VR::DA, "20040121"),
            text(tags::EXPIRY_DATE, VR::DA, "2004"),
            text(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3"),
            text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            text(tags::MODALITY, VR::CS, "CT"),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(128u16)),
            text(Tag(0x0009, 0x0010), VR::LO, "GEMS_IDEN_01"),
            text(Tag(0x0009, 0x1002), VR::SH, "CT01"),
            sequence(tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![other_ids]),
            sequence(tags::DERIVATION_CODE_SEQUENCE, vec![item]),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16([1u16, 2, 3, 4].into_iter().collect())),
        ])
    }

    #[test]
    fn each_action_as_the_table_says() {
        let table = Table::standard().expect("table");
        let out = deidentify(table, source(), &replacements());
        // The pseudonym, twice.
        assert_eq!(value(&out, tags::PATIENT_NAME).as_deref(), Some("PSEUDONYM"));
        assert_eq!(value(&out, tags::PATIENT_ID).as_deref(), Some("PSEUDONYM"));
        // Z: present, empty.
        assert_eq!(value(&out, tags::PATIENT_BIRTH_DATE).as_deref(), Some(""));
        assert_eq!(value(&out, tags::ACCESSION_NUMBER).as_deref(), Some(""));
        // X/Z/D and X/Z/D's first alternative: removed.
        assert!(out.get(tags::INSTITUTION_NAME).is_none());
        assert!(out.get(tags::OPERATORS_NAME).is_none());
        // D: a dummy of the VR.
        assert_eq!(value(&out, tags::PERSON_NAME).as_deref(), Some(DUMMY_TEXT));
        // Dates shifted by the patient's days, times kept; an unlisted date shifted too; a
        // partial date removed (X for a listed one, and an unlisted one).
        assert_eq!(value(&out, tags::STUDY_DATE).as_deref(), Some("20040109"));
        assert_eq!(value(&out, tags::STUDY_TIME).as_deref(), Some("072730"));
        assert_eq!(value(&out, tags::ACQUISITION_DATE_TIME).as_deref(), Some("20040109072730"));
        assert_eq!(value(&out, tags::DATE_OF_SECONDARY_CAPTURE).as_deref(), Some("20040110"));
        assert_eq!(value(&out, tags::SECONDARY_REVIEW_DATE).as_deref(), Some("20040111"));
        assert!(out.get(tags::DATE_OF_LAST_CALIBRATION).is_none());
        assert!(out.get(tags::EXPIRY_DATE).is_none());
        // U, at the top and inside a kept sequence; well-known UIDs the table does not list kept.
        assert_eq!(value(&out, tags::STUDY_INSTANCE_UID).as_deref(), Some("2.25.5"));
        assert_eq!(value(&out, tags::SOP_CLASS_UID).as_deref(), Some("1.2.840.10008.5.1.4.1.1.2"));
        let derivation = out.get(tags::DERIVATION_CODE_SEQUENCE).and_then(|e| e.items()).expect("kept");
        assert_eq!(value(&derivation[0], tags::REFERENCED_SOP_INSTANCE_UID).as_deref(), Some("2.25.9"));
        assert_eq!(value(&derivation[0], tags::PATIENT_ID).as_deref(), Some("PSEUDONYM"));
        // X sequences go with their items; private attributes go.
        assert!(out.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).is_none());
        assert!(out.iter().all(|e| e.tag().group() % 2 == 0), "no private attribute");
        // Unlisted attributes and the pixels stay.
        assert_eq!(value(&out, tags::MODALITY).as_deref(), Some("CT"));
        assert_eq!(out.get(tags::ROWS).and_then(|e| e.to_int::<u16>().ok()), Some(128));
        assert_eq!(out.get(tags::PIXEL_DATA), source().get(tags::PIXEL_DATA));
    }

    #[test]
    fn the_method_is_recorded() {
        let table = Table::standard().expect("table");
        let out = deidentify(table, source(), &replacements());
        assert_eq!(value(&out, tags::PATIENT_IDENTITY_REMOVED).as_deref(), Some("YES"));
        assert_eq!(value(&out, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(), Some("MODIFIED"));
        let codes: Vec<String> = out
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .and_then(|e| e.items())
            .expect("codes")
            .iter()
            .map(|item| {
                format!(
                    "{}:{}",
                    value(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default(),
                    value(item, tags::CODE_VALUE).unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(codes, ["DCM:113100", "DCM:113107"]);
        let methods = out.get(tags::DEIDENTIFICATION_METHOD).and_then(|e| e.to_multi_str().ok()).expect("methods");
        assert!(methods.iter().all(|m| m.len() <= 64), "LO holds 64 characters");
    }
}
