//! The chronic-disease pathway's service: raising findings from a screening result's biomarkers
//! (inside the worker's transaction), the coordinators' list within their sites, the finding
//! page, and events, each checked against the domain's table and written with its history entry
//! and audit event in one transaction that names the version the user saw.

use elysium_db::DbError;
use elysium_db::chronic::{self as db, ChronicQuery, ChronicRow, ChronicUpdate, NewChronic, NewChronicEvent};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::domain::chronic::{
    ChronicEvent, ChronicEventKind, ChronicKind, ChronicRules, ChronicStatus, CloseReason, Criterion, Measured,
    Refusal, apply, available, evaluate,
};
use crate::domain::language::Labelled;
use crate::domain::language::Language;
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::format;
use crate::model::chronic::*;
use crate::said;
use crate::service::{Audit, Caller, ServiceError};

/// Rows a list page holds.
pub const PAGE_SIZE: u32 = 50;
const ACTOR: &str = "screening";

/// What the pathway did with one result: the findings it raised, and the open ones it added a
/// figure to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Raised {
    pub raised: Vec<i64>,
    pub observed: Vec<i64>,
}

/// Reads a result's biomarkers (`result.biomarkers`) as the rules need them; anything absent or
/// not a number is unmeasured.
pub fn measured_of(biomarkers: &serde_json::Value) -> Measured {
    let number = |key: &str| biomarkers.get(key).and_then(serde_json::Value::as_f64);
    Measured {
        liver_hu: number("liver_hu"),
        spleen_hu: number("spleen_hu"),
        l1_trabecular_hu: number("l1_trabecular_hu"),
        coronary_calcium_mm3: number("coronary_calcium_mm3"),
    }
}

/// Applies the rules to screening result `result_id`'s biomarkers, in the caller's transaction:
/// a condition met with no open finding of its kind raises one; an open finding gains this
/// result's figure whether or not it still meets the rule (the trend). Raising is audited.
pub async fn raise_from_result(
    conn: &mut PgConnection,
    result_id: i64,
    measured: &Measured,
    rules: &ChronicRules,
    at: OffsetDateTime,
) -> Result<Raised, DbError> {
    let mut done = Raised::default();
    let Some(study) = db::result_study(conn, result_id).await? else { return Ok(done) };
    let met = evaluate(measured, rules);
    for kind in ChronicKind::ALL {
        let Some(value) = measured.value_of(kind) else { continue };
        let criterion = met.iter().find(|m| m.kind == kind).map(|m| m.criterion);
        let id = match db::open_of_patient(conn, study.patient_ref, kind.as_str()).await? {
            Some(open) => {
                done.observed.push(open);
                open
            }
            None => {
                let Some(criterion) = criterion else { continue };
                let rules_json = serde_json::to_value(rules).unwrap_or_default();
                let id = db::raise(
                    conn,
                    &NewChronic {
                        patient_ref: study.patient_ref,
                        site_id: study.site_id,
                        kind: kind.as_str(),
                        criterion: criterion.as_str(),
                        value,
                        unit: kind.unit(),
                        rules: rules_json,
                        study_ref: study.study_ref,
                        screening_result_ref: result_id,
                        raised_at: at,
                    },
                )
                .await?;
                Audit::anonymous("chronic.raised", Some(ACTOR), None)
                    .target("chronic_finding", id.to_string())
                    .detail(serde_json::json!({
                        "kind": kind.as_str(), "criterion": criterion.as_str(), "value": value, "result": result_id,
                    }))
                    .record_in(conn)
                    .await?;
                // The trend starts with the patient's earlier scans, measured by the same
                // cut-offs, so the physician sees how the figure got here.
                for earlier in db::earlier_results(conn, study.patient_ref, study.study_ref, study.observed_on).await? {
                    let past = measured_of(&earlier.biomarkers);
                    let Some(value) = past.value_of(kind) else { continue };
                    let met = evaluate(&past, rules).into_iter().find(|m| m.kind == kind).map(|m| m.criterion);
                    db::observe(
                        conn,
                        id,
                        earlier.result_id,
                        earlier.study_ref,
                        value,
                        met.map(Criterion::as_str),
                        earlier.observed_on,
                    )
                    .await?;
                }
                done.raised.push(id);
                id
            }
        };
        db::observe(conn, id, result_id, study.study_ref, value, criterion.map(Criterion::as_str), study.observed_on)
            .await?;
    }
    Ok(done)
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ServiceError> {
    text.parse().map_err(|_| ServiceError::Internal(format!("stored {what} `{text}` is unknown").into()))
}

fn item(row: &ChronicRow) -> Result<ChronicItem, ServiceError> {
    Ok(ChronicItem {
        id: row.id,
        patient: row.patient_id.clone(),
        patient_name: crate::domain::names::display_name_of(row.patient_name.as_deref()),
        kind: parse("kind", &row.kind)?,
        criterion: parse("criterion", &row.criterion)?,
        value: row.value,
        unit: row.unit.clone(),
        latest_value: row.latest_value,
        latest_on: row.latest_on.map(format::date),
        status: parse("status", &row.status)?,
        version: row.version,
        site: row.site_code.clone(),
        raised_on: format::date(row.raised_at.date()),
        study_uid: row.study_uid.clone(),
        physician: row.physician.clone(),
    })
}

/// The list within the caller's sites. `status` is a state's name, `open` (the default: every
/// state but closed) or `all`; `kind` a kind's name. Viewing patients' names is audited.
pub async fn list(pool: &PgPool, caller: &Caller, params: &ChronicParams) -> Result<ChronicList, ServiceError> {
    let statuses = match params.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("open") => {
            Some(ChronicStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str().to_owned()).collect::<Vec<_>>())
        }
        Some("all") => None,
        Some(status) => {
            let status: ChronicStatus = status.parse().map_err(|_| {
                let valid = ["open", "all"].into_iter().chain(ChronicStatus::ALL.iter().map(|s| s.as_str()));
                ServiceError::invalid("status", Said::one_of(&valid.collect::<Vec<_>>()))
            })?;
            Some(vec![status.as_str().to_owned()])
        }
    };
    let kind = match params.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(kind) => Some(
            kind.parse::<ChronicKind>()
                .map_err(|_| ServiceError::invalid("kind", Said::one_of(&ChronicKind::ALL.map(ChronicKind::as_str))))?
                .as_str()
                .to_owned(),
        ),
    };
    let page = params.page.unwrap_or(1).max(1);
    let query = ChronicQuery {
        statuses,
        kind,
        scope: caller.user.site_scope(),
        limit: i64::from(PAGE_SIZE),
        offset: i64::from(page - 1).saturating_mul(i64::from(PAGE_SIZE)),
    };
    let (rows, total) = db::list(pool, &query).await?;
    let items = rows.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    if !items.is_empty() {
        caller
            .audit("chronic.list")
            .target_kind("chronic_finding")
            .detail(
                serde_json::json!({ "status": params.status, "kind": params.kind, "page": page, "rows": items.len() }),
            )
            .record(pool)
            .await?;
    }
    Ok(ChronicList { items, total, page, page_size: PAGE_SIZE })
}

