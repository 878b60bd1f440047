//! The staging-model path of the tumour board's proposal: with a model folder of task `staging`
//! for lung in the models folder (the `tiny-staging` fixture, whose outputs are written by hand
//! in make_tiny_staging.py), a referred lung case is proposed T and N by the model, run on the
//! case's own series, and M by the measurements; its provenance is stored with the proposal.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::PgPool;

use super::mdt::{refer_and_wait_for_measurement, store_staged};
use super::screening::models_dir;

async fn detail(app: &TestApp, client: &reqwest::Client, case: i64) -> Value {
    let response = client.get(app.url(&format!("/api/v1/mdt/cases/{case}"))).send().await.expect("get");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_registered_staging_model_proposes_its_categories_and_the_measurements_the_rest(pool: PgPool) {
    let models = models_dir().display().to_string();
    let app = TestApp::spawn_with(pool.clone(), &["--models-dir", models.as_str()]).await;
    // A lung primary with no enlarged node and no distant lesion.
    let staging = elysium_phantom::StagingOptions { nodes: vec![], distant: vec![], invasion: vec![] };
    let (series, truth) = store_staged(&app, 2701, 64, "lung:24", staging).await;
    let case = refer_and_wait_for_measurement(&app, &series, &truth).await;

    let surgeon = app.signed_in("surgeon").await;
    let detail_now = detail(&app, &surgeon, case).await;
    let proposal = &detail_now["proposal"];
    // The fixture's distributions (make_tiny_staging.py): T1c at 0.6, N1 at 0.7. The model has no
    // M output: the image measurement found no distant lesion, so M0.
    assert_eq!((proposal["t"].as_str(), proposal["n"].as_str()), (Some("T1c"), Some("N1")), "{detail_now}");
    assert!(
        !detail_now["measurements"].as_array().expect("measurements").iter().any(|m| m["kind"] == "distant"),
        "{detail_now}"
    );
    assert_eq!(proposal["m"], "M0", "{detail_now}");
    // AJCC 8th edition lung (Goldstraw 2016, table 5): T1c N1 M0 is stage IIB.
    assert_eq!(proposal["stage_group"], "IIB");
    assert_eq!(proposal["method"], "staging_model");
    assert_eq!(proposal["model_name"], "tiny-staging");
    assert_eq!(proposal["model_version"], "0.0.1");
    let onnx = std::fs::read(models_dir().join("tiny-staging/model.onnx")).expect("the fixture's ONNX file");
    let sha: String = sha2::Sha256::digest(&onnx).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(proposal["model_sha256"], sha.as_str());
    // The lowest of T (0.6 by the model), N (0.7 by the model) and M (0.9, measured).
    let confidence = proposal["confidence"].as_f64().expect("confidence");
    assert!((confidence - 0.6).abs() < 1e-6, "{confidence}");
    let rules = proposal["rules"].as_array().expect("rules");
    let of = |c: &str| {
        rules.iter().filter(|r| r["category"] == c).map(|r| r["rule"].as_str().unwrap_or("")).collect::<Vec<_>>()
    };
    assert_eq!(of("t"), ["T1c: the staging model's most probable T category (probability 0.60)"], "{rules:?}");
    assert_eq!(of("n"), ["N1: the staging model's most probable N category (probability 0.70)"], "{rules:?}");
    assert!(!of("m").is_empty() && of("m").iter().all(|r| !r.contains("staging model")), "{rules:?}");

    // The run is stored once, with every label's probability.
    let stored: Vec<(String, Value)> =
        sqlx::query_as("select model_name, probabilities from mdt_model_staging where case_id = $1")
            .bind(case)
            .fetch_all(&pool)
            .await
            .expect("runs");
    assert_eq!(stored.len(), 1);
    let t = &stored[0].1["t"];
    assert_eq!(t["label"], "T1c");
    for (label, expected) in [("T1a", 0.1), ("T1b", 0.2), ("T1c", 0.6), ("T2a", 0.1)] {
        let p = t["probabilities"][label].as_f64().expect("probability");
        assert!((p - expected).abs() < 1e-6, "{label}: {p}");
    }
    assert!(stored[0].1.get("m").is_none(), "the model declares no M");
    let audit = app.audit_rows("mdt.image_measurement").await;
    assert_eq!(audit.len(), 1);

    // A radiologist's distant lesion: M from the measurements changes (one extrathoracic
    // metastasis: M1b), T and N stay the model's. T1c N1 M1b is IVA.
    let radiologist = app.signed_in("radiologist").await;
    let body = json!({"kind": "distant", "size_mm": 15.0, "location": "liver", "slice_index": 10,
                      "expected_version": detail_now["version"]});
    let response = radiologist
        .post(app.url(&format!("/api/v1/mdt/cases/{case}/measurements")))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 201);
    let after = detail(&app, &surgeon, case).await;
    let proposal = &after["proposal"];
    assert_eq!(
        (proposal["t"].as_str(), proposal["n"].as_str(), proposal["m"].as_str(), proposal["stage_group"].as_str()),
        (Some("T1c"), Some("N1"), Some("M1b"), Some("IVA")),
        "{after}"
    );
    assert_eq!(proposal["method"], "staging_model");
    assert_eq!(proposal["version"].as_i64(), detail_now["proposal"]["version"].as_i64().map(|v| v + 1));

    // The model runs once per case: a second run, and the sweep at start, leave the case alone.
    let state = app.state();
    let again = elysium_server::board::measure_case(&pool, state.ingestor.store(), &state.staging_models, case);
    assert!(again.await.expect("ok").is_none());
    let runs: i64 = sqlx::query_scalar("select count(*) from mdt_model_staging").fetch_one(&pool).await.expect("count");
    assert_eq!(runs, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_a_staging_model_the_proposal_comes_from_the_measurements(pool: PgPool) {
    // The default models folder has only the reference screening model.
    let app = TestApp::spawn(pool.clone()).await;
    let staging = elysium_phantom::StagingOptions { nodes: vec![], distant: vec![], invasion: vec![] };
    let (series, truth) = store_staged(&app, 2701, 64, "lung:24", staging).await;
    let case = refer_and_wait_for_measurement(&app, &series, &truth).await;
    let surgeon = app.signed_in("surgeon").await;
    let proposal = detail(&app, &surgeon, case).await["proposal"].clone();
    assert_eq!(proposal["method"], "measurement");
    assert!(proposal["model_name"].is_null());
    // No involved node measured on the images: N0, never the fixture's N1.
    assert_eq!(proposal["n"], "N0", "{proposal}");
    let runs: i64 = sqlx::query_scalar("select count(*) from mdt_model_staging").fetch_one(&pool).await.expect("count");
    assert_eq!(runs, 0);
}

/// A staging model whose labels the rules do not know is refused: listed as refused on the
/// models page (the registry), and never used for a case.
#[test]
fn a_staging_model_with_a_label_the_rules_do_not_know_is_refused() {
    let root = tempfile::tempdir().expect("dir");
    let dir = root.path().join("bad-staging");
    std::fs::create_dir(&dir).expect("model folder");
    let fixture = models_dir().join("tiny-staging");
    std::fs::copy(fixture.join("model.onnx"), dir.join("model.onnx")).expect("onnx");
    let manifest = std::fs::read_to_string(fixture.join("manifest.toml")).expect("manifest");
    // T2 is a T category of the kidney, not of the lung (which has T2a and T2b).
    let bad = manifest.replace(r#"labels = ["T1a", "T1b", "T1c", "T2a"]"#, r#"labels = ["T1a", "T1b", "T1c", "T2"]"#);
    assert_ne!(bad, manifest);
    std::fs::write(dir.join("manifest.toml"), bad).expect("bad manifest");
    let folder = root.path().display().to_string();
    let config = elysium_tests::config(&["--models-dir", folder.as_str()]).screening;

    let catalogue = elysium_server::screening::models::Catalogue::discover(root.path());
    let registry = elysium_server::screening::models::registry(&config, &catalogue);
    assert!(registry.models.is_empty(), "{:?}", registry.models);
    assert_eq!(registry.refused.len(), 1);
    assert!(registry.refused[0].contains("`T2` is not a T category of lung"), "{}", registry.refused[0]);
    let models = elysium_server::staging_model::StagingModels::load(
        &catalogue,
        elysium_inference::runtime::DevicePreference::Cpu,
        1,
    );
    let lung = app::domain::staging::Cancer::Lung;
    assert!(models.for_case(lung, app::domain::staging::Edition::Ajcc8).is_none());
}
