//! Small HTTP helpers shared by the guard, the routes and the reports, kept below all three so
//! that none of them imports another for them.

use app::api::session::ssr::AUDITED_HEADER;
use app::domain::language::Language;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Marks a response whose handler wrote its own audit events (the guard then writes none).
pub fn audited(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(HeaderName::from_static(AUDITED_HEADER), HeaderValue::from_static("1"));
    response
}

/// The sign-in page's address, with where to go afterwards and a notice code to show.
pub fn login_url(next: Option<&str>, notice: Option<&str>) -> String {
    let pairs: Vec<(&str, &str)> =
        [("notice", notice), ("next", next)].into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
    match serde_urlencoded::to_string(&pairs) {
        Ok(query) if !query.is_empty() => format!("/login?{query}"),
        _ => "/login".to_owned(),
    }
}

/// The cookie the pages read their language from when they render (on the server and in the
/// browser). Not `HttpOnly`: it is no secret, and the browser's code reads it. The guard keeps it
/// equal to the language the request should get (see `routes::language::resolve`).
pub const LANGUAGE_COOKIE: &str = "i18n_pref_locale";

/// The cookie that records a person's explicit choice of language (the switch, or their profile
/// at sign-in); without it the browser's `Accept-Language` decides on every request.
pub const CHOSEN_LANGUAGE_COOKIE: &str = "elysium_language";

/// `Set-Cookie` for `name=language`, for the whole site and same-site requests only; kept for a
/// year when `lasting`, else for the browser session.
pub fn language_cookie(
    name: &str,
    language: app::domain::language::Language,
    lasting: bool,
    secure: bool,
) -> HeaderValue {
    let age = if lasting { "; Max-Age=31536000" } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{name}={}; Path=/; SameSite=Lax{age}{secure}", language.as_str());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("i18n_pref_locale=en; Path=/"))
}

/// The `Set-Cookie` headers of an explicit choice of `language`.
pub fn chosen_language_cookies(language: app::domain::language::Language, secure: bool) -> [HeaderValue; 2] {
    [
        language_cookie(CHOSEN_LANGUAGE_COOKIE, language, true, secure),
        language_cookie(LANGUAGE_COOKIE, language, true, secure),
    ]
}

/// `path` when it is a page of this site, else the home page: redirects that a form names never
/// lead elsewhere (`//host` and `/\\host` are other sites to a browser, and so is `/<tab>/host`:
/// browsers drop tabs and line breaks from a URL before reading it, so a path with any control
/// character or white space is refused too; a real path has them percent-encoded).
pub fn local_page(path: &str) -> &str {
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace());
    if local { path } else { "/" }
}

/// 303 to `page` with `key=value` added to its query string.
pub fn redirect_with(page: &str, key: &str, value: &str) -> Response {
    redirect_with_pairs(page, &[(key, value)])
}

/// 303 to `page` with `pairs` added to its query string, in order.
pub fn redirect_with_pairs(page: &str, pairs: &[(&str, &str)]) -> Response {
    let pair = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if page.contains('?') { '&' } else { '?' };
    let location = format!("{page}{separator}{pair}");
    let location = HeaderValue::from_str(&location).unwrap_or_else(|_| HeaderValue::from_static("/worklist"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The language a person reads in, from their request: the profile's choice, else the explicit
/// choice in this browser, else `Accept-Language`, else English (see `routes::language::resolve`).
/// Documents they download (PDF reports) follow it too.
pub fn reader_language(headers: &axum::http::HeaderMap, profile: Option<Language>) -> Language {
    let cookies = headers.get(axum::http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let asked = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    profile
        .or_else(|| cookie_language(cookies, CHOSEN_LANGUAGE_COOKIE))
        .or_else(|| asked.and_then(Language::negotiate))
        .unwrap_or(Language::English)
}

/// The language of the page a form was posted from, for the refusal a redirect carries back to
/// it: the profile's choice, then the language cookie every page response keeps equal to the
/// page's language, then the reader's language from the request (no session: a visitor's page).
pub struct PageLanguage(pub Language);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageLanguage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let profile = parts.extensions.get::<app::model::SessionUser>().and_then(|user| user.language);
        let cookies = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let language = profile
            .or_else(|| cookie_language(cookies, LANGUAGE_COOKIE))
            .unwrap_or_else(|| reader_language(&parts.headers, None));
        Ok(PageLanguage(language))
    }
}

/// A short page the server writes itself, in the reader's `language`: a refusal that a link led
/// to, with a link onwards (`text`, then the link, then the sentence's end). The application's
/// style sheet, no script; every argument is the server's own text.
pub fn short_page(language: Language, title: &str, text: &str, (href, link): (&str, &str)) -> String {
    let end = if language == Language::English { "." } else { "。" };
    format!(
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} · Elysium</title>
<link rel="stylesheet" href="/pkg/elysium.css"><link rel="icon" type="image/svg+xml" href="/pkg/favicon.svg"></head><body><main class="page narrow"><h1>{title}</h1>
<p>{text}<a href="{href}">{link}</a>{end}</p></main></body></html>"#,
        lang = language.as_str()
    )
}

/// A service's refusal as a page shows it, in `language` (`field: message` for a field's).
pub fn refusal_text(error: &app::service::ServiceError, language: Language) -> String {
    error.said().in_language(language).to_owned()
}

/// The language in the cookie `name` of a `Cookie` header, if it holds one.
pub fn cookie_language(cookies: &str, name: &str) -> Option<Language> {
    cookies.split(';').find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('=')).and_then(Language::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_urls_encode_next_and_notice() {
        assert_eq!(login_url(None, None), "/login");
        assert_eq!(login_url(Some("/worklist?organ=liver"), None), "/login?next=%2Fworklist%3Forgan%3Dliver");
        assert_eq!(login_url(Some("/admin/users"), Some("expired")), "/login?notice=expired&next=%2Fadmin%2Fusers");
    }

    #[test]
    fn local_pages_stay_on_this_site() {
        assert_eq!(local_page("/login?next=%2Fworklist"), "/login?next=%2Fworklist");
        assert_eq!(local_page("/worklist?organ=liver"), "/worklist?organ=liver");
        assert_eq!(local_page("https://evil.example"), "/");
        assert_eq!(local_page("//evil.example"), "/");
        assert_eq!(local_page("/\\evil.example"), "/");
        assert_eq!(local_page(""), "/");
    }

    #[test]
    fn redirects_add_to_the_query() {
        let location = |r: Response| r.headers()[header::LOCATION].to_str().map(str::to_owned).unwrap_or_default();
        let plain = redirect_with("/studies/1.2", "notice", "saved & done");
        assert_eq!(plain.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(plain), "/studies/1.2?notice=saved+%26+done");
        assert_eq!(location(redirect_with("/worklist?organ=liver", "notice", "ok")), "/worklist?organ=liver&notice=ok");
    }
}
