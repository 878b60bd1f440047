//! The studies and images service: the study list, a study's page, the viewer's slice stack and
//! HU read-out, and the one rule for who may see a study. Every read of patient data is audited
//! before it is answered (see [`crate::service::audit`]).

use std::sync::Arc;

use elysium_db::images::{StudyFilter, StudyRow};
use object_store::ObjectStore;
use sqlx::PgPool;

use crate::model::studies::{
    EligibilityView, STUDIES_PAGE, SeriesItem, SliceStack, StudyItem, StudyWithSeries, ViewerSlice,
};
use crate::service::audit::{Audit, ViewLog};
use crate::service::{Caller, ServiceError};

/// Where the received instances are kept.
pub type Objects = Arc<dyn ObjectStore>;

/// The study, if it is within the caller's sites, or holds a finding referred to one of them (a
/// requested or accepted referral). Otherwise a study does not exist, as far as the caller can
/// tell: the same answer as for an unknown UID. Every way of reading a study (pages, REST,
/// DICOMweb) asks here.
///
/// A study seen through a referral is also recorded under that referral (`referral.access`),
/// once per caller, referral and study in each window of the application's view log: the viewer
/// reads a study slice by slice, and each read is already audited on its own.
pub async fn visible_study(
    pool: &PgPool,
    views: &ViewLog,
    caller: &Caller,
    study_uid: &str,
) -> Result<StudyRow, ServiceError> {
    let scope = caller.user.site_scope();
    if let Some(study) = elysium_db::images::study_within(pool, study_uid, scope.clone()).await? {
        return Ok(study);
    }
    let Some(scope) = scope else { return Err(ServiceError::NotFound) };
    let referral =
        elysium_db::referral::reaching_study(pool, study_uid, &scope).await?.ok_or(ServiceError::NotFound)?;
    let study = elysium_db::images::study_within(pool, study_uid, None).await?.ok_or(ServiceError::NotFound)?;
    let audit = caller
        .audit("referral.access")
        .target("referral", referral.to_string())
        .patient(&study.patient_id)
        .detail(serde_json::json!({ "study_uid": study.study_uid }));
    views.record_once(pool, caller.user.id, &format!("referral:{referral}:{study_uid}"), &audit).await?;
    Ok(study)
}

/// The audit row of a look at `series` of `study` (the viewer, its slices, frames and HU
/// read-outs).
pub fn series_view(caller: &Caller, study: &StudyRow, series_uid: &str) -> Audit {
    caller
        .audit("series.view")
        .study(&study.study_uid, &study.patient_id)
        .detail(serde_json::json!({ "series_uid": series_uid }))
}

/// Records a look at a series slice by slice: one `series.view` row per user and series while
/// the view lasts, not one per slice.
pub async fn audit_series_view(
    pool: &PgPool,
    views: &ViewLog,
    caller: &Caller,
    study: &StudyRow,
    series_uid: &str,
) -> Result<(), ServiceError> {
    let audit = series_view(caller, study, series_uid);
    Ok(views.record_once(pool, caller.user.id, &format!("series:{series_uid}"), &audit).await?)
}

/// The study list: the caller's sites' studies, optionally narrowed by patient ID or accession
/// number. Each search is audited (the list shows patients' names).
pub async fn list(
    pool: &PgPool,
    caller: &Caller,
    patient_id: Option<String>,
    accession: Option<String>,
    page: Option<i64>,
) -> Result<Vec<StudyItem>, ServiceError> {
    let filter = StudyFilter {
        patient_id: patient_id.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
        accession_number: accession.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
        site_ids: caller.user.site_scope(),
        limit: STUDIES_PAGE,
        offset: page.unwrap_or(0).clamp(0, 100_000) * STUDIES_PAGE,
        ..Default::default()
    };
    let rows = elysium_db::images::studies(pool, &filter).await?;
    caller
        .audit("study.search")
        .detail(serde_json::json!({
            "patient_id": filter.patient_id, "accession": filter.accession_number, "results": rows.len(),
        }))
        .record(pool)
        .await?;
    Ok(rows.into_iter().map(study_item).collect())
}

