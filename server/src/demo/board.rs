//! Demo tumour board: patients whose phantoms carry what staging looks at (enlarged regional
//! nodes, a lesion invading the chest wall, a liver metastasis), referred to the board through
//! the follow-up service, measured on their images by the image measurement (so the AI's
//! proposals come from the pixels, not from typed-in numbers), then reviewed, signed and one of
//! them amended by the demo surgeons through the board service. A larynx case is opened
//! directly, as ENT would. Two meetings: one held last week with the decided cases, one in
//! three days with the pending ones.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use app::domain::followup::{FindingStatus, ServiceLevels};
use app::domain::mdt::CategoryReview;
use app::model::mdt::{NewCaseRequest, NewMeetingRequest, ReviewRequest, SignRequest, TreatmentRequest};
use app::service::Caller;
use app::service::mdt::{BoardSettings, cases, meetings, review};
use object_store::ObjectStore;
use time::{Duration, OffsetDateTime};

use super::followup::{DemoUsers, demo_users, findings_from_truth, replay};

/// What the board does with a case in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Left for the upcoming meeting.
    Pending,
    /// Reviewed and signed once (one more signature locks it).
    OneSignature,
    /// Reviewed (with these overrides) and signed by the quorum.
    Decided,
    /// Decided, then amended with a reason and signed again.
    Amended,
}

struct BoardPatient {
    seed: u64,
    lesion: &'static str,
    nodes: &'static [&'static str],
    distant: &'static [&'static str],
    invasion: &'static [&'static str],
    outcome: Outcome,
    /// The board's overrides: (category, value, reason).
    overrides: &'static [(&'static str, &'static str, &'static str)],
    recommendation: &'static str,
}

const PATIENTS: &[BoardPatient] = &[
    BoardPatient {
        seed: 2650,
        lesion: "lung:34",
        nodes: &["lung:hilar:14", "lung:mediastinal:6"],
        distant: &[],
        invasion: &[],
        outcome: Outcome::Decided,
        overrides: &[],
        recommendation: "upfront_resection",
    },
    BoardPatient {
        seed: 2651,
        lesion: "lung:28",
        nodes: &[],
        distant: &["liver:18"],
        invasion: &["lung:chest_wall"],
        outcome: Outcome::Amended,
        overrides: &[],
        recommendation: "systemic_therapy",
    },
    BoardPatient {
        seed: 2652,
        lesion: "pancreas:26",
        nodes: &["pancreas:regional:12"],
        distant: &[],
        invasion: &[],
        outcome: Outcome::Decided,
        overrides: &[("n", "N0", "EUS-FNA of the node: reactive, no malignancy")],
        recommendation: "neoadjuvant_chemotherapy_then_surgery",
    },
    BoardPatient {
        seed: 2653,
        lesion: "kidney:45",
        nodes: &[],
        distant: &[],
        invasion: &[],
        outcome: Outcome::OneSignature,
        overrides: &[],
        recommendation: "upfront_resection",
    },
    BoardPatient {
        seed: 2654,
        lesion: "liver:32",
        nodes: &[],
        distant: &[],
        invasion: &[],
        outcome: Outcome::Pending,
        overrides: &[],
        recommendation: "upfront_resection",
    },
];

/// Rows of the board's phantoms (the image measurement's tolerances are stated for these).
const ROWS: u16 = 128;

/// The board's scans are this many days old on the day the demo is seeded (their findings were
/// detected then), so that they fall in the programme's default period and its days from scan
/// to board decision and to treatment are the demo's own.
const SCANNED_DAYS_AGO: i64 = 40;

