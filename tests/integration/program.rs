//! The programme table against a generated programme whose every figure is counted by hand:
//! series screened, eligible and skipped (by reason, latest job only, failed jobs and other
//! periods left out), the positives of one cancer in every state the follow-up can leave them in
//! (a reopened one included), a cancer with no positives and one with all pending; each figure
//! reconciles with its record list; the filters, the CSV, bad input and who may see it.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

const ALL_ORGANS: &[&str] = &["lung", "breast", "esophagus", "stomach", "colorectal", "liver", "pancreas", "kidney"];

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn get(app: &TestApp, client: &Client, path: &str) -> (u16, Value) {
    let response = client.get(app.url(path)).send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A patient's study at `site` on `date` (index rows only). Returns (study id, study uid).
async fn study(pool: &PgPool, site: &str, patient_id: &str, date: Date) -> (Uuid, String) {
    let uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let id: Uuid = sqlx::query_scalar(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, $3, 'TEST^PROGRAMME', 'F', '1958-04-01')
                    on conflict (assigning_authority, patient_id) do update set name = excluded.name returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $2, p.id, (select id from site where code = $3), $4 from p returning id",
    )
    .bind(patient_id)
    .bind(&uid)
    .bind(site)
    .bind(date)
    .fetch_one(pool)
    .await
    .expect("study");
    (id, uid)
}

/// How one screening job of a series ended.
enum Job {
    /// Screened by `version`, its result covering `organs`.
    Done(&'static str, &'static [&'static str]),
    /// Skipped, with these codes (`None`: recorded before codes were kept).
    Skipped(Option<&'static [&'static str]>),
    Failed,
}

/// A series of `patient` at `site` scanned on `date`, with its jobs in the order they finished.
/// Returns its UID.
async fn series(pool: &PgPool, site: &str, patient: &str, date: Date, jobs: &[Job]) -> String {
    let (study_id, _) = study(pool, site, patient, date).await;
    let uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let series_id: Uuid =
        sqlx::query_scalar("insert into series (series_uid, study_ref, modality) values ($1, $2, 'CT') returning id")
            .bind(&uid)
            .bind(study_id)
            .fetch_one(pool)
            .await
            .expect("series");
    for (i, job) in jobs.iter().enumerate() {
        let (status, version, codes) = match job {
            Job::Done(version, _) => ("done", *version, None),
            Job::Skipped(codes) => ("skipped", "0.1.0", codes.map(|c| c.iter().map(|s| s.to_string()).collect())),
            Job::Failed => ("failed", "0.1.0", None),
        };
        let job_id: i64 = sqlx::query_scalar(
            "insert into screening_job (series_ref, model_name, model_version, status, max_attempts, reason,
                                        skip_codes, finished_at)
             values ($1, 'reference-screening', $2, $3, 1, 'rerun', $4, now() - make_interval(mins => $5))
             returning id",
        )
        .bind(series_id)
        .bind(version)
        .bind(status)
        .bind(codes as Option<Vec<String>>)
        .bind(100 - i as i32)
        .fetch_one(pool)
        .await
        .expect("job");
        if let Job::Done(version, organs) = job {
            let probabilities: serde_json::Map<String, Value> =
                organs.iter().map(|o| ((*o).to_owned(), json!({ "x": 0.01 }))).collect();
            sqlx::query(
                "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                               execution_provider, device, result, timings_ms)
                 values ($1, $2, $3, 'reference-screening', $4, 'sha', 'cpu', 'test', $5, '{}')",
            )
            .bind(job_id)
            .bind(series_id)
            .bind(study_id)
            .bind(*version)
            .bind(json!({ "tumor_probabilities": probabilities }))
            .execute(pool)
            .await
            .expect("result");
        }
    }
    uid
}

/// An AI-positive finding of `organ` on a new study of its own, scanned on `date`, detected
/// `detected_days_ago`.
async fn positive(pool: &PgPool, site: &str, patient: &str, organ: &str, date: Date, detected_days_ago: i64) -> i64 {
    let (_, uid) = study(pool, site, patient, date).await;
    elysium_tests::finding(pool, &uid, organ, "X", 0.9, detected_days_ago).await
}

/// Takes a finding through `events` as `client` (each with the version it saw).
async fn drive(app: &TestApp, client: &Client, id: i64, events: &[Value]) {
    for event in events {
        let (_, current) = get(app, client, &format!("/api/v1/findings/{id}")).await;
        let mut event = event.clone();
        event["expected_version"] = current["version"].clone();
        let response =
            client.post(app.url(&format!("/api/v1/findings/{id}/events"))).json(&event).send().await.expect("event");
        let status = response.status().as_u16();
        assert_eq!(status, 200, "{event}: {}", response.text().await.unwrap_or_default());
    }
}

