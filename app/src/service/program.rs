//! The programme table: for a period, sites, a cancer and a model version, the series screened
//! and where every AI-positive finding stands. Figures are counted from the rows the database
//! returns (`domain::program`), and each figure's record list filters the same rows with the
//! same predicate, so the table and its lists reconcile exactly.

use std::collections::{BTreeMap, BTreeSet};

use elysium_db::program::{self as db, PositiveRow, ProgramFilter, ScreenedRow};
use sqlx::PgPool;
use time::{Date, Duration};

use crate::domain::followup::FindingStatus;
use crate::domain::followup::event::ConfirmedBy;
use crate::domain::language::Language;
use crate::domain::organs::Organ;
use crate::domain::program::flows::{self, WORKED_UP};
use crate::domain::program::summary::{self, Facts};
use crate::domain::program::{Figure, Positive, ReferralFlow, Referred, SkipReason, Tally};
use crate::domain::referral::ReferralStatus;
use crate::domain::said::Said;
use crate::format;
use crate::model::program::*;
use crate::said;
use crate::service::{Caller, ServiceError};

/// The period shown when none is asked for: the last 26 weeks, through today.
pub const DEFAULT_PERIOD_DAYS: i64 = 182;

/// A checked filter.
#[derive(Debug, Clone)]
struct Checked {
    from: Date,
    to: Date,
    site: Option<String>,
    cancer: Option<Organ>,
    model_version: Option<String>,
}

impl Checked {
    fn db(&self, caller: &Caller) -> ProgramFilter {
        ProgramFilter {
            from: Some(self.from),
            to: Some(self.to),
            scope: caller.user.site_scope(),
            site_code: self.site.clone(),
            cancer: self.cancer.map(|c| c.as_str().to_owned()),
            model_version: self.model_version.clone(),
        }
    }
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

async fn check(pool: &PgPool, params: &ProgramParams, today: Date) -> Result<Checked, ServiceError> {
    let day = |field: &str, value: &Option<String>| -> Result<Option<Date>, ServiceError> {
        given(value)
            .map(|v| format::parse_date(v).ok_or_else(|| ServiceError::invalid(field, Said::date())))
            .transpose()
    };
    let to = day("to", &params.to)?.unwrap_or(today);
    let from = day("from", &params.from)?.unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS - 1));
    if from > to {
        return Err(ServiceError::invalid("to", said!("the period ends before it starts", "结束日期早于开始日期")));
    }
    let cancer = given(&params.cancer)
        .map(|c| {
            c.parse::<Organ>().map_err(|_| {
                let valid: Vec<&str> = Organ::ALL.iter().map(|o| o.as_str()).collect();
                ServiceError::invalid("cancer", Said::one_of(&valid))
            })
        })
        .transpose()?;
    let site = match given(&params.site) {
        None => None,
        Some(code) => {
            let sites = elysium_db::sites::list(pool).await?;
            if !sites.iter().any(|s| s.code == code) {
                let valid: Vec<&str> = sites.iter().map(|s| s.code.as_str()).collect();
                return Err(ServiceError::invalid("site", Said::one_of(&valid)));
            }
            Some(code.to_owned())
        }
    };
    let model_version = match given(&params.model_version) {
        None => None,
        Some(version) => {
            let versions = db::model_versions(pool).await?;
            if !versions.iter().any(|v| v == version) {
                return Err(ServiceError::invalid("model_version", Said::one_of(&versions)));
            }
            Some(version.to_owned())
        }
    };
    Ok(Checked { from, to, site, cancer, model_version })
}

