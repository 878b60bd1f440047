//! The longitudinal patient record: search within the caller's sites, the record page (the
//! patient, the records linked to it as one person, one timeline across them, biomarkers scan by
//! scan), and linking or unlinking two records of different assigning authorities. Every view and
//! every search is audited; links are audited with both records.

use elysium_db::DbError;
use elysium_db::record::{self as db, PatientRow, PatientSearch};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::format;
use crate::model::record::*;
use crate::said;
use crate::service::{Caller, ServiceError};

pub const PAGE_SIZE: u32 = 50;
/// The longest search text (a name, an identifier or an accession number fits well within it).
pub const MAX_QUERY: usize = 64;
/// The most timeline entries one page shows (years of a busy patient fit well within it).
pub const MAX_TIMELINE: i64 = 2000;
/// Who may link and unlink records.
pub const LINKERS: [Role; 2] = [Role::Coordinator, Role::Admin];

fn summary(row: PatientRow) -> PatientSummary {
    PatientSummary {
        id: row.id,
        patient_id: row.patient_id,
        authority: row.authority,
        name: row.name,
        sex: row.sex,
        birth_date: row.birth_date.map(format::date),
        studies: row.studies,
    }
}

/// `word` as a LIKE pattern that matches it anywhere, its own wildcards escaped.
fn contains(word: &str) -> String {
    let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The search: every word in the identifier or the name, or the birth date, or an accession
/// number. An empty or over-long text is refused.
pub async fn search(pool: &PgPool, caller: &Caller, params: &PatientSearchParams) -> Result<PatientList, ServiceError> {
    let q = params.q.as_deref().map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Err(ServiceError::invalid(
            "q",
            said!(
                "say what to search for: a patient ID, a name, a birth date or an accession number",
                "请输入要查找的内容：患者 ID、姓名、出生日期或检查号"
            ),
        ));
    }
    if q.chars().count() > MAX_QUERY || q.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "q",
            said!("at most {MAX_QUERY} characters, no control characters", "最多 {MAX_QUERY} 个字符，不含控制字符"),
        ));
    }
    let words: Vec<String> = q.split_whitespace().map(contains).collect();
    let single = !q.contains(char::is_whitespace);
    let page = params.page.unwrap_or(1).max(1);
    let query = PatientSearch {
        words,
        birth_date: format::parse_date(q),
        accession: single.then(|| q.to_owned()),
        scope: caller.user.site_scope(),
        limit: i64::from(PAGE_SIZE),
        offset: i64::from(page - 1).saturating_mul(i64::from(PAGE_SIZE)),
    };
    let (rows, total) = db::search(pool, &query).await?;
    let items: Vec<PatientSummary> = rows.into_iter().map(summary).collect();
    caller
        .audit("patient.search")
        .target_kind("patient")
        .detail(serde_json::json!({ "q": q, "page": page, "matched": total }))
        .record(pool)
        .await?;
    Ok(PatientList { items, total, page, page_size: PAGE_SIZE })
}

/// A record the caller may see: one with a study at their sites (404 otherwise, as unknown).
pub(crate) async fn visible(pool: &PgPool, caller: &Caller, id: Uuid) -> Result<PatientRow, ServiceError> {
    let scope = caller.user.site_scope();
    let row = db::patient(pool, id, scope.as_deref()).await?.ok_or(ServiceError::NotFound)?;
    if scope.is_some() && row.studies == 0 {
        return Err(ServiceError::NotFound);
    }
    Ok(row)
}

fn number(value: &serde_json::Value, key: &str) -> Option<f64> {
    value.get(key).and_then(serde_json::Value::as_f64).filter(|v| v.is_finite())
}

fn timeline_item(row: db::TimelineRow) -> Result<TimelineItem, ServiceError> {
    let kind = TimelineKind::ALL
        .into_iter()
        .find(|k| k.as_str() == row.kind)
        .ok_or_else(|| ServiceError::Internal(format!("unknown timeline entry `{}`", row.kind).into()))?;
    Ok(TimelineItem {
        at: format::rfc3339(row.at),
        day: format::date(row.at.date()),
        kind,
        study_uid: row.study_uid,
        organ: row.organ,
        ref_id: row.ref_id,
        patient_id: row.patient_id,
        detail: row.detail,
    })
}

