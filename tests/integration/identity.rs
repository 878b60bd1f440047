//! Patient identity and the receiving site: a patient is (assigning authority, PatientID), every
//! way in names exactly one site, an unidentified instance is refused, and a study that states
//! other demographics is kept, flagged and resolved by a person, never used to rename anyone.

use elysium_db::MIGRATOR;
use elysium_phantom::{GeneratedSeries, PatientIdentity, PhantomOptions};
use elysium_server::ingest::{Outcome, Received, Rejection, Via};
use elysium_tests::{TestApp, get_json, get_text, stow};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A small phantom series (32 x 32, 8 slices) for `identity`, and its instances' bytes.
fn series(seed: u64, identity: PatientIdentity) -> (GeneratedSeries, Vec<Vec<u8>>) {
    let out = tempfile::tempdir().expect("tmp");
    let mut options = PhantomOptions::new(out.path());
    options.rows = 32;
    options.slices = Some(8);
    options.seed = seed;
    options.identity = identity;
    let report = elysium_phantom::generate(&options).expect("phantom");
    let series = report.series.into_iter().next().expect("one series");
    let parts = series.dicom_files().expect("files").iter().map(|p| std::fs::read(p).expect("read")).collect();
    (series, parts)
}

fn identity(patient_id: &str, name: &str, birth_date: &str) -> PatientIdentity {
    PatientIdentity {
        patient_id: Some(patient_id.into()),
        name: Some(name.into()),
        birth_date: Some(birth_date.into()),
        ..Default::default()
    }
}

