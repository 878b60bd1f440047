//! A patient's record as a FHIR R4 bundle, over the real database and server, on the demo's
//! patients: one returning patient with screening results and biomarkers
//! (`server/src/demo/longitudinal.rs`), and the tumour board's decided cases
//! (`server/src/demo/board.rs`). The expected codes are the ones the FHIR, LOINC, SNOMED CT and
//! mCODE specifications publish, written out here; the expected figures are read from the
//! database tables, not from the bundle's builder.

use std::collections::BTreeSet;

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::Value;
use sqlx::PgPool;

async fn bundle(app: &TestApp, client: &Client, patient: uuid::Uuid) -> Value {
    let response = client.get(app.url(&format!("/api/v1/patients/{patient}/fhir"))).send().await.expect("get");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("header").to_owned();
    assert!(content_type.starts_with("application/fhir+json"), "{content_type}");
    response.json().await.expect("json")
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// Every `reference` anywhere in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
        _ => {}
    }
}

/// A collection bundle whose every reference resolves to one of its entries, each entry's full
/// URL a `urn:uuid:` matching its resource's id.
fn check_integrity(bundle: &Value) {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().expect("entries");
    let mut urls = BTreeSet::new();
    for entry in entries {
        let url = entry["fullUrl"].as_str().expect("fullUrl");
        let id = url.strip_prefix("urn:uuid:").expect("urn:uuid");
        uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(entry["resource"]["id"], id);
        assert!(urls.insert(url.to_owned()), "{url} twice");
    }
    let mut refs = Vec::new();
    references(bundle, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(urls.contains(&r), "{r} does not resolve within the bundle");
    }
}

