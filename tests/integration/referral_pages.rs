//! The referral pages without JavaScript: the list (`/referrals`) for coordinators and
//! administrators, the network (`/admin/network`) for administrators, a finding's referrals card,
//! in English and in Chinese; the roles that may not see them are refused; and the plain form
//! posts behind them (refer, accept, a stale decline, the network's routes) answer with a
//! redirect back, a refusal in the page's language.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, finding, get_text, get_text_in_chinese, post};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::referral::{clinic_and_hospital, study_at};

/// The page's text with Leptos's hydration markers taken out (`<!>` between reactive pieces).
fn page_text(html: &str) -> String {
    html.replace("<!>", "").replace("<!---->", "")
}

/// The clinic refers to the hospital; the clinic's coordinator, created and signed in.
async fn network(app: &TestApp) -> Client {
    clinic_and_hospital(app, "rc.pages").await
}

/// A colorectal finding at the clinic referred to the hospital by `clinic`: (finding, referral).
async fn referred(app: &TestApp, clinic: &Client, patient_id: &str) -> (i64, i64) {
    let uid = study_at(&app.pool, "DEMO-RC", patient_id).await;
    let id = finding(&app.pool, &uid, "colorectal", "CRC", 0.92, 0).await;
    let (status, referral) = post(
        app,
        clinic,
        &format!("/api/v1/findings/{id}/referrals"),
        &json!({"to_site": "DEMO-GH", "reason": "Colonoscopy at the provincial hospital", "requested_workup": "colonoscopy"}),
    )
    .await;
    assert_eq!(status, 201, "{referral}");
    (id, referral["id"].as_i64().expect("id"))
}

