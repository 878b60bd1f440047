//! The chronic-disease pathway end to end over the real database and server: screening results'
//! biomarkers raise chronic findings by the cut-offs in force (the figures here are hand-chosen
//! on both sides of the published cut-offs), later scans add to the trend instead of raising
//! again, the coordinator takes a finding from new to closed over the API and the page's forms,
//! the letter to the physician prints the measurement and its history, and everything is scoped
//! to the user's sites, checked by role and audited.

use app::domain::chronic::ChronicRules;
use app::service::chronic as service;
use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

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

/// A study of `patient` at `site` scanned `days_ago`, with a stored screening result holding
/// `biomarkers`; returns the result's id.
async fn scan(pool: &PgPool, patient: &str, site: &str, days_ago: i64, biomarkers: Value) -> i64 {
    let day = OffsetDateTime::now_utc().date() - Duration::days(days_ago);
    let study_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let series_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let (study, series): (Uuid, Uuid) = sqlx::query_as(
        "with p as (insert into patient (patient_id, assigning_authority, name, birth_date)
                    values ($1, (select patient_id_authority from site where code = $2), 'TEST^CHRONIC', '1955-05-05')
                    on conflict (assigning_authority, patient_id) do update set name = patient.name returning id),
              st as (insert into study (study_uid, patient_ref, site_id, study_date)
                     select $3, p.id, (select id from site where code = $2), $4 from p returning id)
         insert into series (series_uid, study_ref, modality) select $5, st.id, 'CT' from st returning study_ref, id",
    )
    .bind(patient)
    .bind(site)
    .bind(&study_uid)
    .bind(day)
    .bind(&series_uid)
    .fetch_one(pool)
    .await
    .expect("study");
    let job: i64 = sqlx::query_scalar(
        "insert into screening_job (series_ref, model_name, model_version, status, max_attempts, reason) values ($1, 'm', '1', 'done', 3, 'auto') returning id",
    )
    .bind(series)
    .fetch_one(pool)
    .await
    .expect("job");
    sqlx::query_scalar(
        "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                       execution_provider, device, result, timings_ms)
         values ($1, $2, $3, 'm', '1', 'x', 'cpu', 'cpu', $4, '{}') returning id",
    )
    .bind(job)
    .bind(series)
    .bind(study)
    .bind(json!({ "biomarkers": biomarkers }))
    .fetch_one(pool)
    .await
    .expect("result")
}

