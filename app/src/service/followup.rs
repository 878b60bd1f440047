//! The follow-up service: reads the worklist and findings within the user's sites, and records
//! events. Each event is checked against the domain rules and written, with its history entry and
//! audit event, in one transaction that holds the finding's row lock and names the version the
//! user saw, so that concurrent writers never overwrite each other.

use elysium_db::DbError;
use elysium_db::findings::{self, FindingRow, NewEvent};
use elysium_db::worklist::{self as db_worklist, AssigneeFilter, WorklistQuery, WorklistSort};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::followup::dates::{add_days, add_months};
use crate::domain::followup::event::{ConfirmedBy, DismissReason, Outcome, WorkupModality};
use crate::domain::followup::{
    EventKind, Facts, FindingEvent, FindingStatus, Refusal, ServiceLevels, apply, available, is_overdue, lifecycle,
};
use crate::domain::language::Labelled;
use crate::domain::organs::Organ;
use crate::domain::referral::{ReferralStatus, WorkUpRefusal, outcome_to_report};
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::format;
use crate::model::SessionUser;
use crate::model::followup::*;
use crate::said;
use crate::service::{Audit, Caller, ServiceError, referral};

/// The surveillance list (`quick=surveillance`) holds the findings whose imaging is due within
/// this many days, or overdue.
pub const SURVEILLANCE_WINDOW_DAYS: u32 = 60;

/// The program's calendar day (UTC).
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("finding not found")]
    NotFound,
    #[error(
        "the finding was changed by someone else since you loaded it (it is now {} at version {current_version}); reload it and try again",
        current_status.replace('_', " ")
    )]
    Stale { current_status: String, current_version: i32 },
    #[error("{0}")]
    Refused(Refusal),
    #[error("{field}: {message}")]
    Invalid { field: String, message: Said },
    /// The other end of the finding's active referral works it up.
    #[error("{0}")]
    ReferredElsewhere(WorkUpRefusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<RecordError> for ServiceError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::NotFound => ServiceError::NotFound,
            RecordError::Stale { current_status, current_version } => {
                ServiceError::Conflict(stale_finding(&current_status, current_version))
            }
            RecordError::Refused(Refusal::RoleMayNot { .. }) => ServiceError::Forbidden,
            RecordError::Refused(refusal) => ServiceError::invalid("event", refusal.said()),
            RecordError::Invalid { field, message } => ServiceError::Invalid { field, message },
            RecordError::ReferredElsewhere(refusal) => ServiceError::Conflict(refusal.said()),
            RecordError::Db(db) => db.into(),
        }
    }
}

impl RecordError {
    /// The refusal in both languages, as `Display` says it in English (a database failure is
    /// logged and said in general words).
    pub fn said(&self) -> Said {
        match self {
            RecordError::NotFound => said!("finding not found", "未找到该发现"),
            RecordError::Stale { current_status, current_version } => stale_finding(current_status, *current_version),
            RecordError::Refused(refusal) => refusal.said(),
            RecordError::Invalid { field, message } => message.with_field(field),
            RecordError::ReferredElsewhere(refusal) => refusal.said(),
            RecordError::Db(error) => {
                tracing::error!(%error, "a finding's event could not be recorded");
                said!("the event could not be recorded; it has been logged", "未能记录该事件，已记录日志")
            }
        }
    }
}

/// "Changed by someone else since you loaded it": the finding's state now, in both languages.
fn stale_finding(current_status: &str, current_version: i32) -> Said {
    let (en, zh) = match current_status.parse::<FindingStatus>() {
        Ok(status) => (status.label().to_lowercase(), status.label_zh().to_owned()),
        Err(_) => (current_status.replace('_', " "), current_status.to_owned()),
    };
    said!(
        "the finding was changed by someone else since you loaded it (it is now {en} at version {current_version}); reload it and try again",
        "此发现在您打开后已被他人修改（现为“{zh}”，版本 {current_version}）；请重新加载后再试"
    )
}

/// What an accepted event left behind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    pub id: i64,
    pub status: FindingStatus,
    pub version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mdt_case_id: Option<i64>,
}

