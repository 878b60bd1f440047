//! The authorization policy: for every path, who may use it. This is the one place that decides;
//! the guard middleware applies it to every request (pages, server functions, REST), so a page
//! hiding a link is never what protects it.

use app::domain::roles::Role;
use app::domain::scopes::Scope;
use app::model::SessionUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user holding at least one of these roles.
    AnyOf(&'static [Role]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Not signed in: 401 (or a redirect to the sign-in page for a page view).
    Unauthenticated,
    /// Signed in without the needed role: 403.
    Forbidden,
}

const ADMIN: &[Role] = &[Role::Admin];
/// Who may store images (STOW-RS; a PACS integration signs in with a token of such a user).
const IMAGE_WRITERS: &[Role] = &[Role::Admin, Role::Radiologist];
/// Who keeps patient records straight (resolves demographics mismatches).
const RECORD_KEEPERS: &[Role] = &[Role::Coordinator, Role::Radiologist, Role::Admin];

/// The clinical roles (the staging rules are a clinical tool).
const CLINICAL: &[Role] = &[Role::Coordinator, Role::Surgeon, Role::Radiologist];
/// Who corrects lesion tracks (splits and joins): the radiologists who read the scans and the
/// people who keep records straight.
const LESION_EDITORS: &[Role] = &[Role::Coordinator, Role::Radiologist, Role::Admin];
/// Who works with cross-site referrals: the coordinators at either end (administrators read
/// them; the events are the coordinators').
const REFERRERS: &[Role] = &[Role::Coordinator, Role::Admin];
/// Who links two patient records as one person (and ends a link).
const RECORD_LINKERS: &[Role] = &[Role::Coordinator, Role::Admin];

/// Public paths, matched exactly.
const PUBLIC_EXACT: &[&str] =
    &["/login", "/logout", "/language", "/api/v1/auth/login", "/healthz", "/readyz", "/favicon.ico"];
/// Public path prefixes (the browser bundle).
const PUBLIC_PREFIXES: &[&str] = &["/pkg/"];
/// Role-restricted prefixes; the first match wins. Later features add their areas here.
const RESTRICTED_PREFIXES: &[(&str, &[Role])] = &[
    ("/admin/", ADMIN),
    ("/api/fn/admin/", ADMIN),
    ("/api/v1/admin/", ADMIN),
    ("/api/v1/inference/", ADMIN),
    ("/api/v1/audit/", ADMIN),
    ("/api/v1/audit.csv/", ADMIN),
    ("/api/v1/metrics/", ADMIN),
    ("/metrics/", ADMIN),
    ("/upload/", IMAGE_WRITERS),
    ("/api/v1/staging/", CLINICAL),
    // The chronic-disease pathway is the coordinators' (radiologists close what the images do
    // not support; administrators reopen).
    ("/chronic/", RECORD_KEEPERS),
    ("/api/fn/chronic/", RECORD_KEEPERS),
    ("/api/v1/chronic/", RECORD_KEEPERS),
    ("/api/v1/referrals/", REFERRERS),
    // The referral list page, its server functions and its forms' posts.
    ("/referrals/", REFERRERS),
    ("/api/fn/referrals/", REFERRERS),
];

/// Role-restricted prefixes for state-changing methods only (reading stays `SignedIn`).
const RESTRICTED_WRITES: &[(&str, &[Role])] = &[
    ("/dicomweb/", IMAGE_WRITERS),
    ("/api/v1/studies/", IMAGE_WRITERS),
    ("/mismatches/", RECORD_KEEPERS),
    ("/api/v1/mismatches/", RECORD_KEEPERS),
    ("/patients/", RECORD_LINKERS),
    ("/api/v1/patients/", RECORD_LINKERS),
    ("/lesions/", LESION_EDITORS),
    ("/api/v1/lesions/", LESION_EDITORS),
];

/// What `method` on `path` requires. Anything not listed needs a signed-in user (deny by default).
pub fn required(method: &axum::http::Method, path: &str) -> Access {
    if PUBLIC_EXACT.contains(&path) || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return Access::Public;
    }
    let with_slash = if path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
    let writes: &[(&str, &[Role])] = if crate::auth::csrf::is_state_changing(method) { RESTRICTED_WRITES } else { &[] };
    RESTRICTED_PREFIXES
        .iter()
        .chain(writes)
        .find(|(prefix, _)| with_slash.starts_with(prefix))
        .map_or(Access::SignedIn, |(_, roles)| Access::AnyOf(roles))
}