/// Applies the rules to a result as the screening worker does, in its own transaction.
async fn raise(pool: &PgPool, result: i64, rules: &ChronicRules) -> service::Raised {
    let biomarkers: Value = sqlx::query_scalar("select result -> 'biomarkers' from screening_result where id = $1")
        .bind(result)
        .fetch_one(pool)
        .await
        .expect("biomarkers");
    let mut tx = pool.begin().await.expect("tx");
    let raised = service::raise_from_result(
        &mut tx,
        result,
        &service::measured_of(&biomarkers),
        rules,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("raise");
    tx.commit().await.expect("commit");
    raised
}

fn liver(liver: f64, spleen: f64) -> Value {
    json!({ "liver_hu": liver, "spleen_hu": spleen, "l1_trabecular_hu": 185.0, "coronary_calcium_mm3": 0.0 })
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn results_raise_findings_by_the_cut_offs_and_later_scans_extend_the_trend(pool: PgPool) {
    let _app = TestApp::spawn(pool.clone()).await;
    let rules = ChronicRules::default();
    // 52 and 44 HU: above the 40 HU cut-off, and liver minus spleen (-2, -8) not below -10.
    let first = scan(&pool, "CH-1", "DEMO-GH", 800, liver(52.0, 54.0)).await;
    assert_eq!(raise(&pool, first, &rules).await, service::Raised::default());
    let second = scan(&pool, "CH-1", "DEMO-GH", 400, liver(44.0, 52.0)).await;
    assert_eq!(raise(&pool, second, &rules).await, service::Raised::default());
    // 38 HU: below 40. The finding starts its trend with the two earlier scans.
    let third = scan(&pool, "CH-1", "DEMO-GH", 10, liver(38.0, 50.0)).await;
    let raised = raise(&pool, third, &rules).await;
    assert_eq!(raised.raised.len(), 1, "{raised:?}");
    let id = raised.raised[0];
    let (kind, criterion, value, status): (String, String, f64, String) =
        sqlx::query_as("select kind, criterion, value, status from chronic_finding where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("finding");
    assert_eq!((kind.as_str(), criterion.as_str(), value, status.as_str()), ("steatosis", "liver_below", 38.0, "new"));
    let trend: Vec<(f64, Option<String>)> =
        sqlx::query_as("select value, criterion from chronic_observation where chronic_ref = $1 order by observed_on")
            .bind(id)
            .fetch_all(&pool)
            .await
            .expect("trend");
    assert_eq!(trend, [(52.0, None), (44.0, None), (38.0, Some("liver_below".to_owned()))]);

    // A later scan of the same patient adds to the open finding, even back within the cut-off.
    let fourth = scan(&pool, "CH-1", "DEMO-GH", 2, liver(41.0, 50.0)).await;
    let again = raise(&pool, fourth, &rules).await;
    assert_eq!(again, service::Raised { raised: vec![], observed: vec![id] });
    let count: i64 = sqlx::query_scalar("select count(*) from chronic_finding").fetch_one(&pool).await.expect("n");
    assert_eq!(count, 1, "one open finding per patient and kind");
    // The same result applied twice records its figure once.
    raise(&pool, fourth, &rules).await;
    let points: i64 = sqlx::query_scalar("select count(*) from chronic_observation where chronic_ref = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("n");
    assert_eq!(points, 4);

    // Liver minus spleen: 45 - 56 = -11 HU, below -10, raises by the second criterion; L1 at
    // 110 HU raises "osteoporosis likely"; calcium 100.5 mm³ is above the 100 mm³ cut-off.
    let other = scan(
        &pool,
        "CH-2",
        "DEMO-GH",
        1,
        json!({ "liver_hu": 45.0, "spleen_hu": 56.0, "l1_trabecular_hu": 110.0, "coronary_calcium_mm3": 100.5 }),
    )
    .await;
    assert_eq!(raise(&pool, other, &rules).await.raised.len(), 3);
    let criteria: Vec<(String, String)> = sqlx::query_as(
        "select c.kind, c.criterion from chronic_finding c join patient p on p.id = c.patient_ref
         where p.patient_id = 'CH-2' order by c.kind",
    )
    .fetch_all(&pool)
    .await
    .expect("criteria");
    let criteria: Vec<(&str, &str)> = criteria.iter().map(|(k, c)| (k.as_str(), c.as_str())).collect();
    assert_eq!(
        criteria,
        [
            ("coronary_calcium", "coronary_calcium_above"),
            ("osteoporosis", "osteoporosis_likely"),
            ("steatosis", "liver_minus_spleen_below")
        ]
    );
    // Unmeasured figures (null) raise nothing and record nothing.
    let unmeasured = scan(&pool, "CH-3", "DEMO-GH", 1, json!({ "liver_hu": null, "l1_trabecular_hu": null })).await;
    assert_eq!(raise(&pool, unmeasured, &rules).await, service::Raised::default());
    let audited: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'chronic.raised'")
        .fetch_one(&pool)
        .await
        .expect("audit");
    assert_eq!(audited, 4, "every raising is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_coordinator_takes_a_finding_from_new_to_closed_and_the_history_is_append_only(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let result = scan(&pool, "CH-10", "DEMO-GH", 3, json!({ "liver_hu": 60.0, "l1_trabecular_hu": 96.0 })).await;
    let id = raise(&pool, result, &ChronicRules::default()).await.raised[0];
    let coordinator = app.signed_in("coordinator").await;

    let (status, list) = get(&app, &coordinator, "/api/v1/chronic?status=new").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    assert_eq!(
        (item["id"].as_i64(), &item["patient"], &item["kind"]),
        (Some(id), &json!("CH-10"), &json!("osteoporosis"))
    );
    assert_eq!((item["value"].as_f64(), &item["status"]), (Some(96.0), &json!("new")));
    let (status, bad) = get(&app, &coordinator, "/api/v1/chronic?status=pending").await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("letter_sent"), "the valid statuses are listed: {bad}");

    let path = format!("/api/v1/chronic/{id}/events");
    let (status, body) =
        post(&app, &coordinator, &path, &json!({ "version": 1, "event": "record_acknowledgement" })).await;
    assert_eq!(status, 422, "no acknowledgement before a letter: {body}");
    let (status, body) =
        post(&app, &coordinator, &path, &json!({ "version": 1, "event": "send_letter", "physician": "  " })).await;
    assert_eq!(status, 422, "a letter goes to someone: {body}");
    // What serde could not read is refused without repeating it (an event name, a field).
    for hostile in [
        json!({ "version": 1, "event": "<script>alert(1)</script>" }),
        json!({ "version": 1, "event": "send_letter", "physician": "Dr. Lin", "<img src=x>": 1 }),
    ] {
        let (status, body) = post(&app, &coordinator, &path, &hostile).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, 422, "{body}");
        assert!(!message.is_empty() && !message.contains('<'), "the input is not repeated: {body}");
    }
    let (status, body) = post(
        &app,
        &coordinator,
        &path,
        &json!({ "version": 1, "event": "send_letter", "physician": "Dr. Lin, Riverside Practice" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["version"].as_i64()), (Some("letter_sent"), Some(2)));
    // A second coordinator's form from before the letter is refused, not applied over it.
    let (status, body) =
        post(&app, &coordinator, &path, &json!({ "version": 1, "event": "close", "reason": "already_known" })).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) =
        post(&app, &coordinator, &path, &json!({ "version": 2, "event": "close", "reason": "other" })).await;
    assert_eq!(status, 422, "“other” needs a note: {body}");
    let ack = json!({ "version": 2, "event": "record_acknowledgement", "note": "DXA booked" });
    assert_eq!(post(&app, &coordinator, &path, &ack).await.0, 200);
    let close = json!({ "version": 3, "event": "close", "reason": "managed_by_physician" });
    let (status, body) = post(&app, &coordinator, &path, &close).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("closed")), "{body}");

    let (status, detail) = get(&app, &coordinator, &format!("/api/v1/chronic/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    let kinds: Vec<&str> =
        detail["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["raised", "send_letter", "record_acknowledgement", "close"]);
    assert_eq!(detail["item"]["physician"], "Dr. Lin, Riverside Practice");
    assert_eq!(detail["available"], json!(["reopen", "add_note"]));
    // The closed finding is off the default (open) list, and on `all`.
    assert_eq!(get(&app, &coordinator, "/api/v1/chronic").await.1["total"], 0);
    assert_eq!(get(&app, &coordinator, "/api/v1/chronic?status=all").await.1["total"], 1);

    let actions: Vec<(String, String)> = sqlx::query_as(
        "select action, outcome from audit_event where target_id = $1 and action like 'chronic.%' order by id",
    )
    .bind(id.to_string())
    .fetch_all(&pool)
    .await
    .expect("audit");
    for expected in [
        ("chronic.record_acknowledgement", "failure"),
        ("chronic.send_letter", "success"),
        ("chronic.close", "failure"),
        ("chronic.close", "success"),
        ("chronic.view", "success"),
    ] {
        assert!(actions.iter().any(|(a, o)| (a.as_str(), o.as_str()) == expected), "{expected:?} audited: {actions:?}");
    }
    let refused =
        sqlx::query("update chronic_event set payload = '{}' where chronic_ref = $1").bind(id).execute(&pool).await;
    assert_eq!(
        elysium_tests::sqlstate(&refused).as_deref(),
        Some(elysium_tests::APPEND_ONLY),
        "the history is append-only"
    );
    let refused = sqlx::query("delete from chronic_observation where chronic_ref = $1").bind(id).execute(&pool).await;
    assert_eq!(
        elysium_tests::sqlstate(&refused).as_deref(),
        Some(elysium_tests::APPEND_ONLY),
        "the trend is append-only"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn roles_and_sites_bound_who_sees_and_does_what(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let here = scan(&pool, "CH-20", "DEMO-GH", 3, liver(30.0, 50.0)).await;
    let there = scan(&pool, "CH-21", "DEMO-RC", 3, liver(31.0, 50.0)).await;
    let id = raise(&pool, here, &ChronicRules::default()).await.raised[0];
    let elsewhere = raise(&pool, there, &ChronicRules::default()).await.raised[0];

    let surgeon = app.signed_in("surgeon").await;
    assert_eq!(get(&app, &surgeon, "/api/v1/chronic").await.0, 403, "not the surgeons' pathway");
    assert_eq!(surgeon.get(app.url("/chronic")).send().await.expect("page").status(), 403);

    // The demo coordinator works at DEMO-GH only: the other site's finding is unknown to them.
    let coordinator = app.signed_in("coordinator").await;
    let (_, list) = get(&app, &coordinator, "/api/v1/chronic").await;
    let ids: Vec<i64> = list["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_i64()).collect();
    assert_eq!(ids, [id]);
    assert_eq!(get(&app, &coordinator, &format!("/api/v1/chronic/{elsewhere}")).await.0, 404);
    let letter = json!({ "version": 1, "event": "send_letter", "physician": "Dr. X" });
    assert_eq!(post(&app, &coordinator, &format!("/api/v1/chronic/{elsewhere}/events"), &letter).await.0, 404);
    assert_eq!(
        coordinator.get(app.url(&format!("/chronic/{elsewhere}/letter"))).send().await.expect("letter").status(),
        404
    );

    // A radiologist closes what the images do not support, and nothing else.
    let radiologist = app.signed_in("radiologist").await;
    let path = format!("/api/v1/chronic/{id}/events");
    let managed = json!({ "version": 1, "event": "close", "reason": "managed_by_physician" });
    assert_eq!(post(&app, &radiologist, &path, &managed).await.0, 403);
    assert_eq!(post(&app, &radiologist, &path, &letter).await.0, 403);
    let unsupported =
        json!({ "version": 1, "event": "close", "reason": "not_supported_on_review", "note": "Beam hardening" });
    assert_eq!(post(&app, &radiologist, &path, &unsupported).await.0, 200);
    // An administrator may reopen; the reopened finding is new again and its closing reason gone.
    let admin = app.signed_in("admin").await;
    let reopen = json!({ "version": 2, "event": "reopen", "reason": "Measured again on the next scan" });
    let (status, body) = post(&app, &admin, &path, &reopen).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("new")), "{body}");
    let reason: Option<String> = sqlx::query_scalar("select close_reason from chronic_finding where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("reason");
    assert_eq!(reason, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_page_forms_work_without_javascript_and_the_letter_prints_the_history(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let first = scan(&pool, "CH-30", "DEMO-GH", 700, json!({ "l1_trabecular_hu": 150.0 })).await;
    let id = raise(&pool, first, &ChronicRules::default()).await.raised[0];
    let second = scan(&pool, "CH-30", "DEMO-GH", 5, json!({ "l1_trabecular_hu": 104.0 })).await;
    raise(&pool, second, &ChronicRules::default()).await;
    let coordinator = app.signed_in("coordinator").await;

    let page = coordinator.get(app.url(&format!("/chronic/{id}"))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    for text in ["150 HU", "104 HU", "Low bone density", "Osteoporosis likely", "form-send_letter", "chronic-trend"] {
        assert!(html.contains(text), "the page shows {text}");
    }
    let form = coordinator
        .post(app.url(&format!("/chronic/{id}/events")))
        .header("origin", app.origin())
        .form(&[("version", "1"), ("event", "send_letter"), ("physician", "Dr. Mei Lin")])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 303);
    assert_eq!(form.headers()["location"], format!("/chronic/{id}?done=send_letter").as_str());
    let stale = coordinator
        .post(app.url(&format!("/chronic/{id}/events")))
        .header("origin", app.origin())
        .form(&[("version", "1"), ("event", "add_note"), ("text", "late")])
        .send()
        .await
        .expect("form");
    assert_eq!(stale.headers()["location"], format!("/chronic/{id}?error=stale").as_str());

    let letter = coordinator.get(app.url(&format!("/chronic/{id}/letter"))).send().await.expect("letter");
    assert_eq!(letter.status(), 200);
    let html = letter.text().await.expect("html");
    for text in ["To: Dr. Mei Lin", "CH-30", "150 HU", "104 HU", "at or below 160 HU", "Pickhardt", "DXA"] {
        assert!(html.contains(text), "the letter says {text}");
    }
    // In the patient's letter language.
    sqlx::query("update patient set letter_language = 'zh-Hans' where patient_id = 'CH-30'")
        .execute(&pool)
        .await
        .expect("language");
    let html = coordinator
        .get(app.url(&format!("/chronic/{id}/letter")))
        .send()
        .await
        .expect("letter")
        .text()
        .await
        .expect("html");
    for text in ["致基层医生函", "致：Dr. Mei Lin", "不高于 160 HU", "骨密度降低"] {
        assert!(html.contains(text), "the Chinese letter says {text}");
    }
    let printed: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'chronic.letter' and patient_id = 'CH-30'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    assert_eq!(printed, 2, "each printing is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn administrators_move_the_cut_offs_and_the_next_result_follows_them(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let admin = app.signed_in("admin").await;
    let rules = |liver: f64, low: f64| {
        json!({
            "steatosis_liver_hu": liver, "steatosis_liver_minus_spleen_hu": -10.0, "osteoporosis_l1_hu": 110.0,
            "low_bone_density_l1_hu": low, "coronary_calcium_mm3": 100.0,
        })
    };
    let (status, body) = post(&app, &admin, "/api/v1/admin/settings/chronic", &rules(40.0, 100.0)).await;
    assert_eq!(status, 422, "the low-density cut-off must be above the osteoporosis one: {body}");
    assert!(body.to_string().contains("low_bone_density_l1_hu"), "{body}");
    let (status, body) = post(&app, &admin, "/api/v1/admin/settings/chronic", &rules(70.0, 160.0)).await;
    assert_eq!(status, 422, "70 HU is outside 20–60: {body}");
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(post(&app, &coordinator, "/api/v1/admin/settings/chronic", &rules(45.0, 160.0)).await.0, 403);

    let in_force = app::service::settings::chronic_rules(&pool).await.expect("rules");
    assert_eq!(in_force, ChronicRules::default(), "refusals changed nothing");
    let (status, body) = post(&app, &admin, "/api/v1/admin/settings/chronic", &rules(45.0, 160.0)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chronic_rules"]["steatosis_liver_hu"], 45.0);
    let in_force = app::service::settings::chronic_rules(&pool).await.expect("rules");
    // 43 HU: within the published 40 HU cut-off, below the programme's 45.
    let result = scan(&pool, "CH-40", "DEMO-GH", 1, liver(43.0, 50.0)).await;
    let id = raise(&pool, result, &in_force).await.raised[0];
    let stored: Value = sqlx::query_scalar("select rules from chronic_finding where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("rules");
    assert_eq!(stored["steatosis_liver_hu"], 45.0, "the finding keeps the cut-offs it was raised by");
    let audited: Value = sqlx::query_scalar(
        "select detail from audit_event where action = 'settings.chronic_rules' order by id desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(
        (audited["before"]["steatosis_liver_hu"].as_f64(), audited["after"]["steatosis_liver_hu"].as_f64()),
        (Some(40.0), Some(45.0))
    );
}

/// The demo's returning patients (`make run`): the worsening fatty liver is new with its whole
/// history, and the other three stand at the pathway's later steps.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_demo_shows_the_pathway_at_every_step(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    elysium_tests::demo::longitudinal::seed(&pool).await.expect("demo");
    let rows: Vec<(String, String, String, f64)> = sqlx::query_as(
        "select p.patient_id, c.kind, c.status, c.value from chronic_finding c join patient p on p.id = c.patient_ref
         order by p.patient_id, c.kind",
    )
    .fetch_all(&pool)
    .await
    .expect("findings");
    let rows: Vec<(&str, &str, &str, f64)> =
        rows.iter().map(|(p, k, s, v)| (p.as_str(), k.as_str(), s.as_str(), *v)).collect();
    assert_eq!(
        rows,
        [
            ("PL-0001", "steatosis", "new", 36.0),
            ("PL-0002", "osteoporosis", "letter_sent", 152.0),
            ("PL-0003", "coronary_calcium", "acknowledged", 160.0),
            ("PL-0004", "steatosis", "closed", 33.0),
        ]
    );
    let trend: Vec<f64> = sqlx::query_scalar(
        "select o.value from chronic_observation o join chronic_finding c on c.id = o.chronic_ref
         join patient p on p.id = c.patient_ref where p.patient_id = 'PL-0001' order by o.observed_on",
    )
    .fetch_all(&pool)
    .await
    .expect("trend");
    assert_eq!(trend, [56.0, 49.0, 43.0, 36.0], "the worsening liver, scan by scan");
    // The administrator's programme page counts them by condition and where each stands now
    // (PL-0001 new and PL-0004 closed; PL-0002's letter sent; PL-0003 acknowledged), within the
    // period: the default half year holds only the fatty liver raised 12 days ago.
    let admin = app.signed_in("admin").await;
    let from = (OffsetDateTime::now_utc().date() - Duration::days(2000)).to_string();
    let (status, report) = get(&app, &admin, &format!("/api/v1/metrics/program?from={from}")).await;
    assert_eq!(status, 200, "{report}");
    let figures: Vec<(String, u64, u64, u64, u64, u64)> = report["chronic"]
        .as_array()
        .expect("chronic")
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_u64().expect("count");
            (
                f["kind"].as_str().expect("kind").to_owned(),
                n("raised"),
                n("new"),
                n("letter_sent"),
                n("acknowledged"),
                n("closed"),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("steatosis".to_owned(), 2, 1, 0, 0, 1),
            ("osteoporosis".to_owned(), 1, 0, 1, 0, 0),
            ("coronary_calcium".to_owned(), 1, 0, 0, 1, 0),
        ]
    );
    let (_, recent) = get(&app, &admin, "/api/v1/metrics/program").await;
    assert_eq!(recent["chronic"][0]["raised"], 1, "{}", recent["chronic"]);
    assert_eq!(recent["chronic"][1]["raised"], 0);
    // Seeding again changes nothing.
    elysium_tests::demo::longitudinal::seed(&pool).await.expect("demo again");
    let count: i64 = sqlx::query_scalar("select count(*) from chronic_finding").fetch_one(&pool).await.expect("n");
    assert_eq!(count, 4);
}