/// Parses an event from its JSON form (`{"event": NAME, ...payload}`), as the API and the page's
/// forms send it.
pub fn parse_event(value: serde_json::Value) -> Result<FindingEvent, RecordError> {
    let fields = value.as_object().map_or(0, serde_json::Map::len);
    let event = serde_json::from_value::<FindingEvent>(value).map(FindingEvent::normalised).map_err(|e| {
        let said = super::refusal_text::without_input(&e.to_string());
        RecordError::Invalid { field: "event".into(), message: said!("{said}", "无法读取该事件：{said}") }
    })?;
    // serde ignores unknown fields on the unit variants of an internally tagged enum, whatever
    // `deny_unknown_fields` says: refused here, as every other event's are.
    if !event.has_fields() && fields > 1 {
        return Err(RecordError::Invalid {
            field: "event".into(),
            message: said!("unknown field; none is accepted here", "未知字段；此处不接受任何字段"),
        });
    }
    Ok(event)
}

/// Records `event` on finding `id` if it is still at `expected_version`.
pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    levels: &ServiceLevels,
    id: i64,
    expected_version: i32,
    event: FindingEvent,
) -> Result<Recorded, RecordError> {
    let event = event.normalised();
    let result = record_in_transaction(pool, caller, levels, id, expected_version, &event).await;
    if let Err(error) = &result {
        audit_refusal(pool, caller, id, expected_version, &event, error).await;
    }
    if let Ok(Recorded { mdt_case_id: Some(case), .. }) = &result {
        propose_for_new_case(pool, caller, *case).await;
    }
    result
}

/// The first staging proposal of a case the referral opened, from the screening lesion. Its own
/// transaction after the referral's: a failure leaves the case without a proposal (the page says
/// so, and the next measurement computes one), never the referral undone.
async fn propose_for_new_case(pool: &PgPool, caller: &Caller, case: i64) {
    let result = async {
        let mut tx = pool.begin().await.map_err(DbError::from)?;
        crate::service::mdt::proposal::seed_from_finding(&mut tx, case, Some(caller.user.id)).await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok::<_, ServiceError>(())
    }
    .await;
    if let Err(error) = result {
        tracing::error!(%error, case, "the first staging proposal of a referred case could not be computed");
    }
}