pub fn authorize(access: Access, user: Option<&SessionUser>) -> Result<(), Denial> {
    match (access, user) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(Denial::Unauthenticated),
        (Access::SignedIn, Some(_)) => Ok(()),
        (Access::AnyOf(roles), Some(user)) if user.has_any_role(roles) => Ok(()),
        (Access::AnyOf(_), Some(_)) => Err(Denial::Forbidden),
    }
}

/// Which methods a token scope's entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Methods {
    /// GET and HEAD.
    Read,
    /// The state-changing methods.
    Write,
}

/// Which requests each token scope covers, by path prefix (matched as `required` matches). A
/// request with a token passes only when one of the token's scopes covers it, on top of what its
/// owner's roles allow: deny by default, so a path no scope lists is for sessions and `all`
/// tokens only (a `dicom:write` token cannot read results or act on findings).
const TOKEN_SCOPES: &[(Scope, Methods, &str)] = &[
    (Scope::DicomWrite, Methods::Write, "/dicomweb/"),
    (Scope::DicomRead, Methods::Read, "/dicomweb/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/studies/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/findings/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/worklist/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/followup/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/mdt/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/chronic/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/patients/"),
    (Scope::ResultsRead, Methods::Read, "/api/v1/lesions/"),
    (Scope::MetricsRead, Methods::Read, "/api/v1/metrics/"),
    (Scope::MetricsRead, Methods::Read, "/metrics/"),
];

/// Whether a token with `scopes` may make this request (its owner's roles are checked apart).
/// Every token may ask whom it acts for (`/api/v1/me`).
pub fn token_permits(scopes: &[Scope], method: &axum::http::Method, path: &str) -> bool {
    if scopes.contains(&Scope::All) || path == "/api/v1/me" {
        return true;
    }
    let with_slash = if path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
    let methods = if crate::auth::csrf::is_state_changing(method) { Methods::Write } else { Methods::Read };
    TOKEN_SCOPES
        .iter()
        .any(|(scope, m, prefix)| scopes.contains(scope) && *m == methods && with_slash.starts_with(prefix))
}

/// Where a user holding a temporary password is sent, whatever page they ask for.
pub const PASSWORD_PAGE: &str = "/account/password";

/// What a session signed in with a temporary password may still reach, matched exactly: the
/// password page and its form, who is signed in, signing out and the language switch (besides
/// the public paths). Everything else waits until the user has chosen their own password.
const BEFORE_PASSWORD_CHANGE: &[&str] = &[
    PASSWORD_PAGE,
    "/api/v1/auth/password",
    "/api/v1/me",
    "/api/v1/auth/logout",
    "/api/fn/current_user",
    "/logout",
    "/language",
];

/// Whether a user who must change their password may make this request (see the guard).
pub fn allowed_before_password_change(method: &axum::http::Method, path: &str) -> bool {
    required(method, path) == Access::Public || BEFORE_PASSWORD_CHANGE.contains(&path)
}

/// Whether the request's identity matters at all. The browser bundle and the health probes are
/// served without touching the session store.
pub fn needs_identity(path: &str) -> bool {
    !(PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) || matches!(path, "/healthz" | "/readyz" | "/favicon.ico"))
}

