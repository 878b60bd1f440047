//! Which site (hospital) received an instance. Every way in resolves exactly one before anything
//! is stored: a study filed under no site is invisible to every coordinator, so its positives
//! would reach no worklist.
//!
//! | way in | how the site is chosen |
//! |---|---|
//! | STOW-RS | `?site=CODE`; without it, the sender's only site |
//! | upload page | the form's `site` field; without it, the uploader's only site |
//! | C-STORE | the calling AE title's site (`ELYSIUM_DICOM_AE_SITES`, then the sites page's AE titles), else `ELYSIUM_DICOM_SITE`; the listener does not start with none of them |
//! | `elysium ingest` | `--site CODE` (required) |
//!
//! A user may name one of their own sites; an administrator may name any existing site.

use app::domain::roles::Role;
use app::model::SessionUser;
use sqlx::PgPool;
use uuid::Uuid;

/// Why no site could be chosen; each message tells the sender what to do, in both languages
/// ([`SiteError::said`]; `Display` is its English, the REST API's and the logs').
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteError {
    Ambiguous(Vec<String>),
    NoSite,
    NotYours(String),
    Unknown(String),
}

impl SiteError {
    /// The refusal in both languages (the upload page shows the reader's).
    pub fn said(&self) -> app::domain::said::Said {
        use app::said;
        match self {
            SiteError::Ambiguous(codes) => {
                let (en, zh) = (codes.join(", "), codes.join("、"));
                said!(
                    "choose the receiving site (one of {en}): `?site=CODE` for STOW-RS, the site field on the upload page",
                    "请选择接收站点（{zh} 之一）：STOW-RS 用 `?site=CODE`，上传页面用站点字段"
                )
            }
            SiteError::NoSite => said!(
                "your account belongs to no site, so received images could be filed nowhere; an administrator must add you to a site (administrators name one with `?site=CODE`)",
                "您的账户不属于任何站点，收到的影像无处归档；请管理员将您加入一个站点（管理员可用 `?site=CODE` 指定站点）"
            ),
            SiteError::NotYours(code) => said!("site {code} is not one of your sites", "站点 {code} 不是您的站点"),
            SiteError::Unknown(code) => said!("no site has the code {code}", "没有代码为 {code} 的站点"),
        }
    }
}

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said().en)
    }
}

impl std::error::Error for SiteError {}

impl ResolveError {
    /// The refusal in both languages; a database failure is logged and said in general words.
    pub fn said(&self) -> app::domain::said::Said {
        match self {
            ResolveError::Site(error) => error.said(),
            ResolveError::Database(error) => {
                tracing::error!(%error, "resolving the receiving site");
                app::domain::said::Said::new(
                    "the receiving site could not be looked up; it has been logged",
                    "无法查询接收站点，已记录日志",
                )
            }
        }
    }
}

/// The site named by `requested` (a site code, any case), or the user's only site.
pub async fn resolve(pool: &PgPool, user: &SessionUser, requested: Option<&str>) -> Result<Uuid, ResolveError> {
    let requested = requested.map(|code| code.trim().to_uppercase()).filter(|code| !code.is_empty());
    match requested {
        Some(code) => {
            if let Some(site) = user.sites.iter().find(|s| s.code == code) {
                return Ok(site.id);
            }
            if !user.has_role(Role::Admin) {
                return Err(SiteError::NotYours(code).into());
            }
            let mut conn = pool.acquire().await?;
            match elysium_db::sites::by_code(&mut conn, &code).await? {
                Some(site) => Ok(site.id),
                None => Err(SiteError::Unknown(code).into()),
            }
        }
        None => match user.sites.as_slice() {
            [only] => Ok(only.id),
            [] => Err(SiteError::NoSite.into()),
            several => Err(SiteError::Ambiguous(several.iter().map(|s| s.code.clone()).collect()).into()),
        },
    }
}

/// [`resolve`]'s failure: the sender's to fix, or the database's.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error(transparent)]
    Database(#[from] elysium_db::DbError),
}

impl From<sqlx::Error> for ResolveError {
    fn from(error: sqlx::Error) -> Self {
        ResolveError::Database(error.into())
    }
}

impl From<ResolveError> for crate::error::ApiError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::Site(error) => crate::error::ApiError::BadRequest(error.to_string()),
            ResolveError::Database(error) => error.into(),
        }
    }
}

/// A site by its code, for the ways in that name one in configuration (C-STORE, the command
/// line): it must exist; a typo never creates a site.
pub async fn by_code(pool: &PgPool, code: &str) -> anyhow::Result<Uuid> {
    let code = code.trim().to_uppercase();
    let mut conn = pool.acquire().await?;
    match elysium_db::sites::by_code(&mut conn, &code).await? {
        Some(site) => Ok(site.id),
        None => anyhow::bail!("{}", SiteError::Unknown(code)),
    }
}
