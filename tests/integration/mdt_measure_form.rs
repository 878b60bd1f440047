//! The case page's measurement form takes the patient position the slice viewer fills in
//! (`position_mm=x,y,z`): a well-formed one is recorded with the measurement, an empty one is no
//! position, and a malformed one is refused in the page's words with nothing recorded.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use serde_json::{Value, json};
use sqlx::PgPool;

/// A larynx case opened directly by the surgeon on a new study at the demo hospital.
async fn larynx_case(app: &TestApp) -> i64 {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ('ENT-POS', 'DEMO-GH', 'TEST^POSITION', 'F', '1960-05-06')
                    on conflict (assigning_authority, patient_id) do update set name = excluded.name returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $1, p.id, (select id from site where code = 'DEMO-GH'), current_date - 5 from p",
    )
    .bind(&uid)
    .execute(&app.pool)
    .await
    .expect("study");
    let surgeon = app.signed_in("surgeon").await;
    let response = surgeon
        .post(app.url("/api/v1/mdt/cases"))
        .json(&json!({"study_uid": uid, "cancer": "larynx", "subsite": "glottic"}))
        .send()
        .await
        .expect("open");
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_measurement_form_takes_a_position_and_refuses_a_malformed_one(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let id = larynx_case(&app).await;
    let radiologist = app.signed_in("radiologist").await;
    let detail = |client: reqwest::Client| {
        let url = app.url(&format!("/api/v1/mdt/cases/{id}"));
        async move { client.get(url).send().await.expect("case").json::<Value>().await.expect("json") }
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let request = radiologist
            .post(app.url(&format!("/mdt/cases/{id}/measurements")))
            .header("origin", app.origin())
            .form(&fields);
        async move {
            let response = request.send().await.expect("form");
            assert_eq!(response.status(), 303);
            response.headers()["location"].to_str().expect("location").to_owned()
        }
    };
    let fields = |version: &Value, size: &str, position: &str| {
        vec![
            ("expected_version", version.to_string()),
            ("kind", "primary".to_owned()),
            ("size_mm", size.to_owned()),
            ("location", "glottis".to_owned()),
            ("slice_index", "3".to_owned()),
            ("position_mm", position.to_owned()),
        ]
    };

    // Malformed: refused, the field named, nothing recorded.
    let before = detail(radiologist.clone()).await;
    for malformed in ["1,2", "1,2,3,4", "a,b,c", "NaN,0,0", "1;2;3", "1,,3", "1e3,0,0"] {
        let location = post(fields(&before["version"], "21.0", malformed)).await;
        let url = reqwest::Url::parse(&app.url(&location)).expect("url");
        assert_eq!(url.path(), format!("/mdt/cases/{id}"));
        let error = url.query_pairs().find(|(k, _)| k == "error").map(|(_, v)| v.into_owned());
        assert_eq!(
            error.as_deref(),
            Some("position_mm: three coordinates in mm separated by commas (x,y,z), or nothing"),
            "{malformed:?}"
        );
    }
    let unchanged = detail(radiologist.clone()).await;
    assert_eq!(unchanged["measurements"], before["measurements"], "a refused form records nothing");
    assert_eq!(unchanged["version"], before["version"]);

    // Well formed (spaces allowed): recorded with the measurement.
    let location = post(fields(&before["version"], "21.0", " -157.5, -140 ,-40.0 ")).await;
    assert_eq!(location, format!("/mdt/cases/{id}?done=measure"));
    let after = detail(radiologist.clone()).await;
    let recorded = after["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .find(|m| m["source"] == "radiologist")
        .cloned()
        .expect("the radiologist's measurement");
    assert_eq!(recorded["size_mm"], 21.0);
    assert_eq!(recorded["slice_index"], 3);
    assert_eq!(recorded["position_mm"], json!([-157.5, -140.0, -40.0]));

    // Empty: no position.
    let location = post(fields(&after["version"], "12.5", "")).await;
    assert_eq!(location, format!("/mdt/cases/{id}?done=measure"));
    let last = detail(radiologist.clone()).await;
    let without = last["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .find(|m| m["source"] == "radiologist" && m["size_mm"] == 12.5)
        .cloned()
        .expect("the second measurement");
    assert_eq!(without["position_mm"], Value::Null);
}
