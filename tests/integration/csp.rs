//! The Content-Security-Policy runs only the scripts the server wrote: each HTML page names a
//! fresh nonce in its header and carries it on every script it inlines (the hydration loader
//! above all, which a browser suite with JavaScript on depends on); nothing else allows a script.

use std::collections::HashSet;

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, finding};
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

fn policy(response: &reqwest::Response) -> String {
    let policy = response.headers().get("content-security-policy").expect("a policy");
    policy.to_str().expect("ASCII").to_owned()
}

/// The sources `policy` allows for `directive`.
fn sources<'a>(policy: &'a str, directive: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::split_whitespace)
        .find_map(|mut words| (words.next() == Some(directive)).then(|| words.collect()))
        .unwrap_or_else(|| panic!("no {directive} in {policy}"))
}

/// The one nonce `policy`'s script-src allows, which allows no other inline script nor `eval`.
fn script_nonce(policy: &str) -> String {
    let scripts = sources(policy, "script-src");
    for forbidden in ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"] {
        assert!(!scripts.contains(&forbidden), "{policy}");
    }
    assert!(scripts.contains(&"'wasm-unsafe-eval'"), "the hydrated app is WebAssembly: {policy}");
    let nonces: Vec<&str> =
        scripts.iter().filter_map(|source| source.strip_prefix("'nonce-")?.strip_suffix('\'')).collect();
    let [nonce] = nonces[..] else { panic!("one nonce in {policy}") };
    // 128 bits or more, in base64.
    assert!(nonce.len() >= 22, "{nonce}");
    nonce.to_owned()
}

/// The start tag and the text of each `<script` element in `html`.
fn scripts(html: &str) -> Vec<(&str, &str)> {
    html.match_indices("<script")
        .map(|(at, _)| {
            let element = &html[at..];
            let (tag, rest) = element.split_at(element.find('>').expect("a closed start tag") + 1);
            (tag, rest.split_once("</script>").expect("a closed element").0)
        })
        .collect()
}

/// The value of `tag`'s `nonce` attribute (as Leptos and askama write it, double-quoted).
fn nonce_attribute(tag: &str) -> Option<&str> {
    tag.split_once(" nonce=\"").and_then(|(_, rest)| rest.split_once('"')).map(|(value, _)| value)
}

/// Fetches the HTML page at `path` and checks that every script in it carries the nonce its
/// policy names; returns that nonce and the page.
async fn page_nonce(app: &TestApp, client: &Client, path: &str) -> (String, String) {
    let response = client.get(app.url(path)).send().await.expect("page");
    let content_type = response.headers().get("content-type").expect("a content type");
    assert!(content_type.to_str().expect("ASCII").starts_with("text/html"), "{path}: {content_type:?}");
    let nonce = script_nonce(&policy(&response));
    let html = response.text().await.expect("html");
    let scripts = scripts(&html);
    assert!(!scripts.is_empty(), "{path} has scripts");
    for (tag, text) in scripts {
        // leptos_i18n's provider writes an empty `<script></script>` (where, built to load its
        // translations, it would put them). A browser neither runs nor checks against the policy
        // an inline script without text ("prepare the script element" returns before either),
        // so it cannot be blocked, nor be made to run anything.
        if tag == "<script>" && text.is_empty() {
            continue;
        }
        assert_eq!(nonce_attribute(tag), Some(nonce.as_str()), "{path}: {tag}");
    }
    assert!(!html.contains("onclick="), "{path}: no inline event handler");
    (nonce, html)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_script_of_a_page_carries_the_nonce_its_policy_names(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let anonymous = app.client();
    let coordinator = app.signed_in("coordinator").await;
    let mut nonces = HashSet::new();
    for (client, path) in [
        (&anonymous, "/login"),
        (&anonymous, "/login"),
        (&coordinator, "/"),
        (&coordinator, "/worklist"),
        (&coordinator, "/no-such-page"),
    ] {
        let (nonce, html) = page_nonce(&app, client, path).await;
        assert!(html.contains("<script type=\"module\" nonce="), "{path}: the hydration loader is inline");
        assert!(nonces.insert(nonce), "{path}: a fresh nonce for each response");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_page_loads_from_this_origin_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.client().get(app.url("/login")).send().await.expect("login page");
    let policy = policy(&response);
    assert_eq!(sources(&policy, "default-src"), ["'self'"]);
    assert_eq!(sources(&policy, "frame-src"), ["'self'"], "the OHIF viewer, under /ohif/");
    assert_eq!(sources(&policy, "frame-ancestors"), ["'none'"]);
    assert_eq!(sources(&policy, "object-src"), ["'none'"]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn answers_that_are_not_pages_allow_no_script(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let coordinator = app.signed_in("coordinator").await;
    for path in ["/api/v1/me", "/healthz", "/dicomweb/studies", "/api/v1/worklist"] {
        let response = coordinator.get(app.url(path)).send().await.expect("answer");
        assert!(response.status().is_success(), "{path}: {}", response.status());
        let policy = policy(&response);
        assert_eq!(sources(&policy, "script-src"), ["'none'"], "{path}: {policy}");
        assert!(!policy.contains("nonce-"), "{path}: {policy}");
    }
}

/// A study of patient `CSP-1` at the demo's general hospital; its UID.
async fn study(pool: &PgPool) -> String {
    let uid = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    sqlx::query(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ('CSP-1', 'DEMO-GH', 'TEST^CSP', 'F', date '1960-01-01') returning id)
         insert into study (study_uid, patient_ref, site_id, study_date)
         select $1, p.id, (select id from site where code = 'DEMO-GH'), current_date - 3 from p",
    )
    .bind(&uid)
    .execute(pool)
    .await
    .expect("study");
    uid
}

/// Records `event` on finding `id` at its current version.
async fn step(app: &TestApp, client: &Client, id: i64, mut event: Value) {
    let path = app.url(&format!("/api/v1/findings/{id}"));
    let current: Value = client.get(&path).send().await.expect("finding").json().await.expect("json");
    event["expected_version"] = current["version"].clone();
    let response = client.post(format!("{path}/events")).json(&event).send().await.expect("event");
    assert_eq!(response.status(), 200, "{event}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_letters_print_button_runs_with_the_nonce(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let uid = study(&pool).await;
    let id = finding(&pool, &uid, "colorectal", "CRC", 0.9, 0).await;
    let coordinator = app.signed_in("coordinator").await;
    let due = (OffsetDateTime::now_utc().date() + Duration::days(10)).to_string();
    step(&app, &coordinator, id, json!({ "event": "start_review" })).await;
    step(&app, &coordinator, id, json!({ "event": "order_workup", "modality": "colonoscopy", "due_date": due })).await;
    let (_, html) = page_nonce(&app, &coordinator, &format!("/findings/{id}/letter")).await;
    assert!(html.contains("window.print()"), "the letter prints from its button");
}
