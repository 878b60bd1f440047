//! Every route, page and server function against every identity: no session, each role of the
//! demo, and an administrator's token of each scope.
//!
//! The routes are read from their declarations, not listed here: the routers' `.route(...)`
//! calls, the pages' `path!(...)`, and the server functions' `#[leptos::server(...)]`. A route
//! written tomorrow is in the matrix the day it is written, and cannot be forgotten.
//!
//! What each identity should get is the access policy's (`server/src/auth/policy.rs`, a
//! hand-written table whose cells its own tests check). This test checks the running server
//! against it, with nonsense for every path parameter and an empty body:
//! - each refusal comes from the guard before any handler runs: the exact status (401, or the
//!   sign-in redirect for a page; 403), and one `http.denied` audit row per refusal of a
//!   signed-in caller, no more and no fewer;
//! - nothing allowed answers 401, nor fails on the server (5xx) for unknown ids and empty bodies.
//!   A server function carries every error of its own in a 500 (Leptos's convention); there the
//!   body must be one of its typed refusals, never the internal error.

use std::collections::BTreeMap;

use app::domain::roles::Role;
use app::domain::scopes::Scope;
use app::model::SessionUser;
use elysium_db::MIGRATOR;
use elysium_server::auth::policy::{self, Access};
use elysium_tests::TestApp;
use reqwest::{Client, Method, StatusCode, header};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Route,
    Page,
    ServerFn,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    kind: Kind,
    method: String,
    template: String,
}