fn codes(concept: &Value) -> Vec<(String, String)> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (c["system"].as_str().unwrap_or_default().to_owned(), c["code"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn screening_results_and_biomarkers_become_reports_and_observations(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    elysium_tests::demo::longitudinal::seed(&pool).await.expect("demo");
    let patient: uuid::Uuid = sqlx::query_scalar("select id from patient where patient_id = 'PL-0001'")
        .fetch_one(&pool)
        .await
        .expect("patient");
    let admin = app.signed_in("admin").await;
    let bundle = bundle(&app, &admin, patient).await;
    check_integrity(&bundle);

    let people = resources(&bundle, "Patient");
    assert_eq!(people.len(), 1);
    assert_eq!(people[0]["birthDate"], "1961-04-17");
    assert_eq!(people[0]["name"][0]["family"], "Okafor");
    assert_eq!(people[0]["name"][0]["given"][0], "Grace");
    assert!(people[0]["meta"].is_null(), "no confirmed cancer, no mCODE CancerPatient");

    // Four studies here and two at the linked record: one ImagingStudy and one report each.
    let studies: i64 = sqlx::query_scalar(
        "select count(*) from study st join patient p on p.id = st.patient_ref where p.patient_id in ('PL-0001', 'RC-7731')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(resources(&bundle, "ImagingStudy").len() as i64, studies);
    let reports = resources(&bundle, "DiagnosticReport");
    assert_eq!(reports.len() as i64, studies);
    for report in &reports {
        assert_eq!(codes(&report["code"]), [("http://loinc.org".to_owned(), "18748-4".to_owned())]);
        assert_eq!(report["status"], "final");
    }
    // The last scan (12 days ago) by the live version, the five older ones (a year and more
    // ago) by the retired one.
    let devices = resources(&bundle, "Device");
    let mut versions: Vec<&str> = devices.iter().filter_map(|d| d["version"][0]["value"].as_str()).collect();
    versions.sort_unstable();
    assert_eq!(versions, ["0.0.9", "0.1.0"], "one Device per model version");

    // The liver attenuations are the stored results' (56, 49, 43, 36 HU here; 61, 58 there),
    // in UCUM's Hounsfield unit.
    let mut liver: Vec<f64> = resources(&bundle, "Observation")
        .into_iter()
        .filter(|o| o["code"]["text"] == "Liver attenuation (CT)")
        .map(|o| {
            assert_eq!(o["valueQuantity"]["code"], "[hnsf'U]");
            o["valueQuantity"]["value"].as_f64().expect("value")
        })
        .collect();
    liver.sort_by(f64::total_cmp);
    assert_eq!(liver, [36.0, 43.0, 49.0, 56.0, 58.0, 61.0]);
    assert_eq!(app.audit_rows("patient.fhir").await.len(), 1, "the export is audited");

    // The record page offers the export.
    let page = elysium_tests::get_text(&app, &admin, &format!("/patients/{patient}")).await;
    assert!(page.contains(&format!(r#"href="/api/v1/patients/{patient}/fhir""#)), "the record page links its bundle");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_decided_case_is_an_mcode_primary_cancer_with_its_clinical_tnm(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = tempfile::tempdir().expect("dir");
    let state = app.state();
    let levels = app::domain::followup::ServiceLevels::default();
    elysium_tests::demo::board::seed(&pool, &state.ingestor, data.path(), &levels, &state.board, &state.staging_models)
        .await
        .expect("board");
    // A decided case raised by screening (its finding confirmed malignant and worked up).
    let (patient, case, organ): (uuid::Uuid, i64, String) = sqlx::query_as(
        "select c.patient_ref, c.id, c.cancer from mdt_case c where c.status = 'decided' and c.finding_id is not null
         order by c.id limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a decided case");
    let (edition, t, n, m, group): (String, String, String, String, Option<String>) = sqlx::query_as(
        "select edition, t, n, m, stage_group from mdt_decision where case_id = $1 order by version desc limit 1",
    )
    .bind(case)
    .fetch_one(&pool)
    .await
    .expect("decision");
    assert_eq!(edition, "ajcc8");

    let surgeon = app.signed_in("surgeon").await;
    let bundle = bundle(&app, &surgeon, patient).await;
    check_integrity(&bundle);
    let mcode = |name: &str| format!("http://hl7.org/fhir/us/mcode/StructureDefinition/{name}");
    assert_eq!(resources(&bundle, "Patient")[0]["meta"]["profile"][0], mcode("mcode-cancer-patient"));

    let conditions = resources(&bundle, "Condition");
    assert_eq!(conditions.len(), 1);
    let condition = conditions[0];
    assert_eq!(condition["meta"]["profile"][0], mcode("mcode-primary-cancer-condition"));
    assert_eq!(condition["verificationStatus"]["coding"][0]["code"], "confirmed");
    // SNOMED CT's primary malignant neoplasm of the organ, and the organ as the body site.
    let (disorder, site) = match organ.as_str() {
        "lung" => ("363358000", "39607008"),
        "liver" => ("93870000", "10200004"),
        "pancreas" => ("363418001", "15776009"),
        "kidney" => ("363518003", "64033007"),
        "colorectal" => ("363406005", "71854001"),
        other => panic!("the demo board has no {other} case raised by screening"),
    };
    assert_eq!(codes(&condition["code"]), [("http://snomed.info/sct".to_owned(), disorder.to_owned())]);
    assert_eq!(codes(&condition["bodySite"][0]), [("http://snomed.info/sct".to_owned(), site.to_owned())]);

    // T, N, M and the stage group: mCODE's profiles, LOINC's clinical staging codes, AJCC 8th
    // edition (SNOMED 897275008) as the method, the condition as the focus.
    let observations = resources(&bundle, "Observation");
    let by_profile = |name: &str| -> &Value {
        let found: Vec<&&Value> = observations.iter().filter(|o| o["meta"]["profile"][0] == mcode(name)).collect();
        assert_eq!(found.len(), 1, "{name}");
        found[0]
    };
    let condition_url = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Condition")
        .and_then(|e| e["fullUrl"].as_str())
        .expect("condition url")
        .to_owned();
    for (profile, loinc, value) in [
        ("mcode-tnm-primary-tumor-category", "21905-5", Some(&t)),
        ("mcode-tnm-regional-nodes-category", "21906-3", Some(&n)),
        ("mcode-tnm-distant-metastases-category", "21907-1", Some(&m)),
        ("mcode-tnm-stage-group", "21908-9", group.as_ref()),
    ] {
        let Some(value) = value else { continue };
        let o = by_profile(profile);
        assert_eq!(codes(&o["code"]), [("http://loinc.org".to_owned(), loinc.to_owned())], "{profile}");
        assert_eq!(codes(&o["method"]), [("http://snomed.info/sct".to_owned(), "897275008".to_owned())]);
        assert_eq!(o["focus"][0]["reference"], condition_url.as_str());
        assert_eq!(o["valueCodeableConcept"]["text"], value.as_str(), "{profile}");
        assert_eq!(o["valueCodeableConcept"]["coding"][0]["code"], format!("c{value}"));
    }
    if group.is_some() {
        let stage = by_profile("mcode-tnm-stage-group");
        assert_eq!(stage["hasMember"].as_array().map(Vec::len), Some(3), "the stage group has T, N and M");
    }
    // The work-up order that led there.
    let orders = resources(&bundle, "ServiceRequest");
    assert_eq!(orders.len(), 1);
    assert_eq!((orders[0]["intent"].as_str(), orders[0]["status"].as_str()), (Some("order"), Some("completed")));
}

/// A Chinese patient's DICOM name (PS3.5 §6.2.1.2: alphabetic, ideographic and phonetic groups)
/// becomes three HumanNames of the one official name, the ideographic and phonetic ones marked
/// with the ISO 21090 name representation (FHIR extension `iso21090-EN-representation`).
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chinese_name_keeps_its_ideographic_and_phonetic_forms(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let patient: uuid::Uuid = sqlx::query_scalar(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ('FHIR-ZH-1', 'DEMO-GH', 'Wang^XiaoMing=王^小明=wang^xiao ming', 'M', '1960-05-01')
                    returning id),
              s as (insert into study (study_uid, patient_ref, site_id, study_date)
                    select '2.25.7001', p.id, (select id from site where code = 'DEMO-GH'), current_date - 3 from p)
         select id from p",
    )
    .fetch_one(&pool)
    .await
    .expect("patient");
    let admin = app.signed_in("admin").await;
    let bundle = bundle(&app, &admin, patient).await;
    let people = resources(&bundle, "Patient");
    assert_eq!(people.len(), 1);
    let representation = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
    assert_eq!(
        people[0]["name"],
        serde_json::json!([
            {
                "use": "official",
                "text": "Wang XiaoMing",
                "family": "Wang",
                "given": ["XiaoMing"]
            },
            {
                "use": "official",
                "text": "王小明",
                "family": "王",
                "given": ["小明"],
                "extension": [{ "url": representation, "valueCode": "IDE" }]
            },
            {
                "use": "official",
                "text": "wang xiao ming",
                "family": "wang",
                "given": ["xiao ming"],
                "extension": [{ "url": representation, "valueCode": "SYL" }]
            }
        ]),
        "{}",
        people[0]
    );
}
