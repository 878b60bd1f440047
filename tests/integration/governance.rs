//! Model governance: the registry lists the models found at start; a threshold change is
//! previewed on the version's last series (counted here by hand), needs a reason, is audited,
//! chains on the previous change, and applies to the next series screened; each version's
//! positive rate, PPV and drift against its calibration window are computed from hand-built
//! results; only administrators reach any of it.

use std::path::PathBuf;

use elysium_db::MIGRATOR;
use elysium_server::screening::scheduler;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::screening::{models_dir, store_phantom, tiny_worker};

async fn get(app: &TestApp, client: &Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, client: &Client, path: &str, body: &Value) -> (u16, Value) {
    let response = client.post(app.url(path)).json(body).send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A study of a new patient at DEMO-GH (index rows only): (study id, study UID).
async fn study(pool: &PgPool) -> (Uuid, String) {
    let uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let id: Uuid = sqlx::query_scalar(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, 'DEMO-GH', 'TEST^GOVERNANCE', 'M', '1950-01-01') returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $2, p.id, (select id from site where code = 'DEMO-GH'), current_date from p returning id",
    )
    .bind(format!("G-{}", Uuid::new_v4().simple()))
    .bind(&uid)
    .fetch_one(pool)
    .await
    .expect("study");
    (id, uid)
}

/// One screened series of `model@version` whose result, written at `at`, gives `output`
/// (`organ/class`) this probability; it lists a positive when `positive`.
async fn result(pool: &PgPool, model: (&str, &str), at: OffsetDateTime, output: &str, p: f64, positive: bool) {
    let (study_id, _) = study(pool).await;
    let (organ, class) = output.split_once('/').expect("organ/class");
    let series_id: Uuid =
        sqlx::query_scalar("insert into series (series_uid, study_ref, modality) values ($1, $2, 'CT') returning id")
            .bind(format!("2.25.{}", Uuid::new_v4().as_u128()))
            .bind(study_id)
            .fetch_one(pool)
            .await
            .expect("series");
    let job_id: i64 = sqlx::query_scalar(
        "insert into screening_job (series_ref, model_name, model_version, status, max_attempts, reason, finished_at)
         values ($1, $2, $3, 'done', 1, 'auto', $4) returning id",
    )
    .bind(series_id)
    .bind(model.0)
    .bind(model.1)
    .bind(at)
    .fetch_one(pool)
    .await
    .expect("job");
    let positives = if positive { json!([{ "organ": organ, "class": class, "probability": p }]) } else { json!([]) };
    sqlx::query(
        "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                       execution_provider, device, result, timings_ms, created_at)
         values ($1, $2, $3, $4, $5, 'sha', 'cpu', 'test', $6, '{}', $7)",
    )
    .bind(job_id)
    .bind(series_id)
    .bind(study_id)
    .bind(model.0)
    .bind(model.1)
    .bind(json!({ "tumor_probabilities": { organ: { class: p } }, "positives": positives }))
    .bind(at)
    .execute(pool)
    .await
    .expect("result");
}

