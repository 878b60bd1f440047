//! The server's configuration: one typed struct, read once at start-up from `ELYSIUM_*`
//! environment variables and `DATABASE_URL` (each also a command-line flag of `elysium serve`).

use std::{net::SocketAddr, path::PathBuf};

use clap::builder::BoolishValueParser;

/// The shortest key the de-identified export accepts (`ELYSIUM_EXPORT_KEY`).
pub const MIN_EXPORT_KEY_CHARS: usize = 32;

/// A value that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the database is and how the process logs: needed by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// PostgreSQL server to use; without it Elysium runs its own private cluster under the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Folder for Elysium's own state (the private PostgreSQL cluster, later the image store).
    #[arg(long, env = "ELYSIUM_DATA_DIR", default_value = ".state")]
    pub data_dir: PathBuf,
    /// Database connections in the pool.
    #[arg(long, env = "ELYSIUM_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Seconds after which the database cancels a statement (0: never). Migrations run without
    /// it.
    #[arg(long, env = "ELYSIUM_DB_STATEMENT_TIMEOUT_SECS", default_value_t = 30)]
    pub db_statement_timeout_secs: u64,
}

/// Where original instances are kept and which are accepted.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreConfig {
    /// Object store for the original instances: `s3://bucket/prefix` (credentials and endpoint
    /// from `AWS_*` variables) or `file:///abs/path`. Default: `<data dir>/objects`.
    #[arg(long, env = "ELYSIUM_OBJECT_STORE")]
    pub object_store: Option<String>,
    /// Store instances of non-CT SOP classes too (they are never screened). Default: refuse them.
    #[arg(long, env = "ELYSIUM_ACCEPT_NON_CT", value_parser = BoolishValueParser::new())]
    pub accept_non_ct: bool,
}

impl StoreConfig {
    pub fn open(&self, data_dir: &std::path::Path) -> anyhow::Result<std::sync::Arc<dyn object_store::ObjectStore>> {
        crate::ingest::store::open(self.object_store.as_deref(), data_dir)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub store: StoreConfig,
    #[command(flatten)]
    pub dimse: crate::dimse::DimseConfig,
    #[command(flatten)]
    pub followup: FollowupConfig,
    #[command(flatten)]
    pub board: BoardConfig,
    #[command(flatten)]
    pub screening: crate::screening::ScreeningConfig,
    #[command(flatten)]
    pub http: HttpLimits,
    /// Address the web server listens on.
    #[arg(long, env = "ELYSIUM_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The URL people use to reach Elysium (scheme, host, port), when it differs from the listen
    /// address, e.g. behind a reverse proxy. Browser requests from any other origin are refused,
    /// and an https URL makes session cookies `Secure`.
    #[arg(long, env = "ELYSIUM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Force the session cookie's `Secure` flag on or off (default: on when the public URL is https).
    #[arg(long, env = "ELYSIUM_COOKIE_SECURE", value_parser = BoolishValueParser::new())]
    pub cookie_secure: Option<bool>,
    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "ELYSIUM_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// Sign a session out this many hours after sign-in, active or not.
    #[arg(long, env = "ELYSIUM_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,
    /// Failed sign-ins for one username from one address that lock the pair...
    #[arg(long, env = "ELYSIUM_SIGNIN_MAX_FAILURES", default_value_t = 5)]
    pub signin_max_failures: i64,
    /// ...within this many minutes; the lock lasts as long.
    #[arg(long, env = "ELYSIUM_SIGNIN_LOCK_MINUTES", default_value_t = 15)]
    pub signin_lock_minutes: i64,
    /// Failed sign-ins for one username from all addresses together (within the same minutes)
    /// that lock the account from every address for as long: guessing spread over many
    /// addresses.
    #[arg(long, env = "ELYSIUM_SIGNIN_ACCOUNT_MAX_FAILURES", default_value_t = 20)]
    pub signin_account_max_failures: i64,
    /// Take the client address from X-Forwarded-For (only behind a proxy you run): the address
    /// the nearest proxy appended, or with several proxies, the right-most address that is not
    /// one of `ELYSIUM_TRUSTED_PROXIES`. Entries a client wrote itself are never taken.
    #[arg(long, env = "ELYSIUM_TRUST_PROXY", value_parser = BoolishValueParser::new())]
    pub trust_proxy: bool,
    /// With `ELYSIUM_TRUST_PROXY`: the addresses of the proxies in front of this server
    /// (comma-separated IPs). Empty: the connecting peer is the one proxy. A request from a peer
    /// that is not on a non-empty list is taken at its socket address.
    #[arg(long, env = "ELYSIUM_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Folder with the built browser bundle (`pkg/elysium.js`, `.wasm`, `.css`).
    #[arg(long, env = "ELYSIUM_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Folder with the OHIF viewer's built application (`index.html` and its bundles), served
    /// under `/ohif/`; without it, `/ohif/` says the viewer is not installed.
    #[arg(long, env = "ELYSIUM_OHIF_DIR")]
    pub ohif_dir: Option<PathBuf>,
    /// Remove orphaned objects (originals no instance row references, left by an ingest that
    /// stopped between writing and registering) every this many hours, from start-up; 0: never.
    #[arg(long, env = "ELYSIUM_ORPHAN_SWEEP_HOURS", default_value_t = 24)]
    pub orphan_sweep_hours: u64,
    /// Demo mode: creates demo sites and users with a shared password. Loopback addresses only.
    #[arg(long, env = "ELYSIUM_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,
    /// Password of the demo users.
    #[arg(long, env = "ELYSIUM_DEMO_PASSWORD", default_value = "elysium-demo-2026", hide_env_values = true)]
    pub demo_password: Secret,
    /// Secret key of the de-identified export (at least 32 characters; `elysium export` reads
    /// the same variable): it derives the pseudonyms, date shifts and UIDs, so keep it secret and
    /// the same as the command's. Without it the export page's downloads are refused.
    #[arg(long, env = "ELYSIUM_EXPORT_KEY", hide_env_values = true)]
    pub export_key: Option<Secret>,
}

impl ServeConfig {
    /// Whether the session cookie carries `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| self.public_url.as_deref().is_some_and(|u| u.starts_with("https://")))
    }

