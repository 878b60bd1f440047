//! Lesion tracking over the real database, server and DICOM store, on the demo's patient whose
//! lung nodule is scanned three times over two years (`server/src/demo/lesions.rs`): each scan
//! the same synthetic patient lying elsewhere in the scanner, the nodule 6, 6.5 and 11 mm in its
//! ground truth. The expected sizes, days and doubling times below are worked out by hand from
//! that ground truth and the published formula, not read back from the code.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, get, post};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The demo patient's three scans stored and screened, and tracking run once.
async fn seeded(pool: &PgPool) -> (TestApp, tempfile::TempDir, String) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = tempfile::tempdir().expect("dir");
    let levels = app::domain::followup::ServiceLevels::default();
    elysium_tests::demo::lesions::seed(pool, &app.state().ingestor, data.path(), &levels).await.expect("demo");
    let placed = elysium_server::lesions::track_pending(pool, app.state().ingestor.store()).await.expect("tracking");
    assert_eq!(placed, 3, "one sighting per scan");
    let id: uuid::Uuid = sqlx::query_scalar("select id from patient where patient_id = $1")
        .bind(elysium_tests::demo::lesions::PATIENT_ID)
        .fetch_one(pool)
        .await
        .expect("patient");
    (app, data, id.to_string())
}

