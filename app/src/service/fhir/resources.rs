//! Rows → FHIR R4 resources (JSON). Pure: the service loads the rows and audits the export.
//! Every resource gets a stable `urn:uuid:` full URL derived from what it describes, so the same
//! record exports to the same identifiers and references resolve within the bundle.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::codes::{self, mcode};
use elysium_db::fhir::{DecisionRow, FindingRow, ResultRow, StudyRow};
use elysium_db::record::PatientRow;

/// A stable `urn:uuid:` for the resource of `kind` keyed by `key`.
pub fn urn(kind: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("elysium-fhir/1\0{kind}\0{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("urn:uuid:{}", uuid::Builder::from_sha1_bytes(bytes).into_uuid())
}

fn id_of(urn: &str) -> &str {
    urn.trim_start_matches("urn:uuid:")
}

fn coding(system: &str, (code, display): (&str, &str)) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

fn concept(system: &str, pair: (&str, &str)) -> Value {
    json!({ "coding": [coding(system, pair)], "text": pair.1 })
}

fn text(text: &str) -> Value {
    json!({ "text": text })
}

fn reference(urn: &str) -> Value {
    json!({ "reference": urn })
}

/// An entry of the bundle.
pub fn entry(full_url: String, mut resource: Value) -> Value {
    resource["id"] = Value::String(id_of(&full_url).to_owned());
    json!({ "fullUrl": full_url, "resource": resource })
}

fn date(d: time::Date) -> String {
    crate::format::date(d)
}

fn instant(t: time::OffsetDateTime) -> String {
    crate::format::rfc3339(t)
}

/// The ISO 21090 name representation extension: which of a name's written forms a HumanName is.
pub const NAME_REPRESENTATION: &str = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";

/// Whether a character is written without spaces between name parts (Han ideographs, kana,
/// Hangul syllables).
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3005 | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
        | 0x20000..=0x3134F)
}

/// Name parts as one text: spaced, except between parts written without spaces (王 + 小明:
/// 王小明).
fn name_text(parts: &[&str]) -> String {
    let mut text = String::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let joined = text.chars().next_back().is_some_and(unspaced) && part.chars().next().is_some_and(unspaced);
        if !text.is_empty() && !joined {
            text.push(' ');
        }
        text.push_str(part);
    }
    text
}

/// The patient's names, one HumanName per DICOM PN group (PS3.5 §6.2.1.2): the alphabetic
/// group, then the ideographic (ISO 21090 representation `IDE`) and the phonetic (`SYL`), all
/// written forms of the one official name. Components are family^given^middle^prefix^suffix;
/// `text` is the name as written, family first as the DICOM value orders it.
fn human_names(stored: &str) -> Vec<Value> {
    let mut names = Vec::new();
    for (i, group) in stored.split('=').enumerate().take(3) {
        let parts: Vec<&str> = group.split('^').map(str::trim).collect();
        let part = |n: usize| parts.get(n).copied().unwrap_or_default();
        let (family, prefix, suffix) = (part(0), part(3), part(4));
        let given: Vec<&str> = [part(1), part(2)].into_iter().filter(|g| !g.is_empty()).collect();
        if family.is_empty() && given.is_empty() {
            continue;
        }
        let mut written = vec![prefix, family];
        written.extend(&given);
        written.push(suffix);
        let mut name = json!({ "use": "official", "text": name_text(&written) });
        if let Some(code) = [None, Some("IDE"), Some("SYL")][i] {
            name["extension"] = json!([{ "url": NAME_REPRESENTATION, "valueCode": code }]);
        }
        if !family.is_empty() {
            name["family"] = json!(family);
        }
        if !given.is_empty() {
            name["given"] = json!(given);
        }
        if !prefix.is_empty() {
            name["prefix"] = json!([prefix]);
        }
        if !suffix.is_empty() {
            name["suffix"] = json!([suffix]);
        }
        names.push(name);
    }
    names
}