    /// The origin (`scheme://host[:port]`) of the public URL, without path or trailing slash.
    pub fn public_origin(&self) -> Option<String> {
        let url = self.public_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    }

    /// Checks what can be checked before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        if self.demo && !self.addr.ip().is_loopback() {
            return Err(format!(
                "demo mode refuses to listen on {}: demo users share a published password, so bind \
                 a loopback address (127.0.0.1 or ::1) or turn ELYSIUM_DEMO off",
                self.addr
            ));
        }
        if self.public_url.is_some() && self.public_origin().is_none() {
            return Err("ELYSIUM_PUBLIC_URL must look like https://host[:port]".into());
        }
        // Without a public URL, the Host header a client sends names the origin accepted for
        // forms and the base of the URLs handed out (DICOMweb retrieve URLs): trusted only where
        // every client is on this machine.
        if self.public_url.is_none() && !self.addr.ip().is_loopback() {
            return Err(format!(
                "listening on {} needs ELYSIUM_PUBLIC_URL (the address people use, e.g. \
                 https://elysium.example.org): without it the Host header a client sends would decide \
                 which origin may post forms and where the URLs handed out point",
                self.addr
            ));
        }
        if self.session_idle_minutes < 1 || self.session_max_hours < 1 {
            return Err("session timeouts must be at least one minute / one hour".into());
        }
        if self.signin_max_failures < 1 || self.signin_account_max_failures < 1 || self.signin_lock_minutes < 1 {
            return Err("sign-in throttling needs at least one failure and one minute".into());
        }
        // An empty variable is no key (the export page says so); a short one is a mistake.
        if let Some(key) = self.export_key.as_ref().filter(|k| !k.expose().is_empty()) {
            let chars = key.expose().chars().count();
            if chars < MIN_EXPORT_KEY_CHARS {
                return Err(format!(
                    "ELYSIUM_EXPORT_KEY is {chars} characters long; it must have at least {MIN_EXPORT_KEY_CHARS}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        serve: ServeConfig,
    }

    fn parse(args: &[&str]) -> ServeConfig {
        Probe::parse_from(std::iter::once("elysium").chain(args.iter().copied())).serve
    }

    #[test]
    fn demo_mode_refuses_non_loopback_addresses() {
        assert!(parse(&["--demo", "--addr", "0.0.0.0:3000"]).validate().is_err());
        assert!(parse(&["--demo", "--addr", "127.0.0.1:3000"]).validate().is_ok());
    }

    #[test]
    fn a_non_loopback_address_needs_a_public_url() {
        let refused = parse(&["--addr", "0.0.0.0:3000"]).validate().expect_err("the Host header would be trusted");
        assert!(refused.contains("ELYSIUM_PUBLIC_URL"), "{refused}");
        assert!(parse(&["--addr", "0.0.0.0:3000", "--public-url", "https://elysium.example.org"]).validate().is_ok());
        assert!(parse(&["--addr", "[::1]:3000"]).validate().is_ok(), "loopback: every client is on this machine");
    }

    #[test]
    fn https_public_url_makes_cookies_secure_unless_overridden() {
        assert!(!parse(&[]).secure_cookies());
        let https = parse(&["--public-url", "https://Elysium.example.org/app"]);
        assert!(https.secure_cookies());
        assert_eq!(https.public_origin().as_deref(), Some("https://elysium.example.org"));
        assert!(!parse(&["--public-url", "https://x.org", "--cookie-secure", "false"]).secure_cookies());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let config =
            parse(&["--demo-password", "hunter2hunter2", "--export-key", "export-key-export-key-export-key-0"]);
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:?}").contains("export-key-export"));
    }

    #[test]
    fn http_limits_have_bounded_defaults_and_refuse_zero() {
        let limits = parse(&[]).http;
        let deadlines = limits.deadlines();
        assert_eq!(deadlines.header, std::time::Duration::from_secs(10));
        assert_eq!(deadlines.idle, std::time::Duration::from_secs(75));
        assert_eq!((limits.http_max_requests, limits.http_max_ingests), (256, 8));
        assert_eq!((limits.max_stow_bytes, limits.max_upload_bytes), (1 << 30, 1 << 30));
        assert!(Probe::try_parse_from(["elysium", "--http-max-ingests", "0"]).is_err());
        assert!(Probe::try_parse_from(["elysium", "--http-header-timeout-secs", "0"]).is_err());
        assert!(Probe::try_parse_from(["elysium", "--http-idle-timeout-secs", "0"]).is_err());
    }

    #[test]
    fn a_short_export_key_is_refused_at_start() {
        assert!(parse(&["--export-key", "too-short"]).validate().is_err());
        assert!(parse(&["--export-key", &"k".repeat(32)]).validate().is_ok());
        assert!(parse(&["--export-key", ""]).validate().is_ok(), "empty: no key, the page says so");
    }
}

/// How long a client may take and how much it may send, and how many requests the server takes
/// on at once: one slow or greedy client (a stalled PACS, a slowloris, a huge upload) must not
/// starve everyone else of sign-in and the worklist. See [`crate::limits`].
#[derive(Debug, Clone, clap::Args)]
pub struct HttpLimits {
    /// Seconds a client has to send a request's headers, from the request's first byte; the
    /// connection is closed after that.
    #[arg(long, env = "ELYSIUM_HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_header_timeout_secs: u64,
    /// Seconds a connection may sit with no request (after connecting, or after the previous
    /// response); then it is closed. Longer than browsers keep an idle connection they opened
    /// ahead of need (about 10 s in Chromium), so that the server never closes one as the browser
    /// sends on it.
    #[arg(long, env = "ELYSIUM_HTTP_IDLE_TIMEOUT_SECS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_idle_timeout_secs: u64,
    /// Seconds an ordinary request may take until its response starts; past it the request is
    /// stopped and answered 503 `timed_out`. STOW-RS and uploads have their own deadlines.
    #[arg(long, env = "ELYSIUM_HTTP_REQUEST_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub http_request_timeout_secs: u64,
    /// Seconds a STOW-RS request or an upload may take to send its whole body.
    #[arg(long, env = "ELYSIUM_HTTP_INGEST_TIMEOUT_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub http_ingest_timeout_secs: u64,
    /// Seconds a STOW-RS request or an upload may go without sending a byte of its body.
    #[arg(long, env = "ELYSIUM_HTTP_BODY_IDLE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_body_idle_secs: u64,
    /// Requests handled at once; past it requests are answered 503 `busy` at once (liveness
    /// probes and metrics scrapes are not counted).
    #[arg(long, env = "ELYSIUM_HTTP_MAX_REQUESTS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub http_max_requests: u32,
    /// STOW-RS requests and uploads handled at once, within the requests above: slow senders
    /// cannot take every slot. Past it they are answered 503 `busy`.
    #[arg(long, env = "ELYSIUM_HTTP_MAX_INGESTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub http_max_ingests: u32,
    /// The largest STOW-RS request body, in bytes (its instances are held in memory while
    /// stored); larger requests are answered 413.
    #[arg(long, env = "ELYSIUM_MAX_STOW_BYTES", default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_stow_bytes: u64,
    /// The largest upload (the upload page's form post), in bytes; larger uploads are answered 413.
    #[arg(long, env = "ELYSIUM_MAX_UPLOAD_BYTES", default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_upload_bytes: u64,
}

impl HttpLimits {
    /// The connection deadlines of [`crate::listener::serve`].
    pub fn deadlines(&self) -> crate::listener::Deadlines {
        crate::listener::Deadlines {
            header: std::time::Duration::from_secs(self.http_header_timeout_secs),
            idle: std::time::Duration::from_secs(self.http_idle_timeout_secs),
        }
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http_request_timeout_secs)
    }

    pub fn ingest_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http_ingest_timeout_secs)
    }

    pub fn body_idle(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http_body_idle_secs)
    }
}

