//! Cross-site referral: a coordinator at the site that screened a finding sends it to another
//! site of the network for its work-up (or a tumour-board case to another site's board); the
//! receiving site's coordinators accept or decline it, the sender may withdraw it. Each write is one transaction with its audit event; the rules are
//! `domain::referral`'s.

use elysium_db::DbError;
use elysium_db::findings::FindingRow;
use elysium_db::mdt::CaseRow;
use elysium_db::referral::{self as db, Direction, ReferralRow, Subject};
use sqlx::{PgConnection, PgPool};

use crate::domain::followup::FindingStatus;
use crate::domain::language::Labelled;
use crate::domain::mdt::CaseStatus;
use crate::domain::organs::Organ;
use crate::domain::referral::{
    BOARD_REVIEW, CaseFacts, Facts, NewCaseReferral, NewReferral, NewRefusal, ReferralEvent, ReferralStatus, Refusal,
    Route as RouteFacts, Side, SiteLevel, WorkUpRefusal, apply, available, case_outcome_to_report, check_new,
    check_new_case, check_work_up, works_up,
};
use crate::domain::roles::Role;
use crate::domain::said::Said;
use crate::format;
use crate::model::referral::*;
use crate::said;
use crate::service::{Caller, ServiceError};

/// The ends of `row` the caller's sites are (both for someone at both sites, or an
/// administrator, who sees every site).
fn sides_of(caller: &Caller, row: &ReferralRow) -> Vec<Side> {
    let mut sides = Vec::new();
    if caller.user.may_see_site(Some(row.from_site_id)) {
        sides.push(Side::Sending);
    }
    if caller.user.may_see_site(Some(row.to_site_id)) {
        sides.push(Side::Receiving);
    }
    sides
}

fn status_of(row: &ReferralRow) -> Result<ReferralStatus, ServiceError> {
    row.status.parse().map_err(ServiceError::internal)
}

fn item(caller: &Caller, row: ReferralRow) -> Result<ReferralItem, ServiceError> {
    let status = status_of(&row)?;
    let actions = available(status, &caller.user.roles, &sides_of(caller, &row));
    Ok(ReferralItem {
        id: row.id,
        finding_id: row.finding_id,
        case_id: row.case_id,
        from_site: row.from_site,
        to_site: row.to_site,
        status,
        reason: row.reason,
        requested_workup: row.requested_workup,
        decision_note: row.decision_note,
        version: row.version,
        created_by: row.created_by,
        created_at: format::rfc3339(row.created_at),
        decided_by: row.decided_by,
        decided_at: row.decided_at.map(format::rfc3339),
        organ: row.organ,
        finding_status: row.finding_status.as_deref().map(str::parse).transpose().map_err(ServiceError::internal)?,
        case_status: row.case_status.as_deref().map(super::mdt::status_of).transpose()?,
        patient_id: row.patient_id,
        patient_name: row.patient_name,
        outcome: row
            .outcome
            .as_deref()
            .map(|o| ReferredOutcome::parse(o).ok_or_else(|| super::mdt::corrupt_value("referral outcome", o)))
            .transpose()?,
        outcome_at: row.outcome_at.map(format::rfc3339),
        actions,
    })
}

/// The level stored for a site (`None`: outside the network, or a value the rules do not know).
fn level_of(stored: Option<&str>) -> Option<SiteLevel> {
    stored.and_then(|l| l.parse().ok())
}

