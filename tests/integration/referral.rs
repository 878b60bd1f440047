//! Cross-site referral over REST: the network an administrator configures, a finding referred
//! from a community clinic to the provincial hospital, accepted, withdrawn, referred again and
//! declined; every refusal changes nothing, each end sees what it should, every write is audited.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, finding, get, post};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

/// A stored study at `site` of the patient `patient_id` (created with its first study; index
/// rows only: referral reads no images). Shared by the referral suites.
pub(crate) async fn study_at(pool: &PgPool, site: &str, patient_id: &str) -> String {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "insert into patient (patient_id, assigning_authority, name, sex, birth_date)
         values ($1, $2, 'ZHOU^LAN', 'F', '1959-11-20') on conflict do nothing",
    )
    .bind(patient_id)
    .bind(site)
    .execute(pool)
    .await
    .expect("patient");
    sqlx::query(
        "insert into study (study_uid, patient_ref, site_id, study_date)
         select $2, (select id from patient where patient_id = $1 and assigning_authority = $3),
                (select id from site where code = $3), current_date - 2",
    )
    .bind(patient_id)
    .bind(&uid)
    .bind(site)
    .execute(pool)
    .await
    .expect("study");
    uid
}

/// The demo's two sites in the network: the clinic (DEMO-RC, community) refers to the hospital
/// (DEMO-GH, provincial), whose coordinator is the demo's `coordinator`. Returns the clinic's
/// coordinator `username`, created here and signed in.
pub(crate) async fn clinic_and_hospital(app: &TestApp, username: &str) -> Client {
    let admin = app.signed_in("admin").await;
    for (site, level) in [("DEMO-RC", "community"), ("DEMO-GH", "provincial")] {
        let (status, body) =
            post(app, &admin, "/api/v1/admin/network/levels", &json!({"site": site, "level": level})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) =
        post(app, &admin, "/api/v1/admin/network/routes", &json!({"from": "DEMO-RC", "to": "DEMO-GH"})).await;
    assert_eq!(status, 200, "{body}");
    coordinator_of(app, &admin, username, "DEMO-RC").await
}

/// A coordinator of `site` only, created by the administrator and signed in.
pub(crate) async fn coordinator_of(app: &TestApp, admin: &Client, username: &str, site: &str) -> Client {
    user_of(app, admin, username, &["coordinator"], site).await
}

/// A user of `site` with `roles`, created by the administrator and signed in.
pub(crate) async fn user_of(app: &TestApp, admin: &Client, username: &str, roles: &[&str], site: &str) -> Client {
    let (status, created) = post(
        app,
        admin,
        "/api/v1/admin/users",
        &json!({"username": username, "display_name": username, "roles": roles, "sites": [site], "must_change_password": false}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let client = app.client();
    let password = created["temporary_password"].as_str().expect("a password");
    assert_eq!(app.login(&client, username, password).await.status(), 200);
    client
}

async fn referrals_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from referral").fetch_one(pool).await.expect("count")
}

fn field_of(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().split(':').next().unwrap_or_default().to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_finding_goes_from_the_clinic_to_the_hospital_and_back(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let admin = app.signed_in("admin").await;
    let clinic = coordinator_of(&app, &admin, "rc.coordinator", "DEMO-RC").await;
    // The demo coordinator works at DEMO-GH: the receiving end.
    let hospital = app.signed_in("coordinator").await;
    let uid = study_at(&pool, "DEMO-RC", "RC-1").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.91, 0).await;
    let refer = |client: &Client, body: Value| {
        let (app, client) = (&app, client.clone());
        async move { post(app, &client, &format!("/api/v1/findings/{id}/referrals"), &body).await }
    };
    let to_hospital = json!({"to_site": "DEMO-GH", "reason": "Work-up at the provincial hospital", "requested_workup": "colonoscopy"});

    // Neither site is in the network yet, and no route is open.
    let (status, body) = refer(&clinic, to_hospital.clone()).await;
    assert_eq!((status, field_of(&body)), (422, "finding".to_owned()), "{body}");
    for (site, level) in [("DEMO-RC", "community"), ("DEMO-GH", "provincial")] {
        let (status, body) =
            post(&app, &admin, "/api/v1/admin/network/levels", &json!({"site": site, "level": level})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = refer(&clinic, to_hospital.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("to_site: no referral route from DEMO-RC to DEMO-GH"),
        "{body}"
    );
    let (status, network) =
        post(&app, &admin, "/api/v1/admin/network/routes", &json!({"from": "DEMO-RC", "to": "DEMO-GH"})).await;
    assert_eq!(status, 200, "{network}");
    assert_eq!(network["routes"], json!([{"from": "DEMO-RC", "to": "DEMO-GH"}]));
    let levels: Vec<(String, Value)> = network["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .map(|s| (s["code"].as_str().unwrap_or_default().to_owned(), s["level"].clone()))
        .collect();
    assert_eq!(levels, [("DEMO-GH".to_owned(), json!("provincial")), ("DEMO-RC".to_owned(), json!("community"))]);
    assert_eq!(get(&app, &hospital, "/api/v1/admin/network").await.0, 403, "administrators configure it");

    // What a referral may not be: each refused, nothing written.
    let refused: [(Value, u16, &str); 4] = [
        (json!({"to_site": "DEMO-RC", "reason": "x", "requested_workup": "colonoscopy"}), 422, "to_site"),
        (json!({"to_site": "NOPE", "reason": "x", "requested_workup": "colonoscopy"}), 422, "to_site"),
        (json!({"to_site": "DEMO-GH", "reason": "  ", "requested_workup": "colonoscopy"}), 422, "reason"),
        (json!({"to_site": "DEMO-GH", "reason": "x", "requested_workup": "endoscopy"}), 422, "requested_workup"),
    ];
    for (body, expected, field) in refused {
        let (status, answer) = refer(&clinic, body.clone()).await;
        assert_eq!((status, field_of(&answer)), (expected, field.to_owned()), "{body} -> {answer}");
    }
    // Another site's coordinator does not see the finding; a radiologist may not refer.
    assert_eq!(refer(&hospital, to_hospital.clone()).await.0, 404);
    let radiologist = app.signed_in("radiologist").await;
    assert_eq!(refer(&radiologist, to_hospital.clone()).await.0, 403);
    assert_eq!(referrals_count(&pool).await, 0);

    // Referred: the clinic may withdraw it, the hospital accept or decline it.
    let (status, referral) = refer(&clinic, to_hospital.clone()).await;
    assert_eq!(status, 201, "{referral}");
    assert_eq!(
        (&referral["status"], &referral["from_site"], &referral["to_site"], &referral["version"]),
        (&json!("requested"), &json!("DEMO-RC"), &json!("DEMO-GH"), &json!(1))
    );
    assert_eq!(referral["actions"], json!(["withdraw"]));
    let rid = referral["id"].as_i64().expect("id");
    let (status, again) = refer(&clinic, to_hospital.clone()).await;
    assert_eq!(status, 409, "one active referral per finding: {again}");

    let (_, incoming) = get(&app, &hospital, "/api/v1/referrals?direction=incoming").await;
    assert_eq!(incoming["total"], 1, "{incoming}");
    assert_eq!(incoming["items"][0]["actions"], json!(["accept", "decline"]));
    assert_eq!(incoming["items"][0]["patient_id"], "RC-1");
    assert_eq!(get(&app, &clinic, "/api/v1/referrals?direction=incoming").await.1["total"], 0);
    assert_eq!(get(&app, &clinic, "/api/v1/referrals?direction=outgoing").await.1["total"], 1);
    assert_eq!(get(&app, &hospital, "/api/v1/referrals?direction=sideways").await.0, 422);
    assert_eq!(get(&app, &hospital, "/api/v1/referrals?status=lost").await.0, 422);

    let event = |client: &Client, body: Value| {
        let (app, client) = (&app, client.clone());
        async move { post(app, &client, &format!("/api/v1/referrals/{rid}/events"), &body).await }
    };
    assert_eq!(
        event(&clinic, json!({"event": "accept", "expected_version": 1})).await.0,
        403,
        "the sender does not accept"
    );
    assert_eq!(event(&hospital, json!({"event": "accept", "expected_version": 7})).await.0, 409, "a stale version");
    assert_eq!(event(&hospital, json!({"event": "accept"})).await.0, 422, "the version is required");
    assert_eq!(event(&hospital, json!({"event": "transfer", "expected_version": 1})).await.0, 422);
    let (status, accepted) =
        event(&hospital, json!({"event": "accept", "expected_version": 1, "note": "Colonoscopy list on Monday"})).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!((&accepted["status"], &accepted["version"]), (&json!("accepted"), &json!(2)));
    assert_eq!(accepted["decision_note"], "Colonoscopy list on Monday");
    let (status, body) = event(&hospital, json!({"event": "decline", "expected_version": 2, "reason": "x"})).await;
    assert_eq!(status, 422, "declined only while requested: {body}");

    // Withdrawn by the clinic (the patient chose another hospital); then referred again and
    // declined with a reason, which returns it to the clinic.
    assert_eq!(event(&clinic, json!({"event": "withdraw", "expected_version": 2, "reason": ""})).await.0, 422);
    let (status, withdrawn) = event(
        &clinic,
        json!({"event": "withdraw", "expected_version": 2, "reason": "The patient chose another hospital"}),
    )
    .await;
    assert_eq!((status, withdrawn["status"].clone()), (200, json!("withdrawn")), "{withdrawn}");
    let (status, second) = refer(&clinic, to_hospital).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["id"].as_i64().expect("id");
    let (status, declined) = post(
        &app,
        &hospital,
        &format!("/api/v1/referrals/{second_id}/events"),
        &json!({"event": "decline", "expected_version": 1, "reason": "No colonoscopy capacity this month"}),
    )
    .await;
    assert_eq!((status, declined["status"].clone()), (200, json!("declined")), "{declined}");
    let (_, returned) = get(&app, &clinic, "/api/v1/referrals?direction=outgoing&status=declined").await;
    assert_eq!(returned["total"], 1);
    assert_eq!(returned["items"][0]["decision_note"], "No colonoscopy capacity this month");

    // Every write audited once, under its referral and patient.
    for (action, count) in
        [("referral.request", 2), ("referral.accept", 1), ("referral.withdraw", 1), ("referral.decline", 1)]
    {
        let rows = app.audit_rows(action).await;
        assert_eq!(rows.len(), count, "{action}: {rows:?}");
    }
    assert_eq!(app.audit_rows("referral.list").await.len(), 4, "each list read (the refused ones are not)");
    assert_eq!(app.audit_rows("network.level").await.len(), 2);
    assert_eq!(app.audit_rows("network.route_open").await.len(), 1);
    let events: i64 = sqlx::query_scalar("select count(*) from referral_event").fetch_one(&pool).await.expect("events");
    assert_eq!(events, 5, "two requests, an acceptance, a withdrawal, a refusal");
}

/// Two coordinators referring the same finding at the same moment: one referral, one conflict.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_database_keeps_one_active_referral_per_finding(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study_at(&pool, "DEMO-RC", "RC-2").await;
    let id = finding(&pool, &uid, "lung", "Cancer", 0.9, 0).await;
    let (rc, gh) = (app.site_id("DEMO-RC").await, app.site_id("DEMO-GH").await);
    let insert = |reason: &'static str| {
        sqlx::query(
            "insert into referral (finding_id, from_site_id, to_site_id, reason, requested_workup) values ($1, $2, $3, $4, 'biopsy')",
        )
        .bind(id)
        .bind(rc)
        .bind(gh)
        .bind(reason)
        .execute(&pool)
    };
    insert("first").await.expect("the first");
    let second = insert("second").await;
    assert_eq!(elysium_tests::sqlstate(&second).as_deref(), Some("23505"), "a unique violation");
    sqlx::query("update referral set status = 'declined'").execute(&pool).await.expect("declined");
    insert("after the first was declined").await.expect("a new one once the first is over");
    let same_site = sqlx::query(
        "insert into referral (finding_id, from_site_id, to_site_id, reason, requested_workup) values ($1, $2, $2, 'x', 'biopsy')",
    )
    .bind(id)
    .bind(rc)
    .execute(&pool)
    .await;
    assert_eq!(elysium_tests::sqlstate(&same_site).as_deref(), Some("23514"), "a check violation");
}

/// Each referral as `(status, outcome)`, sorted: what a list shows of where its referrals stand.
fn states_of(list: &Value) -> Vec<(String, Option<String>)> {
    let mut states: Vec<_> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| (r["status"].as_str().unwrap_or_default().to_owned(), r["outcome"].as_str().map(str::to_owned)))
        .collect();
    states.sort();
    states
}

/// What the demo's referral network wrote: referrals, their events, findings, studies, audit.
async fn referral_rows(pool: &PgPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["referral", "referral_event", "finding", "finding_event", "study", "audit_event"] {
        let count: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(pool).await.expect("count");
        counts.push(count);
    }
    counts
}

/// The demo's referral network (`demo::referral`): the clinic a community site referring to the
/// provincial hospital, a referral in every state for the hospital's coordinator to see, the
/// outcome reported back to the clinic's, and a second seeding adds nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_demo_seeds_a_referral_in_every_state_once(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = tempfile::tempdir().expect("dir");
    let state = app.state();
    let levels = app::domain::followup::ServiceLevels::default();
    let seed = || elysium_tests::demo::referral::seed(&pool, &state.ingestor, data.path(), &levels);
    seed().await.expect("demo referrals");

    let admin = app.signed_in("admin").await;
    let (status, network) = get(&app, &admin, "/api/v1/admin/network").await;
    assert_eq!(status, 200, "{network}");
    assert_eq!(network["routes"], json!([{"from": "DEMO-RC", "to": "DEMO-GH"}]));
    let level_of = |code: &str| {
        network["sites"].as_array().expect("sites").iter().find(|s| s["code"] == code).map(|s| s["level"].clone())
    };
    assert_eq!(level_of("DEMO-RC"), Some(json!("community")));
    assert_eq!(level_of("DEMO-GH"), Some(json!("provincial")));

    let hospital = app.signed_in("coordinator").await;
    let (status, incoming) = get(&app, &hospital, "/api/v1/referrals?direction=incoming").await;
    assert_eq!(status, 200, "{incoming}");
    let state_of = |status: &str, outcome: Option<&str>| (status.to_owned(), outcome.map(str::to_owned));
    let expected = vec![
        state_of("accepted", None),
        state_of("accepted", Some("confirmed_malignant")),
        state_of("declined", None),
        state_of("requested", None),
        state_of("requested", None),
        state_of("withdrawn", None),
    ];
    assert_eq!(states_of(&incoming), expected, "{incoming}");
    assert_eq!(incoming["total"], 6);
    for referral in incoming["items"].as_array().expect("items") {
        assert_eq!((&referral["from_site"], &referral["to_site"]), (&json!("DEMO-RC"), &json!("DEMO-GH")));
        assert_eq!(referral["created_by"], "Li Na 李娜", "the clinic's coordinator sent it");
        let actions = if referral["status"] == "requested" { json!(["accept", "decline"]) } else { json!([]) };
        assert_eq!(referral["actions"], actions, "{referral}");
        if ["declined", "withdrawn"].contains(&referral["status"].as_str().unwrap_or_default()) {
            assert!(referral["decision_note"].as_str().is_some_and(|n| !n.is_empty()), "with its reason: {referral}");
        }
    }
    let reported = incoming["items"].as_array().expect("items").iter().find(|r| !r["outcome"].is_null()).expect("one");
    assert_eq!(
        (&reported["patient_id"], &reported["finding_status"]),
        (&json!("RC-3104"), &json!("confirmed_malignant"))
    );
    let in_workup = incoming["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["status"] == "accepted" && r["outcome"].is_null())
        .expect("one");
    assert_eq!(in_workup["finding_status"], "workup_scheduled", "the hospital has booked the work-up");

    // The clinic's coordinator sees the same referrals going out, and the outcome among them.
    let clinic = app.signed_in("coordinator-rc").await;
    let (_, outgoing) = get(&app, &clinic, "/api/v1/referrals?direction=outgoing").await;
    assert_eq!(states_of(&outgoing), expected, "{outgoing}");
    assert_eq!(get(&app, &clinic, "/api/v1/referrals?direction=incoming").await.1["total"], 0);
    assert_eq!(app.audit_rows("referral.outcome").await.len(), 1);

    // A second seeding (the next start of the demo) writes nothing.
    let before = referral_rows(&pool).await;
    seed().await.expect("demo referrals again");
    assert_eq!(referral_rows(&pool).await, before, "referrals, events, findings, histories, studies, audit");
}

/// The list's filters by site, by the day a referral was made (both ends inclusive) and by
/// whether an outcome was reported, as the programme's referral flows link to them; a malformed
/// value is refused naming its field, an empty one is no filter.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_list_filters_by_sites_period_and_outcome(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let admin = app.signed_in("admin").await;
    let (rc, gh) = (app.site_id("DEMO-RC").await, app.site_id("DEMO-GH").await);
    // Made 20, 10 and 0 days ago (UTC days): from the clinic to the hospital, the first accepted
    // with an outcome; the last the other way.
    let mut made = Vec::new();
    for (n, (from, to, days_ago, status, outcome)) in
        [(rc, gh, 20, "accepted", Some("benign")), (rc, gh, 10, "declined", None), (gh, rc, 0, "requested", None)]
            .into_iter()
            .enumerate()
    {
        let site = if from == rc { "DEMO-RC" } else { "DEMO-GH" };
        let uid = study_at(&pool, site, &format!("LF-{n}")).await;
        let id = finding(&pool, &uid, "lung", "Cancer", 0.9, 0).await;
        let at: time::OffsetDateTime = sqlx::query_scalar(
            "insert into referral (finding_id, from_site_id, to_site_id, status, reason, requested_workup, created_at, outcome)
             values ($1, $2, $3, $4, 'x', 'biopsy', now() - make_interval(days => $5), $6) returning created_at",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(status)
        .bind(days_ago)
        .bind(outcome)
        .fetch_one(&pool)
        .await
        .expect("referral");
        made.push(at.date());
    }
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let total = |query: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let (status, list) = get(app, admin, &format!("/api/v1/referrals?direction=outgoing&{query}")).await;
            assert_eq!(status, 200, "{query}: {list}");
            list["total"].as_i64().expect("total")
        }
    };
    for (query, expected) in [
        (String::new(), 3),
        ("from_site=DEMO-RC".to_owned(), 2),
        ("from_site=DEMO-RC&to_site=DEMO-GH&status=accepted".to_owned(), 1),
        ("to_site=DEMO-RC".to_owned(), 1),
        (format!("created_from={}", day(made[1])), 2),
        (format!("created_to={}", day(made[1])), 2),
        (format!("created_from={0}&created_to={0}", day(made[0])), 1),
        (format!("created_from={}&created_to={}", day(made[0]), day(made[1])), 2),
        ("outcome=reported".to_owned(), 1),
        ("outcome=none".to_owned(), 2),
        ("from_site=&to_site=&created_from=&created_to=&outcome=".to_owned(), 3),
    ] {
        assert_eq!(total(query.clone()).await, expected, "{query}");
    }
    for (query, field) in [
        ("created_from=yesterday", "created_from"),
        ("created_to=2026-02-30", "created_to"),
        ("created_from=2026-05-02&created_to=2026-05-01", "created_to"),
        ("from_site=NOPE", "from_site"),
        ("to_site=demo-gh", "to_site"),
        ("outcome=maybe", "outcome"),
    ] {
        let (status, body) = get(&app, &admin, &format!("/api/v1/referrals?{query}")).await;
        assert_eq!((status, field_of(&body)), (422, field.to_owned()), "{query}: {body}");
    }
    assert_eq!(get(&app, &admin, "/api/v1/referrals?site=DEMO-RC").await.0, 400, "an unknown parameter");
}