/// The follow-up program's service levels. Due dates are derived from them on every transition;
/// a finding is overdue when its due date has passed.
#[derive(Debug, Clone, clap::Args)]
pub struct FollowupConfig {
    /// A new finding is reviewed within this many working days of detection.
    #[arg(long, env = "ELYSIUM_SLA_REVIEW_WORKING_DAYS", default_value_t = 2)]
    pub sla_review_working_days: u32,
    /// Work-up is ordered within this many days of detection.
    #[arg(long, env = "ELYSIUM_SLA_WORKUP_ORDERED_DAYS", default_value_t = 7)]
    pub sla_workup_ordered_days: u32,
    /// Work-up is done within this many days of detection.
    #[arg(long, env = "ELYSIUM_SLA_WORKUP_DONE_DAYS", default_value_t = 30)]
    pub sla_workup_done_days: u32,
    /// The outcome is recorded within this many days of detection.
    #[arg(long, env = "ELYSIUM_SLA_OUTCOME_DAYS", default_value_t = 60)]
    pub sla_outcome_days: u32,
    /// Unsuccessful contact attempts before a patient may be marked lost to follow-up.
    #[arg(long, env = "ELYSIUM_CONTACTS_BEFORE_LOST", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub contacts_before_lost: u32,
}

/// The tumour board's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BoardConfig {
    /// Surgeons who sign a board decision before it is locked.
    #[arg(long, env = "ELYSIUM_MDT_QUORUM", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub mdt_quorum: u32,
}

impl BoardConfig {
    pub fn settings(&self) -> app::service::mdt::BoardSettings {
        app::service::mdt::BoardSettings { quorum: self.mdt_quorum }
    }
}

impl FollowupConfig {
    pub fn service_levels(&self) -> app::domain::followup::ServiceLevels {
        app::domain::followup::ServiceLevels {
            review_working_days: self.sla_review_working_days,
            workup_ordered_days: self.sla_workup_ordered_days,
            workup_done_days: self.sla_workup_done_days,
            outcome_days: self.sla_outcome_days,
            contacts_before_lost: self.contacts_before_lost,
        }
    }
}
