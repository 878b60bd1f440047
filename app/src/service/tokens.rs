//! API tokens for integrations (PACS, RIS, data warehouse, metrics scraper): created for a user
//! with scopes and an expiry, shown once, stored as a SHA-256, listed with their last use, and
//! revoked. Creating and revoking are audited; the token itself never is.

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::scopes::Scope;
use crate::format;
use crate::model::tokens::*;
use crate::said;
use crate::service::{Audit, Caller, ServiceError};

/// Prefix that makes a leaked token easy to recognise (and to scan for).
pub const PREFIX: &str = "ely_";

/// A new token: 244 random bits from two v4 UUIDs (the OS random source), hex encoded.
pub fn generate() -> String {
    format!("{PREFIX}{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// What is stored of a token: its SHA-256, hex encoded.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The scopes of a request: known names, at least one, no repeats, `all` alone.
pub fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, ServiceError> {
    let mut scopes = Vec::new();
    for name in names {
        let scope = name.trim().parse::<Scope>().map_err(|e| ServiceError::invalid("scopes", e.said()))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(ServiceError::invalid("scopes", said!("choose at least one scope", "请至少选择一个权限范围")));
    }
    if scopes.len() > 1 && scopes.contains(&Scope::All) {
        return Err(ServiceError::invalid(
            "scopes",
            said!("`all` already covers every other scope", "“all”已包含其他所有权限范围"),
        ));
    }
    scopes.sort();
    Ok(scopes)
}

/// Creates a token for `request.username`, as `creator` (the command line has no caller: it
/// writes its own audit event). Returns the token, shown this once.
pub async fn create(
    pool: &PgPool,
    creator: Audit,
    creator_id: Option<Uuid>,
    request: &NewTokenRequest,
) -> Result<CreatedToken, ServiceError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid(
            "name",
            said!("a name of 1 to 100 characters (what uses the token)", "名称，1 至 100 个字符（说明由谁使用此令牌）"),
        ));
    }
    let scopes = parse_scopes(&request.scopes)?;
    if !(1..=MAX_TOKEN_DAYS).contains(&request.expires_in_days) {
        return Err(ServiceError::invalid(
            "expires_in_days",
            said!("from 1 to {MAX_TOKEN_DAYS} days", "1 至 {MAX_TOKEN_DAYS} 天"),
        ));
    }
    let expires_at = OffsetDateTime::now_utc() + Duration::days(i64::from(request.expires_in_days));
    let username = request.username.trim().to_lowercase();
    let token = generate();
    let mut tx = pool.begin().await?;
    let user_id = elysium_db::users::id_by_username(&mut tx, &username)
        .await?
        .ok_or_else(|| ServiceError::invalid("username", said!("no such user", "没有此用户")))?;
    let scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let digest = digest(&token);
    let id = elysium_db::tokens::insert(
        &mut tx,
        &elysium_db::tokens::NewToken {
            user_id,
            name,
            token_sha256: &digest,
            scopes: &scope_names,
            expires_at: Some(expires_at),
            created_by: creator_id,
        },
    )
    .await?;
    creator
        .target("api_token", id.to_string())
        .detail(serde_json::json!({
            "username": username, "name": name, "scopes": scope_names, "expires_at": format::rfc3339(expires_at),
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        id: id.to_string(),
        name: name.to_owned(),
        username,
        scopes,
        expires_at: format::rfc3339(expires_at),
        token,
    })
}

/// Creates a token as an administrator.
pub async fn create_as(
    pool: &PgPool,
    caller: &Caller,
    request: &NewTokenRequest,
) -> Result<CreatedToken, ServiceError> {
    caller.require_admin()?;
    create(pool, caller.audit("token.create"), Some(caller.user.id), request).await
}

pub async fn list(pool: &PgPool, caller: &Caller) -> Result<Vec<TokenSummary>, ServiceError> {
    caller.require_admin()?;
    let now = OffsetDateTime::now_utc();
    Ok(elysium_db::tokens::list(pool)
        .await?
        .into_iter()
        .map(|t| TokenSummary {
            id: t.id.to_string(),
            name: t.name,
            username: t.username,
            scopes: t.scopes,
            state: match (t.revoked_at, t.expires_at) {
                (Some(_), _) => TokenState::Revoked,
                (None, Some(at)) if at <= now => TokenState::Expired,
                _ => TokenState::Active,
            },
            created_at: format::second(t.created_at),
            created_by: t.created_by,
            expires_at: t.expires_at.map(format::second),
            last_used_at: t.last_used_at.map(format::minute),
            revoked_at: t.revoked_at.map(format::second),
        })
        .collect())
}

/// Revokes a token at once (its next request gets 401). Audited whether or not it was live.
pub async fn revoke(pool: &PgPool, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let id: Uuid = id.parse().map_err(|_| ServiceError::NotFound)?;
    let mut tx = pool.begin().await?;
    let revoked = elysium_db::tokens::revoke(&mut tx, id).await?;
    let audit = caller.audit("token.revoke").target("api_token", id.to_string());
    let audit = if revoked { audit } else { audit.failed() };
    audit.record_in(&mut tx).await?;
    tx.commit().await?;
    if revoked { Ok(()) } else { Err(ServiceError::NotFound) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_are_known_deduplicated_and_all_stands_alone() {
        assert_eq!(
            parse_scopes(&names(&["metrics:read", "dicom:write", "metrics:read"])).expect("valid"),
            vec![Scope::DicomWrite, Scope::MetricsRead]
        );
        for bad in [vec![], names(&["dicom:admin"]), names(&["all", "dicom:write"])] {
            assert!(parse_scopes(&bad).expect_err("refused").to_string().starts_with("scopes"), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_unique_prefixed_and_hashed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        // sha256("ely_test"), computed with `printf ely_test | sha256sum`.
        assert_eq!(digest("ely_test"), "af5a8c38de63fc17a2fdb75bbeb9bfaefec9db0f501f1666d80fdff209fae8df");
    }
}