/// Refers the finding `finding_id` (which the caller's sites hold) to another site.
pub async fn refer(
    pool: &PgPool,
    caller: &Caller,
    finding_id: i64,
    request: NewReferral,
) -> Result<ReferralItem, ServiceError> {
    let request = request.normalised();
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    let finding =
        elysium_db::findings::get(&mut tx, finding_id, scope.as_deref(), true).await?.ok_or(ServiceError::NotFound)?;
    if !caller.user.has_role(Role::Coordinator) {
        return Err(ServiceError::Forbidden);
    }
    let (Some(from_id), Some(from_code)) = (finding.site_id, finding.site_code.clone()) else {
        return Err(ServiceError::invalid(
            "finding",
            said!("the finding has no site to refer it from", "该发现没有所属站点，无法转出"),
        ));
    };
    let to = db::site(&mut tx, &request.to_site).await?.ok_or_else(|| {
        ServiceError::invalid("to_site", said!(("no site `{}`", request.to_site), ("没有站点“{}”", request.to_site)))
    })?;
    let from = db::level_of_site(&mut tx, from_id).await?;
    let referrals = db::of_finding(&mut tx, finding_id).await?;
    let facts = Facts {
        from_site: &from_code,
        from_level: level_of(from.as_deref()),
        to_level: level_of(to.level.as_deref()),
        route_exists: db::route_exists(&mut tx, from_id, to.id).await?,
        organ: finding.organ.parse::<Organ>().map_err(ServiceError::internal)?,
        finding_status: finding.status.parse::<FindingStatus>().map_err(ServiceError::internal)?,
        active_referral_exists: referrals
            .iter()
            .any(|r| r.status.parse::<ReferralStatus>().is_ok_and(ReferralStatus::is_active)),
    };
    check_new(&request, &facts).map_err(new_refusal)?;
    let workup = request.requested_workup.as_str();
    let new = db::NewReferral {
        subject: Subject::Finding(finding_id),
        from_site_id: from_id,
        to_site_id: to.id,
        reason: &request.reason,
        requested_workup: workup,
        created_by: Some(caller.user.id),
    };
    let id = db::insert(&mut tx, &new).await.map_err(|e| match e {
        DbError::AlreadyExists(_) => new_refusal(NewRefusal::AlreadyReferred),
        other => other.into(),
    })?;
    caller
        .audit("referral.request")
        .target("referral", id.to_string())
        .patient(&finding.patient_id)
        .detail(serde_json::json!({
            "finding_id": finding_id,
            "from_site": from_code,
            "to_site": to.code,
            "requested_workup": workup,
        }))
        .record_in(&mut tx)
        .await?;
    let row = db::lock(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    tx.commit().await.map_err(DbError::from)?;
    item(caller, row)
}

/// Refers the tumour-board case `case_id` (which the caller's sites hold) to another site's
/// board: the case's own site refers it, a receiving site does not pass it on.
pub async fn refer_case(
    pool: &PgPool,
    caller: &Caller,
    case_id: i64,
    request: NewCaseReferral,
) -> Result<ReferralItem, ServiceError> {
    let request = request.normalised();
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    let case =
        elysium_db::mdt::get_case(&mut tx, case_id, scope.as_deref(), true).await?.ok_or(ServiceError::NotFound)?;
    if !caller.user.has_role(Role::Coordinator) || !caller.user.may_see_site(case.site_id) {
        return Err(ServiceError::Forbidden);
    }
    let (Some(from_id), Some(from_code)) = (case.site_id, case.site_code.clone()) else {
        return Err(ServiceError::invalid(
            "case",
            said!("the case has no site to refer it from", "该病例没有所属站点，无法转出"),
        ));
    };
    let to = db::site(&mut tx, &request.to_site).await?.ok_or_else(|| {
        ServiceError::invalid("to_site", said!(("no site `{}`", request.to_site), ("没有站点“{}”", request.to_site)))
    })?;
    let from = db::level_of_site(&mut tx, from_id).await?;
    let referrals = db::of_case(&mut tx, case_id).await?;
    let facts = CaseFacts {
        route: RouteFacts {
            from_site: &from_code,
            to_site: &request.to_site,
            from_level: level_of(from.as_deref()),
            to_level: level_of(to.level.as_deref()),
            route_exists: db::route_exists(&mut tx, from_id, to.id).await?,
        },
        case_status: super::mdt::status_of(&case.status)?,
        active_referral_exists: active(&referrals).is_some(),
    };
    check_new_case(&request, &facts).map_err(new_refusal)?;
    let new = db::NewReferral {
        subject: Subject::Case(case_id),
        from_site_id: from_id,
        to_site_id: to.id,
        reason: &request.reason,
        requested_workup: BOARD_REVIEW,
        created_by: Some(caller.user.id),
    };
    let id = db::insert(&mut tx, &new).await.map_err(|e| match e {
        DbError::AlreadyExists(_) => new_refusal(NewRefusal::CaseAlreadyReferred),
        other => other.into(),
    })?;
    caller
        .audit("referral.request")
        .target("referral", id.to_string())
        .patient(&case.patient_id)
        .detail(serde_json::json!({ "case_id": case_id, "from_site": from_code, "to_site": to.code }))
        .record_in(&mut tx)
        .await?;
    let row = db::lock(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    tx.commit().await.map_err(DbError::from)?;
    item(caller, row)
}

/// A refusal of a new referral: a finding or case referred already is a conflict (409), the
/// rest name the field.
fn new_refusal(refusal: NewRefusal) -> ServiceError {
    match refusal {
        NewRefusal::AlreadyReferred | NewRefusal::CaseAlreadyReferred => ServiceError::Conflict(refusal.said()),
        other => ServiceError::invalid(other.field(), other.said()),
    }
}

/// Referrals to (`incoming`, the default) or from (`outgoing`) the caller's sites, optionally of
/// one status, between two sites, made in a period (the days inclusive, UTC) and whose finding
/// reached an outcome at the receiving site (`outcome=reported`) or not (`none`): the programme's
/// referral flows link to exactly these lists. An empty site, day or outcome is no filter (a form's
/// "all"). Audited, as it names patients.
pub async fn list(pool: &PgPool, caller: &Caller, params: &ReferralListParams) -> Result<ReferralList, ServiceError> {
    let direction = match params.direction.as_deref() {
        None | Some("incoming") => Direction::Incoming,
        Some("outgoing") => Direction::Outgoing,
        Some(_) => return Err(ServiceError::invalid("direction", Said::one_of(&["incoming", "outgoing"]))),
    };
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<ReferralStatus>().map_err(|_| {
            let valid: Vec<&str> = ReferralStatus::ALL.iter().map(|s| s.as_str()).collect();
            ServiceError::invalid("status", Said::one_of(&valid))
        })?),
    };
    let page = params.page.unwrap_or(0);
    if !(0..=100_000).contains(&page) {
        return Err(ServiceError::invalid("page", said!("a page number from 0", "页码，从 0 开始")));
    }
    let given = |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let day = |field: &str, value: &Option<String>| {
        given(value)
            .map(|v| format::parse_date(&v).ok_or_else(|| ServiceError::invalid(field, Said::date())))
            .transpose()
    };
    let created_from = day("created_from", &params.created_from)?;
    let created_to = day("created_to", &params.created_to)?;
    if created_from.zip(created_to).is_some_and(|(from, to)| from > to) {
        return Err(ServiceError::invalid(
            "created_to",
            said!("the period ends before it starts", "结束日期早于开始日期"),
        ));
    }
    let outcome_reported = match given(&params.outcome).as_deref() {
        None => None,
        Some("reported") => Some(true),
        Some("none") => Some(false),
        Some(_) => return Err(ServiceError::invalid("outcome", Said::one_of(&["reported", "none"]))),
    };
    let (from_site, to_site) = (given(&params.from_site), given(&params.to_site));
    if from_site.is_some() || to_site.is_some() {
        let codes: Vec<String> = db::sites(pool).await?.into_iter().map(|s| s.code).collect();
        for (field, code) in [("from_site", &from_site), ("to_site", &to_site)] {
            if code.as_ref().is_some_and(|c| !codes.contains(c)) {
                return Err(ServiceError::invalid(field, Said::one_of(&codes)));
            }
        }
    }
    let filter = db::ListFilter {
        status: status.map(ReferralStatus::as_str),
        from_site: from_site.as_deref(),
        to_site: to_site.as_deref(),
        created_from,
        created_to,
        outcome_reported,
    };
    let scope = caller.user.site_scope();
    let (rows, total) =
        db::list(pool, scope.as_deref(), direction, &filter, REFERRAL_PAGE, page * REFERRAL_PAGE).await?;
    let items = rows.into_iter().map(|r| item(caller, r)).collect::<Result<Vec<_>, _>>()?;
    caller
        .audit("referral.list")
        .detail(serde_json::json!({
            "direction": if direction == Direction::Incoming { "incoming" } else { "outgoing" },
            "results": items.len(),
        }))
        .record(pool)
        .await?;
    Ok(ReferralList { items, total })
}