/// Checks the timeline's filters: an organ among the cancers (and larynx), a kind among the
/// groups.
fn check_filters(params: &TimelineParams) -> Result<(Option<String>, Option<String>), ServiceError> {
    let organ = params.organ.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let kind = params.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let organs: Vec<&str> = crate::domain::organs::Organ::ALL.iter().map(|o| o.as_str()).chain(["larynx"]).collect();
    if let Some(organ) = organ
        && !organs.contains(&organ)
    {
        return Err(ServiceError::invalid("organ", Said::one_of(&organs)));
    }
    if let Some(kind) = kind
        && !TIMELINE_GROUPS.contains(&kind)
    {
        return Err(ServiceError::invalid("kind", Said::one_of(&TIMELINE_GROUPS)));
    }
    Ok((organ.map(str::to_owned), kind.map(str::to_owned)))
}

/// The timeline of the records linked as `id`'s person, within the caller's sites, newest
/// first, filtered.
async fn timeline_of(
    pool: &PgPool,
    caller: &Caller,
    group: &[Uuid],
    params: &TimelineParams,
) -> Result<Vec<TimelineItem>, ServiceError> {
    let (organ, kind) = check_filters(params)?;
    let scope = caller.user.site_scope();
    let rows = db::timeline(pool, group, scope.as_deref(), MAX_TIMELINE).await?;
    rows.into_iter()
        .map(timeline_item)
        .filter(|item| match item {
            Ok(item) => {
                kind.as_deref().is_none_or(|k| item.kind.group() == k)
                    && organ.as_deref().is_none_or(|o| item.organ.as_deref() == Some(o))
            }
            Err(_) => true,
        })
        .collect()
}

/// `GET /api/v1/patients/{id}/timeline`. Audited as a view of every record it spans.
pub async fn timeline(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    params: &TimelineParams,
) -> Result<Timeline, ServiceError> {
    let patient = visible(pool, caller, id).await?;
    let group = db::linked_group(pool, id).await?;
    let items = timeline_of(pool, caller, &group, params).await?;
    audit_view(pool, caller, &patient, group.len()).await?;
    Ok(Timeline { items })
}

async fn audit_view(pool: &PgPool, caller: &Caller, patient: &PatientRow, records: usize) -> Result<(), ServiceError> {
    caller
        .audit("patient.view")
        .target("patient", patient.id.to_string())
        .patient(patient.patient_id.clone())
        .detail(serde_json::json!({ "authority": patient.authority, "linked_records": records }))
        .record(pool)
        .await?;
    Ok(())
}

/// The record page. Audited as a view.
pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    params: &TimelineParams,
) -> Result<PatientRecord, ServiceError> {
    let patient = visible(pool, caller, id).await?;
    let scope = caller.user.site_scope();
    let group = db::linked_group(pool, id).await?;
    let mut linked = Vec::new();
    for other in group.iter().filter(|other| **other != id) {
        if let Some(row) = db::patient(pool, *other, scope.as_deref()).await? {
            linked.push(summary(row));
        }
    }
    let timeline = timeline_of(pool, caller, &group, params).await?;
    let biomarkers = db::biomarkers(pool, &group, scope.as_deref())
        .await?
        .into_iter()
        .map(|row| BiomarkerPoint {
            on: format::date(row.observed_on),
            study_uid: row.study_uid,
            liver_hu: number(&row.biomarkers, "liver_hu"),
            liver_minus_spleen_hu: number(&row.biomarkers, "liver_minus_spleen_hu"),
            l1_trabecular_hu: number(&row.biomarkers, "l1_trabecular_hu"),
            coronary_calcium_mm3: number(&row.biomarkers, "coronary_calcium_mm3"),
            aortic_calcium_mm3: number(&row.biomarkers, "aortic_calcium_mm3"),
        })
        .collect();
    let links = db::links(pool, id)
        .await?
        .into_iter()
        .map(|l| LinkView {
            id: l.id,
            other_id: l.other,
            other_patient_id: l.other_patient_id,
            other_authority: l.other_authority,
            other_name: l.other_name,
            reason: l.reason,
            linked_by: l.linked_by,
            linked_at: format::minute(l.linked_at),
            active: l.unlinked_at.is_none(),
            unlinked_by: l.unlinked_by,
            unlinked_at: l.unlinked_at.map(format::minute),
            unlink_reason: l.unlink_reason,
        })
        .collect();
    let hidden_studies = match scope.as_deref() {
        Some(scope) => db::studies_outside(pool, &group, scope).await?,
        None => 0,
    };
    let rules = crate::service::settings::chronic_rules(pool).await?;
    let lesions = crate::service::lesions::tracks_of_group(pool, caller, &group).await?;
    audit_view(pool, caller, &patient, group.len()).await?;
    Ok(PatientRecord {
        patient: summary(patient),
        linked,
        links,
        timeline,
        biomarkers,
        lesions,
        rules,
        hidden_studies,
        may_link: caller.user.has_any_role(&LINKERS),
    })
}