/// What the test built: the finding and series of each figure, by name.
struct Programme {
    from: Date,
    to: Date,
    f: Vec<i64>,
    s: Vec<String>,
}

async fn build(app: &TestApp) -> Programme {
    let pool = &app.pool;
    let to = today();
    let from = to - Duration::days(60);
    let scan = to - Duration::days(30);
    let mut s = Vec::new();
    // S0, S1: one patient, two series. S3's model covers lung and liver only.
    s.push(series(pool, "DEMO-GH", "P1", scan, &[Job::Done("0.1.0", ALL_ORGANS)]).await);
    s.push(series(pool, "DEMO-GH", "P1", scan, &[Job::Done("0.1.0", ALL_ORGANS)]).await);
    s.push(series(pool, "DEMO-GH", "P2", scan, &[Job::Done("0.1.0", ALL_ORGANS)]).await);
    s.push(series(pool, "DEMO-GH", "P3", scan, &[Job::Done("0.1.0", &["lung", "liver"])]).await);
    s.push(series(pool, "DEMO-GH", "P4", scan, &[Job::Skipped(Some(&["contrast"]))]).await);
    s.push(series(pool, "DEMO-GH", "P5", scan, &[Job::Skipped(Some(&["contrast", "too_few_slices"]))]).await);
    s.push(series(pool, "DEMO-GH", "P6", scan, &[Job::Skipped(None)]).await);
    // S7: skipped first, screened later: counts once, as screened.
    s.push(
        series(pool, "DEMO-GH", "P7", scan, &[Job::Skipped(Some(&["unreadable"])), Job::Done("0.1.0", ALL_ORGANS)])
            .await,
    );
    // S8 failed (not counted); S9 before the period (not counted); S10 at the other site, by 0.2.0.
    s.push(series(pool, "DEMO-GH", "P8", scan, &[Job::Failed]).await);
    s.push(series(pool, "DEMO-GH", "P9", from - Duration::days(1), &[Job::Done("0.1.0", ALL_ORGANS)]).await);
    s.push(series(pool, "DEMO-RC", "P10", to, &[Job::Done("0.2.0", ALL_ORGANS)]).await);

    let coordinator = app.signed_in("coordinator").await;
    let date = iso(to);
    let review = json!({"event": "start_review"});
    let order = json!({"event": "order_workup", "modality": "colonoscopy", "due_date": date, "responsible": "Dr Gale"});
    let schedule = json!({"event": "schedule_workup", "date": date, "site": "Endoscopy"});
    let done = json!({"event": "complete_workup", "summary": "Done"});
    let outcome = |outcome: &str, by: Option<&str>| {
        let mut e = json!({"event": "record_outcome", "outcome": outcome, "date": date});
        if let Some(by) = by {
            e["confirmed_by"] = json!(by);
        }
        if outcome != "no_lesion" {
            e["diagnosis"] = json!("Adenoma or carcinoma");
        }
        e
    };
    let worked_up = |last: Value| vec![review.clone(), order.clone(), schedule.clone(), done.clone(), last];
    let no_answer = json!({"event": "record_contact_attempt", "channel": "phone", "result": "no_answer"});
    let plans: Vec<(i64, Vec<Value>)> = vec![
        // F0 new, detected 60 days ago (overdue); F1 new today.
        (60, vec![]),
        (0, vec![]),
        // F2 in review since 60 days (overdue); F3 dismissed.
        (60, vec![review.clone()]),
        (0, vec![review.clone(), json!({"event": "dismiss", "reason": "duplicate"})]),
        // F4 confirmed by pathology and referred to the board; F5 by imaging; F6 benign; F7 no lesion.
        (
            0,
            [worked_up(outcome("confirmed_malignant", Some("pathology"))), vec![json!({"event": "refer_to_mdt"})]]
                .concat(),
        ),
        (0, worked_up(outcome("confirmed_malignant", Some("imaging")))),
        (0, worked_up(outcome("benign", None))),
        (0, worked_up(outcome("no_lesion", None))),
        // F8 declined; F9 lost after three attempts.
        (0, vec![review.clone(), json!({"event": "mark_declined"})]),
        (
            0,
            vec![
                review.clone(),
                order.clone(),
                no_answer.clone(),
                no_answer.clone(),
                no_answer.clone(),
                json!({"event": "mark_lost"}),
            ],
        ),
        // F10 confirmed, then reopened: counts once, as open.
        (
            0,
            [
                worked_up(outcome("confirmed_malignant", Some("pathology"))),
                vec![json!({"event": "reopen", "reason": "Pathology revised"})],
            ]
            .concat(),
        ),
    ];
    let mut f = Vec::new();
    for (i, (days_ago, events)) in plans.into_iter().enumerate() {
        let id = positive(pool, "DEMO-GH", &format!("C{i}"), "colorectal", scan, days_ago).await;
        drive(app, &coordinator, id, &events).await;
        f.push(id);
    }
    // F11 at the other site, new.
    f.push(positive(pool, "DEMO-RC", "C11", "colorectal", scan, 0).await);
    // Lung: two positives, both pending.
    positive(pool, "DEMO-GH", "L1", "lung", scan, 0).await;
    positive(pool, "DEMO-GH", "L2", "lung", scan, 0).await;
    Programme { from, to, f, s }
}

