//! Every read of patient data writes its audit row before the data leaves, and a read whose row
//! cannot be written is refused with 503: QIDO-RS, WADO-RS (originals, metadata, frames,
//! rendered slices) and the viewer's and study page's server functions.

use elysium_db::MIGRATOR;
use elysium_phantom::{PatientIdentity, PhantomOptions};
use elysium_server::ingest::{Received, Via};
use elysium_tests::TestApp;
use sqlx::PgPool;

const PATIENT_ID: &str = "MRN-AUDIT-7";
const PATIENT_NAME: &str = "VARGA^GRETA";

struct Stored {
    study: String,
    series: String,
    instances: Vec<String>,
}

/// A small phantom study of one patient at DEMO-GH.
async fn store(app: &TestApp) -> Stored {
    let out = tempfile::tempdir().expect("tmp");
    let mut options = PhantomOptions::new(out.path());
    options.rows = 32;
    options.slices = Some(6);
    options.seed = 7;
    options.identity = PatientIdentity {
        patient_id: Some(PATIENT_ID.into()),
        name: Some(PATIENT_NAME.into()),
        birth_date: Some("19580303".into()),
        ..Default::default()
    };
    let report = elysium_phantom::generate(&options).expect("phantom");
    let series = report.series.into_iter().next().expect("series");
    let received = Received::new(Via::Cli, app.site_id("DEMO-GH").await);
    let ingestor = app.state().ingestor;
    for file in series.dicom_files().expect("files") {
        ingestor.ingest(std::fs::read(file).expect("read").into(), &received).await;
    }
    let instances = sqlx::query_scalar("select sop_instance_uid from instance order by instance_number")
        .fetch_all(&app.pool)
        .await
        .expect("instances");
    Stored { study: series.study_uid.clone(), series: series.series_uid.clone(), instances }
}

/// Every GET that carries the patient's data, with the audit action it writes.
fn reads(s: &Stored) -> Vec<(String, &'static str)> {
    let (st, se, i0) = (&s.study, &s.series, &s.instances[0]);
    let instance = format!("/dicomweb/studies/{st}/series/{se}/instances/{i0}");
    vec![
        (format!("/dicomweb/studies?PatientID={PATIENT_ID}"), "dicomweb.search"),
        (format!("/dicomweb/studies/{st}/series"), "dicomweb.search"),
        (format!("/dicomweb/studies/{st}/series/{se}/instances"), "dicomweb.search"),
        (format!("/dicomweb/studies/{st}"), "dicomweb.retrieve"),
        (format!("/dicomweb/studies/{st}/series/{se}"), "dicomweb.retrieve"),
        (instance.clone(), "dicomweb.retrieve"),
        (format!("/dicomweb/studies/{st}/metadata"), "dicomweb.metadata"),
        (format!("/dicomweb/studies/{st}/series/{se}/metadata"), "dicomweb.metadata"),
        (format!("{instance}/metadata"), "dicomweb.metadata"),
        (format!("/api/fn/series_slices?study_uid={st}&series_uid={se}"), "series.view"),
        (format!("{instance}/rendered"), "series.view"),
        (format!("{instance}/frames/1"), "series.view"),
        (format!("/api/fn/hu_at?study_uid={st}&series_uid={se}&sop_instance_uid={i0}&x=3&y=4"), "series.view"),
        (format!("/api/fn/study_screening?study_uid={st}"), "screening.view"),
        (format!("/api/fn/study?study_uid={st}"), "study.view"),
        (format!("/api/v1/studies/{st}/screening"), "screening.view"),
    ]
}

async fn rows(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "select action, actor_username, patient_id from audit_event
         where action not like 'auth.%' and action <> 'demo.seed' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("audit")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_read_of_patient_data_writes_its_audit_row(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let stored = store(&app).await;
    let before = rows(&app).await.len();
    let coordinator = app.signed_in("coordinator").await;
    for (path, action) in reads(&stored) {
        let already = rows(&app).await.len();
        let response = coordinator.get(app.url(&path)).send().await.expect("get");
        assert_eq!(response.status(), 200, "{path}");
        let audit = rows(&app).await;
        // The viewer's slices, frames and HU read-outs are covered by the series view the viewer
        // opened with (one row per user and series); every other read writes its own row.
        let covered = action == "series.view" && !path.contains("series_slices");
        let written: Vec<_> =
            audit[already..].iter().map(|(a, u, p)| (a.as_str(), u.as_deref(), p.as_deref())).collect();
        let expected = if covered { vec![] } else { vec![(action, Some("coordinator"), Some(PATIENT_ID))] };
        assert_eq!(written, expected, "{path}");
    }
    // Exactly one view of the series for its slices, frames and read-outs, one per other read.
    let audit = rows(&app).await;
    let count = |action: &str| audit[before..].iter().filter(|(a, _, _)| a == action).count();
    assert_eq!(count("series.view"), 1, "one view of the series: {audit:?}");
    assert_eq!(count("dicomweb.search"), 3);
    assert_eq!(count("dicomweb.retrieve"), 3);
    assert_eq!(count("dicomweb.metadata"), 3);
    assert_eq!(count("study.view"), 1);
    // The study page's panel and the REST call: the panel's polling is one view, the REST call
    // its own.
    assert_eq!(count("screening.view"), 2);
    let page = coordinator
        .get(app.url(&format!("/api/fn/study_screening?study_uid={}", stored.study)))
        .send()
        .await
        .expect("poll");
    assert_eq!(page.status(), 200);
    let audit = rows(&app).await;
    assert_eq!(
        audit[before..].iter().filter(|(a, _, _)| a == "screening.view").count(),
        2,
        "polling again adds no row"
    );
    // Another user's look is their own view.
    let radiologist = app.signed_in("radiologist").await;
    let slice = format!(
        "/dicomweb/studies/{}/series/{}/instances/{}/rendered",
        stored.study, stored.series, stored.instances[1]
    );
    assert_eq!(radiologist.get(app.url(&slice)).send().await.expect("slice").status(), 200);
    let audit = rows(&app).await;
    assert_eq!(audit.last().map(|r| (r.0.as_str(), r.1.as_deref())), Some(("series.view", Some("radiologist"))));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_read_whose_audit_row_cannot_be_written_sends_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let stored = store(&app).await;
    let coordinator = app.signed_in("coordinator").await;
    // From now on every audit write fails, as with a full disk or a broken audit table.
    sqlx::raw_sql(
        "create function refuse_audit() returns trigger language plpgsql as
           $$ begin raise exception 'audit trail unavailable (test)'; end $$;
         create trigger refuse_audit before insert on audit_event for each row execute function refuse_audit();",
    )
    .execute(&app.pool)
    .await
    .expect("trigger");
    for (path, _) in reads(&stored) {
        let response = coordinator.get(app.url(&path)).send().await.expect("get");
        assert_eq!(response.status(), 503, "{path}");
        let body = response.text().await.expect("body");
        assert!(!body.contains(PATIENT_NAME) && !body.contains(PATIENT_ID), "{path} sent patient data: {body}");
        // DICOMweb and REST: `audit_unavailable` and the message; server functions: `AuditUnavailable`.
        assert!(body.to_lowercase().contains("audit"), "{path}: the refusal says why: {body}");
    }
}
