//! Sites: the hospitals and clinics whose data Elysium holds; users belong to one or more.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DbResult, unique_violation};

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
