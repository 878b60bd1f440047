//! Demo referral network: Riverside Clinic (DEMO-RC) is a community health centre that screens,
//! Demo General Hospital (DEMO-GH) the provincial hospital it refers findings up to. Six patients
//! screened at the clinic, each referred by the clinic's coordinator with a reason and the work-up
//! asked for, stand in every state a referral reaches: two waiting for the hospital (so that one
//! can be accepted on a first visit and one still waits), one accepted and being worked up, one
//! accepted with its outcome reported back to the clinic, one declined and one withdrawn, each
//! with its reason. Every step goes through the referral and follow-up services as the demo
//! coordinators of either end, so the rows, histories and audit are those real use writes.

use std::path::Path;

use anyhow::Context;
use app::domain::followup::event::{ConfirmedBy, Outcome, WorkupModality};
use app::domain::followup::{FindingEvent, ServiceLevels};
use app::domain::referral::{NewReferral, ReferralEvent, SiteLevel};
use app::model::referral::{LevelRequest, Route};
use app::service::Caller;
use app::service::{followup, referral};
use time::{Date, Duration, OffsetDateTime};

use super::followup::{demo_users, findings_from_truth};

/// The community clinic that screens and refers.
pub const CLINIC: &str = "DEMO-RC";
/// The provincial hospital that receives.
pub const HOSPITAL: &str = "DEMO-GH";

