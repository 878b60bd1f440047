//! The audit trail: written for sign-ins and changes, and refused any change by the database.

use elysium_db::MIGRATOR;
use elysium_tests::{PASSWORD, TestApp};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_attempts_are_audited_with_outcome_and_address(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.client();
    app.login(&client, "admin", "not the password").await;
    app.login(&client, "ghost", "not the password").await;
    app.login(&client, "admin", PASSWORD).await;
    let rows = app.audit_rows("auth.login").await;
    let summary: Vec<(Option<&str>, &str)> =
        rows.iter().map(|(who, outcome, _)| (who.as_deref(), outcome.as_str())).collect();
    assert_eq!(summary, [(Some("admin"), "failure"), (Some("ghost"), "failure"), (Some("admin"), "success")]);
    let addr: Option<String> =
        sqlx::query_scalar("select client_addr from audit_event where action = 'auth.login' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("addr");
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    let leaked: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where detail::text like '%not the password%' or detail::text like $1",
    )
    .bind(format!("%{PASSWORD}%"))
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(leaked, 0, "passwords never reach the audit trail");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_database_refuses_to_alter_or_delete_audit_rows(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.login(&app.client(), "admin", PASSWORD).await;
    let before: i64 = sqlx::query_scalar("select count(*) from audit_event").fetch_one(&app.pool).await.expect("count");
    assert!(before > 0);
    for statement in ["update audit_event set outcome = 'success'", "delete from audit_event", "truncate audit_event"] {
        let error = sqlx::query(statement).execute(&app.pool).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    let after: i64 = sqlx::query_scalar("select count(*) from audit_event").fetch_one(&app.pool).await.expect("count");
    assert_eq!(before, after);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn demo_seeding_is_idempotent(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    elysium_server::demo::seed(&app.pool, &app.state().hasher, "another-demo-password").await.expect("reseed");
    let users = elysium_db::users::list(&app.pool).await.expect("users");
    assert_eq!(
        users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        ["admin", "coordinator", "coordinator-rc", "radiologist", "surgeon", "surgeon2"]
    );
    assert_eq!(users[2].site_codes, ["DEMO-RC"], "the clinic's coordinator works at the clinic only");
    assert_eq!(users[3].site_codes, ["DEMO-GH", "DEMO-RC"]);
    assert_eq!(app.login(&app.client(), "admin", "another-demo-password").await.status(), 200);
    assert_eq!(app.audit_rows("demo.seed").await.len(), 2);
}

/// Who looked at one patient, and when: `GET /api/v1/audit` for administrators, newest first,
/// filtered by patient, actor, action and time, itself audited.
#[sqlx::test(migrator = "MIGRATOR")]
async fn administrators_read_who_looked_at_a_patient(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // Three looks at two patients, written as the reads would write them (hand-made rows, so the
    // expected answer does not come from the code under test).
    sqlx::raw_sql(
        "insert into audit_event (occurred_at, actor_username, actor_roles, action, target_type, target_id, patient_id, outcome)
         values ('2026-12-01 09:00+00', 'coordinator', '{coordinator}', 'study.view', 'study', '1.2.1', 'MRN-1', 'success'),
                ('2026-12-02 10:00+00', 'radiologist', '{radiologist}', 'series.view', 'study', '1.2.1', 'MRN-1', 'success'),
                ('2026-12-02 11:00+00', 'coordinator', '{coordinator}', 'study.view', 'study', '1.2.2', 'MRN-2', 'success');",
    )
    .execute(&app.pool)
    .await
    .expect("rows");
    let admin = app.signed_in("admin").await;
    let get = |path: &str| {
        let request = admin.get(app.url(path));
        async move { request.send().await.expect("get") }
    };
    let body: serde_json::Value = get("/api/v1/audit?patient_id=MRN-1").await.json().await.expect("json");
    assert_eq!(body["total"], 2);
    let seen: Vec<(&str, &str, &str)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["occurred_at"].as_str().unwrap_or(""),
                i["actor"].as_str().unwrap_or(""),
                i["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("2026-12-02T10:00:00Z", "radiologist", "series.view"), ("2026-12-01T09:00:00Z", "coordinator", "study.view")],
        "newest first"
    );
    assert_eq!(body["items"][0]["target_id"], "1.2.1");
    assert_eq!(body["items"][0]["outcome"], "success");
    let by_actor: serde_json::Value =
        get("/api/v1/audit?actor=coordinator&action=study.view&from=2026-12-02").await.json().await.expect("json");
    assert_eq!(by_actor["total"], 1);
    assert_eq!(by_actor["items"][0]["patient_id"], "MRN-2");
    let until: serde_json::Value =
        get("/api/v1/audit?patient_id=MRN-1&to=2026-12-01").await.json().await.expect("json");
    assert_eq!(until["total"], 1, "`to` as a date includes that day");
    assert_eq!(get("/api/v1/audit?from=last-week").await.status(), 422);
    // Reading the trail about a patient is itself on the trail.
    let searches: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'audit.search' and actor_username = 'admin'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(searches, 3);
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(coordinator.get(app.url("/api/v1/audit")).send().await.expect("get").status(), 403);
}

/// Events for the search and export tests, hand-made so the expected answers do not come from
/// the code under test: two patients, targets of two types, all three outcomes.
async fn seed_events(app: &TestApp) {
    sqlx::raw_sql(
        r#"insert into audit_event (occurred_at, actor_username, actor_roles, action, target_type, target_id, patient_id, client_addr, outcome, detail)
           values ('2026-12-01 09:00+00', 'coordinator', '{coordinator}', 'finding.view', 'finding', '42', 'MRN-1', '10.0.0.1', 'success', '{}'),
                  ('2026-12-01 10:00+00', 'coordinator', '{coordinator}', 'finding.review', 'finding', '42', 'MRN-1', '10.0.0.1', 'failure', '{"reason": "stale, try again", "version": 3}'),
                  ('2026-12-01 11:00+00', 'surgeon', '{surgeon}', 'finding.view', 'finding', '43', 'MRN-2', '10.0.0.2', 'denied', '{"path": "/findings/43"}'),
                  ('2026-12-01 12:00+00', 'radiologist', '{radiologist,admin}', 'series.view', 'study', '1.2.1', 'MRN-1', '10.0.0.3', 'success', '{"series_uid": "1.2.1.9", "nested": {"a": [1, 2]}}');"#,
    )
    .execute(&app.pool)
    .await
    .expect("rows");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_search_filters_by_target_and_outcome_and_refuses_unknown_parameters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    seed_events(&app).await;
    let admin = app.signed_in("admin").await;
    let get = |path: &str| {
        let request = admin.get(app.url(path));
        async move { request.send().await.expect("get") }
    };
    let search = |query: &'static str| {
        let get = &get;
        async move {
            let response = get(&format!("/api/v1/audit?{query}")).await;
            assert_eq!(response.status(), 200, "{query}");
            response.json::<serde_json::Value>().await.expect("json")
        }
    };
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["target_id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let findings = search("target_type=finding").await;
    assert_eq!((findings["total"].as_i64(), ids(&findings)), (Some(3), vec!["43".into(), "42".into(), "42".into()]));
    let one = search("target_type=finding&target_id=42").await;
    assert_eq!(one["total"], 2);
    assert_eq!(search("target_id=1.2.1").await["total"], 1, "an ID alone matches any type");
    let denied = search("outcome=denied").await;
    assert_eq!((denied["total"].as_i64(), ids(&denied)), (Some(1), vec!["43".into()]));
    assert_eq!(search("outcome=failure&patient_id=MRN-1").await["total"], 1);
    let several = search("action=finding.view,%20series.view&patient_id=MRN-1").await;
    assert_eq!(several["total"], 2, "several actions, separated by commas");
    // The items carry everything the page shows.
    let series = search("action=series.view").await;
    let item = &series["items"][0];
    assert_eq!(item["roles"], serde_json::json!(["radiologist", "admin"]));
    assert_eq!(item["client_addr"], "10.0.0.3");
    assert_eq!(item["detail"]["nested"]["a"][1], 2);
    assert!(item["id"].as_i64().is_some());

    for (query, field) in [("outcome=ok", "outcome"), ("target=finding", "target"), ("page=x", "page")] {
        let response = get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body: serde_json::Value = response.json().await.expect("json");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{query}: {message}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_search_pages_fifty_at_a_time_with_the_total(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    sqlx::raw_sql(
        "insert into audit_event (occurred_at, actor_username, action, patient_id, outcome)
         select timestamptz '2026-12-01 00:00+00' + n * interval '1 minute', 'coordinator', 'study.view', 'MRN-P', 'success'
         from generate_series(1, 120) as n",
    )
    .execute(&app.pool)
    .await
    .expect("rows");
    let admin = app.signed_in("admin").await;
    let mut seen = Vec::new();
    for page in 0..4 {
        // By action too: each search of the patient's trail is on it (`audit.search`).
        let path = format!("/api/v1/audit?patient_id=MRN-P&action=study.view&page={page}");
        let body = elysium_tests::get_json(&app, &admin, &path).await;
        assert_eq!(
            (body["total"].as_i64(), body["page"].as_i64(), body["page_size"].as_i64()),
            (Some(120), Some(page), Some(50))
        );
        let items = body["items"].as_array().expect("items");
        assert_eq!(items.len(), [50, 50, 20, 0][page as usize], "page {page}");
        seen.extend(items.iter().map(|i| i["id"].as_i64().expect("id")));
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (120, 120), "every event once across the pages");
}

/// One CSV line split into its fields (RFC 4180 quoting: `""` inside quotes is one `"`).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_csv_export_holds_every_matching_event_and_is_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    seed_events(&app).await;
    sqlx::raw_sql(
        "insert into audit_event (occurred_at, actor_username, action, patient_id, outcome, detail)
         select timestamptz '2026-11-01 00:00+00' + n * interval '1 minute', 'coordinator', 'study.view', 'MRN-1', 'success',
                jsonb_build_object('n', n, 'note', 'a, \"quoted\" note')
         from generate_series(1, 70) as n",
    )
    .execute(&app.pool)
    .await
    .expect("rows");
    let admin = app.signed_in("admin").await;
    // The reads and the review, not the administrator's own searches of this patient's trail.
    let filter = "patient_id=MRN-1&action=study.view,series.view,finding.view,finding.review";
    let json = elysium_tests::get_json(&app, &admin, &format!("/api/v1/audit?{filter}")).await;
    assert_eq!(json["total"], 73);

    let response = admin.get(app.url(&format!("/api/v1/audit.csv?{filter}"))).send().await.expect("csv");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/csv"));
    assert_eq!(response.headers()["x-total-count"], "73");
    let body = response.text().await.expect("body");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "id,occurred_at,actor,roles,action,target_type,target_id,patient_id,client_addr,outcome,detail"
    );
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| csv_fields(l)).collect();
    assert_eq!(rows.len() as i64, json["total"].as_i64().expect("total"), "every page, not one");
    assert!(rows.iter().all(|r| r.len() == 11 && r[7] == "MRN-1"));
    let details: Vec<serde_json::Value> =
        rows.iter().map(|r| serde_json::from_str(&r[10]).unwrap_or_else(|e| panic!("{}: {e}", r[10]))).collect();
    assert_eq!(rows[0][1], "2026-12-01T12:00:00Z", "newest first, RFC 3339");
    assert_eq!((rows[0][3].as_str(), rows[0][8].as_str()), ("radiologist;admin", "10.0.0.3"));
    assert_eq!(details[0]["nested"]["a"], serde_json::json!([1, 2]));
    assert_eq!(details[1]["reason"], "stale, try again");
    assert_eq!(details[3]["note"], "a, \"quoted\" note");

    // The export is on the trail, with its filter and size, and on the patient's trail.
    let exports: Vec<(Option<String>, Option<String>, serde_json::Value)> =
        sqlx::query_as("select actor_username, patient_id, detail from audit_event where action = 'audit.export'")
            .fetch_all(&app.pool)
            .await
            .expect("exports");
    assert_eq!(exports.len(), 1);
    let (actor, patient, detail) = &exports[0];
    assert_eq!((actor.as_deref(), patient.as_deref()), (Some("admin"), Some("MRN-1")));
    assert_eq!(detail["rows"], 73);
    assert_eq!(detail["query"]["action"], "study.view,series.view,finding.view,finding.review");

    let refused = admin.get(app.url("/api/v1/audit.csv?page=1")).send().await.expect("page");
    assert_eq!(refused.status(), 422, "the export holds every page");
    let coordinator = app.signed_in("coordinator").await;
    let forbidden = coordinator.get(app.url("/api/v1/audit.csv")).send().await.expect("coordinator");
    assert_eq!(forbidden.status(), 403);
    let stranger = app.client().get(app.url("/api/v1/audit.csv")).send().await.expect("stranger");
    assert_eq!(stranger.status(), 401);
    assert_eq!(elysium_tests::error_code(stranger).await, "unauthorized");
    assert_eq!(app.audit_rows("audit.export").await.len(), 1, "refused exports read nothing");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_csv_export_is_in_chinese_with_lang(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    seed_events(&app).await;
    let admin = app.signed_in("admin").await;
    // The seeded events only: not the administrator's own exports, which each download adds.
    let filter = "action=finding.view,finding.review,series.view";
    let export = |lang: &str| {
        let request = admin.get(app.url(&format!("/api/v1/audit.csv?{filter}{lang}")));
        async move {
            let response = request.send().await.expect("csv");
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["x-total-count"], "4");
            response.text().await.expect("body")
        }
    };
    let english = export("").await;
    assert_eq!(export("&lang=en").await, english, "English is the file without `lang`");
    assert!(english.starts_with("id,occurred_at,"), "no byte order mark in English");

    let chinese = export("&lang=zh-Hans").await;
    let chinese = chinese.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("no byte order mark: {chinese}"));
    let lines: Vec<&str> = chinese.lines().collect();
    // The audit page's words (app/locales/zh-Hans/admin.json).
    let header = csv_fields(lines[0]);
    assert_eq!((header[1].as_str(), header[2].as_str(), header[4].as_str()), ("时间", "操作者", "操作"));
    assert_eq!((header[7].as_str(), header[9].as_str(), header[10].as_str()), ("患者 ID", "结果", "详情"));
    assert_eq!(lines[1..], english.lines().skip(1).collect::<Vec<_>>(), "the events as recorded, codes and all");
    assert_eq!(lines.len(), 5);

    let refused = admin.get(app.url(&format!("/api/v1/audit.csv?{filter}&lang=fr"))).send().await.expect("fr");
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("lang"), "{body}");
    assert_eq!(app.audit_rows("audit.export").await.len(), 3, "the refused export read nothing");
}

/// A Chinese value (a name in both scripts, a reason with a comma and quotes) comes back from the
/// Chinese export byte for byte, as an independent CSV reader (the `csv` crate) reads the file.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chinese_value_survives_the_csv_export(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let reason = "患者要求改期，\"下周再约\", 王小明 (Wang^XiaoMing=王^小明)";
    sqlx::query(
        "insert into audit_event (occurred_at, actor_username, action, patient_id, outcome, detail)
         values (now(), 'coordinator', 'finding.review', '病历-7', 'success', jsonb_build_object('reason', $1::text))",
    )
    .bind(reason)
    .execute(&app.pool)
    .await
    .expect("event");
    let admin = app.signed_in("admin").await;
    let response =
        admin.get(app.url("/api/v1/audit.csv?action=finding.review&lang=zh-Hans")).send().await.expect("csv");
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).expect("the byte order mark Excel needs");
    let mut reader = csv::Reader::from_reader(body);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("well-formed CSV");
    let row = rows.iter().find(|r| r.get(7) == Some("病历-7")).expect("the event, its patient ID intact");
    let detail: serde_json::Value = serde_json::from_str(row.get(10).expect("detail")).expect("JSON detail");
    assert_eq!(detail["reason"], reason);
}