fn row<'a>(report: &'a Value, cancer: &str) -> &'a Value {
    report["cancers"].as_array().and_then(|rows| rows.iter().find(|r| r["cancer"] == cancer)).expect("row")
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_generated_programme_reconciles_figure_by_figure(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let p = build(&app).await;
    let admin = app.signed_in("admin").await;
    let period = format!("from={}&to={}", iso(p.from), iso(p.to));
    let (status, report) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}")).await;
    assert_eq!(status, 200, "{report}");

    // Series: S0-S7 and S10; S7 once, as screened; S8 (failed) and S9 (earlier) not at all.
    assert_eq!(
        (report["screened"].as_u64(), report["eligible_any"].as_u64(), report["skipped"].as_u64()),
        (Some(9), Some(6), Some(3))
    );
    assert_eq!(
        report["skipped_by_reason"],
        json!([{"reason": "contrast", "series": 2}, {"reason": "too_few_slices", "series": 1}, {"reason": "unrecorded", "series": 1}])
    );

    let crc = row(&report, "colorectal");
    let expected = [
        ("screened", 9),
        // S0, S1, S2, S7, S10 (S3's model does not cover colorectal), of P1, P2, P7, P10.
        ("eligible", 5),
        ("patients", 4),
        ("positive", 12),
        ("reviewed", 9),
        ("workup_ordered", 6),
        ("dismissed", 1),
        ("confirmed_pathology", 1),
        ("confirmed_imaging", 1),
        ("benign", 1),
        ("no_lesion", 1),
        ("declined", 1),
        ("lost", 1),
        ("open", 5),
        ("overdue", 2),
    ];
    for (figure, value) in expected {
        assert_eq!(crc[figure].as_u64(), Some(value), "colorectal {figure}: {crc}");
    }
    // PPV: 2 confirmed of 4 with an outcome (2 + benign + no lesion); 2 of all 12 positives.
    assert_eq!(
        (crc["ppv_resolved"]["numerator"].as_u64(), crc["ppv_resolved"]["denominator"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(crc["ppv_resolved"]["value"].as_f64(), Some(0.5));
    // Wilson 95 % for 2/4, computed by hand: (0.15003, 0.84997).
    let low = crc["ppv_resolved"]["ci_low"].as_f64().expect("low");
    assert!((low - 0.15003).abs() < 1e-4, "{low}");
    assert_eq!((crc["ppv_all"]["numerator"].as_u64(), crc["ppv_all"]["denominator"].as_u64()), (Some(2), Some(12)));
    // Four outcomes recorded today on scans of 30 days ago (the reopened one is open again).
    assert_eq!(crc["median_days_to_outcome"].as_f64(), Some(30.0));
    let day = |d: Date| format!("{} {}", d.day(), MONTHS[usize::from(u8::from(d.month())) - 1]);
    let period_text = if p.from.year() == p.to.year() {
        format!("From {} to {} {}", day(p.from), day(p.to), p.to.year())
    } else {
        format!("From {} {} to {} {}", day(p.from), p.from.year(), day(p.to), p.to.year())
    };
    assert_eq!(
        crc["summary"],
        format!(
            "{period_text}, AI screening for colorectal cancer was run on 4 patients. Among the positives, 1 was \
             confirmed by imaging and 1 by pathology; 5 are still being followed up."
        )
    );

    // A cancer with no positives, and one with all pending.
    let liver = row(&report, "liver");
    assert_eq!((liver["positive"].as_u64(), liver["eligible"].as_u64()), (Some(0), Some(6)));
    assert_eq!(liver["ppv_resolved"]["value"], Value::Null);
    assert!(liver["summary"].as_str().unwrap_or_default().ends_with("There were no positives."));
    let lung = row(&report, "lung");
    assert_eq!(
        (lung["positive"].as_u64(), lung["open"].as_u64(), lung["overdue"].as_u64()),
        (Some(2), Some(2), Some(0))
    );
    assert_eq!((lung["ppv_resolved"]["value"].clone(), lung["ppv_all"]["value"].as_f64()), (Value::Null, Some(0.0)));
    assert_eq!(report["total"]["positive"].as_u64(), Some(14));

    // Each figure's list holds exactly what it counts.
    let ids = |list: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> =
            list["items"].as_array().expect("items").iter().filter_map(|i| i["finding_id"].as_i64()).collect();
        ids.sort_unstable();
        ids
    };
    for (figure, members) in [
        ("confirmed_pathology", vec![4]),
        ("confirmed_imaging", vec![5]),
        ("open", vec![0, 1, 2, 10, 11]),
        ("overdue", vec![0, 2]),
        ("workup_ordered", vec![4, 5, 6, 7, 9, 10]),
        ("reviewed", vec![2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("lost", vec![9]),
        ("declined", vec![8]),
        ("dismissed", vec![3]),
    ] {
        let (status, list) =
            get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&cancer=colorectal&figure={figure}"))
                .await;
        assert_eq!(status, 200, "{list}");
        let want: Vec<i64> = members.iter().map(|i| p.f[*i]).collect();
        assert_eq!(ids(&list), want, "{figure}");
        assert_eq!(list["total"].as_u64(), crc[figure].as_u64(), "{figure}");
    }
    let uids = |list: &Value| -> Vec<String> {
        let mut uids: Vec<String> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["series_uid"].as_str().map(str::to_owned))
            .collect();
        uids.sort();
        uids
    };
    let series_of = |members: &[usize]| {
        let mut uids: Vec<String> = members.iter().map(|i| p.s[*i].clone()).collect();
        uids.sort();
        uids
    };
    let (_, eligible) =
        get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&cancer=colorectal&figure=eligible")).await;
    assert_eq!(uids(&eligible), series_of(&[0, 1, 2, 7, 10]));
    let (_, contrast) =
        get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&figure=skipped&reason=contrast")).await;
    assert_eq!(uids(&contrast), series_of(&[4, 5]));
    let (_, screened) = get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&figure=screened")).await;
    assert_eq!(uids(&screened), series_of(&[0, 1, 2, 3, 4, 5, 6, 7, 10]));

    // A list names patients: viewing it is audited (the table's counts are not).
    assert!(!app.audit_rows("metrics.records.view").await.is_empty());
    assert!(app.audit_rows("metrics.program.view").await.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn filters_csv_bad_input_and_access(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let p = build(&app).await;
    let admin = app.signed_in("admin").await;
    let period = format!("from={}&to={}", iso(p.from), iso(p.to));

    // One site, one cancer, one model version.
    // With a cancer chosen, the series screened for it (S3's model does not cover colorectal).
    let (_, crc) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}&cancer=colorectal")).await;
    assert_eq!((crc["eligible_any"].as_u64(), crc["total"]["eligible"].as_u64()), (Some(5), Some(5)));
    let (_, list) =
        get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&cancer=colorectal&figure=eligible")).await;
    assert_eq!(list["total"].as_u64(), Some(5));
    let (_, rc) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}&site=DEMO-RC&cancer=colorectal")).await;
    assert_eq!(rc["cancers"].as_array().map(Vec::len), Some(1));
    assert_eq!((rc["screened"].as_u64(), row(&rc, "colorectal")["positive"].as_u64()), (Some(1), Some(1)));
    let (_, gh) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}&site=DEMO-GH")).await;
    assert_eq!((gh["screened"].as_u64(), row(&gh, "colorectal")["positive"].as_u64()), (Some(8), Some(11)));
    let (_, v2) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}&model_version=0.2.0")).await;
    assert_eq!((v2["screened"].as_u64(), v2["total"]["positive"].as_u64()), (Some(1), Some(0)));
    assert_eq!(v2["model_versions"], json!(["0.2.0", "0.1.0"]), "newest first");
    // The default period is the last 182 days through today.
    let (_, default) = get(&app, &admin, "/api/v1/metrics/program").await;
    assert_eq!(
        (default["from"].as_str(), default["to"].as_str()),
        (Some(iso(p.to - Duration::days(181)).as_str()), Some(iso(p.to).as_str()))
    );
    assert_eq!(default["total"]["positive"].as_u64(), Some(14));

    // CSV: a header, one row per cancer and the total, the JSON's figures.
    let response = admin
        .get(app.url(&format!("/api/v1/metrics/program.csv?{period}&cancer=colorectal")))
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/csv"));
    let text = response.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let values: Vec<&str> = lines[1].split(',').collect();
    let at = |name: &str| values[header.iter().position(|h| *h == name).expect(name)];
    assert_eq!((at("cancer"), at("positive"), at("open"), at("ppv_resolved")), ("colorectal", "12", "5", "0.5000"));
    assert!(lines[2].contains(",all,"), "{text}");

    // In Chinese (`lang=zh-Hans`): a byte order mark for Excel, the page's column titles and
    // cancer names, and the same figures; `lang=en` is the file without `lang`.
    let csv = |query: String| {
        let request = admin.get(app.url(&format!("/api/v1/metrics/program.csv?{query}")));
        async move {
            let response = request.send().await.expect("csv");
            assert_eq!(response.status().as_u16(), 200);
            response.text().await.expect("text")
        }
    };
    assert_eq!(csv(format!("{period}&cancer=colorectal&lang=en")).await, text);
    let chinese = csv(format!("{period}&cancer=colorectal&lang=zh-Hans")).await;
    let chinese = chinese.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("no byte order mark: {chinese}"));
    let zh_lines: Vec<&str> = chinese.lines().collect();
    let zh_header: Vec<&str> = zh_lines[0].split(',').collect();
    assert_eq!(zh_header.len(), header.len());
    // app/locales/zh-Hans/program.json and the table's head.
    for (en, zh) in [
        ("from", "扫描日期自"),
        ("cancer", "癌种"),
        ("screened", "已筛查序列"),
        ("positive", "AI 阳性"),
        ("confirmed_pathology", "病理确诊"),
        ("open", "仍在随访"),
        ("ppv_resolved", "阳性预测值 PPV（已有结论）"),
    ] {
        assert_eq!(zh_header[header.iter().position(|h| *h == en).expect(en)], zh, "{en}");
    }
    let cancer = header.iter().position(|h| *h == "cancer").expect("cancer");
    let cells = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
    for (zh_line, en_line, name) in [(zh_lines[1], lines[1], "结直肠癌"), (zh_lines[2], lines[2], "全部癌种")] {
        let (mut zh_cells, mut en_cells) = (cells(zh_line), cells(en_line));
        assert_eq!(zh_cells.remove(cancer), name);
        en_cells.remove(cancer);
        assert_eq!(zh_cells, en_cells, "the same numbers in either language");
    }
    let (status, body) = get(&app, &admin, &format!("/api/v1/metrics/program.csv?{period}&lang=fr")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("lang"), "{body}");
    let (status, _) = get(&app, &admin, &format!("/api/v1/metrics/program?{period}&lang=zh-Hans")).await;
    assert_eq!(status, 400, "the JSON has no language: `lang` is an unknown parameter there");

    // The page's link downloads the file in the page's language.
    let page = format!("/admin/program?{period}&cancer=colorectal");
    let link =
        format!("href=\"/api/v1/metrics/program.csv?{}&amp;cancer=colorectal&amp;lang=", period.replace('&', "&amp;"));
    let english = elysium_tests::get_text(&app, &admin, &page).await;
    assert!(english.contains(&format!("{link}en\"")), "{english}");
    let chinese = elysium_tests::get_text_in_chinese(&app, &admin, &page).await;
    assert!(chinese.contains(&format!("{link}zh-Hans\"")), "{chinese}");

    // Bad input names its field and changes nothing; unknown parameters are refused.
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-05-02&to=2026-05-01", "to"),
        ("cancer=larynx", "cancer"),
        ("site=NOPE", "site"),
        ("model_version=9.9", "model_version"),
    ] {
        let (status, body) = get(&app, &admin, &format!("/api/v1/metrics/program?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with(field), "{query}: {body}");
    }
    let (status, _) = get(&app, &admin, "/api/v1/metrics/program?cancr=lung").await;
    assert_eq!(status, 400);
    let (status, body) =
        get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&figure=everything")).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) =
        get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&figure=skipped&reason=boredom")).await;
    assert_eq!(status, 422);

    // Administrators only.
    let coordinator = app.signed_in("coordinator").await;
    for path in
        ["/api/v1/metrics/program", "/api/v1/metrics/program.csv", "/api/v1/metrics/program/records?figure=open"]
    {
        assert_eq!(get(&app, &coordinator, path).await.0, 403, "{path}");
        assert_eq!(get(&app, &app.client(), path).await.0, 401, "{path}");
    }
}

/// Refers `finding` to `to` as `client` (a coordinator of its site); the referral's id.
async fn refer(app: &TestApp, client: &Client, finding: i64, to: &str) -> i64 {
    let body = json!({"to_site": to, "reason": "Work-up there", "requested_workup": "colonoscopy"});
    let (status, referral) =
        elysium_tests::post(app, client, &format!("/api/v1/findings/{finding}/referrals"), &body).await;
    assert_eq!(status, 201, "{referral}");
    referral["id"].as_i64().expect("id")
}

/// Records `event` on referral `id` as `client` (at its current version).
async fn decide(app: &TestApp, client: &Client, id: i64, mut event: Value) {
    let version: i32 = sqlx::query_scalar("select version from referral where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("version");
    event["expected_version"] = json!(version);
    let (status, body) = elysium_tests::post(app, client, &format!("/api/v1/referrals/{id}/events"), &event).await;
    assert_eq!(status, 200, "{event}: {body}");
}

/// Moves a referral's making and its decision back in time (the history of its finding stays as
/// recorded, now, after the decision).
async fn backdate(pool: &PgPool, id: i64, made_days_ago: i32, decided_days_ago: Option<i32>) {
    sqlx::query(
        "update referral set created_at = now() - make_interval(days => $2),
                             decided_at = coalesce(now() - make_interval(days => $3), decided_at)
         where id = $1",
    )
    .bind(id)
    .bind(made_days_ago)
    .bind(decided_days_ago)
    .execute(pool)
    .await
    .expect("backdate");
}

/// A network of three sites, referrals in every state between them, each counted by hand: the
/// flows report them, every count equals the referral list its link asks for, and the findings
/// stay counted once, under the site that screened them, wherever they were worked up.
#[sqlx::test(migrator = "MIGRATOR")]
async fn referral_flows_reconcile_and_findings_stay_with_their_screening_site(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let admin = app.signed_in("admin").await;
    sqlx::query("insert into site (code, name, patient_id_authority) values ('TEST-CT', 'County hospital', 'TEST-CT')")
        .execute(&pool)
        .await
        .expect("site");
    for (site, level) in [("DEMO-RC", "community"), ("TEST-CT", "county"), ("DEMO-GH", "provincial")] {
        let body = json!({"site": site, "level": level});
        assert_eq!(elysium_tests::post(&app, &admin, "/api/v1/admin/network/levels", &body).await.0, 200);
    }
    for (from, to) in [("DEMO-RC", "DEMO-GH"), ("DEMO-RC", "TEST-CT"), ("TEST-CT", "DEMO-GH")] {
        let body = json!({"from": from, "to": to});
        assert_eq!(elysium_tests::post(&app, &admin, "/api/v1/admin/network/routes", &body).await.0, 200);
    }
    let rc = crate::referral::coordinator_of(&app, &admin, "rc.coordinator", "DEMO-RC").await;
    let ct = crate::referral::coordinator_of(&app, &admin, "ct.coordinator", "TEST-CT").await;
    let gh = app.signed_in("coordinator").await;

    let to = today();
    let from = to - Duration::days(60);
    let scan = to - Duration::days(30);
    let date = iso(to);
    let worked_up = vec![
        json!({"event": "start_review"}),
        json!({"event": "order_workup", "modality": "colonoscopy", "due_date": date, "responsible": "Dr Gale"}),
        json!({"event": "schedule_workup", "date": date, "site": "Endoscopy"}),
        json!({"event": "complete_workup", "summary": "Done"}),
    ];
    let outcome = |outcome: &str, by: Option<&str>| {
        let mut e = json!({"event": "record_outcome", "outcome": outcome, "date": date, "diagnosis": "Adenoma"});
        if let Some(by) = by {
            e["confirmed_by"] = json!(by);
        }
        e
    };
    let reason = |event: &str| json!({"event": event, "reason": "Not this time"});

    // Findings screened at the clinic F1-F6 and F9, F7 before the period; one each at the county
    // hospital and the provincial hospital.
    let mut f = std::collections::BTreeMap::new();
    for n in [1, 2, 3, 4, 5, 6, 9] {
        f.insert(n, positive(&pool, "DEMO-RC", &format!("R{n}"), "colorectal", scan, 0).await);
    }
    f.insert(7, positive(&pool, "DEMO-RC", "R7", "colorectal", to - Duration::days(70), 0).await);
    let at_county = positive(&pool, "TEST-CT", "T1", "colorectal", scan, 0).await;
    positive(&pool, "DEMO-GH", "G1", "colorectal", scan, 0).await;

    // Clinic to hospital: R1 accepted 10 days ago and worked up there to a benign outcome today;
    // R2 accepted 3 days ago and worked up today, no outcome yet; R3 accepted, not worked up;
    // R4 waiting; R5 declined; R6 withdrawn; R7 made before the period.
    let r1 = refer(&app, &rc, f[&1], "DEMO-GH").await;
    decide(&app, &gh, r1, json!({"event": "accept"})).await;
    drive(&app, &gh, f[&1], &[worked_up.clone(), vec![outcome("benign", None)]].concat()).await;
    backdate(&pool, r1, 12, Some(10)).await;
    let r2 = refer(&app, &rc, f[&2], "DEMO-GH").await;
    decide(&app, &gh, r2, json!({"event": "accept"})).await;
    drive(&app, &gh, f[&2], &worked_up).await;
    backdate(&pool, r2, 5, Some(3)).await;
    let r3 = refer(&app, &rc, f[&3], "DEMO-GH").await;
    decide(&app, &gh, r3, json!({"event": "accept"})).await;
    refer(&app, &rc, f[&4], "DEMO-GH").await;
    let r5 = refer(&app, &rc, f[&5], "DEMO-GH").await;
    decide(&app, &gh, r5, reason("decline")).await;
    let r6 = refer(&app, &rc, f[&6], "DEMO-GH").await;
    decide(&app, &rc, r6, reason("withdraw")).await;
    let r7 = refer(&app, &rc, f[&7], "DEMO-GH").await;
    backdate(&pool, r7, 61, None).await;
    // Clinic to county: F5, declined by the hospital, accepted by the county hospital 7 days ago
    // and confirmed there today; F9 worked up at the clinic before it was referred and accepted
    // (the work-up before the acceptance is not the receiving site's).
    let r8 = refer(&app, &rc, f[&5], "TEST-CT").await;
    decide(&app, &ct, r8, json!({"event": "accept"})).await;
    drive(&app, &ct, f[&5], &[worked_up.clone(), vec![outcome("confirmed_malignant", Some("pathology"))]].concat())
        .await;
    backdate(&pool, r8, 9, Some(7)).await;
    drive(&app, &rc, f[&9], &worked_up).await;
    let r9 = refer(&app, &rc, f[&9], "TEST-CT").await;
    decide(&app, &ct, r9, json!({"event": "accept"})).await;
    // County to hospital: one waiting.
    refer(&app, &ct, at_county, "DEMO-GH").await;

    let period = format!("from={}&to={}", iso(from), iso(to));
    let report = |query: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let (status, report) = get(app, admin, &format!("/api/v1/metrics/program?{query}")).await;
            assert_eq!(status, 200, "{report}");
            report
        }
    };
    let all = report(period.clone()).await;
    // Medians by hand: clinic to hospital, 10 and 3 days (R3 not worked up) = 6.5; clinic to
    // county, 7 days (R9's work-up predates its acceptance, and nothing came after).
    assert_eq!(
        all["referral_flows"],
        json!([
            {"from_site": "DEMO-RC", "to_site": "DEMO-GH", "referred": 6, "requested": 1, "accepted": 3,
             "declined": 1, "withdrawn": 1, "outcome_reported": 1, "median_days_to_workup": 6.5},
            {"from_site": "DEMO-RC", "to_site": "TEST-CT", "referred": 2, "requested": 0, "accepted": 2,
             "declined": 0, "withdrawn": 0, "outcome_reported": 1, "median_days_to_workup": 7.0},
            {"from_site": "TEST-CT", "to_site": "DEMO-GH", "referred": 1, "requested": 1, "accepted": 0,
             "declined": 0, "withdrawn": 0, "outcome_reported": 0, "median_days_to_workup": null},
        ])
    );

    // Each count is the total of the referral list its link asks for.
    let figures = ["referred", "requested", "accepted", "declined", "withdrawn", "outcome_reported"];
    let mut checked = 0;
    for flow in all["referral_flows"].as_array().expect("flows") {
        for figure in figures {
            let status = match figure {
                "referred" => String::new(),
                "outcome_reported" => "&status=accepted".to_owned(),
                other => format!("&status={other}"),
            };
            let outcome = if figure == "outcome_reported" { "&outcome=reported" } else { "" };
            let path = format!(
                "/api/v1/referrals?direction=outgoing&from_site={}&to_site={}{status}&created_from={}&created_to={}{outcome}",
                flow["from_site"].as_str().expect("from"),
                flow["to_site"].as_str().expect("to"),
                iso(from),
                iso(to)
            );
            let (code, list) = get(&app, &admin, &path).await;
            assert_eq!(code, 200, "{path}: {list}");
            assert_eq!(list["total"], flow[figure], "{path}");
            checked += 1;
        }
    }
    assert_eq!(checked, 18);

    // A site keeps the flows it sends or receives; the period is by the day a referral was made.
    let pairs = |report: &Value| -> Vec<(String, String)> {
        report["referral_flows"]
            .as_array()
            .expect("flows")
            .iter()
            .map(|f| {
                (f["from_site"].as_str().unwrap_or_default().into(), f["to_site"].as_str().unwrap_or_default().into())
            })
            .collect()
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    let county = report(format!("{period}&site=TEST-CT")).await;
    assert_eq!(pairs(&county), [pair("DEMO-RC", "TEST-CT"), pair("TEST-CT", "DEMO-GH")]);
    let hospital = report(format!("{period}&site=DEMO-GH")).await;
    assert_eq!(pairs(&hospital), [pair("DEMO-RC", "DEMO-GH"), pair("TEST-CT", "DEMO-GH")]);
    let early = report(format!("from={}&to={}", iso(from), iso(to - Duration::days(11)))).await;
    assert_eq!(
        early["referral_flows"],
        json!([{"from_site": "DEMO-RC", "to_site": "DEMO-GH", "referred": 1, "requested": 0, "accepted": 1,
                "declined": 0, "withdrawn": 0, "outcome_reported": 1, "median_days_to_workup": 10.0}])
    );
    let with_r7 = report(format!("from={}&to={}", iso(to - Duration::days(61)), iso(to))).await;
    assert_eq!(
        (with_r7["referral_flows"][0]["referred"].as_u64(), with_r7["referral_flows"][0]["requested"].as_u64()),
        (Some(7), Some(2))
    );

    // The findings count once, under the site that screened them: F1 (benign at the hospital)
    // and F5 (referred twice, confirmed at the county hospital) under the clinic only.
    let crc = |report: &Value| -> Vec<Option<u64>> {
        let row = row(report, "colorectal");
        ["positive", "workup_ordered", "benign", "confirmed_pathology", "open"].map(|f| row[f].as_u64()).to_vec()
    };
    assert_eq!(crc(&all), [Some(9), Some(4), Some(1), Some(1), Some(7)]);
    let clinic = report(format!("{period}&site=DEMO-RC")).await;
    assert_eq!(crc(&clinic), [Some(7), Some(4), Some(1), Some(1), Some(5)]);
    assert_eq!(crc(&hospital), [Some(1), Some(0), Some(0), Some(0), Some(1)]);
    assert_eq!(crc(&county), [Some(1), Some(0), Some(0), Some(0), Some(1)]);
    for (site, figure, members) in [
        ("DEMO-RC", "benign", vec![f[&1]]),
        ("DEMO-RC", "confirmed_pathology", vec![f[&5]]),
        ("DEMO-GH", "benign", vec![]),
        ("TEST-CT", "confirmed_pathology", vec![]),
    ] {
        let (_, list) =
            get(&app, &admin, &format!("/api/v1/metrics/program/records?{period}&site={site}&figure={figure}")).await;
        let ids: Vec<i64> =
            list["items"].as_array().expect("items").iter().filter_map(|i| i["finding_id"].as_i64()).collect();
        assert_eq!(ids, members, "{site} {figure}");
    }

    // The dashboard shows the flows, each count linked to its list, in either language.
    let page = format!("/admin/program?{period}");
    let english = elysium_tests::get_text(&app, &admin, &page).await;
    assert!(english.contains("Referral flows"), "{english}");
    let link = format!(
        "href=\"/referrals?direction=outgoing&amp;from_site=DEMO-RC&amp;to_site=DEMO-GH&amp;status=accepted&amp;\
         created_from={}&amp;created_to={}&amp;outcome=reported\"",
        iso(from),
        iso(to)
    );
    assert!(english.contains(&link), "{link} in {english}");
    let chinese = elysium_tests::get_text_in_chinese(&app, &admin, &page).await;
    assert!(chinese.contains("转诊流向") && chinese.contains("已反馈结局"), "{chinese}");
}
