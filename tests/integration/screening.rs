//! Automatic screening end to end with a hand-written test network (the inference crate's `tiny`
//! fixture, whose outputs follow from the mean of its input): a phantom series is stored, the
//! scheduler queues it once, a worker screens it, the result and its provenance are served, a
//! positive becomes a finding, a re-run does not duplicate it, and ineligible series are skipped.

use std::path::PathBuf;
use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_inference::manifest;
use elysium_inference::runtime::{DevicePreference, ModelSession};
use elysium_server::screening::{scheduler, worker::Worker};
use elysium_tests::TestApp;
use serde_json::{Value, json};
use sqlx::PgPool;

pub(crate) fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/inference/tests/fixtures")
}

/// Generates and stores one phantom series at DEMO-GH; returns its study UID.
pub(crate) async fn store_phantom(app: &TestApp, seed: u64, contrast: bool) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(dir.path());
    options.seed = seed;
    options.rows = 64;
    options.contrast = contrast;
    store(app, options).await.study_uid
}

/// Generates the series `options` describes and stores them at DEMO-GH; returns the first.
async fn store(app: &TestApp, options: elysium_phantom::PhantomOptions) -> elysium_phantom::GeneratedSeries {
    let report =
        tokio::task::spawn_blocking(move || elysium_phantom::generate(&options)).await.expect("task").expect("phantom");
    let state = app.state();
    let mut conn = app.pool.acquire().await.expect("conn");
    let site = elysium_db::sites::by_code(&mut conn, "DEMO-GH").await.expect("site").expect("DEMO-GH").id;
    drop(conn);
    let received = elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, site);
    let dirs: Vec<_> = report.series.iter().map(|s| s.dir.clone()).collect();
    elysium_server::ingest::cli::ingest_paths(&state.ingestor, &dirs, &received, 2).await.expect("ingest");
    report.series[0].clone()
}

pub(crate) fn tiny_worker(app: &TestApp, owner: &str) -> Worker {
    worker_for(app, load(&models_dir().join("tiny")), owner)
}

