//! Demo programme history: 26 weeks of opportunistic screening at both demo sites by the
//! reference model's version 0.1.0, whose positive rate drifts upwards in the last month, with
//! version 0.2.0 in shadow beside it for the last six weeks before it became the active version
//! (the registry's highest, which screens the demo's own studies today), so that the
//! administrator's programme table, its weekly trend and its sentences, and the models page's
//! drift alert and shadow comparison, read like a running deployment.

use anyhow::Context;
use app::domain::followup::event::{ConfirmedBy, ContactChannel, ContactResult, DismissReason, Outcome};
use app::domain::followup::{FindingEvent, ServiceLevels};
use app::domain::organs::Organ;
use app::service::followup as service;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

const SEED: u64 = 2026_0508;
const WEEKS: i64 = 26;
const SERIES_PER_WEEK: usize = 16;
/// The version live throughout the history.
const LIVE_VERSION: &str = "0.1.0";
/// From this week on, the live version flags several times as many series as it did in its first
/// weeks (as after an unannounced change of a scanner's reconstruction kernel), so that the
/// models page shows a drift alert.
const DRIFT_FROM_WEEK: i64 = 22;
const DRIFT_FACTOR: f64 = 3.5;
/// From this week on, the next version runs in shadow beside the live one (results kept apart,
/// no findings) until the history's end, when it became the active version.
const SHADOW_FROM_WEEK: i64 = 20;
const SHADOW_VERSION: &str = "0.2.0";
/// The version that screened before the history (retired: no longer in the registry); the
/// longitudinal demo's older scans were screened by it.
const RETIRED_VERSION: &str = "0.0.9";
const DESCRIPTION: &str = "Programme history (demo): images not stored";

/// How often a series raises a positive for each cancer (demo rates, several times a real
/// programme's, so that six months show every outcome).
const POSITIVE_RATE: [(Organ, f64); 8] = [
    (Organ::Lung, 0.045),
    (Organ::Colorectal, 0.03),
    (Organ::Liver, 0.02),
    (Organ::Stomach, 0.015),
    (Organ::Esophagus, 0.012),
    (Organ::Pancreas, 0.012),
    (Organ::Kidney, 0.015),
    (Organ::Breast, 0.012),
];

/// Why a series is skipped, and how often (of all series).
const SKIPS: [(&[&str], f64); 5] = [
    (&["contrast"], 0.05),
    (&["too_few_slices"], 0.012),
    (&["body_part"], 0.01),
    (&["slice_thickness"], 0.008),
    (&["contrast", "too_few_slices"], 0.004),
];

/// The reference model version that screened a demo scan taken on `scan`: the live version
/// within the history's 26 weeks before `today` (and after, until today), the retired one before.
pub fn version_on(scan: Date, today: Date) -> &'static str {
    if scan < today - Duration::weeks(WEEKS) { RETIRED_VERSION } else { LIVE_VERSION }
}

/// Seeds the history once: skipped when a history study exists.
pub async fn seed(pool: &sqlx::PgPool, levels: &ServiceLevels) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("select count(*) from study where description = $1")
        .bind(DESCRIPTION)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let total = WEEKS as usize * SERIES_PER_WEEK;
    println!("Generating the demo programme history ({total} screened series over {WEEKS} weeks)…");
    let users = super::followup::demo_users(pool).await?;
    let caller = app::service::Caller::new(users.radiologist.clone(), None);
    let mut rng = SmallRng::seed_from_u64(SEED);
    let today = OffsetDateTime::now_utc().date();
    let start = today - Duration::weeks(WEEKS);
    let mut patients: Vec<(String, &str)> = Vec::new();
    for n in 0..total {
        let week = (n / SERIES_PER_WEEK) as i64;
        let scan = start + Duration::days(week * 7 + rng.random_range(0..7));
        if scan > today {
            continue;
        }
        // About one series in seven is a returning patient's.
        let (patient, site) = if !patients.is_empty() && rng.random_bool(0.15) {
            patients[rng.random_range(0..patients.len())].clone()
        } else {
            let site = if rng.random_bool(0.7) { "DEMO-GH" } else { "DEMO-RC" };
            patients.push((format!("PG-{:05}", patients.len() + 1), site));
            patients[patients.len() - 1].clone()
        };
        let version = LIVE_VERSION;
        let skip = pick_skip(&mut rng);
        let factor = if week >= DRIFT_FROM_WEEK { DRIFT_FACTOR } else { 1.0 };
        let positives: Vec<Organ> = if skip.is_some() {
            Vec::new()
        } else {
            POSITIVE_RATE.iter().filter(|(_, rate)| rng.random_bool(rate * factor)).map(|(organ, _)| *organ).collect()
        };
        // The last weeks are also screened by the shadow version: it keeps most of the live
        // positives, but not the drift's extra ones (it agrees with the live version as often as
        // before the drift), and adds a few of its own.
        let shadow: Option<Vec<Organ>> =
            (week >= SHADOW_FROM_WEEK && skip.is_none()).then(|| {
                Organ::ALL
                    .iter()
                    .filter(|organ| {
                        if positives.contains(organ) { rng.random_bool(0.8 / factor) } else { rng.random_bool(0.012) }
                    })
                    .copied()
                    .collect()
            });
        let series = HistorySeries {
            patient: &patient,
            site,
            scan,
            version,
            skip,
            positives: &positives,
            shadow: shadow.as_deref(),
        };
        let ids = store_series(pool, &series, &mut rng).await?;
        for (organ, study_uid, series_uid, result_id) in ids {
            let probability = 0.51 + f64::from(rng.random_range(0..10u8)) / 100.0;
            let new = elysium_db::findings::NewFinding {
                study_uid,
                series_uid: Some(series_uid),
                organ: organ.as_str().to_owned(),
                class_label: organ.classes()[0].to_owned(),
                probability,
                threshold: 0.5,
                class_probabilities: json!({ organ.classes()[0]: probability }),
                model_name: "reference-screening".into(),
                model_version: version.to_owned(),
                location: None,
                detected_at: scan.midnight().assume_utc() + Duration::hours(20),
                due_date: None,
                screening_result_ref: Some(result_id),
            };
            let Some(id) = service::create(pool, levels, new, "demo-screening").await? else { continue };
            let events = story(&mut rng, organ, scan, today);
            let mut version = 1;
            for event in events {
                version = service::record(pool, &caller, levels, id, version, event)
                    .await
                    .with_context(|| format!("demo history finding #{id}"))?
                    .version;
            }
        }
    }
    Ok(())
}