async fn ingest_at(app: &TestApp, site: &str, parts: &[Vec<u8>]) -> Vec<Outcome> {
    let received = Received::new(Via::Cli, app.site_id(site).await);
    let ingestor = app.state().ingestor;
    let mut outcomes = Vec::new();
    for part in parts {
        outcomes.push(ingestor.ingest(part.clone().into(), &received).await);
    }
    outcomes
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.expect("count")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_same_patient_id_at_two_sites_is_two_patients(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, general) = series(11, identity("MRN-12345", "OKAFOR^AMARA", "19600102"));
    let (_, riverside) = series(12, identity("MRN-12345", "LI^WEI", "19711130"));
    assert!(ingest_at(&app, "DEMO-GH", &general).await.iter().all(|o| matches!(o, Outcome::Stored(_))));
    assert!(ingest_at(&app, "DEMO-RC", &riverside).await.iter().all(|o| matches!(o, Outcome::Stored(_))));

    let patients: Vec<(String, String, String)> =
        sqlx::query_as("select assigning_authority, patient_id, name from patient order by assigning_authority")
            .fetch_all(&app.pool)
            .await
            .expect("patients");
    assert_eq!(
        patients,
        [
            ("DEMO-GH".to_owned(), "MRN-12345".to_owned(), "OKAFOR^AMARA".to_owned()),
            ("DEMO-RC".to_owned(), "MRN-12345".to_owned(), "LI^WEI".to_owned())
        ]
    );
    assert_eq!(count(&app, "select count(*) from demographics_mismatch").await, 0, "two people, not one mismatch");

    // Each site sees only its own patient's name, over DICOMweb and on the study list.
    let coordinator = app.signed_in("coordinator").await; // DEMO-GH only
    let seen = get_json(&app, &coordinator, "/dicomweb/studies?PatientID=MRN-12345").await;
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "{seen}");
    assert_eq!(seen[0]["00100010"]["Value"][0]["Alphabetic"], "OKAFOR^AMARA");
    assert_eq!(seen[0]["00100021"]["Value"][0], "DEMO-GH");
    let list = get_text(&app, &coordinator, "/studies?patient_id=MRN-12345").await;
    assert!(list.contains("OKAFOR AMARA") && !list.contains("LI WEI"), "the study list shows only DEMO-GH's patient");
    let admin = app.signed_in("admin").await;
    let both = get_json(&app, &admin, "/dicomweb/studies?PatientID=MRN-12345").await;
    let mut names: Vec<String> = both
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["00100010"]["Value"][0]["Alphabetic"].as_str().unwrap_or("").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["LI^WEI", "OKAFOR^AMARA"]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_instance_without_a_patient_id_is_refused_on_every_way_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, parts) = series(21, identity("", "NOBODY^KNOWN", "19500101"));
    let refused = ingest_at(&app, "DEMO-GH", &parts[..1]).await;
    assert!(matches!(&refused[0], Outcome::Rejected { reason: Rejection::MissingPatientId, .. }), "{refused:?}");

    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &parts[..2]).await;
    assert_eq!(status, 409, "{body}");
    let reasons: Vec<u64> = body["00081198"]["Value"]
        .as_array()
        .expect("failed")
        .iter()
        .filter_map(|i| i["00081197"]["Value"][0].as_u64())
        .collect();
    assert_eq!(reasons, [0xA900, 0xA900]);

    let form = crate::upload::form_for(Some("DEMO-GH"), &[("no-id.dcm", parts[2].clone())]);
    let upload = radiologist
        .post(app.url("/upload"))
        .header("origin", app.origin())
        .header("content-type", format!("multipart/form-data; boundary={}", crate::upload::BOUNDARY))
        .body(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), 303);
    let result: Value =
        radiologist.get(app.url("/api/fn/last_upload")).send().await.expect("result").json().await.expect("json");
    assert_eq!(result["refused"], 1, "{result}");
    assert_eq!(
        result["rows"][0]["detail"],
        json!({ "kind": "refused", "reason": "missing_patient_id", "particulars": null }),
        "{result}"
    );

    // The command line (`elysium ingest`) prints a line per refused file from the same summary.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("no-id.dcm"), &parts[3]).expect("write");
    let received = Received::new(Via::Cli, app.site_id("DEMO-GH").await);
    let summary =
        elysium_server::ingest::cli::ingest_paths(&app.state().ingestor, &[dir.path().to_path_buf()], &received, 1)
            .await
            .expect("ingest");
    assert_eq!((summary.stored, summary.refused.len()), (0, 1));
    assert!(
        summary.refused[0].0.ends_with("no-id.dcm") && summary.refused[0].1.contains("PatientID"),
        "{:?}",
        summary.refused
    );

    assert_eq!(count(&app, "select count(*) from instance").await, 0);
    assert_eq!(count(&app, "select count(*) from patient").await, 0, "no shared empty-ID patient");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_files_under_the_site_named_and_refuses_a_request_that_names_none(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, parts) = series(31, identity("MRN-31", "ROSSI^CHIARA", "19800505"));
    // The radiologist works at both demo sites: without `?site=` nothing is stored.
    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = stow(&app, &radiologist, "/dicomweb/studies", &parts).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("DEMO-GH") && message.contains("DEMO-RC") && message.contains("site"), "{message}");
    assert_eq!(count(&app, "select count(*) from instance").await, 0);

    // A site that is not theirs, or that does not exist, is refused too.
    assert_eq!(stow(&app, &radiologist, "/dicomweb/studies?site=NOWHERE", &parts).await.0, 400);

    let (status, _) = stow(&app, &radiologist, "/dicomweb/studies?site=demo-rc", &parts).await;
    assert_eq!(status, 200);
    let site: String = sqlx::query_scalar("select si.code from study st join site si on si.id = st.site_id")
        .fetch_one(&app.pool)
        .await
        .expect("site");
    assert_eq!(site, "DEMO-RC");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_second_study_with_other_demographics_is_kept_flagged_and_resolved_by_a_person(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (first, first_parts) = series(41, identity("MRN-41", "NAKAMURA^HANA", "19550720"));
    let (second, second_parts) = series(42, identity("MRN-41", "NAKAMURA^H.", "19550702"));
    // Case and empty trailing components are the same name: no mismatch for this third study.
    let (_, third_parts) = series(43, identity("MRN-41", "Nakamura^Hana^^", "19550720"));
    ingest_at(&app, "DEMO-GH", &first_parts).await;
    let outcomes = ingest_at(&app, "DEMO-GH", &second_parts).await;
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored(_))), "the second study is stored: {outcomes:?}");
    ingest_at(&app, "DEMO-GH", &third_parts).await;

    assert_eq!(count(&app, "select count(*) from patient").await, 1);
    let (name, born): (String, time::Date) =
        sqlx::query_as("select name, birth_date from patient").fetch_one(&app.pool).await.expect("patient");
    assert_eq!((name.as_str(), born.to_string().as_str()), ("NAKAMURA^HANA", "1955-07-20"), "never renamed by ingest");
    let mismatches: Vec<(String, String, String, String)> = sqlx::query_as(
        "select st.study_uid, m.field, m.stored_value, m.received_value
         from demographics_mismatch m join study st on st.id = m.study_ref order by m.field",
    )
    .fetch_all(&app.pool)
    .await
    .expect("mismatches");
    assert_eq!(
        mismatches,
        [
            (second.study_uid.clone(), "birth_date".into(), "1955-07-20".into(), "1955-07-02".into()),
            (second.study_uid.clone(), "name".into(), "NAKAMURA^HANA".into(), "NAKAMURA^H.".into()),
        ]
    );

    // Both values are on both studies' pages (the patient's mismatches follow the patient).
    let coordinator = app.signed_in("coordinator").await;
    for study in [&first.study_uid, &second.study_uid] {
        let html = coordinator
            .get(app.url(&format!("/studies/{study}")))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            html.contains("data-testid=\"mismatches\"") && html.contains("NAKAMURA^H.") && html.contains("1955-07-02"),
            "{study}"
        );
    }

    let ids: Vec<(uuid::Uuid, String)> = sqlx::query_as("select id, field from demographics_mismatch order by field")
        .fetch_all(&app.pool)
        .await
        .expect("ids");
    let (birth_date_id, name_id) = (ids[0].0, ids[1].0);
    let resolve = |client: reqwest::Client, id: uuid::Uuid, body: Value| {
        let url = app.url(&format!("/api/v1/mismatches/{id}/resolve"));
        let origin = app.origin();
        async move { client.post(url).header("origin", origin).json(&body).send().await.expect("resolve") }
    };
    // A surgeon reads the record but does not correct identity.
    let surgeon = app.signed_in("surgeon").await;
    assert_eq!(resolve(surgeon, name_id, json!({ "resolution": "kept_stored" })).await.status(), 403);
    assert_eq!(resolve(coordinator.clone(), name_id, json!({ "resolution": "merge" })).await.status(), 422);

    // The study's date of birth was right: the patient takes it, and the old value stays on record.
    let done = resolve(
        coordinator.clone(),
        birth_date_id,
        json!({ "resolution": "updated_patient", "note": "checked the ID card" }),
    )
    .await;
    assert_eq!(done.status(), 200);
    let born: time::Date =
        sqlx::query_scalar("select birth_date from patient").fetch_one(&app.pool).await.expect("born");
    assert_eq!(born.to_string(), "1955-07-02");
    // The abbreviated name was another system's spelling: the record stays.
    assert_eq!(resolve(coordinator.clone(), name_id, json!({ "resolution": "kept_stored" })).await.status(), 200);
    let name: String = sqlx::query_scalar("select name from patient").fetch_one(&app.pool).await.expect("name");
    assert_eq!(name, "NAKAMURA^HANA");
    // Twice is a conflict, not a second change.
    assert_eq!(resolve(coordinator.clone(), name_id, json!({ "resolution": "updated_patient" })).await.status(), 409);
    assert_eq!(
        sqlx::query_scalar::<_, String>("select name from patient").fetch_one(&app.pool).await.expect("name"),
        "NAKAMURA^HANA"
    );

    let audited: Vec<(String, String)> = sqlx::query_as(
        "select patient_id, detail->>'resolution' from audit_event where action = 'patient.demographics_resolve' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("audit");
    assert_eq!(audited, [("MRN-41".into(), "updated_patient".into()), ("MRN-41".into(), "kept_stored".into())]);
    let resolved: i64 = count(
        &app,
        "select count(*) from demographics_mismatch where resolution is not null and resolved_by is not null",
    )
    .await;
    assert_eq!(resolved, 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_mismatch_at_another_site_does_not_exist_for_the_user(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, first) = series(51, identity("MRN-51", "SANTOS^ROSA", "19620101"));
    let (_, second) = series(52, identity("MRN-51", "SANTOS^R.", "19620101"));
    ingest_at(&app, "DEMO-RC", &first).await;
    ingest_at(&app, "DEMO-RC", &second).await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from demographics_mismatch").fetch_one(&app.pool).await.expect("id");
    // The demo coordinator works at DEMO-GH only.
    let coordinator = app.signed_in("coordinator").await;
    let response = coordinator
        .post(app.url(&format!("/api/v1/mismatches/{id}/resolve")))
        .header("origin", app.origin())
        .json(&json!({ "resolution": "updated_patient" }))
        .send()
        .await
        .expect("resolve");
    assert_eq!(response.status(), 404);
    assert_eq!(count(&app, "select count(*) from demographics_mismatch where resolution is null").await, 1);
}

/// The migration that keys patients by authority splits a patient shared by two sites into two,
/// moving each study (and its findings) with it, and loses no study.
#[sqlx::test(migrations = false)]
async fn the_identity_migration_splits_patients_shared_by_sites(pool: PgPool) {
    const IDENTITY_MIGRATION: i64 = 20261204000001;
    // The migrations before it, from a copy of the folder without it and those after.
    let earlier = tempfile::tempdir().expect("tmp");
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
    for entry in std::fs::read_dir(folder).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let version: i64 = name.split('_').next().and_then(|v| v.parse().ok()).unwrap_or(i64::MAX);
        if version < IDENTITY_MIGRATION {
            std::fs::copy(&path, earlier.path().join(&name)).expect("copy");
        }
    }
    let before = sqlx::migrate::Migrator::new(earlier.path()).await.expect("earlier migrations");
    before.run(&pool).await.expect("earlier migrations run");
    sqlx::raw_sql(
        "insert into site (code, name) values ('SITE-A', 'A'), ('SITE-B', 'B');
         insert into patient (patient_id, name) values ('12345', 'ALPHA^ONE'), ('777', 'SOLO^X'), ('888', 'NOSITE^Y');
         insert into study (study_uid, patient_ref, site_id, created_at)
           select '1.1', id, (select id from site where code = 'SITE-A'), now() - interval '2 days' from patient where patient_id = '12345';
         insert into study (study_uid, patient_ref, site_id, created_at)
           select '1.2', id, (select id from site where code = 'SITE-B'), now() - interval '1 day' from patient where patient_id = '12345';
         insert into study (study_uid, patient_ref, site_id) select '1.3', id, (select id from site where code = 'SITE-B') from patient where patient_id = '777';
         insert into study (study_uid, patient_ref, site_id) select '1.6', id, null from patient where patient_id = '888';
         insert into study (study_uid, patient_ref, site_id) select '1.7', id, (select id from site where code = 'SITE-A') from patient where patient_id = '888';
         insert into finding (patient_ref, study_ref, site_id, organ, class_label, probability, threshold, model_name, model_version)
           select st.patient_ref, st.id, st.site_id, 'liver', 'HCC', 0.9, 0.5, 'm', '1' from study st where study_uid = '1.2';",
    )
    .execute(&pool)
    .await
    .expect("rows as they were");
    MIGRATOR.run(&pool).await.expect("the identity migration");

    let filed: Vec<(String, String, String, String)> = sqlx::query_as(
        "select st.study_uid, p.patient_id, p.assigning_authority, p.name from study st join patient p on p.id = st.patient_ref order by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("studies");
    let expected = [
        ("1.1", "12345", "SITE-A", "ALPHA^ONE"),
        ("1.2", "12345", "SITE-B", "ALPHA^ONE"),
        ("1.3", "777", "SITE-B", "SOLO^X"),
        // A study that never named its site stays with an unknown authority, apart from the
        // same ID's study at SITE-A.
        ("1.6", "888", "", "NOSITE^Y"),
        ("1.7", "888", "SITE-A", "NOSITE^Y"),
    ];
    let expected: Vec<(String, String, String, String)> =
        expected.iter().map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into())).collect();
    assert_eq!(filed, expected);
    let finding_follows: bool =
        sqlx::query_scalar("select f.patient_ref = st.patient_ref from finding f join study st on st.id = f.study_ref")
            .fetch_one(&pool)
            .await
            .expect("finding");
    assert!(finding_follows, "the finding moved with its study");
    let patients: i64 = sqlx::query_scalar("select count(*) from patient").fetch_one(&pool).await.expect("count");
    assert_eq!(patients, 5);
}