/// The model in `folder`, its manifest and checksums checked.
fn load(folder: &std::path::Path) -> manifest::VerifiedModel {
    manifest::load(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
}

/// A worker of the app's pool, object store and service levels running `model` on the CPU with
/// one thread, leases of 30 s.
fn worker_for(app: &TestApp, model: manifest::VerifiedModel, owner: &str) -> Worker {
    let session = ModelSession::open(model, DevicePreference::Cpu, 1).expect("session");
    let state = app.state();
    Worker::new(
        app.pool.clone(),
        state.ingestor.store().clone(),
        state.levels,
        session,
        owner.into(),
        Duration::from_secs(30),
    )
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.expect("get");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_stored_series_is_screened_once_and_its_positive_becomes_a_finding(pool: PgPool) {
    let models = models_dir().display().to_string();
    let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "0"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let study_uid = store_phantom(&app, 901, false).await;
    let contrast_uid = store_phantom(&app, 902, true).await;
    let config = elysium_tests::config(&flags).screening;
    let store = app.state().ingestor.store().clone();

    let queued = scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass");
    assert_eq!(queued, 1, "the non-contrast series is queued; the contrast one is skipped");
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 0, "queued once");

    let worker = tiny_worker(&app, "test-worker");
    assert!(worker.run_once().await.expect("runs"));
    assert!(!worker.run_once().await.expect("runs"), "nothing left");

    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = get(&app, &radiologist, &format!("/api/v1/studies/{study_uid}/screening")).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["series"][0];
    assert_eq!(result["model"]["name"], "tiny");
    assert_eq!(result["model"]["version"], "0.0.1");
    assert_eq!(result["model"]["sha256"], "b531ff63528cbed1a4fe9cef409a91978c87d7b7a19ecaf84bd8340402601cd3");
    assert_eq!(result["execution_provider"], "CPUExecutionProvider");
    for stage in ["decode", "volume", "resample", "inference", "network", "postprocess", "storage", "total"] {
        assert!(result["timings_ms"][stage].as_f64().is_some(), "timing for {stage}: {result}");
    }
    // The network's time is the part of the inference stage spent inside ONNX Runtime.
    let (network, inference) = (&result["timings_ms"]["network"], &result["timings_ms"]["inference"]);
    assert!(network.as_f64() <= inference.as_f64(), "{network} ms of {inference} ms: {result}");
    // The tiny network: liver/HCC = sigmoid(2 · mean input) > 0.5 for any non-empty input.
    let liver = result["tumor_probabilities"]["liver"]["HCC"].as_f64().expect("liver HCC");
    let kidney = result["tumor_probabilities"]["kidney"]["RCC"].as_f64().expect("kidney RCC");
    assert!((liver + kidney - 1.0).abs() < 1e-5, "sigmoid(x) + sigmoid(-x) = 1: {liver} {kidney}");
    assert!(result["biomarkers"].is_object(), "{result}");
    assert_eq!(body["jobs"][0]["status"], "done");

    // This phantom's mean normalised input is positive, so liver/HCC passes its 0.6 threshold:
    // the deterministic case must raise exactly one finding, located on a key slice.
    assert!(liver >= 0.6, "the deterministic case is a liver/HCC positive: {liver}");
    let findings: Vec<(i64, Option<i64>, Value)> =
        sqlx::query_as("select id, screening_result_ref, location from finding order by id")
            .fetch_all(&pool)
            .await
            .expect("findings");
    assert_eq!(findings.len(), 1, "one finding for the liver/HCC positive ({liver})");
    assert!(findings[0].1.is_some(), "the finding names the result that raised it");
    assert!(findings[0].2["sop_instance_uid"].is_string(), "located on a key slice: {}", findings[0].2);

    // Re-runs: not for a coordinator; a radiologist's re-run screens again without a duplicate.
    let coordinator = app.signed_in("coordinator").await;
    let refused =
        coordinator.post(app.url(&format!("/api/v1/studies/{study_uid}/screening"))).send().await.expect("post");
    assert_eq!(refused.status(), 403);
    let rerun =
        radiologist.post(app.url(&format!("/api/v1/studies/{study_uid}/screening"))).send().await.expect("post");
    assert_eq!(rerun.status(), 202);
    assert!(worker.run_once().await.expect("runs"));
    let count: i64 = sqlx::query_scalar("select count(*) from finding").fetch_one(&pool).await.expect("count");
    assert_eq!(count, 1, "the same lesion is not raised twice");
    let results: i64 =
        sqlx::query_scalar("select count(*) from screening_result").fetch_one(&pool).await.expect("count");
    assert_eq!(results, 2);

    let (_, contrast) = get(&app, &radiologist, &format!("/api/v1/studies/{contrast_uid}/screening")).await;
    assert_eq!(contrast["jobs"][0]["status"], "skipped");
    assert!(contrast["jobs"][0]["error"].as_str().unwrap_or_default().contains("not eligible"), "{contrast}");
    // The failed rule is kept as a code, which the programme table counts skipped series by.
    let codes: Option<Vec<String>> = sqlx::query_scalar(
        "select j.skip_codes from screening_job j join series s on s.id = j.series_ref
         join study st on st.id = s.study_ref where st.study_uid = $1",
    )
    .bind(&contrast_uid)
    .fetch_one(&pool)
    .await
    .expect("codes");
    assert_eq!(codes, Some(vec!["contrast".to_owned()]));
    assert_eq!(contrast["jobs"][0]["skip_reasons"], json!(["contrast"]), "{contrast}");
    // The study page words the skip in the reader's language.
    let page = elysium_tests::get_text_in_chinese(&app, &radiologist, &format!("/studies/{contrast_uid}")).await;
    assert!(page.contains(r#"data-testid="job-skip-reasons">增强扫描</span>"#), "{page}");
    // The worker's own message stays as written, introduced in the reader's language.
    let message = page.split(r#"data-testid="job-worker-message""#).nth(1).unwrap_or_default().replace("<!>", "");
    let message = message.split_once('>').map(|(_, text)| text).unwrap_or_default();
    assert!(message.starts_with("工作进程的技术信息（英文）："), "{page}");
    assert!(message.contains(r#"<span lang="en">"#), "{page}");

    let admin = app.signed_in("admin").await;
    let (status, body) = get(&app, &admin, "/api/v1/inference/status").await;
    assert_eq!(status, 200);
    assert_eq!(body["jobs"]["done"], 2, "{body}");
    assert_eq!(body["jobs"]["skipped"], 1, "{body}");
    let (status, _) = get(&app, &coordinator, "/api/v1/inference/status").await;
    assert_eq!(status, 403);
}

/// The reference screening model through the real worker: its parity case with a liver lesion
/// (`models/reference-screening/parity/cases.json`) raises a liver finding, its lesion-free case
/// raises none, and a scan shorter than its manifest's minimum is skipped unscreened.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_reference_model_raises_the_lesion_organ_and_nothing_on_a_clean_phantom(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--series-quiet-seconds", "0"]).await;
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/reference-screening");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(reference.join("parity/cases.json")).expect("cases"))
            .expect("json");
    let model = manifest::load(&reference).expect("the reference model");
    let (name, version) = (model.manifest.name.clone(), model.manifest.version.clone());
    let session = ModelSession::open(model, DevicePreference::Cpu, 1).expect("session");
    let state = app.state();
    let worker = Worker::new(
        app.pool.clone(),
        state.ingestor.store().clone(),
        state.levels,
        session,
        "reference".into(),
        Duration::from_secs(60),
    );
    let config = elysium_tests::config(&["--series-quiet-seconds", "0"]).screening;
    // The chronic-finding cut-off for the liver at its highest (60 HU), so that the phantoms'
    // livers (built at 58 ± 5 HU) show the worker applying the cut-offs in force.
    let admin = app.signed_in("admin").await;
    let rules = json!({
        "steatosis_liver_hu": 60.0, "steatosis_liver_minus_spleen_hu": -10.0, "osteoporosis_l1_hu": 110.0,
        "low_bone_density_l1_hu": 160.0, "coronary_calcium_mm3": 1000.0,
    });
    let response = admin.post(app.url("/api/v1/admin/settings/chronic")).json(&rules).send().await.expect("rules");
    assert_eq!(response.status(), 200);
    let mut steatosis_raised = 0;

    for case in cases["cases"].as_array().expect("cases") {
        let generator = &case["generator"];
        let dir = tempfile::tempdir().expect("dir");
        let mut options = elysium_phantom::PhantomOptions::new(dir.path());
        options.seed = generator["seed"].as_u64().expect("seed");
        options.rows = u16::try_from(generator["rows"].as_u64().expect("rows")).expect("rows");
        options.lesions = generator["lesions"]
            .as_array()
            .expect("lesions")
            .iter()
            .map(|l| l.as_str().expect("lesion").parse().expect("request"))
            .collect();
        let series = store(&app, options).await;
        let series_uid = series.series_uid.clone();

        assert_eq!(
            scheduler::pass(&pool, &state.ingestor.store().clone(), &config, &name, &version).await.expect("pass"),
            1
        );
        assert!(worker.run_once().await.expect("runs"));
        let organs: Vec<(String, Value)> = sqlx::query_as(
            "select f.organ, f.location from finding f join series s on s.id = f.series_ref where s.series_uid = $1 order by f.organ",
        )
        .bind(&series_uid)
        .fetch_all(&pool)
        .await
        .expect("findings");
        // One finding per positive organ, whichever of its classes passed.
        let mut expected: Vec<&str> = case["expected"]["positives_at_manifest_thresholds"]
            .as_array()
            .expect("positives")
            .iter()
            .map(|p| p.as_str().expect("positive").split('/').next().expect("organ"))
            .collect();
        expected.dedup();
        let raised: Vec<&str> = organs.iter().map(|(organ, _)| organ.as_str()).collect();
        assert_eq!(raised, expected, "{}: findings raised", case["case"]);
        for truth in case["expected"]["lesions"].as_array().expect("lesions") {
            let organ = truth["organ"].as_str().expect("organ");
            assert!(raised.contains(&organ), "{}: the {organ} lesion raises a finding", case["case"]);
        }
        if case["expected"]["lesions"].as_array().is_some_and(|l| l.is_empty()) {
            assert!(raised.is_empty(), "a lesion-free phantom raises nothing: {raised:?}");
        }
        // The worker puts each located lesion on a track, its series aligned on anatomy.
        let sized = organs.iter().filter(|(_, location)| location["diameter_mm"].as_f64().is_some()).count();
        let tracked: Vec<(String, bool)> = sqlx::query_as(
            "select g.organ, g.aligned_mm is not null from lesion_sighting g join finding f on f.id = g.finding_ref
             join series s on s.id = f.series_ref where s.series_uid = $1 order by g.organ",
        )
        .bind(&series_uid)
        .fetch_all(&pool)
        .await
        .expect("sightings");
        assert_eq!(tracked.len(), sized, "{}: one sighting per located lesion", case["case"]);
        assert_eq!(sized, raised.len(), "{}: the model sized every lesion it raised: {organs:?}", case["case"]);
        assert!(tracked.iter().all(|(_, aligned)| *aligned), "{}: aligned on anatomy {tracked:?}", case["case"]);

        // The chronic pathway: the stored liver attenuation is the phantom's (within the
        // phantom's noise), and a fatty-liver finding is raised exactly when it is below 60 HU.
        let truth: Value =
            serde_json::from_str(&std::fs::read_to_string(series.dir.join("truth.json")).expect("truth"))
                .expect("json");
        let (liver, chronic): (Option<f64>, Vec<(String, f64)>) = {
            let liver: Option<f64> = sqlx::query_scalar(
                "select (r.result -> 'biomarkers' ->> 'liver_hu')::float8 from screening_result r
                 join series s on s.id = r.series_ref where s.series_uid = $1",
            )
            .bind(&series_uid)
            .fetch_one(&pool)
            .await
            .expect("liver");
            let chronic = sqlx::query_as(
                "select c.kind, c.value from chronic_finding c join series s on s.study_ref = c.study_ref
                 where s.series_uid = $1 order by c.kind",
            )
            .bind(&series_uid)
            .fetch_all(&pool)
            .await
            .expect("chronic");
            (liver, chronic)
        };
        let liver = liver.expect("the liver is measured");
        let built = truth["organ_hu"]["liver"].as_f64().expect("the phantom's liver HU");
        assert!((liver - built).abs() < 8.0, "{}: liver {liver} HU against the phantom's {built}", case["case"]);
        let steatosis: Vec<f64> = chronic.iter().filter(|(k, _)| k == "steatosis").map(|(_, v)| *v).collect();
        if liver < 60.0 {
            assert_eq!(steatosis, [liver], "{}: raised at {liver} HU", case["case"]);
            steatosis_raised += 1;
        } else {
            assert!(steatosis.is_empty(), "{}: {liver} HU is not below 60", case["case"]);
        }
    }
    assert!(steatosis_raised > 0, "at least one phantom's liver is below the test's 60 HU cut-off");

    // A short scan (48 slices of 2.5 mm) is outside the model's domain: skipped, with the reason.
    let dir = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(dir.path());
    options.seed = 2610;
    options.rows = 128;
    options.slices = Some(48);
    let short = store(&app, options).await.series_uid;
    assert_eq!(
        scheduler::pass(&pool, &state.ingestor.store().clone(), &config, &name, &version).await.expect("pass"),
        1
    );
    assert!(worker.run_once().await.expect("runs"));
    let (status, reason, codes): (String, Option<String>, Option<Vec<String>>) = sqlx::query_as(
        "select j.status, j.last_error, j.skip_codes from screening_job j join series s on s.id = j.series_ref
         where s.series_uid = $1",
    )
    .bind(&short)
    .fetch_one(&pool)
    .await
    .expect("job");
    assert_eq!(status, "skipped");
    assert_eq!(codes, Some(vec!["model_requirements".to_owned()]));
    assert!(reason.as_deref().unwrap_or_default().contains("needs at least 300 mm"), "{reason:?}");
    let findings: i64 = sqlx::query_scalar(
        "select count(*) from finding f join series s on s.id = f.series_ref where s.series_uid = $1",
    )
    .bind(&short)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(findings, 0);
}

/// A server with the tiny test model, a quiet period of 0 and its screening configuration.
struct Tiny {
    app: TestApp,
    config: elysium_server::screening::ScreeningConfig,
    store: std::sync::Arc<dyn object_store::ObjectStore>,
}

impl Tiny {
    async fn spawn(pool: PgPool) -> Tiny {
        let models = models_dir().display().to_string();
        let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "0"];
        let app = TestApp::spawn_with(pool, &flags).await;
        let config = elysium_tests::config(&flags).screening;
        let store = app.state().ingestor.store().clone();
        Tiny { app, config, store }
    }
}

/// The instances of a phantom series of `slices` slices, in file order, and the series.
fn phantom_files(seed: u64, slices: u32) -> (elysium_phantom::GeneratedSeries, Vec<Vec<u8>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(dir.path());
    options.seed = seed;
    options.rows = 64;
    options.slices = Some(slices);
    let report = elysium_phantom::generate(&options).expect("phantom");
    let series = report.series[0].clone();
    let files = series.dicom_files().expect("files").iter().map(|f| std::fs::read(f).expect("read")).collect();
    (series, files, dir)
}

async fn ingest_files(app: &TestApp, files: &[Vec<u8>]) {
    let received =
        elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, app.site_id("DEMO-GH").await);
    let ingestor = app.state().ingestor;
    for file in files {
        let outcome = ingestor.ingest(file.clone().into(), &received).await;
        assert!(matches!(outcome, elysium_server::ingest::Outcome::Stored(_)), "{outcome:?}");
    }
}

/// A sender that pauses: the first 45 of 90 slices arrive, the series goes quiet and is screened;
/// the other 45 arrive later. The series is screened again on all 90, the newer result is current
/// and names the one it supersedes (both kept), no finding is raised twice, and a finding the
/// earlier result raised that the new one no longer supports stays open with a note.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_series_that_arrives_in_two_bursts_is_screened_again_on_all_its_instances(pool: PgPool) {
    let Tiny { app, config, store } = Tiny::spawn(pool.clone()).await;
    let worker = tiny_worker(&app, "bursts");
    let (series, files, _dir) = phantom_files(911, 90);

    ingest_files(&app, &files[..45]).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    assert!(worker.run_once().await.expect("runs"));
    let first: (i64, Option<i32>) =
        sqlx::query_as("select id, instances from screening_result").fetch_one(&pool).await.expect("result");
    assert_eq!(first.1, Some(45), "screened on what had arrived");
    // The earlier result raised a pancreas finding (the tiny network never flags the pancreas,
    // so the complete series' result will not support it). Written by hand: the test's setup.
    sqlx::query(
        "insert into finding (patient_ref, study_ref, series_ref, site_id, organ, class_label, probability, threshold,
                              model_name, model_version, screening_result_ref)
         select st.patient_ref, st.id, se.id, st.site_id, 'pancreas', 'PDAC', 0.9, 0.5, 'tiny', '0.0.1', $2
         from series se join study st on st.id = se.study_ref where se.series_uid = $1",
    )
    .bind(&series.series_uid)
    .bind(first.0)
    .execute(&pool)
    .await
    .expect("finding");
    let findings_before: i64 =
        sqlx::query_scalar("select count(*) from finding").fetch_one(&pool).await.expect("count");

    // Nothing changed: nothing is queued again.
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 0);
    ingest_files(&app, &files[45..]).await;
    let changed: i64 =
        sqlx::query_scalar("select count(*) from series_changed").fetch_one(&pool).await.expect("changed");
    assert_eq!(changed, 1, "the late instances mark the series changed");
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1, "screened again");
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 0, "once");
    assert!(worker.run_once().await.expect("runs"));

    let results: Vec<(i64, Option<i32>)> = sqlx::query_as("select id, instances from screening_result order by id")
        .fetch_all(&pool)
        .await
        .expect("results");
    assert_eq!(results.iter().map(|r| r.1).collect::<Vec<_>>(), [Some(45), Some(90)], "both kept");
    let jobs: Vec<(i32, String)> = sqlx::query_as("select generation, status from screening_job order by id")
        .fetch_all(&pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, [(1, "done".to_owned()), (2, "done".to_owned())]);

    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = get(&app, &radiologist, &format!("/api/v1/studies/{}/screening", series.study_uid)).await;
    assert_eq!(status, 200);
    let current = &body["series"][0];
    assert_eq!(current["instances"], 90);
    assert_eq!(current["supersedes"]["id"], first.0);
    assert_eq!(current["supersedes"]["instances"], 45);
    assert_eq!(body["jobs"][0]["generation"], 2);
    let overview: Value = radiologist
        .get(app.url(&format!("/api/fn/study_screening?study_uid={}", series.study_uid)))
        .send()
        .await
        .expect("panel")
        .json()
        .await
        .expect("json");
    // The study page's server function and the REST API send the same types.
    assert_eq!(overview["series"], body["series"]);
    assert_eq!(overview["jobs"], body["jobs"]);
    let page = elysium_tests::get_text(&app, &radiologist, &format!("/studies/{}", series.study_uid)).await;
    let says = format!("supersedes result #{} of", first.0);
    assert!(
        page.contains(&says) && page.contains("on 45 instances, which is kept"),
        "the page says what it superseded"
    );

    // No finding raised twice; the unsupported one is still open, with the system's note.
    let findings_after: i64 = sqlx::query_scalar("select count(*) from finding").fetch_one(&pool).await.expect("count");
    assert_eq!(findings_after, findings_before, "the liver finding (if any) is not raised again");
    let (status, version): (String, i32) =
        sqlx::query_as("select status, version from finding where organ = 'pancreas'")
            .fetch_one(&pool)
            .await
            .expect("pancreas");
    assert_eq!((status.as_str(), version), ("new", 2), "open, one event more");
    let note: (String, String, Value) = sqlx::query_as(
        "select e.event, e.actor_role, e.payload from finding_event e join finding f on f.id = e.finding_id
         where f.organ = 'pancreas' and e.version = 2",
    )
    .fetch_one(&pool)
    .await
    .expect("note");
    assert_eq!((note.0.as_str(), note.1.as_str()), ("add_note", "system"));
    let text = note.2["text"].as_str().unwrap_or_default();
    assert!(text.contains("90 instances") && text.contains("no longer flags the pancreas"), "{text}");
}

