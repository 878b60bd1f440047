//! Tumour-board meetings: the list, one meeting with its agenda, scheduling a meeting and
//! putting cases on its agenda (the coordinator prepares it; surgeons may too).

use elysium_db::DbError;
use elysium_db::mdt::{self as db, CaseFilter, MeetingRow};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{is_upcoming, list_item};
use crate::domain::mdt::board::AGENDA_ROLES;
use crate::domain::said::Said;
use crate::format;
use crate::model::mdt::*;
use crate::said;
use crate::service::referral::CaseReferrals;
use crate::service::{Caller, ServiceError};

/// The most cases one meeting's agenda holds.
pub const MAX_AGENDA: usize = 60;

fn to_model(row: MeetingRow, now: OffsetDateTime) -> Meeting {
    Meeting {
        id: row.id,
        title: row.title,
        starts_at: format::rfc3339(row.starts_at),
        site: row.site_code,
        chair: row.chair_name,
        attendees: row.attendees,
        case_count: row.case_count,
        upcoming: is_upcoming(row.starts_at, now),
    }
}

pub(crate) async fn list_rows(
    pool: &PgPool,
    caller: &Caller,
    upcoming: Option<bool>,
    limit: i64,
) -> Result<Vec<Meeting>, ServiceError> {
    let scope = caller.user.site_scope();
    let now = OffsetDateTime::now_utc();
    Ok(db::meetings(pool, scope.as_deref(), upcoming, limit).await?.into_iter().map(|r| to_model(r, now)).collect())
}

/// Meetings of the caller's sites: `upcoming` ones first in time order, or `past` ones newest
/// first, or all.
pub async fn list(pool: &PgPool, caller: &Caller, when: Option<&str>) -> Result<MeetingList, ServiceError> {
    let upcoming = match when {
        None | Some("all") => None,
        Some("upcoming") => Some(true),
        Some("past") => Some(false),
        Some(_) => return Err(ServiceError::invalid("when", Said::one_of(&["upcoming", "past", "all"]))),
    };
    Ok(MeetingList { items: list_rows(pool, caller, upcoming, 200).await? })
}

/// A meeting with its agenda's cases in order (audited: the agenda names patients).
pub async fn detail(pool: &PgPool, caller: &Caller, id: i64) -> Result<MeetingDetail, ServiceError> {
    let scope = caller.user.site_scope();
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let row = db::get_meeting(&mut conn, id, scope.as_deref()).await?.ok_or(ServiceError::NotFound)?;
    let order = db::agenda(&mut conn, id).await?;
    drop(conn);
    let filter =
        CaseFilter { sites: scope.as_deref(), ids: Some(&order), limit: MAX_AGENDA as i64, ..Default::default() };
    let (rows, _) = db::list_cases(pool, &filter).await?;
    let mut cases: Vec<CaseListItem> =
        rows.into_iter().map(|r| list_item(r, caller.user.id)).collect::<Result<_, _>>()?;
    cases.sort_by_key(|c| order.iter().position(|id| *id == c.id));
    caller
        .audit("mdt.meeting.view")
        .target("mdt_meeting", id.to_string())
        .detail(serde_json::json!({ "cases": order }))
        .record(pool)
        .await?;
    Ok(MeetingDetail {
        meeting: to_model(row, OffsetDateTime::now_utc()),
        cases,
        may_edit_agenda: caller.user.has_any_role(AGENDA_ROLES),
    })
}

