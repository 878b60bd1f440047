//! Demo longitudinal records: patients who came back for CT over several years, each scan's
//! biomarkers stored as a screening result would hold them. The coordinators' chronic list shows
//! findings at every step: a fatty liver that worsens scan by scan (its trend and letter show the
//! history), low bone density whose letter has gone out, coronary calcium the physician
//! acknowledged, and one closed. The first patient also has a record at the second demo
//! hospital (its own identifier and authority), linked by an administrator as the same person, so
//! her record page spans both. Images are not stored for these scans (like the programme
//! history's).

use anyhow::Context;
use app::domain::chronic::{ChronicEvent, CloseReason};
use app::service::chronic as service;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

const DESCRIPTION: &str = "Longitudinal record (demo): images not stored";

/// A returning patient: (patient ID, name, birth date, site, scans as (days ago, biomarkers)).
struct Returning {
    patient_id: &'static str,
    name: &'static str,
    birth: (i32, u8, u8),
    site: &'static str,
    scans: &'static [(i64, Biomarkers)],
}

#[derive(Clone, Copy)]
struct Biomarkers {
    liver: f64,
    spleen: f64,
    l1: Option<f64>,
    coronary: f64,
}

const fn b(liver: f64, spleen: f64, l1: Option<f64>, coronary: f64) -> Biomarkers {
    Biomarkers { liver, spleen, l1, coronary }
}

/// The first patient's record at the second demo hospital: scanned there before she moved, then
/// linked with her record at the first.
const LINKED: Returning = Returning {
    patient_id: "RC-7731",
    name: "Okafor^Grace",
    birth: (1961, 4, 17),
    site: "DEMO-RC",
    scans: &[(1830, b(61.0, 52.0, Some(196.0), 6.0)), (1480, b(58.0, 51.0, Some(189.0), 9.0))],
};
const LINK_REASON: &str = "Same name and birth date; the patient confirmed her earlier scans at Riverside Clinic.";

const PATIENTS: &[Returning] = &[
    // Liver 56 → 49 → 43 → 36 HU over three years: raised on the last scan, with the history.
    Returning {
        patient_id: "PL-0001",
        name: "Okafor^Grace",
        birth: (1961, 4, 17),
        site: "DEMO-GH",
        scans: &[
            (1110, b(56.0, 51.0, Some(182.0), 12.0)),
            (745, b(49.0, 52.0, Some(176.0), 18.0)),
            (380, b(43.0, 50.0, Some(171.0), 21.0)),
            (12, b(36.0, 51.0, Some(168.0), 24.0)),
        ],
    },
    // L1 152 → 131 → 104 HU: low bone density raised on the first scan, osteoporosis likely on
    // the last; the letter has gone to the physician.
    Returning {
        patient_id: "PL-0002",
        name: "Lindqvist^Maja",
        birth: (1949, 9, 2),
        site: "DEMO-GH",
        scans: &[
            (900, b(58.0, 50.0, Some(152.0), 30.0)),
            (520, b(57.0, 49.0, Some(131.0), 35.0)),
            (40, b(59.0, 50.0, Some(104.0), 41.0)),
        ],
    },
    // Coronary calcium 160 → 240 mm³: the physician acknowledged the letter.
    Returning {
        patient_id: "PL-0003",
        name: "Haddad^Omar",
        birth: (1956, 1, 23),
        site: "DEMO-GH",
        scans: &[
            (800, b(55.0, 49.0, Some(190.0), 160.0)),
            (430, b(54.0, 50.0, Some(186.0), 205.0)),
            (75, b(55.0, 50.0, Some(185.0), 240.0)),
        ],
    },
    // A fatty liver already known and treated: closed.
    Returning {
        patient_id: "PL-0004",
        name: "Moreau^Luc",
        birth: (1970, 11, 30),
        site: "DEMO-GH",
        scans: &[
            (700, b(33.0, 50.0, Some(200.0), 0.0)),
            (330, b(34.0, 51.0, Some(196.0), 0.0)),
            (60, b(31.0, 49.0, Some(199.0), 0.0)),
        ],
    },
];

