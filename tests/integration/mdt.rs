//! The tumour board over HTTP: the staging rules' API, a case from referral to a signed and
//! amended decision, quorum and locking, stale writes, direct cases, measurements that
//! recompute the proposal, meetings and agendas, site scoping, the agreement statistics against
//! hand-computed figures, and the records' append-only history.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn post(app: &TestApp, client: &Client, path: &str, body: Value) -> (u16, Value) {
    let response = client.post(app.url(path)).json(&body).send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, client: &Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A patient with a study at `site` (index rows only).
async fn study(pool: &PgPool, site: &str, patient_id: &str) -> String {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, $3, 'TEST^BOARD', 'M', '1955-02-03')
                    on conflict (assigning_authority, patient_id) do update set name = excluded.name returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $2, p.id, (select id from site where code = $3), current_date - 20 from p",
    )
    .bind(patient_id)
    .bind(&uid)
    .bind(site)
    .execute(pool)
    .await
    .expect("study");
    uid
}

/// A confirmed cancer of `organ` whose screening lesion measured `diameter_mm`, referred to the
/// board by the coordinator. Returns the case id.
async fn referred_case(app: &TestApp, organ: &str, class: &str, diameter_mm: f64, patient: &str) -> i64 {
    let uid = study(&app.pool, "DEMO-GH", patient).await;
    let new = elysium_db::findings::NewFinding {
        study_uid: uid,
        series_uid: None,
        organ: organ.into(),
        class_label: class.into(),
        probability: 0.93,
        threshold: 0.5,
        class_probabilities: json!({ class: 0.93 }),
        model_name: "reference-screening".into(),
        model_version: "0.1.0".into(),
        location: Some(json!({ "slice_index": 40, "center_mm": [10.0, -20.0, -150.0], "diameter_mm": diameter_mm })),
        detected_at: time::OffsetDateTime::now_utc() - time::Duration::days(15),
        due_date: None,
        screening_result_ref: None,
    };
    let levels = app::domain::followup::ServiceLevels::default();
    let id = app::service::followup::create(&app.pool, &levels, new, "test-screening")
        .await
        .expect("create finding")
        .expect("study exists");
    let coordinator = app.signed_in("coordinator").await;
    let today = time::OffsetDateTime::now_utc().date();
    let date = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    for event in [
        json!({"event": "start_review"}),
        json!({"event": "order_workup", "modality": "biopsy", "due_date": date, "responsible": "Dr Gale"}),
        json!({"event": "schedule_workup", "date": date, "site": "Unit"}),
        json!({"event": "complete_workup", "summary": "Biopsied"}),
        json!({"event": "record_outcome", "outcome": "confirmed_malignant", "confirmed_by": "pathology", "diagnosis": "Carcinoma", "date": date}),
        json!({"event": "refer_to_mdt"}),
    ] {
        let (_, finding) = get(app, &coordinator, &format!("/api/v1/findings/{id}")).await;
        let mut event = event;
        event["expected_version"] = finding["version"].clone();
        let (status, body) = post(app, &coordinator, &format!("/api/v1/findings/{id}/events"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    sqlx::query_scalar("select id from mdt_case where finding_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("case")
}

async fn case_detail(app: &TestApp, client: &Client, id: i64) -> Value {
    let (status, body) = get(app, client, &format!("/api/v1/mdt/cases/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_staging_api_evaluates_and_derives(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let surgeon = app.signed_in("surgeon").await;
    let (status, body) =
        post(&app, &surgeon, "/api/v1/staging/evaluate", json!({"cancer":"lung","t":"T2a","n":"N1","m":"M0"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stage_group"], "IIB");
    assert_eq!(body["edition"], "ajcc8");
    assert!(body["explanation"].as_str().unwrap_or_default().contains("T2a N1 M0"));

    // The 9th edition splits N2: T1 N2a is IIB, T1 N2b IIIA (Rami-Porta 2024, table 4).
    let (_, ninth) = post(
        &app,
        &surgeon,
        "/api/v1/staging/evaluate",
        json!({"cancer":"lung","edition":"ajcc9","t":"T1b","n":"N2a","m":"M0"}),
    )
    .await;
    assert_eq!(ninth["stage_group"], "IIB");

    // Esophagus needs histology; the groups differ (T2 N0: squamous II, adenocarcinoma IIB).
    let (status, body) =
        post(&app, &surgeon, "/api/v1/staging/evaluate", json!({"cancer":"esophagus","t":"T2","n":"N0","m":"M0"}))
            .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("validation_failed")));
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("histology:"), "{body}");
    for (histology, group) in [("squamous", "II"), ("adenocarcinoma", "IIB")] {
        let (_, body) = post(
            &app,
            &surgeon,
            "/api/v1/staging/evaluate",
            json!({"cancer":"esophagus","histology":histology,"t":"T2","n":"N0","m":"M0"}),
        )
        .await;
        assert_eq!(body["stage_group"], group, "{histology}");
    }

    // A category that does not exist names the field and the valid ones, and never repeats the input.
    let (status, body) =
        post(&app, &surgeon, "/api/v1/staging/evaluate", json!({"cancer":"lung","t":"T2a","n":"<b>N9</b>","m":"M0"}))
            .await;
    assert_eq!(status, 422);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("n: ") && message.contains("valid: NX, N0, N1, N2, N3"), "{message}");
    assert!(!message.contains("<b>") && !message.contains("N9"), "{message}");
    let (status, _) =
        post(&app, &surgeon, "/api/v1/staging/evaluate", json!({"cancer":"lung","t":" T2a","n":"N1","m":"M0"})).await;
    assert_eq!(status, 422, "no trimming into validity");
    let (status, _) =
        post(&app, &surgeon, "/api/v1/staging/evaluate", json!({"cancer":"lung","t":"T2a","n":"N1","m":"M0","x":1}))
            .await;
    assert_eq!(status, 422, "unknown fields are refused");

    let (status, body) = post(
        &app,
        &surgeon,
        "/api/v1/staging/derive",
        json!({"cancer":"lung","tumor_size_mm":23,"descriptors":["visceral_pleura"],"involved_nodes":1,"node_stations":["subcarinal"],"distant":[]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // 23 mm is T1c by size; visceral pleural invasion makes it T2a (size <= 40 mm); a subcarinal
    // node is N2; no distant lesion is M0.
    assert_eq!((body["t"].as_str(), body["n"].as_str(), body["m"].as_str()), (Some("T2a"), Some("N2"), Some("M0")));
    assert!(body["rules"].as_array().is_some_and(|r| r.len() >= 3), "{body}");
    let (status, body) =
        post(&app, &surgeon, "/api/v1/staging/derive", json!({"cancer":"lung","descriptors":["pleura_x"]})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("visceral_pleura"), "{body}");

    // A clinical tool: administrators are not clinical users.
    let admin = app.signed_in("admin").await;
    let (status, _) =
        post(&app, &admin, "/api/v1/staging/evaluate", json!({"cancer":"lung","t":"T2a","n":"N1","m":"M0"})).await;
    assert_eq!(status, 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_referred_case_is_proposed_reviewed_signed_by_the_quorum_and_amended(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    // A 35 mm lung lesion: T2a by size (> 30, <= 40 mm); nothing else measured yet.
    let id = referred_case(&app, "lung", "Cancer", 35.0, "MDT-1").await;
    let surgeon = app.signed_in("surgeon").await;
    let detail = case_detail(&app, &surgeon, id).await;
    assert_eq!(detail["status"], "awaiting_review");
    assert_eq!(detail["cancer"], "lung");
    assert_eq!(detail["proposal"]["t"], "T2a");
    assert_eq!(detail["proposal"]["n"], Value::Null, "no node was measured");
    assert_eq!(detail["proposal"]["version"], 1);
    assert_eq!(detail["measurements"][0]["source"], "screening");
    assert_eq!(detail["measurements"][0]["size_mm"], 35.0);
    let version = detail["version"].as_i64().expect("version");

    // A coordinator may not decide.
    let review = json!({
        "expected_version": version,
        "t": "accept",
        "n": {"override": "N1", "reason": "PET-CT: avid ipsilateral hilar node"},
        "m": {"override": "M0", "reason": "PET-CT: no distant disease"},
        "recommendation": "upfront_resection",
        "note": "Lobectomy with systematic nodal dissection",
        "guideline_refs": "NCCN NSCLC v.2025"
    });
    let coordinator = app.signed_in("coordinator").await;
    let (status, _) = post(&app, &coordinator, &format!("/api/v1/mdt/cases/{id}/review"), review.clone()).await;
    assert_eq!(status, 403);

    // An override without a reason is refused, naming the field.
    let mut no_reason = review.clone();
    no_reason["n"] = json!({"override": "N1", "reason": " "});
    let (status, body) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), no_reason).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("n: "), "{body}");

    let (status, written) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), review.clone()).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(written["status"], "awaiting_signatures");
    let detail = case_detail(&app, &surgeon, id).await;
    let decision = &detail["decisions"][0];
    // T2a N1 M0 is IIB (AJCC 8th, lung).
    assert_eq!(
        (decision["t"].as_str(), decision["n"].as_str(), decision["stage_group"].as_str()),
        (Some("T2a"), Some("N1"), Some("IIB"))
    );
    assert_eq!(decision["n_reason"], "PET-CT: avid ipsilateral hilar node");
    assert_eq!(decision["proposal_version"], 1);

    // A stale version is refused and changes nothing.
    let (status, body) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), review.clone()).await;
    assert_eq!(status, 409, "{body}");

    // The quorum is two: the first signature does not lock, a second by the same surgeon is refused.
    let version = detail["version"].as_i64().expect("version");
    let (status, first) =
        post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/sign"), json!({"expected_version": version})).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("awaiting_signatures")));
    let version = first["version"].as_i64().expect("version");
    let (status, body) =
        post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/sign"), json!({"expected_version": version})).await;
    assert_eq!(status, 409, "{body}");
    let surgeon2 = app.signed_in("surgeon2").await;
    let (status, second) =
        post(&app, &surgeon2, &format!("/api/v1/mdt/cases/{id}/sign"), json!({"expected_version": version})).await;
    assert_eq!((status, second["status"].as_str()), (200, Some("decided")));
    let detail = case_detail(&app, &surgeon, id).await;
    assert_eq!(detail["decisions"][0]["locked"], true);
    assert_eq!(detail["decisions"][0]["signatures"].as_array().map(Vec::len), Some(2));

    // A decided case is locked: a change is an amendment, which needs a reason.
    let version = detail["version"].as_i64().expect("version");
    let mut amend = review.clone();
    amend["expected_version"] = json!(version);
    amend["n"] = json!({"override": "N2", "reason": "Mediastinoscopy: station 4R positive"});
    let (status, body) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), amend.clone()).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("amendment_reason"), "{body}");
    amend["amendment_reason"] = json!("Mediastinoscopy after the board");
    amend["recommendation"] = json!("neoadjuvant_chemotherapy_then_surgery");
    let (status, amended) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), amend).await;
    assert_eq!((status, amended["status"].as_str()), (200, Some("awaiting_signatures")));
    let detail = case_detail(&app, &surgeon, id).await;
    let decisions = detail["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 2, "the signed version stays");
    assert_eq!(decisions[0]["version"], 2);
    assert_eq!(decisions[0]["stage_group"], "IIIA", "T2a N2 M0");
    assert_eq!(decisions[0]["signatures"].as_array().map(Vec::len), Some(0), "a new version is signed again");
    assert_eq!(decisions[1]["locked"], true);
    let changes: Vec<String> = decisions[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c[0].as_str().unwrap_or(""),
                c[1].as_str().unwrap_or(""),
                c[2].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "n: N1 -> N2",
            "stage_group: IIB -> IIIA",
            "recommendation: upfront_resection -> neoadjuvant_chemotherapy_then_surgery"
        ]
    );

    // Each write is audited with the patient; the history tables refuse changes.
    assert_eq!(app.audit_rows("mdt.review").await.iter().filter(|r| r.1 == "success").count(), 1);
    assert_eq!(app.audit_rows("mdt.sign").await.iter().filter(|r| r.1 == "success").count(), 2);
    assert_eq!(app.audit_rows("mdt.amend").await.len(), 1);
    assert!(app.audit_rows("mdt.review").await.iter().any(|r| r.1 == "failure"), "refusals are audited too");
    assert!(!app.audit_rows("mdt.case.view").await.is_empty(), "reading a case is audited");
    for statement in ["update mdt_decision set t = 'T1a'", "delete from mdt_signature", "delete from mdt_proposal"] {
        let error = sqlx::query(statement).execute(&pool).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }

    // The list shows the latest proposal and decision.
    let (_, list) = get(&app, &surgeon, "/api/v1/mdt/cases?status=awaiting_signatures").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["decision"]["stage_group"], "IIIA");
    assert_eq!(list["items"][0]["proposal"]["t"], "T2a");
    let (status, body) = get(&app, &surgeon, "/api/v1/mdt/cases?status=closed").await;
    assert_eq!(status, 422, "{body}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn treatment_started_closes_the_loop_and_a_deviation_needs_a_reason(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--mdt-quorum", "1"]).await;
    let id = referred_case(&app, "kidney", "RCC", 45.0, "MDT-2").await;
    let surgeon = app.signed_in("surgeon").await;
    let detail = case_detail(&app, &surgeon, id).await;
    // 45 mm, confined to the kidney: T1b (> 40, <= 70 mm).
    assert_eq!(detail["proposal"]["t"], "T1b");
    let review = json!({
        "expected_version": detail["version"], "t": "accept",
        "n": {"override": "N0", "reason": "No enlarged nodes"}, "m": {"override": "M0", "reason": "Chest CT clear"},
        "recommendation": "upfront_resection"
    });
    let (status, written) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), review).await;
    assert_eq!(status, 200, "{written}");
    let (_, signed) =
        post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/sign"), json!({"expected_version": written["version"]}))
            .await;
    assert_eq!(signed["status"], "decided", "a quorum of one");
    let case_now = case_detail(&app, &surgeon, id).await;
    assert_eq!(case_now["decisions"][0]["stage_group"], "I");

    let today = time::OffsetDateTime::now_utc().date();
    let date = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    let coordinator = app.signed_in("coordinator").await;
    let (status, body) = post(
        &app,
        &coordinator,
        &format!("/api/v1/mdt/cases/{id}/treatment"),
        json!({"expected_version": signed["version"], "treatment": "ablation", "started_on": date}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("deviation_reason"));
    let (status, body) = post(
        &app,
        &coordinator,
        &format!("/api/v1/mdt/cases/{id}/treatment"),
        json!({"expected_version": signed["version"], "treatment": "ablation", "started_on": date, "deviation_reason": "The patient declined surgery"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let detail = case_detail(&app, &surgeon, id).await;
    assert_eq!(detail["treatments"][0]["treatment"], "ablation");
    assert_eq!(detail["treatments"][0]["deviation_reason"], "The patient declined surgery");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_radiologist_measurement_recomputes_the_proposal(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let id = referred_case(&app, "pancreas", "PDAC", 18.0, "MDT-3").await;
    let radiologist = app.signed_in("radiologist").await;
    let detail = case_detail(&app, &radiologist, id).await;
    // 18 mm: T1c (> 10, <= 20 mm).
    assert_eq!(detail["proposal"]["t"], "T1c");
    let primary = detail["measurements"][0]["id"].clone();

    // A correction of the primary (22 mm: T2), and two involved regional nodes (N1: 1-3).
    let mut version = detail["version"].clone();
    for body in [
        json!({"kind": "primary", "size_mm": 22.0, "slice_index": 41, "corrects": primary, "note": "Measured on the portal phase"}),
        json!({"kind": "node", "size_mm": 12.0, "location": "peripancreatic", "slice_index": 44}),
        json!({"kind": "node", "size_mm": 11.0, "location": "peripancreatic", "slice_index": 46}),
        json!({"kind": "node", "size_mm": 6.0, "location": "peripancreatic", "slice_index": 47}),
    ] {
        let mut body = body;
        body["expected_version"] = version.clone();
        let (status, written) = post(&app, &radiologist, &format!("/api/v1/mdt/cases/{id}/measurements"), body).await;
        assert_eq!(status, 201, "{written}");
        version = written["version"].clone();
    }
    let detail = case_detail(&app, &radiologist, id).await;
    assert_eq!(detail["proposal"]["version"], 5, "one proposal per measurement, none overwritten");
    assert_eq!(detail["proposal"]["t"], "T2");
    assert_eq!(detail["proposal"]["n"], "N1", "two nodes of >= 10 mm short axis; the 6 mm one is not counted");
    assert_eq!(detail["proposals"][4]["t"], "T1c");
    assert_eq!(detail["measurements"][0]["superseded"], true);
    assert_eq!(app.audit_rows("mdt.measurement").await.len(), 4);

    // The rules in both languages: the API gives both, the case page its reader's.
    let rules = detail["proposal"]["rules"].as_array().expect("rules").clone();
    let n_rule = rules.iter().find(|r| r["category"] == "n").expect("an N rule").clone();
    assert_eq!(n_rule["rule"], "N1: 1 to 3 involved regional nodes (AJCC 8th, pancreas)", "{n_rule}");
    assert_eq!(n_rule["rule_zh"], "N1：1 至 3 枚区域淋巴结受累（AJCC 第 8 版，胰腺癌）", "{n_rule}");
    let page = format!("/mdt/cases/{id}");
    // The list of rules shown (the page's hydration data carries both languages).
    let shown = |html: String| {
        let list = html.split("data-testid=\"proposal-rules\"").nth(1).and_then(|rest| rest.split("</ul>").next());
        list.unwrap_or_default().replace("<!>", "")
    };
    let english = shown(elysium_tests::get_text(&app, &radiologist, &page).await);
    assert!(english.contains("1 to 3 involved regional nodes (AJCC 8th, pancreas)"), "{english}");
    let chinese = shown(elysium_tests::get_text_in_chinese(&app, &radiologist, &page).await);
    assert!(chinese.contains("N1：1 至 3 枚区域淋巴结受累（AJCC 第 8 版，胰腺癌）"), "{chinese}");
    assert!(chinese.contains("且 ≤ 40 mm（AJCC 第 8 版，胰腺癌）"), "{chinese}");
    assert!(!chinese.contains("AJCC 8th"), "{chinese}");
    // A proposal stored before the Chinese was recorded (English only) shows its English.
    sqlx::query(
        r#"insert into mdt_proposal (case_id, version, edition, t, n, confidence, method, evidence)
           select $1, max(version) + 1, 'ajcc8', 'T2', 'N1', 0.6, 'measurement',
                  '{"rules":[{"category":"n","rule":"N1: 1 to 3 involved regional nodes (AJCC 8th, pancreas)"}]}'
           from mdt_proposal where case_id = $1"#,
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .expect("an English-only proposal");
    let chinese = shown(elysium_tests::get_text_in_chinese(&app, &radiologist, &page).await);
    assert!(chinese.contains("N1: 1 to 3 involved regional nodes (AJCC 8th, pancreas)"), "{chinese}");

    // An invaded structure must be one of the cancer's descriptors; a surgeon does not measure.
    let (status, body) = post(
        &app,
        &radiologist,
        &format!("/api/v1/mdt/cases/{id}/measurements"),
        json!({"expected_version": version, "kind": "invasion", "location": "spleen_x", "slice_index": 40}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("valid:"), "{body}");
    let surgeon = app.signed_in("surgeon").await;
    let (status, _) = post(
        &app,
        &surgeon,
        &format!("/api/v1/mdt/cases/{id}/measurements"),
        json!({"expected_version": version, "kind": "node", "size_mm": 15.0, "slice_index": 40}),
    )
    .await;
    assert_eq!(status, 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_larynx_case_is_opened_directly_and_staged_by_subsite(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "ENT-7").await;
    let surgeon = app.signed_in("surgeon").await;
    let (status, body) = post(
        &app,
        &surgeon,
        "/api/v1/mdt/cases",
        json!({"study_uid": uid, "cancer": "larynx", "subsite": "glottic", "diagnosis": "Squamous cell carcinoma",
               "referral_note": "ENT clinic: biopsy-proven glottic SCC"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let detail = case_detail(&app, &surgeon, id).await;
    assert_eq!(detail["subsite"], "glottic");
    assert_eq!(detail["finding"], Value::Null);
    assert_eq!(detail["proposal"]["t"], Value::Null, "nothing measured: the board chooses");
    assert!(detail["categories"]["t"].as_array().expect("t").contains(&json!("T1a")));

    // Accepting a category the images did not decide is refused.
    let accept_all = json!({"expected_version": detail["version"], "t": "accept", "n": "accept", "m": "accept", "recommendation": "definitive_radiotherapy"});
    let (status, _) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), accept_all).await;
    assert_eq!(status, 422);
    // Glottic T4a N0 M0 is IVA; the recommendation comes from the larynx options.
    let review = json!({
        "expected_version": detail["version"],
        "t": {"override": "T4a", "reason": "Through the outer cortex of the thyroid cartilage on CT"},
        "n": {"override": "N0", "reason": "No nodes"}, "m": {"override": "M0", "reason": "Chest CT clear"},
        "recommendation": "total_laryngectomy"
    });
    let (status, written) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), review).await;
    assert_eq!(status, 200, "{written}");
    let detail = case_detail(&app, &surgeon, id).await;
    assert_eq!(detail["decisions"][0]["stage_group"], "IVA");

    // A coordinator of the other site sees nothing of it.
    let (status, _) =
        post(&app, &surgeon, "/api/v1/mdt/cases", json!({"study_uid": "2.25.1", "cancer": "larynx"})).await;
    assert_eq!(status, 422, "an unknown study");
    let (status, _) =
        post(&app, &surgeon, "/api/v1/mdt/cases", json!({"study_uid": uid, "cancer": "lung", "subsite": "glottic"}))
            .await;
    assert_eq!(status, 422, "a subsite only for larynx");
    let radiologist = app.signed_in("radiologist").await;
    let (status, _) =
        post(&app, &radiologist, "/api/v1/mdt/cases", json!({"study_uid": uid, "cancer": "larynx"})).await;
    assert_eq!(status, 403, "radiologists do not open cases");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn meetings_hold_agendas_within_the_site(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let id = referred_case(&app, "liver", "HCC", 30.0, "MDT-4").await;
    let coordinator = app.signed_in("coordinator").await;
    let (status, meeting) = post(
        &app,
        &coordinator,
        "/api/v1/mdt/meetings",
        json!({"title": "Hepatobiliary board", "starts_at": "2030-01-15T08:00", "chair": "surgeon", "attendees": ["surgeon", "surgeon2", "radiologist"]}),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(meeting["site"], "DEMO-GH");
    assert_eq!(meeting["chair"], "Sam Surgeon");
    let meeting_id = meeting["id"].as_i64().expect("id");
    let (status, body) =
        post(&app, &coordinator, &format!("/api/v1/mdt/meetings/{meeting_id}/agenda"), json!({"case_id": id})).await;
    assert_eq!((status, body["position"].as_i64()), (200, Some(1)));
    let (status, _) =
        post(&app, &coordinator, &format!("/api/v1/mdt/meetings/{meeting_id}/agenda"), json!({"case_id": id})).await;
    assert_eq!(status, 409, "once per agenda");

    let surgeon = app.signed_in("surgeon").await;
    let (_, detail) = get(&app, &surgeon, &format!("/api/v1/mdt/meetings/{meeting_id}")).await;
    assert_eq!(detail["cases"][0]["id"], id);
    let (_, list) = get(&app, &surgeon, "/api/v1/mdt/meetings?when=upcoming").await;
    assert_eq!(list["items"][0]["case_count"], 1);
    let (_, home) = get(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}")).await;
    assert_eq!(home["meetings"][0]["id"], meeting_id);

    // A user of another site only: neither the case nor the meeting exists for them.
    sqlx::query("update user_site set site_id = (select id from site where code = 'DEMO-RC') where user_id = (select id from app_user where username = 'surgeon2')")
        .execute(&pool)
        .await
        .expect("move surgeon2");
    let elsewhere = app.signed_in("surgeon2").await;
    assert_eq!(get(&app, &elsewhere, &format!("/api/v1/mdt/cases/{id}")).await.0, 404);
    assert_eq!(get(&app, &elsewhere, &format!("/api/v1/mdt/meetings/{meeting_id}")).await.0, 404);
    assert_eq!(get(&app, &elsewhere, "/api/v1/mdt/cases").await.1["total"], 0);
    let (status, _) =
        post(&app, &surgeon, "/api/v1/mdt/meetings", json!({"title": "x", "starts_at": "tomorrow"})).await;
    assert_eq!(status, 422);
}

/// Decides a case: the proposal of (t, n, m) is accepted or overridden to the decided values.
async fn decide(app: &TestApp, surgeon: &Client, id: i64, decided: [&str; 3]) {
    let detail = case_detail(app, surgeon, id).await;
    let mut review = json!({"expected_version": detail["version"], "recommendation": "upfront_resection"});
    for (field, value) in ["t", "n", "m"].into_iter().zip(decided) {
        review[field] = if detail["proposal"][field] == json!(value) {
            json!("accept")
        } else {
            json!({"override": value, "reason": format!("board: {value}")})
        };
    }
    let (status, written) = post(app, surgeon, &format!("/api/v1/mdt/cases/{id}/review"), review).await;
    assert_eq!(status, 200, "{written}");
    let (status, signed) =
        post(app, surgeon, &format!("/api/v1/mdt/cases/{id}/sign"), json!({"expected_version": written["version"]}))
            .await;
    assert_eq!((status, signed["status"].as_str()), (200, Some("decided")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn agreement_reconciles_with_hand_computed_figures(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--mdt-quorum", "1"]).await;
    let surgeon = app.signed_in("surgeon").await;
    // Four lung cases proposed T1b, T1b, T2a, T2a (15, 18, 35, 38 mm); the board decides T1b,
    // T2a, T2a, T2a. T: 3 of 4 agree; marginals AI (T1b 2, T2a 2), board (T1b 1, T2a 3):
    // pₑ = 0.5·0.25 + 0.5·0.75 = 0.5, κ = (0.75 − 0.5) / 0.5 = 0.5.
    let sizes = [15.0, 18.0, 35.0, 38.0];
    let decided_t = ["T1b", "T2a", "T2a", "T2a"];
    let mut ids = Vec::new();
    for (i, (size, t)) in sizes.iter().zip(decided_t).enumerate() {
        let id = referred_case(&app, "lung", "Cancer", *size, &format!("AG-{i}")).await;
        decide(&app, &surgeon, id, [t, "N0", "M0"]).await;
        ids.push(id);
    }
    let (status, report) = get(&app, &surgeon, "/api/v1/mdt/agreement?cancer=lung").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["cases"], json!(ids));
    let t =
        report["categories"].as_array().expect("categories").iter().find(|c| c["category"] == "t").expect("t").clone();
    assert_eq!((t["n"].as_i64(), t["agreed"].as_i64()), (Some(4), Some(3)));
    assert!((t["percent"].as_f64().expect("percent") - 75.0).abs() < 1e-9);
    assert!((t["kappa"].as_f64().expect("kappa") - 0.5).abs() < 1e-9, "{t}");
    assert_eq!(t["labels"], json!(["T1b", "T2a"]));
    assert_eq!(t["matrix"], json!([[1, 1], [0, 2]]));
    // N and M were not proposed (nothing measured): left out, and listed.
    let n =
        report["categories"].as_array().expect("categories").iter().find(|c| c["category"] == "n").expect("n").clone();
    assert_eq!(n["n"], 0);
    assert_eq!(n["not_proposed"], json!(ids));
    let discordant_t: Vec<&Value> =
        report["discordant"].as_array().expect("discordant").iter().filter(|d| d["category"] == "t").collect();
    assert_eq!(discordant_t.len(), 1);
    assert_eq!(discordant_t[0]["case_id"], ids[1]);
    assert_eq!(discordant_t[0]["reason"], "board: T2a");
    let (_, none) = get(&app, &surgeon, "/api/v1/mdt/agreement?cancer=kidney").await;
    assert_eq!(none["cases"], json!([]));
    assert_eq!(none["categories"][0]["percent"], Value::Null);
    let (status, _) = get(&app, &surgeon, "/api/v1/mdt/agreement?from=2026-12-31&to=2026-01-01").await;
    assert_eq!(status, 422);
    // The page shows the same refusal in its reader's language (rendered on the server).
    let reversed = "/mdt/agreement?from=2026-12-31&to=2026-01-01";
    let english = elysium_tests::get_text(&app, &surgeon, reversed).await.replace("<!>", "");
    assert!(english.contains("to: the period ends before it starts"), "{english}");
    let chinese = elysium_tests::get_text_in_chinese(&app, &surgeon, reversed).await.replace("<!>", "");
    assert!(chinese.contains("to：结束日期早于开始日期"), "{chinese}");
    let admin = app.signed_in("admin").await;
    assert_eq!(
        get(&app, &admin, "/api/v1/mdt/agreement").await.1["cases"],
        json!(ids),
        "administrators see every site"
    );
}

/// Stores a staged phantom's first series at DEMO-GH (lung primaries: `lung:34` and so on);
/// returns the series and its truth.json.
pub(crate) async fn store_staged(
    app: &TestApp,
    seed: u64,
    rows: u16,
    lesion: &str,
    staging: elysium_phantom::StagingOptions,
) -> (elysium_phantom::GeneratedSeries, Value) {
    let out = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(out.path());
    options.seed = seed;
    options.rows = rows;
    options.lesions = vec![lesion.parse().expect("lesion")];
    let report = elysium_phantom::generate_staged(&options, &staging).expect("phantom");
    let series = report.series[0].clone();
    let received =
        elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, app.site_id("DEMO-GH").await);
    let summary = elysium_server::ingest::cli::ingest_paths(
        &app.state().ingestor,
        std::slice::from_ref(&series.dir),
        &received,
        2,
    )
    .await
    .expect("ingest");
    assert_eq!(summary.stored, series.files);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(series.dir.join("truth.json")).expect("truth")).expect("json");
    // The folder goes with `out`; the series is in the store now.
    (series, truth)
}

/// A lung finding at the phantom's lesion, taken to the board by the coordinator through the
/// follow-up API; waits (bounded) until the referral's background measurement has landed and
/// returns the case.
pub(crate) async fn refer_and_wait_for_measurement(
    app: &TestApp,
    series: &elysium_phantom::GeneratedSeries,
    truth: &Value,
) -> i64 {
    let pool = &app.pool;
    let lesion = &truth["lesions"][0];
    let true_diameter = lesion["diameter_mm"].as_f64().expect("diameter");
    // The screening finding where the lesion is, taken to the board.
    let new = elysium_db::findings::NewFinding {
        study_uid: series.study_uid.clone(),
        series_uid: Some(series.series_uid.clone()),
        organ: "lung".into(),
        class_label: "Cancer".into(),
        probability: 0.9,
        threshold: 0.5,
        class_probabilities: json!({"Cancer": 0.9}),
        model_name: "reference-screening".into(),
        model_version: "0.1.0".into(),
        location: Some(json!({"center_mm": lesion["centre_mm"], "diameter_mm": true_diameter, "slice_index": 0})),
        detected_at: time::OffsetDateTime::now_utc() - time::Duration::days(20),
        due_date: None,
        screening_result_ref: None,
    };
    let levels = app::domain::followup::ServiceLevels::default();
    let finding = app::service::followup::create(pool, &levels, new, "test").await.expect("create").expect("study");
    let coordinator = app.signed_in("coordinator").await;
    let date = {
        let d = time::OffsetDateTime::now_utc().date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    for event in [
        json!({"event": "start_review"}),
        json!({"event": "order_workup", "modality": "biopsy", "due_date": date}),
        json!({"event": "schedule_workup", "date": date}),
        json!({"event": "complete_workup"}),
        json!({"event": "record_outcome", "outcome": "confirmed_malignant", "confirmed_by": "pathology", "diagnosis": "Adenocarcinoma", "date": date}),
        json!({"event": "refer_to_mdt"}),
    ] {
        let (_, current) = get(app, &coordinator, &format!("/api/v1/findings/{finding}")).await;
        let mut event = event;
        event["expected_version"] = current["version"].clone();
        let (status, body) = post(app, &coordinator, &format!("/api/v1/findings/{finding}/events"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    let case: i64 = sqlx::query_scalar("select id from mdt_case where finding_id = $1")
        .bind(finding)
        .fetch_one(pool)
        .await
        .expect("case");

    // The referral measures the images in the background; the case shows it when it lands.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let measured: Option<time::OffsetDateTime> =
            sqlx::query_scalar("select images_measured_at from mdt_case where id = $1")
                .bind(case)
                .fetch_one(pool)
                .await
                .expect("case");
        if measured.is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the referral's images were not measured within 180 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    case
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_proposal_is_measured_on_the_images(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    // A lung lesion with an enlarged ipsilateral hilar node (14 mm), a normal mediastinal one
    // (6 mm) and a liver metastasis (18 mm), as the demo board's first patients have.
    let staging = elysium_phantom::StagingOptions {
        nodes: vec!["lung:hilar:14".parse().expect("node"), "lung:mediastinal:6".parse().expect("node")],
        distant: vec!["liver:18".parse().expect("distant")],
        invasion: vec![],
    };
    let (series, truth) = store_staged(&app, 2651, 128, "lung:34", staging).await;
    let true_diameter = truth["lesions"][0]["diameter_mm"].as_f64().expect("diameter");
    let case = refer_and_wait_for_measurement(&app, &series, &truth).await;
    let surgeon = app.signed_in("surgeon").await;
    let detail = case_detail(&app, &surgeon, case).await;
    let by_images = detail["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .filter(|m| m["source"] == "image_analysis")
        .count();
    assert!(by_images >= 3, "{detail}");
    let proposal = &detail["proposal"];
    // The first proposal came from the screening lesion; the measured one replaced it.
    assert_eq!(proposal["version"], 2, "{detail}");
    // N: the 14 mm hilar node is involved (short axis >= 10 mm), the 6 mm one is not: N1.
    assert_eq!(proposal["n"], "N1", "{detail}");
    // M: one extrathoracic metastasis (the liver): M1b.
    assert_eq!(proposal["m"], "M1b", "{detail}");
    // T: from the measured long axis, which is within two pixels of the phantom's lesion.
    let measured = detail["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .find(|m| m["kind"] == "primary" && m["source"] == "image_analysis")
        .expect("the primary measured")
        .clone();
    let size = measured["size_mm"].as_f64().expect("size");
    let pixel = truth["geometry"]["pixel_spacing_mm"][0].as_f64().expect("pixel");
    assert!((size - true_diameter).abs() <= 2.0 * pixel, "measured {size} mm, truth {true_diameter} mm");
    let derived = app::domain::staging::derive::derive(
        app::domain::staging::Cancer::Lung,
        app::domain::staging::Edition::Ajcc8,
        None,
        &app::domain::staging::derive::Measurements { tumor_size_mm: Some(size), ..Default::default() },
    )
    .expect("derive");
    assert_eq!(proposal["t"].as_str(), derived.t);
    let nodes: Vec<(f64, &str)> = detail["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .filter(|m| m["kind"] == "node")
        .map(|m| (m["size_mm"].as_f64().unwrap_or(0.0), m["location"].as_str().unwrap_or("")))
        .collect();
    assert!(nodes.iter().any(|(s, l)| (*s - 14.0).abs() <= pixel && *l == "ipsilateral_hilar"), "{nodes:?}");
    // Measured once: a second run, or the sweep at start, leaves the case alone.
    assert!(
        elysium_server::board::measure_case(&pool, app.state().ingestor.store(), &app.state().staging_models, case)
            .await
            .expect("ok")
            .is_none()
    );
    assert_eq!(
        elysium_server::board::measure_pending(&pool, app.state().ingestor.store(), &app.state().staging_models)
            .await
            .expect("ok"),
        0
    );
    assert_eq!(app.audit_rows("mdt.image_measurement").await.len(), 1);
}