/// A finding's referrals, for its page (the caller already sees the finding).
pub async fn of_finding(
    conn: &mut PgConnection,
    caller: &Caller,
    finding_id: i64,
) -> Result<Vec<ReferralItem>, ServiceError> {
    db::of_finding(conn, finding_id).await?.into_iter().map(|r| item(caller, r)).collect()
}

/// Records `event` on referral `id` if it is still at `expected_version`.
pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    expected_version: i32,
    event: ReferralEvent,
) -> Result<ReferralItem, ServiceError> {
    let event = event.normalised();
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    // The finding (the case) first, then the referral: the order the finding's own events and
    // the board's signatures take (they may record an outcome on the referral), so that accepting
    // a referral and working its finding up are applied one after the other and never deadlock.
    match db::subject_of(&mut tx, id).await?.ok_or(ServiceError::NotFound)? {
        Subject::Finding(finding) => {
            elysium_db::findings::get(&mut tx, finding, None, true).await?;
        }
        Subject::Case(case) => {
            elysium_db::mdt::get_case(&mut tx, case, None, true).await?;
        }
    }
    let row = db::lock(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    let sides = sides_of(caller, &row);
    if sides.is_empty() {
        return Err(ServiceError::NotFound);
    }
    let status = status_of(&row)?;
    if row.version != expected_version {
        return Err(ServiceError::Conflict(said!(
            (
                "the referral was changed by someone else since you loaded it (it is now {} at version {}); reload it and try again",
                status.as_str(),
                row.version
            ),
            ("此转诊在您打开后已被他人修改（现为“{}”，版本 {}）；请重新加载后再试", status.label_zh(), row.version)
        )));
    }
    let next = apply(status, &event, &caller.user.roles, &sides).map_err(|refusal| match refusal {
        Refusal::RoleMayNot { .. } | Refusal::WrongSide { .. } => ServiceError::Forbidden,
        other => ServiceError::invalid("event", other.said()),
    })?;
    let kind = event.kind();
    db::decide(&mut tx, id, next.as_str(), event.text(), Some(caller.user.id)).await?;
    db::insert_event(&mut tx, id, kind.as_str(), event.text(), Some(caller.user.id)).await?;
    caller
        .audit(&format!("referral.{}", kind.as_str()))
        .target("referral", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "finding_id": row.finding_id,
            "case_id": row.case_id,
            "from": status.as_str(),
            "to": next.as_str(),
        }))
        .record_in(&mut tx)
        .await?;
    let row = db::lock(&mut tx, id).await?.ok_or(ServiceError::NotFound)?;
    tx.commit().await.map_err(DbError::from)?;
    item(caller, row)
}