async fn record_in_transaction(
    pool: &PgPool,
    caller: &Caller,
    levels: &ServiceLevels,
    id: i64,
    expected_version: i32,
    event: &FindingEvent,
) -> Result<Recorded, RecordError> {
    let user = &caller.user;
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let referral::VisibleFinding { row, via_referral, referrals } =
        referral::visible_finding(&mut tx, caller, id, true).await?.ok_or(RecordError::NotFound)?;
    if row.version != expected_version {
        return Err(RecordError::Stale { current_status: row.status, current_version: row.version });
    }
    // A referred finding is worked up by one end of its referral at a time; the other follows.
    referral::may_work_up(caller, &referrals).map_err(RecordError::ReferredElsewhere)?;
    let active_referral = referral::active(&referrals);
    let referral_status = active_referral.and_then(|r| r.status.parse::<ReferralStatus>().ok());
    // Whom the finding may be assigned to: people of the site that works it up.
    let working_site = match referral_status {
        Some(ReferralStatus::Accepted) => active_referral.map(|r| r.to_site_id),
        _ => row.site_id,
    };
    let status = parse_status(&row.status)?;
    let organ = parse_organ(&row.organ)?;
    let today = today();
    let facts = Facts {
        organ,
        today,
        detected_on: row.detected_at.date(),
        unsuccessful_contacts: u32::try_from(row.unsuccessful_contacts).unwrap_or(0),
        contacts_before_lost: levels.contacts_before_lost,
        roles: &user.roles,
    };
    let next = apply(status, event, &facts).map_err(RecordError::Refused)?;

    let mut update = row.projection();
    update.status = next.as_str().to_owned();
    let mut payload = event_payload(event);
    match event {
        FindingEvent::StartReview if row.assignee_id.is_none() => update.assignee_id = Some(user.id),
        FindingEvent::Dismiss { reason, .. } => update.dismiss_reason = Some(reason.as_str().to_owned()),
        FindingEvent::OrderWorkup { modality, due_date, responsible } => {
            update.workup_modality = Some(modality.as_str().to_owned());
            update.workup_due = Some(*due_date);
            update.workup_responsible = responsible.clone();
            update.appointment_date = None;
            update.appointment_site = None;
        }
        FindingEvent::ScheduleWorkup { date, site } => {
            update.appointment_date = Some(*date);
            update.appointment_site = site.clone();
        }
        FindingEvent::RecordOutcome { outcome, confirmed_by, diagnosis, date } => {
            update.outcome = Some(outcome.as_str().to_owned());
            update.confirmed_by = confirmed_by.map(|c| c.as_str().to_owned());
            update.diagnosis = diagnosis.clone();
            update.outcome_date = Some(*date);
        }
        FindingEvent::RecordContactAttempt { result, .. } if result.is_unsuccessful() => {
            update.unsuccessful_contacts += 1;
        }
        FindingEvent::SetSurveillance { months, .. } => {
            update.surveillance_months = months.and_then(|m| i32::try_from(m).ok());
            update.surveillance_due = months.map(|m| add_months(today, m));
        }
        FindingEvent::Reopen { .. } => {
            // The closed outcome stays in the history; the finding starts a fresh clock (and
            // any surveillance ends: the finding is being worked again).
            update.clock_start = today;
            update.surveillance_months = None;
            update.surveillance_due = None;
            update.dismiss_reason = None;
            update.outcome = None;
            update.confirmed_by = None;
            update.diagnosis = None;
            update.outcome_date = None;
            update.workup_modality = None;
            update.workup_due = None;
            update.workup_responsible = None;
            update.appointment_date = None;
            update.appointment_site = None;
        }
        FindingEvent::Assign { assignee } => {
            update.assignee_id = match assignee {
                None => None,
                Some(username) => {
                    let found = findings::assignable_user(&mut tx, username, working_site).await?;
                    Some(found.ok_or_else(|| RecordError::Invalid {
                        field: "assignee".into(),
                        message: said!(
                            "`{username}` is not an active coordinator or radiologist at the site working this finding up",
                            "“{username}”不是负责此发现的站点的在职协调员或放射科医生"
                        ),
                    })?)
                }
            };
        }
        _ => {}
    }
    update.due_date = levels.due_date(next, update.clock_start, update.workup_due);

    let mut mdt_case_id = None;
    if matches!(event, FindingEvent::ReferToMdt) {
        let case = findings::open_mdt_case(&mut tx, id, user.id).await?;
        payload["mdt_case_id"] = case.into();
        mdt_case_id = Some(case);
    }

    let kind = event.kind();
    let role = acting_role(user, event);
    let history = NewEvent {
        event: kind.as_str(),
        from_status: status.as_str(),
        to_status: next.as_str(),
        actor_user_id: Some(user.id),
        actor_username: &user.username,
        actor_role: role.as_str(),
        reason: event.reason(),
        payload: payload.clone(),
    };
    let version = findings::update(&mut tx, id, expected_version, &update, &history)
        .await?
        .ok_or_else(|| RecordError::Stale { current_status: row.status.clone(), current_version: row.version })?;

    caller
        .audit(&format!("finding.{}", kind.as_str()))
        .target("finding", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "from": status.as_str(), "to": next.as_str(), "version": version, "role": role.as_str(), "payload": payload,
            "referral": via_referral,
        }))
        .record_in(&mut tx)
        .await?;
    // The sending site is told what became of the finding it referred.
    if let (Some(referral), Some(outcome)) = (active_referral, outcome_to_report(referral_status, status, next)) {
        elysium_db::referral::record_outcome(&mut tx, referral.id, outcome.as_str(), Some(user.id)).await?;
        caller
            .audit("referral.outcome")
            .target("referral", referral.id.to_string())
            .patient(&row.patient_id)
            .detail(serde_json::json!({ "finding_id": id, "outcome": outcome.as_str(), "to_site": referral.from_site }))
            .record_in(&mut tx)
            .await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(Recorded { id, status: next, version, mdt_case_id })
}

/// Refused writes are audited too (who tried what), outside the rolled-back transaction.
async fn audit_refusal(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    expected_version: i32,
    event: &FindingEvent,
    error: &RecordError,
) {
    let outcome = match error {
        RecordError::Refused(Refusal::RoleMayNot { .. }) => "denied",
        _ => "failure",
    };
    // A refused write changed nothing, so a lost audit row loses no change; it is logged.
    let _ = caller
        .audit(&format!("finding.{}", event.kind().as_str()))
        .outcome(outcome)
        .target("finding", id.to_string())
        .detail(serde_json::json!({ "expected_version": expected_version, "error": error.to_string() }))
        .record(pool)
        .await;
}

