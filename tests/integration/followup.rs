//! Follow-up over HTTP: the lifecycle by role, optimistic concurrency, site scoping, the
//! worklist's filters and order, the page forms, the recall letter, and the history's integrity.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, finding};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

/// A stored study at a demo site (index rows only: follow-up does not read the images).
async fn study(pool: &PgPool, site: &str, patient_id: &str, sex: &str, born: &str) -> String {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, $6, $2, $3, $4::date)
                    on conflict (assigning_authority, patient_id) do update set name = excluded.name returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $5, p.id, (select id from site where code = $6), current_date - 3 from p",
    )
    .bind(patient_id)
    .bind(format!("TEST^{patient_id}"))
    .bind(sex)
    .bind(born)
    .bind(&uid)
    .bind(site)
    .execute(pool)
    .await
    .expect("study");
    uid
}

async fn post_event(app: &TestApp, client: &Client, id: i64, body: Value) -> (u16, Value) {
    let response =
        client.post(app.url(&format!("/api/v1/findings/{id}/events"))).json(&body).send().await.expect("event request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_json(app: &TestApp, client: &Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn today() -> String {
    in_days(0)
}

/// The date `days` from today as the API writes dates (ISO 8601), formatted by `time` itself.
fn in_days(days: i64) -> String {
    let date = OffsetDateTime::now_utc().date() + Duration::days(days);
    date.format(time::macros::format_description!("[year]-[month]-[day]")).expect("formats")
}

/// Sends `event` at the finding's current version and expects success.
async fn step(app: &TestApp, client: &Client, id: i64, mut event: Value) -> Value {
    let (_, current) = get_json(app, client, &format!("/api/v1/findings/{id}")).await;
    event["expected_version"] = current["version"].clone();
    let (status, body) = post_event(app, client, id, event.clone()).await;
    assert_eq!(status, 200, "{event} -> {body}");
    body
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_coordinator_takes_a_finding_to_the_mdt(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-1", "F", "1960-05-01").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.91, 0).await;
    let coordinator = app.signed_in("coordinator").await;

    let steps = [
        (json!({"event": "start_review"}), "in_review"),
        (
            json!({"event": "order_workup", "modality": "colonoscopy", "due_date": in_days(14), "responsible": "Dr Gale"}),
            "workup_ordered",
        ),
        (json!({"event": "schedule_workup", "date": in_days(5), "site": "Endoscopy unit"}), "workup_scheduled"),
        (json!({"event": "complete_workup", "summary": "Mass at 20 cm, biopsied"}), "workup_done"),
        (
            json!({"event": "record_outcome", "outcome": "confirmed_malignant", "confirmed_by": "pathology", "diagnosis": "Adenocarcinoma", "date": today()}),
            "confirmed_malignant",
        ),
        (json!({"event": "refer_to_mdt"}), "referred_to_mdt"),
    ];
    for (version, (event, status)) in steps.into_iter().enumerate() {
        let body = step(&app, &coordinator, id, event).await;
        assert_eq!(body["status"], status);
        assert_eq!(body["version"], version as i64 + 2);
    }

    let (status, detail) = get_json(&app, &coordinator, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "referred_to_mdt");
    assert_eq!(detail["due_date"], Value::Null, "a closed finding has no due date");
    let events: Vec<&str> =
        detail["history"].as_array().expect("history").iter().filter_map(|h| h["event"].as_str()).collect();
    assert_eq!(
        events,
        [
            "detected",
            "start_review",
            "order_workup",
            "schedule_workup",
            "complete_workup",
            "record_outcome",
            "refer_to_mdt"
        ]
    );
    let last = &detail["history"][6];
    assert_eq!(last["actor"], "coordinator");
    assert_eq!(last["role"], "coordinator");
    assert_eq!(detail["history"][2]["details"][0], json!(["due_date", in_days(14)]));
    assert_eq!(detail["assignee"], "coordinator", "taking a finding assigns it");

    let cases: i64 =
        sqlx::query_scalar("select count(*) from mdt_case where finding_id = $1 and status = 'awaiting_review'")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("mdt cases");
    assert_eq!(cases, 1, "the referral opens an MDT case");
    let audited = app.audit_rows("finding.refer_to_mdt").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].2["to"], "referred_to_mdt");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_stale_version_gets_409_with_the_current_state_and_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-2", "M", "1955-01-01").await;
    let id = finding(&pool, &uid, "lung", "Cancer", 0.8, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let radiologist = app.signed_in("radiologist").await;

    let (status, _) = post_event(&app, &coordinator, id, json!({"event": "start_review", "expected_version": 1})).await;
    assert_eq!(status, 200);
    let (status, body) =
        post_event(&app, &radiologist, id, json!({"event": "add_note", "text": "seen", "expected_version": 1})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale_version");
    assert_eq!(body["current"], json!({"status": "in_review", "version": 2}));
    let (_, detail) = get_json(&app, &radiologist, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(detail["history"].as_array().map(Vec::len), Some(2), "the stale note was not written");
    assert_eq!(app.audit_rows("finding.add_note").await[0].1, "failure", "the refusal is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_writers_on_one_version_cannot_both_win(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-3", "F", "1970-01-01").await;
    let id = finding(&pool, &uid, "liver", "HCC", 0.7, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let attempts = (0..8).map(|n| {
        let (app, client) = (&app, &coordinator);
        async move {
            post_event(
                app,
                client,
                id,
                json!({"event": "add_note", "text": format!("note {n}"), "expected_version": 1}),
            )
            .await
            .0
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
    let versions: i64 = sqlx::query_scalar("select count(*) from finding_event where finding_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("events");
    assert_eq!(versions, 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn events_the_state_or_payload_does_not_allow_get_422(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-4", "M", "1950-01-01").await;
    let id = finding(&pool, &uid, "liver", "HCC", 0.7, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let refused = [
        json!({"event": "record_outcome", "outcome": "benign", "diagnosis": "cyst", "date": today(), "expected_version": 1}),
        json!({"event": "launch", "expected_version": 1}),
        json!({"event": "start_review"}),
        json!({"event": "start_review", "expected_version": "one"}),
        json!(["start_review"]),
        json!({"event": "mark_lost", "expected_version": 1}),
    ];
    for body in refused {
        let (status, answer) = post_event(&app, &coordinator, id, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
    }
    // What serde could not read is refused without repeating it (an event name, a field, a value).
    for body in [
        json!({"event": "<script>alert(1)</script>", "expected_version": 1}),
        json!({"event": "start_review", "<img src=x>": 1, "expected_version": 1}),
        json!({"event": "record_contact_attempt", "channel": "<b>", "result": "reached", "expected_version": 1}),
    ] {
        let (status, answer) = post_event(&app, &coordinator, id, body.clone()).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, 422, "{body} -> {answer}");
        assert!(!message.is_empty() && !message.contains('<'), "the input is not repeated: {answer}");
    }
    step(&app, &coordinator, id, json!({"event": "start_review"})).await;
    for body in [
        json!({"event": "order_workup", "modality": "colonoscopy", "due_date": in_days(10), "expected_version": 2}),
        json!({"event": "order_workup", "modality": "biopsy", "due_date": in_days(-1), "expected_version": 2}),
        json!({"event": "order_workup", "modality": "biopsy", "due_date": "next week", "expected_version": 2}),
        json!({"event": "dismiss", "reason": "other", "expected_version": 2}),
        json!({"event": "assign", "assignee": "surgeon", "expected_version": 2}),
    ] {
        let (status, answer) = post_event(&app, &coordinator, id, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
    }
    // Lost to follow-up only after three unsuccessful contact attempts.
    for _ in 0..2 {
        step(
            &app,
            &coordinator,
            id,
            json!({"event": "record_contact_attempt", "channel": "phone", "result": "no_answer"}),
        )
        .await;
    }
    step(&app, &coordinator, id, json!({"event": "record_contact_attempt", "channel": "phone", "result": "reached"}))
        .await;
    let (status, answer) =
        post_event(&app, &coordinator, id, json!({"event": "mark_lost", "expected_version": 5})).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("2 recorded"), "{answer}");
    step(
        &app,
        &coordinator,
        id,
        json!({"event": "record_contact_attempt", "channel": "letter", "result": "undeliverable"}),
    )
    .await;
    let body = step(&app, &coordinator, id, json!({"event": "mark_lost"})).await;
    assert_eq!(body["status"], "lost_to_followup");
    let (status, _) =
        post_event(&app, &coordinator, id, json!({"event": "reopen", "reason": "", "expected_version": 7})).await;
    assert_eq!(status, 422);
    let body = step(&app, &coordinator, id, json!({"event": "reopen", "reason": "patient called back"})).await;
    assert_eq!(body["status"], "in_review");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn who_may_do_what(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-5", "F", "1965-01-01").await;
    let id = finding(&pool, &uid, "pancreas", "PDAC", 0.88, 0).await;
    let surgeon = app.signed_in("surgeon").await;
    let admin = app.signed_in("admin").await;
    let coordinator = app.signed_in("coordinator").await;
    let radiologist = app.signed_in("radiologist").await;

    for client in [&surgeon, &admin] {
        let (status, body) =
            post_event(&app, client, id, json!({"event": "start_review", "expected_version": 1})).await;
        assert_eq!(status, 403, "{body}");
    }
    let (_, detail) = get_json(&app, &surgeon, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(detail["actions"], json!(["add_note"]), "a surgeon may only annotate");
    step(&app, &surgeon, id, json!({"event": "add_note", "text": "Pancreas MDT on Thursday"})).await;
    step(&app, &admin, id, json!({"event": "assign", "assignee": "coordinator"})).await;
    step(&app, &coordinator, id, json!({"event": "start_review"})).await;

    let false_positive = json!({"event": "dismiss", "reason": "ai_false_positive"});
    let (_, current) = get_json(&app, &coordinator, &format!("/api/v1/findings/{id}")).await;
    let mut attempt = false_positive.clone();
    attempt["expected_version"] = current["version"].clone();
    let (status, body) = post_event(&app, &coordinator, id, attempt).await;
    assert_eq!(status, 403, "an image-based dismissal is a radiologist's call: {body}");
    let body = step(&app, &radiologist, id, false_positive).await;
    assert_eq!(body["status"], "dismissed");
    let (_, detail) = get_json(&app, &admin, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(
        detail["history"].as_array().and_then(|h| h.last()).map(|h| h["role"].clone()),
        Some(json!("radiologist"))
    );
    assert_eq!(app.audit_rows("finding.dismiss").await[0].1, "denied");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn coordinators_see_only_their_sites(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let here = study(&pool, "DEMO-GH", "P-6", "F", "1961-01-01").await;
    let there = study(&pool, "DEMO-RC", "P-7", "M", "1962-01-01").await;
    let mine = finding(&pool, &here, "kidney", "RCC", 0.6, 0).await;
    let theirs = finding(&pool, &there, "kidney", "RCC", 0.9, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let admin = app.signed_in("admin").await;

    let (status, _) = get_json(&app, &coordinator, &format!("/api/v1/findings/{theirs}")).await;
    assert_eq!(status, 404);
    let (status, _) =
        post_event(&app, &coordinator, theirs, json!({"event": "start_review", "expected_version": 1})).await;
    assert_eq!(status, 404);
    let (_, list) = get_json(&app, &coordinator, "/api/v1/worklist").await;
    let ids: Vec<i64> = list["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_i64()).collect();
    assert_eq!(ids, [mine]);
    assert_eq!(list["total"], 1);
    let (_, list) = get_json(&app, &admin, "/api/v1/worklist").await;
    assert_eq!(list["total"], 2);
    let (status, body) = get_json(&app, &coordinator, "/api/v1/worklist?site=DEMO-RC").await;
    assert_eq!(status, 422, "{body}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_worklist_puts_overdue_then_highest_risk_first_and_filters(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let a = study(&pool, "DEMO-GH", "P-10", "F", "1950-06-01").await;
    let b = study(&pool, "DEMO-GH", "P-11", "M", "1985-06-01").await;
    // Detected 20 and 10 days ago: review (2 working days) long overdue.
    let very_overdue = finding(&pool, &a, "lung", "Cancer", 0.55, 20).await;
    let overdue = finding(&pool, &b, "liver", "HCC", 0.65, 10).await;
    let high = finding(&pool, &a, "colorectal", "CRC", 0.97, 0).await;
    let low = finding(&pool, &b, "stomach", "GC", 0.52, 0).await;
    let closed = finding(&pool, &b, "kidney", "RCC", 0.99, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let radiologist = app.signed_in("radiologist").await;
    step(&app, &radiologist, closed, json!({"event": "start_review"})).await;
    step(&app, &radiologist, closed, json!({"event": "dismiss", "reason": "duplicate"})).await;
    step(&app, &coordinator, high, json!({"event": "start_review"})).await;

    let ids = |list: &Value| -> Vec<i64> {
        list["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_i64()).collect()
    };
    let (_, list) = get_json(&app, &coordinator, "/api/v1/worklist").await;
    assert_eq!(ids(&list), [very_overdue, overdue, high, low]);
    assert_eq!(list["items"][0]["overdue"], true);
    assert_eq!(list["items"][2]["overdue"], false);
    let count =
        |status: &str| list["counts"].as_array().expect("counts").iter().find(|c| c["status"] == status).cloned();
    assert_eq!(count("new").map(|c| (c["total"].clone(), c["overdue"].clone())), Some((json!(3), json!(2))));
    assert_eq!(count("dismissed").map(|c| c["total"].clone()), Some(json!(1)));

    let cases = [
        ("quick=overdue", vec![very_overdue, overdue]),
        ("quick=mine", vec![high]),
        ("quick=unassigned", vec![very_overdue, overdue, low]),
        ("quick=week", vec![high, low]),
        ("organ=liver", vec![overdue]),
        ("status=closed", vec![closed]),
        ("status=dismissed", vec![closed]),
        ("sort=probability", vec![high, overdue, very_overdue, low]),
        ("sort=probability&dir=asc", vec![low, very_overdue, overdue, high]),
        ("min_probability=0.6", vec![overdue, high]),
        ("sex=M", vec![overdue, low]),
        ("age_min=60", vec![very_overdue, high]),
        ("age_max=50", vec![overdue, low]),
        ("assignee=coordinator", vec![high]),
        ("page=1", vec![]),
    ];
    for (query, expected) in cases {
        let (status, list) = get_json(&app, &coordinator, &format!("/api/v1/worklist?{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(ids(&list), expected, "{query}");
    }
    for bad in [
        "quick=later",
        "status=maybe",
        "organ=spleen",
        "sort=name",
        "min_probability=2",
        "age_min=x",
        "page=-1",
        "sex=X",
        "assignee=nobody",
    ] {
        let (status, body) = get_json(&app, &coordinator, &format!("/api/v1/worklist?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let (status, overdue_list) = get_json(&app, &coordinator, "/api/v1/followup/overdue").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&overdue_list), [very_overdue, overdue]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bulk_assignment_skips_findings_changed_since(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-12", "F", "1970-01-01").await;
    let first = finding(&pool, &uid, "lung", "Cancer", 0.8, 0).await;
    let second = finding(&pool, &uid, "breast", "BC", 0.7, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    step(&app, &coordinator, second, json!({"event": "add_note", "text": "changed meanwhile"})).await;
    let response = coordinator
        .post(app.url("/api/v1/worklist/assign"))
        .json(&json!({"items": [{"id": first, "expected_version": 1}, {"id": second, "expected_version": 1}], "assignee": "radiologist"}))
        .send()
        .await
        .expect("assign");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["assigned"], json!([first]));
    assert_eq!(body["refused"][0]["id"], second);
    let (_, detail) = get_json(&app, &coordinator, &format!("/api/v1/findings/{first}")).await;
    assert_eq!(detail["assignee"], "radiologist");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_page_forms_post_and_redirect_back(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-13", "M", "1958-01-01").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.9, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let form = |fields: &[(&str, &str)]| {
        coordinator.post(app.url(&format!("/findings/{id}/events"))).header("origin", app.origin()).form(fields).send()
    };
    let response = form(&[("event", "start_review"), ("expected_version", "1")]).await.expect("form");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/findings/{id}?done=start_review").as_str());
    let response = form(&[("event", "add_note"), ("expected_version", "1"), ("text", "late")]).await.expect("form");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with(&format!("/findings/{id}?error=stale&status=in_review&version=2")), "{location}");
    // The page words the refusal in the reader's language, with the state in its words.
    let page = |accept: &'static str| {
        let request = coordinator.get(app.url(&location)).header("accept-language", accept);
        async move { request.send().await.expect("page").text().await.expect("html") }
    };
    let notice = |html: String| {
        let after = html.split(r#"data-testid="error""#).nth(1).unwrap_or_default().to_owned();
        after.split("</p>").next().unwrap_or_default().replace("<!>", "")
    };
    let english = notice(page("en").await);
    assert!(
        english.contains("changed by someone else") && english.contains("In review") && english.contains("version 2"),
        "{english}"
    );
    let chinese = notice(page("zh-CN").await);
    assert!(chinese.contains("已被他人修改") && chinese.contains("审核中"), "{chinese}");

    // The page shows the finding with exactly the actions open to the coordinator.
    let html =
        coordinator.get(app.url(&format!("/findings/{id}"))).send().await.expect("page").text().await.expect("html");
    assert!(html.contains(r#"data-testid="action-order_workup""#));
    assert!(!html.contains(r#"data-testid="action-start_review""#));
    assert!(!html.contains(r#"data-testid="action-record_outcome""#));
    let worklist = coordinator
        .get(app.url("/worklist?organ=colorectal"))
        .send()
        .await
        .expect("worklist")
        .text()
        .await
        .expect("html");
    assert!(worklist.contains(&format!(r#"data-finding="{id}""#)), "the worklist page lists the finding");

    // The recall letter exists once a work-up is ordered.
    let letter = coordinator.get(app.url(&format!("/findings/{id}/letter"))).send().await.expect("letter");
    assert_eq!(letter.status(), 422);
    assert!(letter.text().await.expect("refusal").contains("none has been ordered for this finding yet"));
    let refusal = elysium_tests::get_text_in_chinese(&app, &coordinator, &format!("/findings/{id}/letter")).await;
    assert!(refusal.contains("此发现尚未安排检查") && refusal.contains(&format!("/findings/{id}")), "{refusal}");
    step(&app, &coordinator, id, json!({"event": "order_workup", "modality": "colonoscopy", "due_date": in_days(10)}))
        .await;
    let letter = coordinator.get(app.url(&format!("/findings/{id}/letter"))).send().await.expect("letter");
    assert_eq!(letter.status(), 200);
    let text = letter.text().await.expect("letter text");
    assert!(text.contains("Colonoscopy") && text.contains("TEST P-13"), "{text}");
    assert_eq!(app.audit_rows("finding.letter").await.len(), 1);

    // The letter is printed in the language chosen for the patient, not the reader's: an English
    // page, a Chinese letter.
    let choose = |language: &'static str| {
        coordinator
            .post(app.url(&format!("/findings/{id}/letter-language")))
            .header("origin", app.origin())
            .form(&[("language", language)])
            .send()
    };
    assert_eq!(choose("klingon").await.expect("post").status(), 422);
    let chosen = choose("zh-Hans").await.expect("post");
    assert_eq!(
        (chosen.status().as_u16(), chosen.headers()["location"].to_str().ok()),
        (303, Some(format!("/findings/{id}").as_str()))
    );
    let letter = coordinator
        .get(app.url(&format!("/findings/{id}/letter")))
        .header("accept-language", "en")
        .send()
        .await
        .expect("letter");
    let text = letter.text().await.expect("letter text");
    assert!(
        text.contains(r#"<html lang="zh-Hans">"#) && text.contains("结肠镜") && text.contains("复查通知书"),
        "{text}"
    );
    assert!(!text.contains("Dear"), "no English left in it");
    let (_, detail) = get_json(&app, &coordinator, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(detail["patient_letter_language"], "zh-Hans");
    let page = elysium_tests::get_text(&app, &coordinator, &format!("/findings/{id}")).await;
    let chosen = page.split(r#"data-testid="letter-language""#).nth(1).unwrap_or_default();
    assert!(chosen.starts_with(">简体中文") || chosen.contains(">简体中文<"), "the page says which: {chosen:.200}");
    let chose = app.audit_rows("patient.letter_language").await;
    assert_eq!((chose.len(), chose[0].2["language"].as_str()), (1, Some("zh-Hans")));
    // A surgeon reads the record but does not choose for the patient.
    let surgeon = app.signed_in("surgeon").await;
    let refused = surgeon
        .post(app.url(&format!("/findings/{id}/letter-language")))
        .header("origin", app.origin())
        .form(&[("language", "en")])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_history_cannot_be_rewritten(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-14", "F", "1966-01-01").await;
    let id = finding(&pool, &uid, "kidney", "RCC", 0.6, 0).await;
    drop(app);
    for statement in
        ["update finding_event set actor_username = 'x'", "delete from finding_event", "truncate finding_event cascade"]
    {
        let refused = sqlx::query(statement).execute(&pool).await;
        assert_eq!(
            elysium_tests::sqlstate(&refused).as_deref(),
            Some(elysium_tests::APPEND_ONLY),
            "{statement} must be refused"
        );
    }
    let events: i64 = sqlx::query_scalar("select count(*) from finding_event where finding_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(events, 1);
}

/// The worklist's assign form answers with codes the page words in the reader's language.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_assign_form_reports_in_the_readers_language(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-13", "F", "1970-01-01").await;
    let id = finding(&pool, &uid, "lung", "Cancer", 0.8, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let post = |fields: Vec<(&'static str, String)>| {
        let request = coordinator.post(app.url("/worklist/assign")).header("origin", app.origin()).form(&fields);
        async move { request.send().await.expect("assign") }
    };
    let none = post(vec![("assignee", "radiologist".into()), ("back", "organ=lung".into())]).await;
    assert_eq!(none.headers()["location"], "/worklist?organ=lung&error=nothing_selected");
    let done = post(vec![("item", format!("{id}:1")), ("assignee", "radiologist".into())]).await;
    assert_eq!(done.headers()["location"], "/worklist?count=1&notice=assigned");

    let english = elysium_tests::get_text(&app, &coordinator, "/worklist?count=1&notice=assigned").await;
    let notice =
        english.split("data-testid=\"notice\"").nth(1).unwrap_or_default().split("</p>").next().unwrap_or_default();
    assert!(
        notice.contains("Assigned") && notice.contains(">1<") && notice.contains("finding(s)."),
        "English: {notice}"
    );
    let chinese = elysium_tests::get_text_in_chinese(&app, &coordinator, "/worklist?error=nothing_selected").await;
    assert!(chinese.contains("请至少选择一个要分配的发现。"), "Chinese");
}

/// A refusal is worded in the reader's language: a form posted from a page in Chinese comes back
/// with the refusal in Chinese (the same rule's words, not a translation of the English text), one
/// from a page in English in English, and the REST API answers in English.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_refusal_comes_back_in_the_pages_language(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool, "DEMO-GH", "P-31", "F", "1960-01-01").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.9, 0).await;
    let page = format!("/findings/{id}");
    let yesterday = in_days(-1);
    let refusal_on_page_in = |accept_language: &'static str| {
        let (app, page, yesterday) = (&app, &page, &yesterday);
        async move {
            let reader = app.signed_in("coordinator").await;
            // The page sets its language's cookie, as a browser showing it holds.
            let shown =
                reader.get(app.url(page)).header("accept-language", accept_language).send().await.expect("page");
            assert_eq!(shown.status(), 200);
            let fields = [
                ("event", "order_workup"),
                ("expected_version", "2"),
                ("modality", "colonoscopy"),
                ("due_date", yesterday.as_str()),
            ];
            let posted = reader
                .post(app.url(&format!("{page}/events")))
                .header("origin", app.origin())
                .form(&fields)
                .send()
                .await
                .expect("form");
            assert_eq!(posted.status(), 303);
            let location = posted.headers()["location"].to_str().expect("location").to_owned();
            let url = reqwest::Url::parse(&app.url(&location)).expect("a URL");
            url.query_pairs().find(|(k, _)| k == "error").map(|(_, v)| v.into_owned()).unwrap_or_default()
        }
    };
    let coordinator = app.signed_in("coordinator").await;
    step(&app, &coordinator, id, json!({"event": "start_review"})).await;

    assert_eq!(refusal_on_page_in("zh-CN,zh;q=0.9").await, "due_date：截止日期已过");
    assert_eq!(refusal_on_page_in("en").await, "due_date: the due date is in the past");
    let (status, body) = post_event(
        &app,
        &coordinator,
        id,
        json!({"event": "order_workup", "modality": "colonoscopy", "due_date": yesterday, "expected_version": 2}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "due_date: the due date is in the past", "{body}");
}