/// Schedules a meeting at one of the caller's sites.
pub async fn create(pool: &PgPool, caller: &Caller, request: &NewMeetingRequest) -> Result<Meeting, ServiceError> {
    if !caller.user.has_any_role(AGENDA_ROLES) {
        return Err(ServiceError::Forbidden);
    }
    let title = request.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ServiceError::invalid("title", said!("between 1 and 200 characters", "1 至 200 个字符")));
    }
    let starts_at = parse_start(&request.starts_at).ok_or_else(|| {
        ServiceError::invalid(
            "starts_at",
            said!("a time as RFC 3339 or YYYY-MM-DDTHH:MM (UTC)", "时间，格式为 RFC 3339 或 YYYY-MM-DDTHH:MM（UTC）"),
        )
    })?;
    let site = match request.site.as_deref() {
        Some(code) => Some(
            caller
                .user
                .sites
                .iter()
                .find(|s| s.code == code)
                .map(|s| s.id)
                .ok_or_else(|| ServiceError::invalid("site", said!("not one of your sites", "不是您的站点")))?,
        ),
        None => match caller.user.sites.as_slice() {
            [only] => Some(only.id),
            _ => {
                return Err(ServiceError::invalid(
                    "site",
                    said!("you work at several sites; name one", "您在多个站点工作；请指定一个"),
                ));
            }
        },
    };
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let chair = match request.chair.as_deref() {
        Some(username) => Some(
            elysium_db::users::active_id(&mut tx, username)
                .await?
                .ok_or_else(|| ServiceError::invalid("chair", said!("no such active user", "没有此在职用户")))?,
        ),
        None => Some(caller.user.id),
    };
    let mut attendees = Vec::new();
    for username in &request.attendees {
        attendees.push(elysium_db::users::active_id(&mut tx, username).await?.ok_or_else(|| {
            ServiceError::invalid("attendees", said!("each must be an active user", "每位均须为在职用户"))
        })?);
    }
    let id = db::insert_meeting(&mut tx, site, title, starts_at, chair, &attendees, Some(caller.user.id)).await?;
    caller
        .audit("mdt.meeting.create")
        .target("mdt_meeting", id.to_string())
        .detail(serde_json::json!({ "title": title, "starts_at": format::rfc3339(starts_at) }))
        .record_in(&mut tx)
        .await?;
    let row = db::get_meeting(&mut tx, id, None).await?.ok_or(ServiceError::NotFound)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(to_model(row, OffsetDateTime::now_utc()))
}

fn parse_start(text: &str) -> Option<OffsetDateTime> {
    format::parse_rfc3339(text).or_else(|| {
        let local = time::PrimitiveDateTime::parse(
            text.trim(),
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        )
        .ok()?;
        Some(local.assume_utc())
    })
}

/// Puts a case the meeting's site works (its own, or accepted by referral) on its agenda, at
/// the end.
pub async fn add_case(pool: &PgPool, caller: &Caller, meeting_id: i64, case_id: i64) -> Result<i32, ServiceError> {
    if !caller.user.has_any_role(AGENDA_ROLES) {
        return Err(ServiceError::Forbidden);
    }
    let scope = caller.user.site_scope();
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let meeting = db::get_meeting(&mut tx, meeting_id, scope.as_deref()).await?.ok_or(ServiceError::NotFound)?;
    let case = db::get_case(&mut tx, case_id, scope.as_deref(), false)
        .await?
        .ok_or_else(|| ServiceError::invalid("case", said!("no such case at your sites", "您的站点中没有该病例")))?;
    let referrals = CaseReferrals::read(&mut tx, case_id).await?;
    referrals.may_work(caller)?;
    // A case goes on the agenda of the board that works it: its own site's, or the site that
    // accepted its referral.
    let board_site = referrals.board_site(&case);
    if meeting.site_id.is_some() && board_site != meeting.site_id {
        return Err(ServiceError::invalid(
            "case",
            said!("the case belongs to another site's board", "该病例属于其他站点的多学科诊疗（MDT）"),
        ));
    }
    if meeting.case_count as usize >= MAX_AGENDA {
        return Err(ServiceError::invalid(
            "case",
            said!("an agenda holds at most {MAX_AGENDA} cases", "一次议程最多 {MAX_AGENDA} 个病例"),
        ));
    }
    let position =
        db::add_to_agenda(&mut tx, meeting_id, case_id, Some(caller.user.id)).await.map_err(|e| match e {
            DbError::AlreadyExists(_) => {
                ServiceError::Conflict(said!("the case is already on this agenda", "该病例已在此议程中"))
            }
            other => other.into(),
        })?;
    caller
        .audit("mdt.agenda.add")
        .target("mdt_meeting", meeting_id.to_string())
        .patient(&case.patient_id)
        .detail(serde_json::json!({ "case_id": case_id, "position": position }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(position)
}
