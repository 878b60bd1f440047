//! Sites (administrators): each hospital or clinic with the authority that assigns its patient
//! IDs and the calling AE titles whose C-STORE associations file studies under it. Creating and
//! editing a site are audited (`site.create`; `site.update` with the site before and after).
//!
//! | rule | refusal |
//! |---|---|
//! | code: 2-32 of `A-Z 0-9 -`, any case (stored upper-case); name 1-200 characters | 422 naming the field |
//! | authority: 1-64 characters, no `\` or control characters; blank on creation: the code | 422 |
//! | AE title: 1-16 printable ASCII characters but `\` (DICOM's AE), case kept | 422 naming the title |
//! | a code, authority or AE title another site has | 409 naming the other site where known |
//! | a new authority while patients are filed under the old one | 409: it would split their records |

use sqlx::PgPool;

use crate::domain::sites::{
    SiteRuleError, normalize_ae_titles, normalize_authority, normalize_site_code, normalize_site_name,
};
use crate::model::admin::{NewSite, SiteDetail, SiteUpdate};
use crate::said;
use crate::service::{Caller, ServiceError};

fn detail(row: elysium_db::sites::SiteDetail) -> SiteDetail {
    SiteDetail {
        code: row.code,
        name: row.name,
        patient_id_authority: row.patient_id_authority,
        ae_titles: row.ae_titles,
    }
}

/// What the audit trail records of a site.
fn audited(site: &elysium_db::sites::SiteDetail) -> serde_json::Value {
    serde_json::json!({
        "code": site.code, "name": site.name, "patient_id_authority": site.patient_id_authority,
        "ae_titles": site.ae_titles,
    })
}

fn invalid(field: &str) -> impl Fn(SiteRuleError) -> ServiceError + '_ {
    move |error| ServiceError::invalid(field, error.said())
}

/// Every site with its AE titles, by code.
pub async fn list(pool: &PgPool, caller: &Caller) -> Result<Vec<SiteDetail>, ServiceError> {
    caller.require_admin()?;
    let mut conn = pool.acquire().await?;
    Ok(elysium_db::sites::details(&mut conn, None).await?.into_iter().map(detail).collect())
}

/// Refuses AE titles another site receives from, naming it.
async fn check_ae_titles_free(
    conn: &mut sqlx::PgConnection,
    ae_titles: &[String],
    site: Option<uuid::Uuid>,
) -> Result<(), ServiceError> {
    let taken = elysium_db::sites::ae_titles_elsewhere(conn, ae_titles, site).await?;
    if taken.is_empty() {
        return Ok(());
    }
    let which: Vec<String> = taken.iter().map(|(title, code)| format!("{title} (site {code})")).collect();
    Err(ServiceError::Conflict(said!(
        ("ae_titles: already another site's: {}", which.join(", ")),
        ("ae_titles：已属于另一站点：{}", which.join(", "))
    )))
}

pub async fn create(pool: &PgPool, caller: &Caller, new: &NewSite) -> Result<SiteDetail, ServiceError> {
    caller.require_admin()?;
    let code = normalize_site_code(&new.code).map_err(invalid("code"))?;
    let name = normalize_site_name(&new.name).map_err(invalid("name"))?;
    let authority = if new.patient_id_authority.trim().is_empty() {
        code.clone()
    } else {
        normalize_authority(&new.patient_id_authority).map_err(invalid("patient_id_authority"))?
    };
    let ae_titles = normalize_ae_titles(&new.ae_titles).map_err(invalid("ae_titles"))?;
    let mut tx = pool.begin().await?;
    check_ae_titles_free(&mut tx, &ae_titles, None).await?;
    let id = elysium_db::sites::insert(&mut tx, &code, &name, &authority).await?;
    elysium_db::sites::set_ae_titles(&mut tx, id, &ae_titles).await?;
    let created =
        elysium_db::sites::details(&mut tx, Some(&code)).await?.into_iter().next().ok_or(ServiceError::NotFound)?;
    caller
        .audit("site.create")
        .target("site", code.clone())
        .detail(serde_json::json!({ "after": audited(&created) }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(detail(created))
}

/// Sets a site's name, patient ID authority and AE titles to exactly these. The AE titles apply
/// to the C-STORE listener's next association.
pub async fn update(
    pool: &PgPool,
    caller: &Caller,
    code: &str,
    update: &SiteUpdate,
) -> Result<SiteDetail, ServiceError> {
    caller.require_admin()?;
    let code = code.trim().to_uppercase();
    let name = normalize_site_name(&update.name).map_err(invalid("name"))?;
    let authority = normalize_authority(&update.patient_id_authority).map_err(invalid("patient_id_authority"))?;
    let ae_titles = normalize_ae_titles(&update.ae_titles).map_err(invalid("ae_titles"))?;
    let mut tx = pool.begin().await?;
    let before =
        elysium_db::sites::details(&mut tx, Some(&code)).await?.into_iter().next().ok_or(ServiceError::NotFound)?;
    // Studies that name no issuer are filed under the site's authority: with patients already
    // under the old one, a new one would file the same people's next studies as other patients.
    if before.patient_id_authority != authority
        && elysium_db::sites::authority_in_use(&mut tx, &before.patient_id_authority).await?
    {
        let authority = &before.patient_id_authority;
        return Err(ServiceError::Conflict(said!(
            "patient_id_authority: patients are filed under {authority}; changing it would split their records",
            "patient_id_authority：已有患者归于 {authority}；更改会拆分他们的档案"
        )));
    }
    check_ae_titles_free(&mut tx, &ae_titles, Some(before.id)).await?;
    elysium_db::sites::update(&mut tx, before.id, &name, &authority).await?;
    elysium_db::sites::set_ae_titles(&mut tx, before.id, &ae_titles).await?;
    let after =
        elysium_db::sites::details(&mut tx, Some(&code)).await?.into_iter().next().ok_or(ServiceError::NotFound)?;
    caller
        .audit("site.update")
        .target("site", code)
        .detail(serde_json::json!({ "before": audited(&before), "after": audited(&after) }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(detail(after))
}