/// Seeds the returning patients once (skipped when their scans exist), raising their chronic
/// findings scan by scan exactly as the screening worker does, then taking three of them along
/// the pathway as the demo coordinator.
pub async fn seed(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("select count(*) from study where description = $1")
        .bind(DESCRIPTION)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let rules = app::domain::chronic::ChronicRules::default();
    let today = OffsetDateTime::now_utc().date();
    for patient in std::iter::once(&LINKED).chain(PATIENTS) {
        for (days_ago, biomarkers) in patient.scans {
            let scan = today - Duration::days(*days_ago);
            let mut tx = pool.begin().await?;
            let result_id = store_scan(&mut tx, patient, scan, biomarkers).await?;
            let measured = service::measured_of(&biomarkers_json(biomarkers));
            service::raise_from_result(&mut tx, result_id, &measured, &rules, scan.midnight().assume_utc())
                .await
                .with_context(|| format!("demo chronic findings of {}", patient.patient_id))?;
            tx.commit().await?;
        }
    }
    let users = super::followup::demo_users(pool).await?;
    let admin = app::service::Caller::new(users.admin.clone(), None);
    let first = elysium_db::record::by_identifier(pool, "DEMO-GH", PATIENTS[0].patient_id)
        .await?
        .context("the first returning patient")?;
    let request = app::model::record::LinkRequest {
        patient_id: LINKED.patient_id.to_owned(),
        authority: "DEMO-RC".to_owned(),
        reason: LINK_REASON.to_owned(),
    };
    app::service::record::link(pool, &admin, first, &request).await.context("linking the demo records")?;
    seed_surveillance(pool, &app::service::Caller::new(users.radiologist.clone(), None)).await?;
    let caller = app::service::Caller::new(users.coordinator.clone(), None);
    let letter = |physician: &str| ChronicEvent::SendLetter { physician: physician.to_owned() };
    let steps: [(&str, &str, Vec<ChronicEvent>); 3] = [
        ("PL-0002", "osteoporosis", vec![letter("Dr. Mei Lin, Riverside Family Practice")]),
        (
            "PL-0003",
            "coronary_calcium",
            vec![
                letter("Dr. Amir Farouk, Northgate Health Centre"),
                ChronicEvent::RecordAcknowledgement { note: Some("Reviewing his statin therapy.".into()) },
            ],
        ),
        (
            "PL-0004",
            "steatosis",
            vec![ChronicEvent::Close {
                reason: CloseReason::AlreadyKnown,
                note: Some("Followed in the hepatology clinic since 2023.".into()),
            }],
        ),
    ];
    for (patient_id, kind, events) in steps {
        let id: i64 = sqlx::query_scalar(
            "select c.id from chronic_finding c join patient p on p.id = c.patient_ref
             where p.patient_id = $1 and c.kind = $2",
        )
        .bind(patient_id)
        .bind(kind)
        .fetch_one(pool)
        .await
        .with_context(|| format!("the demo {kind} finding of {patient_id}"))?;
        let mut version: i32 =
            sqlx::query_scalar("select version from chronic_finding where id = $1").bind(id).fetch_one(pool).await?;
        for event in events {
            version = service::record(pool, &caller, id, version, event)
                .await
                .with_context(|| format!("demo chronic finding #{id}"))?
                .version;
        }
    }
    Ok(())
}

fn biomarkers_json(b: &Biomarkers) -> Value {
    json!({
        "liver_hu": b.liver,
        "spleen_hu": b.spleen,
        "liver_minus_spleen_hu": b.liver - b.spleen,
        "l1_trabecular_hu": b.l1,
        "coronary_calcium_mm3": b.coronary,
    })
}

