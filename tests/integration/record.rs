//! The longitudinal patient record over the real database and server, on the demo's returning
//! patients (`server/src/demo/longitudinal.rs`: Grace Okafor, PL-0001 at DEMO-GH with four scans
//! over three years, and RC-7731 at DEMO-RC with two earlier ones, linked as one person): search
//! within the caller's sites, one timeline across linked records newest first and filtered,
//! linking and unlinking with reasons, all audited.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

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

async fn seeded(pool: &PgPool) -> TestApp {
    let app = TestApp::spawn(pool.clone()).await;
    elysium_tests::demo::longitudinal::seed(pool).await.expect("demo");
    app
}

async fn record_id(pool: &PgPool, patient_id: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from patient where patient_id = $1")
        .bind(patient_id)
        .fetch_one(pool)
        .await
        .expect("patient");
    id.to_string()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["patient_id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn search_finds_by_name_words_identifier_birth_date_and_accession_within_ones_sites(pool: PgPool) {
    let app = seeded(&pool).await;
    let admin = app.signed_in("admin").await;
    let coordinator = app.signed_in("coordinator").await;

    // Name words in any order and case, against the stored "Okafor^Grace".
    let (status, found) = get(&app, &admin, "/api/v1/patients?q=grace%20OKAFOR").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(ids(&found), ["PL-0001", "RC-7731"]);
    assert_eq!(found["total"], 2);
    let item =
        found["items"].as_array().expect("items").iter().find(|i| i["patient_id"] == "PL-0001").expect("PL-0001");
    assert_eq!(
        (&item["authority"], &item["birth_date"], &item["studies"]),
        (&json!("DEMO-GH"), &json!("1961-04-17"), &json!(4))
    );
    // The coordinator works at DEMO-GH only: the other hospital's record is not found.
    assert_eq!(ids(&get(&app, &coordinator, "/api/v1/patients?q=okafor").await.1), ["PL-0001"]);
    assert_eq!(ids(&get(&app, &admin, "/api/v1/patients?q=1961-04-17").await.1), ["PL-0001", "RC-7731"]);
    assert_eq!(
        ids(&get(&app, &admin, "/api/v1/patients?q=PL-000").await.1),
        ["PL-0001", "PL-0002", "PL-0003", "PL-0004"]
    );
    // A LIKE wildcard is a character, not a pattern.
    assert_eq!(get(&app, &admin, "/api/v1/patients?q=%25").await.1["total"], 0);
    assert_eq!(get(&app, &admin, "/api/v1/patients?q=_").await.1["total"], 0);
    sqlx::query("update study set accession_number = 'ACC-991' where study_uid = (select min(study_uid) from study st join patient p on p.id = st.patient_ref where p.patient_id = 'PL-0003')")
        .execute(&pool)
        .await
        .expect("accession");
    assert_eq!(ids(&get(&app, &admin, "/api/v1/patients?q=ACC-991").await.1), ["PL-0003"]);

    // A name in three groups, as hospitals in Zhejiang send it: found by its ideographic form,
    // whose components the stored name separates with `^`.
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name) values ('ZJ-1', 'DEMO-GH', 'Zhang^Wei=张^伟=zhang^wei') returning id)
         insert into study (study_uid, patient_ref, site_id) select '2.25.77', p.id, (select id from site where code = 'DEMO-GH') from p",
    )
    .execute(&pool)
    .await
    .expect("patient");
    assert_eq!(ids(&get(&app, &coordinator, "/api/v1/patients?q=%E5%BC%A0%E4%BC%9F").await.1), ["ZJ-1"], "张伟");
    assert_eq!(ids(&get(&app, &coordinator, "/api/v1/patients?q=wei%20zhang").await.1), ["ZJ-1"]);

    // A name stored only in characters (no alphabetic or phonetic group), written by SQL
    // without its pinyin: found by pinyin once the server fills it in, as it does at start.
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name) values ('ZJ-2', 'DEMO-GH', '=欧阳^娜娜') returning id)
         insert into study (study_uid, patient_ref, site_id) select '2.25.78', p.id, (select id from site where code = 'DEMO-GH') from p",
    )
    .execute(&pool)
    .await
    .expect("patient");
    assert!(ids(&get(&app, &coordinator, "/api/v1/patients?q=ouyang").await.1).is_empty(), "no pinyin yet");
    // A surname read otherwise as a surname (单 shàn), and a name whose pinyin was written
    // before surname readings existed: the migration that brought them clears it for the fill-in.
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name) values ('ZJ-3', 'DEMO-GH', '=单^雄信') returning id)
         insert into study (study_uid, patient_ref, site_id) select '2.25.79', p.id, (select id from site where code = 'DEMO-GH') from p",
    )
    .execute(&pool)
    .await
    .expect("patient");
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, name_pinyin) values ('ZJ-4', 'DEMO-GH', '=解^缙', 'jie jin jiejin') returning id)
         insert into study (study_uid, patient_ref, site_id) select '2.25.80', p.id, (select id from site where code = 'DEMO-GH') from p",
    )
    .execute(&pool)
    .await
    .expect("patient");
    sqlx::raw_sql(include_str!("../../migrations/20261211000001_surname_readings.sql"))
        .execute(&pool)
        .await
        .expect("the migration's update");
    // Every name written by SQL here gets its pinyin: 张伟's above, 欧阳娜娜's, 单雄信's, 解缙's.
    assert_eq!(app::service::names::fill_missing(&pool).await.expect("fill in"), 4);
    assert_eq!(app::service::names::fill_missing(&pool).await.expect("again"), 0, "filled in once");
    for q in ["ouyang%20nana", "nana", "ouyangnana", "OuYang"] {
        assert_eq!(ids(&get(&app, &coordinator, &format!("/api/v1/patients?q={q}")).await.1), ["ZJ-2"], "{q}");
    }
    assert!(
        ids(&get(&app, &coordinator, "/api/v1/patients?q=ouyang%20wei").await.1).is_empty(),
        "every word must match"
    );
    for (q, id) in [("shan%20xiongxin", "ZJ-3"), ("dan%20xiongxin", "ZJ-3"), ("xie%20jin", "ZJ-4"), ("jiejin", "ZJ-4")]
    {
        assert_eq!(ids(&get(&app, &coordinator, &format!("/api/v1/patients?q={q}")).await.1), [id], "{q}");
    }

    assert_eq!(get(&app, &admin, "/api/v1/patients?q=%20").await.0, 422, "an empty search is refused");
    assert_eq!(get(&app, &admin, &format!("/api/v1/patients?q={}", "x".repeat(65))).await.0, 422);
    let searches: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'patient.search' and outcome = 'success'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    assert_eq!(searches, 19, "every search above is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_timeline_spans_linked_records_newest_first_within_ones_sites(pool: PgPool) {
    let app = seeded(&pool).await;
    let admin = app.signed_in("admin").await;
    let first = record_id(&pool, "PL-0001").await;

    let (status, timeline) = get(&app, &admin, &format!("/api/v1/patients/{first}/timeline")).await;
    assert_eq!(status, 200, "{timeline}");
    let items = timeline["items"].as_array().expect("items");
    let studies: Vec<(&str, &str)> = items
        .iter()
        .filter(|i| i["kind"] == "study")
        .map(|i| (i["patient_id"].as_str().expect("id"), i["day"].as_str().expect("day")))
        .collect();
    // Four scans here and two at the other hospital (1830 and 1480 days ago), newest first.
    assert_eq!(studies.len(), 6, "{studies:?}");
    assert_eq!(studies.iter().filter(|(p, _)| *p == "RC-7731").count(), 2);
    assert!(studies.windows(2).all(|w| w[0].1 >= w[1].1), "newest first: {studies:?}");
    assert_eq!(studies.last().map(|s| s.0), Some("RC-7731"), "the oldest scan is the other hospital's");
    let chronic: Vec<&Value> = items.iter().filter(|i| i["kind"] == "chronic").collect();
    assert_eq!(chronic.len(), 1);
    assert_eq!(chronic[0]["detail"]["condition"], "steatosis");
    assert_eq!(chronic[0]["detail"]["value"].as_f64(), Some(36.0));

    let (_, only) = get(&app, &admin, &format!("/api/v1/patients/{first}/timeline?kind=chronic")).await;
    assert!(
        only["items"].as_array().expect("items").iter().all(|i| i["kind"] == "chronic" || i["kind"] == "chronic_event")
    );
    let (status, bad) = get(&app, &admin, &format!("/api/v1/patients/{first}/timeline?kind=x-ray")).await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("chronic"), "the valid kinds are listed: {bad}");
    assert_eq!(get(&app, &admin, &format!("/api/v1/patients/{first}/timeline?organ=spleen")).await.0, 422);

    // The coordinator sees this hospital's scans, and is told two others exist.
    let coordinator = app.signed_in("coordinator").await;
    let (status, record) = get(&app, &coordinator, &format!("/api/v1/patients/{first}")).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["hidden_studies"], 2);
    assert_eq!(record["timeline"].as_array().expect("items").iter().filter(|i| i["kind"] == "study").count(), 4);
    let liver: Vec<f64> =
        record["biomarkers"].as_array().expect("points").iter().filter_map(|p| p["liver_hu"].as_f64()).collect();
    assert_eq!(liver, [56.0, 49.0, 43.0, 36.0], "the liver scan by scan, oldest first");
    // A record only at another site is unknown to them.
    let other = record_id(&pool, "RC-7731").await;
    assert_eq!(get(&app, &coordinator, &format!("/api/v1/patients/{other}")).await.0, 404);
    assert_eq!(get(&app, &coordinator, "/api/v1/patients/not-a-uuid").await.0, 404);
    let views: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'patient.view' and patient_id = 'PL-0001'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    // The two timelines and the coordinator's record; the refused filters show nothing.
    assert_eq!(views, 3, "every view is audited");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn records_are_linked_and_unlinked_with_reasons_never_merged(pool: PgPool) {
    let app = seeded(&pool).await;
    let admin = app.signed_in("admin").await;
    let first = record_id(&pool, "PL-0001").await;
    let second = record_id(&pool, "PL-0002").await;
    let links = format!("/api/v1/patients/{second}/links");

    let same_site = json!({ "patient_id": "PL-0003", "authority": "DEMO-GH", "reason": "Same person" });
    let (status, body) = post(&app, &admin, &links, &same_site).await;
    assert_eq!(status, 422, "one authority's records are never linked: {body}");
    assert!(body.to_string().contains("authority"), "{body}");
    let unknown = json!({ "patient_id": "NOPE", "authority": "DEMO-RC", "reason": "x" });
    assert_eq!(post(&app, &admin, &links, &unknown).await.0, 422);
    let no_reason = json!({ "patient_id": "RC-7731", "authority": "DEMO-RC", "reason": "  " });
    assert_eq!(post(&app, &admin, &links, &no_reason).await.0, 422);
    // RC-7731 is linked with PL-0001 already (the demo): linking it with PL-0002 too joins the
    // three; the same pair twice is refused.
    let again = json!({ "patient_id": "RC-7731", "authority": "DEMO-RC", "reason": "Same person" });
    assert_eq!(post(&app, &admin, &format!("/api/v1/patients/{first}/links"), &again).await.0, 409);
    let surgeon = app.signed_in("surgeon").await;
    assert_eq!(post(&app, &surgeon, &links, &again).await.0, 403);

    let (status, link) = post(&app, &admin, &links, &again).await;
    assert_eq!(status, 201, "{link}");
    let (_, record) = get(&app, &admin, &format!("/api/v1/patients/{second}")).await;
    let linked: Vec<&str> =
        record["linked"].as_array().expect("linked").iter().filter_map(|p| p["patient_id"].as_str()).collect();
    assert_eq!(linked.len(), 2, "through RC-7731, PL-0001 too: {linked:?}");
    let patients: i64 = sqlx::query_scalar("select count(*) from patient").fetch_one(&pool).await.expect("n");
    assert_eq!(patients, 5, "no row merged or removed");

    let end = format!("/api/v1/patients/{second}/links/{}/end", link["id"]);
    assert_eq!(post(&app, &admin, &end, &json!({ "reason": "" })).await.0, 422);
    let response = admin.post(app.url(&end)).json(&json!({ "reason": "Linked by mistake" })).send().await.expect("end");
    assert_eq!(response.status(), 204);
    assert_eq!(post(&app, &admin, &end, &json!({ "reason": "again" })).await.0, 404, "already ended");
    let (_, record) = get(&app, &admin, &format!("/api/v1/patients/{second}")).await;
    assert_eq!(record["linked"], json!([]));
    let ended = &record["links"][0];
    assert_eq!((&ended["active"], &ended["unlink_reason"]), (&json!(false), &json!("Linked by mistake")));

    let audit: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action like 'patient.%link' and outcome = 'success' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(audit, ["patient.link", "patient.link", "patient.unlink"], "the demo's link, this one, its end");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_record_page_links_with_a_form_and_words_refusals(pool: PgPool) {
    let app = seeded(&pool).await;
    let admin = app.signed_in("admin").await;
    let second = record_id(&pool, "PL-0002").await;
    let page = admin.get(app.url(&format!("/patients/{second}"))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let form = admin
        .post(app.url(&format!("/patients/{second}/links")))
        .header("origin", app.origin())
        .form(&[("patient_id", "RC-7731"), ("authority", "DEMO-RC"), ("reason", "Confirmed by phone")])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 303);
    assert_eq!(form.headers()["location"], format!("/patients/{second}?done=link").as_str());
    let again = admin
        .post(app.url(&format!("/patients/{second}/links")))
        .header("origin", app.origin())
        .form(&[("patient_id", "RC-7731"), ("authority", "DEMO-RC"), ("reason", "Twice")])
        .send()
        .await
        .expect("form");
    let location = again.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with(&format!("/patients/{second}?error=")), "{location}");
    let coordinator = app.signed_in("radiologist").await;
    let refused = coordinator
        .post(app.url(&format!("/patients/{second}/links")))
        .header("origin", app.origin())
        .form(&[("patient_id", "RC-7731"), ("authority", "DEMO-RC"), ("reason", "x")])
        .send()
        .await
        .expect("form");
    assert_eq!(refused.status(), 403, "radiologists do not link records");
}