fn close(actual: &Value, expected: f64, tolerance: f64) -> bool {
    actual.as_f64().is_some_and(|a| (a - expected).abs() <= tolerance)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_nodule_is_one_lesion_across_three_scans_of_a_moved_patient_with_its_doubling_time(pool: PgPool) {
    let (app, _data, patient) = seeded(&pool).await;
    let coordinator = app.signed_in("coordinator").await;

    let (status, lesions) = get(&app, &coordinator, &format!("/api/v1/patients/{patient}/lesions")).await;
    assert_eq!(status, 200, "{lesions}");
    let items = lesions["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one nodule, one track: {lesions}");
    let track = &items[0];
    assert_eq!(track["organ"], "lung");
    let sightings = track["sightings"].as_array().expect("sightings");
    let sizes: Vec<f64> = sightings.iter().map(|s| s["diameter_mm"].as_f64().expect("diameter")).collect();
    assert_eq!(sizes.len(), 3);
    for (size, truth) in sizes.iter().zip([6.0, 6.5, 11.0]) {
        assert!((size - truth).abs() < 1e-6, "{sizes:?}");
    }
    assert!(sightings.iter().all(|s| s["aligned"] == true), "every series aligned on anatomy");

    // Scans 730, 379 and 14 days ago. 6 → 6.5 mm in 351 days: VDT = 351 ln 2 / (3 ln(6.5/6))
    // = 351 × 0.693147 / 0.240128 = 1013.2 days (slow); 6.5 → 11 mm in 365 days:
    // 365 × 0.693147 / (3 × 0.526093) = 160.3 days (fast, under NELSON's 400).
    let intervals = track["intervals"].as_array().expect("intervals");
    assert_eq!((intervals[0]["days"].as_i64(), intervals[1]["days"].as_i64()), (Some(351), Some(365)));
    assert!(close(&intervals[0]["doubling_time_days"], 1013.2, 0.5), "{}", intervals[0]);
    assert_eq!(intervals[0]["nelson"], "slow");
    assert!(close(&intervals[1]["doubling_time_days"], 160.3, 0.5), "{}", intervals[1]);
    assert_eq!(intervals[1]["nelson"], "fast");
    // First to latest: 716 days, 716 × 0.693147 / (3 ln(11/6) = 1.818407) = 272.9 days.
    assert!(close(&track["overall"]["doubling_time_days"], 272.9, 0.5), "{}", track["overall"]);

    // Alignment is what matched them: the raw centres of the last two scans lie about 47 mm
    // apart (the patient moved by (-21, 11, -40) mm), far beyond the 15.5 mm tolerance.
    let centre = |s: &Value| -> Vec<f64> {
        s["center_mm"].as_array().expect("centre").iter().filter_map(Value::as_f64).collect()
    };
    let (b, c) = (centre(&sightings[1]), centre(&sightings[2]));
    let raw: f64 = b.iter().zip(&c).map(|(b, c)| (b - c).powi(2)).sum::<f64>().sqrt();
    assert!(raw > 40.0, "raw distance {raw}");

    // The record page carries the same track; the lesion page its growth.
    let (_, record) = get(&app, &coordinator, &format!("/api/v1/patients/{patient}")).await;
    assert_eq!(record["lesions"][0]["id"], track["id"]);
    let (status, detail) = get(&app, &coordinator, &format!("/api/v1/lesions/{}", track["id"])).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["may_edit"], true);
    assert_eq!(detail["track"]["sightings"].as_array().map(Vec::len), Some(3));

    // Placing is the system's and audited; running tracking again places nothing twice.
    assert_eq!(app.audit_rows("lesion.track").await.len(), 3);
    assert_eq!(elysium_server::lesions::track_pending(&pool, app.state().ingestor.store()).await.expect("again"), 0);
    assert_eq!(app.audit_rows("patient.lesions").await.len(), 1, "the view is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_person_splits_a_scan_off_and_joins_it_back_with_reasons_and_refusals_change_nothing(pool: PgPool) {
    let (app, _data, patient) = seeded(&pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let (_, lesions) = get(&app, &radiologist, &format!("/api/v1/patients/{patient}/lesions")).await;
    let track = lesions["items"][0]["id"].as_i64().expect("track");
    let last = lesions["items"][0]["sightings"][2]["id"].as_i64().expect("sighting");
    let snapshot = || async {
        let rows: Vec<(i64, i64)> = sqlx::query_as("select id, track_ref from lesion_sighting order by id")
            .fetch_all(&pool)
            .await
            .expect("sightings");
        rows
    };
    let before = snapshot().await;

    // Refusals: no reason, a sighting of another track, a surgeon, an unknown track.
    let split = format!("/api/v1/lesions/{track}/split");
    assert_eq!(post(&app, &radiologist, &split, &json!({"sighting": last, "reason": " "})).await.0, 422);
    assert_eq!(post(&app, &radiologist, &split, &json!({"sighting": 999_999, "reason": "x"})).await.0, 422);
    let surgeon = app.signed_in("surgeon").await;
    assert_eq!(post(&app, &surgeon, &split, &json!({"sighting": last, "reason": "x"})).await.0, 403);
    assert_eq!(
        post(&app, &radiologist, "/api/v1/lesions/999999/split", &json!({"sighting": last, "reason": "x"})).await.0,
        404
    );
    assert_eq!(snapshot().await, before, "refusals change nothing");

    // The split: the latest scan becomes a track of its own.
    let (status, outcome) = post(
        &app,
        &radiologist,
        &split,
        &json!({"sighting": last, "reason": "A second nodule, not the first one grown"}),
    )
    .await;
    assert_eq!(status, 200, "{outcome}");
    let new_track = outcome["new_track"].as_i64().expect("new track");
    let (_, after) = get(&app, &radiologist, &format!("/api/v1/patients/{patient}/lesions")).await;
    let counts: Vec<usize> = after["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["sightings"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(counts, [2, 1]);

    // Joining a track with itself is refused; joining the split-off scan back restores the track.
    let join = format!("/api/v1/lesions/{track}/join");
    assert_eq!(post(&app, &radiologist, &join, &json!({"other": track, "reason": "x"})).await.0, 422);
    let (status, body) =
        post(&app, &radiologist, &join, &json!({"other": new_track, "reason": "Same nodule after all"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(snapshot().await, before, "every sighting is back on its track");
    let (_, detail) = get(&app, &radiologist, &format!("/api/v1/lesions/{track}")).await;
    let kinds: Vec<&str> =
        detail["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["split", "join"], "both corrections are in the history");
    assert_eq!(app.audit_rows("lesion.split").await.len(), 1);
    assert_eq!(app.audit_rows("lesion.join").await.len(), 1);

    // The history cannot be rewritten.
    let refused = sqlx::query("delete from lesion_track_event").execute(&pool).await;
    assert_eq!(elysium_tests::sqlstate(&refused).as_deref(), Some(elysium_tests::APPEND_ONLY));
    let refused = sqlx::query("delete from lesion_sighting").execute(&pool).await;
    assert_eq!(elysium_tests::sqlstate(&refused).as_deref(), Some(elysium_tests::APPEND_ONLY));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn another_organ_or_a_series_without_a_landmark_starts_its_own_track(pool: PgPool) {
    let (app, _data, patient) = seeded(&pool).await;
    // A kidney finding on the latest scan, where the nodule is.
    let (study, series, centre): (uuid::Uuid, uuid::Uuid, Value) = sqlx::query_as(
        "select study_ref, series_ref, location -> 'center_mm' from finding f
         join patient p on p.id = f.patient_ref where p.patient_id = $1 order by f.study_date desc limit 1",
    )
    .bind(elysium_tests::demo::lesions::PATIENT_ID)
    .fetch_one(&pool)
    .await
    .expect("latest finding");
    let insert = "insert into finding (patient_ref, study_ref, series_ref, site_id, study_date, organ, class_label,
                                       probability, threshold, model_name, model_version, location)
                  select patient_ref, $1, $2, site_id, study_date + 30, $3, $4, 0.8, 0.5, 'test', '1', $5
                  from finding where study_ref = $6 limit 1";
    sqlx::query(insert)
        .bind(study)
        .bind(series)
        .bind("kidney")
        .bind("RCC")
        .bind(json!({"center_mm": centre, "diameter_mm": 12.0}))
        .bind(study)
        .execute(&pool)
        .await
        .expect("kidney finding");
    // A lung finding at the nodule's very position on a later study whose images were never
    // stored: no landmark can be measured, so it is not aligned and matches nothing.
    let later: (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "with st as (insert into study (study_uid, patient_ref, site_id, study_date)
                     select '2.25.4805999', patient_ref, site_id, current_date from study where id = $1 returning id)
         insert into series (series_uid, study_ref, modality) select '2.25.4805999.1', id, 'CT' from st
         returning study_ref, id",
    )
    .bind(study)
    .fetch_one(&pool)
    .await
    .expect("study");
    sqlx::query(insert)
        .bind(later.0)
        .bind(later.1)
        .bind("lung")
        .bind("Cancer")
        .bind(json!({"center_mm": centre, "diameter_mm": 12.0}))
        .bind(study)
        .execute(&pool)
        .await
        .expect("lung finding");
    assert_eq!(elysium_server::lesions::track_pending(&pool, app.state().ingestor.store()).await.expect("tracking"), 2);
    let why: Option<String> = sqlx::query_scalar("select unmeasured from series_anchor where series_ref = $1")
        .bind(later.1)
        .fetch_one(&pool)
        .await
        .expect("anchor row");
    assert!(why.is_some(), "the reason the landmark is missing is kept");

    let coordinator = app.signed_in("coordinator").await;
    let (_, lesions) = get(&app, &coordinator, &format!("/api/v1/patients/{patient}/lesions")).await;
    let mut tracks: Vec<(String, usize, bool)> = lesions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            let sightings = t["sightings"].as_array().expect("sightings");
            (t["organ"].as_str().unwrap_or_default().to_owned(), sightings.len(), sightings[0]["aligned"] == true)
        })
        .collect();
    tracks.sort();
    assert_eq!(tracks, [("kidney".to_owned(), 1, true), ("lung".to_owned(), 1, false), ("lung".to_owned(), 3, true)]);
}