/// The patient (mCODE CancerPatient when a cancer is confirmed), with each written form of the
/// DICOM name as a HumanName of its own.
pub fn patient(row: &PatientRow, has_cancer: bool) -> Value {
    let names = row.name.as_deref().map(human_names).unwrap_or_default();
    let gender = match row.sex.as_deref() {
        Some("M") => "male",
        Some("F") => "female",
        Some("O") => "other",
        _ => "unknown",
    };
    let mut resource = json!({
        "resourceType": "Patient",
        "identifier": [{ "system": format!("urn:elysium:authority:{}", row.authority), "value": row.patient_id }],
        "gender": gender,
    });
    if !names.is_empty() {
        resource["name"] = Value::Array(names);
    }
    if let Some(born) = row.birth_date {
        resource["birthDate"] = json!(date(born));
    }
    if has_cancer {
        resource["meta"] = json!({ "profile": [mcode::profile(mcode::CANCER_PATIENT)] });
    }
    resource
}

pub fn imaging_study(row: &StudyRow, subject: &str) -> Value {
    let mut resource = json!({
        "resourceType": "ImagingStudy",
        "identifier": [{ "system": codes::DICOM_UID, "value": format!("urn:oid:{}", row.study_uid) }],
        "status": "available",
        "subject": reference(subject),
        "numberOfSeries": row.series,
        "numberOfInstances": row.instances,
    });
    if let Some(day) = row.study_date {
        resource["started"] = json!(date(day));
    }
    if let Some(description) = &row.description {
        resource["description"] = json!(description);
    }
    if let Some(accession) = &row.accession_number
        && let Some(ids) = resource["identifier"].as_array_mut()
    {
        ids.push(json!({ "type": { "text": "Accession number" }, "value": accession }));
    }
    resource
}

/// The screening model that performed a result.
pub fn device(result: &ResultRow) -> Value {
    json!({
        "resourceType": "Device",
        "identifier": [{ "system": "urn:elysium:model-sha256", "value": result.model_sha256 }],
        "deviceName": [{ "name": result.model_name, "type": "model-name" }],
        "version": [{ "value": result.model_version }],
        "type": text("AI model for opportunistic screening of CT"),
    })
}

/// One positive of a screening result: the class probability, its threshold, where it is.
pub fn positive_observation(result: &ResultRow, positive: &Value, subject: &str, device: &str) -> Option<Value> {
    let organ = positive.get("organ")?.as_str()?;
    let class = positive.get("class")?.as_str()?;
    let probability = positive.get("probability")?.as_f64()?;
    let threshold = positive.get("threshold").and_then(Value::as_f64);
    let mut resource = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{ "coding": [{ "system": codes::OBSERVATION_CATEGORY, "code": "imaging", "display": "Imaging" }] }],
        "code": text(&format!("AI probability of {organ} {class}")),
        "subject": reference(subject),
        "effectiveDateTime": instant(result.created_at),
        "performer": [reference(device)],
        "valueQuantity": { "value": probability, "unit": "probability", "system": codes::UCUM, "code": "1" },
        "interpretation": [{ "coding": [{ "system": codes::INTERPRETATION, "code": "POS", "display": "Positive" }] }],
    });
    if let Some(threshold) = threshold {
        resource["referenceRange"] = json!([{ "high": { "value": threshold, "unit": "probability", "system": codes::UCUM, "code": "1" }, "text": "operating threshold" }]);
    }
    if let Some(site) = codes::body_site(organ) {
        resource["bodySite"] = concept(codes::SNOMED, site);
    }
    Some(resource)
}

/// The biomarkers a result carries, with their units.
const BIOMARKERS: [(&str, &str, &str); 5] = [
    ("liver_hu", "Liver attenuation (CT)", "HU"),
    ("liver_minus_spleen_hu", "Liver minus spleen attenuation (CT)", "HU"),
    ("l1_trabecular_hu", "L1 trabecular attenuation (CT)", "HU"),
    ("coronary_calcium_mm3", "Coronary artery calcium volume (CT, 130 HU and above)", "mm³"),
    ("aortic_calcium_mm3", "Aortic calcium volume (CT, 130 HU and above)", "mm³"),
];