/// An instance that arrives while the series' job is still queued is covered by that job (it reads
/// the series when it runs): no second job.
#[sqlx::test(migrator = "MIGRATOR")]
async fn an_instance_that_arrives_while_the_job_waits_is_screened_by_that_job(pool: PgPool) {
    let Tiny { app, config, store } = Tiny::spawn(pool.clone()).await;
    let (_, files, _dir) = phantom_files(912, 50);
    ingest_files(&app, &files[..49]).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    ingest_files(&app, &files[49..]).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 0);
    let changed: i64 =
        sqlx::query_scalar("select count(*) from series_changed").fetch_one(&pool).await.expect("changed");
    assert_eq!(changed, 0, "the mark is cleared: the queued job covers it");
    assert!(tiny_worker(&app, "waits").run_once().await.expect("runs"));
    let instances: Option<i32> =
        sqlx::query_scalar("select instances from screening_result").fetch_one(&pool).await.expect("result");
    assert_eq!(instances, Some(50));
}

/// An instance that arrives while the series' job runs (it may have read the series already)
/// waits for that job to end; then the series is screened again on everything.
#[sqlx::test(migrator = "MIGRATOR")]
async fn an_instance_that_arrives_while_the_job_runs_is_screened_after_it(pool: PgPool) {
    let Tiny { app, config, store } = Tiny::spawn(pool.clone()).await;
    let (_, files, _dir) = phantom_files(914, 50);
    ingest_files(&app, &files[..49]).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    // A worker holds the job (it is running) when the last instance arrives.
    let job = elysium_db::jobs::claim(
        &pool,
        &elysium_db::jobs::Claimant { owner: "slow", model_name: "tiny", model_version: "0.0.1" },
        Duration::from_secs(60),
    )
    .await
    .expect("claim")
    .expect("job");
    ingest_files(&app, &files[49..]).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 0, "waits for it");
    let changed: i64 =
        sqlx::query_scalar("select count(*) from series_changed").fetch_one(&pool).await.expect("changed");
    assert_eq!(changed, 1, "the mark stays while the job runs");
    let mut conn = pool.acquire().await.expect("conn");
    assert!(elysium_db::jobs::complete(&mut conn, job.id, "slow").await.expect("complete"));
    drop(conn);
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1, "then again");
    let generations: Vec<i32> =
        sqlx::query_scalar("select generation from screening_job order by id").fetch_all(&pool).await.expect("jobs");
    assert_eq!(generations, [1, 2]);
}

