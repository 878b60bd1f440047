//! AI-versus-board agreement over decided cases: per category (T, N, M, stage group), overall
//! and per cancer, with the discordant cases and the reasons the board gave. Every figure is
//! computed from the listed cases, so each reconciles with the list behind it.

use elysium_db::mdt::{self as db, ComparedRow};
use sqlx::PgPool;

use super::cancer_of;
use crate::domain::mdt::agreement::agreement;
use crate::domain::said::Said;
use crate::domain::staging::{Cancer, rank};
use crate::format;
use crate::model::mdt::*;
use crate::said;
use crate::service::{Caller, ServiceError};

/// The categories compared, in the order the page shows them.
pub const CATEGORIES: [&str; 4] = ["t", "n", "m", "stage_group"];

fn pair(row: &ComparedRow, category: &str) -> (Option<String>, String, Option<String>) {
    match category {
        "t" => (row.proposal_t.clone(), row.t.clone(), row.t_reason.clone()),
        "n" => (row.proposal_n.clone(), row.n.clone(), row.n_reason.clone()),
        "m" => (row.proposal_m.clone(), row.m.clone(), row.m_reason.clone()),
        _ => (row.proposal_group.clone(), row.stage_group.clone().unwrap_or_default(), None),
    }
}

fn per_category(rows: &[&ComparedRow]) -> Vec<CategoryAgreement> {
    CATEGORIES
        .iter()
        .map(|category| {
            let mut pairs = Vec::new();
            let mut not_proposed = Vec::new();
            for row in rows {
                match pair(row, category) {
                    (Some(proposed), decided, _) => pairs.push((proposed, decided)),
                    (None, _, _) => not_proposed.push(row.case_id),
                }
            }
            CategoryAgreement { category: (*category).to_owned(), agreement: agreement(&pairs, rank), not_proposed }
        })
        .collect()
}

/// Agreement of the caller's sites' decided cases, optionally of one cancer and decided within
/// `[from, to]` (dates, inclusive).
pub async fn report(pool: &PgPool, caller: &Caller, params: &AgreementParams) -> Result<AgreementReport, ServiceError> {
    let cancer = match params.cancer.as_deref().filter(|c| !c.is_empty()) {
        Some(name) => Some(Cancer::parse(name).ok_or_else(|| {
            let valid: Vec<&str> = Cancer::ALL.iter().map(|c| c.as_str()).collect();
            ServiceError::invalid("cancer", Said::one_of(&valid))
        })?),
        None => None,
    };
    let day = |field: &str, text: &Option<String>| -> Result<Option<time::Date>, ServiceError> {
        match text.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => format::parse_date(t).map(Some).ok_or_else(|| ServiceError::invalid(field, Said::date())),
            None => Ok(None),
        }
    };
    let from = day("from", &params.from)?;
    let to = day("to", &params.to)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ServiceError::invalid("to", said!("the period ends before it starts", "结束日期早于开始日期")));
    }
    let start = from.map(|d| d.midnight().assume_utc());
    let end = to.and_then(|d| d.next_day()).map(|d| d.midnight().assume_utc());
    let scope = caller.user.site_scope();
    let rows = db::compared(pool, scope.as_deref(), cancer.map(Cancer::as_str), start, end).await?;
    caller
        .audit("mdt.agreement.view")
        .detail(serde_json::json!({ "cancer": cancer.map(Cancer::as_str), "cases": rows.len() }))
        .record(pool)
        .await?;
    build(&rows, cancer, from, to)
}

/// The report from the compared rows (pure, for tests).
pub fn build(
    rows: &[ComparedRow],
    cancer: Option<Cancer>,
    from: Option<time::Date>,
    to: Option<time::Date>,
) -> Result<AgreementReport, ServiceError> {
    let all: Vec<&ComparedRow> = rows.iter().collect();
    let mut per_cancer = Vec::new();
    for c in Cancer::ALL {
        let of: Vec<&ComparedRow> = rows.iter().filter(|r| r.cancer == c.as_str()).collect();
        if !of.is_empty() {
            per_cancer.push(CancerAgreement {
                cancer: c,
                cases: of.iter().map(|r| r.case_id).collect(),
                categories: per_category(&of),
            });
        }
    }
    let mut discordant = Vec::new();
    for row in rows {
        for category in CATEGORIES {
            let (proposed, decided, reason) = pair(row, category);
            if proposed.as_deref() != Some(decided.as_str()) {
                discordant.push(Discordance {
                    case_id: row.case_id,
                    cancer: cancer_of(&row.cancer)?,
                    patient_id: row.patient_id.clone(),
                    category: category.to_owned(),
                    proposed,
                    decided,
                    reason,
                });
            }
        }
    }
    Ok(AgreementReport {
        cancer,
        from: from.map(format::date),
        to: to.map(format::date),
        cases: rows.iter().map(|r| r.case_id).collect(),
        categories: per_category(&all),
        per_cancer,
        discordant,
    })
}
