//! Sites: the hospitals and clinics whose data Elysium holds; users belong to one or more, and
//! each may name the calling AE titles whose C-STORE associations file studies under it.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DbError, DbResult, unique_violation};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SiteRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// The authority that assigns this site's patient IDs (the DICOM IssuerOfPatientID its
    /// instances would carry); by default the site's code.
    pub patient_id_authority: String,
}

/// Creates the site, or returns the existing one with that code (names are not overwritten).
/// A new site's patient ID authority is its code.
pub async fn ensure(conn: &mut PgConnection, code: &str, name: &str) -> DbResult<SiteRow> {
    sqlx::query!(
        "insert into site (code, name, patient_id_authority) values ($1, $2, $1)
         on conflict (code) do nothing",
        code,
        name
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, "site"))?;
    let row = sqlx::query_as!(SiteRow, "select id, code, name, patient_id_authority from site where code = $1", code)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row)
}

pub async fn by_code(conn: &mut PgConnection, code: &str) -> DbResult<Option<SiteRow>> {
    Ok(sqlx::query_as!(SiteRow, "select id, code, name, patient_id_authority from site where code = $1", code)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn list(pool: &PgPool) -> DbResult<Vec<SiteRow>> {
    Ok(sqlx::query_as!(SiteRow, "select id, code, name, patient_id_authority from site order by code")
        .fetch_all(pool)
        .await?)
}

/// A site as its administration page shows it: with the calling AE titles it receives from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SiteDetail {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub patient_id_authority: String,
    /// In byte order (`collate "C"`, whatever the database's locale).
    pub ae_titles: Vec<String>,
}

/// Every site with its AE titles, by code; or only the one with `code`.
pub async fn details(conn: &mut PgConnection, code: Option<&str>) -> DbResult<Vec<SiteDetail>> {
    Ok(sqlx::query_as!(
        SiteDetail,
        r#"select s.id, s.code, s.name, s.patient_id_authority,
                  array(select a.ae_title from site_ae_title a where a.site_id = s.id order by a.ae_title collate "C")
                      as "ae_titles!"
           from site s
           where $1::text is null or s.code = $1
           order by s.code"#,
        code
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Which of a site's unique values another site already holds.
fn site_conflict(err: sqlx::Error) -> DbError {
    let what = match &err {
        sqlx::Error::Database(db) => match db.constraint() {
            Some("site_patient_id_authority_key") => "patient ID authority",
            Some("site_ae_title_pkey") => "AE title",
            _ => "site code",
        },
        _ => "site",
    };
    unique_violation(err, what)
}

/// Creates a site; a code or authority another site has is [`DbError::AlreadyExists`].
pub async fn insert(conn: &mut PgConnection, code: &str, name: &str, patient_id_authority: &str) -> DbResult<Uuid> {
    sqlx::query_scalar!(
        "insert into site (code, name, patient_id_authority) values ($1, $2, $3) returning id",
        code,
        name,
        patient_id_authority
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(site_conflict)
}

/// Sets a site's name and patient ID authority.
pub async fn update(conn: &mut PgConnection, site_id: Uuid, name: &str, patient_id_authority: &str) -> DbResult<()> {
    let done = sqlx::query!(
        "update site set name = $2, patient_id_authority = $3 where id = $1",
        site_id,
        name,
        patient_id_authority
    )
    .execute(&mut *conn)
    .await
    .map_err(site_conflict)?;
    if done.rows_affected() == 0 {
        return Err(DbError::NotFound("site"));
    }
    Ok(())
}

/// Sets exactly these calling AE titles for a site; one another site has is
/// [`DbError::AlreadyExists`].
pub async fn set_ae_titles(conn: &mut PgConnection, site_id: Uuid, ae_titles: &[String]) -> DbResult<()> {
    sqlx::query!("delete from site_ae_title where site_id = $1", site_id).execute(&mut *conn).await?;
    sqlx::query!("insert into site_ae_title (ae_title, site_id) select unnest($2::text[]), $1", site_id, ae_titles)
        .execute(&mut *conn)
        .await
        .map_err(site_conflict)?;
    Ok(())
}

/// Of `ae_titles`, those another site than `except` receives from, with that site's code.
pub async fn ae_titles_elsewhere(
    conn: &mut PgConnection,
    ae_titles: &[String],
    except: Option<Uuid>,
) -> DbResult<Vec<(String, String)>> {
    let rows = sqlx::query!(
        "select a.ae_title, s.code from site_ae_title a join site s on s.id = a.site_id
         where a.ae_title = any($1) and ($2::uuid is null or a.site_id <> $2)
         order by a.ae_title",
        ae_titles,
        except
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.ae_title, r.code)).collect())
}

/// Every stored calling AE title and its site (what the C-STORE listener files by).
pub async fn ae_title_sites(conn: &mut PgConnection) -> DbResult<Vec<(String, Uuid)>> {
    let rows =
        sqlx::query!("select ae_title, site_id from site_ae_title order by ae_title").fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|r| (r.ae_title, r.site_id)).collect())
}

/// Whether any patient is filed under this assigning authority.
pub async fn authority_in_use(conn: &mut PgConnection, authority: &str) -> DbResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from patient where assigning_authority = $1) as "used!""#,
        authority
    )
    .fetch_one(&mut *conn)
    .await?)
}
