//! The OHIF viewer, served by Elysium under `/ohif/`: a diagnostic viewer radiologists already
//! know, reading Elysium's own DICOMweb.
//!
//! Same origin, so the session cookie and the guard apply unchanged: only a signed-in user opens
//! it, its QIDO-RS and WADO-RS requests are scoped to the user's sites, and every study it opens
//! is audited like any other read (`dicomweb.search`, `dicomweb.metadata`, `series.view`). The
//! built application is installed by `.ci/setup-ohif.sh` (npm `@ohif/app`, pinned and checked,
//! relocated to `/ohif/`); `ELYSIUM_OHIF_DIR` names its folder. Elysium serves the configuration
//! (`app-config.js`: one data source, Elysium's DICOMweb) and a Content-Security-Policy that
//! allows what the viewer needs (its own scripts, the two inline ones by hash, WebAssembly
//! codecs, blob workers) and nothing more (no other origin, no plugins, no framing elsewhere).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::domain::language::Language;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::http::PageLanguage;
use crate::state::AppState;

/// The viewer's configuration: Elysium's DICOMweb as its only data source, under `/ohif`.
const APP_CONFIG: &str = r#"// Served by Elysium (server/src/ohif.rs): the OHIF viewer reads Elysium's DICOMweb, same origin.
window.config = {
  name: 'elysium',
  routerBasename: '/ohif',
  extensions: [],
  modes: [],
  customizationService: {},
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: true,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'elysium',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'elysium',
      configuration: {
        friendlyName: 'Elysium',
        name: 'elysium',
        wadoUriRoot: window.location.origin + '/dicomweb',
        qidoRoot: window.location.origin + '/dicomweb',
        wadoRoot: window.location.origin + '/dicomweb',
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: false,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true },
      },
    },
  ],
};
"#;

/// The installed viewer: its folder, its `index.html` and the policy its pages are served with.
struct Viewer {
    dir: PathBuf,
    index: String,
    policy: HeaderValue,
}

impl Viewer {
    fn load(dir: &Path) -> anyhow::Result<Viewer> {
        let index = std::fs::read_to_string(dir.join("index.html"))?;
        let policy = HeaderValue::from_str(&content_security_policy(&index))?;
        Ok(Viewer { dir: dir.to_owned(), index, policy })
    }
}

/// What the viewer's pages may load: scripts from this origin and the inline scripts of its
/// `index.html` (by their SHA-256), WebAssembly (its image codecs), workers from this origin or
/// `blob:`, styles from this origin and inline (React sets style attributes), images and fonts
/// from this origin, `data:` and `blob:`, requests to this origin only; no plugins, no framing
/// by another site, no form posts elsewhere.
fn content_security_policy(index: &str) -> String {
    let hashes: Vec<String> = inline_scripts(index)
        .map(|script| {
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes())))
        })
        .collect();
    [
        "default-src 'self'".to_owned(),
        format!("script-src 'self' 'wasm-unsafe-eval' {}", hashes.join(" ")),
        "worker-src 'self' blob:".to_owned(),
        "style-src 'self' 'unsafe-inline'".to_owned(),
        "img-src 'self' data: blob:".to_owned(),
        "font-src 'self' data:".to_owned(),
        "connect-src 'self'".to_owned(),
        "object-src 'none'".to_owned(),
        "base-uri 'self'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'self'".to_owned(),
    ]
    .join("; ")
}

/// The bodies of the `<script>` elements without a `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script>").skip(1).filter_map(|rest| rest.split_once("</script>").map(|(body, _)| body))
}

/// `/ohif/...`: the viewer when it is installed, a page saying it is not otherwise.
pub fn router(dir: Option<&Path>) -> Router<AppState> {
    let viewer = dir.and_then(|dir| match Viewer::load(dir) {
        Ok(viewer) => Some(Arc::new(viewer)),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "the OHIF viewer is not served");
            None
        }
    });
    match viewer {
        Some(viewer) => Router::new()
            .route("/ohif", get(|| async { Redirect::permanent("/ohif/") }))
            .route("/ohif/", get(index))
            .route("/ohif/index.html", get(index))
            .route("/ohif/app-config.js", get(app_config))
            .route("/ohif/{*path}", get(asset))
            .with_state(viewer),
        None => Router::new().route("/ohif", get(not_installed)).route("/ohif/{*path}", get(not_installed)),
    }
}