/// A form post as a browser on this site sends it.
async fn form(app: &TestApp, client: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
    client
        .post(app.url(path))
        .header("origin", app.origin())
        .form(fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// A redirect's target: its path and its query's pairs, decoded.
fn redirect(response: &Response) -> (String, Vec<(String, String)>) {
    assert_eq!(response.status(), 303, "a redirect back");
    let location = response.headers()["location"].to_str().expect("text");
    let url = reqwest::Url::parse(&format!("http://page{location}")).expect("a local address");
    (url.path().to_owned(), url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

async fn status_of(pool: &PgPool, referral: i64) -> String {
    sqlx::query_scalar("select status from referral where id = $1")
        .bind(referral)
        .fetch_one(pool)
        .await
        .expect("status")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_referral_pages_render_for_their_roles_in_both_languages(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let clinic = network(&app).await;
    let (id, rid) = referred(&app, &clinic, "RC-PAGE-1").await;
    let hospital = app.signed_in("coordinator").await;
    let row = format!("data-referral=\"{rid}\"");

    // The hospital's incoming list (the default direction): the referral, its status, and the
    // receiving end's forms; the finding linked.
    let incoming = page_text(&get_text(&app, &hospital, "/referrals").await);
    for text in [
        row.as_str(),
        "data-testid=\"direction-incoming\"",
        "RC-PAGE-1",
        "ZHOU LAN",
        "DEMO-RC → DEMO-GH",
        "Requested",
        "Colonoscopy at the provincial hospital",
        "referral-action-accept",
        "referral-action-decline",
        &format!("href=\"/findings/{id}\""),
        "href=\"/referrals\"",
    ] {
        assert!(incoming.contains(text), "the incoming list shows {text}");
    }
    assert!(!incoming.contains("referral-action-withdraw"), "the receiving end does not withdraw");
    let chinese = page_text(&get_text_in_chinese(&app, &hospital, "/referrals").await);
    for text in ["转诊", "转入", "待接收", "结肠镜", ">接收<", ">拒绝<"] {
        assert!(chinese.contains(text), "the Chinese list shows {text}");
    }

    // The clinic's outgoing list: the same referral, which it may only withdraw; its incoming
    // list is empty.
    let outgoing = page_text(&get_text(&app, &clinic, "/referrals?direction=outgoing").await);
    assert!(outgoing.contains(&row) && outgoing.contains("referral-action-withdraw"), "{outgoing}");
    assert!(!outgoing.contains("referral-action-accept"));
    assert!(page_text(&get_text(&app, &clinic, "/referrals").await).contains("data-testid=\"no-referrals\""));
    // A filter the list does not know is refused in the page, as the API refuses it.
    let unknown = page_text(&get_text(&app, &clinic, "/referrals?colour=red").await);
    assert!(unknown.contains("data-testid=\"error\"") && unknown.contains("colour"), "{unknown}");

    // The finding's card: the clinic may still withdraw; the hospital follows it read-only until
    // it accepts, and may accept from there.
    let clinic_card = page_text(&get_text(&app, &clinic, &format!("/findings/{id}")).await);
    assert!(clinic_card.contains("data-testid=\"referrals-card\"") && clinic_card.contains(&row));
    assert!(!clinic_card.contains("referral-read-only") && !clinic_card.contains("refer-form"));
    let hospital_card = page_text(&get_text(&app, &hospital, &format!("/findings/{id}")).await);
    assert!(hospital_card.contains("data-testid=\"referral-read-only\"") && hospital_card.contains("DEMO-RC"));
    assert!(hospital_card.contains("referral-action-accept"));
    let chinese_card = page_text(&get_text_in_chinese(&app, &hospital, &format!("/findings/{id}")).await);
    assert!(chinese_card.contains("本院区只能查看此发现"), "the read-only notice in Chinese");

    // A finding not yet referred: the clinic's coordinator is offered the refer form with the
    // hospital and its level, and the work-ups that suit the organ.
    let uid = study_at(&app.pool, "DEMO-RC", "RC-PAGE-2").await;
    let open = finding(&app.pool, &uid, "lung", "Cancer", 0.88, 0).await;
    let refer = page_text(&get_text(&app, &clinic, &format!("/findings/{open}")).await);
    assert!(refer.contains("data-testid=\"refer-form\"") && refer.contains("value=\"DEMO-GH\""), "{refer}");
    assert!(refer.contains("Provincial hospital") && refer.contains("value=\"biopsy\""));
    assert!(!refer.contains("value=\"colonoscopy\""), "colonoscopy does not examine the lung");

    // The administrator's network page, in both languages; every site's level and the route.
    let admin = app.signed_in("admin").await;
    let network = page_text(&get_text(&app, &admin, "/admin/network").await);
    for text in [
        "data-site=\"DEMO-RC\" data-level=\"community\"",
        "data-site=\"DEMO-GH\" data-level=\"provincial\"",
        "data-from=\"DEMO-RC\" data-to=\"DEMO-GH\"",
        "data-testid=\"add-route\"",
        "Referral network",
    ] {
        assert!(network.contains(text), "the network page shows {text}");
    }
    let chinese = page_text(&get_text_in_chinese(&app, &admin, "/admin/network").await);
    assert!(chinese.contains("转诊网络") && chinese.contains("社区卫生服务中心"), "{chinese}");
    // The administrator reads every site's referrals; the navigation offers both pages.
    let admin_list = get_text(&app, &admin, "/referrals").await;
    assert!(admin_list.contains(&row), "administrators see every site");
    assert!(admin_list.contains("href=\"/admin/network\"") && admin_list.contains("href=\"/referrals\""));

    // Who may not: a coordinator is refused the network; surgeons and radiologists both pages.
    let page = |client: &Client, path: &str| client.get(app.url(path)).send();
    assert_eq!(page(&hospital, "/admin/network").await.expect("get").status(), 403);
    for role in ["surgeon", "radiologist"] {
        let client = app.signed_in(role).await;
        for path in ["/referrals", "/admin/network"] {
            assert_eq!(page(&client, path).await.expect("get").status(), 403, "{role} {path}");
        }
        let home = get_text(&app, &client, "/").await;
        assert!(!home.contains("href=\"/referrals\""), "{role}: no way to the list");
    }
    let stranger = app.client().get(app.url("/referrals")).send().await.expect("get");
    assert_eq!(stranger.headers()["location"], "/login?next=%2Freferrals");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn referrals_are_made_decided_and_configured_with_plain_form_posts(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let clinic = network(&app).await;
    let hospital = app.signed_in("coordinator").await;

    // Referred from the finding page's form: back to the finding, which shows it.
    let uid = study_at(&pool, "DEMO-RC", "RC-FORM-1").await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.9, 0).await;
    let refer_path = format!("/findings/{id}/referrals");
    let refer = |workup: &'static str| {
        [("to_site", "DEMO-GH"), ("reason", "Colonoscopy, please"), ("requested_workup", workup)]
    };
    let (page, query) = redirect(&form(&app, &clinic, &refer_path, &refer("x-ray")).await);
    assert_eq!(page, format!("/findings/{id}"));
    assert!(query[0].0 == "error" && query[0].1.starts_with("requested_workup"), "{query:?}");
    let refused = get_text(&app, &clinic, &format!("/findings/{id}?error=requested_workup%3A+valid")).await;
    assert_eq!(refused.matches("data-testid=\"error\"").count(), 1, "the refusal once, at the page's top");
    let (page, query) = redirect(&form(&app, &clinic, &refer_path, &refer("colonoscopy")).await);
    assert_eq!(page, format!("/findings/{id}"));
    assert_eq!(query, [("referral".to_owned(), "requested".to_owned())]);
    let rid: i64 = sqlx::query_scalar("select id from referral where finding_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("the referral");
    let notice = page_text(&get_text(&app, &clinic, &format!("/findings/{id}?referral=requested")).await);
    assert!(notice.contains("the referral is now “Requested”"), "the page says so");

    // Accepted from the hospital's list: back to the list as it was, the referral accepted.
    let back = "/referrals?direction=incoming&status=requested";
    let path = format!("/referrals/{rid}/events");
    let accept = [("event", "accept"), ("expected_version", "1"), ("note", ""), ("back", back)];
    let (page, query) = redirect(&form(&app, &hospital, &path, &accept).await);
    assert_eq!(page, "/referrals");
    assert_eq!(
        query,
        [("direction", "incoming"), ("status", "requested"), ("referral", "accepted")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    assert_eq!(status_of(&pool, rid).await, "accepted");
    let listed = page_text(&get_text(&app, &hospital, "/referrals?status=accepted&referral=accepted").await);
    assert!(listed.contains("data-testid=\"referral-notice\"") && listed.contains(&format!("data-referral=\"{rid}\"")));

    // A decline from the form the reader loaded before (version 1): refused as stale, in the
    // language of the page it came from, and nothing changes.
    get_text_in_chinese(&app, &hospital, "/referrals").await;
    let decline = [("event", "decline"), ("expected_version", "1"), ("reason", "No capacity"), ("back", "/referrals")];
    let (page, query) = redirect(&form(&app, &hospital, &path, &decline).await);
    assert_eq!(page, "/referrals");
    assert!(query[0].0 == "error" && query[0].1.contains("此转诊在您打开后已被他人修改"), "{query:?}");
    assert_eq!(status_of(&pool, rid).await, "accepted");
    // A form that names another site's page returns to this site only.
    get_text(&app, &clinic, "/referrals").await;
    let withdraw = [
        ("event", "withdraw"),
        ("expected_version", "2"),
        ("reason", "Patient moved"),
        ("back", "//elsewhere.example/"),
    ];
    let (page, query) = redirect(&form(&app, &clinic, &path, &withdraw).await);
    assert_eq!(page, "/");
    assert_eq!(query, [("referral".to_owned(), "withdrawn".to_owned())]);
    assert_eq!(status_of(&pool, rid).await, "withdrawn");

    // Referred again and worked up to an outcome at the hospital: the clinic's home reports it.
    let (status, again) = post(
        &app,
        &clinic,
        &format!("/api/v1/findings/{id}/referrals"),
        &json!({"to_site": "DEMO-GH", "reason": "Second opinion", "requested_workup": "colonoscopy"}),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    let second = again["id"].as_i64().expect("id");
    let (page, _) = redirect(
        &form(
            &app,
            &hospital,
            &format!("/referrals/{second}/events"),
            &[("event", "accept"), ("expected_version", "1")],
        )
        .await,
    );
    assert_eq!(page, "/referrals");
    for step in [json!({"event": "start_review"}), json!({"event": "dismiss", "reason": "known_diagnosis"})] {
        let version: i32 =
            sqlx::query_scalar("select version from finding where id = $1").bind(id).fetch_one(&pool).await.expect("v");
        let mut body: Value = step.clone();
        body["expected_version"] = version.into();
        let (status, answer) = post(&app, &hospital, &format!("/api/v1/findings/{id}/events"), &body).await;
        assert_eq!(status, 200, "{step} -> {answer}");
    }
    let home = page_text(&get_text(&app, &clinic, "/").await);
    assert!(home.contains("Outcomes of your referrals") && home.contains(&format!("data-referral=\"{second}\"")));
    assert!(home.contains("Dismissed"), "the outcome in the page's language");
    let home = page_text(&get_text_in_chinese(&app, &clinic, "/").await);
    assert!(home.contains("转出转诊的结果"), "{home}");

    // The network page's forms: a level, a route closed and opened again.
    let admin = app.signed_in("admin").await;
    let saved = |response: Response| redirect(&response);
    let level = form(&app, &admin, "/admin/network/levels", &[("site", "DEMO-RC"), ("level", "county")]).await;
    let (page, query) = saved(level);
    assert_eq!(page, "/admin/network");
    assert_eq!(query, [("saved".to_owned(), "level".to_owned())]);
    let route = [("from", "DEMO-RC"), ("to", "DEMO-GH")];
    let closed = form(&app, &admin, "/admin/network/routes/close", &route).await;
    assert_eq!(saved(closed).1, [("saved".to_owned(), "closed".to_owned())]);
    let page = page_text(&get_text(&app, &admin, "/admin/network").await);
    assert!(page.contains("data-testid=\"no-routes\"") && page.contains("data-level=\"county\""), "{page}");
    let same = form(&app, &admin, "/admin/network/routes", &[("from", "DEMO-GH"), ("to", "DEMO-GH")]).await;
    let (_, query) = saved(same);
    assert!(query[0].0 == "error" && query[0].1.starts_with("to: "), "{query:?}");
    let opened = form(&app, &admin, "/admin/network/routes", &route).await;
    assert_eq!(saved(opened).1, [("saved".to_owned(), "opened".to_owned())]);
    // Coordinators may not change the network.
    assert_eq!(form(&app, &hospital, "/admin/network/routes/close", &route).await.status(), 403);
}