fn pick_skip(rng: &mut SmallRng) -> Option<&'static [&'static str]> {
    let draw: f64 = rng.random();
    let mut cumulative = 0.0;
    for (codes, rate) in SKIPS {
        cumulative += rate;
        if draw < cumulative {
            return Some(codes);
        }
    }
    None
}

/// One screened series of the history.
struct HistorySeries<'a> {
    patient: &'a str,
    site: &'a str,
    scan: Date,
    version: &'a str,
    /// The codes it was skipped for (`None`: screened).
    skip: Option<&'a [&'a str]>,
    positives: &'a [Organ],
    /// What the shadow version found, when one ran.
    shadow: Option<&'a [Organ]>,
}

/// The study, series, job and (unless skipped) result rows of one screened series; returns the
/// (organ, study UID, series UID, result id) of each positive.
async fn store_series(
    pool: &sqlx::PgPool,
    s: &HistorySeries<'_>,
    rng: &mut SmallRng,
) -> anyhow::Result<Vec<(Organ, String, String, i64)>> {
    let HistorySeries { patient, site, scan, version, skip, positives, shadow } = *s;
    let study_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let series_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let mut tx = pool.begin().await?;
    let (study_id, series_id): (Uuid, Uuid) = sqlx::query_as(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, (select patient_id_authority from site where code = $3), $5, $6, $7)
                    on conflict (assigning_authority, patient_id) do update set name = patient.name returning id),
              st as (insert into study (study_uid, patient_ref, site_id, study_date, description)
                     select $2, p.id, (select id from site where code = $3), $4, $8 from p returning id)
         insert into series (series_uid, study_ref, modality, body_part, description, series_number)
         select $9, st.id, 'CT', 'CHEST', 'Chest non-contrast', 2 from st returning study_ref, id",
    )
    .bind(patient)
    .bind(&study_uid)
    .bind(site)
    .bind(scan)
    .bind(format!("HISTORY^{}", &patient[3..]))
    .bind(if rng.random_bool(0.5) { "F" } else { "M" })
    .bind(Date::from_calendar_date(rng.random_range(1940..1975), time::Month::June, rng.random_range(1..29))?)
    .bind(DESCRIPTION)
    .bind(&series_uid)
    .fetch_one(&mut *tx)
    .await?;
    let finished = scan.midnight().assume_utc() + Duration::hours(19);
    let (status, reason) = match skip {
        Some(_) => ("skipped", Some("not eligible for screening (demo history)")),
        None => ("done", None),
    };
    let job_id: i64 = sqlx::query_scalar(
        "insert into screening_job (series_ref, model_name, model_version, status, attempts, max_attempts, reason,
                                    last_error, skip_codes, enqueued_at, started_at, finished_at)
         values ($1, 'reference-screening', $2, $3, 1, 3, 'auto', $4, $5, $6, $6, $6) returning id",
    )
    .bind(series_id)
    .bind(version)
    .bind(status)
    .bind(reason)
    .bind(skip.map(|codes| codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()))
    .bind(finished)
    .fetch_one(&mut *tx)
    .await?;
    let mut raised = Vec::new();
    if skip.is_none() {
        let probabilities: serde_json::Map<String, serde_json::Value> = Organ::ALL
            .iter()
            .map(|organ| {
                let p = if positives.contains(organ) { 0.55 } else { 0.02 };
                (organ.as_str().to_owned(), json!({ organ.classes()[0]: p }))
            })
            .collect();
        let result_id: i64 = sqlx::query_scalar(
            "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                           execution_provider, device, result, timings_ms, instances, created_at)
             values ($1, $2, $3, 'reference-screening', $4, 'demo-history', 'demo-history', 'demo-history', $5,
                     '{}', 0, $6) returning id",
        )
        .bind(job_id)
        .bind(series_id)
        .bind(study_id)
        .bind(version)
        .bind(json!({ "tumor_probabilities": probabilities, "positives": listed(positives) }))
        .bind(finished)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(shadow) = shadow {
            sqlx::query(
                "insert into shadow_result (live_result_ref, series_ref, model_name, model_version, model_sha256,
                                            execution_provider, device, result, timings_ms, created_at)
                 values ($1, $2, 'reference-screening', $3, 'demo-history', 'demo-history', 'demo-history', $4, '{}', $5)",
            )
            .bind(result_id)
            .bind(series_id)
            .bind(SHADOW_VERSION)
            .bind(json!({ "positives": listed(shadow) }))
            .bind(finished)
            .execute(&mut *tx)
            .await?;
        }
        raised = positives.iter().map(|o| (*o, study_uid.clone(), series_uid.clone(), result_id)).collect();
    }
    tx.commit().await?;
    Ok(raised)
}

