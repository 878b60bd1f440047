//! Referring a tumour-board case: a larynx case opened at the community clinic (from its ENT
//! clinic, with no screening finding) goes to the provincial hospital's board. The receiving board
//! reads it to decide, works it once the referral is accepted, and the clinic follows it read-only
//! and hears of the signed decision; a declined referral gives the case back. Every refusal
//! changes nothing; each access and write is audited under the referral.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, get, get_text, get_text_in_chinese, post};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::referral::{clinic_and_hospital, study_at};
use crate::referral_access::audit_count;

/// A user of `site` with `roles`, created by the administrator and signed in.
async fn user_of(app: &TestApp, username: &str, roles: &[&str], site: &str) -> Client {
    let admin = app.signed_in("admin").await;
    crate::referral::user_of(app, &admin, username, roles, site).await
}

/// A glottic larynx case opened at the clinic by `clinic` for a new patient, measured on a CT
/// series of its study: the case's id and the study's UID.
async fn clinic_case_on(app: &TestApp, clinic: &Client, patient_id: &str) -> (i64, String) {
    let uid = study_at(&app.pool, "DEMO-RC", patient_id).await;
    let series = format!("{uid}.1");
    sqlx::query(
        "insert into series (series_uid, study_ref, modality) select $1, id, 'CT' from study where study_uid = $2",
    )
    .bind(&series)
    .bind(&uid)
    .execute(&app.pool)
    .await
    .expect("series");
    let (status, body) = post(
        app,
        clinic,
        "/api/v1/mdt/cases",
        &json!({"study_uid": uid, "series_uid": series, "cancer": "larynx", "subsite": "glottic",
                "diagnosis": "Squamous cell carcinoma", "referral_note": "ENT clinic: biopsy-proven glottic SCC"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_i64().expect("id"), uid)
}

async fn clinic_case(app: &TestApp, clinic: &Client, patient_id: &str) -> i64 {
    clinic_case_on(app, clinic, patient_id).await.0
}

async fn case(app: &TestApp, client: &Client, id: i64) -> (u16, Value) {
    get(app, client, &format!("/api/v1/mdt/cases/{id}")).await
}

async fn referrals_of_case(pool: &PgPool, id: i64) -> i64 {
    sqlx::query_scalar("select count(*) from referral where case_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count")
}

/// The board's review of a glottic T1a N0 M0 (stage I) case at `version`.
fn review_at(version: &Value) -> Value {
    json!({
        "expected_version": version,
        "t": {"override": "T1a", "reason": "Laryngoscopy: one vocal cord, normal mobility"},
        "n": {"override": "N0", "reason": "Neck CT: no nodes"},
        "m": {"override": "M0", "reason": "Chest CT: clear"},
        "recommendation": "definitive_radiotherapy"
    })
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_case_goes_to_the_hospital_board_which_decides_it_and_the_clinic_hears(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let clinic = clinic_and_hospital(&app, "rc.board").await;
    let clinic_surgeon = user_of(&app, "rc.surgeon", &["surgeon"], "DEMO-RC").await;
    let (hospital, surgeon, surgeon2) =
        (app.signed_in("coordinator").await, app.signed_in("surgeon").await, app.signed_in("surgeon2").await);
    let (id, study) = clinic_case_on(&app, &clinic, "RC-9101").await;
    let study_path = format!("/api/v1/studies/{study}/screening");

    // Before the referral: the clinic may refer it to the hospital; the hospital sees nothing.
    let (status, detail) = case(&app, &clinic, id).await;
    assert_eq!(status, 200, "{detail}");
    let targets: Vec<&str> =
        detail["referrals"]["targets"].as_array().expect("targets").iter().filter_map(|t| t["code"].as_str()).collect();
    assert_eq!(targets, ["DEMO-GH"]);
    assert_eq!(case(&app, &surgeon, id).await.0, 404);
    assert_eq!(get(&app, &surgeon, &study_path).await.0, 404, "nor its images");

    // Refusals change nothing.
    let refer = format!("/api/v1/mdt/cases/{id}/referrals");
    let cases = [
        (&clinic, json!({"to_site": "DEMO-RC", "reason": "why"}), 422, "to_site"),
        (&clinic, json!({"to_site": "DEMO-GH", "reason": "  "}), 422, "reason"),
        (&clinic, json!({"to_site": "NOWHERE", "reason": "why"}), 422, "to_site"),
        (&clinic_surgeon, json!({"to_site": "DEMO-GH", "reason": "why"}), 403, ""),
        (&hospital, json!({"to_site": "DEMO-GH", "reason": "why"}), 404, ""),
    ];
    for (client, body, expected, field) in cases {
        let (status, answer) = post(&app, client, &refer, &body).await;
        assert_eq!(status, expected, "{body} -> {answer}");
        if !field.is_empty() {
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(message.starts_with(&format!("{field}: ")), "{message}");
        }
    }
    let (status, _) =
        post(&app, &clinic, &refer, &json!({"to_site": "DEMO-GH", "reason": "why", "requested_workup": "biopsy"}))
            .await;
    assert_eq!(status, 422, "a finding's work-up has no place in a case referral");
    assert_eq!(referrals_of_case(&pool, id).await, 0);

    // The clinic refers it; a second referral while it is active is a conflict.
    let reason = json!({"to_site": "DEMO-GH", "reason": "No head and neck surgeons here: provincial board, please"});
    let (status, sent) = post(&app, &clinic, &refer, &reason).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!((sent["case_id"].as_i64(), &sent["finding_id"]), (Some(id), &Value::Null));
    assert_eq!((sent["status"].as_str(), sent["requested_workup"].as_str()), (Some("requested"), Some("mdt_review")));
    assert_eq!(sent["organ"], "larynx");
    assert_eq!(sent["case_status"], "awaiting_review");
    let referral = sent["id"].as_i64().expect("id");
    assert_eq!(post(&app, &clinic, &refer, &reason).await.0, 409);
    assert_eq!(referrals_of_case(&pool, id).await, 1);
    assert_eq!(audit_count(&pool, "referral.request", &referral.to_string()).await, 1);

    // Requested: the hospital's board reads the case to decide, but does not work it yet; it is
    // on the hospital's incoming referrals, not yet on its board's lists.
    let (status, detail) = case(&app, &surgeon, id).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["actions"]["review"], false);
    assert_eq!(detail["referrals"]["work_up_at"], "DEMO-RC");
    let version = detail["version"].clone();
    let (status, body) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), &review_at(&version)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("accept the referral"), "{body}");
    let listed = |list: &Value| list["items"].as_array().expect("items").iter().any(|c| c["id"].as_i64() == Some(id));
    assert!(!listed(&get(&app, &surgeon, "/api/v1/mdt/cases").await.1));
    let (_, incoming) = get(&app, &hospital, "/api/v1/referrals?direction=incoming").await;
    let item = &incoming["items"][0];
    assert_eq!((item["id"].as_i64(), item["case_id"].as_i64()), (Some(referral), Some(id)));
    let view: Value = sqlx::query_scalar(
        "select detail from audit_event where action = 'mdt.case.view' and target_id = $1 and detail ? 'referral'",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .expect("the hospital's view is audited under the referral");
    assert_eq!(view["referral"], referral);
    // Its CT too, each access recorded under the referral.
    let (status, body) = get(&app, &surgeon, &study_path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(audit_count(&pool, "referral.access", &referral.to_string()).await, 1);

    // Accepted: the hospital's board works it; the clinic follows read-only.
    let (status, body) = post(
        &app,
        &hospital,
        &format!("/api/v1/referrals/{referral}/events"),
        &json!({"event": "accept", "expected_version": sent["version"], "note": "Thursday's board"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(listed(&get(&app, &surgeon, "/api/v1/mdt/cases").await.1));
    let (_, followed) = case(&app, &clinic_surgeon, id).await;
    assert_eq!(followed["referrals"]["work_up_at"], "DEMO-GH");
    assert_eq!(followed["actions"]["review"], false);
    let (status, body) =
        post(&app, &clinic_surgeon, &format!("/api/v1/mdt/cases/{id}/review"), &review_at(&version)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("follows it read-only"), "{body}");
    assert_eq!(case(&app, &surgeon, id).await.1["actions"]["review"], true);

    // The hospital's board decides; the second signature locks it and tells the clinic.
    let (status, written) = post(&app, &surgeon, &format!("/api/v1/mdt/cases/{id}/review"), &review_at(&version)).await;
    assert_eq!(status, 200, "{written}");
    let mut version = written["version"].clone();
    for signer in [&surgeon, &surgeon2] {
        let (status, signed) =
            post(&app, signer, &format!("/api/v1/mdt/cases/{id}/sign"), &json!({"expected_version": version})).await;
        assert_eq!(status, 200, "{signed}");
        version = signed["version"].clone();
    }
    let (_, outgoing) = get(&app, &clinic, "/api/v1/referrals?direction=outgoing&outcome=reported").await;
    assert_eq!(outgoing["total"], 1, "{outgoing}");
    let told = &outgoing["items"][0];
    assert_eq!((told["outcome"].as_str(), told["case_status"].as_str()), (Some("decided"), Some("decided")));
    assert!(told["outcome_at"].is_string());
    assert_eq!(audit_count(&pool, "referral.outcome", &referral.to_string()).await, 1);
    let events: Vec<String> = sqlx::query_scalar("select event from referral_event where referral_id = $1 order by id")
        .bind(referral)
        .fetch_all(&pool)
        .await
        .expect("events");
    assert_eq!(events, ["request", "accept", "outcome"]);
    // The clinic reads the signed decision on its own case.
    let (_, decided) = case(&app, &clinic, id).await;
    assert_eq!(case(&app, &surgeon, id).await.0, 200, "the hospital keeps the case it decided");
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decisions"][0]["stage_group"], "I");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_declined_case_referral_gives_the_case_back_to_the_clinic(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let clinic = clinic_and_hospital(&app, "rc.back").await;
    let clinic_surgeon = user_of(&app, "rc.surgeon2", &["surgeon"], "DEMO-RC").await;
    let (hospital, surgeon) = (app.signed_in("coordinator").await, app.signed_in("surgeon").await);
    let id = clinic_case(&app, &clinic, "RC-9102").await;
    let (status, sent) = post(
        &app,
        &clinic,
        &format!("/api/v1/mdt/cases/{id}/referrals"),
        &json!({"to_site": "DEMO-GH", "reason": "Provincial board, please"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let (status, body) = post(
        &app,
        &hospital,
        &format!("/api/v1/referrals/{}/events", sent["id"]),
        &json!({"event": "decline", "expected_version": sent["version"], "reason": "No board date this month"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The hospital no longer sees it; the clinic's board works it again, and may refer it anew.
    assert_eq!(case(&app, &surgeon, id).await.0, 404);
    let (_, detail) = case(&app, &clinic_surgeon, id).await;
    assert_eq!(detail["referrals"]["work_up_at"], Value::Null);
    let (status, written) =
        post(&app, &clinic_surgeon, &format!("/api/v1/mdt/cases/{id}/review"), &review_at(&detail["version"])).await;
    assert_eq!(status, 200, "{written}");
    let (_, detail) = case(&app, &clinic, id).await;
    assert_eq!(detail["referrals"]["targets"][0]["code"], "DEMO-GH");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_case_page_refers_and_follows_in_both_languages(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let clinic = clinic_and_hospital(&app, "rc.page").await;
    let id = clinic_case(&app, &clinic, "RC-9103").await;
    let page = format!("/mdt/cases/{id}");
    let html = get_text(&app, &clinic, &page).await;
    assert!(html.contains("data-testid=\"refer-form\""), "the clinic's coordinator may refer it");
    assert!(html.contains(&format!("action=\"/mdt/cases/{id}/referrals\"")));
    assert!(html.contains("Refer to another site's board"));
    // The form post refers it and returns to the case.
    let response = clinic
        .post(app.url(&format!("/mdt/cases/{id}/referrals")))
        .header("origin", app.origin())
        .form(&[("to_site", "DEMO-GH"), ("reason", "Provincial board, please")])
        .send()
        .await
        .expect("posts");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("text").to_owned();
    assert!(location.starts_with(&page) && location.contains("referral=requested"), "{location}");
    assert_eq!(referrals_of_case(&pool, id).await, 1);
    // The hospital's surgeon reads it in Chinese, read-only until accepted.
    let surgeon = app.signed_in("surgeon").await;
    let html = get_text_in_chinese(&app, &surgeon, &page).await.replace("<!>", "");
    assert!(html.contains("转诊"), "the referrals card");
    assert!(html.contains("MDT 讨论"), "the requested board review");
    assert!(html.contains("data-testid=\"referral-read-only\""));
    assert!(!html.contains("data-testid=\"refer-form\""));
    // The referral list links the case.
    let hospital = app.signed_in("coordinator").await;
    let list = get_text(&app, &hospital, "/referrals").await;
    assert!(list.contains(&format!("href=\"/mdt/cases/{id}\"")), "the list links the case");
    assert!(list.contains("data-testid=\"referral-case\""));
}

/// The demo's case referrals: one waiting for the hospital, one decided by its board with the
/// outcome reported to the clinic; a second seeding adds nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_demo_refers_two_larynx_cases_once(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let clinic = clinic_and_hospital(&app, "rc.demo").await;
    let data = tempfile::tempdir().expect("dir");
    let state = app.state();
    let seed = || elysium_tests::demo::case_referral::seed(&pool, &state.ingestor, data.path(), &state.board);
    seed().await.expect("demo case referrals");
    seed().await.expect("seeding again");

    let (status, outgoing) = get(&app, &clinic, "/api/v1/referrals?direction=outgoing").await;
    assert_eq!(status, 200, "{outgoing}");
    let mut seen: Vec<(String, String, Option<String>)> = outgoing["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|r| r["case_id"].is_i64())
        .map(|r| {
            let outcome = r["outcome"].as_str().map(str::to_owned);
            (
                r["patient_id"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
                outcome,
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("RC-3107".to_owned(), "accepted".to_owned(), Some("decided".to_owned())),
            ("RC-3108".to_owned(), "requested".to_owned(), None),
        ]
    );
    let cases: i64 = sqlx::query_scalar("select count(*) from mdt_case where cancer = 'larynx'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(cases, 2, "seeded once");
}