/// The study, series, job and result rows of one scan; returns the result's id.
async fn store_scan(
    tx: &mut sqlx::PgConnection,
    patient: &Returning,
    scan: Date,
    biomarkers: &Biomarkers,
) -> anyhow::Result<i64> {
    let study_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let series_uid = format!("2.25.{}", Uuid::new_v4().as_u128());
    let (year, month, day) = patient.birth;
    let birth = Date::from_calendar_date(year, time::Month::try_from(month)?, day)?;
    let (study_id, series_id): (Uuid, Uuid) = sqlx::query_as(
        "with p as (insert into patient (patient_id, assigning_authority, name, sex, birth_date)
                    values ($1, (select patient_id_authority from site where code = $3), $5, null, $6)
                    on conflict (assigning_authority, patient_id) do update set name = patient.name returning id),
              st as (insert into study (study_uid, patient_ref, site_id, study_date, description)
                     select $2, p.id, (select id from site where code = $3), $4, $7 from p returning id)
         insert into series (series_uid, study_ref, modality, body_part, description, series_number)
         select $8, st.id, 'CT', 'CHEST', 'Chest and abdomen non-contrast', 2 from st returning study_ref, id",
    )
    .bind(patient.patient_id)
    .bind(&study_uid)
    .bind(patient.site)
    .bind(scan)
    .bind(patient.name)
    .bind(birth)
    .bind(DESCRIPTION)
    .bind(&series_uid)
    .fetch_one(&mut *tx)
    .await?;
    let finished = scan.midnight().assume_utc() + Duration::hours(19);
    let version = super::program::version_on(scan, OffsetDateTime::now_utc().date());
    let job_id: i64 = sqlx::query_scalar(
        "insert into screening_job (series_ref, model_name, model_version, status, attempts, max_attempts, reason,
                                    enqueued_at, started_at, finished_at)
         values ($1, 'reference-screening', $3, 'done', 1, 3, 'auto', $2, $2, $2) returning id",
    )
    .bind(series_id)
    .bind(finished)
    .bind(version)
    .fetch_one(&mut *tx)
    .await?;
    let result_id: i64 = sqlx::query_scalar(
        "insert into screening_result (job_id, series_ref, study_ref, model_name, model_version, model_sha256,
                                       execution_provider, device, result, timings_ms, instances, created_at)
         values ($1, $2, $3, 'reference-screening', $6, 'demo-longitudinal', 'demo-longitudinal',
                 'demo-longitudinal', $4, '{}', 0, $5) returning id",
    )
    .bind(job_id)
    .bind(series_id)
    .bind(study_id)
    .bind(
        json!({ "tumor_probabilities": {}, "positives": [], "lesions": [], "biomarkers": biomarkers_json(biomarkers) }),
    )
    .bind(finished)
    .bind(version)
    .fetch_one(&mut *tx)
    .await?;
    Ok(result_id)
}

/// Surveillance on two of the programme history's benign findings (when it has them): one due
/// next month, on the coordinators' surveillance list (`/worklist?quick=surveillance`), and one
/// due in a year.
async fn seed_surveillance(pool: &sqlx::PgPool, radiologist: &app::service::Caller) -> anyhow::Result<()> {
    let benign: Vec<(i64, i32)> = sqlx::query_as(
        "select id, version from finding where status = 'benign' and surveillance_due is null order by outcome_date desc, id limit 2",
    )
    .fetch_all(pool)
    .await?;
    let levels = app::domain::followup::ServiceLevels::default();
    for ((id, version), months) in benign.into_iter().zip([1, 12]) {
        let event = app::domain::followup::FindingEvent::SetSurveillance {
            months: Some(months),
            note: Some("Small indeterminate lesion: image again.".into()),
        };
        app::service::followup::record(pool, radiologist, &levels, id, version, event)
            .await
            .with_context(|| format!("surveillance of demo finding #{id}"))?;
    }
    Ok(())
}
