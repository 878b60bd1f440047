//! Programme settings: the environment's defaults until an administrator changes them; a change
//! reaches the follow-up at the finding's next step (its due date, the contact attempts before
//! "lost") and the workers' device at their next start; bad values change nothing; audited;
//! administrators only.

use elysium_db::MIGRATOR;
use elysium_inference::runtime::DevicePreference;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

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

/// A finding detected today on a new study at DEMO-GH.
async fn finding(pool: &PgPool) -> i64 {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, 'DEMO-GH', 'TEST^SETTINGS', 'F', '1961-02-03') returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $2, p.id, (select id from site where code = 'DEMO-GH'), current_date from p",
    )
    .bind(format!("S-{}", uuid::Uuid::new_v4().simple()))
    .bind(&uid)
    .execute(pool)
    .await
    .expect("study");
    elysium_tests::finding(pool, &uid, "lung", "Cancer", 0.9, 0).await
}

/// Records `event` on finding `id` at its current version.
async fn step(app: &TestApp, client: &Client, id: i64, mut event: Value) -> (u16, Value) {
    let (_, current) = get(app, client, &format!("/api/v1/findings/{id}")).await;
    event["expected_version"] = current["version"].clone();
    post(app, client, &format!("/api/v1/findings/{id}/events"), &event).await
}

fn update(ordered: u32, contacts: u32, device: &str) -> Value {
    json!({
        "review_working_days": 2, "workup_ordered_days": ordered, "workup_done_days": 30,
        "outcome_days": 60, "contacts_before_lost": contacts, "inference_device": device,
    })
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_change_reaches_the_next_step_of_every_finding_and_the_workers_next_start(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let admin = app.signed_in("admin").await;
    let coordinator = app.signed_in("coordinator").await;

    // The environment's defaults (ELYSIUM_SLA_*, ELYSIUM_CONTACTS_BEFORE_LOST, the device).
    let (status, settings) = get(&app, &admin, "/api/v1/admin/settings").await;
    assert_eq!(status, 200, "{settings}");
    let defaults = json!({"review_working_days": 2, "workup_ordered_days": 7, "workup_done_days": 30, "outcome_days": 60, "contacts_before_lost": 3});
    assert_eq!(settings["levels"], defaults);
    assert_eq!(settings["default_levels"], defaults);
    assert_eq!((settings["inference_device"].as_str(), settings["levels_changed"].is_null()), (Some("auto"), true));

    let (status, saved) = post(&app, &admin, "/api/v1/admin/settings", &update(10, 2, "cpu")).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["levels"]["workup_ordered_days"], 10);
    assert_eq!(saved["levels_changed"]["by"], "admin");
    assert_eq!(saved["default_levels"], defaults, "the environment's stay shown");

    // In review, the work-up is due 10 days from detection (today), not the environment's 7.
    let id = finding(&pool).await;
    let (status, _) = step(&app, &coordinator, id, json!({"event": "start_review"})).await;
    assert_eq!(status, 200);
    let (_, detail) = get(&app, &coordinator, &format!("/api/v1/findings/{id}")).await;
    let due = OffsetDateTime::now_utc().date() + Duration::days(10);
    assert_eq!(detail["due_date"].as_str(), Some(due.to_string().as_str()), "{detail}");
    // Two unsuccessful attempts are now enough to mark the patient lost (three by default).
    for _ in 0..2 {
        let attempt = json!({"event": "record_contact_attempt", "channel": "phone", "result": "no_answer"});
        assert_eq!(step(&app, &coordinator, id, attempt).await.0, 200);
    }
    let (status, lost) = step(&app, &coordinator, id, json!({"event": "mark_lost"})).await;
    assert_eq!((status, lost["status"].as_str()), (200, Some("lost_to_followup")), "{lost}");

    // The workers open their sessions on the device chosen here.
    let config = elysium_tests::config(&[]).screening;
    assert_eq!(config.inference_device, DevicePreference::Auto);
    assert_eq!(elysium_server::screening::with_settings(&pool, config).await.inference_device, DevicePreference::Cpu);

    let audit = app.audit_rows("settings.update").await;
    assert_eq!(audit.len(), 1);
    let (actor, _, detail) = &audit[0];
    assert_eq!(actor.as_deref(), Some("admin"));
    assert_eq!(detail["before"]["service_levels"], defaults);
    assert_eq!(detail["before"]["inference_device"], "auto");
    assert_eq!(detail["after"]["service_levels"]["workup_ordered_days"], 10);
    assert_eq!(detail["after"]["inference_device"], "cpu");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_settings_change_nothing_and_only_administrators_reach_them(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let mut unknown = update(7, 3, "auto");
    unknown["mdt_quorum"] = json!(1);
    let mut no_review = update(7, 3, "auto");
    no_review["review_working_days"] = json!(0);
    let mut early_outcome = update(7, 3, "auto");
    early_outcome["outcome_days"] = json!(20);
    for (body, field) in [
        (no_review, "review_working_days"),
        (update(7, 21, "auto"), "contacts_before_lost"),
        (update(31, 3, "auto"), "workup_done_days"),
        (early_outcome, "outcome_days"),
        (update(7, 3, "gpu"), "inference_device"),
        (unknown, "unknown field"),
    ] {
        let (status, error) = post(&app, &admin, "/api/v1/admin/settings", &body).await;
        assert_eq!(status, 422, "{body}");
        assert!(error["error"]["message"].as_str().unwrap_or_default().contains(field), "{body}: {error}");
    }
    let (_, settings) = get(&app, &admin, "/api/v1/admin/settings").await;
    assert!(settings["levels_changed"].is_null() && settings["device_changed"].is_null(), "{settings}");
    assert!(app.audit_rows("settings.update").await.is_empty());

    // The page's form: refused with the field named, then saved.
    let form = |outcome: &'static str| {
        admin
            .post(app.url("/admin/settings"))
            .header("origin", app.origin())
            .form(&[
                ("review_working_days", "3"),
                ("workup_ordered_days", "7"),
                ("workup_done_days", "30"),
                ("outcome_days", outcome),
                ("contacts_before_lost", "3"),
                ("inference_device", "auto"),
            ])
            .send()
    };
    let refused = form("twenty").await.expect("form");
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/settings?error=outcome_days"), "{back}");
    let saved = form("90").await.expect("form");
    assert_eq!(saved.headers()["location"], "/admin/settings?saved=1");
    let page = admin.get(app.url("/admin/settings")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("Changed on this page by admin"), "who changed them");
    assert!(page.contains("name=\"outcome_days\" value=\"90\""), "the value in force");

    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(get(&app, &coordinator, "/api/v1/admin/settings").await.0, 403);
    assert_eq!(post(&app, &coordinator, "/api/v1/admin/settings", &update(7, 3, "cpu")).await.0, 403);
    assert_eq!(coordinator.get(app.url("/admin/settings")).send().await.expect("page").status(), 403);
}
