//! The tumour board's image measurement: a case's CT series is read from the object store,
//! measured by `elysium-measure` (the primary lesion's long axis, regional nodes with their
//! short axes, distant lesions, invasion of adjacent structures), and what the staging rules
//! take is recorded on the case as `image_analysis` measurements, from which the proposal is
//! recomputed as a new version. Findings the rules have no word for (a node outside the
//! regional basins, a second lesion in the primary's own organ, an abutted aorta) are kept in
//! the proposal's notes, not forced into a category.

use std::sync::Arc;

use anyhow::Context;
use app::domain::staging::{Cancer, Edition};
use elysium_db::mdt as db;
use elysium_measure::{Measured, MeasuredNode, PrimaryHint, Side};
use object_store::ObjectStore;
use serde_json::json;

use crate::staging_model::{ModelRun, StagingModels};

/// What one measurement run recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub measurements: usize,
    pub proposal_version: i32,
    pub notes: Vec<String>,
    /// Whether a staging model's run was recorded.
    pub staging_model: bool,
}

/// A measured node as the staging vocabulary names its location: a lung node's IASLC station
/// (`hilar` ipsilateral → ipsilateral hilar, N1; `mediastinal` ipsilateral or midline →
/// subcarinal, N2; contralateral → contralateral hilar or mediastinal, N3), `regional` for
/// the count-based cancers; `None` for a node outside the regional basins.
pub fn node_location(cancer: Cancer, node: &MeasuredNode) -> Option<&'static str> {
    match (cancer, node.region.as_str(), node.side) {
        (_, "non_regional", _) => None,
        (Cancer::Lung, "hilar", Side::Contralateral) => Some("contralateral_hilar"),
        (Cancer::Lung, "hilar", _) => Some("ipsilateral_hilar"),
        (Cancer::Lung, "mediastinal", Side::Contralateral) => Some("contralateral_mediastinal"),
        (Cancer::Lung, "mediastinal", _) => Some("subcarinal"),
        (Cancer::Lung, _, _) => None,
        (Cancer::Breast | Cancer::Larynx, _, _) => None,
        (_, "regional", _) => Some("regional"),
        _ => None,
    }
}

/// A distant lesion as the staging vocabulary names its site, for a primary of `cancer`.
pub fn distant_site(cancer: Cancer, organ: &str, side: Side) -> Option<&'static str> {
    match (cancer, organ) {
        (Cancer::Lung, "lung") if side == Side::Contralateral => Some("contralateral_lung"),
        // A second nodule in the primary's own lung is a T descriptor (same or another lobe),
        // which the image measurement cannot tell apart: left to the board.
        (Cancer::Lung, "lung") => None,
        (Cancer::Liver, "liver") => None,
        (_, "lung") => Some("lung"),
        (_, "liver") => Some("liver"),
        _ => None,
    }
}

/// An adjacent structure as the cancer's T descriptors name it.
pub fn invasion_descriptor(cancer: Cancer, structure: &str) -> Option<&'static str> {
    match (cancer, structure) {
        (Cancer::Lung, "chest_wall") => Some("chest_wall"),
        (Cancer::Lung, "mediastinum") => Some("mediastinum"),
        _ => None,
    }
}