/// Positives as a result lists them (the organ's first class, at the demo's threshold).
fn listed(organs: &[Organ]) -> serde_json::Value {
    organs
        .iter()
        .map(|o| json!({ "organ": o.as_str(), "class": o.classes()[0], "probability": 0.55, "threshold": 0.5, "specificity": 0.99 }))
        .collect()
}

/// Where a positive scanned on `scan` stands today, as the events that took it there: older
/// positives have mostly reached an outcome, recent ones are in review or work-up.
fn story(rng: &mut SmallRng, organ: Organ, scan: Date, today: Date) -> Vec<FindingEvent> {
    let age = (today - scan).whole_days();
    let review = FindingEvent::StartReview;
    let order = FindingEvent::OrderWorkup {
        modality: super::followup::workup_for(organ),
        due_date: today + Duration::days(14),
        responsible: Some("Dr. Demo Gastro".into()),
    };
    let outcome_day = (scan + Duration::days(rng.random_range(12..50))).min(today);
    let schedule = FindingEvent::ScheduleWorkup {
        date: (scan + Duration::days(rng.random_range(5..12))).min(today),
        site: Some("Imaging, level 2".into()),
    };
    let complete = FindingEvent::CompleteWorkup { summary: Some("Examination performed; report received.".into()) };
    let worked_up = |last: FindingEvent| vec![review.clone(), order.clone(), schedule.clone(), complete.clone(), last];
    let outcome = |outcome, by, diagnosis: &str| FindingEvent::RecordOutcome {
        outcome,
        confirmed_by: by,
        diagnosis: Some(diagnosis.to_owned()).filter(|d| !d.is_empty()),
        date: outcome_day,
    };
    let no_answer = FindingEvent::RecordContactAttempt {
        channel: ContactChannel::Phone,
        result: ContactResult::NoAnswer,
        note: None,
    };
    // Recent positives are still being worked (never `new`: the demo's own new findings lead the
    // worklist); older ones reach an outcome more often the older they are.
    let resolved = age > 21 && rng.random_bool(((age - 21) as f64 / 60.0).min(0.92));
    if !resolved {
        return match rng.random_range(0..3) {
            0 => vec![review],
            1 => vec![review, order],
            _ => vec![review, order, schedule],
        };
    }
    let draw: f64 = rng.random();
    match draw {
        d if d < 0.24 => worked_up(outcome(Outcome::ConfirmedMalignant, Some(ConfirmedBy::Pathology), "Carcinoma")),
        d if d < 0.36 => {
            worked_up(outcome(Outcome::ConfirmedMalignant, Some(ConfirmedBy::Imaging), "Carcinoma (imaging)"))
        }
        d if d < 0.52 => worked_up(outcome(Outcome::Benign, None, "Benign lesion")),
        d if d < 0.74 => worked_up(outcome(Outcome::NoLesion, None, "")),
        d if d < 0.86 => vec![review, FindingEvent::Dismiss { reason: DismissReason::AiFalsePositive, note: None }],
        d if d < 0.92 => vec![review, order, FindingEvent::MarkDeclined { note: Some("Prefers to wait.".into()) }],
        _ => vec![review, order, no_answer.clone(), no_answer.clone(), no_answer, FindingEvent::MarkLost],
    }
}