/// The role under which the user performed the event: the first of their roles that may
/// (a radiologist's for image-based dismissals).
fn acting_role(user: &SessionUser, event: &FindingEvent) -> Role {
    if let FindingEvent::Dismiss { reason, .. } = event
        && reason.needs_image_review()
    {
        return Role::Radiologist;
    }
    lifecycle::roles_for(event.kind()).iter().copied().find(|r| user.has_role(*r)).unwrap_or(Role::Admin)
}

fn event_payload(event: &FindingEvent) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("event");
        object.retain(|_, v| !v.is_null());
    }
    value
}

fn parse_status(name: &str) -> Result<FindingStatus, RecordError> {
    name.parse().map_err(|_| RecordError::Db(DbError::NotFound("a known finding status")))
}

fn parse_organ(name: &str) -> Result<Organ, RecordError> {
    name.parse().map_err(|_| RecordError::Db(DbError::NotFound("a known organ")))
}

/// Registers a finding raised by the screening pipeline (or demo data): status `new`, due by the
/// review service level. `None` when the study is not stored.
pub async fn create(
    pool: &PgPool,
    levels: &ServiceLevels,
    new: findings::NewFinding,
    actor: &str,
) -> Result<Option<i64>, DbError> {
    let mut tx = pool.begin().await?;
    let id = create_in(&mut tx, levels, new, actor).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`create`] inside the caller's transaction (the screening worker stores a result, its
/// findings and the job's completion together).
pub async fn create_in(
    conn: &mut sqlx::PgConnection,
    levels: &ServiceLevels,
    mut new: findings::NewFinding,
    actor: &str,
) -> Result<Option<i64>, DbError> {
    new.due_date = levels.due_date(FindingStatus::New, new.detected_at.date(), None);
    let id = findings::insert(conn, &new, actor).await?;
    if let Some(id) = id {
        Audit::anonymous("finding.detected", Some(actor), None)
            .target("finding", id.to_string())
            .detail(serde_json::json!({
                "organ": new.organ, "class": new.class_label, "probability": new.probability,
                "model_version": new.model_version,
            }))
            .record_in(conn)
            .await?;
    }
    Ok(id)
}

/// Adds a note to a finding as the system (`actor`, role `system`), in the caller's transaction:
/// the finding keeps its state; the note is a new version of its history, like a person's.
pub async fn note_by_system(
    conn: &mut sqlx::PgConnection,
    finding_id: i64,
    actor: &str,
    text: &str,
) -> Result<(), DbError> {
    let row = findings::get(conn, finding_id, None, true).await?.ok_or(DbError::NotFound("finding"))?;
    let event = NewEvent {
        event: EventKind::AddNote.as_str(),
        from_status: &row.status,
        to_status: &row.status,
        actor_user_id: None,
        actor_username: actor,
        actor_role: "system",
        reason: None,
        payload: serde_json::json!({ "text": text }),
    };
    findings::update(conn, finding_id, row.version, &row.projection(), &event)
        .await?
        .ok_or(DbError::Contended("the finding changed while a note was added"))?;
    Audit::anonymous("finding.note", Some(actor), None)
        .target("finding", finding_id.to_string())
        .detail(serde_json::json!({ "text": text }))
        .record_in(conn)
        .await?;
    Ok(())
}

/// The worklist page for `params` within the user's sites. Viewing patients' names is audited.
pub async fn worklist(pool: &PgPool, caller: &Caller, params: &WorklistParams) -> Result<WorklistPage, ServiceError> {
    let user = &caller.user;
    let today = today();
    let query = worklist_query(pool, user, params, today).await?;
    let (rows, total) = db_worklist::page(pool, &query).await?;
    let scope = user.site_scope();
    let counts = db_worklist::status_counts(pool, scope.as_deref(), today).await?;
    let assignees = findings::assignees(pool, scope.as_deref()).await?;

    caller
        .audit("worklist.view")
        .detail(serde_json::json!({ "filters": params, "results": rows.len() }))
        .record(pool)
        .await?;

    Ok(WorklistPage {
        items: rows.into_iter().map(|r| worklist_item(r, today)).collect::<Result<_, _>>()?,
        total,
        page: query.offset / query.limit,
        page_size: query.limit,
        counts: FindingStatus::ALL
            .into_iter()
            .map(|status| {
                let found = counts.iter().find(|c| c.status == status.as_str());
                StateCount { status, total: found.map_or(0, |c| c.total), overdue: found.map_or(0, |c| c.overdue) }
            })
            .collect(),
        assignees: assignees.into_iter().map(|(username, name)| Person { username, name }).collect(),
        today: format::date(today),
    })
}