/// A source file of the workspace.
fn source(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Whether `text` calls `name(` as a word of its own (`get(`, not `budget(`).
fn calls(text: &str, name: &str) -> bool {
    let call = format!("{name}(");
    text.match_indices(&call)
        .any(|(at, _)| text[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
}

/// The `.route("path", get(..).post(..))` calls of `text`, their paths under `prefix`.
fn router_routes(text: &str, prefix: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's text, up to its closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a route's path is a string literal");
        for method in ["get", "post", "put", "patch", "delete"] {
            if calls(call, method) {
                routes.push(Route {
                    kind: Kind::Route,
                    method: method.to_uppercase(),
                    template: format!("{prefix}{path}"),
                });
            }
        }
    }
    routes
}

/// The value of `name = "..."` in an attribute's text.
fn attribute(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("{name} = \""))? + name.len() + 4;
    Some(text[start..].split('"').next()?.to_owned())
}

/// Every route, page and server function the server declares.
fn declared_routes() -> Vec<Route> {
    let main = source("server/src/routes/mod.rs");
    let (top, api) = main.split_once("fn api_v1()").expect("the REST API's router");
    let mut routes = router_routes(top, "");
    routes.extend(router_routes(api, "/api/v1"));
    routes.extend(router_routes(&source("server/src/dicomweb/mod.rs"), "/dicomweb"));
    routes.extend(router_routes(&source("server/src/ohif.rs"), ""));

    let pages = source("app/src/lib.rs");
    for (at, _) in pages.match_indices("path!(\"") {
        let path = pages[at + 7..].split('"').next().expect("a page path");
        routes.push(Route { kind: Kind::Page, method: "GET".into(), template: path.to_owned() });
    }

    let mut files = vec![format!("{}/../app/src/api", env!("CARGO_MANIFEST_DIR"))];
    while let Some(path) = files.pop() {
        if std::path::Path::new(&path).is_dir() {
            let entries = std::fs::read_dir(&path).expect("app/src/api");
            files.extend(entries.map(|e| e.expect("entry").path().display().to_string()));
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a server function file");
        for line in text.lines().filter(|l| l.trim_start().starts_with("#[leptos::server(")) {
            let prefix = attribute(line, "prefix").unwrap_or_else(|| panic!("{path}: a prefix in {line}"));
            let endpoint = attribute(line, "endpoint").unwrap_or_else(|| panic!("{path}: an endpoint in {line}"));
            let method = if line.contains("GetUrl") { "GET" } else { "POST" };
            routes.push(Route {
                kind: Kind::ServerFn,
                method: method.into(),
                template: format!("{prefix}/{endpoint}"),
            });
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// `template` with nonsense in each parameter: ids nothing has, UIDs no study has.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            let name = segment.trim_start_matches([':', '{', '*']).trim_end_matches('}');
            if segment == name {
                return segment.to_owned();
            }
            match name {
                "study_uid" | "study" | "uid" => "2.25.404".to_owned(),
                "series" => "2.25.405".to_owned(),
                "instance" => "2.25.406".to_owned(),
                "frames" => "1".to_owned(),
                "username" => "nobody-here".to_owned(),
                "code" => "NO-SUCH-SITE".to_owned(),
                "path" => "nothing.js".to_owned(),
                _ => "987654321".to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Nobody,
    Role(Role),
    Token(Scope),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
}

fn user(roles: &[Role]) -> SessionUser {
    SessionUser {
        id: uuid::Uuid::nil(),
        username: "u".into(),
        display_name: "U".into(),
        roles: roles.to_vec(),
        sites: vec![],
        language: None,
        must_change_password: false,
    }
}

/// What the policy says `who` gets for `method` on `path`.
fn expected(who: Who, method: &Method, path: &str) -> Expect {
    // The probes and the bundle are answered without looking at who asks (a token included).
    if !policy::needs_identity(path) {
        return Expect::Allowed;
    }
    let access = policy::required(method, path);
    let verdict = |roles: &[Role]| policy::authorize(access, Some(&user(roles))).is_ok();
    match who {
        Who::Nobody if access == Access::Public => Expect::Allowed,
        Who::Nobody => Expect::Unauthenticated,
        Who::Role(role) if verdict(&[role]) => Expect::Allowed,
        Who::Token(scope) if verdict(&[Role::Admin]) && policy::token_permits(&[scope], method, path) => {
            Expect::Allowed
        }
        Who::Role(_) | Who::Token(_) => Expect::Forbidden,
    }
}

/// What went wrong with one call, if anything.
async fn check(
    response: reqwest::Response,
    expect: Expect,
    route: &Route,
    method: &Method,
    path: &str,
) -> Option<String> {
    let status = response.status();
    let page_view = *method == Method::GET && !policy::is_api(path);
    match expect {
        Expect::Unauthenticated if page_view => {
            let location = response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("");
            (!(status.is_redirection() && location.starts_with("/login")))
                .then(|| format!("{status} to {location:?}, not the sign-in page"))
        }
        Expect::Unauthenticated => (status != StatusCode::UNAUTHORIZED).then(|| format!("{status}, not 401")),
        Expect::Forbidden => (status != StatusCode::FORBIDDEN).then(|| format!("{status}, not 403")),
        Expect::Allowed if status == StatusCode::UNAUTHORIZED => Some("401 for an allowed caller".to_owned()),
        Expect::Allowed if status == StatusCode::INTERNAL_SERVER_ERROR && route.kind == Kind::ServerFn => {
            // Leptos sends a server function's own error with 500: it must be a typed refusal.
            let body = response.text().await.unwrap_or_default();
            match serde_json::from_str::<app::model::error::AppError>(&body) {
                Ok(app::model::error::AppError::Internal) | Err(_) => Some(format!("500 {body}")),
                Ok(_) => None,
            }
        }
        Expect::Allowed if status.is_server_error() => Some(format!(
            "{status} {}",
            response.text().await.unwrap_or_default().chars().take(200).collect::<String>()
        )),
        Expect::Allowed => None,
    }
}

/// Signing out last, so the identity's session serves every other call first.
fn signs_out(route: &Route) -> bool {
    route.template.ends_with("/logout")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_route_answers_each_identity_as_the_policy_says(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut routes = declared_routes();
    // The parse found the routers, the pages and the server functions (floors well below
    // today's counts: a parse that breaks finds none of a kind).
    for (kind, floor) in [(Kind::Route, 100), (Kind::Page, 30), (Kind::ServerFn, 30)] {
        let found = routes.iter().filter(|r| r.kind == kind).count();
        assert!(found >= floor, "{kind:?}: {found} found");
    }
    for known in [
        "/api/v1/admin/users",
        "/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
        "/admin/program/records",
        "/api/fn/admin/users",
    ] {
        assert!(routes.iter().any(|r| r.template == known), "{known} is declared");
    }
    routes.sort_by_key(signs_out);

    let mut identities: Vec<(Who, Client, Option<String>)> = vec![(Who::Nobody, app.client(), None)];
    for (username, role) in [
        ("admin", Role::Admin),
        ("coordinator", Role::Coordinator),
        ("surgeon", Role::Surgeon),
        ("radiologist", Role::Radiologist),
    ] {
        identities.push((Who::Role(role), app.signed_in(username).await, None));
    }
    for scope in Scope::ALL.into_iter().filter(|s| *s != Scope::All) {
        identities.push((Who::Token(scope), app.client(), Some(app.scoped_token("admin", &[scope.as_str()]).await)));
    }

    let denied_before = count_denied(&app).await;
    let runs = identities.iter().map(|(who, client, token)| {
        let (app, routes) = (&app, &routes);
        async move {
            let mut failures = Vec::new();
            let mut forbidden = 0;
            for route in routes {
                let method = Method::from_bytes(route.method.as_bytes()).expect("a method");
                let path = concrete(&route.template);
                let expect = expected(*who, &method, &path);
                let mut request = client.request(method.clone(), app.url(&path)).header(header::ORIGIN, app.origin());
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                // A connection dropped without an answer is a handler that panicked.
                let failure = match request.send().await {
                    Ok(response) => check(response, expect, route, &method, &path).await,
                    Err(error) => Some(format!("no answer: {error}")),
                };
                if let Some(failure) = failure {
                    failures.push(format!("{who:?} {method} {path} (expected {expect:?}): {failure}"));
                }
                forbidden += usize::from(expect == Expect::Forbidden);
            }
            (failures, forbidden)
        }
    });
    let results = futures::future::join_all(runs).await;
    let failures: Vec<String> = results.iter().flat_map(|(f, _)| f.clone()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} calls wrong:\n{}",
        failures.len(),
        routes.len() * identities.len(),
        failures.join("\n")
    );

    // Each refusal of a signed-in caller was the guard's, and each is audited once.
    let forbidden: usize = results.iter().map(|(_, n)| n).sum();
    let denied = count_denied(&app).await;
    let new_rows: usize = denied.iter().map(|(who, n)| n - denied_before.get(who).copied().unwrap_or(0)).sum();
    assert_eq!(new_rows, forbidden, "http.denied rows by actor: before {denied_before:?}, after {denied:?}");
}

/// `http.denied` rows by actor (signed-in callers only).
async fn count_denied(app: &TestApp) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (actor, _, _) in app.audit_rows("http.denied").await {
        if let Some(actor) = actor {
            *counts.entry(actor).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn the_route_parser_reads_each_form_of_declaration() {
    let text = r#"Router::new()
        .route("/a/{id}", get(h::a).post(h::b))
        .route("/b", post(upload::upload).layer(DefaultBodyLimit::disable()))
        .route(
            "/c/{x}",
            get(budget(1)),
        )"#;
    let found: Vec<(String, String)> = router_routes(text, "/p").into_iter().map(|r| (r.method, r.template)).collect();
    let expected = [("GET", "/p/a/{id}"), ("POST", "/p/a/{id}"), ("POST", "/p/b"), ("GET", "/p/c/{x}")];
    assert_eq!(found, expected.map(|(m, t)| (m.to_owned(), t.to_owned())));
    assert_eq!(concrete("/findings/:id/x/{study}/{*path}"), "/findings/987654321/x/2.25.404/nothing.js");
    let line = r#"#[leptos::server(prefix = "/api/fn/chronic", endpoint = "list", input = GetUrl)]"#;
    assert_eq!(attribute(line, "prefix").as_deref(), Some("/api/fn/chronic"));
    assert_eq!(attribute(line, "endpoint").as_deref(), Some("list"));
}