/// Machine clients get JSON errors; people get pages and redirects.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/dicomweb/") || path == "/metrics"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

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

    #[test]
    fn path_table() {
        let cases = [
            ("/login", Access::Public),
            ("/language", Access::Public),
            ("/healthz", Access::Public),
            ("/readyz", Access::Public),
            ("/pkg/elysium.wasm", Access::Public),
            ("/api/v1/auth/login", Access::Public),
            ("/", Access::SignedIn),
            ("/profile", Access::SignedIn),
            ("/api/v1/me", Access::SignedIn),
            ("/api/v1/auth/logout", Access::SignedIn),
            ("/api/fn/current_user", Access::SignedIn),
            ("/admin", Access::AnyOf(ADMIN)),
            ("/admin/users", Access::AnyOf(ADMIN)),
            ("/chronic", Access::AnyOf(RECORD_KEEPERS)),
            ("/chronic/7/letter", Access::AnyOf(RECORD_KEEPERS)),
            ("/api/v1/chronic", Access::AnyOf(RECORD_KEEPERS)),
            ("/api/fn/chronic/list", Access::AnyOf(RECORD_KEEPERS)),
            ("/chronicle", Access::SignedIn),
            ("/api/fn/admin/users", Access::AnyOf(ADMIN)),
            ("/api/v1/admin/anything", Access::AnyOf(ADMIN)),
            // The de-identified export: its page, its server function and both downloads.
            ("/admin/export", Access::AnyOf(ADMIN)),
            ("/api/fn/admin/export", Access::AnyOf(ADMIN)),
            ("/api/v1/admin/export/findings.csv", Access::AnyOf(ADMIN)),
            ("/api/v1/admin/export/mdt_decisions.csv", Access::AnyOf(ADMIN)),
            ("/api/v1/audit", Access::AnyOf(ADMIN)),
            ("/api/v1/audit.csv", Access::AnyOf(ADMIN)),
            ("/api/v1/metrics/program", Access::AnyOf(ADMIN)),
            ("/api/v1/metrics/program.csv", Access::AnyOf(ADMIN)),
            ("/metrics", Access::AnyOf(ADMIN)),
            ("/api/v1/referrals", Access::AnyOf(REFERRERS)),
            ("/api/v1/referrals/3/events", Access::AnyOf(REFERRERS)),
            ("/api/v1/referralsx", Access::SignedIn),
            ("/referrals", Access::AnyOf(REFERRERS)),
            ("/referrals/7/events", Access::AnyOf(REFERRERS)),
            ("/api/fn/referrals/list", Access::AnyOf(REFERRERS)),
            ("/referralsx", Access::SignedIn),
            ("/admin/network", Access::AnyOf(ADMIN)),
            ("/admin/network/routes/close", Access::AnyOf(ADMIN)),
            ("/api/fn/admin/network", Access::AnyOf(ADMIN)),
            ("/api/v1/admin/network/routes", Access::AnyOf(ADMIN)),
            ("/api/v1/staging/evaluate", Access::AnyOf(CLINICAL)),
            ("/api/v1/staging/derive", Access::AnyOf(CLINICAL)),
            ("/api/v1/mdt/cases", Access::SignedIn),
            ("/mdt/agreement", Access::SignedIn),
            // Near-misses must not slip through as public or unrestricted.
            ("/login/../admin/users", Access::SignedIn),
            ("/administrator", Access::SignedIn),
            ("/pkg", Access::SignedIn),
            ("/unknown", Access::SignedIn),
        ];
        for (path, expected) in cases {
            assert_eq!(required(&Method::GET, path), expected, "{path}");
        }
        assert_eq!(required(&Method::POST, "/dicomweb/studies"), Access::AnyOf(IMAGE_WRITERS));
        assert_eq!(required(&Method::GET, "/dicomweb/studies"), Access::SignedIn);
        assert_eq!(required(&Method::POST, "/admin/users"), Access::AnyOf(ADMIN));
        assert_eq!(required(&Method::GET, "/patients/0f8e/links"), Access::SignedIn);
        assert_eq!(required(&Method::POST, "/patients/0f8e/links"), Access::AnyOf(RECORD_LINKERS));
        assert_eq!(required(&Method::POST, "/api/v1/patients/0f8e/links/3/end"), Access::AnyOf(RECORD_LINKERS));
        assert_eq!(required(&Method::GET, "/lesions/4"), Access::SignedIn);
        assert_eq!(required(&Method::POST, "/lesions/4/split"), Access::AnyOf(LESION_EDITORS));
        assert_eq!(required(&Method::POST, "/api/v1/lesions/4/join"), Access::AnyOf(LESION_EDITORS));
        assert_eq!(required(&Method::GET, "/api/v1/patients/0f8e/lesions"), Access::SignedIn);
        assert_eq!(required(&Method::GET, "/upload"), Access::AnyOf(IMAGE_WRITERS));
        assert_eq!(required(&Method::POST, "/upload"), Access::AnyOf(IMAGE_WRITERS));
        assert_eq!(required(&Method::POST, "/mismatches/x/resolve"), Access::AnyOf(RECORD_KEEPERS));
        assert_eq!(required(&Method::POST, "/api/v1/mismatches/x/resolve"), Access::AnyOf(RECORD_KEEPERS));
    }

    #[test]
    fn token_scope_table() {
        use Scope::*;
        let get = Method::GET;
        let post = Method::POST;
        let cases: &[(&[Scope], &Method, &str, bool)] = &[
            (&[DicomWrite], &post, "/dicomweb/studies", true),
            (&[DicomWrite], &get, "/dicomweb/studies", false),
            (&[DicomWrite], &get, "/api/v1/studies/1.2/screening", false),
            (&[DicomWrite], &post, "/api/v1/findings/1/events", false),
            (&[DicomWrite], &get, "/api/v1/worklist", false),
            (&[DicomWrite], &get, "/api/v1/me", true),
            (&[DicomRead], &get, "/dicomweb/studies/1.2/series", true),
            (&[DicomRead], &post, "/dicomweb/studies", false),
            (&[ResultsRead], &get, "/api/v1/studies/1.2/screening", true),
            (&[ResultsRead], &post, "/api/v1/studies/1.2/screening", false),
            (&[ResultsRead], &get, "/api/v1/worklist", true),
            (&[ResultsRead], &get, "/api/v1/findings/7", true),
            (&[ResultsRead], &post, "/api/v1/findings/7/events", false),
            (&[ResultsRead], &get, "/api/v1/metrics/program", false),
            (&[MetricsRead], &get, "/api/v1/metrics/program", true),
            (&[MetricsRead], &get, "/metrics", true),
            (&[MetricsRead], &get, "/api/v1/audit", false),
            (&[MetricsRead], &get, "/admin/users", false),
            (&[MetricsRead, DicomWrite], &post, "/dicomweb/studies", true),
            // No scope but `all` reaches the de-identified export.
            (&[MetricsRead, ResultsRead, DicomRead], &get, "/api/v1/admin/export/findings.csv", false),
            (&[All], &get, "/api/v1/admin/export/findings.csv", true),
            (&[All], &post, "/api/v1/findings/7/events", true),
            (&[], &get, "/api/v1/worklist", false),
            // Near-misses of a prefix are not covered.
            (&[MetricsRead], &get, "/metricsx", false),
            (&[DicomRead], &get, "/dicomwebx/studies", false),
        ];
        for (scopes, method, path, allowed) in cases {
            assert_eq!(token_permits(scopes, method, path), *allowed, "{scopes:?} {method} {path}");
        }
    }

    #[test]
    fn a_temporary_password_reaches_only_the_password_change() {
        let cases = [
            ("/account/password", true),
            ("/api/v1/auth/password", true),
            ("/api/v1/me", true),
            ("/api/v1/auth/logout", true),
            ("/logout", true),
            ("/login", true),
            ("/pkg/elysium.wasm", true),
            ("/", false),
            ("/worklist", false),
            ("/profile", false),
            ("/admin/users", false),
            ("/api/v1/worklist", false),
            ("/api/fn/admin/users", false),
            ("/account/password/../../worklist", false),
            ("/api/v1/me/", false),
        ];
        for (path, allowed) in cases {
            assert_eq!(allowed_before_password_change(&Method::GET, path), allowed, "{path}");
        }
        assert!(allowed_before_password_change(&Method::POST, "/account/password"));
        assert!(!allowed_before_password_change(&Method::POST, "/admin/users/surgeon/reset-password"));
    }

    #[test]
    fn machine_paths_get_status_codes_not_redirects() {
        assert!(is_api("/api/v1/me"));
        assert!(is_api("/dicomweb/studies"));
        assert!(is_api("/metrics"));
        assert!(!is_api("/studies"));
    }

    #[test]
    fn only_assets_and_probes_skip_the_session() {
        assert!(!needs_identity("/pkg/elysium.wasm"));
        assert!(!needs_identity("/readyz"));
        assert!(needs_identity("/login"));
        assert!(needs_identity("/logout"));
        assert!(needs_identity("/"));
    }

    #[test]
    fn decisions_per_role() {
        let admin = user(&[Role::Admin]);
        let coordinator = user(&[Role::Coordinator]);
        let both = user(&[Role::Coordinator, Role::Admin]);
        assert_eq!(authorize(Access::Public, None), Ok(()));
        assert_eq!(authorize(Access::SignedIn, None), Err(Denial::Unauthenticated));
        assert_eq!(authorize(Access::AnyOf(ADMIN), None), Err(Denial::Unauthenticated));
        assert_eq!(authorize(Access::SignedIn, Some(&coordinator)), Ok(()));
        assert_eq!(authorize(Access::AnyOf(ADMIN), Some(&coordinator)), Err(Denial::Forbidden));
        assert_eq!(authorize(Access::AnyOf(ADMIN), Some(&admin)), Ok(()));
        assert_eq!(authorize(Access::AnyOf(ADMIN), Some(&both)), Ok(()));
        assert_eq!(authorize(Access::AnyOf(ADMIN), Some(&user(&[]))), Err(Denial::Forbidden));
    }
}