pub fn biomarker_observations(result: &ResultRow, subject: &str, device: &str) -> Vec<(String, Value)> {
    let Some(biomarkers) = result.result.get("biomarkers") else { return Vec::new() };
    BIOMARKERS
        .iter()
        .filter_map(|(key, name, unit)| {
            let value = biomarkers.get(*key)?.as_f64().filter(|v| v.is_finite())?;
            let resource = json!({
                "resourceType": "Observation",
                "status": "final",
                "category": [{ "coding": [{ "system": codes::OBSERVATION_CATEGORY, "code": "imaging", "display": "Imaging" }] }],
                "code": text(name),
                "subject": reference(subject),
                "effectiveDateTime": instant(result.created_at),
                "performer": [reference(device)],
                "valueQuantity": { "value": value, "unit": unit, "system": codes::UCUM, "code": codes::ucum(unit) },
            });
            Some((urn("Observation", &format!("result-{}-{key}", result.id)), resource))
        })
        .collect()
}

pub fn diagnostic_report(
    result: &ResultRow,
    subject: &str,
    device: &str,
    study: Option<&str>,
    observations: &[String],
) -> Value {
    let positives = result.result.get("positives").and_then(Value::as_array).map_or(0, Vec::len);
    let mut resource = json!({
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [{ "coding": [{ "system": codes::DIAGNOSTIC_SERVICE, "code": "RAD", "display": "Radiology" }] }],
        "code": concept(codes::LOINC, codes::LOINC_IMAGING_REPORT),
        "subject": reference(subject),
        "effectiveDateTime": instant(result.created_at),
        "issued": instant(result.created_at),
        "performer": [reference(device)],
        "result": observations.iter().map(|o| reference(o)).collect::<Vec<_>>(),
        "conclusion": if positives == 0 {
            "AI opportunistic screening: no organ above its operating threshold.".to_owned()
        } else {
            format!("AI opportunistic screening: {positives} positive(s) above the operating threshold; a person reviews each before anything is concluded.")
        },
    });
    if let Some(study) = study {
        resource["imagingStudy"] = json!([reference(study)]);
    }
    resource
}

/// A work-up order of a finding.
pub fn service_request(finding: &FindingRow, subject: &str) -> Option<Value> {
    let modality = finding.workup_modality.as_deref()?;
    let done = !matches!(finding.status.as_str(), "workup_ordered" | "workup_scheduled");
    let mut resource = json!({
        "resourceType": "ServiceRequest",
        "status": if done { "completed" } else { "active" },
        "intent": "order",
        "code": text(&format!("Work-up: {}", modality.replace('_', " "))),
        "subject": reference(subject),
        "reasonCode": [text(&format!("AI-positive screening finding F-{} ({} {})", finding.id, finding.organ, finding.class_label))],
    });
    if let Some(at) = finding.workup_ordered_at {
        resource["authoredOn"] = json!(instant(at));
    }
    if let Some(due) = finding.workup_due {
        resource["occurrenceDateTime"] = json!(date(due));
    }
    if let Some(site) = codes::body_site(&finding.organ) {
        resource["bodySite"] = json!([concept(codes::SNOMED, site)]);
    }
    Some(resource)
}

/// A confirmed cancer (mCODE PrimaryCancerCondition), from a finding's outcome or a decided
/// board case without one.
pub fn primary_cancer_condition(
    organ: &str,
    diagnosis: Option<&str>,
    recorded: Option<String>,
    subject: &str,
) -> Value {
    let code = match codes::primary_cancer(organ) {
        Some(pair) => {
            let mut concept = concept(codes::SNOMED, pair);
            if let Some(diagnosis) = diagnosis {
                concept["text"] = json!(diagnosis);
            }
            concept
        }
        None => text(diagnosis.unwrap_or("Malignant neoplasm")),
    };
    let mut resource = json!({
        "resourceType": "Condition",
        "meta": { "profile": [mcode::profile(mcode::PRIMARY_CANCER_CONDITION)] },
        "clinicalStatus": { "coding": [{ "system": codes::CONDITION_CLINICAL, "code": "active" }] },
        "verificationStatus": { "coding": [{ "system": codes::CONDITION_VERIFICATION, "code": "confirmed" }] },
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item" }] }],
        "code": code,
        "subject": reference(subject),
    });
    if let Some(site) = codes::body_site(organ) {
        resource["bodySite"] = json!([concept(codes::SNOMED, site)]);
    }
    if let Some(recorded) = recorded {
        resource["recordedDate"] = json!(recorded);
    }
    resource
}

