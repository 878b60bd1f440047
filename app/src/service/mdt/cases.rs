//! Reading cases (lists, a case's page, the surgeon's home) and opening a case directly.

use elysium_db::DbError;
use elysium_db::mdt::{self as db, CaseFilter};
use sqlx::PgPool;

use super::{BoardSettings, cancer_of, edition_of, histology_of, list_item, patient_of, status_of, subsite_of};
use crate::domain::mdt::board::{self, Action, OPEN_CASE_ROLES};
use crate::domain::mdt::{CaseStatus, Treatment};
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::domain::staging::{self, Cancer, Histology, Subsite};
use crate::format;
use crate::model::mdt::*;
use crate::said;
use crate::service::referral::CaseReferrals;
use crate::service::{Caller, ServiceError};

/// A page of cases within the caller's sites: `status` is one case status, `cancer` one cancer.
pub async fn list(
    pool: &PgPool,
    caller: &Caller,
    status: Option<&str>,
    cancer: Option<&str>,
    page: i64,
) -> Result<CaseList, ServiceError> {
    if status.is_some_and(|s| CaseStatus::parse(s).is_none()) {
        let valid: Vec<&str> = CaseStatus::ALL.iter().map(|s| s.as_str()).collect();
        let what = said!("not a case status", "不是病例状态");
        return Err(ServiceError::invalid("status", Said::not_one_of(what, &valid)));
    }
    if cancer.is_some_and(|c| Cancer::parse(c).is_none()) {
        return Err(unknown_cancer());
    }
    let scope = caller.user.site_scope();
    let filter = CaseFilter {
        sites: scope.as_deref(),
        status,
        cancer,
        ids: None,
        limit: CASE_PAGE,
        offset: page.max(0) * CASE_PAGE,
    };
    let (rows, total) = db::list_cases(pool, &filter).await?;
    caller
        .audit("mdt.case.list")
        .detail(serde_json::json!({ "status": status, "cancer": cancer, "results": rows.len() }))
        .record(pool)
        .await?;
    let items = rows.into_iter().map(|r| list_item(r, caller.user.id)).collect::<Result<_, _>>()?;
    Ok(CaseList { items, total })
}

