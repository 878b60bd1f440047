//! Sites: administrators create a site and edit its name, patient ID assigning authority and
//! calling AE titles (validated as DICOM AE titles, each belonging to one site at most), by API
//! and by form; every change is audited with the site before and after; an authority that
//! patients are filed under stays; coordinators reach none of it.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, error_code, fixture, stow};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

async fn sites(app: &TestApp, admin: &Client) -> Value {
    let response = admin.get(app.url("/api/v1/admin/sites")).send().await.expect("sites");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn create(app: &TestApp, admin: &Client, body: &Value) -> reqwest::Response {
    admin.post(app.url("/api/v1/admin/sites")).json(body).send().await.expect("create")
}

async fn update(app: &TestApp, admin: &Client, code: &str, body: &Value) -> reqwest::Response {
    admin.post(app.url(&format!("/api/v1/admin/sites/{code}"))).json(body).send().await.expect("update")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_administrator_creates_and_edits_a_site_audited_before_and_after(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;

    let body =
        json!({ "code": " demo-ec ", "name": " East Campus ", "ae_titles": ["EC-CT1", "  EC PACS ", "EC-CT1", ""] });
    let response = create(&app, &admin, &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let expected = json!({
        "code": "DEMO-EC", "name": "East Campus", "patient_id_authority": "DEMO-EC", "ae_titles": ["EC PACS", "EC-CT1"],
    });
    assert_eq!(created, expected);
    assert_eq!(
        sites(&app, &admin).await,
        json!([
            expected,
            { "code": "DEMO-GH", "name": "Demo General Hospital", "patient_id_authority": "DEMO-GH", "ae_titles": [] },
            { "code": "DEMO-RC", "name": "Riverside Clinic", "patient_id_authority": "DEMO-RC", "ae_titles": [] },
        ])
    );

    let edit = json!({ "name": "East Campus Hospital", "patient_id_authority": "2.16.840.1.113883.19.5", "ae_titles": ["EC-CT1", "EC-CT2"] });
    let response = update(&app, &admin, "demo-ec", &edit).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({
            "code": "DEMO-EC", "name": "East Campus Hospital", "patient_id_authority": "2.16.840.1.113883.19.5",
            "ae_titles": ["EC-CT1", "EC-CT2"],
        })
    );

    let created_rows = app.audit_rows("site.create").await;
    assert_eq!(created_rows.len(), 1, "{created_rows:?}");
    assert_eq!((created_rows[0].0.as_deref(), created_rows[0].1.as_str()), (Some("admin"), "success"));
    assert_eq!(created_rows[0].2["after"], expected);
    let updated_rows = app.audit_rows("site.update").await;
    assert_eq!(updated_rows.len(), 1, "{updated_rows:?}");
    assert_eq!(updated_rows[0].2["before"], expected);
    assert_eq!(
        updated_rows[0].2["after"],
        json!({
            "code": "DEMO-EC", "name": "East Campus Hospital", "patient_id_authority": "2.16.840.1.113883.19.5",
            "ae_titles": ["EC-CT1", "EC-CT2"],
        })
    );

    // The new site is one users can be given.
    let user =
        json!({ "display_name": "Cora Coordinator", "active": true, "roles": ["coordinator"], "sites": ["DEMO-EC"] });
    let response = admin.post(app.url("/api/v1/admin/users/coordinator")).json(&user).send().await.expect("user");
    assert_eq!(response.status(), 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn invalid_and_conflicting_sites_are_refused_and_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let before = sites(&app, &admin).await;

    let invalid = [
        json!({ "code": "X", "name": "Too short a code" }),
        json!({ "code": "DEMO_EC", "name": "Underscore" }),
        json!({ "code": "DEMO-EC", "name": "  " }),
        json!({ "code": "DEMO-EC", "name": "East", "patient_id_authority": "EAST\\CAMPUS" }),
        json!({ "code": "DEMO-EC", "name": "East", "ae_titles": ["ABCDEFGHIJKLMNOPQ"] }),
        json!({ "code": "DEMO-EC", "name": "East", "ae_titles": ["EC\\CT"] }),
        json!({ "code": "DEMO-EC", "name": "East", "ae_titles": ["影像科"] }),
        json!({ "code": "DEMO-EC", "name": "East", "users": ["admin"] }),
    ];
    for body in &invalid {
        let response = create(&app, &admin, body).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(error_code(response).await, "validation_failed", "{body}");
    }
    let conflicts = [
        json!({ "code": "demo-gh", "name": "Another General" }),
        json!({ "code": "DEMO-EC", "name": "East", "patient_id_authority": "DEMO-RC" }),
    ];
    for body in &conflicts {
        let response = create(&app, &admin, body).await;
        assert_eq!(response.status(), 409, "{body}");
        assert_eq!(error_code(response).await, "conflict", "{body}");
    }
    let bad_edits = [
        ("DEMO-GH", json!({ "name": "", "patient_id_authority": "DEMO-GH", "ae_titles": [] }), 422),
        ("DEMO-GH", json!({ "name": "General", "patient_id_authority": "", "ae_titles": [] }), 422),
        ("DEMO-GH", json!({ "name": "General", "patient_id_authority": "DEMO-RC", "ae_titles": [] }), 409),
        ("DEMO-GH", json!({ "name": "General", "patient_id_authority": "DEMO-GH" }), 422),
        ("DEMO-XX", json!({ "name": "Nowhere", "patient_id_authority": "XX", "ae_titles": [] }), 404),
    ];
    for (code, body, status) in &bad_edits {
        assert_eq!(update(&app, &admin, code, body).await.status(), *status, "{code} {body}");
    }
    assert_eq!(sites(&app, &admin).await, before, "nothing changed");
    assert!(app.audit_rows("site.create").await.is_empty());
    assert!(app.audit_rows("site.update").await.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_ae_title_belongs_to_one_site(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let gh = |titles: &[&str]| json!({ "name": "Demo General Hospital", "patient_id_authority": "DEMO-GH", "ae_titles": titles });
    let rc =
        |titles: &[&str]| json!({ "name": "Riverside Clinic", "patient_id_authority": "DEMO-RC", "ae_titles": titles });
    assert_eq!(update(&app, &admin, "DEMO-GH", &gh(&["GH-PACS", "GH-CT"])).await.status(), 200);

    let taken = update(&app, &admin, "DEMO-RC", &rc(&["RC-PACS", " GH-PACS"])).await;
    assert_eq!(taken.status(), 409);
    let error: Value = taken.json().await.expect("json");
    assert_eq!(error["error"]["message"], "ae_titles: already another site's: GH-PACS (site DEMO-GH)");
    let new_site = create(&app, &admin, &json!({ "code": "DEMO-EC", "name": "East", "ae_titles": ["GH-CT"] })).await;
    assert_eq!(new_site.status(), 409);
    // Saving a site with its own titles again is no conflict with itself.
    assert_eq!(update(&app, &admin, "DEMO-GH", &gh(&["GH-PACS", "GH-CT"])).await.status(), 200);

    // A title moves by leaving one site, then joining the other.
    assert_eq!(update(&app, &admin, "DEMO-GH", &gh(&["GH-CT"])).await.status(), 200);
    assert_eq!(update(&app, &admin, "DEMO-RC", &rc(&["RC-PACS", "GH-PACS"])).await.status(), 200);
    let titles: Vec<(String, Value)> = sites(&app, &admin)
        .await
        .as_array()
        .expect("list")
        .iter()
        .map(|s| (s["code"].as_str().expect("code").to_owned(), s["ae_titles"].clone()))
        .collect();
    assert_eq!(
        titles,
        [("DEMO-GH".to_owned(), json!(["GH-CT"])), ("DEMO-RC".to_owned(), json!(["GH-PACS", "RC-PACS"]))]
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_authority_stays_once_patients_are_filed_under_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let edit = json!({ "name": "Demo General Hospital", "patient_id_authority": "GH-MRN", "ae_titles": [] });
    // No patient yet: a mistyped authority can still be put right.
    assert_eq!(
        update(
            &app,
            &admin,
            "DEMO-RC",
            &json!({ "name": "Riverside Clinic", "patient_id_authority": "RC-MRN", "ae_titles": [] })
        )
        .await
        .status(),
        200
    );

    let (status, _) = stow(&app, &admin, "/dicomweb/studies?site=DEMO-GH", &[fixture("pydicom/CT_small.dcm")]).await;
    assert_eq!(status, 200);
    let refused = update(&app, &admin, "DEMO-GH", &edit).await;
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.expect("json");
    assert_eq!(
        error["error"]["message"],
        "patient_id_authority: patients are filed under DEMO-GH; changing it would split their records"
    );
    // The name and AE titles may still change.
    let keep = json!({ "name": "General Hospital", "patient_id_authority": "DEMO-GH", "ae_titles": ["GH-PACS"] });
    assert_eq!(update(&app, &admin, "DEMO-GH", &keep).await.status(), 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sites_page_lists_creates_and_edits_by_form(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let page = admin.get(app.url("/admin/sites")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("data-site=\"DEMO-GH\"") && page.contains("data-site=\"DEMO-RC\""), "every site");
    assert!(page.contains("action=\"/admin/sites\""), "the new-site form");
    assert!(page.contains("action=\"/admin/sites/DEMO-GH\""), "an edit form per site");
    assert!(page.contains("href=\"/admin/sites\""), "in the administrator's navigation");
    let chinese = elysium_tests::get_text_in_chinese(&app, &admin, "/admin/sites").await;
    assert!(chinese.contains("患者 ID 分配机构") && chinese.contains("新建院区"), "in Chinese too");

    let created = admin
        .post(app.url("/admin/sites"))
        .header("origin", app.origin())
        .form(&[
            ("code", "demo-wc"),
            ("name", "West Clinic"),
            ("patient_id_authority", ""),
            ("ae_titles", "WC-CT\r\nWC PACS\r\n"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/admin/sites?created=DEMO-WC");
    let page = admin.get(app.url("/admin/sites")).send().await.expect("page").text().await.expect("html");
    let row = page.split("data-site=\"DEMO-WC\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("row");
    assert!(row.contains("West Clinic") && row.contains("WC PACS") && row.contains("WC-CT"), "{row}");

    let refused = admin
        .post(app.url("/admin/sites/DEMO-WC"))
        .header("origin", app.origin())
        .form(&[("name", "West Clinic"), ("patient_id_authority", "DEMO-WC"), ("ae_titles", "WAY-TOO-LONG-AE-TITLE")])
        .send()
        .await
        .expect("form");
    let back = refused.headers()["location"].to_str().expect("location").to_owned();
    assert!(back.starts_with("/admin/sites?error="), "{back}");
    let shown = admin.get(app.url(&back)).send().await.expect("page").text().await.expect("html");
    assert!(shown.contains("is not an AE title"), "the reason is shown");

    let saved = admin
        .post(app.url("/admin/sites/DEMO-WC"))
        .header("origin", app.origin())
        .form(&[("name", "West Clinic"), ("patient_id_authority", "DEMO-WC"), ("ae_titles", "WC-CT")])
        .send()
        .await
        .expect("form");
    assert_eq!(saved.headers()["location"], "/admin/sites?saved=DEMO-WC");
    let listed = sites(&app, &admin).await;
    let west = listed.as_array().expect("list").iter().find(|s| s["code"] == "DEMO-WC").expect("west");
    assert_eq!(west["ae_titles"], json!(["WC-CT"]));
    assert_eq!(app.audit_rows("site.update").await.len(), 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn coordinators_reach_no_site_administration(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;
    assert_eq!(coordinator.get(app.url("/api/v1/admin/sites")).send().await.expect("list").status(), 403);
    assert_eq!(coordinator.get(app.url("/api/fn/admin/site_details")).send().await.expect("fn").status(), 403);
    assert_eq!(coordinator.get(app.url("/admin/sites")).send().await.expect("page").status(), 403);
    let body = json!({ "code": "DEMO-EC", "name": "East" });
    assert_eq!(create(&app, &coordinator, &body).await.status(), 403);
    let edit = json!({ "name": "Mine now", "patient_id_authority": "DEMO-GH", "ae_titles": ["ROGUE"] });
    assert_eq!(update(&app, &coordinator, "DEMO-GH", &edit).await.status(), 403);
    for path in ["/admin/sites", "/admin/sites/DEMO-GH"] {
        let form = coordinator
            .post(app.url(path))
            .header("origin", app.origin())
            .form(&[("code", "DEMO-EC"), ("name", "East"), ("ae_titles", "ROGUE")])
            .send()
            .await
            .expect("form");
        assert_eq!(form.status(), 403, "{path}");
    }
    let admin = app.signed_in("admin").await;
    let listed = sites(&app, &admin).await;
    assert_eq!(listed.as_array().expect("list").len(), 2);
    assert!(listed.to_string().contains("\"ae_titles\":[]") && !listed.to_string().contains("ROGUE"));
}