/// A positive as the domain counts it. A status or basis the code does not know is an error,
/// not a guess (the table must add up). The de-identified export reads its rows the same way.
pub fn positive(row: &PositiveRow, today: Date) -> Result<Positive, ServiceError> {
    let status: FindingStatus =
        row.status.parse().map_err(|_| corrupt(format!("finding {} has an unknown status {}", row.id, row.status)))?;
    let confirmed_by = match row.confirmed_by.as_deref() {
        None => None,
        Some(name) => Some(
            ConfirmedBy::parse(name)
                .ok_or_else(|| corrupt(format!("finding {} has an unknown basis {name}", row.id)))?,
        ),
    };
    let p = Positive {
        status,
        confirmed_by,
        workup_ordered: row.workup_ordered,
        overdue: row.due_date.is_some_and(|due| due < today),
        scan_date: row.scan_date,
        outcome_date: row.outcome_date,
        decision_date: row.decision_date,
        treatment_date: row.treatment_date,
    };
    if Figure::outcome_of(&p).is_none() {
        return Err(corrupt(format!("finding {} is confirmed malignant without its basis", row.id)));
    }
    Ok(p)
}

/// A row the follow-up rules could not have written.
fn corrupt(message: String) -> ServiceError {
    ServiceError::Internal(message.into())
}

fn organ_of(row: &PositiveRow) -> Result<Organ, ServiceError> {
    row.organ.parse().map_err(|_| corrupt(format!("finding {} has an unknown organ {}", row.id, row.organ)))
}

/// The skip reasons of a skipped series (`unrecorded` for one skipped before codes were kept,
/// or with a code this version does not know).
fn skip_reasons(row: &ScreenedRow) -> BTreeSet<SkipReason> {
    let codes = row.skip_codes.as_deref().unwrap_or_default();
    let reasons: BTreeSet<SkipReason> =
        codes.iter().map(|c| SkipReason::parse(c).unwrap_or(SkipReason::Unrecorded)).collect();
    if reasons.is_empty() { BTreeSet::from([SkipReason::Unrecorded]) } else { reasons }
}

/// A series figure's predicate: `screened`, `eligible` (of `cancer`, or of any), `skipped` (for
/// `reason`, or for any).
fn series_includes(figure: &str, cancer: Option<Organ>, reason: Option<SkipReason>, row: &ScreenedRow) -> bool {
    match figure {
        "screened" => true,
        "eligible" => row.status == "done" && cancer.is_none_or(|c| row.organs.iter().any(|o| o == c.as_str())),
        "skipped" => row.status == "skipped" && reason.is_none_or(|r| skip_reasons(row).contains(&r)),
        _ => false,
    }
}

pub const SERIES_FIGURES: [&str; 3] = ["screened", "eligible", "skipped"];

fn cancer_figures(
    cancer: Organ,
    checked: &Checked,
    screened: &[ScreenedRow],
    positives: &[Positive],
    language: Language,
) -> CancerFigures {
    let eligible: Vec<&ScreenedRow> =
        screened.iter().filter(|r| series_includes("eligible", Some(cancer), None, r)).collect();
    let patients = eligible.iter().map(|r| r.patient_ref).collect::<BTreeSet<_>>().len() as u64;
    let tally = Tally::of(positives);
    let facts = Facts {
        cancer,
        from: checked.from,
        to: checked.to,
        patients,
        positive: tally.positive,
        confirmed_imaging: tally.confirmed_imaging,
        confirmed_pathology: tally.confirmed_pathology,
        open: tally.open,
    };
    CancerFigures {
        cancer,
        screened: screened.len() as u64,
        eligible: eligible.len() as u64,
        patients,
        summary: summary::sentence(&facts, language),
        tally,
    }
}

