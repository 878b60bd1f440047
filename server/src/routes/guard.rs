//! The one middleware every request passes: client address, cross-site check, identity,
//! the authorization policy, and the audit event for state-changing requests.

use std::net::{IpAddr, SocketAddr};

use app::api::session::ssr::{AUDITED_HEADER, ClientAddr};
use app::domain::language::Language;
use app::domain::scopes::Scope;
use app::model::SessionUser;
use app::service::Audit;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde_json::json;
use tower_sessions::Session;

use crate::auth::identity::{self, Identity};
use crate::auth::policy::{self, Denial};
use crate::auth::{csrf, tokens};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn guard(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let client = client_addr(&state, &request);
    request.extensions_mut().insert(ClientAddr(client.clone()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    if let Err(reason) = csrf::check(&method, request.headers(), state.config.public_origin().as_deref()) {
        tracing::warn!(%method, %path, reason, "cross-site request refused");
        audit(&state, anonymous_event("http.cross_site_refused", &client, &method, &path)).await;
        return ApiError::CrossSite.into_response();
    }

    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(tokens::from_authorization)
        .map(str::to_owned);
    let (identity, token_scopes) = if policy::needs_identity(&path) {
        match resolve_identity(&state, &session, bearer.as_deref()).await {
            Ok(identity) => identity,
            Err(error) => return error.into_response(),
        }
    } else {
        (Identity::Anonymous, None)
    };
    let user = match &identity {
        Identity::User(user) => Some(user.clone()),
        _ => None,
    };

    if let Err(denial) = policy::authorize(policy::required(&method, &path), user.as_ref()) {
        if denial == Denial::Forbidden || csrf::is_state_changing(&method) {
            let event = match &user {
                Some(user) => Audit::by(user, Some(client.clone()), "http.denied").outcome("denied"),
                None => anonymous_event("http.denied", &client, &method, &path),
            };
            audit(&state, event.detail(json!({ "method": method.as_str(), "path": path }))).await;
        }
        let language = crate::http::reader_language(request.headers(), user.as_ref().and_then(|u| u.language));
        return denial_response(denial, &identity, &method, &path, language);
    }
    if let (Some(scopes), Some(user)) = (&token_scopes, &user)
        && !policy::token_permits(scopes, &method, &path)
    {
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let detail = json!({ "method": method.as_str(), "path": path, "token_scopes": scopes });
        audit(&state, Audit::by(user, Some(client.clone()), "http.denied").outcome("denied").detail(detail)).await;
        return ApiError::Forbidden.into_response();
    }
    // A temporary password (a new account, an administrator's reset) is good for one thing:
    // choosing the user's own. Until then pages lead to the password page and the API answers
    // 403 `password_change_required`. A token is not the password, so it is not held back.
    if let Some(user) = &user
        && user.must_change_password
        && token_scopes.is_none()
        && !policy::allowed_before_password_change(&method, &path)
    {
        if csrf::is_state_changing(&method) {
            let detail = json!({ "method": method.as_str(), "path": path, "reason": "password_change_required" });
            audit(&state, Audit::by(user, Some(client.clone()), "http.denied").outcome("denied").detail(detail)).await;
        }
        return if policy::is_api(&path) {
            ApiError::PasswordChangeRequired.into_response()
        } else {
            Redirect::to(policy::PASSWORD_PAGE).into_response()
        };
    }

    if let Some(user) = &user {
        request.extensions_mut().insert(user.clone());
    }
    let page_view = method == Method::GET && !policy::is_api(&path);
    let correct_language =
        if page_view { super::language::resolve(&mut request, user.as_ref().and_then(|u| u.language)) } else { None };
    let mut response = next.run(request).await;
    if let Some(language) = correct_language {
        let cookie =
            crate::http::language_cookie(crate::http::LANGUAGE_COOKIE, language, false, state.config.secure_cookies());
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }

    let audited_by_handler = response.headers_mut().remove(AUDITED_HEADER).is_some();
    if csrf::is_state_changing(&method) && !audited_by_handler {
        let status = response.status();
        let outcome = if status.is_success() || status.is_redirection() { "success" } else { "failure" };
        let event = match &user {
            Some(user) => Audit::by(user, Some(client.clone()), "http.request"),
            None => anonymous_event("http.request", &client, &method, &path),
        };
        let detail = json!({ "method": method.as_str(), "path": path, "status": status.as_u16() });
        audit(&state, event.outcome(outcome).detail(detail)).await;
    }
    response
}

/// The identity, and the token's scopes when it came with a token.
async fn resolve_identity(
    state: &AppState,
    session: &Session,
    bearer: Option<&str>,
) -> Result<(Identity, Option<Vec<Scope>>), ApiError> {
    match bearer {
        Some(token) => {
            let (user, scopes) = identity::from_token(&state.pool, token).await?;
            Ok((Identity::User(user), Some(scopes)))
        }
        None => {
            let max_age = time::Duration::hours(state.config.session_max_hours);
            Ok((identity::from_session(&state.pool, session, max_age).await?, None))
        }
    }
}

fn denial_response(denial: Denial, identity: &Identity, method: &Method, path: &str, language: Language) -> Response {
    let page_view = !policy::is_api(path) && *method == Method::GET;
    match (denial, page_view) {
        (Denial::Unauthenticated, true) => {
            let notice = (*identity == Identity::Expired).then_some("expired");
            let next = Some(path).filter(|p| *p != "/");
            Redirect::to(&crate::http::login_url(next, notice)).into_response()
        }
        (Denial::Unauthenticated, false) => ApiError::Unauthorized.into_response(),
        (Denial::Forbidden, true) => (StatusCode::FORBIDDEN, Html(forbidden_page(language))).into_response(),
        (Denial::Forbidden, false) => ApiError::Forbidden.into_response(),
    }
}

/// The page a signed-in user gets for a page their roles do not open, in the reader's language.
fn forbidden_page(language: Language) -> String {
    let (title, body, home) = match language {
        Language::English => ("Not allowed", "Your roles do not give access to this page. ", "Go to your home page"),
        Language::SimplifiedChinese => ("无权访问", "您的角色无权访问此页面。", "返回您的首页"),
    };
    crate::http::short_page(language, title, body, ("/", home))
}

/// The socket peer, or with `ELYSIUM_TRUST_PROXY` the client as the proxies saw it (see
/// [`forwarded_client`]).
fn client_addr(state: &AppState, request: &Request) -> String {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let Some(peer) = peer else { return "unknown".to_owned() };
    if !state.config.trust_proxy {
        return peer.to_string();
    }
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    forwarded_client(peer, &forwarded, &state.config.trusted_proxies).to_string()
}

/// The client's address behind proxies. X-Forwarded-For grows to the right, each proxy
/// appending the address it received the request from; everything left of the first entry our
/// own proxies wrote is the client's to choose (a new value per attempt would dodge the sign-in
/// throttle and forge the audit trail). So the walk starts at the right: past the peer and
/// every entry that is one of `trusted` (an empty list trusts only the peer), the first other
/// address is the client. A peer that is not trusted, or an entry that is not an address, ends
/// the walk at the last address known good.
pub(crate) fn forwarded_client(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |addr: &IpAddr| if trusted.is_empty() { *addr == peer } else { trusted.contains(addr) };
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded.iter().rev() {
        let Ok(addr) = entry.trim().parse::<IpAddr>() else { return client };
        client = addr;
        if !(trusted.contains(&addr)) {
            return addr;
        }
    }
    client
}

fn anonymous_event(action: &str, client: &str, method: &Method, path: &str) -> Audit {
    Audit::anonymous(action, None, Some(client.to_owned()))
        .outcome("denied")
        .detail(json!({ "method": method.as_str(), "path": path }))
}

/// Writes an audit event after the fact: the request already happened, so a failure to audit
/// cannot refuse it; `Audit::record` logs it loudly.
async fn audit(state: &AppState, event: Audit) {
    let _ = event.record(&state.pool).await;
}

/// The user the guard attached to the request (handlers behind a signed-in policy).
pub fn current_user(request_user: Option<axum::Extension<SessionUser>>) -> Result<SessionUser, ApiError> {
    request_user.map(|axum::Extension(u)| u).ok_or(ApiError::Unauthorized)
}

#[cfg(test)]
mod forwarded_tests {
    use std::net::IpAddr;

    use super::forwarded_client;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    /// Each case written out by hand: (peer, X-Forwarded-For entries, trusted proxies, client).
    #[test]
    fn the_client_is_the_right_most_address_not_ours() {
        let proxy = "10.0.0.2";
        let cases: [(&str, &[&str], &[&str], &str); 9] = [
            // One proxy (the peer): the address it appended, whatever the client wrote before it.
            (proxy, &["203.0.113.7"], &[], "203.0.113.7"),
            (proxy, &["1.1.1.1", "203.0.113.7"], &[], "203.0.113.7"),
            (proxy, &["9.9.9.9", "8.8.8.8", " 203.0.113.7 "], &[], "203.0.113.7"),
            // No header: the proxy itself is all we know.
            (proxy, &[], &[], proxy),
            // Garbage where the proxy's entry should be: the proxy's own address.
            (proxy, &["evil", "not-an-ip"], &[], proxy),
            // Two proxies of ours: skip the inner one's entry.
            (proxy, &["6.6.6.6", "203.0.113.7", "10.0.0.1"], &["10.0.0.1", "10.0.0.2"], "203.0.113.7"),
            // A peer that is not one of our proxies: its header means nothing.
            ("198.51.100.9", &["203.0.113.7"], &["10.0.0.2"], "198.51.100.9"),
            // Every entry ours: the left-most of them.
            (proxy, &["10.0.0.1"], &["10.0.0.1", "10.0.0.2"], "10.0.0.1"),
            // IPv6 too.
            ("::1", &["2001:db8::7"], &[], "2001:db8::7"),
        ];
        for (peer, forwarded, trusted, expected) in cases {
            let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
            assert_eq!(
                forwarded_client(ip(peer), forwarded, &trusted),
                ip(expected),
                "{peer} {forwarded:?} {trusted:?}"
            );
        }
    }
}
