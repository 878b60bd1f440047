//! Demo lesion tracking: a patient scanned three times over two years with a lung nodule that
//! was small and stable, then grew. Each scan is the same synthetic patient (one phantom seed)
//! lying differently in the scanner (`shift_mm`) with the nodule scaled (`growth`), stored as
//! real DICOM and screened from its ground truth like the follow-up demo's. The first two
//! findings were read as benign-looking with surveillance; the third is new. Tracking (run after
//! the demo is seeded) aligns the three series on anatomy and matches the nodule across them, so
//! the record shows one lesion, 6 → 6.5 → 11 mm, with its volume doubling time.

use std::path::Path;

use anyhow::Context;
use app::domain::followup::event::DismissReason;
use app::domain::followup::{FindingEvent, ServiceLevels};
use app::service::Caller;
use time::{Duration, OffsetDateTime};

use super::followup::{demo_users, findings_from_truth};

pub const PATIENT_ID: &str = "PL-0005";
const NAME: &str = "Haddad^Omar";
const BIRTH_DATE: &str = "19560211";
/// The synthetic patient every scan is drawn from.
const SEED: u64 = 4_805;
const ROWS: u16 = 128;
/// The nodule as first seen.
const LESION: &str = "lung:6";

/// One scan: days ago, where the patient lay (mm, LPS), and the nodule's size as a multiple of
/// the first.
const SCANS: [(i64, [f64; 3], f64); 3] =
    [(730, [0.0, 0.0, 0.0], 1.0), (379, [9.0, -6.0, 18.0], 6.5 / 6.0), (14, [-12.0, 5.0, -22.0], 11.0 / 6.0)];

/// Seeds the patient once: skipped when the patient exists.
pub async fn seed(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    levels: &ServiceLevels,
) -> anyhow::Result<()> {
    if elysium_db::record::by_identifier(pool, "DEMO-GH", PATIENT_ID).await?.is_some() {
        return Ok(());
    }
    println!("Generating the demo lesion-tracking patient (3 scans)…");
    let users = demo_users(pool).await?;
    let radiologist = Caller::new(users.radiologist.clone(), None);
    let today = OffsetDateTime::now_utc().date();
    let scans = SCANS.len();
    for (index, (days_ago, shift, growth)) in SCANS.into_iter().enumerate() {
        let day = today - Duration::days(days_ago);
        let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-lesions").join(index.to_string()));
        options.seed = SEED;
        options.rows = ROWS;
        options.lesions = vec![LESION.parse()?];
        options.shift_mm = shift;
        options.growth = growth;
        options.identity = elysium_phantom::PatientIdentity {
            patient_id: Some(PATIENT_ID.to_owned()),
            name: Some(NAME.to_owned()),
            birth_date: Some(BIRTH_DATE.to_owned()),
            study_date: Some(format!("{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day())),
            accession: Some(format!("LT{SEED}{index:02}")),
        };
        let dirs =
            super::store_staged_phantom(pool, ingestor, options, elysium_phantom::StagingOptions::default(), "DEMO-GH")
                .await
                .with_context(|| format!("demo lesion scan {index}"))?;
        let dir = dirs.first().context("the phantom's series")?;
        for finding in findings_from_truth(pool, dir, 300 + index, days_ago).await? {
            let Some(id) = app::service::followup::create(pool, levels, finding, "demo-screening").await? else {
                continue;
            };
            if index + 1 < scans {
                read_as_stable(pool, &radiologist, levels, id).await?;
            }
        }
    }
    Ok(())
}

/// The radiologist's reading of an earlier scan: a small smooth nodule, dismissed as benign in
/// appearance, with CT again in twelve months.
async fn read_as_stable(
    pool: &sqlx::PgPool,
    radiologist: &Caller,
    levels: &ServiceLevels,
    id: i64,
) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let mut version = elysium_db::findings::get(&mut conn, id, None, false).await?.context("demo finding")?.version;
    drop(conn);
    let events = [
        FindingEvent::StartReview,
        FindingEvent::Dismiss {
            reason: DismissReason::BenignAppearance,
            note: Some("Small solid nodule with smooth margins.".into()),
        },
        FindingEvent::SetSurveillance { months: Some(12), note: Some("Low-dose CT again in 12 months.".into()) },
    ];
    for event in events {
        version = app::service::followup::record(pool, radiologist, levels, id, version, event).await?.version;
    }
    Ok(())
}