/// The study page's form resolves a mismatch without JavaScript: a plain form post, then back to
/// the study with the decision shown in place of the buttons.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_study_page_form_resolves_a_mismatch(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, first) = series(61, identity("MRN-61", "PATEL^PRIYA", "19700101"));
    let (second, later) = series(62, identity("MRN-61", "PATEL^P.", "19700101"));
    ingest_at(&app, "DEMO-GH", &first).await;
    ingest_at(&app, "DEMO-GH", &later).await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from demographics_mismatch").fetch_one(&app.pool).await.expect("id");
    let coordinator = app.signed_in("coordinator").await;
    let page = coordinator.get(app.url(&format!("/studies/{}", second.study_uid))).send().await.expect("page");
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("action=\"/mismatches/{id}/resolve\"")), "the page offers the decision");
    // The note has a label (read by screen readers, not shown), in the reader's language.
    let label = format!(
        r#"<label for="mismatch-note-{id}" class="visually-hidden">Note on how you checked this mismatch</label>"#
    );
    assert!(html.contains(&label), "{html}");
    assert!(html.contains(&format!(r#"<input id="mismatch-note-{id}" name="note""#)), "{html}");
    let chinese =
        elysium_tests::get_text_in_chinese(&app, &coordinator, &format!("/studies/{}", second.study_uid)).await;
    assert!(
        chinese.contains(&format!(
            r#"for="mismatch-note-{id}" class="visually-hidden">关于如何核实此项不一致的备注</label>"#
        )),
        "{chinese}"
    );
    let response = coordinator
        .post(app.url(&format!("/mismatches/{id}/resolve")))
        .header("origin", app.origin())
        .form(&[("resolution", "kept_stored"), ("note", "the RIS abbreviates given names")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with(&format!("/studies/{}", second.study_uid)), "{location}");
    let html = coordinator.get(app.url(&location)).send().await.expect("page").text().await.expect("html");
    assert!(
        html.contains("kept the patient&#x27;s record") || html.contains("kept the patient's record"),
        "decision shown"
    );
    assert!(html.contains("the RIS abbreviates given names") && !html.contains("/resolve\""), "no buttons left");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_finding_of_a_patient_with_an_open_mismatch_says_so_until_it_is_resolved(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (first, first_parts) = series(44, identity("MRN-44", "OKAFOR^ADA", "19600101"));
    let (_, second_parts) = series(45, identity("MRN-44", "OKAFOR^ADAEZE", "19600101"));
    ingest_at(&app, "DEMO-GH", &first_parts).await;
    ingest_at(&app, "DEMO-GH", &second_parts).await;
    let finding = elysium_tests::finding(&app.pool, &first.study_uid, "liver", "hcc", 0.9, 0).await;

    let coordinator = app.signed_in("coordinator").await;
    let api = get_json(&app, &coordinator, &format!("/api/v1/findings/{finding}")).await;
    let open = api["open_mismatches"].as_array().expect("open mismatches");
    assert_eq!(open.len(), 1, "{api}");
    assert_eq!((&open[0]["stored_value"], &open[0]["received_value"]), (&json!("OKAFOR^ADA"), &json!("OKAFOR^ADAEZE")));
    let page = get_text(&app, &coordinator, &format!("/findings/{finding}")).await;
    assert!(page.contains("data-testid=\"finding-mismatches\"") && page.contains("OKAFOR^ADAEZE"), "{page}");

    let id: uuid::Uuid =
        sqlx::query_scalar("select id from demographics_mismatch").fetch_one(&app.pool).await.expect("id");
    let resolved = coordinator
        .post(app.url(&format!("/api/v1/mismatches/{id}/resolve")))
        .header("origin", app.origin())
        .json(&json!({ "resolution": "kept_stored" }))
        .send()
        .await
        .expect("resolve");
    assert_eq!(resolved.status(), 200);
    let api = get_json(&app, &coordinator, &format!("/api/v1/findings/{finding}")).await;
    assert_eq!(api["open_mismatches"], json!([]));
    let page = get_text(&app, &coordinator, &format!("/findings/{finding}")).await;
    assert!(!page.contains("finding-mismatches"), "a resolved mismatch no longer warns");
}