/// The finding's active (requested or accepted) referral, if any: a finding has at most one.
pub(crate) fn active(rows: &[ReferralRow]) -> Option<&ReferralRow> {
    rows.iter().find(|r| r.status.parse::<ReferralStatus>().is_ok_and(ReferralStatus::is_active))
}

/// A finding the caller may see, with its referrals (read once for the caller's checks and page).
pub(crate) struct VisibleFinding {
    pub row: FindingRow,
    /// The active referral that sends the finding to one of the caller's sites, when it is not
    /// at one of them (such a view is audited under the referral).
    pub via_referral: Option<i64>,
    /// Every referral of the finding, newest first.
    pub referrals: Vec<ReferralRow>,
}

/// The finding `id` if the caller may see it: held by one of their sites, or referred to one of
/// them by an active referral. `lock` as for [`elysium_db::findings::get`].
pub(crate) async fn visible_finding(
    conn: &mut PgConnection,
    caller: &Caller,
    id: i64,
    lock: bool,
) -> Result<Option<VisibleFinding>, DbError> {
    let scope = caller.user.site_scope();
    if let Some(row) = elysium_db::findings::get(conn, id, scope.as_deref(), lock).await? {
        let referrals = db::of_finding(conn, id).await?;
        return Ok(Some(VisibleFinding { row, via_referral: None, referrals }));
    }
    let Some(scope) = scope else { return Ok(None) };
    let referrals = db::of_finding(conn, id).await?;
    let Some(reaching) = active(&referrals).filter(|r| scope.contains(&r.to_site_id)) else {
        return Ok(None);
    };
    let via_referral = Some(reaching.id);
    Ok(elysium_db::findings::get(conn, id, None, lock).await?.map(|row| VisibleFinding {
        row,
        via_referral,
        referrals,
    }))
}