/// The model folders are read and checksummed once, when the server starts: a re-run queues the
/// model the server started with even after its folder is gone, so no request reads or hashes
/// model files.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_rerun_queues_the_model_read_at_start_without_reading_the_folder_again(pool: PgPool) {
    let root = tempfile::tempdir().expect("dir");
    let tiny = root.path().join("tiny");
    std::fs::create_dir(&tiny).expect("model folder");
    for file in ["manifest.toml", "model.onnx"] {
        std::fs::copy(models_dir().join("tiny").join(file), tiny.join(file)).expect("copy");
    }
    let folder = root.path().display().to_string();
    let app = TestApp::spawn_with(pool.clone(), &["--models-dir", folder.as_str()]).await;
    let study_uid = store_phantom(&app, 914, false).await;
    std::fs::remove_dir_all(&tiny).expect("the folder removed under the running server");

    let radiologist = app.signed_in("radiologist").await;
    let rerun =
        radiologist.post(app.url(&format!("/api/v1/studies/{study_uid}/screening"))).send().await.expect("rerun");
    assert_eq!(rerun.status(), 202);
    let queued: Vec<(String, String)> =
        sqlx::query_as("select model_name, model_version from screening_job").fetch_all(&pool).await.expect("jobs");
    assert_eq!(queued, [("tiny".to_owned(), "0.0.1".to_owned())]);
}

