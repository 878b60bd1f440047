//! Cross-site request forgery defence: a state-changing request that a browser sends from
//! another origin is refused. Browsers label such requests (`Sec-Fetch-Site`, `Origin`,
//! `Referer`); clients without those headers (integrations, scripts) are not browsers acting
//! for someone else and pass, since they cannot ride on a victim's cookie.

use axum::http::{HeaderMap, Method, header};

/// Whether the method changes state (and so needs the check).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// `Ok` when the request may proceed. `allowed` is the configured public origin: when there is
/// one, it is the only origin allowed, whatever Host the request names (a client chooses its
/// Host header; a rebinding attacker's page names its own). Without one (the server then listens
/// on loopback only, see `Config::validate`), the origin the request was addressed to (its Host
/// header) is allowed.
pub fn check(method: &Method, headers: &HeaderMap, allowed: Option<&str>) -> Result<(), &'static str> {
    if !is_state_changing(method) {
        return Ok(());
    }
    let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header_str(header::HeaderName::from_static("sec-fetch-site"))
        && site == "cross-site"
    {
        return Err("sec-fetch-site is cross-site");
    }
    let host = header_str(header::HOST).map(str::to_ascii_lowercase);
    let same_origin = |origin: &str| {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let authority = origin.split_once("://").map(|(_, rest)| rest.to_owned());
        match allowed {
            Some(allowed) => allowed.eq_ignore_ascii_case(&origin),
            None => authority.is_some() && authority == host,
        }
    };
    if let Some(origin) = header_str(header::ORIGIN) {
        // `Origin: null` comes from sandboxed or privacy-stripped contexts: not ours.
        return if same_origin(origin) { Ok(()) } else { Err("origin does not match") };
    }
    if let Some(referer) = header_str(header::REFERER) {
        let origin: String = match referer.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()),
            None => return Err("unreadable referer"),
        };
        return if same_origin(&origin) { Ok(()) } else { Err("referer does not match") };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    /// Request headers, the configured public origin, and whether the request may proceed.
    type Case<'a> = (&'a [(&'static str, &'static str)], Option<&'a str>, bool);

    #[test]
    fn decision_table() {
        let host = ("host", "127.0.0.1:3000");
        let cases: &[Case] = &[
            (&[host, ("origin", "http://127.0.0.1:3000")], None, true),
            (&[host, ("origin", "http://evil.example")], None, false),
            (&[host, ("origin", "null")], None, false),
            (&[host, ("referer", "http://127.0.0.1:3000/login")], None, true),
            (&[host, ("referer", "http://evil.example/x")], None, false),
            (&[host, ("sec-fetch-site", "cross-site"), ("origin", "http://127.0.0.1:3000")], None, false),
            (&[host, ("sec-fetch-site", "same-origin"), ("origin", "http://127.0.0.1:3000")], None, true),
            // Behind a proxy the public origin differs from the Host the server sees.
            (&[host, ("origin", "https://elysium.example.org")], Some("https://elysium.example.org"), true),
            // With a public URL, the Host header names nothing: a page at the Host the client
            // named (DNS rebinding) is not the public origin.
            (
                &[("host", "evil.example"), ("origin", "http://evil.example")],
                Some("https://elysium.example.org"),
                false,
            ),
            (&[host, ("origin", "http://127.0.0.1:3000")], Some("https://elysium.example.org"), false),
            (&[("host", "evil.example"), ("origin", "http://evil.example")], None, true),
            // A non-browser client: no Origin, no Referer.
            (&[host], None, true),
        ];
        for (pairs, allowed, ok) in cases {
            let result = check(&Method::POST, &headers(pairs), *allowed);
            assert_eq!(result.is_ok(), *ok, "{pairs:?} allowed={allowed:?}: {result:?}");
        }
    }

    #[test]
    fn safe_methods_are_never_refused() {
        let map = headers(&[("host", "a"), ("origin", "http://evil.example")]);
        assert!(check(&Method::GET, &map, None).is_ok());
        assert!(check(&Method::DELETE, &map, None).is_err());
    }
}