/// Every overdue open finding within the user's sites, most overdue first (at most 500). The
/// list shows patients' names: reading it is audited.
pub async fn overdue(pool: &PgPool, caller: &Caller) -> Result<Vec<WorklistItem>, ServiceError> {
    let user = &caller.user;
    let today = today();
    let mut query = WorklistQuery::new(today);
    query.scope = user.site_scope();
    query.overdue_only = true;
    query.sort = WorklistSort::DueDate;
    query.descending = false;
    query.limit = 500;
    let (rows, _) = db_worklist::page(pool, &query).await?;
    let items = rows.into_iter().map(|r| worklist_item(r, today)).collect::<Result<Vec<_>, _>>()?;
    caller.audit("followup.overdue").detail(serde_json::json!({ "results": items.len() })).record(pool).await?;
    Ok(items)
}

fn invalid(field: &str, message: Said) -> ServiceError {
    ServiceError::invalid(field, message)
}

/// Turns the URL's parameters into a database query, refusing values that mean nothing.
pub async fn worklist_query(
    pool: &PgPool,
    user: &SessionUser,
    params: &WorklistParams,
    today: Date,
) -> Result<WorklistQuery, ServiceError> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut query = WorklistQuery::new(today);
    query.scope = user.site_scope();

    match text(&params.quick).as_deref() {
        None => {}
        Some("mine") => query.assignee = AssigneeFilter::User(user.id),
        Some("unassigned") => query.assignee = AssigneeFilter::Unassigned,
        Some("overdue") => query.overdue_only = true,
        Some("week") => query.due_by = Some(add_days(today, 7)),
        Some("surveillance") => query.surveillance_due_by = Some(add_days(today, SURVEILLANCE_WINDOW_DAYS)),
        Some(other) => {
            return Err(invalid(
                "quick",
                said!(
                    "unknown quick filter `{other}` (mine, unassigned, overdue, week, surveillance)",
                    "未知的快速筛选“{other}”（mine, unassigned, overdue, week, surveillance）"
                ),
            ));
        }
    }
    query.statuses = match text(&params.status).as_deref() {
        None | Some("open") => Vec::new(),
        Some("closed") => {
            FindingStatus::ALL.into_iter().filter(|s| s.is_closed()).map(|s| s.as_str().to_owned()).collect()
        }
        Some("all") => FindingStatus::ALL.into_iter().map(|s| s.as_str().to_owned()).collect(),
        Some(name) => {
            let status: FindingStatus =
                name.parse().map_err(|_| invalid("status", said!("unknown status `{name}`", "未知状态“{name}”")))?;
            vec![status.as_str().to_owned()]
        }
    };
    // Surveillance follows closed findings: the open default would list none of them.
    if query.surveillance_due_by.is_some() && query.statuses.is_empty() {
        query.statuses =
            FindingStatus::ALL.into_iter().filter(|s| s.is_closed()).map(|s| s.as_str().to_owned()).collect();
    }
    if let Some(organ) = text(&params.organ) {
        let organ: Organ =
            organ.parse().map_err(|e: crate::domain::organs::UnknownOrgan| invalid("organ", e.said()))?;
        query.organ = Some(organ.as_str().to_owned());
    }
    if let Some(code) = text(&params.site) {
        let mut conn = pool.acquire().await.map_err(DbError::from)?;
        let site = elysium_db::sites::by_code(&mut conn, &code.to_uppercase()).await?;
        let visible = site.filter(|s| query.scope.as_ref().is_none_or(|scope| scope.contains(&s.id)));
        query.site = Some(
            visible.ok_or_else(|| invalid("site", said!("no site `{code}` among yours", "您的站点中没有“{code}”")))?.id,
        );
    }
    match text(&params.assignee).as_deref() {
        None => {}
        Some("me") => query.assignee = AssigneeFilter::User(user.id),
        Some("none") => query.assignee = AssigneeFilter::Unassigned,
        Some(username) => {
            let mut conn = pool.acquire().await.map_err(DbError::from)?;
            let id = elysium_db::users::id_by_username(&mut conn, &username.to_lowercase()).await?;
            query.assignee = AssigneeFilter::User(
                id.ok_or_else(|| invalid("assignee", said!("no user `{username}`", "没有用户“{username}”")))?,
            );
        }
    }
    if let Some(min) = text(&params.min_probability) {
        let min: f64 =
            min.parse().ok().filter(|m: &f64| (0.0..=1.0).contains(m)).ok_or_else(|| {
                invalid("min_probability", said!("a probability between 0 and 1", "0 到 1 之间的概率"))
            })?;
        query.min_probability = Some(min);
    }
    if let Some(sex) = text(&params.sex) {
        let sex = sex.to_uppercase();
        if !matches!(sex.as_str(), "F" | "M" | "O") {
            return Err(invalid("sex", said!("F, M or O", "F、M 或 O")));
        }
        query.sex = Some(sex);
    }
    let age = |field: &'static str, value: &Option<String>| -> Result<Option<i32>, ServiceError> {
        text(value)
            .map(|v| {
                v.parse::<i32>()
                    .ok()
                    .filter(|a| (0..=130).contains(a))
                    .ok_or_else(|| invalid(field, said!("an age in years, 0 to 130", "年龄（岁），0 至 130")))
            })
            .transpose()
    };
    if let Some(min) = age("age_min", &params.age_min)? {
        // At least `min` years old: born on or before today minus `min` years.
        query.born_until = Some(years_before(today, min));
    }
    if let Some(max) = age("age_max", &params.age_max)? {
        // At most `max` years old: born after today minus `max + 1` years.
        query.born_from = Some(years_before(today, max + 1).next_day().unwrap_or(today));
    }
    query.sort = match text(&params.sort).as_deref() {
        None if query.surveillance_due_by.is_some() => WorklistSort::SurveillanceDue,
        None | Some("priority") => WorklistSort::Priority,
        Some("surveillance_due") => WorklistSort::SurveillanceDue,
        Some("probability") => WorklistSort::Probability,
        Some("due_date") => WorklistSort::DueDate,
        Some("study_date") => WorklistSort::StudyDate,
        Some("detected") => WorklistSort::Detected,
        Some(other) => return Err(invalid("sort", said!("cannot sort by `{other}`", "不能按“{other}”排序"))),
    };
    query.descending = match text(&params.dir).as_deref() {
        None => !matches!(query.sort, WorklistSort::DueDate | WorklistSort::SurveillanceDue),
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(invalid("dir", said!("asc or desc", "asc 或 desc"))),
    };
    let page = match text(&params.page) {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=100_000).contains(p))
            .ok_or_else(|| invalid("page", said!("a page number", "页码")))?,
    };
    query.limit = WORKLIST_PAGE;
    query.offset = page * WORKLIST_PAGE;
    Ok(query)
}