/// An automatic job and a re-run of the same series, run by two workers at once, raise each
/// positive organ's finding once; the database refuses a second screening finding for a
/// (series, organ) whatever the timing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn an_automatic_job_and_a_rerun_racing_raise_one_finding_per_organ(pool: PgPool) {
    let Tiny { app, config, store } = Tiny::spawn(pool.clone()).await;
    let study_uid = store_phantom(&app, 913, false).await;
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    let radiologist = app.signed_in("radiologist").await;
    let rerun =
        radiologist.post(app.url(&format!("/api/v1/studies/{study_uid}/screening"))).send().await.expect("rerun");
    assert_eq!(rerun.status(), 202);
    let (a, b) = (tiny_worker(&app, "racer-a"), tiny_worker(&app, "racer-b"));
    let (ran_a, ran_b) = tokio::join!(a.run_once(), b.run_once());
    assert!(ran_a.expect("a") && ran_b.expect("b"), "both jobs ran");
    let per_organ: Vec<(String, i64)> =
        sqlx::query_as("select organ, count(*) from finding group by organ").fetch_all(&pool).await.expect("findings");
    assert!(per_organ.iter().all(|(_, n)| *n == 1), "{per_organ:?}");

    // Whatever the timing, the database has the last word.
    let duplicate = sqlx::query(
        "insert into finding (patient_ref, study_ref, series_ref, site_id, organ, class_label, probability, threshold,
                              model_name, model_version, screening_result_ref)
         select st.patient_ref, st.id, se.id, st.site_id, 'liver', 'HCC', 0.9, 0.5, 'tiny', '0.0.1', r.id
         from screening_result r join series se on se.id = r.series_ref join study st on st.id = se.study_ref
         order by r.id",
    )
    .execute(&pool)
    .await;
    assert_eq!(
        elysium_tests::sqlstate(&duplicate).as_deref(),
        Some("23505"),
        "two screening findings for one (series, organ) are refused"
    );
}