/// Measures the images of case `case_id` and runs the staging model registered for its cancer,
/// then records both and recomputes the proposal. Each happens once per case: the image
/// measurement when the case's images were not measured yet (and the screening finding says
/// where the primary is), the model when this model version has not run on the case. `None`
/// when the case has no series or there is nothing left to do.
pub async fn measure_case(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    models: &StagingModels,
    case_id: i64,
) -> anyhow::Result<Option<Recorded>> {
    let mut conn = pool.acquire().await?;
    let case = db::get_case(&mut conn, case_id, None, false).await?.context("no such case")?;
    let (Some(study_uid), Some(series_uid)) = (&case.study_uid, &case.series_uid) else { return Ok(None) };
    let cancer = Cancer::parse(&case.cancer).context("the case's cancer")?;
    let edition = Edition::parse(&case.edition).context("the case's edition")?;
    let model = match models.for_case(cancer, edition) {
        Some(model) => {
            let last = db::latest_model_staging(&mut conn, case_id).await?;
            let ran = last.is_some_and(|r| {
                (r.model_name.as_str(), r.model_version.as_str())
                    == (model.model.manifest.name.as_str(), model.model.manifest.version.as_str())
            });
            (!ran).then_some(model)
        }
        None => None,
    };
    let mut hint = None;
    if case.images_measured_at.is_none()
        && let Some(finding_id) = case.finding_id
        && let Some(finding) = elysium_db::findings::case_finding(&mut conn, finding_id).await?
        && let Some(location) = finding.location
    {
        let center: Vec<f64> =
            location["center_mm"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect();
        if let Ok(center_mm) = <[f64; 3]>::try_from(center) {
            hint = Some(PrimaryHint {
                organ: organ_name(cancer).to_owned(),
                center_mm,
                diameter_mm: location["diameter_mm"].as_f64(),
            });
        }
    }
    drop(conn);
    if hint.is_none() && model.is_none() {
        return Ok(None);
    }

    let volume =
        crate::lesions::series_volume(pool, store, study_uid, series_uid).await.context("reading the case's series")?;
    let (measured, run) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(Option<Measured>, Option<ModelRun>)> {
            let measured = match hint {
                Some(hint) => Some(elysium_measure::measure(&crate::lesions::view(&volume)?, hint)),
                None => None,
            };
            // A model that fails (no ONNX Runtime, outputs that are not probabilities) leaves
            // the proposal to the measurements; the failure is logged, and the model is not
            // retried by itself (its run is recorded only when it succeeds, so a later call
            // of this function would try it again).
            let run = model.and_then(|model| match model.run(&volume) {
                Ok(run) => Some(run),
                Err(error) => {
                    tracing::warn!(case = case_id, model = %model.model.manifest.name, ?error, "staging model failed");
                    None
                }
            });
            Ok((measured, run))
        })
        .await??;
    record(pool, case_id, cancer, &case.series_ref, measured.as_ref(), run.as_ref()).await
}

