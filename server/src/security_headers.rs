//! Headers every response carries, whatever produced it (pages, the API, DICOMweb, refusals):
//! a browser must not sniff a patient's data into another type, frame a page into someone
//! else's site, leak a page's address (which may name a patient) to another site, keep a copy
//! of patient data on the disk of a shared workstation, or run a script the server did not write.
//!
//! Scripts: each request that a page may answer is given a fresh nonce ([`add`] puts a [`Nonce`]
//! in its extensions; the REST API, DICOMweb, the probes and static files get none).
//! An HTML document's policy allows this origin's scripts and the inline ones carrying that
//! nonce; Leptos writes it on the scripts it inlines (the hydration loader, resolved resources)
//! once [`provide_leptos_nonce`] has put it in the page's context, and the printable letters
//! write it on their print button's script. An injected `<script>` or `on…=` attribute cannot
//! know the nonce, so it does not run. Every other response (JSON, DICOMweb, images, PDF, the
//! bundle) may run no script at all.
//!
//! A handler that sets a header itself keeps it: the OHIF viewer sends its own policy (it is
//! framed by this site's pages), the PDF reports and the viewer's page their own caching.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

use crate::state::AppState;

/// The directives every policy of this module ends with: no framing by any site, no plugins,
/// no `<base>` pointing elsewhere, no form posting elsewhere.
pub const SHARED_DIRECTIVES: &str = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// The policy of every response without one of its own that is not an HTML document: should a
/// browser ever treat one as a document, nothing in it runs.
pub const CONTENT_SECURITY_POLICY: &str =
    "script-src 'none'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// The policy of an HTML document whose inline scripts carry `nonce`:
/// - everything from this origin only (`default-src 'self'`): the bundle, the style sheet, the
///   slice viewer's PNGs, server functions and uploads; the pages use no `data:` or `blob:` URL;
/// - scripts from this origin (the `/pkg/` bundle the hydration loader imports) or carrying the
///   nonce, and the compilation of WebAssembly (`'wasm-unsafe-eval'`, the hydrated app); never
///   `'unsafe-inline'` nor `'unsafe-eval'`;
/// - styles from this origin and inline: the pages draw bars with `style=` attributes (the
///   worklist's probabilities, the finding's AI score) and the letters carry a `<style>` block;
///   an injected style runs no code and, everything loading from this origin, sends nothing
///   elsewhere, so allowing them costs little;
/// - frames from this origin only (the OHIF viewer, under `/ohif/`).
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self'; frame-src 'self'; {SHARED_DIRECTIVES}"
    )
}

/// One year, the usual HSTS lifetime.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// What may be cached: the browser bundle (its file names change with each build) and the
/// viewer's assets. Everything else may carry patient data and is sent `no-store`.
fn cacheable(path: &str) -> bool {
    path.starts_with("/pkg/") || (path.starts_with("/ohif/") && path != "/ohif/" && path != "/ohif/index.html")
}

/// Paths no page is served under: the machine interfaces answer JSON, DICOM, images or metrics.
const MACHINE_PATHS: [&str; 5] = ["/api", "/dicomweb", "/healthz", "/readyz", "/metrics"];

/// Whether a page (a Leptos page, a letter, a refusal page) may answer `path`, and so whether its
/// request needs a nonce before the handler runs. The machine interfaces and the static files,
/// most of the traffic (slices, DICOMweb, the bundle), do not.
fn may_be_a_page(path: &str) -> bool {
    let under = |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    !cacheable(path) && !MACHINE_PATHS.into_iter().any(under)
}

/// Gives a request that a page may answer its nonce (128 bits from a CSPRNG, see [`Nonce::new`];
/// Leptos's `nonce` feature, which leptos_axum turns on) before the handler runs, and every
/// response its headers after.
pub async fn add(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let cacheable = cacheable(path);
    let nonce = may_be_a_page(path).then(Nonce::new);
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(request).await;
    let https = state.config.public_origin().is_some_and(|origin| origin.starts_with("https://"));
    let policy = policy_for(response.headers(), nonce);
    apply(response.headers_mut(), policy, cacheable, https);
    response
}