fn years_before(today: Date, years: i32) -> Date {
    let year = today.year() - years;
    Date::from_calendar_date(year, today.month(), today.day())
        .or_else(|_| Date::from_calendar_date(year, today.month(), 28))
        .unwrap_or(today)
}

fn age_on(birth: Option<Date>, today: Date) -> Option<i32> {
    let birth = birth?;
    let mut age = today.year() - birth.year();
    if (u8::from(today.month()), today.day()) < (u8::from(birth.month()), birth.day()) {
        age -= 1;
    }
    (age >= 0).then_some(age)
}

fn tidy_name(name: Option<String>) -> Option<String> {
    crate::domain::names::display_name_of(name.as_deref())
}

/// A stored status the domain does not know: the database and the code disagree.
fn known_status(name: &str) -> Result<FindingStatus, ServiceError> {
    name.parse().map_err(ServiceError::internal)
}

fn known_organ(name: &str) -> Result<Organ, ServiceError> {
    name.parse().map_err(ServiceError::internal)
}

fn worklist_item(row: db_worklist::WorklistRow, today: Date) -> Result<WorklistItem, ServiceError> {
    Ok(WorklistItem {
        id: row.id,
        status: known_status(&row.status)?,
        version: row.version,
        organ: known_organ(&row.organ)?,
        class_label: row.class_label,
        probability: row.probability,
        threshold: row.threshold,
        model_version: row.model_version,
        due_date: row.due_date.map(format::date),
        overdue: is_overdue(row.due_date, today),
        study_date: row.study_date.map(format::date),
        detected_on: format::date(row.detected_at.date()),
        patient_id: row.patient_id,
        patient_name: tidy_name(row.patient_name),
        sex: row.patient_sex,
        age: age_on(row.patient_birth_date, today),
        site: row.site_code,
        assignee: row.assignee_username,
        assignee_name: row.assignee_name,
    })
}