/// The programme table for `params` (see [`ProgramParams`]), as of `today`.
pub async fn report(
    pool: &PgPool,
    caller: &Caller,
    params: &ProgramParams,
    today: Date,
) -> Result<ProgramReport, ServiceError> {
    caller.require_admin()?;
    let checked = check(pool, params, today).await?;
    let filter = checked.db(caller);
    let positive_rows = db::positives(pool, &filter).await?;
    let screened = db::screened(pool, &filter).await?;
    let language = caller.user.language.unwrap_or(Language::English);

    let mut by_cancer: BTreeMap<Organ, Vec<Positive>> = BTreeMap::new();
    for row in &positive_rows {
        by_cancer.entry(organ_of(row)?).or_default().push(positive(row, today)?);
    }
    let cancers: Vec<Organ> = match checked.cancer {
        Some(c) => vec![c],
        None => Organ::ALL.to_vec(),
    };
    let rows: Vec<CancerFigures> = cancers
        .iter()
        .map(|c| cancer_figures(*c, &checked, &screened, by_cancer.get(c).map_or(&[][..], Vec::as_slice), language))
        .collect();
    let all: Vec<Positive> = cancers.iter().flat_map(|c| by_cancer.get(c).cloned().unwrap_or_default()).collect();
    // The total row's series: screened for the chosen cancer, or for any (as its list counts them).
    let mut total = cancer_figures(cancers[0], &checked, &screened, &all, language);
    let eligible: Vec<&ScreenedRow> =
        screened.iter().filter(|r| series_includes("eligible", checked.cancer, None, r)).collect();
    total.eligible = eligible.len() as u64;
    total.patients = eligible.iter().map(|r| r.patient_ref).collect::<BTreeSet<_>>().len() as u64;
    total.summary = String::new();

    let mut skipped_by_reason: BTreeMap<SkipReason, u64> = BTreeMap::new();
    for row in screened.iter().filter(|r| r.status == "skipped") {
        for reason in skip_reasons(row) {
            *skipped_by_reason.entry(reason).or_default() += 1;
        }
    }
    // The commonest reason first.
    let mut skipped_by_reason: Vec<SkipCount> =
        skipped_by_reason.into_iter().map(|(reason, series)| SkipCount { reason, series }).collect();
    skipped_by_reason.sort_by(|a, b| b.series.cmp(&a.series).then(a.reason.cmp(&b.reason)));

    // Counts only: no patient is named, so viewing the table is not audited (its record lists are).
    Ok(ProgramReport {
        from: format::date(checked.from),
        to: format::date(checked.to),
        site: checked.site.clone(),
        cancer: checked.cancer,
        model_version: checked.model_version.clone(),
        today: format::date(today),
        screened: screened.len() as u64,
        eligible_any: total.eligible,
        skipped: screened.iter().filter(|r| r.status == "skipped").count() as u64,
        skipped_by_reason,
        weeks: weeks(&checked, &screened, &all),
        chronic: crate::service::chronic::figures(pool, &filter).await?,
        referral_flows: referral_flows(pool, &filter).await?,
        cancers: rows,
        total,
        sites: elysium_db::sites::list(pool)
            .await?
            .into_iter()
            .map(|s| SiteOption { code: s.code, name: s.name })
            .collect(),
        model_versions: db::model_versions(pool).await?,
    })
}

/// The referral flows of the period at the filter's site (its cancer and model version do not
/// apply: a referral is counted as the referral list shows it, which knows neither).
async fn referral_flows(pool: &PgPool, filter: &ProgramFilter) -> Result<Vec<ReferralFlow>, ServiceError> {
    let worked_up: Vec<String> = WORKED_UP.iter().map(|s| s.as_str().to_owned()).collect();
    let mut referred = Vec::new();
    for row in db::referrals(pool, filter, &worked_up).await? {
        let status: ReferralStatus = row
            .status
            .parse()
            .map_err(|_| corrupt(format!("referral {} has an unknown status {}", row.id, row.status)))?;
        referred.push(Referred {
            from_site: row.from_site,
            to_site: row.to_site,
            status,
            outcome_reported: row.outcome_reported,
            accepted_at: row.decided_at.filter(|_| status == ReferralStatus::Accepted),
            worked_up_at: row.worked_up_at,
        });
    }
    Ok(flows::flows(&referred))
}

/// The Monday starting `day`'s week.
pub(crate) fn week_of(day: Date) -> Date {
    day - Duration::days(i64::from(day.weekday().number_days_from_monday()))
}