/// Measures a newly referred case's images in the background: the referral answers at once, and
/// the proposal is recomputed when the measurement lands (seconds on a phantom, about a minute on
/// a large series in a debug build). A failure is logged; the case keeps the proposal from the
/// screening lesion and [`measure_pending`] tries again at the next start.
pub fn measure_in_background(
    pool: sqlx::PgPool,
    store: Arc<dyn ObjectStore>,
    models: Arc<StagingModels>,
    case_id: i64,
) {
    tokio::spawn(async move {
        match measure_case(&pool, &store, &models, case_id).await {
            Ok(Some(recorded)) => {
                tracing::info!(case = case_id, measurements = recorded.measurements, "referral measured on its images")
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(case = case_id, ?error, "measuring a referral's images"),
        }
    });
}

/// Measures every referred case that has not been (a referral made while the server was down, or
/// whose measurement failed): one at a time, each failure logged and the rest measured.
pub async fn measure_pending(
    pool: &sqlx::PgPool,
    store: &Arc<dyn ObjectStore>,
    models: &StagingModels,
) -> anyhow::Result<usize> {
    let mut measured = 0;
    for case_id in db::unmeasured_cases(pool).await? {
        match measure_case(pool, store, models, case_id).await {
            Ok(Some(_)) => measured += 1,
            Ok(None) => {}
            Err(error) => tracing::warn!(case = case_id, ?error, "measuring a referral's images"),
        }
    }
    Ok(measured)
}

/// Records the staging-relevant measurements and the model's run, and recomputes the proposal,
/// in one transaction. `None` when another run recorded both first.
async fn record(
    pool: &sqlx::PgPool,
    case_id: i64,
    cancer: Cancer,
    series_ref: &Option<uuid::Uuid>,
    measured: Option<&Measured>,
    run: Option<&ModelRun>,
) -> anyhow::Result<Option<Recorded>> {
    let mut tx = pool.begin().await?;
    let mut model_recorded = false;
    if let Some(run) = run {
        let probabilities = run.stored();
        let new = db::NewModelStaging {
            case_id,
            model_name: &run.name,
            model_version: &run.version,
            model_sha256: &run.sha256,
            provider: &run.provider,
            probabilities: &probabilities,
        };
        model_recorded = db::insert_model_staging(&mut tx, &new).await?.is_some();
    }
    let measured = match measured {
        Some(measured) if db::mark_images_measured(&mut tx, case_id).await? => Some(measured),
        _ => None,
    };
    if measured.is_none() && !model_recorded {
        return Ok(None);
    }
    let (count, notes) = match measured {
        Some(measured) => record_measurements(&mut tx, case_id, cancer, series_ref, measured).await?,
        None => (0, Vec::new()),
    };
    let (_, proposal_version) = app::service::mdt::proposal::propose_in(&mut tx, case_id, None)
        .await
        .map_err(|e| anyhow::anyhow!("recomputing the proposal: {e}"))?;
    db::touch_case(&mut tx, case_id).await?;
    let model = run
        .filter(|_| model_recorded)
        .map(|r| json!({ "name": r.name, "version": r.version, "sha256": r.sha256, "provider": r.provider }));
    app::service::Audit::anonymous("mdt.image_measurement", Some("system"), None)
        .target("mdt_case", case_id.to_string())
        .detail(json!({ "measurements": count, "proposal_version": proposal_version, "notes": notes, "staging_model": model }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Recorded { measurements: count, proposal_version, notes, staging_model: model_recorded }))
}

/// The image measurement's findings as the case's measurements; how many were recorded, and the
/// notes on what the rules have no word for.
async fn record_measurements(
    tx: &mut sqlx::PgConnection,
    case_id: i64,
    cancer: Cancer,
    series_ref: &Option<uuid::Uuid>,
    measured: &Measured,
) -> anyhow::Result<(usize, Vec<String>)> {
    let mut notes = measured.notes.clone();
    let mut count = 0;
    if let Some(long_axis) = measured.primary_long_axis_mm {
        // The same lesion the screening measured: the image measurement corrects that
        // measurement rather than adding a second tumour (liver T counts tumours).
        let screening = db::measurements(&mut *tx, case_id)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.kind == "primary" && m.source == "screening")
            .map(|m| m.id);
        let position = measured.primary_center_mm.map(|p| p.to_vec());
        let new = db::NewMeasurement {
            case_id,
            kind: "primary",
            size_mm: Some(long_axis),
            location: None,
            side: None,
            series_ref: *series_ref,
            slice_index: None,
            position_mm: position.as_deref(),
            source: "image_analysis",
            corrects: screening,
            note: None,
            recorded_by: None,
        };
        db::insert_measurement(&mut *tx, &new).await?;
        count += 1;
    }
    let mut insert =
        async |kind: &str, size: Option<f64>, location: Option<&str>, side: Option<Side>, at: Option<[f64; 3]>| {
            let position = at.map(|p| p.to_vec());
            let new = db::NewMeasurement {
                case_id,
                kind,
                size_mm: size,
                location,
                side: side.map(side_name),
                series_ref: *series_ref,
                slice_index: None,
                position_mm: position.as_deref(),
                source: "image_analysis",
                corrects: None,
                note: None,
                recorded_by: None,
            };
            db::insert_measurement(&mut *tx, &new).await
        };

    for node in &measured.nodes {
        match node_location(cancer, node) {
            Some(location) => {
                insert("node", Some(node.short_axis_mm), Some(location), Some(node.side), Some(node.center_mm)).await?;
                count += 1;
            }
            None => notes.push(format!(
                "a {:.0} mm node outside the regional basins ({}) is left to the board",
                node.short_axis_mm, node.region
            )),
        }
    }
    for lesion in &measured.distant {
        match distant_site(cancer, &lesion.organ, lesion.side) {
            Some(site) => {
                insert("distant", Some(lesion.diameter_mm), Some(site), Some(lesion.side), Some(lesion.center_mm))
                    .await?;
                count += 1;
            }
            None => notes.push(format!(
                "a {:.0} mm lesion in the {} is left to the board (a T finding, not a metastasis, for this cancer)",
                lesion.diameter_mm, lesion.organ
            )),
        }
    }
    for structure in &measured.invasion {
        match invasion_descriptor(cancer, structure) {
            Some(descriptor) => {
                insert("invasion", None, Some(descriptor), None, None).await?;
                count += 1;
            }
            None => notes.push(format!("the primary touches the {structure}; no T rule of {cancer} names it")),
        }
    }
    Ok((count, notes))
}

/// The organ as the image measurement names it.
fn organ_name(cancer: Cancer) -> &'static str {
    match cancer {
        Cancer::Colorectal => "colon",
        other => other.as_str(),
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Ipsilateral => "ipsilateral",
        Side::Contralateral => "contralateral",
        Side::Midline => "midline",
    }
}