/// The end of a STOW-RS request that stored a series is its completion hint: the series is
/// screened without waiting for the quiet period (an hour here). Instances stored one at a time
/// give no hint, and an instance that arrives after the hint makes it stale: the series then
/// waits to be quiet again.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_finished_request_completes_its_series_without_waiting_for_the_quiet_period(pool: PgPool) {
    let models = models_dir().display().to_string();
    let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "3600"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let config = elysium_tests::config(&flags).screening;
    let store = app.state().ingestor.store().clone();
    let (_series, files, _dir) = phantom_files(913, 48);
    let pass = || scheduler::pass(&pool, &store, &config, "tiny", "0.0.1");

    ingest_files(&app, &files[..1]).await;
    assert_eq!(pass().await.expect("pass"), 0, "one instance, no hint: the series waits to be quiet");
    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = elysium_tests::stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &files[1..47]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(pass().await.expect("pass"), 1, "the request's end completes the series");
    assert_eq!(pass().await.expect("pass"), 0, "once");

    ingest_files(&app, &files[47..]).await;
    assert_eq!(pass().await.expect("pass"), 0, "a late instance makes the hint stale");
    let changed: i64 =
        sqlx::query_scalar("select count(*) from series_changed").fetch_one(&pool).await.expect("changed");
    assert_eq!(changed, 1, "and the series is marked to be screened again once quiet");
}

