//! Every response carries the security headers, whatever produced it: a page, the API, a refusal.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use sqlx::PgPool;

/// How every policy ends; what it says of scripts depends on the response (see `csp.rs`).
const POLICY: &str = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pages_the_api_and_refusals_carry_the_security_headers(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let anonymous = app.client();
    let responses = [
        ("the sign-in page", anonymous.get(app.url("/login")).send().await.expect("login page")),
        ("a refusal", anonymous.get(app.url("/api/v1/me")).send().await.expect("refusal")),
        ("an answer with patient data", admin.get(app.url("/api/v1/worklist")).send().await.expect("worklist")),
        ("a page with patient data", admin.get(app.url("/worklist")).send().await.expect("worklist page")),
        ("a DICOMweb search", admin.get(app.url("/dicomweb/studies")).send().await.expect("qido")),
    ];
    for (what, response) in &responses {
        assert!(response.status().as_u16() < 500, "{what}: {}", response.status());
        assert_eq!(header(response, "x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(header(response, "referrer-policy"), Some("same-origin"), "{what}");
        let policy = header(response, "content-security-policy").unwrap_or_default();
        assert!(policy.ends_with(POLICY), "{what}: {policy}");
        assert_eq!(header(response, "x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(header(response, "cache-control"), Some("no-store"), "{what}");
        assert_eq!(header(response, "strict-transport-security"), None, "{what}: plain HTTP");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn behind_https_browsers_are_told_to_stay_on_https(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--public-url", "https://elysium.example.org"]).await;
    let response = app.client().get(app.url("/login")).send().await.expect("login page");
    assert_eq!(header(&response, "strict-transport-security"), Some("max-age=31536000"));
}