/// Whether the caller may record events on a finding with these referrals (see
/// `domain::referral::workup`).
pub(crate) fn may_work_up(caller: &Caller, referrals: &[ReferralRow]) -> Result<(), WorkUpRefusal> {
    let active = active(referrals);
    let status = active.and_then(|r| r.status.parse::<ReferralStatus>().ok());
    let sides = active.map(|r| sides_of(caller, r)).unwrap_or_default();
    check_work_up(status, &sides)
}

/// A finding's referrals as its page shows them: those the caller's sites take part in, the
/// sites the caller may refer it to now, and where its work-up is when the caller only follows it.
pub(crate) async fn for_finding_page(
    conn: &mut PgConnection,
    caller: &Caller,
    finding: &FindingRow,
    referrals: Vec<ReferralRow>,
) -> Result<FindingReferrals, ServiceError> {
    let status = finding.status.parse::<FindingStatus>().map_err(ServiceError::internal)?;
    let may_refer = caller.user.has_role(Role::Coordinator)
        && caller.user.may_see_site(finding.site_id)
        && status.is_open()
        && active(&referrals).is_none();
    page_referrals(conn, caller, finding.site_id, may_refer, referrals).await
}

/// A tumour-board case's referrals, read once per request: what its page, its review, its
/// signature and its agenda entry each need to know of them is asked of the same rows.
pub(crate) struct CaseReferrals(Vec<ReferralRow>);

impl CaseReferrals {
    pub(crate) async fn read(conn: &mut PgConnection, case_id: i64) -> Result<CaseReferrals, ServiceError> {
        Ok(CaseReferrals(db::of_case(conn, case_id).await?))
    }

    /// Whether the caller's board may work on the case (review, sign, measure, put it on an
    /// agenda): a referred case is worked by one end of its active referral at a time, as a
    /// finding is; the other end follows it read-only (409 with the reason).
    pub(crate) fn may_work(&self, caller: &Caller) -> Result<(), ServiceError> {
        may_work_up(caller, &self.0).map_err(|refusal| ServiceError::Conflict(refusal.said_of_case()))
    }

    /// The site whose board works the case: the one that accepted its referral, or its own.
    pub(crate) fn board_site(&self, case: &CaseRow) -> Option<uuid::Uuid> {
        match active(&self.0) {
            Some(r) if r.status == ReferralStatus::Accepted.as_str() => Some(r.to_site_id),
            _ => case.site_id,
        }
    }

    /// The active referral by which the case reaches the caller (the case is not at one of
    /// their sites): the view is audited under it. `None` when the case is the caller's own.
    pub(crate) fn reaching(&self, caller: &Caller, case: &CaseRow) -> Option<i64> {
        if caller.user.may_see_site(case.site_id) {
            return None;
        }
        active(&self.0).filter(|r| caller.user.may_see_site(Some(r.to_site_id))).map(|r| r.id)
    }

    /// Tells the sending site that the receiving board decided the case it referred: when a
    /// signature moves the case from `before` to `after` (decided) under an accepted referral,
    /// the referral records the outcome, an `outcome` event and a `referral.outcome` audit row,
    /// in the signature's transaction.
    pub(crate) async fn report_outcome(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        case: &CaseRow,
        before: CaseStatus,
        after: CaseStatus,
    ) -> Result<(), ServiceError> {
        let Some(referral) = active(&self.0) else { return Ok(()) };
        let status = referral.status.parse::<ReferralStatus>().ok();
        if !case_outcome_to_report(status, before, after) {
            return Ok(());
        }
        db::record_outcome(conn, referral.id, after.as_str(), Some(caller.user.id)).await?;
        caller
            .audit("referral.outcome")
            .target("referral", referral.id.to_string())
            .patient(&case.patient_id)
            .detail(serde_json::json!({ "case_id": case.id, "outcome": after.as_str(), "to_site": referral.from_site }))
            .record_in(conn)
            .await?;
        Ok(())
    }

    /// The referrals as the case's page shows them: those the caller's sites take part in, the
    /// sites the caller may refer it to now, and where its board work is when the caller only
    /// follows it.
    pub(crate) async fn for_page(
        self,
        conn: &mut PgConnection,
        caller: &Caller,
        case: &CaseRow,
    ) -> Result<FindingReferrals, ServiceError> {
        let status = super::mdt::status_of(&case.status)?;
        let may_refer = caller.user.has_role(Role::Coordinator)
            && caller.user.may_see_site(case.site_id)
            && status != CaseStatus::Decided
            && active(&self.0).is_none();
        page_referrals(conn, caller, case.site_id, may_refer, self.0).await
    }
}

