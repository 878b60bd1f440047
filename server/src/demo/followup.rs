//! Demo follow-up program: findings in every state of the lifecycle, some overdue, so that the
//! worklist looks like a running program on the first visit. Each finding sits on a synthetic CT
//! study with a real lesion (its key slice and location come from the phantom's ground truth),
//! and every state is reached by replaying real events through the follow-up service, as demo
//! users, so the histories are genuine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use app::domain::followup::event::{
    ConfirmedBy, ContactChannel, ContactResult, DismissReason, Outcome, WorkupModality,
};
use app::domain::followup::{FindingEvent, FindingStatus, ServiceLevels};
use app::domain::organs::Organ;
use app::domain::roles::Role;
use app::model::{SessionUser, SiteRef};
use app::service::followup as service;
use time::{Duration, OffsetDateTime};

/// The program's patients: (seed, organ lesion, slices, site, state to reach, days since detection).
/// Small phantoms (128 rows) keep the first start quick; breast needs a longer scan to be covered.
const PROGRAM: &[(u64, &str, u32, &str, FindingStatus, i64)] = &[
    (2610, "colorectal:20", 48, "DEMO-GH", FindingStatus::New, 0),
    (2611, "lung:14", 48, "DEMO-GH", FindingStatus::New, 6),
    (2612, "pancreas:18", 48, "DEMO-RC", FindingStatus::New, 1),
    (2613, "liver:22", 48, "DEMO-GH", FindingStatus::InReview, 3),
    (2614, "kidney:24", 48, "DEMO-GH", FindingStatus::InReview, 12),
    (2615, "stomach:25", 48, "DEMO-GH", FindingStatus::WorkupOrdered, 8),
    (2616, "esophagus:15", 48, "DEMO-RC", FindingStatus::WorkupOrdered, 40),
    (2617, "colorectal:25", 48, "DEMO-GH", FindingStatus::WorkupScheduled, 15),
    (2618, "lung:16", 48, "DEMO-GH", FindingStatus::WorkupDone, 28),
    (2619, "liver:20", 48, "DEMO-GH", FindingStatus::WorkupDone, 70),
    (2620, "pancreas:22", 48, "DEMO-GH", FindingStatus::ConfirmedMalignant, 35),
    (2621, "kidney:20", 48, "DEMO-GH", FindingStatus::Benign, 30),
    (2622, "stomach:20", 48, "DEMO-RC", FindingStatus::NoLesion, 33),
    (2623, "colorectal:30", 48, "DEMO-GH", FindingStatus::ReferredToMdt, 45),
    (2624, "lung:12", 48, "DEMO-GH", FindingStatus::Dismissed, 5),
    (2625, "esophagus:18", 48, "DEMO-GH", FindingStatus::Declined, 20),
    (2626, "liver:25", 48, "DEMO-GH", FindingStatus::LostToFollowup, 50),
    (2700, "breast:18", 80, "DEMO-GH", FindingStatus::WorkupOrdered, 4),
];

/// Seeds the program once: skipped when any finding exists.
pub async fn seed(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    levels: &ServiceLevels,
) -> anyhow::Result<()> {
    if elysium_db::findings::count(pool).await? > 0 {
        return Ok(());
    }
    println!("Generating the demo follow-up program ({} patients)…", PROGRAM.len());
    let users = demo_users(pool).await?;
    // The image demo's lesion studies get fresh findings too (detected today, status new).
    let mut cases: Vec<(PathBuf, FindingStatus, i64)> = Vec::new();
    for dir in truth_dirs(&data_dir.join("demo-phantoms"))? {
        cases.push((dir, FindingStatus::New, 0));
    }
    for (seed, lesion, slices, site, state, days_ago) in PROGRAM {
        let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-program"));
        options.seed = *seed;
        options.rows = 128;
        options.slices = Some(*slices);
        options.lesions = vec![lesion.parse()?];
        let dirs = super::store_phantom(pool, ingestor, options, site).await?;
        cases.extend(dirs.into_iter().map(|d| (d, *state, *days_ago)));
    }
    for (index, (dir, state, days_ago)) in cases.iter().enumerate() {
        for finding in findings_from_truth(pool, dir, index, *days_ago).await? {
            let Some(id) = service::create(pool, levels, finding, "demo-screening").await? else { continue };
            replay(pool, levels, &users, id, *state).await.with_context(|| format!("demo finding #{id} to {state}"))?;
        }
    }
    Ok(())
}