/// A patch-based model through the worker: the `tiny-sliding` fixture (make_tiny_sliding.py)
/// answers, voxel by voxel, liver/HCC = x and kidney/RCC = x / 2 for a normalised input x, so
/// after its sliding window the stored kidney probability is half the liver one, the liver one is
/// the grid's highest value, and the label map is liver wherever x > 0.5.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_sliding_window_model_screens_through_the_worker(pool: PgPool) {
    let models = models_dir().display().to_string();
    let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "0"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let study_uid = store_phantom(&app, 904, false).await;
    let config = elysium_tests::config(&flags).screening;
    let state = app.state();
    let store = state.ingestor.store().clone();
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny-sliding", "0.0.1").await.expect("pass"), 1);
    let worker = worker_for(&app, load(&models_dir().join("tiny-sliding")), "sliding-worker");
    assert!(worker.run_once().await.expect("runs"));

    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = get(&app, &radiologist, &format!("/api/v1/studies/{study_uid}/screening")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jobs"][0]["status"], "done", "{body}");
    let result = &body["series"][0];
    assert_eq!(result["model"]["name"], "tiny-sliding");
    let liver = result["tumor_probabilities"]["liver"]["HCC"].as_f64().expect("liver HCC");
    let kidney = result["tumor_probabilities"]["kidney"]["RCC"].as_f64().expect("kidney RCC");
    assert!((kidney - liver / 2.0).abs() < 1e-5, "RCC is half of HCC: {liver} {kidney}");
    // A phantom holds bone (above 0 HU, so above 0.5 normalised): the liver evidence passes its
    // 0.6 threshold only if the grid's highest value does; either way, the finding follows it.
    let findings: i64 = sqlx::query_scalar("select count(*) from finding").fetch_one(&pool).await.expect("count");
    assert_eq!(findings, i64::from(liver >= 0.6), "{liver}");
    assert!(liver > 0.5 && liver <= 1.0, "{liver}");
}

/// A two-stage cascade through the worker: the `tiny-cascade` fixture's first stage labels
/// "liver" wherever the normalised input is above 0.6, and its second stage (the tiny-sliding
/// network) runs only in the box around those voxels. The stored result says where, and how long
/// each stage took (the stored network time is both). With the fixture's window a phantom's
/// centre (soft tissue, below 200 HU) holds no such voxel: nothing is tiled and every output is
/// background. With the window narrowed to [-1000, 100] HU (a copy of the folder; the checksums
/// cover the ONNX files only) the body is above 0.6, so the box is the whole 12³ grid at 2 mm,
/// centred on the volume: its corner voxels' centres lie 11 mm either side of the volume's
/// centre, 22 mm apart along each axis.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cascade_model_screens_through_the_worker_and_says_where_its_second_stage_ran(pool: PgPool) {
    let models = models_dir().display().to_string();
    let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "0"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let config = elysium_tests::config(&flags).screening;
    let state = app.state();
    let store = state.ingestor.store().clone();
    let narrowed = tempfile::tempdir().expect("dir");
    let fixture = models_dir().join("tiny-cascade");
    for file in ["model.onnx", "organs.onnx"] {
        std::fs::copy(fixture.join(file), narrowed.path().join(file)).expect("copy");
    }
    let manifest_text = std::fs::read_to_string(fixture.join("manifest.toml")).expect("manifest");
    let window = "hu_clip = [-1000.0, 1000.0]";
    assert!(manifest_text.contains(window));
    std::fs::write(narrowed.path().join("manifest.toml"), manifest_text.replace(window, "hu_clip = [-1000.0, 100.0]"))
        .expect("write");

    for (seed, folder, tiled) in [(905, fixture.clone(), false), (906, narrowed.path().to_owned(), true)] {
        let study_uid = store_phantom(&app, seed, false).await;
        assert_eq!(scheduler::pass(&pool, &store, &config, "tiny-cascade", "0.0.1").await.expect("pass"), 1);
        assert!(worker_for(&app, load(&folder), "cascade").run_once().await.expect("runs"));

        let radiologist = app.signed_in("radiologist").await;
        let (status, body) = get(&app, &radiologist, &format!("/api/v1/studies/{study_uid}/screening")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jobs"][0]["status"], "done", "{body}");
        let result = &body["series"][0];
        let cascade = &result["cascade"];
        let (first, second) = (cascade["first_stage_ms"].as_f64(), cascade["second_stage_ms"].as_f64());
        let (Some(first), Some(second)) = (first, second) else { panic!("both stages' times: {result}") };
        let network = result["timings_ms"]["network"].as_f64().expect("network time");
        assert!((network - (first + second)).abs() < 1e-6, "the stored network time is both stages': {result}");
        let region = &cascade["region"];
        if !tiled {
            assert!(region.is_null() && second == 0.0, "nothing above 200 HU at the centre: {result}");
            assert_eq!(result["tumor_probabilities"]["liver"]["HCC"], 0.0, "{result}");
            continue;
        }
        assert_eq!((&region["start"], &region["size"]), (&json!([0, 0, 0]), &json!([12, 12, 12])), "{result}");
        let corner = |name: &str| -> Vec<f64> {
            region[name].as_array().expect("a corner").iter().filter_map(Value::as_f64).collect()
        };
        let (low, high) = (corner("first_mm"), corner("last_mm"));
        for axis in 0..3 {
            assert!(((high[axis] - low[axis]).abs() - 22.0).abs() < 1e-6, "axis {axis}: {low:?} to {high:?}");
        }
        assert!(second > 0.0 && result["tumor_probabilities"]["liver"]["HCC"].as_f64() > Some(0.6), "{result}");
    }
}

