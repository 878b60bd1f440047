//! Sign-in throttling: failures per (username, client address) and the locks they cause. A
//! lock on the address [`ANY_ADDRESS`] holds the account from every address: many addresses
//! guessing one account's password (each below its own limit) lock it for a while too.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::DbResult;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockRow {
    pub username: String,
    pub client_addr: String,
    #[serde(with = "time::serde::rfc3339")]
    pub locked_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub locked_until: OffsetDateTime,
}

/// The client address of an account-wide lock (no real address looks like it).
pub const ANY_ADDRESS: &str = "*";

/// The end of the lock that holds the pair now (its own, or the account's from every address),
/// if any.
pub async fn locked_until(
    conn: &mut PgConnection,
    username: &str,
    client_addr: &str,
) -> DbResult<Option<OffsetDateTime>> {
    Ok(sqlx::query_scalar!(
        r#"select max(locked_until) as "until" from signin_lock
         where username = $1 and client_addr in ($2, $3) and locked_until > now()"#,
        username,
        client_addr,
        ANY_ADDRESS
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Failures within the throttle's window: of the pair, and of the account from every address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub pair: i64,
    pub account: i64,
}

/// Records a failure and returns how many the pair and the account have had within `window`.
pub async fn record_failure(
    conn: &mut PgConnection,
    username: &str,
    client_addr: &str,
    window: time::Duration,
) -> DbResult<Failures> {
    sqlx::query!("insert into signin_failure (username, client_addr) values ($1, $2)", username, client_addr)
        .execute(&mut *conn)
        .await?;
    let since = OffsetDateTime::now_utc() - window;
    let counts = sqlx::query!(
        r#"select count(*) filter (where client_addr = $2) as "pair!", count(*) as "account!"
           from signin_failure where username = $1 and failed_at > $3"#,
        username,
        client_addr,
        since
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Failures { pair: counts.pair, account: counts.account })
}

pub async fn lock(
    conn: &mut PgConnection,
    username: &str,
    client_addr: &str,
    duration: time::Duration,
) -> DbResult<OffsetDateTime> {
    let until = OffsetDateTime::now_utc() + duration;
    sqlx::query!(
        "insert into signin_lock (username, client_addr, locked_until) values ($1, $2, $3)
         on conflict (username, client_addr)
         do update set locked_at = now(), locked_until = excluded.locked_until",
        username,
        client_addr,
        until
    )
    .execute(&mut *conn)
    .await?;
    Ok(until)
}

/// Forgets the pair's failures and any lock (after a successful sign-in or an admin's unlock).
/// Returns whether a lock was removed.
pub async fn clear(conn: &mut PgConnection, username: &str, client_addr: &str) -> DbResult<bool> {
    sqlx::query!("delete from signin_failure where username = $1 and client_addr = $2", username, client_addr)
        .execute(&mut *conn)
        .await?;
    let removed =
        sqlx::query!("delete from signin_lock where username = $1 and client_addr = $2", username, client_addr)
            .execute(&mut *conn)
            .await?;
    Ok(removed.rows_affected() > 0)
}

pub async fn active_locks(pool: &PgPool) -> DbResult<Vec<LockRow>> {
    Ok(sqlx::query_as!(
        LockRow,
        "select username, client_addr, locked_at, locked_until from signin_lock
         where locked_until > now() order by locked_at desc"
    )
    .fetch_all(pool)
    .await?)
}
