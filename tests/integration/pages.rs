//! Server-rendered pages: complete HTML for each role without JavaScript.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_role_gets_its_home_and_navigation(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let expectations = [
        ("admin", "Administration", true),
        ("coordinator", "Triage and follow-up", false),
        ("surgeon", "MDT staging", false),
        ("radiologist", "Finding review", false),
    ];
    for (role, card, sees_admin) in expectations {
        let client = app.signed_in(role).await;
        let response = client.get(app.url("/")).send().await.expect("home");
        assert_eq!(response.status(), 200, "{role}");
        let html = response.text().await.expect("html");
        assert!(html.contains(card), "{role} home shows {card}");
        assert!(html.contains("Sign out"), "{role}");
        assert_eq!(html.contains("href=\"/admin/users\""), sees_admin, "{role} admin navigation");
        assert!(html.contains("/pkg/elysium.js"), "the page loads the hydration bundle");
        // The coordinator's way to the chronic pathway, the surveillance list and the patient
        // record; the navigation offers the chronic list to those who work it.
        let longitudinal = ["href=\"/chronic\"", "href=\"/worklist?quick=surveillance\"", "href=\"/patients\""];
        assert_eq!(longitudinal.iter().all(|link| html.contains(link)), role == "coordinator", "{role} home links");
        assert_eq!(html.contains("href=\"/chronic\""), role != "surgeon", "{role} chronic navigation");
        assert!(html.contains("href=\"/patients\""), "{role} patient navigation");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn admin_pages_render_their_tables(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let users = admin.get(app.url("/admin/users")).send().await.expect("users").text().await.expect("html");
    assert!(users.contains("Cora Coordinator") && users.contains("DEMO-RC"));
    let audit = admin.get(app.url("/admin/audit")).send().await.expect("audit").text().await.expect("html");
    assert!(audit.contains("auth.login"));
    let locks = admin.get(app.url("/admin/signin-locks")).send().await.expect("locks").text().await.expect("html");
    assert!(locks.contains("No username is locked"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_pages_are_404(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let client = app.signed_in("coordinator").await;
    let response = client.get(app.url("/no-such-page")).send().await.expect("get");
    assert_eq!(response.status(), 404);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_study_list_and_page_show_stored_studies_and_audit_the_view(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut conn = app.pool.acquire().await.expect("conn");
    let general = elysium_db::sites::by_code(&mut conn, "DEMO-GH").await.expect("query").expect("site");
    drop(conn);
    let received = elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, general.id);
    let outcome = app.state().ingestor.ingest(elysium_tests::fixture("pydicom/CT_small.dcm").into(), &received).await;
    let elysium_server::ingest::Outcome::Stored(stored) = outcome else { panic!("{outcome:?}") };

    let coordinator = app.signed_in("coordinator").await;
    let list = coordinator.get(app.url("/studies")).send().await.expect("list").text().await.expect("html");
    assert!(list.contains(&stored.patient_id), "the list shows the patient ID");
    assert!(list.contains(&format!("/studies/{}", stored.study_uid)));
    let page = coordinator.get(app.url(&format!("/studies/{}", stored.study_uid))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("data-testid=\"series\"") && html.contains("128 × 128"), "series table with the matrix");
    // One 128 × 128 slice is far too little to screen: the verdict says so.
    assert!(html.contains("not eligible"), "eligibility verdict");
    // The failed rules are labelled in the page's language (the checker's sentences are English).
    let rules = |html: &str| {
        html.split("data-testid=\"eligibility-rules\">")
            .nth(1)
            .and_then(|r| r.split("</div>").next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(rules(&html).contains("Too few slices"), "{}", rules(&html));
    let views: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("select actor_username, patient_id from audit_event where action = 'study.view'")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(views, [(Some("coordinator".to_owned()), Some(stored.patient_id.clone()))]);
    let chinese =
        elysium_tests::get_text_in_chinese(&app, &coordinator, &format!("/studies/{}", stored.study_uid)).await;
    assert!(rules(&chinese).contains("层数不足"), "{}", rules(&chinese));

    // A surgeon at the general hospital may look; nobody outside its sites sees it.
    let none = coordinator
        .get(app.url("/studies?patient_id=someone-else"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("html");
    assert!(none.contains("No studies match"));
}

/// The page's text with Leptos's hydration markers taken out (`<!>` between reactive pieces).
fn page_text(html: &str) -> String {
    html.replace("<!>", "").replace("<!---->", "")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_audit_page_searches_pages_and_folds_each_detail(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // 60 reads of one patient, each with a detail, and one event about somebody else.
    sqlx::raw_sql(
        r#"insert into audit_event (occurred_at, actor_username, actor_roles, action, target_type, target_id, patient_id, outcome, detail)
           select timestamptz '2026-12-01 00:00+00' + n * interval '1 minute', 'radiologist', '{radiologist}', 'series.view',
                  'study', '1.2.3', 'MRN-AUDIT', 'success', jsonb_build_object('series_uid', '1.2.3.' || n, 'slices', n)
           from generate_series(1, 60) as n;
           insert into audit_event (actor_username, action, patient_id, outcome) values ('coordinator', 'study.view', 'MRN-OTHER', 'success');"#,
    )
    .execute(&app.pool)
    .await
    .expect("rows");
    let admin = app.signed_in("admin").await;
    let get = |path: &str| {
        let request = admin.get(app.url(path));
        async move {
            let response = request.send().await.expect("get");
            assert_eq!(response.status(), 200);
            page_text(&response.text().await.expect("html"))
        }
    };
    let rows = |html: &str| html.matches("data-testid=\"audit-row\"").count();

    let first = get("/admin/audit?patient_id=MRN-AUDIT&action=series.view").await;
    assert!(first.contains("Access to patient MRN-AUDIT"), "the title names the patient");
    assert!(first.contains("60 event(s) · page 1 of 2"), "total and pages");
    assert_eq!(rows(&first), 50);
    assert_eq!(first.matches("<details").count(), 50, "one folded detail per row");
    assert!(!first.contains("<details open"), "folded by default");
    assert!(first.contains("<dt>series_uid</dt><dd>1.2.3.60</dd>"), "the detail as a list, newest first");
    assert!(!first.contains("MRN-OTHER"), "only the filtered patient");
    assert!(first.contains("data-testid=\"audit\""));
    assert!(first.contains("value=\"MRN-AUDIT\""), "the form keeps the filter");
    assert!(
        first.contains("href=\"/admin/audit?action=series.view&amp;page=1&amp;patient_id=MRN-AUDIT\""),
        "next page keeps the filter"
    );
    assert!(
        first.contains("href=\"/api/v1/audit.csv?action=series.view&amp;lang=en&amp;patient_id=MRN-AUDIT\""),
        "the export keeps the filter, in the page's language"
    );
    assert!(first.contains("data-testid=\"reads-only\""), "one patient's page offers the reads only");

    let second = get("/admin/audit?patient_id=MRN-AUDIT&action=series.view&page=1").await;
    assert!(second.contains("60 event(s) · page 2 of 2"));
    assert_eq!(rows(&second), 10);
    assert!(second.contains("rel=\"prev\""));

    let refused = admin.get(app.url("/admin/audit?outcome=perhaps")).send().await.expect("refused");
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.expect("html");
    assert!(refused.contains("data-testid=\"error\"") && refused.contains("outcome"), "a bad filter names its field");
    assert!(refused.contains("data-testid=\"audit-filters\""), "with the form to correct it");

    // A fresh page is one page of events, however long the trail.
    let fresh = get("/admin/audit").await;
    assert_eq!(rows(&fresh), 50);
    assert!(fresh.contains("Audit log") && !fresh.contains("Access to patient"));
    let searches: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'audit.search'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(searches, 3, "each view of the page is a search of the trail, audited (the refused one read nothing)");

    // A Chinese reader downloads the export in Chinese.
    let chinese =
        elysium_tests::get_text_in_chinese(&app, &admin, "/admin/audit?patient_id=MRN-AUDIT&action=series.view").await;
    assert!(
        chinese.contains("href=\"/api/v1/audit.csv?action=series.view&amp;lang=zh-Hans&amp;patient_id=MRN-AUDIT\""),
        "the export in the page's language"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn administrators_find_who_looked_at_a_patient_from_the_study_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let general = app.site_id("DEMO-GH").await;
    let received = elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, general);
    let outcome = app.state().ingestor.ingest(elysium_tests::fixture("pydicom/CT_small.dcm").into(), &received).await;
    let elysium_server::ingest::Outcome::Stored(stored) = outcome else { panic!("{outcome:?}") };
    let page = format!("/studies/{}", stored.study_uid);
    let href = format!("/admin/audit?patient_id={}", stored.patient_id);

    let admin = app.signed_in("admin").await;
    let html = elysium_tests::get_text(&app, &admin, &page).await;
    assert!(html.contains("Who looked at this patient") && html.contains(&format!("href=\"{href}\"")), "{href}");
    let access = page_text(&elysium_tests::get_text(&app, &admin, &href).await);
    assert!(access.contains("study.view"), "the administrator's own look is on the trail");

    let coordinator = app.signed_in("coordinator").await;
    let html = elysium_tests::get_text(&app, &coordinator, &page).await;
    assert!(!html.contains("Who looked at this patient"), "administrators only");
}

/// The finding page says in words, not by colour alone, which classes reach the operating
/// threshold, and cites the surveillance default in the reader's language.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_finding_page_marks_the_threshold_in_words_and_cites_the_default_in_both_languages(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ('PAGE-A11Y', 'DEMO-GH', 'TEST^A11Y', 'F', '1962-03-04') returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $1, p.id, (select id from site where code = 'DEMO-GH'), current_date - 2 from p",
    )
    .bind(&uid)
    .execute(&pool)
    .await
    .expect("study");
    let above = elysium_tests::finding(&pool, &uid, "liver", "HCC", 0.8, 0).await;
    let below = elysium_tests::finding(&pool, &uid, "liver", "HCC", 0.3, 0).await;
    let radiologist = app.signed_in("radiologist").await;
    let marker = "data-testid=\"above-threshold\"";
    let english = elysium_tests::get_text(&app, &radiologist, &format!("/findings/{above}")).await;
    assert_eq!(english.matches(marker).count(), 1, "{english}");
    assert!(english.contains("at or above the threshold"), "{english}");
    let chinese = elysium_tests::get_text_in_chinese(&app, &radiologist, &format!("/findings/{above}")).await;
    assert!(chinese.contains("达到或超过阈值"), "{chinese}");
    let under = elysium_tests::get_text(&app, &radiologist, &format!("/findings/{below}")).await;
    assert_eq!(under.matches(marker).count(), 0, "below the threshold: no marker");

    // Dismissed, the finding may be put under surveillance: the default interval's source in
    // each language.
    for event in [json!({ "event": "start_review" }), json!({ "event": "dismiss", "reason": "ai_false_positive" })] {
        let current = elysium_tests::get_json(&app, &radiologist, &format!("/api/v1/findings/{above}")).await;
        let mut event = event;
        event["expected_version"] = current["version"].clone();
        let (status, body) =
            elysium_tests::post(&app, &radiologist, &format!("/api/v1/findings/{above}/events"), &event).await;
        assert!(status < 300, "{event}: {status} {body}");
    }
    let english = elysium_tests::get_text(&app, &radiologist, &format!("/findings/{above}")).await.replace("<!>", "");
    assert!(english.contains("data-testid=\"surveillance-default\""), "{english}");
    assert!(english.contains("(programme default)."), "{english}");
    let chinese =
        elysium_tests::get_text_in_chinese(&app, &radiologist, &format!("/findings/{above}")).await.replace("<!>", "");
    assert!(chinese.contains("（本项目默认值）。"), "{chinese}");
    assert!(!chinese.contains("programme default"), "{chinese}");
}