async fn not_installed(PageLanguage(language): PageLanguage) -> Response {
    (StatusCode::NOT_FOUND, Html(not_installed_page(language))).into_response()
}

/// The page `/ohif/` shows where the viewer is not installed, in the page's language.
fn not_installed_page(language: Language) -> String {
    let (title, body, studies) = match language {
        Language::English => (
            "OHIF viewer",
            "The OHIF viewer is not installed on this server (<code>make setup</code> installs it; \
             <code>ELYSIUM_OHIF_DIR</code> names its folder). The study pages' own viewer works without it.",
            "Studies",
        ),
        Language::SimplifiedChinese => (
            "OHIF 阅片器",
            "此服务器未安装 OHIF 阅片器（<code>make setup</code> 会安装它；\
             <code>ELYSIUM_OHIF_DIR</code> 指定其目录）。检查页面自带的阅片器无需它即可使用。",
            "检查",
        ),
    };
    format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{title}</title>\
         <p>{body}</p><p><a href=\"/studies\">{studies}</a></p></html>",
        language.as_str()
    )
}

fn with_policy(viewer: &Viewer, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, viewer.policy.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn index(State(viewer): State<Arc<Viewer>>) -> Response {
    let mut response = Html(viewer.index.clone()).into_response();
    // The page is the entry to patient data behind the session: never cached.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_policy(&viewer, response)
}

async fn app_config(State(viewer): State<Arc<Viewer>>) -> Response {
    let response = ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_CONFIG).into_response();
    with_policy(&viewer, response)
}

/// A file of the build, else (a route of the viewer's own, such as `/ohif/viewer`) its
/// `index.html`, which routes in the browser.
async fn asset(State(viewer): State<Arc<Viewer>>, request: Request) -> Response {
    let relative = request.uri().path().strip_prefix("/ohif").unwrap_or("/").to_owned();
    let (mut parts, body) = request.into_parts();
    parts.uri = match relative.parse() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let served = ServeDir::new(&viewer.dir)
        .append_index_html_on_directories(false)
        .oneshot(Request::from_parts(parts, body))
        .await;
    match served {
        Ok(response) if response.status() == StatusCode::NOT_FOUND && !looks_like_a_file(&relative) => {
            index(State(viewer)).await
        }
        Ok(response) => with_policy(&viewer, response.map(axum::body::Body::new)),
        Err(error) => match error {},
    }
}

/// A path whose last segment has an extension asks for a file; a missing one is a 404, not the
/// viewer's page (a missing bundle must fail loudly).
fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_inline_scripts_by_their_hash_and_nothing_from_elsewhere() {
        let index = "<head><script>window.PUBLIC_URL=\"/ohif/\"</script><script src=\"/ohif/app.js\"></script></head>";
        let policy = content_security_policy(index);
        // `printf '%s' 'window.PUBLIC_URL="/ohif/"' | openssl dgst -sha256 -binary | base64`
        assert!(policy.contains("'sha256-Uc0eEfLbWcxAp2fuGSbwo07ubiAx8RVwf6G/77KDCn0='"), "{policy}");
        assert_eq!(inline_scripts(index).count(), 1, "a script with a src is not inline");
        assert!(!policy.contains(" 'unsafe-eval'") && !policy.contains('*') && !policy.contains("http"), "{policy}");
    }

    #[test]
    fn only_paths_with_an_extension_are_files() {
        assert!(looks_like_a_file("/app.bundle.0f6159c501addfe9.js"));
        assert!(looks_like_a_file("/assets/favicon.ico"));
        assert!(!looks_like_a_file("/viewer"));
        assert!(!looks_like_a_file("/viewer/dicomweb"));
    }
}
