//! Demo tumour-board cases referred up the network: Riverside Clinic (DEMO-RC) has no head and
//! neck surgeons, so its coordinator opens the larynx cases its ENT clinic sends and refers them
//! to the board of Demo General Hospital (DEMO-GH). One waits for the hospital; the other was
//! accepted, reviewed and signed by the hospital's board, and the clinic sees the signed
//! decision. Every step goes through the board and referral services as the demo users of either
//! end, so the rows, histories and audit are those real use writes.

use std::path::Path;

use anyhow::Context;
use app::domain::mdt::CategoryReview;
use app::domain::referral::{NewCaseReferral, ReferralEvent};
use app::model::mdt::{NewCaseRequest, ReviewRequest, SignRequest};
use app::service::mdt::{BoardSettings, cases, review};
use app::service::{Caller, referral};
use time::{Duration, OffsetDateTime};

use super::followup::demo_users;
use super::referral::{CLINIC, HOSPITAL};

/// One larynx case of the clinic.
struct ReferredCase {
    seed: u64,
    patient_id: &'static str,
    /// DICOM PN in the three groups hospitals in China send.
    name: &'static str,
    birth_date: &'static str,
    days_ago: i64,
    subsite: &'static str,
    diagnosis: &'static str,
    /// Where the case came from (the case's own note).
    note: &'static str,
    /// Why the clinic refers it.
    reason: &'static str,
    /// Whether the hospital's board has accepted and decided it.
    decided: bool,
}

const CASES: &[ReferredCase] = &[
    ReferredCase {
        seed: 2690,
        patient_id: "RC-3107",
        name: "Zhou^Ping=周^平=zhou^ping",
        birth_date: "19570412",
        days_ago: 12,
        subsite: "supraglottic",
        diagnosis: "Squamous cell carcinoma of the epiglottis",
        note: "ENT clinic: biopsy-proven supraglottic squamous cell carcinoma; hoarseness for three months",
        reason: "No head and neck surgery at the centre: please review at the provincial tumour board and plan treatment.",
        decided: true,
    },
    ReferredCase {
        seed: 2691,
        patient_id: "RC-3108",
        name: "Sun^Yu=孙^宇=sun^yu",
        birth_date: "19610823",
        days_ago: 3,
        subsite: "glottic",
        diagnosis: "Squamous cell carcinoma of the right vocal cord",
        note: "ENT clinic: biopsy-proven glottic squamous cell carcinoma; cord mobility normal",
        reason: "Early glottic cancer: radiotherapy or transoral surgery? Provincial board review, please.",
        decided: false,
    },
];

/// Seeds each case once: a patient already stored at the clinic is skipped.
pub async fn seed(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    settings: &BoardSettings,
) -> anyhow::Result<()> {
    let users = demo_users(pool).await?;
    let people = People {
        clinic: Caller::new(users.coordinator_rc, None),
        hospital: Caller::new(users.coordinator, None),
        surgeons: [Caller::new(users.surgeon, None), Caller::new(users.surgeon2, None)],
    };
    for case in CASES {
        if elysium_db::record::by_identifier(pool, CLINIC, case.patient_id).await?.is_some() {
            continue;
        }
        seed_case(pool, ingestor, data_dir, settings, &people, case)
            .await
            .with_context(|| format!("demo case referral of {}", case.patient_id))?;
    }
    Ok(())
}

/// Who takes part: the clinic's coordinator, the hospital's, and the hospital's two surgeons (the
/// board's quorum).
struct People {
    clinic: Caller,
    hospital: Caller,
    surgeons: [Caller; 2],
}

async fn seed_case(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    settings: &BoardSettings,
    people: &People,
    case: &ReferredCase,
) -> anyhow::Result<()> {
    let People { clinic, hospital, surgeons } = people;
    let day = OffsetDateTime::now_utc().date() - Duration::days(case.days_ago);
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-case-referral"));
    options.seed = case.seed;
    options.rows = 128;
    options.slices = Some(48);
    options.identity = elysium_phantom::PatientIdentity {
        patient_id: Some(case.patient_id.to_owned()),
        name: Some(case.name.to_owned()),
        birth_date: Some(case.birth_date.to_owned()),
        study_date: Some(format!("{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day())),
        accession: Some(format!("RC{}", case.seed)),
    };
    let dirs = super::store_phantom(pool, ingestor, options, CLINIC).await?;
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dirs.first().context("the series")?.join("truth.json"))?)?;
    let opened = cases::open(
        pool,
        clinic,
        &NewCaseRequest {
            patient: None,
            study_uid: truth["study_uid"].as_str().map(str::to_owned),
            cancer: "larynx".into(),
            histology: None,
            subsite: Some(case.subsite.into()),
            diagnosis: Some(case.diagnosis.into()),
            referral_note: Some(case.note.into()),
            series_uid: truth["series_uid"].as_str().map(str::to_owned),
        },
    )
    .await?;
    let request = NewCaseReferral { to_site: HOSPITAL.to_owned(), reason: case.reason.to_owned() };
    let sent = referral::refer_case(pool, clinic, opened.id, request).await?;
    if !case.decided {
        return Ok(());
    }
    let accept = ReferralEvent::Accept { note: Some("On the agenda of Thursday's head and neck board.".into()) };
    referral::record(pool, hospital, sent.id, sent.version, accept).await?;
    let override_ =
        |category: &str, reason: &str| CategoryReview::Override { category: category.into(), reason: reason.into() };
    let review_request = ReviewRequest {
        expected_version: opened.version,
        t: override_("T2", "Laryngoscopy: tumour of the epiglottis extending to the vallecula"),
        n: override_("N0", "Neck CT: no enlarged nodes"),
        m: override_("M0", "Chest CT: clear"),
        recommendation: "definitive_radiotherapy".into(),
        note: Some("Organ preservation; the clinic arranges the patient's travel for planning".into()),
        guideline_refs: Some("NCCN Head and Neck Cancers, supraglottic larynx".into()),
        amendment_reason: None,
        histology: None,
        subsite: None,
    };
    let reviewed = review::review(pool, &surgeons[0], opened.id, &review_request).await?;
    let mut version = reviewed.version;
    for surgeon in surgeons {
        version =
            review::sign(pool, surgeon, settings, opened.id, &SignRequest { expected_version: version }).await?.version;
    }
    Ok(())
}