/// A finding's page: the finding, its history, the actions open to this user, and the
/// patient's other findings and studies. Viewing it is audited.
pub async fn detail(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    levels: &ServiceLevels,
) -> Result<FindingDetail, ServiceError> {
    let user = &caller.user;
    let scope = user.site_scope();
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let referral::VisibleFinding { row, via_referral, referrals: referral_rows } =
        referral::visible_finding(&mut conn, caller, id, false).await?.ok_or(ServiceError::NotFound)?;
    let may_work_up = referral::may_work_up(caller, &referral_rows).is_ok();
    let working_site = match referral::active(&referral_rows) {
        Some(r) if r.status == ReferralStatus::Accepted.as_str() => Some(r.to_site_id),
        _ => row.site_id,
    };
    let referrals = referral::for_finding_page(&mut conn, caller, &row, referral_rows).await?;
    drop(conn);
    let history = findings::events(pool, id).await?;
    // The patient's other findings and studies within the caller's own sites: a receiving site
    // sees nothing else of the patient at the sending site, only the referred finding's study.
    let related = findings::of_patient(pool, row.patient_ref, scope.as_deref()).await?;
    let mut studies = findings::studies_of_patient(pool, row.patient_ref, scope.as_deref()).await?;
    if via_referral.is_some()
        && !studies.iter().any(|s| s.study_uid == row.study_uid)
        && let Some(study) = findings::patient_study(pool, &row.study_uid).await?
    {
        studies.push(study);
    }
    let assignees = findings::assignees(pool, working_site.map(|s| vec![s]).as_deref()).await?;

    let mut view = caller.audit("finding.view").target("finding", id.to_string()).patient(&row.patient_id);
    if let Some(referral) = via_referral {
        // Seen from the receiving site: the access is recorded under the referral that grants it.
        view = view.detail(serde_json::json!({ "referral": referral }));
    }
    view.record(pool).await?;
    let mut open_mismatches = crate::service::patients::mismatches_of_patient(pool, &row.study_uid).await?;
    open_mismatches.retain(|m| m.resolution.is_none());

    let today = today();
    let status = known_status(&row.status)?;
    Ok(FindingDetail {
        actions: if may_work_up { available(status, &user.roles) } else { Vec::new() },
        referrals,
        history: history.into_iter().map(history_entry).collect::<Result<_, _>>()?,
        related: related
            .into_iter()
            .filter(|r| r.id != id)
            .map(|r| {
                Ok(RelatedFinding {
                    id: r.id,
                    study_uid: r.study_uid,
                    study_date: r.study_date.map(format::date),
                    organ: known_organ(&r.organ)?,
                    probability: r.probability,
                    status: known_status(&r.status)?,
                })
            })
            .collect::<Result<_, ServiceError>>()?,
        studies: studies
            .into_iter()
            .map(|s| PatientStudy {
                study_uid: s.study_uid,
                study_date: s.study_date.map(format::date),
                description: s.description,
            })
            .collect(),
        assignees: assignees.into_iter().map(|(username, name)| Person { username, name }).collect(),
        today: format::date(today),
        dismiss_reasons: DismissReason::ALL
            .iter()
            .filter(|r| !r.needs_image_review() || user.has_role(Role::Radiologist))
            .copied()
            .collect(),
        suggested_workup_due: format::date(add_days(row.clock_start, levels.workup_done_days).max(today)),
        open_mismatches,
        surveillance_default: crate::domain::followup::surveillance::default_interval(
            known_organ(&row.organ)?,
            row.location.as_ref().and_then(|l| l.get("diameter_mm")).and_then(serde_json::Value::as_f64),
        ),
        finding: finding_view(row, status, levels, today)?,
    })
}