/// [`SCANNED_DAYS_AGO`] as a DICOM date.
fn scan_date() -> String {
    let day = OffsetDateTime::now_utc().date() - Duration::days(SCANNED_DAYS_AGO);
    format!("{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Seeds the board once: skipped when any meeting exists.
pub async fn seed(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    levels: &ServiceLevels,
    settings: &BoardSettings,
    models: &crate::staging_model::StagingModels,
) -> anyhow::Result<()> {
    let meetings: i64 = sqlx::query_scalar("select count(*) from mdt_meeting").fetch_one(pool).await?;
    if meetings > 0 {
        return Ok(());
    }
    println!("Generating the demo tumour board ({} patients)…", PATIENTS.len() + 1);
    let users = demo_users(pool).await?;
    let store = ingestor.store().clone();
    let mut held = Vec::new();
    let mut upcoming = Vec::new();
    for (index, patient) in PATIENTS.iter().enumerate() {
        let case = referred_case(pool, ingestor, &store, models, data_dir, levels, &users, index, patient)
            .await
            .with_context(|| format!("demo board patient {}", patient.seed))?;
        act(pool, &users, settings, case, patient).await.with_context(|| format!("demo board case {case}"))?;
        match patient.outcome {
            Outcome::Decided | Outcome::Amended => held.push(case),
            Outcome::Pending | Outcome::OneSignature => upcoming.push(case),
        }
    }
    // The follow-up demo's referral (colorectal) waits for the next meeting too.
    let referred: Vec<i64> = sqlx::query_scalar(
        "select id from mdt_case where finding_id is not null and status = 'awaiting_review' order by id",
    )
    .fetch_all(pool)
    .await?;
    for case in referred {
        if !upcoming.contains(&case) && !held.contains(&case) {
            if let Err(error) = crate::board::measure_case(pool, &store, models, case).await {
                tracing::warn!(%error, case, "the demo case's images could not be measured");
            }
            upcoming.push(case);
        }
    }
    held.push(larynx_case(pool, ingestor, data_dir, &users, settings).await.context("demo larynx case")?);

    let coordinator = Caller::new(users.coordinator.clone(), None);
    let now = OffsetDateTime::now_utc();
    let at = |days: i64| {
        let day = (now + Duration::days(days)).date();
        format!("{:04}-{:02}-{:02}T08:00", day.year(), u8::from(day.month()), day.day())
    };
    for (title, starts_at, agenda) in
        [("Thoracic and hepatobiliary tumour board", at(-7), &held), ("Tumour board", at(3), &upcoming)]
    {
        let request = NewMeetingRequest {
            title: title.into(),
            starts_at,
            site: Some("DEMO-GH".into()),
            chair: Some("surgeon".into()),
            attendees: vec!["surgeon".into(), "surgeon2".into(), "radiologist".into(), "coordinator".into()],
        };
        let meeting = meetings::create(pool, &coordinator, &request).await?;
        for case in agenda {
            meetings::add_case(pool, &coordinator, meeting.id, *case).await?;
        }
    }
    Ok(())
}

/// Generates and stores the patient's phantom, raises the screening finding from its ground
/// truth, takes it to the board as the coordinator would, and measures the case's images.
#[expect(clippy::too_many_arguments, reason = "the demo's context, passed through once")]
async fn referred_case(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    store: &Arc<dyn ObjectStore>,
    models: &crate::staging_model::StagingModels,
    data_dir: &Path,
    levels: &ServiceLevels,
    users: &DemoUsers,
    index: usize,
    patient: &BoardPatient,
) -> anyhow::Result<i64> {
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-board"));
    options.seed = patient.seed;
    options.rows = ROWS;
    options.lesions = vec![patient.lesion.parse()?];
    options.identity.study_date = Some(scan_date());
    let staging = elysium_phantom::StagingOptions {
        nodes: patient.nodes.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
        distant: patient.distant.iter().map(|d| d.parse()).collect::<Result<_, _>>()?,
        invasion: patient.invasion.iter().map(|i| i.parse()).collect::<Result<_, _>>()?,
    };
    let dirs = super::store_staged_phantom(pool, ingestor, options, staging, "DEMO-GH").await?;
    let dir = dirs.first().context("the phantom's series")?;
    let finding =
        findings_from_truth(pool, dir, 100 + index, SCANNED_DAYS_AGO).await?.into_iter().next().context("a finding")?;
    let id = app::service::followup::create(pool, levels, finding, "demo-screening").await?.context("the study")?;
    replay(pool, levels, users, id, FindingStatus::ReferredToMdt).await?;
    let case: i64 =
        sqlx::query_scalar("select id from mdt_case where finding_id = $1").bind(id).fetch_one(pool).await?;
    if let Err(error) = crate::board::measure_case(pool, store, models, case).await {
        // The proposal from the screening lesion stays; the demo goes on.
        tracing::warn!(%error, case, "the demo case's images could not be measured");
    }
    Ok(case)
}

async fn current_version(pool: &sqlx::PgPool, case: i64) -> anyhow::Result<i32> {
    Ok(sqlx::query_scalar("select version from mdt_case where id = $1").bind(case).fetch_one(pool).await?)
}

fn review_of(patient: &BoardPatient, version: i32, proposed: [Option<String>; 3]) -> ReviewRequest {
    let category = |name: &str, proposed: &Option<String>| match patient.overrides.iter().find(|(c, _, _)| *c == name) {
        Some((_, value, reason)) if proposed.as_deref() != Some(*value) => {
            CategoryReview::Override { category: (*value).into(), reason: (*reason).into() }
        }
        Some(_) => CategoryReview::accept(),
        None if proposed.is_some() => CategoryReview::accept(),
        // The images did not decide it: the board records what the work-up showed.
        None => CategoryReview::Override {
            category: if name == "m" { "M0".into() } else { "N0".into() },
            reason: "Work-up: no disease seen".into(),
        },
    };
    let [t, n, m] = proposed;
    ReviewRequest {
        expected_version: version,
        t: category("t", &t),
        n: category("n", &n),
        m: category("m", &m),
        recommendation: patient.recommendation.into(),
        note: Some("Discussed at the board with the images".into()),
        guideline_refs: Some("NHC 2022 guidelines; NCCN".into()),
        amendment_reason: None,
        histology: None,
        subsite: None,
    }
}

/// Reviews and signs the case as the patient's demo outcome says.
async fn act(
    pool: &sqlx::PgPool,
    users: &DemoUsers,
    settings: &BoardSettings,
    case: i64,
    patient: &BoardPatient,
) -> anyhow::Result<()> {
    if patient.outcome == Outcome::Pending {
        return Ok(());
    }
    let surgeon = Caller::new(users.surgeon.clone(), None);
    let surgeon2 = Caller::new(users.surgeon2.clone(), None);
    let proposal: (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select t, n, m from mdt_proposal where case_id = $1 order by version desc limit 1")
            .bind(case)
            .fetch_one(pool)
            .await?;
    let proposed = [proposal.0, proposal.1, proposal.2];
    let mut request = review_of(patient, current_version(pool, case).await?, proposed.clone());
    if request.t == CategoryReview::accept() && proposed[0].is_none() {
        anyhow::bail!("no T proposed");
    }
    review::review(pool, &surgeon, case, &request).await?;
    let sign = async |caller: &Caller| -> anyhow::Result<()> {
        let version = current_version(pool, case).await?;
        review::sign(pool, caller, settings, case, &SignRequest { expected_version: version }).await?;
        Ok(())
    };
    sign(&surgeon).await?;
    if patient.outcome == Outcome::OneSignature {
        return Ok(());
    }
    sign(&surgeon2).await?;
    if patient.outcome == Outcome::Decided {
        // The recommended treatment starts on the day of the demo (the board met after the
        // scan), so the programme shows days from scan to treatment.
        let request = TreatmentRequest {
            expected_version: current_version(pool, case).await?,
            treatment: patient.recommendation.into(),
            started_on: app::format::date(OffsetDateTime::now_utc().date()),
            deviation_reason: None,
        };
        review::record_treatment(pool, &surgeon, case, &request).await?;
    }
    if patient.outcome == Outcome::Amended {
        request.expected_version = current_version(pool, case).await?;
        request.recommendation = "best_supportive_care".into();
        request.note = Some("The patient's performance status fell (ECOG 3) before systemic therapy started".into());
        request.amendment_reason = Some("Performance status changed after the board".into());
        review::review(pool, &surgeon, case, &request).await?;
        sign(&surgeon).await?;
        sign(&surgeon2).await?;
    }
    Ok(())
}

/// A patient from the ENT clinic with biopsy-proven glottic carcinoma: a staging CT without a
/// screening finding, the case opened directly by the surgeon and decided by the board.
async fn larynx_case(
    pool: &sqlx::PgPool,
    ingestor: &crate::ingest::Ingestor,
    data_dir: &Path,
    users: &DemoUsers,
    settings: &BoardSettings,
) -> anyhow::Result<i64> {
    let mut options = elysium_phantom::PhantomOptions::new(data_dir.join("demo-board"));
    options.seed = 2660;
    options.rows = ROWS;
    options.slices = Some(48);
    options.identity.study_date = Some(scan_date());
    let dirs = super::store_phantom(pool, ingestor, options, "DEMO-GH").await?;
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dirs.first().context("the series")?.join("truth.json"))?)?;
    let surgeon = Caller::new(users.surgeon.clone(), None);
    let opened = cases::open(
        pool,
        &surgeon,
        &NewCaseRequest {
            patient: None,
            study_uid: truth["study_uid"].as_str().map(str::to_owned),
            cancer: "larynx".into(),
            histology: None,
            subsite: Some("glottic".into()),
            diagnosis: Some("Squamous cell carcinoma of the left vocal cord".into()),
            referral_note: Some(
                "ENT clinic: biopsy-proven glottic squamous cell carcinoma; impaired cord mobility".into(),
            ),
            series_uid: truth["series_uid"].as_str().map(str::to_owned),
        },
    )
    .await?;
    let override_ =
        |category: &str, reason: &str| CategoryReview::Override { category: category.into(), reason: reason.into() };
    let request = ReviewRequest {
        expected_version: opened.version,
        t: override_("T2", "Laryngoscopy: supraglottic extension, impaired vocal cord mobility"),
        n: override_("N0", "Neck CT: no enlarged nodes"),
        m: override_("M0", "Chest CT: clear"),
        recommendation: "definitive_radiotherapy".into(),
        note: Some("Organ preservation; voice outcome discussed with the patient".into()),
        guideline_refs: Some("NCCN Head and Neck Cancers, glottic larynx".into()),
        amendment_reason: None,
        histology: None,
        subsite: None,
    };
    review::review(pool, &surgeon, opened.id, &request).await?;
    for user in [&users.surgeon, &users.surgeon2] {
        let version = current_version(pool, opened.id).await?;
        review::sign(
            pool,
            &Caller::new(user.clone(), None),
            settings,
            opened.id,
            &SignRequest { expected_version: version },
        )
        .await?;
    }
    Ok(opened.id)
}
