//! A patient's record as a FHIR R4 `Bundle` (type `collection`) with mCODE profiles where a
//! cancer is confirmed: `GET /api/v1/patients/{id}/fhir`. It spans the records linked as one
//! person, within the caller's sites: the Patient, an ImagingStudy per study, a DiagnosticReport
//! per screening result (the model as its performer Device, an Observation per positive and per
//! biomarker), a ServiceRequest per work-up order, a PrimaryCancerCondition per confirmed cancer,
//! and the TNM category and stage group Observations of each decided tumour-board case. Audited
//! as an export of the record.

pub mod codes;
pub mod resources;

use std::collections::BTreeMap;

use elysium_db::fhir as db;
use elysium_db::record as record_db;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use self::resources::{entry, urn};
use crate::service::{Caller, ServiceError};

pub async fn patient_bundle(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<Value, ServiceError> {
    let patient = crate::service::record::visible(pool, caller, id).await?;
    let group = record_db::linked_group(pool, id).await?;
    let scope = caller.user.site_scope();
    let studies = db::studies(pool, &group, scope.as_deref()).await?;
    let results = db::results(pool, &group, scope.as_deref()).await?;
    let findings = db::findings(pool, &group, scope.as_deref()).await?;
    let decisions = db::decisions(pool, &group, scope.as_deref()).await?;

    let confirmed: Vec<&db::FindingRow> =
        findings.iter().filter(|f| f.outcome.as_deref() == Some("confirmed_malignant")).collect();
    let subject = urn("Patient", &patient.id.to_string());
    let mut entries =
        vec![entry(subject.clone(), resources::patient(&patient, !confirmed.is_empty() || !decisions.is_empty()))];

    let mut study_urns = BTreeMap::new();
    for study in &studies {
        let full = urn("ImagingStudy", &study.study_uid);
        study_urns.insert(study.study_uid.clone(), full.clone());
        entries.push(entry(full, resources::imaging_study(study, &subject)));
    }

    let mut devices = BTreeMap::new();
    for result in &results {
        let key = format!("{}@{}", result.model_name, result.model_version);
        let device = devices
            .entry(key.clone())
            .or_insert_with(|| {
                let full = urn("Device", &key);
                entries.push(entry(full.clone(), resources::device(result)));
                full
            })
            .clone();
        let mut observations = Vec::new();
        for (i, positive) in result.result.get("positives").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            if let Some(resource) = resources::positive_observation(result, positive, &subject, &device) {
                let full = urn("Observation", &format!("result-{}-positive-{i}", result.id));
                observations.push(full.clone());
                entries.push(entry(full, resource));
            }
        }
        for (full, resource) in resources::biomarker_observations(result, &subject, &device) {
            observations.push(full.clone());
            entries.push(entry(full, resource));
        }
        let report = resources::diagnostic_report(
            result,
            &subject,
            &device,
            study_urns.get(&result.study_uid).map(String::as_str),
            &observations,
        );
        entries.push(entry(urn("DiagnosticReport", &result.id.to_string()), report));
    }

    for finding in &findings {
        if let Some(request) = resources::service_request(finding, &subject) {
            entries.push(entry(urn("ServiceRequest", &finding.id.to_string()), request));
        }
    }

    // One condition per confirmed finding; a decided case stages its finding's condition, or
    // one of its own when it was opened directly (a cancer screening does not raise).
    let mut conditions = BTreeMap::new();
    for finding in &confirmed {
        let full = urn("Condition", &format!("finding-{}", finding.id));
        conditions.insert(finding.id, full.clone());
        let recorded = finding.outcome_date.map(crate::format::date);
        entries.push(entry(
            full,
            resources::primary_cancer_condition(&finding.organ, finding.diagnosis.as_deref(), recorded, &subject),
        ));
    }
    for decision in &decisions {
        let condition = match decision.finding_id.and_then(|f| conditions.get(&f)) {
            Some(full) => full.clone(),
            None => {
                let full = urn("Condition", &format!("case-{}", decision.case_id));
                entries.push(entry(
                    full.clone(),
                    resources::primary_cancer_condition(&decision.cancer, None, None, &subject),
                ));
                full
            }
        };
        for (full, resource) in resources::tnm_observations(decision, &subject, &condition) {
            entries.push(entry(full, resource));
        }
    }

    caller
        .audit("patient.fhir")
        .target("patient", patient.id.to_string())
        .patient(patient.patient_id.clone())
        .detail(serde_json::json!({ "linked_records": group.len(), "resources": entries.len() }))
        .record(pool)
        .await?;
    Ok(resources::bundle(entries, &patient.id.to_string(), time::OffsetDateTime::now_utc()))
}