/// Puts the nonce [`add`] gave the request in the context of the Leptos page rendering it, in
/// place of the one leptos_axum makes up (which no header names), so the scripts Leptos writes
/// carry the nonce the response's policy allows. Part of the Leptos routes' additional context,
/// which runs after leptos_axum has provided the request's [`Parts`].
pub fn provide_leptos_nonce() {
    if let Some(nonce) = use_context::<Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned()) {
        provide_context(nonce);
    }
}

/// The page policy with the request's nonce for an HTML document, the policy that runs nothing
/// for anything else. An HTML response not written by Leptos (a refusal, a letter) gets the
/// nonce too: whether it uses it or not, no one else can. An HTML answer on a path that got no
/// nonce (none is expected) gets a fresh one that nothing in it carries, so it runs only this
/// origin's scripts.
fn policy_for(headers: &HeaderMap, nonce: Option<Nonce>) -> HeaderValue {
    let refuse_scripts = HeaderValue::from_static(CONTENT_SECURITY_POLICY);
    if !is_html(headers) {
        return refuse_scripts;
    }
    let nonce = nonce.unwrap_or_default();
    // A nonce is URL-safe base64, always valid in a header; were it not, no script would run.
    HeaderValue::from_str(&page_policy(&nonce)).unwrap_or(refuse_scripts)
}

/// Whether the response's media type (before any `;` parameter) is `text/html`.
fn is_html(headers: &HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/html"))
}

