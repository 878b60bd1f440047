//! Demo mode: a living program for a newcomer. Demo sites and one user per role, all with the
//! demo password. Idempotent: running it again resets the demo users' passwords and roles.

pub mod board;
pub mod bursts;
pub mod case_referral;
pub mod followup;
pub mod governance;
pub mod lesions;
pub mod longitudinal;
pub mod program;
pub mod referral;

use anyhow::Context;
use app::domain::roles::Role;
use serde_json::json;

use crate::auth::password::{Hasher, Password};

pub const SITES: &[(&str, &str)] = &[("DEMO-GH", "Demo General Hospital"), ("DEMO-RC", "Riverside Clinic")];

/// (username, display name, roles, site codes)
pub const USERS: &[(&str, &str, &[Role], &[&str])] = &[
    ("admin", "Ada Admin", &[Role::Admin], &["DEMO-GH", "DEMO-RC"]),
    ("coordinator", "Cora Coordinator", &[Role::Coordinator], &["DEMO-GH"]),
    // The community clinic's coordinator, who refers findings up to the hospital.
    ("coordinator-rc", "Li Na 李娜", &[Role::Coordinator], &["DEMO-RC"]),
    ("surgeon", "Sam Surgeon", &[Role::Surgeon], &["DEMO-GH"]),
    // A board decision is locked by two signatures (the default quorum).
    ("surgeon2", "Sid Surgeon", &[Role::Surgeon], &["DEMO-GH"]),
    ("radiologist", "Ravi Radiologist", &[Role::Radiologist], &["DEMO-GH", "DEMO-RC"]),
];

/// Demo patients: (seed, lesions, contrast, site). Their IDs are `PH-<seed>-0001`.
const PHANTOMS: &[(u64, &[&str], bool, &str)] = &[
    (2601, &["liver:25"], false, "DEMO-GH"),
    (2602, &["pancreas:20"], false, "DEMO-GH"),
    (2603, &["colorectal:30", "lung:12"], false, "DEMO-GH"),
    (2604, &[], true, "DEMO-RC"),
];
const PHANTOM_ROWS: u16 = 256;
/// Studies left to the screening model alone (no follow-up is seeded for them): phantoms with
/// one lesion each, in different organs, that the active reference model (0.2.0) detects, at the
/// 128 rows it was trained on, so that the demo's worklist has findings the model raised itself,
/// each with the key slice and location its heatmap gave. Their seeds are outside the model's
/// training and held-out ranges. (seed, lesion, site)
const SCREENING_SHOWCASE: &[(u64, &str, &str)] = &[
    (4_201, "lung:30", "DEMO-GH"),
    (4_202, "liver:35", "DEMO-GH"),
    (4_203, "stomach:30", "DEMO-RC"),
    (4_204, "esophagus:30", "DEMO-GH"),
];
const SHOWCASE_ROWS: u16 = 128;

/// Synthetic CT studies for the demo: generated once under the data folder, then stored
/// through the same ingest path as STOW-RS. Skipped when they are already stored.
pub async fn seed_images(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    if elysium_db::images::count_studies_with_patient_prefix(pool, "PH-26").await? < PHANTOMS.len() as i64 {
        println!("Generating and storing {} synthetic CT studies for the demo…", PHANTOMS.len());
        for (seed, lesions, contrast, site) in PHANTOMS {
            let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-phantoms"));
            options.seed = *seed;
            options.rows = PHANTOM_ROWS;
            options.contrast = *contrast;
            options.lesions = lesions.iter().map(|l| l.parse()).collect::<Result<_, _>>()?;
            store_phantom(pool, ingestor, options, site).await?;
        }
    }
    seed_demographics_mismatch(pool, ingestor, data_dir).await?;
    seed_chinese_patient(pool, ingestor, data_dir).await?;
    for (seed, lesion, site) in SCREENING_SHOWCASE {
        if elysium_db::images::count_studies_with_patient_prefix(pool, &format!("PH-{seed}-")).await? > 0 {
            continue;
        }
        // Outside `demo-phantoms`: the follow-up demo seeds findings from the truth files there.
        let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-screening"));
        options.seed = *seed;
        options.rows = SHOWCASE_ROWS;
        options.lesions = vec![lesion.parse()?];
        store_phantom(pool, ingestor, options, site).await?;
    }
    Ok(())
}