/// Every `truth.json` folder under `root` whose phantom has lesions.
fn truth_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    let Ok(patients) = std::fs::read_dir(root) else { return Ok(dirs) };
    for patient in patients.flatten() {
        for series in std::fs::read_dir(patient.path())?.flatten() {
            let truth = series.path().join("truth.json");
            if truth.is_file() {
                let text = std::fs::read_to_string(&truth)?;
                let value: serde_json::Value = serde_json::from_str(&text)?;
                if value["lesions"].as_array().is_some_and(|l| !l.is_empty()) {
                    dirs.push(series.path());
                }
            }
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// One finding per lesion in the phantom's ground truth, as a screening model would raise it:
/// the lesion's class well above the threshold, the key slice through its centre.
pub(crate) async fn findings_from_truth(
    pool: &sqlx::PgPool,
    dir: &Path,
    index: usize,
    days_ago: i64,
) -> anyhow::Result<Vec<elysium_db::findings::NewFinding>> {
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json"))?)?;
    let study_uid = truth["study_uid"].as_str().context("truth.json: study_uid")?.to_owned();
    let series_uid = truth["series_uid"].as_str().context("truth.json: series_uid")?.to_owned();
    let instances = elysium_db::images::instances_of_series(pool, &study_uid, &series_uid).await?;
    let geometry = &truth["geometry"];
    let spacing = geometry["pixel_spacing_mm"][0].as_f64().unwrap_or(1.0);
    let size = [geometry["columns"].as_f64().unwrap_or(512.0), geometry["rows"].as_f64().unwrap_or(512.0)];
    let mut findings = Vec::new();
    for (n, lesion) in truth["lesions"].as_array().into_iter().flatten().enumerate() {
        // The phantom names anatomy ("colon"); screening names the cancer's organ ("colorectal"):
        // the lesion's class says which.
        let class = lesion["class"].as_str().unwrap_or_default();
        let by_name = lesion["organ"].as_str().and_then(|o| o.parse::<Organ>().ok());
        let Some(organ) = by_name.or_else(|| Organ::ALL.into_iter().find(|o| o.classes().contains(&class))) else {
            continue;
        };
        let class = if organ.classes().contains(&class) { class } else { organ.classes()[0] };
        // The ground truth's voxel centre is (slice, row, column).
        let voxel = &lesion["centre_voxel"];
        let slice = voxel[0].as_f64().unwrap_or(0.0).round().max(0.0) as usize;
        let diameter = lesion["diameter_mm"].as_f64().unwrap_or(10.0);
        // Deterministic, varied probabilities above a 0.5 threshold.
        let probability = 0.62 + ((index * 7 + n * 3) % 37) as f64 / 100.0;
        let mut class_probabilities = serde_json::Map::new();
        for c in organ.classes() {
            let p = if *c == class { probability } else { (1.0 - probability) / organ.classes().len() as f64 };
            class_probabilities.insert((*c).to_owned(), serde_json::json!((p * 1000.0).round() / 1000.0));
        }
        findings.push(elysium_db::findings::NewFinding {
            study_uid: study_uid.clone(),
            series_uid: Some(series_uid.clone()),
            organ: organ.as_str().to_owned(),
            class_label: class.to_owned(),
            probability: (probability * 1000.0).round() / 1000.0,
            threshold: 0.5,
            class_probabilities: class_probabilities.into(),
            model_name: "reference-screening".into(),
            model_version: "0.1.0".into(),
            location: Some(serde_json::json!({
                "sop_instance_uid": instances.get(slice).map(|i| i.sop_instance_uid.clone()),
                "slice_index": slice,
                "center_mm": lesion["centre_mm"],
                "diameter_mm": diameter,
                "pixel": [voxel[2], voxel[1]],
                "radius_px": diameter / 2.0 / spacing,
                "image_size": size,
            })),
            detected_at: OffsetDateTime::now_utc() - Duration::days(days_ago),
            due_date: None,
            screening_result_ref: None,
        });
    }
    Ok(findings)
}

pub(crate) struct DemoUsers {
    pub admin: SessionUser,
    pub coordinator: SessionUser,
    /// The coordinator of the community clinic (DEMO-RC), who refers findings on.
    pub coordinator_rc: SessionUser,
    pub radiologist: SessionUser,
    pub surgeon: SessionUser,
    pub surgeon2: SessionUser,
}

pub(crate) async fn demo_users(pool: &sqlx::PgPool) -> anyhow::Result<DemoUsers> {
    let users = elysium_db::users::list(pool).await?;
    let find = |name: &str| -> anyhow::Result<SessionUser> {
        let u = users.iter().find(|u| u.username == name).with_context(|| format!("demo user {name}"))?;
        Ok(SessionUser {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.iter().filter_map(|r| r.parse::<Role>().ok()).collect(),
            sites: u
                .site_ids
                .iter()
                .zip(&u.site_codes)
                .zip(&u.site_names)
                .map(|((id, code), name)| SiteRef { id: *id, code: code.clone(), name: name.clone() })
                .collect(),
            language: None,
            must_change_password: false,
        })
    };
    Ok(DemoUsers {
        admin: find("admin")?,
        coordinator: find("coordinator")?,
        coordinator_rc: find("coordinator-rc")?,
        radiologist: find("radiologist")?,
        surgeon: find("surgeon")?,
        surgeon2: find("surgeon2")?,
    })
}

/// The events that take a new finding to `target`, in order.
fn script(target: FindingStatus) -> Vec<FindingEvent> {
    let today = OffsetDateTime::now_utc().date();
    let review = FindingEvent::StartReview;
    let order = FindingEvent::OrderWorkup {
        modality: WorkupModality::ContrastCt,
        due_date: today + Duration::days(14),
        responsible: Some("Dr. Demo Gastro".into()),
    };
    let schedule =
        FindingEvent::ScheduleWorkup { date: today + Duration::days(7), site: Some("Imaging, level 2".into()) };
    let complete = FindingEvent::CompleteWorkup { summary: Some("Examination performed; report received.".into()) };
    let outcome = |outcome, confirmed_by, diagnosis: &str| FindingEvent::RecordOutcome {
        outcome,
        confirmed_by,
        diagnosis: Some(diagnosis.to_owned()).filter(|d| !d.is_empty()),
        date: today,
    };
    let no_answer = FindingEvent::RecordContactAttempt {
        channel: ContactChannel::Phone,
        result: ContactResult::NoAnswer,
        note: None,
    };
    let done = vec![review.clone(), order.clone(), schedule.clone(), complete.clone()];
    let with = |mut events: Vec<FindingEvent>, more: &[FindingEvent]| {
        events.extend_from_slice(more);
        events
    };
    match target {
        FindingStatus::New => vec![],
        FindingStatus::InReview => vec![review],
        FindingStatus::WorkupOrdered => vec![review, order],
        FindingStatus::WorkupScheduled => vec![review, order, schedule],
        FindingStatus::WorkupDone => done,
        FindingStatus::ConfirmedMalignant => {
            with(done, &[outcome(Outcome::ConfirmedMalignant, Some(ConfirmedBy::Pathology), "Adenocarcinoma")])
        }
        FindingStatus::Benign => with(done, &[outcome(Outcome::Benign, None, "Simple cyst")]),
        FindingStatus::NoLesion => with(done, &[outcome(Outcome::NoLesion, None, "")]),
        FindingStatus::ReferredToMdt => with(
            done,
            &[
                outcome(Outcome::ConfirmedMalignant, Some(ConfirmedBy::Pathology), "Adenocarcinoma"),
                FindingEvent::ReferToMdt,
            ],
        ),
        FindingStatus::Dismissed => {
            vec![review, FindingEvent::Dismiss { reason: DismissReason::AiFalsePositive, note: None }]
        }
        FindingStatus::Declined => {
            vec![review, order, FindingEvent::MarkDeclined { note: Some("Prefers to wait.".into()) }]
        }
        FindingStatus::LostToFollowup => {
            vec![review, order, no_answer.clone(), no_answer.clone(), no_answer, FindingEvent::MarkLost]
        }
    }
}

/// Plays the script as the radiologist (who works at both demo sites), except that the order
/// is fitted to the organ, so every step passes the same rules as a person's would.
pub(crate) async fn replay(
    pool: &sqlx::PgPool,
    levels: &ServiceLevels,
    users: &DemoUsers,
    id: i64,
    target: FindingStatus,
) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let finding = elysium_db::findings::get(&mut conn, id, None, false).await?.context("demo finding")?;
    drop(conn);
    let organ: Organ = finding.organ.parse()?;
    let actor = if finding.site_code.as_deref() == Some("DEMO-GH") && target != FindingStatus::Dismissed {
        &users.coordinator
    } else {
        &users.radiologist
    };
    let caller = app::service::Caller::new(actor.clone(), None);
    let mut version = finding.version;
    for event in script(target) {
        let event = match event {
            FindingEvent::OrderWorkup { due_date, responsible, .. } => {
                FindingEvent::OrderWorkup { modality: workup_for(organ), due_date, responsible }
            }
            other => other,
        };
        version = service::record(pool, &caller, levels, id, version, event).await?.version;
    }
    Ok(())
}

/// The work-up a coordinator would order first for each organ.
pub(crate) fn workup_for(organ: Organ) -> WorkupModality {
    match organ {
        Organ::Esophagus | Organ::Stomach => WorkupModality::Endoscopy,
        Organ::Colorectal => WorkupModality::Colonoscopy,
        Organ::Breast => WorkupModality::MammographyUltrasound,
        Organ::Lung => WorkupModality::PetCt,
        Organ::Liver | Organ::Pancreas | Organ::Kidney => WorkupModality::ContrastMri,
    }
}