/// Records `event` on finding `id` at its current version.
async fn step(app: &TestApp, client: &Client, id: i64, mut event: Value) -> (u16, Value) {
    let (_, current) = get(app, client, &format!("/api/v1/findings/{id}")).await;
    event["expected_version"] = current["version"].clone();
    post(app, client, &format!("/api/v1/findings/{id}/events"), &event).await
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_benign_finding_under_surveillance_is_due_on_the_list_and_the_timeline(pool: PgPool) {
    let app = seeded(&pool).await;
    let study: String = sqlx::query_scalar(
        "select st.study_uid from study st join patient p on p.id = st.patient_ref
         where p.patient_id = 'PL-0003' order by st.study_date desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .expect("study");
    let id = elysium_tests::finding(&pool, &study, "kidney", "RCC", 0.7, 3).await;
    let radiologist = app.signed_in("radiologist").await;
    let (status, body) = step(&app, &radiologist, id, json!({ "event": "set_surveillance", "months": 12 })).await;
    assert_eq!(status, 422, "not while the finding is open: {body}");
    let today = time::OffsetDateTime::now_utc().date();
    for event in [
        json!({ "event": "start_review" }),
        json!({ "event": "order_workup", "modality": "contrast_ct", "due_date": (today + time::Duration::days(7)).to_string() }),
        json!({ "event": "schedule_workup", "date": today.to_string() }),
        json!({ "event": "complete_workup" }),
        json!({ "event": "record_outcome", "outcome": "benign", "diagnosis": "Bosniak II cyst", "date": today.to_string() }),
    ] {
        let (status, body) = step(&app, &radiologist, id, event.clone()).await;
        assert_eq!(status, 200, "{event}: {body}");
    }
    // The form offers the kidney's default interval with its source (Bosniak 2019, IIF: 6 months).
    let page = elysium_tests::get_text(&app, &radiologist, &format!("/findings/{id}")).await;
    assert!(page.contains("6 (Bosniak 2019: class IIF)."), "the kidney's default on the form");
    assert!(page.contains(r#"name="months" min="1" max="60" value="6""#), "preset to it");
    assert_eq!(step(&app, &radiologist, id, json!({ "event": "set_surveillance", "months": 61 })).await.0, 422);
    assert_eq!(step(&app, &radiologist, id, json!({ "event": "set_surveillance", "months": 0 })).await.0, 422);

    // PostgreSQL's own month arithmetic is the oracle for the due dates.
    let in_months = |months: i32| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, time::Date>("select (current_date + make_interval(months => $1))::date")
                .bind(months)
                .fetch_one(&pool)
                .await
                .expect("date")
                .to_string()
        }
    };
    let (status, body) = step(&app, &radiologist, id, json!({ "event": "set_surveillance", "months": 12 })).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("benign")), "{body}");
    let (_, finding) = get(&app, &radiologist, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(finding["surveillance_due"], json!(in_months(12).await));
    let coordinator = app.signed_in("coordinator").await;
    let listed = |page: Value| page["items"].as_array().expect("items").iter().any(|i| i["id"] == id);
    assert!(!listed(get(&app, &coordinator, "/api/v1/worklist?quick=surveillance").await.1), "a year away");

    let (status, _) = step(&app, &radiologist, id, json!({ "event": "set_surveillance", "months": 1 })).await;
    assert_eq!(status, 200);
    let (status, page) = get(&app, &coordinator, "/api/v1/worklist?quick=surveillance").await;
    assert_eq!(status, 200, "{page}");
    assert!(listed(page.clone()), "due next month: {page}");
    let item = page["items"].as_array().expect("items").iter().find(|i| i["id"] == id).expect("item").clone();
    assert_eq!(item["due_date"], json!(in_months(1).await), "the list's date is the imaging's");

    let patient = record_id(&pool, "PL-0003").await;
    let (_, timeline) = get(&app, &coordinator, &format!("/api/v1/patients/{patient}/timeline?kind=finding")).await;
    let due: Vec<&Value> =
        timeline["items"].as_array().expect("items").iter().filter(|i| i["kind"] == "surveillance_due").collect();
    assert_eq!(due.len(), 1, "{timeline}");
    assert_eq!(
        (due[0]["day"].as_str(), due[0]["detail"]["months"].as_i64()),
        (Some(in_months(1).await.as_str()), Some(1))
    );

    // Ending it (no interval) takes it off the list; reopening the finding would too.
    let (status, _) = step(&app, &radiologist, id, json!({ "event": "set_surveillance" })).await;
    assert_eq!(status, 200);
    assert!(!listed(get(&app, &coordinator, "/api/v1/worklist?quick=surveillance").await.1));
    let (_, finding) = get(&app, &radiologist, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(finding["surveillance_due"], Value::Null);
}
