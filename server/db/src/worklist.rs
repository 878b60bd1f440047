//! The coordinator's worklist: findings filtered, sorted and paginated in the database, built to
//! stay fast over a million findings (see the partial indexes in the follow-up migration and
//! `make bench`).

use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::DbResult;
use crate::findings::{OPEN_PREDICATE, push_site_scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    User(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorklistSort {
    /// Overdue first, most overdue first; then the highest AI probability first.
    #[default]
    Priority,
    Probability,
    DueDate,
    StudyDate,
    Detected,
    /// The surveillance imaging due date (closed findings under surveillance).
    SurveillanceDue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorklistQuery {
    /// The user's site scope (`None`: all sites).
    pub scope: Option<Vec<Uuid>>,
    /// One site, chosen in the filter.
    pub site: Option<Uuid>,
    /// Statuses to show; empty means the open ones.
    pub statuses: Vec<String>,
    pub organ: Option<String>,
    pub assignee: AssigneeFilter,
    pub overdue_only: bool,
    /// Due on or before this date (and not yet overdue): "due this week".
    pub due_by: Option<Date>,
    /// Under surveillance with imaging due on or before this date (overdue included).
    pub surveillance_due_by: Option<Date>,
    pub min_probability: Option<f64>,
    pub sex: Option<String>,
    /// Patients born on or after / on or before (the age filter, converted by the caller).
    pub born_from: Option<Date>,
    pub born_until: Option<Date>,
    pub today: Date,
    pub sort: WorklistSort,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

impl WorklistQuery {
    pub fn new(today: Date) -> Self {
        WorklistQuery {
            scope: None,
            site: None,
            statuses: Vec::new(),
            organ: None,
            assignee: AssigneeFilter::Anyone,
            overdue_only: false,
            due_by: None,
            surveillance_due_by: None,
            min_probability: None,
            sex: None,
            born_from: None,
            born_until: None,
            today,
            sort: WorklistSort::Priority,
            descending: true,
            limit: 50,
            offset: 0,
        }
    }

    fn needs_patient(&self) -> bool {
        self.sex.is_some() || self.born_from.is_some() || self.born_until.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorklistRow {
    pub id: i64,
    pub status: String,
    pub version: i32,
    pub organ: String,
    pub class_label: String,
    pub probability: f64,
    pub threshold: f64,
    pub model_version: String,
    pub due_date: Option<Date>,
    pub study_date: Option<Date>,
    pub detected_at: OffsetDateTime,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<Date>,
    pub site_code: Option<String>,
    pub assignee_username: Option<String>,
    pub assignee_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusCount {
    pub status: String,
    pub total: i64,
    pub overdue: i64,
}

/// One page of the worklist and the number of findings matching the filters.
///
/// Its statements are planned for their values on every call (not prepared and cached): a
/// cached statement switches to a generic plan after five calls, and one plan cannot fit both
/// "due this week" (a few days of due dates) and "overdue" (any of them), nor a small site and a
/// large one. Over a million findings, the generic plan of "due this week" for all sites took
/// 75 ms, where the plan for its values takes under 1 ms (`make bench`).
pub async fn page(pool: &PgPool, q: &WorklistQuery) -> DbResult<(Vec<WorklistRow>, i64)> {
    let (mut rows, mut count) = page_statements(q, "");
    let rows = rows.build_query_as::<WorklistRow>().persistent(false).fetch_all(pool).await?;
    let total: i64 = count.build_query_scalar().persistent(false).fetch_one(pool).await?;
    Ok((rows, total))
}

/// The two statements [`page`] runs for `q`, as it builds them: the page's rows, then the
/// count. Each starts with `prefix`: empty for [`page`], `explain (analyze, buffers) ` to see
/// their plans (`make bench`).
pub fn page_statements(
    q: &WorklistQuery,
    prefix: &str,
) -> (QueryBuilder<'static, Postgres>, QueryBuilder<'static, Postgres>) {
    let mut count = QueryBuilder::<Postgres>::new(format!("{prefix}select count(*) from finding f"));
    push_from_where(&mut count, q);
    (rows_statement(q, prefix), count)
}

fn rows_statement(q: &WorklistQuery, prefix: &str) -> QueryBuilder<'static, Postgres> {
    // First the page's ids in order (index-friendly, touching only `finding`), then the display
    // columns for those few rows.
    let mut query = QueryBuilder::<Postgres>::new(format!("{prefix}with page as ("));
    let limit = q.limit.clamp(1, 500);
    let offset = q.offset.max(0);
    if q.sort == WorklistSort::Priority {
        // Two ordered scans (overdue by due date; the rest by probability), each cut at the
        // page's end, so that neither sorts the whole open set. A filter that rules a part out
        // (overdue only: the rest; due by a date, from today on: the overdue) leaves it out of the
        // statement: the planner does not see the contradiction and would scan that part's whole
        // index in vain.
        let reach = limit + offset;
        let overdue_part = q.overdue_only || q.due_by.is_none();
        let rest_part = !q.overdue_only;
        query.push(
            "select id, row_number() over (order by part, case when part = 0 then due_date end, probability desc, id) as ord
             from (",
        );
        if overdue_part {
            query.push("(select f.id, 0 as part, f.due_date, f.probability from finding f");
            push_from_where(&mut query, q);
            query.push(" and f.due_date < ").push_bind(q.today);
            query.push(" order by f.due_date, f.probability desc, f.id limit ").push_bind(reach).push(")");
        }
        if overdue_part && rest_part {
            query.push(" union all ");
        }
        if rest_part {
            query.push("(select f.id, 1 as part, f.due_date, f.probability from finding f");
            push_from_where(&mut query, q);
            query.push(" and (f.due_date >= ").push_bind(q.today).push(" or f.due_date is null)");
            query.push(" order by f.probability desc, f.id limit ").push_bind(reach).push(")");
        }
        query.push(") both_parts order by ord offset ").push_bind(offset).push(" limit ").push_bind(limit);
    } else {
        let (column, nulls) = match q.sort {
            WorklistSort::Probability | WorklistSort::Priority => ("f.probability", ""),
            WorklistSort::DueDate => ("f.due_date", " nulls last"),
            WorklistSort::StudyDate => ("f.study_date", " nulls last"),
            WorklistSort::Detected => ("f.detected_at", ""),
            WorklistSort::SurveillanceDue => ("f.surveillance_due", " nulls last"),
        };
        let direction = if q.descending { " desc" } else { " asc" };
        query.push(format!(
            "select f.id, row_number() over (order by {column}{direction}{nulls}, f.id) as ord from finding f"
        ));
        push_from_where(&mut query, q);
        query.push(format!(" order by {column}{direction}{nulls}, f.id offset "));
        query.push_bind(offset).push(" limit ").push_bind(limit);
    }
    query.push(
        ") select f.id, f.status, f.version, f.organ, f.class_label, f.probability, f.threshold, f.model_version,
                  coalesce(f.due_date, f.surveillance_due) as due_date, f.study_date, f.detected_at, p.patient_id, p.name as patient_name, p.sex as patient_sex,
                  p.birth_date as patient_birth_date, si.code as site_code, u.username as assignee_username,
                  u.display_name as assignee_name
           from page join finding f on f.id = page.id
           join patient p on p.id = f.patient_ref
           left join site si on si.id = f.site_id
           left join app_user u on u.id = f.assignee_id
           order by page.ord",
    );
    query
}

/// `from`-clause joins and the `where` clause for the filters (always ends inside a `where`, so
/// callers may append `and …`).
fn push_from_where(query: &mut QueryBuilder<'_, Postgres>, q: &WorklistQuery) {
    if q.needs_patient() {
        query.push(" join patient p on p.id = f.patient_ref");
    }
    query.push(" where true");
    if q.statuses.is_empty() {
        query.push(" and ").push(OPEN_PREDICATE);
    } else {
        query.push(" and f.status = any(").push_bind(q.statuses.clone()).push(")");
    }
    push_site_scope(query, q.scope.as_deref());
    if let Some(site) = q.site {
        query.push(" and f.site_id = ").push_bind(site);
    }
    if let Some(organ) = &q.organ {
        query.push(" and f.organ = ").push_bind(organ.clone());
    }
    match q.assignee {
        AssigneeFilter::Anyone => {}
        AssigneeFilter::Unassigned => {
            query.push(" and f.assignee_id is null");
        }
        AssigneeFilter::User(user) => {
            query.push(" and f.assignee_id = ").push_bind(user);
        }
    }
    if q.overdue_only {
        query.push(" and f.due_date < ").push_bind(q.today);
    }
    if let Some(due_by) = q.due_by {
        query.push(" and f.due_date >= ").push_bind(q.today).push(" and f.due_date <= ").push_bind(due_by);
    }
    if let Some(by) = q.surveillance_due_by {
        query.push(" and f.surveillance_due <= ").push_bind(by);
    }
    if let Some(min) = q.min_probability {
        query.push(" and f.probability >= ").push_bind(min);
    }
    if let Some(sex) = &q.sex {
        query.push(" and p.sex = ").push_bind(sex.clone());
    }
    if let Some(from) = q.born_from {
        query.push(" and p.birth_date >= ").push_bind(from);
    }
    if let Some(until) = q.born_until {
        query.push(" and p.birth_date <= ").push_bind(until);
    }
}

/// Findings per status (and how many of them are overdue) within the user's sites: the totals
/// from the trigger-kept `finding_count`, the overdue ones from the open findings' due-date index.
pub async fn status_counts(pool: &PgPool, scope: Option<&[Uuid]>, today: Date) -> DbResult<Vec<StatusCount>> {
    let (mut totals, mut overdue) = status_counts_statements(scope, today, "");
    let totals: Vec<(String, i64)> = totals.build_query_as().persistent(false).fetch_all(pool).await?;
    let overdue: Vec<(String, i64)> = overdue.build_query_as().persistent(false).fetch_all(pool).await?;
    Ok(totals
        .into_iter()
        .map(|(status, total)| {
            let late = overdue.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            StatusCount { status, total, overdue: late }
        })
        .collect())
}

/// The two statements [`status_counts`] runs (totals, overdue), each starting with `prefix` (see
/// [`page_statements`]).
pub fn status_counts_statements(
    scope: Option<&[Uuid]>,
    today: Date,
    prefix: &str,
) -> (QueryBuilder<'static, Postgres>, QueryBuilder<'static, Postgres>) {
    let mut totals =
        QueryBuilder::<Postgres>::new(format!("{prefix}select status, sum(n)::bigint from finding_count where n > 0"));
    if let Some(sites) = scope {
        totals.push(" and site_key = any(").push_bind(sites.to_vec()).push(")");
    }
    totals.push(" group by status");
    let mut overdue = QueryBuilder::<Postgres>::new(format!("{prefix}select f.status, count(*) from finding f where "));
    overdue.push(OPEN_PREDICATE).push(" and f.due_date < ").push_bind(today);
    push_site_scope(&mut overdue, scope);
    overdue.push(" group by f.status");
    (totals, overdue)
}