/// A finding the caller may see (404 otherwise: outside one's sites is the same as unknown).
async fn visible(pool: &PgPool, caller: &Caller, id: i64) -> Result<ChronicRow, ServiceError> {
    let row = db::get(pool, id).await?.ok_or(ServiceError::NotFound)?;
    if !caller.user.may_see_site(row.site_id) {
        return Err(ServiceError::NotFound);
    }
    Ok(row)
}

fn event_view(row: elysium_db::chronic::ChronicEventRow) -> Result<ChronicEventView, ServiceError> {
    let text = |key: &str| row.payload.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    let detail = match row.kind.as_str() {
        "send_letter" => text("physician"),
        "reopen" => text("reason"),
        "add_note" => text("text"),
        "raised" => None,
        _ => text("note"),
    };
    Ok(ChronicEventView {
        version: row.version,
        to_status: parse("status", &row.to_status)?,
        actor: row.actor_name.or(row.actor_username).unwrap_or_else(|| row.actor_role.clone()),
        at: format::minute(row.occurred_at),
        detail,
        close_reason: row.payload.get("reason").and_then(|r| serde_json::from_value::<CloseReason>(r.clone()).ok()),
        kind: row.kind,
    })
}

/// The finding page: the finding, its trend, its history and what the caller may do. Audited
/// (a patient's record was read).
pub async fn detail(pool: &PgPool, caller: &Caller, id: i64) -> Result<ChronicDetail, ServiceError> {
    let row = visible(pool, caller, id).await?;
    let item = item(&row)?;
    let observations = db::observations(pool, id)
        .await?
        .into_iter()
        .map(|o| {
            Ok(Observation {
                on: format::date(o.observed_on),
                value: o.value,
                criterion: o.criterion.as_deref().map(|c| parse("criterion", c)).transpose()?,
                study_uid: o.study_uid,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let events = db::events(pool, id).await?.into_iter().map(event_view).collect::<Result<Vec<_>, _>>()?;
    let rules: ChronicRules = serde_json::from_value(row.rules.clone())
        .map_err(|e| ServiceError::Internal(format!("the stored cut-offs of chronic finding {id}: {e}").into()))?;
    caller
        .audit("chronic.view")
        .target("chronic_finding", id.to_string())
        .patient(row.patient_id.clone())
        .record(pool)
        .await?;
    Ok(ChronicDetail {
        available: available(item.status, &caller.user.roles),
        item,
        site_name: row.site_name.clone(),
        patient_birth_date: row.patient_birth_date.map(format::date),
        patient_sex: row.patient_sex.clone(),
        letter_language: row.patient_letter_language.as_deref().and_then(Language::parse),
        referring_physician: row.referring_physician.clone().filter(|p| !p.trim().is_empty()),
        rules,
        observations,
        events,
    })
}

/// The role an event is recorded under: the first of the caller's roles the table allows
/// (`apply` has refused a caller with none of them before this is asked).
fn acting_role(caller: &Caller, kind: ChronicEventKind) -> Option<Role> {
    let allowed = crate::domain::chronic::lifecycle::roles_for(kind);
    caller.user.roles.iter().copied().find(|r| allowed.contains(r))
}

/// Records `event` on finding `id` if it is still at `expected_version`. A refusal changes
/// nothing and is audited as a failed attempt.
pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    expected_version: i32,
    event: ChronicEvent,
) -> Result<ChronicRecorded, ServiceError> {
    let event = event.normalised();
    let result = record_in_transaction(pool, caller, id, expected_version, &event).await;
    if let Err(error) = &result
        && !matches!(error, ServiceError::NotFound)
    {
        let audit = caller
            .audit(&format!("chronic.{}", event.kind().as_str()))
            .target("chronic_finding", id.to_string())
            .failed()
            .detail(serde_json::json!({ "expected_version": expected_version, "error": error.to_string() }));
        if let Err(e) = audit.record(pool).await {
            tracing::error!(%e, "a refused chronic-finding event could not be audited");
        }
    }
    result
}

async fn record_in_transaction(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    expected_version: i32,
    event: &ChronicEvent,
) -> Result<ChronicRecorded, ServiceError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let (status, version, site) = db::lock(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    if !caller.user.may_see_site(site) {
        return Err(ServiceError::NotFound);
    }
    let status: ChronicStatus = parse("status", &status)?;
    if version != expected_version {
        let (en, zh) = (status.as_str().replace('_', " "), status.label_zh());
        return Err(ServiceError::Conflict(said!(
            "the finding was changed by someone else since you loaded it (it is now {en} at version {version}); reload it and try again",
            "此发现在您打开后已被他人修改（现为“{zh}”，版本 {version}）；请重新加载后再试"
        )));
    }
    let next = apply(status, event, &caller.user.roles).map_err(|refusal| match refusal {
        Refusal::RoleMayNot { .. } => ServiceError::Forbidden,
        Refusal::Invalid { field, message } => ServiceError::invalid(field, message),
        not_now @ Refusal::NotInThisState { .. } => ServiceError::invalid("event", not_now.said()),
    })?;
    let kind = event.kind();
    let (physician, close_reason) = match event {
        ChronicEvent::SendLetter { physician } => (Some(physician.as_str()), None),
        ChronicEvent::Close { reason, .. } => (None, Some(reason.as_str())),
        _ => (None, None),
    };
    let payload = serde_json::to_value(event).map_err(ServiceError::internal)?;
    let role = acting_role(caller, kind).ok_or(ServiceError::Forbidden)?;
    let new_version = db::record(
        &mut tx,
        &ChronicUpdate { id, to_status: next.as_str(), physician, close_reason },
        &NewChronicEvent {
            chronic_id: id,
            kind: kind.as_str(),
            from_status: status.as_str(),
            actor_id: caller.user.id,
            actor_role: role.as_str(),
            payload: payload.clone(),
        },
    )
    .await?;
    caller
        .audit(&format!("chronic.{}", kind.as_str()))
        .target("chronic_finding", id.to_string())
        .detail(serde_json::json!({ "from": status.as_str(), "to": next.as_str(), "version": new_version, "event": payload }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(ChronicRecorded { id, status: next, version: new_version })
}

/// The programme page's chronic table: per condition, the findings raised in the period at the
/// chosen site within the caller's sites, by where they stand now (the states add up to
/// `raised`).
pub async fn figures(
    pool: &PgPool,
    filter: &elysium_db::program::ProgramFilter,
) -> Result<Vec<crate::model::program::ChronicFigures>, ServiceError> {
    let rows = db::counts(pool, filter.from, filter.to, filter.site_code.as_deref(), filter.scope.as_deref()).await?;
    ChronicKind::ALL
        .into_iter()
        .map(|kind| {
            let mut figures = crate::model::program::ChronicFigures { kind, ..Default::default() };
            for (_, status, n) in rows.iter().filter(|(k, _, _)| k == kind.as_str()) {
                let n = u64::try_from(*n).unwrap_or(0);
                figures.raised += n;
                match parse::<ChronicStatus>("status", status)? {
                    ChronicStatus::New => figures.new += n,
                    ChronicStatus::LetterSent => figures.letter_sent += n,
                    ChronicStatus::Acknowledged => figures.acknowledged += n,
                    ChronicStatus::Closed => figures.closed += n,
                }
            }
            Ok(figures)
        })
        .collect()
}