/// The decided case's clinical T, N, M and stage group, as mCODE's TNM profiles have them: LOINC
/// codes for clinical staging, the AJCC edition as the method, the condition as the focus, and
/// the stage group `hasMember` the three categories. Returns (full URL, resource) pairs.
pub fn tnm_observations(decision: &DecisionRow, subject: &str, condition: &str) -> Vec<(String, Value)> {
    let key = format!("case-{}-v{}", decision.case_id, decision.version);
    let method = codes::ajcc_edition(&decision.edition).map(|pair| concept(codes::SNOMED, pair));
    let observation = |profile: &str, loinc: (&str, &str), value: &str| {
        let mut resource = json!({
            "resourceType": "Observation",
            "meta": { "profile": [mcode::profile(profile)] },
            "status": "final",
            "category": [{ "coding": [{ "system": codes::OBSERVATION_CATEGORY, "code": "survey", "display": "Survey" }] }],
            "code": concept(codes::LOINC, loinc),
            "subject": reference(subject),
            "focus": [reference(condition)],
            "effectiveDateTime": instant(decision.decided_at),
            "valueCodeableConcept": { "coding": [{ "system": codes::AJCC, "code": format!("c{value}") }], "text": value },
        });
        if let Some(method) = &method {
            resource["method"] = method.clone();
        }
        resource
    };
    let t = (urn("Observation", &format!("{key}-t")), observation(mcode::TNM_T, codes::LOINC_CLINICAL_T, &decision.t));
    let n = (urn("Observation", &format!("{key}-n")), observation(mcode::TNM_N, codes::LOINC_CLINICAL_N, &decision.n));
    let m = (urn("Observation", &format!("{key}-m")), observation(mcode::TNM_M, codes::LOINC_CLINICAL_M, &decision.m));
    let mut out = Vec::new();
    if let Some(group) = &decision.stage_group {
        let mut stage = observation(mcode::TNM_STAGE_GROUP, codes::LOINC_CLINICAL_STAGE, group);
        stage["hasMember"] = json!([reference(&t.0), reference(&n.0), reference(&m.0)]);
        out.push((urn("Observation", &format!("{key}-stage")), stage));
    }
    out.extend([t, n, m]);
    out
}

/// The bundle of `entries`.
pub fn bundle(entries: Vec<Value>, key: &str, at: time::OffsetDateTime) -> Value {
    json!({
        "resourceType": "Bundle",
        "id": id_of(&urn("Bundle", key)),
        "type": "collection",
        "timestamp": instant(at),
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn urns_are_stable_uuids_and_differ_by_kind_and_key() {
        let a = urn("Patient", "x");
        assert_eq!(a, urn("Patient", "x"));
        assert_ne!(a, urn("Patient", "y"));
        assert_ne!(a, urn("Observation", "x"));
        let parsed = Uuid::parse_str(id_of(&a)).expect("a UUID");
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn each_written_form_of_a_name_is_a_human_name() {
        let ext = |code: &str| json!([{ "url": NAME_REPRESENTATION, "valueCode": code }]);
        assert_eq!(
            Value::Array(human_names("Wang^XiaoMing=王^小明=wang^xiao ming")),
            json!([
                { "use": "official", "text": "Wang XiaoMing", "family": "Wang", "given": ["XiaoMing"] },
                { "use": "official", "text": "王小明", "family": "王", "given": ["小明"], "extension": ext("IDE") },
                {
                    "use": "official", "text": "wang xiao ming", "family": "wang", "given": ["xiao ming"],
                    "extension": ext("SYL"),
                },
            ])
        );
        // Only an ideographic group; prefix and suffix; an empty group skipped.
        assert_eq!(
            Value::Array(human_names("=山田^太郎")),
            json!([{ "use": "official", "text": "山田太郎", "family": "山田", "given": ["太郎"], "extension": ext("IDE") }])
        );
        assert_eq!(
            human_names("Okafor^Grace^A^Dr^Jr")[0]["text"],
            "Dr Okafor Grace A Jr",
            "the components in the order the DICOM value gives them"
        );
        assert_eq!(human_names("Okafor^Grace^A^Dr^Jr")[0]["prefix"], json!(["Dr"]));
        assert_eq!(name_text(&["Lee", "王"]), "Lee 王");
    }
}