/// A patient of the Zhejiang programme whose name arrives in all three DICOM groups
/// (alphabetic, ideographic, phonetic), as hospitals there send it: the pages show
/// `张伟 (Zhang Wei)`, and QIDO-RS returns the groups.
async fn seed_chinese_patient(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    const PATIENT_ID: &str = "PH-ZJ-0001";
    if elysium_db::images::count_studies_with_patient_prefix(pool, PATIENT_ID).await? > 0 {
        return Ok(());
    }
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-chinese"));
    options.seed = 2_880;
    options.rows = 64;
    options.slices = Some(60);
    options.identity = elysium_phantom::PatientIdentity {
        patient_id: Some(PATIENT_ID.into()),
        name: Some("Zhang^Wei=张^伟=zhang^wei".into()),
        birth_date: Some("19580612".into()),
        ..Default::default()
    };
    store_phantom(pool, ingestor, options, "DEMO-RC").await?;
    Ok(())
}

/// The patient who comes back with a record from another system: a second study of the first
/// demo patient (same site, same patient ID and birth date) whose request gave only an initial
/// for the given name. It is filed under the patient and raises a demographics mismatch for a
/// coordinator to resolve; the patient is not renamed.
async fn seed_demographics_mismatch(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let (seed, _, _, site) = PHANTOMS[0];
    let patient_id = format!("PH-{seed}-0001");
    if elysium_db::images::count_studies_with_patient_prefix(pool, &patient_id).await? != 1 {
        return Ok(());
    }
    let filter =
        elysium_db::images::StudyFilter { patient_id: Some(patient_id.clone()), limit: 1, ..Default::default() };
    let first = elysium_db::images::studies(pool, &filter).await?.into_iter().next().context("the first demo study")?;
    let stored_name = first.patient_name.context("the first demo patient has a name")?;
    let (family, given) = stored_name.split_once('^').unwrap_or((stored_name.as_str(), ""));
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-mismatch"));
    options.seed = seed + 10_000;
    options.rows = 64;
    options.slices = Some(60);
    options.identity = elysium_phantom::PatientIdentity {
        patient_id: Some(patient_id),
        name: Some(format!("{family}^{}.", given.chars().next().unwrap_or('X'))),
        birth_date: first
            .patient_birth_date
            .map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())),
        ..Default::default()
    };
    store_phantom(pool, ingestor, options, site).await?;
    Ok(())
}

/// Generates the phantom series `options` describes and stores them at `site` through the
/// ingest path, audited as demo images; returns their folders (with `truth.json`).
async fn store_phantom(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    options: elysium_phantom::PhantomOptions,
    site: &str,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    store_staged_phantom(pool, ingestor, options, elysium_phantom::StagingOptions::default(), site).await
}

/// [`store_phantom`] with staging findings (regional nodes, distant lesions, invasion).
async fn store_staged_phantom(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    options: elysium_phantom::PhantomOptions,
    staging: elysium_phantom::StagingOptions,
    site: &str,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let report = tokio::task::spawn_blocking(move || elysium_phantom::generate_staged(&options, &staging)).await??;
    let mut conn = pool.acquire().await?;
    let site_id = elysium_db::sites::by_code(&mut conn, site).await?.context("demo sites are seeded first")?.id;
    drop(conn);
    let received = crate::ingest::Received::new(crate::ingest::Via::Demo, site_id);
    let dirs: Vec<_> = report.series.iter().map(|s| s.dir.clone()).collect();
    let summary = crate::ingest::cli::ingest_paths(ingestor, &dirs, &received, 4).await?;
    let template = app::service::Audit::anonymous("demo.images", None, None);
    crate::ingest::audit::record_batch(pool, &template, &summary.outcomes).await?;
    Ok(dirs)
}

pub async fn seed(pool: &sqlx::PgPool, hasher: &Hasher, password: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let mut site_ids = Vec::new();
    for (code, name) in SITES {
        site_ids.push((*code, elysium_db::sites::ensure(&mut tx, code, name).await?.id));
    }
    for (username, display_name, roles, sites) in USERS {
        let hash = hasher.hash(Password::new(password.to_owned())).await?;
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        let sites: Vec<uuid::Uuid> =
            site_ids.iter().filter(|(code, _)| sites.contains(code)).map(|(_, id)| *id).collect();
        elysium_db::users::upsert_demo(&mut tx, username, display_name, &hash, &roles, &sites).await?;
    }
    app::service::Audit::anonymous("demo.seed", None, None)
        .detail(json!({ "users": USERS.iter().map(|u| u.0).collect::<Vec<_>>() }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