fn reason(text: &str, field: &str) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::invalid(field, said!("say why", "请说明原因")));
    }
    if text.chars().count() > 2000 || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::invalid(
            field,
            said!("at most 2000 characters, no control characters", "最多 2000 个字符，不含控制字符"),
        ));
    }
    Ok(text.to_owned())
}

/// Links record `id` with the record `request` names, as one person: both must be within the
/// caller's sites and of different assigning authorities (one authority's identifier is one
/// patient already). Rows are never merged. Audited with both records.
pub async fn link(pool: &PgPool, caller: &Caller, id: Uuid, request: &LinkRequest) -> Result<LinkView, ServiceError> {
    if !caller.user.has_any_role(&LINKERS) {
        return Err(ServiceError::Forbidden);
    }
    let why = reason(&request.reason, "reason")?;
    let this = visible(pool, caller, id).await?;
    let other_id = db::by_identifier(pool, request.authority.trim(), request.patient_id.trim())
        .await?
        .ok_or_else(no_such_record)?;
    let other = visible(pool, caller, other_id).await.map_err(|_| no_such_record())?;
    if other.id == this.id {
        return Err(ServiceError::invalid(
            "patient_id",
            said!("a record cannot be linked with itself", "档案不能与自身关联"),
        ));
    }
    if other.authority == this.authority {
        return Err(ServiceError::invalid(
            "authority",
            said!(
                "both records are of one assigning authority; link records of different hospitals",
                "两份档案来自同一分配机构；只能关联不同医院的档案"
            ),
        ));
    }
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    // Both rows locked in a fixed order, so two people linking the same pair queue up.
    let (first, second) = if this.id < other.id { (this.id, other.id) } else { (other.id, this.id) };
    db::lock_patient(&mut tx, first, scope.as_deref()).await?;
    db::lock_patient(&mut tx, second, scope.as_deref()).await?;
    let link_id = db::link(&mut tx, this.id, other.id, &why, caller.user.id)
        .await?
        .ok_or_else(|| ServiceError::Conflict(said!("these records are linked already", "这两份档案已关联")))?;
    caller
        .audit("patient.link")
        .target("patient_link", link_id.to_string())
        .patient(this.patient_id.clone())
        .detail(serde_json::json!({
            "records": [
                { "patient_id": this.patient_id, "authority": this.authority },
                { "patient_id": other.patient_id, "authority": other.authority },
            ],
            "reason": why,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    let view = db::links(pool, id).await?.into_iter().find(|l| l.id == link_id).ok_or(ServiceError::NotFound)?;
    Ok(LinkView {
        id: view.id,
        other_id: view.other,
        other_patient_id: view.other_patient_id,
        other_authority: view.other_authority,
        other_name: view.other_name,
        reason: view.reason,
        linked_by: view.linked_by,
        linked_at: format::minute(view.linked_at),
        active: true,
        unlinked_by: None,
        unlinked_at: None,
        unlink_reason: None,
    })
}

/// Ends link `link_id` of record `id` with a reason; the link's row stays (who linked, who
/// unlinked, both reasons). Audited.
pub async fn unlink(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    link_id: i64,
    request: &UnlinkRequest,
) -> Result<(), ServiceError> {
    if !caller.user.has_any_role(&LINKERS) {
        return Err(ServiceError::Forbidden);
    }
    let why = reason(&request.reason, "reason")?;
    let this = visible(pool, caller, id).await?;
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let other = db::unlink(&mut tx, id, link_id, &why, caller.user.id).await?.ok_or(ServiceError::NotFound)?;
    caller
        .audit("patient.unlink")
        .target("patient_link", link_id.to_string())
        .patient(this.patient_id.clone())
        .detail(serde_json::json!({ "other": other, "reason": why }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

fn no_such_record() -> ServiceError {
    ServiceError::invalid(
        "patient_id",
        said!("no record with this patient ID at this authority", "该分配机构下没有此患者 ID 的档案"),
    )
}