fn finding_view(
    row: FindingRow,
    status: FindingStatus,
    levels: &ServiceLevels,
    today: Date,
) -> Result<FindingView, ServiceError> {
    let organ = known_organ(&row.organ)?;
    let class_probabilities = organ
        .classes()
        .iter()
        .map(|class| {
            let p = row.class_probabilities.get(*class).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
            ((*class).to_owned(), p)
        })
        .collect();
    Ok(FindingView {
        id: row.id,
        status,
        version: row.version,
        open: status.is_open(),
        organ,
        class_label: row.class_label,
        probability: row.probability,
        threshold: row.threshold,
        class_probabilities,
        model_name: row.model_name,
        model_version: row.model_version,
        location: row.location.as_ref().map(location),
        due_date: row.due_date.map(format::date),
        overdue: is_overdue(row.due_date, today),
        detected_at: format::minute(row.detected_at),
        assignee: row.assignee_username,
        assignee_name: row.assignee_name,
        workup_modality: row.workup_modality.as_deref().and_then(WorkupModality::parse),
        workup_due: row.workup_due.map(format::date),
        workup_responsible: row.workup_responsible,
        appointment_date: row.appointment_date.map(format::date),
        appointment_site: row.appointment_site,
        outcome: row.outcome.as_deref().and_then(Outcome::parse),
        confirmed_by: row.confirmed_by.as_deref().and_then(ConfirmedBy::parse),
        diagnosis: row.diagnosis,
        outcome_date: row.outcome_date.map(format::date),
        dismiss_reason: row.dismiss_reason.as_deref().and_then(DismissReason::parse),
        unsuccessful_contacts: row.unsuccessful_contacts,
        contacts_before_lost: levels.contacts_before_lost,
        surveillance_months: row.surveillance_months,
        surveillance_due: row.surveillance_due.map(format::date),
        patient_id: row.patient_id,
        patient_name: tidy_name(row.patient_name),
        sex: row.patient_sex,
        birth_date: row.patient_birth_date.map(format::date),
        patient_letter_language: row
            .patient_letter_language
            .as_deref()
            .and_then(crate::domain::language::Language::parse),
        age: age_on(row.patient_birth_date, today),
        study_uid: row.study_uid,
        study_date: row.study_date.map(format::date),
        series_uid: row.series_uid,
        site: row.site_code,
        site_name: row.site_name,
    })
}

fn location(value: &serde_json::Value) -> LesionLocation {
    let number = |key: &str| value.get(key).and_then(serde_json::Value::as_f64);
    let triple = |key: &str| {
        let v = value.get(key)?.as_array()?;
        Some([v.first()?.as_f64()?, v.get(1)?.as_f64()?, v.get(2)?.as_f64()?])
    };
    let pair = |key: &str| {
        let v = value.get(key)?.as_array()?;
        Some([v.first()?.as_f64()?, v.get(1)?.as_f64()?])
    };
    LesionLocation {
        sop_instance_uid: value.get("sop_instance_uid").and_then(|v| v.as_str()).map(str::to_owned),
        slice_index: value.get("slice_index").and_then(serde_json::Value::as_i64),
        center_mm: triple("center_mm"),
        diameter_mm: number("diameter_mm"),
        pixel: pair("pixel"),
        radius_px: number("radius_px"),
        image_size: pair("image_size"),
    }
}

fn history_entry(row: findings::EventRow) -> Result<HistoryEntry, ServiceError> {
    let kind = serde_json::from_value::<EventKind>(serde_json::Value::String(row.event.clone())).ok();
    let label = kind.map_or_else(
        || if row.event == "detected" { "Detected by screening".to_owned() } else { row.event.clone() },
        |k| k.label().to_owned(),
    );
    let details = row
        .payload
        .as_object()
        .map(|object| {
            object.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
        })
        .unwrap_or_default();
    Ok(HistoryEntry {
        version: row.version,
        event: row.event,
        kind,
        label,
        from_status: known_status(&row.from_status)?,
        to_status: known_status(&row.to_status)?,
        actor: row.actor_username,
        actor_name: row.actor_name,
        role: row.actor_role,
        at: format::minute(row.occurred_at),
        reason: row.reason,
        details,
    })
}

/// Assigns several findings at once, each at the version the user saw; those changed since are
/// reported, not overwritten.
pub async fn bulk_assign(
    pool: &PgPool,
    caller: &Caller,
    levels: &ServiceLevels,
    items: &[(i64, i32)],
    assignee: Option<String>,
) -> (Vec<i64>, Vec<(i64, Said)>) {
    let mut assigned = Vec::new();
    let mut refused = Vec::new();
    for (id, version) in items {
        let event = FindingEvent::Assign { assignee: assignee.clone() };
        match record(pool, caller, levels, *id, *version, event).await {
            Ok(_) => assigned.push(*id),
            Err(error) => refused.push((*id, error.said())),
        }
    }
    (assigned, refused)
}

/// The user id behind a username, for tests and tools.
pub async fn user_id(pool: &PgPool, username: &str) -> Result<Option<Uuid>, DbError> {
    let mut conn = pool.acquire().await?;
    elysium_db::users::id_by_username(&mut conn, username).await
}
