//! Headers every response carries, whatever produced it (pages, the API, DICOMweb, refusals):
//! a browser must not sniff a patient's data into another type, frame a page into someone
//! else's site, leak a page's address (which may name a patient) to another site, or keep a copy
//! of patient data on the disk of a shared workstation.
//!
//! A handler that sets a header itself keeps it: the OHIF viewer sends its own policy (it is
//! framed by this site's pages), the PDF reports and the viewer's page their own caching.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The policy of every response without one of its own. It forbids framing by any site, plugins,
/// a `<base>` pointing elsewhere and forms posting elsewhere. Script sources are not restricted
/// yet: the hydration scripts Leptos writes inline would need a nonce per response.
pub const CONTENT_SECURITY_POLICY: &str =
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// One year, the usual HSTS lifetime.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// What may be cached: the browser bundle (its file names change with each build) and the
/// viewer's assets. Everything else may carry patient data and is sent `no-store`.
fn cacheable(path: &str) -> bool {
    path.starts_with("/pkg/") || (path.starts_with("/ohif/") && path != "/ohif/" && path != "/ohif/index.html")
}

pub async fn add(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cacheable = cacheable(request.uri().path());
    let mut response = next.run(request).await;
    let https = state.config.public_origin().is_some_and(|origin| origin.starts_with("https://"));
    apply(response.headers_mut(), cacheable, https);
    response
}

/// Adds the headers `headers` lacks (see the module's documentation).
fn apply(headers: &mut HeaderMap, cacheable: bool, https: bool) {
    let own_policy = headers.contains_key(header::CONTENT_SECURITY_POLICY);
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, Some("nosniff")),
        (header::REFERRER_POLICY, Some("same-origin")),
        (header::CONTENT_SECURITY_POLICY, Some(CONTENT_SECURITY_POLICY)),
        // For browsers that predate frame-ancestors; a response with its own policy decides.
        (header::X_FRAME_OPTIONS, (!own_policy).then_some("DENY")),
        (header::CACHE_CONTROL, (!cacheable).then_some("no-store")),
        (header::STRICT_TRANSPORT_SECURITY, https.then_some(STRICT_TRANSPORT_SECURITY)),
    ];
    for (name, value) in defaults {
        if let Some(value) = value
            && !headers.contains_key(&name)
        {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_responses_own_headers_are_kept() {
        let mut own = HeaderMap::new();
        own.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'self'"));
        own.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        apply(&mut own, false, false);
        assert_eq!(own[header::CONTENT_SECURITY_POLICY], "frame-ancestors 'self'");
        assert_eq!(own[header::CACHE_CONTROL], "private, no-store");
        assert!(!own.contains_key(header::X_FRAME_OPTIONS), "its own policy decides framing");
        assert!(!own.contains_key(header::STRICT_TRANSPORT_SECURITY), "not over plain HTTP");

        let mut bare = HeaderMap::new();
        apply(&mut bare, true, true);
        assert_eq!(bare[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(bare[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
        assert!(!bare.contains_key(header::CACHE_CONTROL), "an asset keeps the default caching");
    }
}