/// The reference model 0.2.0 (`models/reference-screening-0.2.0`, patch-based at 3 mm) through
/// the real worker, on phantoms it never saw (seeds outside its training and held-out ranges): one
/// with a 25 mm lesion in each of the eight screened organs, and two lesion-free ones. The
/// lesions of five organs are raised as findings (lung, breast, esophagus, stomach, liver; the
/// aim is six of eight, which 0.2.0 misses: its card has the held-out figures, and colorectal,
/// pancreas and kidney lesions of 25 mm are found in a third of cases or fewer), each located on
/// its lesion, and the lesion-free phantoms raise nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_reference_model_0_2_0_raises_lesions_in_most_organs_and_nothing_on_clean_phantoms(pool: PgPool) {
    const LESIONS: [(&str, u64); 8] = [
        ("lung", 3100),
        ("breast", 3101),
        ("esophagus", 3102),
        ("stomach", 3103),
        ("colorectal", 3104),
        ("liver", 3105),
        ("pancreas", 3106),
        ("kidney", 3107),
    ];
    const LESION_FREE: [u64; 2] = [3110, 3111];
    let app = TestApp::spawn_with(pool.clone(), &["--series-quiet-seconds", "0"]).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/reference-screening-0.2.0");
    let model = load(&dir);
    let (name, version) = (model.manifest.name.clone(), model.manifest.version.clone());
    let store_handle = app.state().ingestor.store().clone();
    let worker = worker_for(&app, model, "reference-0.2");
    let config = elysium_tests::config(&["--series-quiet-seconds", "0"]).screening;

    let cases = LESIONS.iter().map(|(organ, seed)| (*seed, Some(*organ))).chain(LESION_FREE.iter().map(|s| (*s, None)));
    let mut found = Vec::new();
    for (seed, organ) in cases {
        let dir = tempfile::tempdir().expect("dir");
        let mut options = elysium_phantom::PhantomOptions::new(dir.path());
        options.seed = seed;
        options.rows = 128;
        options.lesions = organ.map(|o| format!("{o}:25").parse().expect("lesion request")).into_iter().collect();
        let series = store(&app, options).await;
        assert_eq!(scheduler::pass(&pool, &store_handle, &config, &name, &version).await.expect("pass"), 1);
        assert!(worker.run_once().await.expect("runs"));
        let raised: Vec<(String, Value)> = sqlx::query_as(
            "select f.organ, f.location from finding f join series s on s.id = f.series_ref where s.series_uid = $1 order by f.organ",
        )
        .bind(&series.series_uid)
        .fetch_all(&pool)
        .await
        .expect("findings");
        let Some(organ) = organ else {
            assert!(raised.is_empty(), "seed {seed}: a lesion-free phantom raises {raised:?}");
            continue;
        };
        let truth: Value =
            serde_json::from_str(&std::fs::read_to_string(series.dir.join("truth.json")).expect("truth"))
                .expect("json");
        let centre: Vec<f64> =
            truth["lesions"][0]["centre_mm"].as_array().expect("centre").iter().filter_map(Value::as_f64).collect();
        let Some((_, location)) = raised.iter().find(|(o, _)| o == organ) else { continue };
        let at: Vec<f64> =
            location["center_mm"].as_array().expect("located").iter().filter_map(Value::as_f64).collect();
        let distance = at.iter().zip(&centre).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        // On the 25 mm lesion: within its radius and one 3 mm grid voxel.
        assert!(distance <= 12.5 + 3.0, "{organ}: located {distance:.1} mm from the lesion's centre");
        found.push(organ);
    }
    assert_eq!(found, ["lung", "breast", "esophagus", "stomach", "liver"], "the organs whose lesions are raised");
}