/// A case's page, audited as a view of the patient's record.
pub async fn detail(
    pool: &PgPool,
    caller: &Caller,
    settings: &BoardSettings,
    id: i64,
) -> Result<CaseDetail, ServiceError> {
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    let row = db::get_case(&mut conn, id, scope.as_deref(), false).await?.ok_or(ServiceError::NotFound)?;
    let status = status_of(&row.status)?;
    let cancer = cancer_of(&row.cancer)?;
    let edition = edition_of(&row.edition)?;
    let histology = histology_of(row.histology.as_deref())?;
    let subsite = subsite_of(row.subsite.as_deref())?;

    let proposal_rows = db::proposals(&mut conn, id).await?;
    let proposals: Vec<Proposal> = proposal_rows.iter().map(super::proposal::to_model).collect::<Result<_, _>>()?;
    let measurement_rows = db::measurements(&mut conn, id).await?;
    let measurements = measurement_rows
        .iter()
        .map(|m| Measurement {
            id: m.id,
            kind: m.kind.clone(),
            size_mm: m.size_mm,
            location: m.location.clone(),
            side: m.side.clone(),
            slice_index: m.slice_index,
            position_mm: m.position_mm.clone(),
            source: m.source.clone(),
            corrects: m.corrects,
            superseded: measurement_rows.iter().any(|later| later.corrects == Some(m.id)),
            note: m.note.clone(),
            recorded_by: m.recorded_by_name.clone(),
            recorded_at: format::rfc3339(m.recorded_at),
        })
        .collect();
    let decision_rows = db::decisions(&mut conn, id).await?;
    let decisions = super::review::decisions_to_model(&decision_rows, &proposal_rows, settings)?;
    let treatments = db::treatments(&mut conn, id)
        .await?
        .into_iter()
        .map(|t| {
            Ok(TreatmentRecord {
                treatment: Treatment::parse(&t.treatment)
                    .ok_or_else(|| super::corrupt_value("treatment", &t.treatment))?,
                started_on: format::date(t.started_on),
                deviation_reason: t.deviation_reason,
                decision_version: decision_rows.iter().find(|d| d.id == t.decision_id).map_or(0, |d| d.version),
                recorded_by: t.recorded_by_name,
                recorded_at: format::rfc3339(t.recorded_at),
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let meetings = db::meetings_of_case(&mut conn, id)
        .await?
        .into_iter()
        .map(|(id, title, at)| MeetingRef { id, title, starts_at: format::rfc3339(at) })
        .collect();
    let finding = match row.finding_id {
        Some(finding_id) => elysium_db::findings::case_finding(&mut conn, finding_id).await?.map(|f| CaseFinding {
            id: f.id,
            class_label: f.class_label,
            probability: f.probability,
            model_name: f.model_name,
            model_version: f.model_version,
            detected_at: format::rfc3339(f.detected_at),
            diagnosis: f.diagnosis,
            slice_index: f.location.as_ref().and_then(|l| l.get("slice_index")).and_then(serde_json::Value::as_i64),
        }),
        None => None,
    };
    // A case referred to the caller's site is read under its referral, and worked by one end of
    // the referral at a time.
    let referrals = CaseReferrals::read(&mut conn, id).await?;
    let via_referral = referrals.reaching(caller, &row);
    let works_here = referrals.may_work(caller).is_ok();
    let referrals = referrals.for_page(&mut conn, caller, &row).await?;
    drop(conn);

    let signed_by_me = decision_rows.first().is_some_and(|d| d.signer_ids.contains(&caller.user.id));
    let roles = &caller.user.roles;
    let may = |action| works_here && board::permitted(status, action, roles).is_ok();
    let actions = CaseActions {
        review: may(Action::Review),
        sign: may(Action::Sign) && !signed_by_me,
        record_treatment: may(Action::RecordTreatment),
        measure: may(Action::Measure) && row.series_ref.is_some(),
    };
    let categories = staging::table(cancer, edition, histology, subsite)
        .map(|t| Categories {
            t: t.t.iter().map(|s| s.to_string()).collect(),
            n: t.n.iter().map(|s| s.to_string()).collect(),
            m: t.m.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap_or_default();

    let mut view = caller.audit("mdt.case.view").target("mdt_case", id.to_string()).patient(&row.patient_id);
    if let Some(referral) = via_referral {
        view = view.detail(serde_json::json!({ "referral": referral }));
    }
    view.record(pool).await?;
    Ok(CaseDetail {
        id,
        status,
        version: row.version,
        cancer,
        edition,
        histology,
        subsite,
        diagnosis: row.diagnosis.clone(),
        referral_note: row.referral_note.clone(),
        patient: patient_of(&row),
        site: row.site_code.clone(),
        study_uid: row.study_uid.clone(),
        series_uid: row.series_uid.clone(),
        opened_at: format::rfc3339(row.opened_at),
        opened_by: row.opened_by_name.clone(),
        finding,
        proposal: proposals.first().cloned(),
        proposals,
        measurements,
        decisions,
        treatments,
        meetings,
        quorum: settings.quorum,
        signed_by_me,
        actions,
        options: Treatment::options_for(cancer).to_vec(),
        categories,
        referrals,
    })
}

/// Opens a case directly for a patient of the caller's sites, and proposes its staging from
/// what can be measured (nothing yet, for a case without images: the board then chooses).
pub async fn open(pool: &PgPool, caller: &Caller, request: &NewCaseRequest) -> Result<CaseWritten, ServiceError> {
    if !caller.user.has_any_role(OPEN_CASE_ROLES) {
        return Err(ServiceError::Forbidden);
    }
    let cancer = Cancer::parse(&request.cancer).ok_or_else(unknown_cancer)?;
    let histology = request
        .histology
        .as_deref()
        .map(|h| {
            Histology::parse(h)
                .ok_or_else(|| ServiceError::invalid("histology", Said::one_of(&["squamous", "adenocarcinoma"])))
        })
        .transpose()?;
    let subsite = request
        .subsite
        .as_deref()
        .map(|s| {
            Subsite::parse(s).ok_or_else(|| {
                ServiceError::invalid("subsite", Said::one_of(&["supraglottic", "glottic", "subglottic"]))
            })
        })
        .transpose()?;
    // The frame must be one the tables know (histology only for esophagus, subsite only for larynx).
    if let Err(error) =
        staging::table(cancer, staging::Edition::Ajcc8, histology.or(default_histology(cancer)), subsite)
    {
        return Err(ServiceError::invalid(error.field(), error.said()));
    }
    let diagnosis = bounded_text("diagnosis", request.diagnosis.as_deref())?;
    let referral_note = bounded_text("referral_note", request.referral_note.as_deref())?;

    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    let patient = match (&request.study_uid, request.patient) {
        (Some(study_uid), _) => {
            elysium_db::patients::of_study(&mut tx, study_uid, scope.as_deref()).await?.ok_or_else(|| {
                ServiceError::invalid("study_uid", said!("no such study at your sites", "您的站点中没有该检查"))
            })?
        }
        (None, Some(patient)) => {
            elysium_db::patients::get_within(&mut tx, patient, scope.as_deref()).await?.ok_or_else(|| {
                ServiceError::invalid("patient", said!("no such patient at your sites", "您的站点中没有该患者"))
            })?
        }
        (None, None) => {
            return Err(ServiceError::invalid(
                "patient",
                said!("name the patient or one of their studies", "请指定患者或其某次检查"),
            ));
        }
    };
    let series_ref = match &request.series_uid {
        Some(uid) => Some(elysium_db::images::series_of_patient(&mut tx, uid, patient.id).await?.ok_or_else(|| {
            ServiceError::invalid("series_uid", said!("no such series of this patient", "该患者没有此序列"))
        })?),
        None => None,
    };
    let new = db::NewDirectCase {
        patient_ref: patient.id,
        site_id: patient.site_id,
        cancer: cancer.as_str(),
        histology: histology.map(Histology::as_str),
        subsite: subsite.map(Subsite::as_str),
        diagnosis: diagnosis.as_deref(),
        referral_note: referral_note.as_deref(),
        series_ref,
        opened_by: caller.user.id,
    };
    let id = db::insert_direct_case(&mut tx, &new).await?;
    super::proposal::propose_in(&mut tx, id, Some(caller.user.id)).await?;
    caller
        .audit("mdt.case.open")
        .target("mdt_case", id.to_string())
        .patient(&patient.patient_id)
        .detail(serde_json::json!({ "cancer": cancer.as_str(), "direct": true }))
        .record_in(&mut tx)
        .await?;
    let case = db::get_case(&mut tx, id, None, false).await?.ok_or(ServiceError::NotFound)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(CaseWritten { id, status: status_of(&case.status)?, version: case.version })
}

/// An unknown cancer, with the ones staged here.
fn unknown_cancer() -> ServiceError {
    let valid: Vec<&str> = Cancer::ALL.iter().map(|c| c.as_str()).collect();
    ServiceError::invalid("cancer", Said::not_one_of(said!("not a cancer staged here", "不是此处分期的癌种"), &valid))
}

/// Esophageal cases are opened before pathology names the histology; the frame check uses
/// squamous cell carcinoma (the commoner) only to validate the other fields.
fn default_histology(cancer: Cancer) -> Option<Histology> {
    cancer.needs_histology().then_some(Histology::Squamous)
}

pub(crate) fn bounded_text(field: &str, text: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > board::MAX_TEXT {
        return Err(ServiceError::invalid(field, Said::at_most_chars(board::MAX_TEXT)));
    }
    Ok(Some(text.to_owned()))
}

/// The surgeon's home: meetings to come, cases awaiting review, decisions awaiting the caller's
/// signature, and recent decisions.
pub async fn home(pool: &PgPool, caller: &Caller) -> Result<BoardHome, ServiceError> {
    let scope = caller.user.site_scope();
    let upcoming = super::meetings::list_rows(pool, caller, Some(true), 5).await?;
    let filter = |status| CaseFilter { sites: scope.as_deref(), status: Some(status), limit: 20, ..Default::default() };
    let (awaiting_review, _) = db::list_cases(pool, &filter("awaiting_review")).await?;
    let (awaiting_signatures, _) = db::list_cases(pool, &filter("awaiting_signatures")).await?;
    let (decided, _) = db::list_cases(pool, &CaseFilter { limit: 10, ..filter("decided") }).await?;
    caller
        .audit("mdt.home.view")
        .detail(serde_json::json!({
            "results": awaiting_review.len() + awaiting_signatures.len() + decided.len()
        }))
        .record(pool)
        .await?;
    let me = caller.user.id;
    let items = |rows: Vec<db::CaseListRow>| rows.into_iter().map(|r| list_item(r, me)).collect::<Result<Vec<_>, _>>();
    let is_surgeon = caller.user.has_role(Role::Surgeon);
    Ok(BoardHome {
        upcoming,
        awaiting_review: items(awaiting_review)?,
        awaiting_my_signature: items(awaiting_signatures)?
            .into_iter()
            .filter(|c| is_surgeon && !c.signed_by_me)
            .collect(),
        recently_decided: items(decided)?,
    })
}