/// A study's page: the study, its series with their screening eligibility, and its patient's
/// demographics mismatches.
pub async fn detail(
    pool: &PgPool,
    objects: &Objects,
    views: &ViewLog,
    caller: &Caller,
    study_uid: &str,
) -> Result<StudyWithSeries, ServiceError> {
    let study = visible_study(pool, views, caller, study_uid).await?;
    let series = elysium_db::images::series_of_study(pool, study_uid, None).await?;
    caller.audit("study.view").study(study_uid, &study.patient_id).record(pool).await?;

    let mismatches = crate::service::patients::mismatches_of_patient(pool, &study.study_uid).await?;
    let mut items = Vec::with_capacity(series.len());
    for s in series {
        let eligibility = eligibility(pool, objects, &study.study_uid, &s.series_uid, s.instance_count).await;
        items.push(SeriesItem {
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
        });
    }
    Ok(StudyWithSeries { mismatches, study: study_item(study), series: items })
}

/// The slices of a series in anatomical order (along the normal of the image orientation), with
/// the geometry the viewer measures with (the series' pixel spacing and orientation, each slice's
/// image position; absent where the headers lack them). Opening the viewer is the audited view of the series; its slices and HU read-outs are covered
/// by this row.
pub async fn slices(
    pool: &PgPool,
    views: &ViewLog,
    caller: &Caller,
    study_uid: &str,
    series_uid: &str,
) -> Result<SliceStack, ServiceError> {
    let study = visible_study(pool, views, caller, study_uid).await?;
    let series = elysium_db::images::series_of_study(pool, study_uid, None).await?;
    let series = series.into_iter().find(|s| s.series_uid == series_uid).ok_or(ServiceError::NotFound)?;
    let audit = series_view(caller, &study, series_uid);
    views.record_opening(pool, caller.user.id, &format!("series:{series_uid}"), &audit).await?;
    let instances = elysium_db::images::instances_of_series(pool, study_uid, series_uid).await?;
    let normal = series.image_orientation.as_deref().and_then(normal);
    let mut slices: Vec<ViewerSlice> = instances
        .into_iter()
        .map(|i| ViewerSlice {
            position_mm: match (&i.image_position, normal) {
                (Some(p), Some(n)) if p.len() == 3 => Some(p[0] * n[0] + p[1] * n[1] + p[2] * n[2]),
                _ => None,
            },
            image_position: i.image_position.as_deref().and_then(|p| <[f64; 3]>::try_from(p).ok()),
            sop_instance_uid: i.sop_instance_uid,
        })
        .collect();
    // Head first: the highest position along the normal (superior, for axial) at the top.
    slices.sort_by(|a, b| b.position_mm.partial_cmp(&a.position_mm).unwrap_or(std::cmp::Ordering::Equal));
    Ok(SliceStack {
        study_uid: study_uid.to_owned(),
        series_uid: series_uid.to_owned(),
        description: series.description,
        slices,
        pixel_spacing: series.pixel_spacing.as_deref().and_then(|s| <[f64; 2]>::try_from(s).ok()),
        orientation: series.image_orientation.as_deref().and_then(|o| <[f64; 6]>::try_from(o).ok()),
    })
}

/// One pixel of a stored instance: (column `x`, row `y`).
#[derive(Debug, Clone, Copy)]
pub struct Pixel<'a> {
    pub study_uid: &'a str,
    pub series_uid: &'a str,
    pub sop_instance_uid: &'a str,
    pub x: u32,
    pub y: u32,
}