/// Where a referred patient's story has got to, with the words each step was taken with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    /// Sent; the hospital has not answered yet.
    Requested,
    /// Accepted with `note`; the hospital has ordered the work-up (`responsible` for it) and
    /// booked it at `appointment`.
    InWorkup { note: &'static str, responsible: &'static str, appointment: &'static str },
    /// Accepted with `note`, worked up (`summary`) and the malignancy confirmed by pathology
    /// (`diagnosis`): the outcome the clinic is told.
    OutcomeReported {
        note: &'static str,
        responsible: &'static str,
        appointment: &'static str,
        summary: &'static str,
        diagnosis: &'static str,
    },
    /// Declined by the hospital for `reason`; the clinic has the finding back.
    Declined { reason: &'static str },
    /// Withdrawn by the clinic for `reason`; the clinic orders the work-up itself, `responsible`
    /// for it.
    Withdrawn { reason: &'static str, responsible: &'static str },
}

/// One referred patient of the clinic.
struct Referred {
    /// The phantom's seed (the patient's anatomy and images).
    seed: u64,
    lesion: &'static str,
    patient_id: &'static str,
    /// DICOM PN in the three groups hospitals in China send (alphabetic, ideographic, phonetic).
    /// Each name suits the sex the phantom draws for its seed.
    name: &'static str,
    birth_date: &'static str,
    /// Days from the screening CT to today.
    days_ago: i64,
    workup: WorkupModality,
    /// Why the clinic refers the finding.
    reason: &'static str,
    story: Story,
}

const PATIENTS: &[Referred] = &[
    Referred {
        seed: 2680,
        lesion: "stomach:22",
        patient_id: "RC-3101",
        name: "Wang^Jianhua=王^建华=wang^jian hua",
        birth_date: "19580314",
        days_ago: 2,
        workup: WorkupModality::Endoscopy,
        reason: "Gastric wall mass of 22 mm on screening CT. No gastroscopy at the centre: please arrange gastroscopy with biopsy.",
        story: Story::Requested,
    },
    Referred {
        seed: 2681,
        lesion: "lung:18",
        patient_id: "RC-3102",
        name: "Liu^Yang=刘^洋=liu^yang",
        birth_date: "19631102",
        days_ago: 5,
        workup: WorkupModality::PetCt,
        reason: "Solid lung nodule of 18 mm, smoker for 30 years. PET-CT and a thoracic surgery opinion, please.",
        story: Story::Requested,
    },
    Referred {
        seed: 2682,
        lesion: "colorectal:24",
        patient_id: "RC-3103",
        name: "Chen^Jing=陈^静=chen^jing",
        birth_date: "19660721",
        days_ago: 9,
        workup: WorkupModality::Colonoscopy,
        reason: "Colonic wall thickening of 24 mm; positive faecal occult blood test last month. Colonoscopy, please.",
        story: Story::InWorkup {
            note: "Colonoscopy list on Thursday; bowel preparation instructions sent to the patient.",
            responsible: "Dr. Zhou Min, Endoscopy Centre",
            appointment: "Endoscopy Centre, building 3",
        },
    },
    Referred {
        seed: 2683,
        lesion: "liver:22",
        patient_id: "RC-3104",
        name: "Zhao^Jianguo=赵^建国=zhao^jian guo",
        birth_date: "19550109",
        days_ago: 23,
        workup: WorkupModality::ContrastMri,
        reason: "Liver lesion of 22 mm in a patient with chronic hepatitis B. Contrast MRI and hepatology opinion, please.",
        story: Story::OutcomeReported {
            note: "Booked for liver MRI; the hepatology clinic follows.",
            responsible: "Dr. Sun Hui, Hepatology",
            appointment: "MRI suite, building 2",
            summary: "MRI: arterial enhancement with washout. Ultrasound-guided biopsy taken.",
            diagnosis: "Hepatocellular carcinoma",
        },
    },
    Referred {
        seed: 2684,
        lesion: "esophagus:16",
        patient_id: "RC-3105",
        name: "Li^Guilan=李^桂兰=li^gui lan",
        birth_date: "19520530",
        days_ago: 13,
        workup: WorkupModality::Endoscopy,
        reason: "Oesophageal wall thickening of 16 mm with mild dysphagia. Upper endoscopy, please.",
        story: Story::Declined {
            reason: "No endoscopy slot within four weeks this month. Please refer again next month, or to a hospital with a shorter wait.",
        },
    },
    Referred {
        seed: 2685,
        lesion: "kidney:20",
        patient_id: "RC-3106",
        name: "Huang^Zhiqiang=黄^志强=huang^zhi qiang",
        birth_date: "19600918",
        days_ago: 17,
        workup: WorkupModality::ContrastCt,
        reason: "Solid renal mass of 20 mm. Contrast CT and a urology opinion, please.",
        story: Story::Withdrawn {
            reason: "The patient prefers not to travel to the city; contrast CT arranged at the district imaging centre.",
            responsible: "District imaging centre",
        },
    },
];

/// The three people of the story: the administrator who configures the network, and the
/// coordinator at each end.
struct People {
    admin: Caller,
    clinic: Caller,
    hospital: Caller,
}

/// Seeds each referred patient once: a patient already stored at the clinic is skipped, so a
/// second run adds nothing (and a run cut short finishes the patients it had not reached).
pub async fn seed(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    levels: &ServiceLevels,
) -> anyhow::Result<()> {
    let mut pending = Vec::new();
    for (index, patient) in PATIENTS.iter().enumerate() {
        if elysium_db::record::by_identifier(pool, CLINIC, patient.patient_id).await?.is_none() {
            pending.push((index, patient));
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    println!("Generating the demo referral network ({} referred patients)…", pending.len());
    let users = demo_users(pool).await?;
    let people = People {
        admin: Caller::new(users.admin, None),
        clinic: Caller::new(users.coordinator_rc, None),
        hospital: Caller::new(users.coordinator, None),
    };
    // Only while patients remain to be seeded: later, the network is the administrator's to change.
    open_network(pool, &people.admin).await.context("configuring the demo referral network")?;
    for (index, patient) in pending {
        seed_patient(pool, ingestor, data_dir, levels, &people, index, patient)
            .await
            .with_context(|| format!("demo referral of {}", patient.patient_id))?;
    }
    Ok(())
}

/// The clinic a community health centre, the hospital a provincial one, and the route between
/// them open, as an administrator sets them on the network page.
async fn open_network(pool: &sqlx::PgPool, admin: &Caller) -> anyhow::Result<()> {
    let network = referral::network(pool, admin).await?;
    for (site, level) in [(CLINIC, SiteLevel::Community), (HOSPITAL, SiteLevel::Provincial)] {
        // Setting a level is audited each time: set only what is not set already.
        if network.sites.iter().any(|s| s.code == site && s.level == Some(level)) {
            continue;
        }
        let request = LevelRequest { site: site.to_owned(), level: Some(level.as_str().to_owned()) };
        referral::set_level(pool, admin, &request).await?;
    }
    let route = Route { from: CLINIC.to_owned(), to: HOSPITAL.to_owned() };
    referral::set_route(pool, admin, &route, true).await?;
    Ok(())
}

/// One patient: the screening CT stored at the clinic, its finding raised as screening raises
/// it, reviewed and referred by the clinic, then taken along its story.
async fn seed_patient(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    levels: &ServiceLevels,
    people: &People,
    index: usize,
    patient: &Referred,
) -> anyhow::Result<()> {
    let dir = store_scan(pool, ingestor, data_dir, patient).await?;
    let finding = findings_from_truth(pool, &dir, 400 + index, patient.days_ago)
        .await?
        .into_iter()
        .next()
        .context("the phantom's lesion")?;
    let Some(id) = followup::create(pool, levels, finding, "demo-screening").await? else {
        return Ok(());
    };
    work_up(pool, &people.clinic, levels, id, vec![FindingEvent::StartReview]).await?;
    let request = NewReferral {
        to_site: HOSPITAL.to_owned(),
        reason: patient.reason.to_owned(),
        requested_workup: patient.workup,
    };
    let sent = referral::refer(pool, &people.clinic, id, request).await?;
    let today = OffsetDateTime::now_utc().date();
    match patient.story {
        Story::Requested => {}
        Story::InWorkup { note, responsible, appointment } => {
            accept(pool, &people.hospital, sent.id, sent.version, note).await?;
            let booked = vec![
                take_over(&people.hospital),
                order(patient.workup, today, responsible),
                FindingEvent::ScheduleWorkup { date: today + Duration::days(6), site: Some(appointment.into()) },
            ];
            work_up(pool, &people.hospital, levels, id, booked).await?;
        }
        Story::OutcomeReported { note, responsible, appointment, summary, diagnosis } => {
            accept(pool, &people.hospital, sent.id, sent.version, note).await?;
            let confirmed = vec![
                take_over(&people.hospital),
                order(patient.workup, today, responsible),
                FindingEvent::ScheduleWorkup { date: today, site: Some(appointment.into()) },
                FindingEvent::CompleteWorkup { summary: Some(summary.into()) },
                FindingEvent::RecordOutcome {
                    outcome: Outcome::ConfirmedMalignant,
                    confirmed_by: Some(ConfirmedBy::Pathology),
                    diagnosis: Some(diagnosis.into()),
                    date: today,
                },
            ];
            work_up(pool, &people.hospital, levels, id, confirmed).await?;
        }
        Story::Declined { reason } => {
            let event = ReferralEvent::Decline { reason: reason.into() };
            referral::record(pool, &people.hospital, sent.id, sent.version, event).await?;
        }
        Story::Withdrawn { reason, responsible } => {
            let event = ReferralEvent::Withdraw { reason: reason.into() };
            referral::record(pool, &people.clinic, sent.id, sent.version, event).await?;
            work_up(pool, &people.clinic, levels, id, vec![order(patient.workup, today, responsible)]).await?;
        }
    }
    Ok(())
}

/// The patient's screening CT, dated the day it was taken, stored at the clinic; returns its
/// series folder (with `truth.json`).
async fn store_scan(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    patient: &Referred,
) -> anyhow::Result<std::path::PathBuf> {
    let day = OffsetDateTime::now_utc().date() - Duration::days(patient.days_ago);
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-referral"));
    options.seed = patient.seed;
    // Small phantoms, as the follow-up demo's: quick on the first start.
    options.rows = 128;
    options.slices = Some(48);
    options.lesions = vec![patient.lesion.parse()?];
    options.identity = elysium_phantom::PatientIdentity {
        patient_id: Some(patient.patient_id.to_owned()),
        name: Some(patient.name.to_owned()),
        birth_date: Some(patient.birth_date.to_owned()),
        study_date: Some(dicom_date(day)),
        accession: Some(format!("RC{}", patient.seed)),
    };
    let dirs = super::store_phantom(pool, ingestor, options, CLINIC).await?;
    dirs.into_iter().next().context("the phantom's series")
}

fn dicom_date(day: Date) -> String {
    format!("{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day())
}

/// The hospital's coordinator accepts the referral with a note.
async fn accept(pool: &sqlx::PgPool, hospital: &Caller, id: i64, version: i32, note: &str) -> anyhow::Result<()> {
    let event = ReferralEvent::Accept { note: Some(note.to_owned()) };
    referral::record(pool, hospital, id, version, event).await?;
    Ok(())
}

/// The accepting coordinator takes the finding on: it was assigned to the clinic's coordinator,
/// who reviewed it, and assignments go to people of the site that works it up.
fn take_over(hospital: &Caller) -> FindingEvent {
    FindingEvent::Assign { assignee: Some(hospital.user.username.clone()) }
}

fn order(modality: WorkupModality, today: Date, responsible: &str) -> FindingEvent {
    FindingEvent::OrderWorkup { modality, due_date: today + Duration::days(14), responsible: Some(responsible.into()) }
}

/// Records `events` on finding `id` in order, as `caller`, through the follow-up service.
async fn work_up(
    pool: &sqlx::PgPool,
    caller: &Caller,
    levels: &ServiceLevels,
    id: i64,
    events: Vec<FindingEvent>,
) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let mut version = elysium_db::findings::get(&mut conn, id, None, false).await?.context("demo finding")?.version;
    drop(conn);
    for event in events {
        version = followup::record(pool, caller, levels, id, version, event).await?.version;
    }
    Ok(())
}