fn threshold_request(output: &str, threshold: f64, reason: Option<&str>) -> Value {
    let mut body = json!({ "model_name": "tiny", "model_version": "0.0.1", "output": output, "threshold": threshold });
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    body
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_threshold_change_is_previewed_reasoned_audited_and_applies_to_the_next_series(pool: PgPool) {
    let models = models_dir().display().to_string();
    let flags = ["--models-dir", models.as_str(), "--series-quiet-seconds", "0"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let admin = app.signed_in("admin").await;

    let (status, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    assert_eq!(status, 200, "{overview}");
    let tiny = &overview["models"][0];
    assert_eq!((tiny["model"]["name"].as_str(), tiny["model"]["active"].as_bool()), (Some("tiny"), Some(true)));
    assert_eq!(tiny["thresholds"], json!([{ "output": "liver/HCC", "manifest": 0.6, "current": 0.6 }]));

    // Six series already screened, oldest first; the manifest's threshold is 0.6.
    let now = OffsetDateTime::now_utc();
    let probabilities = [0.2, 0.55, 0.6, 0.61, 0.7, 0.95];
    for (i, p) in probabilities.iter().enumerate() {
        let at = now - Duration::minutes(60 - i as i64);
        result(&pool, ("tiny", "0.0.1"), at, "liver/HCC", *p, *p >= 0.6).await;
    }
    let preview = |threshold: f64, last: Option<u32>| {
        let mut body = threshold_request("liver/HCC", threshold, None);
        if let Some(last) = last {
            body["last"] = json!(last);
        }
        body
    };
    // At 0.5: 0.55 joins 0.6, 0.61, 0.7 and 0.95 (0.6 is at the threshold: positive).
    let (status, lower) = post(&app, &admin, "/api/v1/admin/models/thresholds/preview", &preview(0.5, None)).await;
    assert_eq!(status, 200, "{lower}");
    assert_eq!(lower["current"], 0.6);
    assert_eq!(lower["preview"], json!({"series": 6, "positive_now": 4, "positive_then": 5, "gained": 1, "lost": 0}));
    // At 0.65 over the last three (0.95, 0.7, 0.61): 0.61 is lost.
    let (_, higher) = post(&app, &admin, "/api/v1/admin/models/thresholds/preview", &preview(0.65, Some(3))).await;
    assert_eq!(higher["preview"], json!({"series": 3, "positive_now": 3, "positive_then": 2, "gained": 0, "lost": 1}));

    // Refusals change nothing.
    let refusals = [
        (threshold_request("liver/HCC", 0.99, None), "reason"),
        (threshold_request("liver/HCC", 0.99, Some("   ")), "reason"),
        (threshold_request("liver/HCC", 0.6, Some("same")), "already"),
        (threshold_request("liver/HCC", 1.0, Some("all")), "between 0 and 1"),
        (threshold_request("kidney/RCC", 0.5, Some("why")), "valid: liver/HCC"),
        (
            json!({"model_name": "tiny", "model_version": "9", "output": "liver/HCC", "threshold": 0.5, "reason": "x"}),
            "valid: tiny@0.0.1",
        ),
    ];
    for (body, says) in &refusals {
        let (status, error) = post(&app, &admin, "/api/v1/admin/models/thresholds", body).await;
        assert_eq!(status, 422, "{body}");
        assert!(error["error"]["message"].as_str().unwrap_or_default().contains(says), "{body}: {error}");
    }
    let coordinator = app.signed_in("coordinator").await;
    let body = threshold_request("liver/HCC", 0.99, Some("not mine to change"));
    assert_eq!(post(&app, &coordinator, "/api/v1/admin/models/thresholds", &body).await.0, 403);
    assert_eq!(post(&app, &coordinator, "/api/v1/admin/models/thresholds/preview", &body).await.0, 403);
    assert_eq!(get(&app, &coordinator, "/api/v1/admin/models").await.0, 403);
    assert_eq!(coordinator.get(app.url("/admin/models")).send().await.expect("page").status(), 403);
    assert!(app.audit_rows("model.threshold.change").await.is_empty());

    // The change, with its reason: the preview at that moment is kept with it and audited.
    let reason = "Too many false positives in the work-up clinic";
    let (status, change) =
        post(&app, &admin, "/api/v1/admin/models/thresholds", &threshold_request("liver/HCC", 0.99, Some(reason)))
            .await;
    assert_eq!(status, 201, "{change}");
    assert_eq!((change["previous"].as_f64(), change["threshold"].as_f64()), (Some(0.6), Some(0.99)));
    assert_eq!(change["preview"], json!({"series": 6, "positive_now": 4, "positive_then": 0, "gained": 0, "lost": 4}));
    let audit = app.audit_rows("model.threshold.change").await;
    assert_eq!(audit.len(), 1);
    let (actor, outcome, detail) = &audit[0];
    assert_eq!((actor.as_deref(), outcome.as_str()), (Some("admin"), "success"));
    assert_eq!(detail["previous"], 0.6);
    assert_eq!(detail["threshold"], 0.99);
    assert_eq!(detail["reason"], reason);
    assert_eq!(detail["preview"]["lost"], 4);
    // The next change is against this one.
    let (_, again) =
        post(&app, &admin, "/api/v1/admin/models/thresholds", &threshold_request("liver/HCC", 0.98, Some("Rounder")))
            .await;
    assert_eq!(again["previous"], 0.99);
    let (_, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    assert_eq!(overview["models"][0]["thresholds"][0]["current"], 0.98);
    let changes = overview["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0]["threshold"].as_f64(), changes[0]["changed_by"].as_str()), (Some(0.98), Some("admin")));
    // The history cannot be rewritten.
    let rewrite = sqlx::query("update operating_threshold set threshold = 0.5").execute(&pool).await;
    assert_eq!(
        elysium_tests::sqlstate(&rewrite).as_deref(),
        Some(elysium_tests::APPEND_ONLY),
        "operating_threshold is append-only"
    );

    // The next series screened: the tiny network gives this phantom liver/HCC ≥ 0.6 (a finding
    // at the manifest's threshold, as the screening tests show), below 0.98: no finding now.
    let study_uid = store_phantom(&app, 901, false).await;
    let config = elysium_tests::config(&flags).screening;
    let store = app.state().ingestor.store().clone();
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    assert!(tiny_worker(&app, "governance").run_once().await.expect("runs"));
    let (stored, _): (Value, i64) = sqlx::query_as(
        "select r.result, r.id from screening_result r join study st on st.id = r.study_ref where st.study_uid = $1",
    )
    .bind(&study_uid)
    .fetch_one(&pool)
    .await
    .expect("result");
    let liver = stored["tumor_probabilities"]["liver"]["HCC"].as_f64().expect("liver");
    assert!((0.6..0.98).contains(&liver), "{liver}");
    assert_eq!(stored["positives"], json!([]), "below the operating threshold: not positive");
    let findings: i64 = sqlx::query_scalar(
        "select count(*) from finding f join study st on st.id = f.study_ref where st.study_uid = $1",
    )
    .bind(&study_uid)
    .fetch_one(&pool)
    .await
    .expect("findings");
    assert_eq!(findings, 0);

    // The page without JavaScript: a GET previews, a form post applies (or returns with why).
    let page = admin
        .get(app.url("/admin/models?model=tiny@0.0.1&output=liver/HCC&threshold=0.5&last=500"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("data-testid=\"threshold-preview\""), "the preview panel");
    // Seven series now (the phantom's included); at 0.98 none is positive, at 0.5 six are.
    assert!(page.contains("data-testid=\"preview-then\">6<"), "positive at 0.5");
    assert!(page.contains("data-testid=\"preview-now\">0<"), "positive at 0.98");
    let form = |reason: &'static str| {
        admin
            .post(app.url("/admin/models/thresholds"))
            .header("origin", app.origin())
            .form(&[
                ("model_name", "tiny"),
                ("model_version", "0.0.1"),
                ("output", "liver/HCC"),
                ("threshold", "0.5"),
                ("last", "500"),
                ("reason", reason),
            ])
            .send()
    };
    let refused = form("").await.expect("form");
    assert_eq!(refused.status(), 303);
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/models?model=tiny%400.0.1&output=liver%2FHCC&threshold=0.5&error="), "{back}");
    let applied = form("Back to a sensitive operating point").await.expect("form");
    assert_eq!(applied.headers()["location"], "/admin/models?changed=liver%2FHCC");
    assert_eq!(app.audit_rows("model.threshold.change").await.len(), 3);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_version_has_its_positive_rate_ppv_and_drift_against_its_calibration_window(pool: PgPool) {
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let models = reference.display().to_string();
    // 0.1.0 active (the highest version found, 0.2.0, would be the default).
    let flags = ["--models-dir", models.as_str(), "--screening-model", "reference-screening@0.1.0"];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let admin = app.signed_in("admin").await;
    let now = OffsetDateTime::now_utc();
    let model = ("reference-screening", "0.1.0");
    // Calibration: 100 series 80 days ago, 10 positive. Recent: 100 series yesterday, 30
    // positive. Their Wilson intervals: [0.0552, 0.1744] and [0.2189, 0.3958]: wholly above.
    for i in 0..100 {
        result(&pool, model, now - Duration::days(80), "lung/Cancer", 0.5, i < 10).await;
        result(&pool, model, now - Duration::days(1), "lung/Cancer", 0.5, i < 30).await;
    }
    // An older version with 40 series: too few to judge.
    for i in 0..40 {
        result(&pool, ("reference-screening", "0.0.9"), now - Duration::days(200), "lung/Cancer", 0.5, i < 4).await;
    }
    // Its positives' outcomes: two confirmed by pathology, one benign, one still open.
    let coordinator = app.signed_in("coordinator").await;
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let review = json!({"event": "start_review"});
    let order = json!({"event": "order_workup", "modality": "contrast_ct", "due_date": date, "responsible": "Dr Gale"});
    let schedule = json!({"event": "schedule_workup", "date": date, "site": "CT"});
    let done = json!({"event": "complete_workup", "summary": "Done"});
    let outcome = |outcome: &str| {
        let mut e = json!({"event": "record_outcome", "outcome": outcome, "date": date, "diagnosis": "Reported"});
        if outcome == "confirmed_malignant" {
            e["confirmed_by"] = json!("pathology");
        }
        e
    };
    for plan in [Some("confirmed_malignant"), Some("confirmed_malignant"), Some("benign"), None] {
        let (_, uid) = study(&pool).await;
        let id = elysium_tests::finding(&pool, &uid, "lung", "Cancer", 0.9, 3).await;
        let Some(last) = plan else { continue };
        for event in [review.clone(), order.clone(), schedule.clone(), done.clone(), outcome(last)] {
            let (_, current) = get(&app, &coordinator, &format!("/api/v1/findings/{id}")).await;
            let mut event = event.clone();
            event["expected_version"] = current["version"].clone();
            let (status, body) = post(&app, &coordinator, &format!("/api/v1/findings/{id}/events"), &event).await;
            assert_eq!(status, 200, "{event}: {body}");
        }
    }

    let (status, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    assert_eq!(status, 200, "{overview}");
    let versions = overview["versions"].as_array().expect("versions");
    let current = &versions[0];
    assert_eq!(current["model_version"], "0.1.0", "the active version first");
    assert_eq!((current["registered"].as_bool(), current["active"].as_bool()), (Some(true), Some(true)));
    assert_eq!(
        (current["positive_rate"]["numerator"].as_u64(), current["positive_rate"]["denominator"].as_u64()),
        (Some(40), Some(200))
    );
    assert_eq!((current["ppv"]["numerator"].as_u64(), current["ppv"]["denominator"].as_u64()), (Some(2), Some(3)));
    assert_eq!(current["drift"]["drift"], "above");
    assert_eq!(current["drift"]["calibration"]["numerator"], 10);
    assert_eq!(current["drift"]["recent"]["numerator"], 30);
    let weekly: u64 = current["weeks"].as_array().expect("weeks").iter().filter_map(|w| w["series"].as_u64()).sum();
    assert_eq!(weekly, 200);
    let older = &versions[1];
    assert_eq!(older["model_version"], "0.0.9");
    assert_eq!((older["registered"].as_bool(), older["drift"]["drift"].as_str()), (Some(false), Some("too_few")));

    let page = admin.get(app.url("/admin/models")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("data-version=\"reference-screening@0.1.0\" data-drift=\"above\""), "the drift shows");
    assert!(page.contains("Model card"), "the reference model's card is on the page");
}

/// Two versions of the tiny network (the same ONNX file): 0.0.1 live at its manifest's 0.6, and
/// 0.0.2 in shadow with a threshold of 0.95 that no phantom reaches.
fn two_versions() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("dir");
    for (folder, version, threshold) in [("tiny", "0.0.1", "0.6"), ("tiny-next", "0.0.2", "0.95")] {
        let dir = root.path().join(folder);
        std::fs::create_dir(&dir).expect("folder");
        let source = models_dir().join("tiny");
        std::fs::copy(source.join("model.onnx"), dir.join("model.onnx")).expect("onnx");
        let manifest = std::fs::read_to_string(source.join("manifest.toml")).expect("manifest");
        assert!(manifest.contains("version = \"0.0.1\"") && manifest.contains("threshold = 0.6"));
        let manifest = manifest
            .replace("version = \"0.0.1\"", &format!("version = \"{version}\""))
            .replace("threshold = 0.6", &format!("threshold = {threshold}"));
        std::fs::write(dir.join("manifest.toml"), manifest).expect("manifest");
    }
    root
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_shadow_version_screens_beside_the_live_one_raises_nothing_and_is_compared(pool: PgPool) {
    let models = two_versions();
    let dir = models.path().display().to_string();
    let flags = [
        "--models-dir",
        dir.as_str(),
        "--screening-model",
        "tiny@0.0.1",
        "--shadow-model",
        "tiny@0.0.2",
        "--series-quiet-seconds",
        "0",
    ];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let config = elysium_tests::config(&flags).screening;
    let catalogue = elysium_server::screening::models::Catalogue::discover(&config.models_dir);
    let shadow =
        elysium_server::screening::models::shadow_screening_model(&config, &catalogue).expect("usable").expect("set");
    assert_eq!(shadow.manifest.version, "0.0.2");
    let session =
        elysium_inference::runtime::ModelSession::open(shadow, elysium_inference::runtime::DevicePreference::Cpu, 1)
            .expect("session");
    let worker = tiny_worker(&app, "live-and-shadow").with_shadow(session);

    let study_uid = store_phantom(&app, 901, false).await;
    let store = app.state().ingestor.store().clone();
    assert_eq!(scheduler::pass(&pool, &store, &config, "tiny", "0.0.1").await.expect("pass"), 1);
    assert!(worker.run_once().await.expect("runs"));
    assert!(!worker.run_once().await.expect("runs"), "the shadow queues no job of its own");

    // The live version raised its finding; the shadow's result is stored apart and raised none.
    let findings: Vec<String> = sqlx::query_scalar(
        "select f.model_version from finding f join study st on st.id = f.study_ref where st.study_uid = $1",
    )
    .bind(&study_uid)
    .fetch_all(&pool)
    .await
    .expect("findings");
    assert_eq!(findings, ["0.0.1"]);
    let (live, shadowed): (Value, Value) = sqlx::query_as(
        "select r.result, s.result from shadow_result s join screening_result r on r.id = s.live_result_ref",
    )
    .fetch_one(&pool)
    .await
    .expect("one shadow result");
    assert_eq!(live["tumor_probabilities"], shadowed["tumor_probabilities"], "the same network on the same series");
    assert_eq!(live["positives"][0]["class"], "HCC");
    assert_eq!(shadowed["positives"], json!([]), "below the shadow's 0.95");
    let radiologist = app.signed_in("radiologist").await;
    let (_, results) = get(&app, &radiologist, &format!("/api/v1/studies/{study_uid}/screening")).await;
    assert_eq!(results["series"].as_array().map(Vec::len), Some(1), "the study shows the live result only");

    let admin = app.signed_in("admin").await;
    let (_, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    let registered: Vec<(String, bool, bool)> = overview["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| {
            let m = &m["model"];
            (m["version"].as_str().unwrap_or_default().to_owned(), m["active"] == true, m["shadow"] == true)
        })
        .collect();
    assert_eq!(registered, [("0.0.1".to_owned(), true, false), ("0.0.2".to_owned(), false, true)]);
    let comparison = &overview["shadow"][0];
    assert_eq!(
        (comparison["model_version"].as_str(), comparison["live_model_version"].as_str()),
        (Some("0.0.2"), Some("0.0.1"))
    );
    assert_eq!(comparison["running"], true);
    assert_eq!(comparison["comparison"]["series"], json!({"both": 0, "neither": 0, "gained": 0, "lost": 1}));
    assert_eq!(comparison["comparison"]["outputs"]["liver/HCC"]["lost"], 1);
    let page = admin.get(app.url("/admin/models")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("data-shadow=\"tiny@0.0.2\""), "the comparison is on the page");
    assert!(page.contains("data-testid=\"shadow-lost\">1<"));

    // A shadow that is the active version is refused.
    let same = elysium_tests::config(&[
        "--models-dir",
        dir.as_str(),
        "--screening-model",
        "tiny@0.0.1",
        "--shadow-model",
        "tiny@0.0.1",
    ]);
    assert!(elysium_server::screening::models::shadow_screening_model(&same.screening, &catalogue).is_err());
}

/// The demo's threshold change goes through the service as the demo administrator, once, on
/// the reference model's output that no demo series is positive for.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_demo_records_one_reasoned_threshold_change(pool: PgPool) {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").display().to_string();
    let flags = ["--models-dir", models.as_str()];
    let app = TestApp::spawn_with(pool.clone(), &flags).await;
    let registry = app.state_with(&flags).registry;
    elysium_server::demo::governance::seed(&pool, &registry).await.expect("seed");
    elysium_server::demo::governance::seed(&pool, &registry).await.expect("seeding again changes nothing");

    let admin = app.signed_in("admin").await;
    let (status, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    assert_eq!(status, 200, "{overview}");
    let changes = overview["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let change = &changes[0];
    assert_eq!(
        (change["model_name"].as_str(), change["output"].as_str(), change["changed_by"].as_str()),
        (Some("reference-screening"), Some("esophagus/nonEC"), Some("admin"))
    );
    assert_eq!(change["threshold"], 0.9);
    // The active version's manifest threshold (models/reference-screening-0.2.0/manifest.toml:
    // no phantom has the class, so no negative reaches the midpoint to 1) is what it replaced.
    assert_eq!(change["previous"], 0.5);
    assert!(change["reason"].as_str().is_some_and(|r| r.contains("validation")), "{change}");
    let reference = overview["models"]
        .as_array()
        .and_then(|models| {
            models.iter().find(|m| m["model"]["name"] == "reference-screening" && m["model"]["version"] == "0.2.0")
        })
        .expect("the active reference model is registered");
    let thresholds = reference["thresholds"].as_array().expect("thresholds");
    let non_ec = thresholds.iter().find(|t| t["output"] == "esophagus/nonEC").expect("the output");
    assert_eq!(non_ec["current"], 0.9);
    assert_eq!(app.audit_rows("model.threshold.change").await.len(), 1);
}

/// The demo's programme history (`make run`): 0.1.0 screened all of it and drifts upwards in its
/// last month; 0.2.0 ran in shadow beside it for the last six weeks, screened nothing live in
/// that time, no longer runs in shadow, and lost more of the live positives (the drift's extra
/// ones) than it gained. The comparison's counts against the stored rows, counted by SQL.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_demo_history_shows_0_1_0_drifting_and_0_2_0_compared_in_shadow(pool: PgPool) {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").display().to_string();
    let app = TestApp::spawn_with(pool.clone(), &["--models-dir", models.as_str()]).await;
    elysium_tests::demo::program::seed(&pool, &app.state().levels).await.expect("the history");
    let admin = app.signed_in("admin").await;
    let (status, overview) = get(&app, &admin, "/api/v1/admin/models").await;
    assert_eq!(status, 200, "{overview}");
    let versions = overview["versions"].as_array().expect("versions");
    let listed: Vec<&str> = versions.iter().filter_map(|v| v["model_version"].as_str()).collect();
    assert_eq!(listed, ["0.1.0"], "0.2.0 ran in shadow only");
    assert_eq!(versions[0]["drift"]["drift"], "above", "{}", versions[0]["drift"]);

    let comparisons = overview["shadow"].as_array().expect("shadow comparisons");
    assert_eq!(comparisons.len(), 1, "{comparisons:?}");
    let comparison = &comparisons[0];
    assert_eq!(
        (
            comparison["model_version"].as_str(),
            comparison["live_model_version"].as_str(),
            comparison["running"].as_bool()
        ),
        (Some("0.2.0"), Some("0.1.0"), Some(false))
    );
    let (both, neither, gained, lost): (i64, i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where live and shadow), count(*) filter (where not live and not shadow),
                count(*) filter (where shadow and not live), count(*) filter (where live and not shadow)
         from (select jsonb_array_length(r.result->'positives') > 0 as live,
                      jsonb_array_length(s.result->'positives') > 0 as shadow
               from shadow_result s join screening_result r on r.id = s.live_result_ref) pairs",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    // Six weeks of 16 series, less the skipped ones (about 8 %).
    assert!((60..=96).contains(&(both + neither + gained + lost)), "{both} {neither} {gained} {lost}");
    assert_eq!(
        comparison["comparison"]["series"],
        json!({"both": both, "neither": neither, "gained": gained, "lost": lost})
    );
    assert!(lost > gained, "the drift's extra positives are lost: {lost} lost, {gained} gained");
}