/// Hounsfield units at one pixel of an instance (the viewer's read-out under the cursor);
/// `None` outside the image or where it has no value.
pub async fn hu_at(
    pool: &PgPool,
    objects: &Objects,
    views: &ViewLog,
    caller: &Caller,
    pixel: Pixel<'_>,
) -> Result<Option<f32>, ServiceError> {
    let Pixel { study_uid, series_uid, sop_instance_uid, x, y } = pixel;
    let study = visible_study(pool, views, caller, study_uid).await?;
    let key = elysium_db::images::instance_key(pool, study_uid, series_uid, sop_instance_uid)
        .await?
        .ok_or(ServiceError::NotFound)?;
    audit_series_view(pool, views, caller, &study, series_uid).await?;
    let bytes = read_object(objects, &key).await?;
    tokio::task::spawn_blocking(move || {
        let parsed = elysium_dicom::header::parse(&bytes).ok()?;
        elysium_dicom::render::decode_frame(&parsed, 0).ok()?.value_at(x, y)
    })
    .await
    .map_err(ServiceError::internal)
}

/// The original bytes of a stored instance.
pub async fn read_object(objects: &Objects, key: &str) -> Result<bytes::Bytes, ServiceError> {
    let read = async { object_store::ObjectStoreExt::get(&**objects, &key.into()).await?.bytes().await };
    read.await.map_err(ServiceError::internal)
}

/// The screening verdict for a series, from one instance's header and the slice count
/// (geometry problems found when the volume is loaded are added by the screening pipeline).
/// `None` when the instance cannot be read: the page then shows no verdict rather than failing.
async fn eligibility(
    pool: &PgPool,
    objects: &Objects,
    study_uid: &str,
    series_uid: &str,
    slices: i32,
) -> Option<EligibilityView> {
    let first = elysium_db::images::instances_of_series(pool, study_uid, series_uid).await.ok()?.into_iter().next()?;
    let bytes = read_object(objects, &first.object_key).await.ok()?;
    let slices = usize::try_from(slices).unwrap_or(0);
    tokio::task::spawn_blocking(move || {
        let parsed = elysium_dicom::header::parse(&bytes).ok()?;
        let verdict = elysium_dicom::eligibility::assess(&parsed.header, slices, &[]);
        Some(EligibilityView {
            eligible: verdict.eligible,
            contrast_phase: verdict.contrast_phase.to_string(),
            reasons: verdict.reasons,
            codes: verdict.codes.iter().map(|c| (*c).to_owned()).collect(),
            notes: verdict.notes,
        })
    })
    .await
    .ok()
    .flatten()
}

/// The unit normal of an ImageOrientationPatient (row × column cosines).
fn normal(orientation: &[f64]) -> Option<[f64; 3]> {
    let [rx, ry, rz, cx, cy, cz] = <[f64; 6]>::try_from(orientation).ok()?;
    let n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
    let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    (length > 1e-6).then(|| [n[0] / length, n[1] / length, n[2] / length])
}

fn study_item(row: StudyRow) -> StudyItem {
    StudyItem {
        study_uid: row.study_uid,
        patient_id: row.patient_id,
        patient_authority: row.patient_authority,
        patient_name: crate::domain::names::display_name_of(row.patient_name.as_deref()),
        patient_sex: row.patient_sex,
        patient_birth_date: row.patient_birth_date.map(crate::format::date),
        study_date: row.study_date.map(crate::format::date),
        accession_number: row.accession_number,
        description: row.description,
        site: row.site_code,
        modalities: row.modalities,
        series_count: row.series_count,
        instance_count: row.instance_count,
    }
}

#[cfg(test)]
mod tests {
    use super::normal;

    #[test]
    fn the_normal_of_axial_sagittal_and_tilted_orientations() {
        // Axial: rows along +x, columns along +y; the normal is +z (towards the head).
        assert_eq!(normal(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), Some([0.0, 0.0, 1.0]));
        // Sagittal: rows along +y, columns along -z; the normal is -x.
        assert_eq!(normal(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0]), Some([-1.0, 0.0, 0.0]));
        // Unnormalised cosines are normalised.
        assert_eq!(normal(&[2.0, 0.0, 0.0, 0.0, 2.0, 0.0]), Some([0.0, 0.0, 1.0]));
        // Parallel rows and columns have no normal; a wrong count is no orientation.
        assert_eq!(normal(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]), None);
        assert_eq!(normal(&[1.0, 0.0, 0.0]), None);
    }
}