/// What a finding's or a case's page shows of its referrals (see [`for_finding_page`]).
async fn page_referrals(
    conn: &mut PgConnection,
    caller: &Caller,
    site: Option<uuid::Uuid>,
    may_refer: bool,
    referrals: Vec<ReferralRow>,
) -> Result<FindingReferrals, ServiceError> {
    let work_up_at = match may_work_up(caller, &referrals) {
        Ok(()) => None,
        Err(_) => active(&referrals).and_then(|r| {
            let status = r.status.parse::<ReferralStatus>().ok()?;
            Some(match works_up(status)? {
                Side::Sending => r.from_site.clone(),
                Side::Receiving => r.to_site.clone(),
            })
        }),
    };
    let targets = match (may_refer, site) {
        (true, Some(site)) => db::targets_from(conn, site)
            .await?
            .into_iter()
            .map(|s| NetworkSite { code: s.code, name: s.name, level: level_of(s.level.as_deref()) })
            .collect(),
        _ => Vec::new(),
    };
    let items = referrals
        .into_iter()
        .filter(|r| !sides_of(caller, r).is_empty())
        .map(|r| item(caller, r))
        .collect::<Result<_, _>>()?;
    Ok(FindingReferrals { items, targets, work_up_at })
}

/// The network: every site with its level, and the open routes (administrators).
pub async fn network(pool: &PgPool, caller: &Caller) -> Result<Network, ServiceError> {
    caller.require_admin()?;
    let sites = db::sites(pool)
        .await?
        .into_iter()
        .map(|s| NetworkSite { code: s.code, name: s.name, level: level_of(s.level.as_deref()) })
        .collect();
    let routes = db::routes(pool).await?.into_iter().map(|r| Route { from: r.from_code, to: r.to_code }).collect();
    Ok(Network { sites, routes })
}

/// Sets a site's level, or takes it out of the network with `None` (its routes and referrals
/// stay; a site out of the network neither sends nor receives new ones). Audited.
pub async fn set_level(pool: &PgPool, caller: &Caller, request: &LevelRequest) -> Result<Network, ServiceError> {
    caller.require_admin()?;
    let level = match request.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(l.parse::<SiteLevel>().map_err(|e| ServiceError::invalid("level", e.said()))?),
    };
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let site = site_named(&mut tx, "site", &request.site).await?;
    db::set_level(&mut tx, site.id, level.map(SiteLevel::as_str)).await?;
    caller
        .audit("network.level")
        .target("site", site.code.clone())
        .detail(serde_json::json!({ "from": site.level, "to": level.map(SiteLevel::as_str) }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    network(pool, caller).await
}

/// Opens (`open`) or closes a route between two sites. Audited; opening an open route, or
/// closing a closed one, changes nothing and is not an error.
pub async fn set_route(pool: &PgPool, caller: &Caller, route: &Route, open: bool) -> Result<Network, ServiceError> {
    caller.require_admin()?;
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let from = site_named(&mut tx, "from", &route.from).await?;
    let to = site_named(&mut tx, "to", &route.to).await?;
    if from.id == to.id {
        return Err(ServiceError::invalid(
            "to",
            said!("a route joins two different sites", "转诊路径须连接两个不同的站点"),
        ));
    }
    let changed = if open {
        db::add_route(&mut tx, from.id, to.id, Some(caller.user.id)).await?
    } else {
        db::remove_route(&mut tx, from.id, to.id).await?
    };
    if changed {
        caller
            .audit(if open { "network.route_open" } else { "network.route_close" })
            .target("referral_route", format!("{}>{}", from.code, to.code))
            .record_in(&mut tx)
            .await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    network(pool, caller).await
}

async fn site_named(conn: &mut PgConnection, field: &str, code: &str) -> Result<db::NetworkSite, ServiceError> {
    let code = code.trim().to_uppercase();
    db::site(conn, &code)
        .await?
        .ok_or_else(|| ServiceError::invalid(field, said!("no site `{code}`", "没有站点“{code}”")))
}
