//! What a referral opens and to whom: the receiving site sees the referred finding, its study and
//! that study's images (each access recorded under the referral) and nothing else of the patient
//! at the sending site; one end at a time records the finding's events (the sender until the
//! receiving site accepts, the receiver after); the sender is told the outcome; a declined or
//! withdrawn referral closes the door again.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, finding, get, post};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::referral::{clinic_and_hospital, study_at};

/// The clinic refers to the hospital: the clinic's coordinator (created) and the hospital's.
async fn network(app: &TestApp) -> (Client, Client) {
    let clinic = clinic_and_hospital(app, "rc.coordinator").await;
    (clinic, app.signed_in("coordinator").await)
}

fn today() -> String {
    OffsetDateTime::now_utc().date().format(time::macros::format_description!("[year]-[month]-[day]")).expect("formats")
}

/// Sends `event` at the finding's version as `client` sees it; the status and body.
async fn event(app: &TestApp, client: &Client, id: i64, version: i64, mut event: Value) -> (u16, Value) {
    event["expected_version"] = version.into();
    post(app, client, &format!("/api/v1/findings/{id}/events"), &event).await
}

async fn version_of(pool: &PgPool, id: i64) -> i64 {
    i64::from(
        sqlx::query_scalar::<_, i32>("select version from finding where id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("version"),
    )
}

pub(crate) async fn audit_count(pool: &PgPool, action: &str, target: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_event where action = $1 and target_id = $2")
        .bind(action)
        .bind(target)
        .fetch_one(pool)
        .await
        .expect("audit count")
}

async fn referral_event(app: &TestApp, client: &Client, id: i64, version: i64, body: Value) -> Value {
    let mut body = body;
    body["expected_version"] = version.into();
    let (status, answer) = post(app, client, &format!("/api/v1/referrals/{id}/events"), &body).await;
    assert_eq!(status, 200, "{body} -> {answer}");
    answer
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_receiving_site_works_the_referred_finding_up_and_the_sender_hears_the_outcome(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (clinic, hospital) = network(&app).await;
    let uid = study_at(&pool, "DEMO-RC", "RC-77").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.93, 0).await;
    // The same patient's earlier study and finding at the clinic: never the hospital's to see.
    let earlier = study_at(&pool, "DEMO-RC", "RC-77").await;
    let other = finding(&pool, &earlier, "liver", "HCC", 0.71, 30).await;
    let finding_path = format!("/api/v1/findings/{id}");
    let series_path = |study: &str| format!("/dicomweb/studies/{study}/series");

    // Before any referral the hospital sees nothing of the clinic's patient.
    assert_eq!(get(&app, &hospital, &finding_path).await.0, 404);
    assert_eq!(get(&app, &hospital, &series_path(&uid)).await.0, 404);

    let (status, referral) = post(
        &app,
        &clinic,
        &format!("/api/v1/findings/{id}/referrals"),
        &json!({"to_site": "DEMO-GH", "reason": "Colonoscopy at the provincial hospital", "requested_workup": "colonoscopy"}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    let rid = referral["id"].as_i64().expect("id");

    // Requested: the hospital sees the finding and its study to decide, but does not work it up.
    let (status, seen) = get(&app, &hospital, &finding_path).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["actions"], json!([]));
    assert_eq!(seen["referrals"]["work_up_at"], "DEMO-RC");
    assert_eq!(seen["referrals"]["targets"], json!([]), "only the screening site refers");
    let studies: Vec<&str> =
        seen["studies"].as_array().expect("studies").iter().filter_map(|s| s["study_uid"].as_str()).collect();
    assert_eq!(studies, [uid.as_str()], "the referred finding's study only");
    assert_eq!(seen["related"], json!([]), "nothing else of the patient at the clinic");
    assert_eq!(get(&app, &hospital, &format!("/api/v1/findings/{other}")).await.0, 404);
    assert!(get(&app, &hospital, &series_path(&uid)).await.0 < 300);
    assert_eq!(get(&app, &hospital, &series_path(&earlier)).await.0, 404);
    // Each access is recorded under the referral.
    let rid_text = rid.to_string();
    assert_eq!(audit_count(&pool, "referral.access", &rid_text).await, 1);
    let views: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'finding.view' and target_id = $1 and (detail->>'referral')::bigint = $2",
    )
    .bind(id.to_string())
    .bind(rid)
    .fetch_one(&pool)
    .await
    .expect("views");
    assert_eq!(views, 1);

    let version = version_of(&pool, id).await;
    let (status, refused) = event(&app, &hospital, id, version, json!({"event": "start_review"})).await;
    assert_eq!((status, &refused["error"]["code"]), (409, &json!("referred_elsewhere")), "{refused}");
    assert_eq!(version_of(&pool, id).await, version, "a refusal changes nothing");
    // The clinic still works it up until the hospital accepts.
    let (_, clinic_view) = get(&app, &clinic, &finding_path).await;
    assert_eq!(clinic_view["referrals"]["work_up_at"], Value::Null);
    assert!(clinic_view["actions"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(event(&app, &clinic, id, version, json!({"event": "start_review"})).await.0, 200);

    // Accepted: the hospital works it up, the clinic follows read-only.
    referral_event(&app, &hospital, rid, 1, json!({"event": "accept", "note": "Booked"})).await;
    let (_, clinic_view) = get(&app, &clinic, &finding_path).await;
    assert_eq!((&clinic_view["actions"], &clinic_view["referrals"]["work_up_at"]), (&json!([]), &json!("DEMO-GH")));
    let version = version_of(&pool, id).await;
    let (status, refused) =
        event(&app, &clinic, id, version, json!({"event": "add_note", "text": "Called the patient"})).await;
    assert_eq!((status, &refused["error"]["code"]), (409, &json!("referred_elsewhere")), "{refused}");
    assert_eq!(version_of(&pool, id).await, version);
    let steps = [
        json!({"event": "order_workup", "modality": "colonoscopy", "due_date": today()}),
        json!({"event": "schedule_workup", "date": today(), "site": "Endoscopy unit"}),
        json!({"event": "complete_workup", "summary": "Mass at 18 cm, biopsied"}),
        json!({"event": "record_outcome", "outcome": "confirmed_malignant", "confirmed_by": "pathology", "diagnosis": "Adenocarcinoma", "date": today()}),
    ];
    for step in steps {
        let version = version_of(&pool, id).await;
        let (status, body) = event(&app, &hospital, id, version, step.clone()).await;
        assert_eq!(status, 200, "{step} -> {body}");
    }

    // The clinic is told: the referral carries the outcome, with an event and an audit row.
    let (_, outgoing) = get(&app, &clinic, "/api/v1/referrals?direction=outgoing").await;
    assert_eq!(outgoing["items"][0]["outcome"], "confirmed_malignant", "{outgoing}");
    assert!(outgoing["items"][0]["outcome_at"].is_string());
    assert_eq!(outgoing["items"][0]["status"], "accepted");
    let outcome_events: i64 =
        sqlx::query_scalar("select count(*) from referral_event where referral_id = $1 and event = 'outcome'")
            .bind(rid)
            .fetch_one(&pool)
            .await
            .expect("events");
    assert_eq!(outcome_events, 1);
    assert_eq!(audit_count(&pool, "referral.outcome", &rid_text).await, 1);
    // The finding's own history says who did what, from which site.
    let actors: Vec<String> =
        sqlx::query_scalar("select actor_username from finding_event where finding_id = $1 order by id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .expect("history");
    assert_eq!(actors[actors.len() - 4..], ["coordinator"; 4]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_declined_or_withdrawn_referral_closes_the_receiving_sites_view(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (clinic, hospital) = network(&app).await;
    let uid = study_at(&pool, "DEMO-RC", "RC-78").await;
    let id = finding(&pool, &uid, "lung", "lung_nodule", 0.88, 0).await;
    let refer_path = format!("/api/v1/findings/{id}/referrals");
    let to_hospital = json!({"to_site": "DEMO-GH", "reason": "CT-guided biopsy", "requested_workup": "biopsy"});
    let refer = || post(&app, &clinic, &refer_path, &to_hospital);
    let finding_path = format!("/api/v1/findings/{id}");

    let (status, referral) = refer().await;
    assert_eq!(status, 201, "{referral}");
    let rid = referral["id"].as_i64().expect("id");
    assert_eq!(get(&app, &hospital, &finding_path).await.0, 200);
    referral_event(&app, &hospital, rid, 1, json!({"event": "decline", "reason": "No thoracic surgery this month"}))
        .await;
    assert_eq!(get(&app, &hospital, &finding_path).await.0, 404, "declined: back with the clinic only");
    assert_eq!(get(&app, &hospital, &format!("/dicomweb/studies/{uid}/series")).await.0, 404);

    // Referred again, accepted, then withdrawn: the clinic has the finding back, and may act.
    let (status, referral) = refer().await;
    assert_eq!(status, 201, "{referral}");
    let rid = referral["id"].as_i64().expect("id");
    referral_event(&app, &hospital, rid, 1, json!({"event": "accept"})).await;
    assert_eq!(get(&app, &hospital, &finding_path).await.0, 200);
    referral_event(&app, &clinic, rid, 2, json!({"event": "withdraw", "reason": "Patient moved closer to the clinic"}))
        .await;
    assert_eq!(get(&app, &hospital, &finding_path).await.0, 404);
    let (_, clinic_view) = get(&app, &clinic, &finding_path).await;
    assert_eq!(clinic_view["referrals"]["work_up_at"], Value::Null);
    let targets: Vec<&str> = clinic_view["referrals"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|s| s["code"].as_str())
        .collect();
    assert_eq!(targets, ["DEMO-GH"], "no referral active: it may be referred again");
    let version = version_of(&pool, id).await;
    assert_eq!(event(&app, &clinic, id, version, json!({"event": "start_review"})).await.0, 200);
}