/// Adds the headers `headers` lacks (see the module's documentation), `policy` among them.
fn apply(headers: &mut HeaderMap, policy: HeaderValue, cacheable: bool, https: bool) {
    let own_policy = headers.contains_key(header::CONTENT_SECURITY_POLICY);
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, Some(HeaderValue::from_static("nosniff"))),
        (header::REFERRER_POLICY, Some(HeaderValue::from_static("same-origin"))),
        (header::CONTENT_SECURITY_POLICY, Some(policy)),
        // For browsers that predate frame-ancestors; a response with its own policy decides.
        (header::X_FRAME_OPTIONS, (!own_policy).then_some(HeaderValue::from_static("DENY"))),
        (header::CACHE_CONTROL, (!cacheable).then_some(HeaderValue::from_static("no-store"))),
        (header::STRICT_TRANSPORT_SECURITY, https.then_some(HeaderValue::from_static(STRICT_TRANSPORT_SECURITY))),
    ];
    for (name, value) in defaults {
        if let Some(value) = value
            && !headers.contains_key(&name)
        {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sources `policy` allows for `directive`, if it names it.
    fn sources<'a>(policy: &'a str, directive: &str) -> Option<Vec<&'a str>> {
        policy
            .split(';')
            .map(str::split_whitespace)
            .find_map(|mut words| (words.next() == Some(directive)).then(|| words.collect()))
    }

    fn content_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_the_bundle_and_the_viewers_assets_may_be_cached() {
        for path in ["/pkg/elysium.wasm", "/pkg/elysium.css", "/ohif/app.bundle.js"] {
            assert!(cacheable(path), "{path}");
        }
        for path in ["/", "/ohif/", "/ohif/index.html", "/api/v1/me", "/dicomweb/studies", "/findings/1", "/pkgx"] {
            assert!(!cacheable(path), "{path}");
        }
    }

    #[test]
    fn a_page_runs_this_origins_scripts_and_the_inline_ones_with_its_nonce() {
        let policy = page_policy("bm9uY2U");
        assert_eq!(
            policy,
            "default-src 'self'; script-src 'self' 'nonce-bm9uY2U' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
             object-src 'none'; base-uri 'self'; form-action 'self'"
        );
        let scripts = sources(&policy, "script-src").expect("scripts are restricted");
        assert!(!scripts.contains(&"'unsafe-inline'") && !scripts.contains(&"'unsafe-eval'"), "{scripts:?}");
        assert_eq!(sources(&policy, "default-src"), Some(vec!["'self'"]));
        assert_eq!(sources(&policy, "frame-src"), Some(vec!["'self'"]), "the OHIF viewer, same origin");
        assert!(policy.ends_with(SHARED_DIRECTIVES));
    }

    #[test]
    fn anything_but_a_document_runs_no_script() {
        assert_eq!(sources(CONTENT_SECURITY_POLICY, "script-src"), Some(vec!["'none'"]));
        assert!(CONTENT_SECURITY_POLICY.ends_with(SHARED_DIRECTIVES));
        let nonce = Nonce::from_value("bm9uY2U");
        for kind in ["application/json", "image/png", "application/pdf", "text/javascript", "text/htmlx"] {
            assert_eq!(policy_for(&content_type(kind), Some(nonce.clone())), CONTENT_SECURITY_POLICY, "{kind}");
        }
        assert_eq!(policy_for(&HeaderMap::new(), Some(nonce)), CONTENT_SECURITY_POLICY, "no content type");
    }

    #[test]
    fn an_html_document_gets_the_requests_nonce() {
        let nonce = Nonce::from_value("bm9uY2U");
        for kind in ["text/html; charset=utf-8", "TEXT/HTML", "text/html"] {
            assert_eq!(policy_for(&content_type(kind), Some(nonce.clone())), page_policy("bm9uY2U").as_str(), "{kind}");
        }
    }

    #[test]
    fn only_requests_a_page_may_answer_get_a_nonce() {
        for path in
            ["/", "/worklist", "/findings/7", "/findings/7/letter", "/login", "/apiary", "/dicomwebx", "/metricsx"]
        {
            assert!(may_be_a_page(path), "{path}");
        }
        for path in [
            "/api",
            "/api/v1/me",
            "/api/list_findings",
            "/dicomweb/studies",
            "/healthz",
            "/readyz",
            "/metrics",
            "/pkg/elysium.wasm",
            "/ohif/app.bundle.js",
        ] {
            assert!(!may_be_a_page(path), "{path}");
        }
    }

    #[test]
    fn an_html_answer_without_a_nonce_runs_only_this_origins_scripts() {
        let policy = policy_for(&content_type("text/html"), None);
        let scripts = sources(policy.to_str().expect("ascii"), "script-src").expect("scripts are restricted");
        assert_eq!(scripts.len(), 3, "{scripts:?}");
        assert_eq!((scripts[0], scripts[2]), ("'self'", "'wasm-unsafe-eval'"));
        assert!(scripts[1].starts_with("'nonce-"), "{scripts:?}");
    }

    #[test]
    fn each_nonce_is_new_and_128_bits() {
        let (first, second) = (Nonce::new(), Nonce::new());
        assert_ne!(first, second);
        // 16 bytes in unpadded base64; its alphabet is valid in a header and a nonce-source.
        assert_eq!(first.len(), 22, "{first}");
        assert!(first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{first}");
    }

    #[test]
    fn a_responses_own_headers_are_kept() {
        let mut own = HeaderMap::new();
        own.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'self'"));
        own.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        apply(&mut own, HeaderValue::from_static(CONTENT_SECURITY_POLICY), false, false);
        assert_eq!(own[header::CONTENT_SECURITY_POLICY], "frame-ancestors 'self'");
        assert_eq!(own[header::CACHE_CONTROL], "private, no-store");
        assert!(!own.contains_key(header::X_FRAME_OPTIONS), "its own policy decides framing");
        assert!(!own.contains_key(header::STRICT_TRANSPORT_SECURITY), "not over plain HTTP");

        let mut bare = HeaderMap::new();
        apply(&mut bare, HeaderValue::from_static(CONTENT_SECURITY_POLICY), true, true);
        assert_eq!(bare[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(bare[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(bare[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
        assert!(!bare.contains_key(header::CACHE_CONTROL), "an asset keeps the default caching");
    }
}