/// The weekly trend over the period: every week from the one holding `from` to the one holding
/// `to`, empty weeks included (a gap in screening shows as a gap).
fn weeks(checked: &Checked, screened: &[ScreenedRow], positives: &[Positive]) -> Vec<WeekFigures> {
    let mut by_week: BTreeMap<Date, (u64, u64, u64)> = BTreeMap::new();
    let mut week = week_of(checked.from);
    while week <= checked.to {
        by_week.insert(week, (0, 0, 0));
        week += Duration::weeks(1);
    }
    for row in screened.iter().filter(|r| series_includes("eligible", checked.cancer, None, r)) {
        if let Some(w) = by_week.get_mut(&week_of(row.scan_date)) {
            w.0 += 1;
        }
    }
    for p in positives {
        if let Some(w) = by_week.get_mut(&week_of(p.scan_date)) {
            w.1 += 1;
            if Figure::ConfirmedPathology.includes(p) || Figure::ConfirmedImaging.includes(p) {
                w.2 += 1;
            }
        }
    }
    by_week
        .into_iter()
        .map(|(week, (eligible, positive, confirmed))| WeekFigures {
            week_start: format::date(week),
            eligible,
            positive,
            confirmed,
        })
        .collect()
}

/// The records behind one figure of the table (one page of them, and how many there are).
pub async fn records(
    pool: &PgPool,
    caller: &Caller,
    params: &RecordsParams,
    today: Date,
) -> Result<ProgramRecords, ServiceError> {
    caller.require_admin()?;
    let checked = check(pool, &params.filter(), today).await?;
    let filter = checked.db(caller);
    let reason = given(&params.reason)
        .map(|r| {
            SkipReason::parse(r).ok_or_else(|| {
                let valid: Vec<&str> = SkipReason::ALL.iter().map(|r| r.as_str()).collect();
                ServiceError::invalid("reason", Said::one_of(&valid))
            })
        })
        .transpose()?;
    let page = params.page.unwrap_or(0);
    let mut items: Vec<ProgramRecord> = if SERIES_FIGURES.contains(&params.figure.as_str()) {
        db::screened(pool, &filter)
            .await?
            .into_iter()
            .filter(|r| series_includes(&params.figure, checked.cancer, reason, r))
            .map(|r| ProgramRecord {
                finding_id: None,
                study_uid: Some(r.study_uid),
                series_uid: Some(r.series_uid),
                patient_id: r.patient_id,
                site: r.site_code,
                cancer: None,
                scan_date: format::date(r.scan_date),
                state: r.status,
                model_version: r.model_version,
            })
            .collect()
    } else {
        let figure = Figure::parse(&params.figure).ok_or_else(|| {
            let valid: Vec<&str> =
                SERIES_FIGURES.iter().copied().chain(Figure::ALL.iter().map(|f| f.as_str())).collect();
            ServiceError::invalid("figure", Said::one_of(&valid))
        })?;
        let mut items = Vec::new();
        for row in db::positives(pool, &filter).await? {
            if figure.includes(&positive(&row, today)?) {
                items.push(ProgramRecord {
                    finding_id: Some(row.id),
                    study_uid: None,
                    series_uid: None,
                    cancer: Some(organ_of(&row)?),
                    patient_id: row.patient_id,
                    site: row.site_code,
                    scan_date: format::date(row.scan_date),
                    state: row.status,
                    model_version: row.model_version,
                });
            }
        }
        items
    };
    let total = items.len() as u64;
    let start = usize::try_from(page.saturating_mul(RECORDS_PAGE)).unwrap_or(usize::MAX).min(items.len());
    let end = start.saturating_add(RECORDS_PAGE as usize).min(items.len());
    let shown: Vec<ProgramRecord> = items.drain(start..end).collect();
    caller
        .audit("metrics.records.view")
        .detail(serde_json::json!({ "filter": params.filter(), "figure": params.figure, "reason": params.reason,
                                    "page": page, "total": total }))
        .record(pool)
        .await?;
    Ok(ProgramRecords {
        figure: params.figure.clone(),
        reason,
        from: format::date(checked.from),
        to: format::date(checked.to),
        total,
        page,
        page_size: RECORDS_PAGE,
        items: shown,
    })
}
