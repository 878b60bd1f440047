//! User accounts, their roles and their sites.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{DbError, DbResult, unique_violation};

/// What the sign-in path needs: the hash to verify and whether the account may sign in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
    pub active: bool,
}

/// A user as the rest of the application sees them (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<String>,
    pub site_ids: Vec<Uuid>,
    pub site_codes: Vec<String>,
    pub site_names: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The chosen interface language (BCP 47), if any.
    pub language: Option<String>,
    /// Sessions signed in before this have ended (see [`end_sessions`]).
    #[serde(with = "time::serde::rfc3339::option")]
    pub sessions_ended_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_signin_at: Option<OffsetDateTime>,
    /// Signed in with a temporary password: may only choose their own until they do.
    pub must_change_password: bool,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [String],
    pub site_ids: &'a [Uuid],
    /// The password is a temporary one the user must replace at their first sign-in.
    pub must_change_password: bool,
}

pub async fn credentials(conn: &mut PgConnection, username: &str) -> DbResult<Option<Credentials>> {
    Ok(sqlx::query_as!(
        Credentials,
        "select id as user_id, password_hash, active from app_user where username = $1",
        username
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Creates a user with roles and sites in one transaction owned by the caller.
pub async fn insert(conn: &mut PgConnection, user: &NewUser<'_>) -> DbResult<Uuid> {
    let id = sqlx::query_scalar!(
        "insert into app_user (username, display_name, password_hash, must_change_password)
         values ($1, $2, $3, $4) returning id",
        user.username,
        user.display_name,
        user.password_hash,
        user.must_change_password
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "username"))?;
    insert_roles_and_sites(conn, id, user.roles, user.site_ids).await?;
    Ok(id)
}

/// Sets a password; every session of the user ends (a reset is often because of a compromise).
/// `must_change`: the password is a temporary one (an administrator's reset); `false` clears
/// the flag (the user, or the command line, chose it). Returns the moment the sessions ended, so
/// that a caller may sign its own session in again after it.
pub async fn set_password(
    conn: &mut PgConnection,
    user_id: Uuid,
    password_hash: &str,
    must_change: bool,
) -> DbResult<OffsetDateTime> {
    sqlx::query_scalar!(
        r#"update app_user
           set password_hash = $2, password_changed_at = now(), sessions_ended_at = now(), must_change_password = $3
           where id = $1
           returning sessions_ended_at as "ended_at!""#,
        user_id,
        password_hash,
        must_change
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DbError::NotFound("user"))
}

pub async fn id_by_username(conn: &mut PgConnection, username: &str) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!("select id from app_user where username = $1", username).fetch_optional(&mut *conn).await?)
}

pub async fn by_id(conn: &mut PgConnection, user_id: Uuid) -> DbResult<Option<UserRow>> {
    Ok(summaries(conn, Some(user_id)).await?.into_iter().next())
}

pub async fn list(pool: &PgPool) -> DbResult<Vec<UserRow>> {
    let mut conn = pool.acquire().await?;
    summaries(&mut conn, None).await
}

/// One user (`only`) or all of them, ordered by username.
async fn summaries(conn: &mut PgConnection, only: Option<Uuid>) -> DbResult<Vec<UserRow>> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"select u.id, u.username, u.display_name, u.active, u.created_at, u.language, u.sessions_ended_at,
                  u.last_signin_at, u.must_change_password,
                  array(select role from user_role r where r.user_id = u.id order by role) as "roles!",
                  array(select s.id from user_site us join site s on s.id = us.site_id
                        where us.user_id = u.id order by s.code) as "site_ids!",
                  array(select s.code from user_site us join site s on s.id = us.site_id
                        where us.user_id = u.id order by s.code) as "site_codes!",
                  array(select s.name from user_site us join site s on s.id = us.site_id
                        where us.user_id = u.id order by s.code) as "site_names!"
           from app_user u
           where $1::uuid is null or u.id = $1
           order by u.username"#,
        only
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Sets (or with `None` clears) a user's interface language.
pub async fn set_language(conn: &mut PgConnection, user_id: Uuid, language: Option<&str>) -> DbResult<()> {
    let updated =
        sqlx::query!("update app_user set language = $2 where id = $1", user_id, language).execute(&mut *conn).await?;
    if updated.rows_affected() == 0 {
        return Err(crate::DbError::NotFound("user"));
    }
    Ok(())
}

pub async fn count(conn: &mut PgConnection) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(r#"select count(*) as "n!" from app_user"#).fetch_one(&mut *conn).await?)
}

/// Creates or resets a demo account: password, roles and sites set to exactly these.
pub async fn upsert_demo(
    conn: &mut PgConnection,
    username: &str,
    display_name: &str,
    password_hash: &str,
    roles: &[String],
    site_ids: &[Uuid],
) -> DbResult<Uuid> {
    let id = sqlx::query_scalar!(
        "insert into app_user (username, display_name, password_hash) values ($1, $2, $3)
         on conflict (username) do update
             set display_name = excluded.display_name, password_hash = excluded.password_hash, active = true,
                 must_change_password = false
         returning id",
        username,
        display_name,
        password_hash
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("delete from user_role where user_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("delete from user_site where user_id = $1", id).execute(&mut *conn).await?;
    insert_roles_and_sites(conn, id, roles, site_ids).await?;
    Ok(id)
}

async fn insert_roles_and_sites(
    conn: &mut PgConnection,
    id: Uuid,
    roles: &[String],
    site_ids: &[Uuid],
) -> DbResult<()> {
    sqlx::query!("insert into user_role (user_id, role) select $1, unnest($2::text[])", id, roles)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("insert into user_site (user_id, site_id) select $1, unnest($2::uuid[])", id, site_ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of the user signed in before now. `false`: no such user.
pub async fn end_sessions(conn: &mut PgConnection, user_id: Uuid) -> DbResult<bool> {
    let done = sqlx::query!("update app_user set sessions_ended_at = now() where id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a sign-in.
pub async fn signed_in(conn: &mut PgConnection, user_id: Uuid) -> DbResult<()> {
    sqlx::query!("update app_user set last_signin_at = now() where id = $1", user_id).execute(&mut *conn).await?;
    Ok(())
}

/// A user's account as an administrator edits it: display name, whether it may sign in, and
/// exactly these roles and sites. Deactivating ends the user's sessions.
pub async fn update_account(
    conn: &mut PgConnection,
    user_id: Uuid,
    display_name: &str,
    active: bool,
    roles: &[String],
    site_ids: &[Uuid],
) -> DbResult<()> {
    let done = sqlx::query!(
        "update app_user
         set display_name = $2, active = $3,
             sessions_ended_at = case when active and not $3 then now() else sessions_ended_at end
         where id = $1",
        user_id,
        display_name,
        active
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(DbError::NotFound("user"));
    }
    sqlx::query!("delete from user_role where user_id = $1", user_id).execute(&mut *conn).await?;
    sqlx::query!("delete from user_site where user_id = $1", user_id).execute(&mut *conn).await?;
    insert_roles_and_sites(conn, user_id, roles, site_ids).await
}

/// An active user's id by username.
pub async fn active_id(conn: &mut PgConnection, username: &str) -> DbResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!("select id from app_user where username = $1 and active", username)
        .fetch_optional(&mut *conn)
        .await?)
}
