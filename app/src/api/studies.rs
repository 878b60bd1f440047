//! Studies for people: the study list and a study's page. Users see their own sites' studies;
//! administrators see all. Opening a study is a view of a patient record, and is audited.

use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::api::AppError;

/// Rows per page of the study list.
pub const STUDIES_PAGE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyItem {
    pub study_uid: String,
    pub patient_id: String,
    /// Who assigned `patient_id` (the patient is this pair, never the ID alone).
    pub patient_authority: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<String>,
    pub study_date: Option<String>,
    pub accession_number: Option<String>,
    pub description: Option<String>,
    pub site: Option<String>,
    pub modalities: Vec<String>,
    pub series_count: i64,
    pub instance_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesItem {
    pub series_uid: String,
    pub series_number: Option<i32>,
    pub description: Option<String>,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub contrast: Option<String>,
    pub slice_thickness: Option<f64>,
    pub matrix: Option<String>,
    pub instance_count: i32,
    /// The screening eligibility verdict from the series' header and slice count.
    pub eligibility: Option<EligibilityView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibilityView {
    pub eligible: bool,
    pub contrast_phase: String,
    /// What blocks screening.
    pub reasons: Vec<String>,
    /// Caveats of an eligible series.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyWithSeries {
    pub study: StudyItem,
    pub series: Vec<SeriesItem>,
    /// Demographics mismatches of the study's patient (this study's and the patient's other
    /// studies'), open and resolved.
    pub mismatches: Vec<MismatchView>,
}

/// A study that states its patient's name or birth date differently from the patient's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MismatchView {
    pub id: uuid::Uuid,
    pub study_uid: String,
    pub field: crate::domain::identity::DemographicField,
    pub stored_value: String,
    pub received_value: String,
    pub detected_at: String,
    pub resolution: Option<crate::domain::identity::MismatchResolution>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

#[leptos::server(prefix = "/api/fn", endpoint = "studies", input = GetUrl)]
pub async fn list_studies(
    patient_id: Option<String>,
    accession: Option<String>,
    page: Option<i64>,
) -> Result<Vec<StudyItem>, AppError> {
    let user = crate::api::session::ssr::require_user()?;
    let pool = crate::api::session::ssr::pool()?;
    let filter = elysium_db::images::StudyFilter {
        patient_id: patient_id.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
        accession_number: accession.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
        site_ids: user.site_scope(),
        limit: STUDIES_PAGE,
        offset: page.unwrap_or(0).max(0) * STUDIES_PAGE,
        ..Default::default()
    };
    let rows = elysium_db::images::studies(&pool, &filter).await?;
    // The list shows patients' names: each search is audited.
    let mut event = user.audit_event("study.search", "success", crate::api::session::ssr::client_addr());
    event.detail = serde_json::json!({ "patient_id": filter.patient_id, "accession": filter.accession_number, "results": rows.len() });
    crate::service::audit::record(&pool, &event).await?;
    Ok(rows.into_iter().map(ssr::study_item).collect())
}

#[leptos::server(prefix = "/api/fn", endpoint = "study", input = GetUrl)]
pub async fn study_detail(study_uid: String) -> Result<StudyWithSeries, AppError> {
    use crate::api::session::ssr::{client_addr, pool, require_user};

    let user = require_user()?;
    let pool = pool()?;
    let study = ssr::visible_study(&pool, &user, &study_uid).await?;
    let series = elysium_db::images::series_of_study(&pool, &study_uid, None).await?;

    let mut event = user.audit_event("study.view", "success", client_addr());
    event.target_type = Some("study".into());
    event.target_id = Some(study_uid);
    event.patient_id = Some(study.patient_id.clone());
    crate::service::audit::record(&pool, &event).await?;

    let mismatches = crate::service::patients::mismatches_of_patient(&pool, &study.study_uid).await?;
    let mut items = Vec::with_capacity(series.len());
    for s in series {
        let eligibility = ssr::eligibility(&pool, &study.study_uid, &s.series_uid, s.instance_count).await;
        items.push((s, eligibility));
    }
    Ok(StudyWithSeries {
        mismatches,
        study: ssr::study_item(study),
        series: items
            .into_iter()
            .map(|(s, eligibility)| SeriesItem {
                eligibility,
                series_uid: s.series_uid,
                series_number: s.series_number,
                description: s.description,
                modality: s.modality,
                body_part: s.body_part,
                contrast: match (s.contrast_agent, s.contrast_route) {
                    (None, None) => None,
                    (agent, route) => Some([agent, route].into_iter().flatten().collect::<Vec<_>>().join(", ")),
                },
                slice_thickness: s.slice_thickness,
                matrix: s.rows.zip(s.columns).map(|(r, c)| format!("{c} × {r}")),
                instance_count: s.instance_count,
            })
            .collect(),
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{EligibilityView, StudyItem};
    use crate::api::AppError;

    /// The study, if it exists within the user's sites. Outside them a study does not exist, as
    /// far as the user can tell (the same answer as for an unknown UID).
    pub async fn visible_study(
        pool: &sqlx::PgPool,
        user: &crate::api::SessionUser,
        study_uid: &str,
    ) -> Result<elysium_db::images::StudyRow, AppError> {
        elysium_db::images::study_within(pool, study_uid, user.site_scope()).await?.ok_or(AppError::NotFound)
    }

    /// The audit row of a look at a series (the viewer, its slices, its HU read-outs).
    pub fn series_view_event(
        user: &crate::api::SessionUser,
        study: &elysium_db::images::StudyRow,
        series_uid: &str,
    ) -> elysium_db::audit::NewAuditEvent {
        let mut event = user.audit_event("series.view", "success", crate::api::session::ssr::client_addr());
        event.target_type = Some("study".into());
        event.target_id = Some(study.study_uid.clone());
        event.patient_id = Some(study.patient_id.clone());
        event.detail = serde_json::json!({ "series_uid": series_uid });
        event
    }

    /// This process's log of recent views (provided to every server function).
    pub fn views() -> Result<crate::service::audit::ViewLog, AppError> {
        leptos::prelude::use_context::<crate::service::audit::ViewLog>().ok_or(AppError::Internal)
    }

    /// The original bytes of a stored instance.
    pub async fn read_object(key: &str) -> Result<bytes::Bytes, AppError> {
        let store = leptos::prelude::use_context::<std::sync::Arc<dyn object_store::ObjectStore>>()
            .ok_or(AppError::Internal)?;
        let read = async { object_store::ObjectStoreExt::get(&*store, &key.into()).await?.bytes().await };
        read.await.map_err(|error| {
            tracing::error!(%error, "reading a stored instance");
            AppError::Internal
        })
    }

    /// The screening verdict for a series, from one instance's header and the slice count
    /// (geometry problems found when the volume is loaded are added by the screening pipeline).
    pub async fn eligibility(
        pool: &sqlx::PgPool,
        study_uid: &str,
        series_uid: &str,
        slices: i32,
    ) -> Option<EligibilityView> {
        let first =
            elysium_db::images::instances_of_series(pool, study_uid, series_uid).await.ok()?.into_iter().next()?;
        let bytes = read_object(&first.object_key).await.ok()?;
        let slices = usize::try_from(slices).unwrap_or(0);
        tokio::task::spawn_blocking(move || {
            let parsed = elysium_dicom::header::parse(&bytes).ok()?;
            let verdict = elysium_dicom::eligibility::assess(&parsed.header, slices, &[]);
            Some(EligibilityView {
                eligible: verdict.eligible,
                contrast_phase: verdict.contrast_phase.to_string(),
                reasons: verdict.reasons,
                notes: verdict.notes,
            })
        })
        .await
        .ok()
        .flatten()
    }

    /// The unit normal of an ImageOrientationPatient (row × column cosines).
    pub fn normal(orientation: &[f64]) -> Option<[f64; 3]> {
        let [rx, ry, rz, cx, cy, cz] = <[f64; 6]>::try_from(orientation).ok()?;
        let n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        (length > 1e-6).then(|| [n[0] / length, n[1] / length, n[2] / length])
    }

    /// A stored result in brief: the five highest probabilities, the positives, the biomarkers.
    pub fn result_view(r: elysium_db::jobs::ResultRow) -> super::ScreeningResultView {
        let mut top: Vec<(String, f64)> = r.result["tumor_probabilities"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(organ, classes)| {
                classes
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(move |(class, p)| Some((format!("{organ}/{class}"), p.as_f64()?)))
            })
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        top.truncate(5);
        let positives = r.result["positives"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{}/{}", p["organ"].as_str().unwrap_or("?"), p["class"].as_str().unwrap_or("?")))
            .collect();
        let b = &r.result["biomarkers"];
        let hu = |key: &str| b[key].as_f64().map(|v| format!("{v:.0} HU"));
        let mut biomarkers = Vec::new();
        for (label, value) in [
            ("Liver", hu("liver_hu")),
            ("Liver − spleen", hu("liver_minus_spleen_hu")),
            ("Steatosis (liver < 40 HU)", b["steatosis"].as_bool().map(|s| if s { "yes".into() } else { "no".into() })),
            ("L1 trabecular", hu("l1_trabecular_hu")),
            ("Bone density", b["bone_density"].as_str().map(|s| s.replace('_', " "))),
            ("Coronary calcium ≥ 130 HU", b["coronary_calcium_mm3"].as_f64().map(|v| format!("{v:.0} mm³"))),
            ("Aortic calcium ≥ 130 HU", b["aortic_calcium_mm3"].as_f64().map(|v| format!("{v:.0} mm³"))),
        ] {
            if let Some(value) = value {
                biomarkers.push((label.to_owned(), value));
            }
        }
        let stamp = |t: time::OffsetDateTime| {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!("{} {:02}:{:02} UTC", date(Some(t.date())).unwrap_or_default(), t.hour(), t.minute())
        };
        let supersedes = r.superseded_id.map(|id| {
            let on = r.superseded_instances.map(|n| format!(" on {n} instances")).unwrap_or_default();
            let at = r.superseded_at.map(stamp).unwrap_or_default();
            format!("Current result; it supersedes result #{id} of {at}{on}, which is kept.")
        });
        let at = r.created_at.to_offset(time::UtcOffset::UTC);
        super::ScreeningResultView {
            series_uid: r.series_uid,
            model: format!("{} {}", r.model_name, r.model_version),
            provider: r.execution_provider,
            device: r.device,
            top,
            positives,
            biomarkers,
            total_ms: r.timings_ms["total"].as_f64(),
            instances: r.instances,
            supersedes,
            at: format!("{} {:02}:{:02} UTC", date(Some(at.date())).unwrap_or_default(), at.hour(), at.minute()),
        }
    }

    fn date(d: Option<time::Date>) -> Option<String> {
        d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
    }

    pub fn study_item(row: elysium_db::images::StudyRow) -> StudyItem {
        StudyItem {
            study_uid: row.study_uid,
            patient_id: row.patient_id,
            patient_authority: row.patient_authority,
            patient_name: row.patient_name.map(|n| n.replace('^', " ").trim().to_owned()),
            patient_sex: row.patient_sex,
            patient_birth_date: date(row.patient_birth_date),
            study_date: date(row.study_date),
            accession_number: row.accession_number,
            description: row.description,
            site: row.site_code,
            modalities: row.modalities,
            series_count: row.series_count,
            instance_count: row.instance_count,
        }
    }
}

/// One slice of the viewer: its instance and its position along the slice normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewerSlice {
    pub sop_instance_uid: String,
    pub position_mm: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceStack {
    pub study_uid: String,
    pub series_uid: String,
    pub description: Option<String>,
    pub slices: Vec<ViewerSlice>,
}

/// The slices of a series in anatomical order (along the normal of the image orientation).
#[leptos::server(prefix = "/api/fn", endpoint = "series_slices", input = GetUrl)]
pub async fn series_slices(study_uid: String, series_uid: String) -> Result<SliceStack, AppError> {
    use crate::api::session::ssr::{pool, require_user};

    let user = require_user()?;
    let pool = pool()?;
    let study = ssr::visible_study(&pool, &user, &study_uid).await?;
    let series = elysium_db::images::series_of_study(&pool, &study_uid, None).await?;
    let series = series.into_iter().find(|s| s.series_uid == series_uid).ok_or(AppError::NotFound)?;
    // Opening the viewer is the audited view of the series; its slices and HU read-outs are
    // covered by this row (see `service::audit::ViewLog`).
    let event = ssr::series_view_event(&user, &study, &series_uid);
    ssr::views()?.record_opening(&pool, user.id, &format!("series:{series_uid}"), &event).await?;
    let instances = elysium_db::images::instances_of_series(&pool, &study_uid, &series_uid).await?;
    let normal = series.image_orientation.as_deref().and_then(ssr::normal);
    let mut slices: Vec<ViewerSlice> = instances
        .into_iter()
        .map(|i| ViewerSlice {
            position_mm: match (&i.image_position, normal) {
                (Some(p), Some(n)) if p.len() == 3 => Some(p[0] * n[0] + p[1] * n[1] + p[2] * n[2]),
                _ => None,
            },
            sop_instance_uid: i.sop_instance_uid,
        })
        .collect();
    // Head first: the highest position along the normal (superior, for axial) at the top.
    slices.sort_by(|a, b| b.position_mm.partial_cmp(&a.position_mm).unwrap_or(std::cmp::Ordering::Equal));
    Ok(SliceStack { study_uid, series_uid, description: series.description, slices })
}

/// Hounsfield units at one pixel (the viewer's read-out under the cursor).
#[leptos::server(prefix = "/api/fn", endpoint = "hu_at", input = GetUrl)]
pub async fn hu_at(
    study_uid: String,
    series_uid: String,
    sop_instance_uid: String,
    x: u32,
    y: u32,
) -> Result<Option<f32>, AppError> {
    use crate::api::session::ssr::{pool, require_user};

    let user = require_user()?;
    let pool = pool()?;
    let study = ssr::visible_study(&pool, &user, &study_uid).await?;
    let key = elysium_db::images::instance_key(&pool, &study_uid, &series_uid, &sop_instance_uid)
        .await?
        .ok_or(AppError::NotFound)?;
    let event = ssr::series_view_event(&user, &study, &series_uid);
    ssr::views()?.record_once(&pool, user.id, &format!("series:{series_uid}"), &event).await?;
    let bytes = ssr::read_object(&key).await?;
    let value = tokio::task::spawn_blocking(move || {
        let parsed = elysium_dicom::header::parse(&bytes).ok()?;
        elysium_dicom::render::decode_frame(&parsed, 0).ok()?.value_at(x, y)
    })
    .await
    .map_err(|_| AppError::Internal)?;
    Ok(value)
}

/// A screening job as the study page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningJobView {
    pub id: i64,
    pub series_uid: String,
    pub model: String,
    /// queued, running, done, failed, skipped.
    pub status: String,
    pub stage: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub error: Option<String>,
    pub reason: String,
    /// 2 and up: the series changed after its earlier screening and is screened again.
    pub generation: i32,
}

/// A series' latest screening result in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResultView {
    pub series_uid: String,
    pub model: String,
    pub provider: String,
    pub device: String,
    /// (organ/class, probability), highest first.
    pub top: Vec<(String, f64)>,
    pub positives: Vec<String>,
    /// (label, value) in words.
    pub biomarkers: Vec<(String, String)>,
    pub total_ms: Option<f64>,
    pub at: String,
    /// The instances it was computed on.
    pub instances: Option<i32>,
    /// What it superseded, in words (`None` for a series' first result).
    pub supersedes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningOverview {
    pub jobs: Vec<ScreeningJobView>,
    pub results: Vec<ScreeningResultView>,
    /// Whether anything is still queued or running (the page keeps watching).
    pub active: bool,
}

#[leptos::server(prefix = "/api/fn", endpoint = "study_screening", input = GetUrl)]
pub async fn study_screening(study_uid: String) -> Result<ScreeningOverview, AppError> {
    let user = crate::api::session::ssr::require_user()?;
    let pool = crate::api::session::ssr::pool()?;
    let study = ssr::visible_study(&pool, &user, &study_uid).await?;
    // The study page polls this while screening runs: one row per user and study for the view.
    let mut event = user.audit_event("screening.view", "success", crate::api::session::ssr::client_addr());
    event.target_type = Some("study".into());
    event.target_id = Some(study_uid.clone());
    event.patient_id = Some(study.patient_id.clone());
    ssr::views()?.record_once(&pool, user.id, &format!("screening:{study_uid}"), &event).await?;
    let jobs = elysium_db::jobs::of_study(&pool, &study_uid).await?;
    let results = elysium_db::jobs::latest_results(&pool, &study_uid).await?;
    let active = jobs.iter().any(|j| matches!(j.status.as_str(), "queued" | "running"));
    Ok(ScreeningOverview {
        active,
        jobs: jobs
            .into_iter()
            .map(|j| ScreeningJobView {
                id: j.id,
                series_uid: j.series_uid,
                model: format!("{} {}", j.model_name, j.model_version),
                status: j.status,
                stage: j.stage,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                error: j.last_error,
                reason: j.reason,
                generation: j.generation,
            })
            .collect(),
        results: results.into_iter().map(ssr::result_view).collect(),
    })
}
