//! Studies for people as server functions: the study list, a study's page, its screening, and
//! the viewer's slices and HU read-out. Each calls the studies or screening service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::screening::ScreeningOverview;
use crate::model::studies::{SliceStack, StudyItem, StudyWithSeries};

#[leptos::server(prefix = "/api/fn", endpoint = "studies", input = GetUrl)]
pub async fn list_studies(
    patient_id: Option<String>,
    accession: Option<String>,
    page: Option<i64>,
) -> Result<Vec<StudyItem>, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::studies::list(&pool()?, &caller()?, patient_id, accession, page).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "study", input = GetUrl)]
pub async fn study_detail(study_uid: String) -> Result<StudyWithSeries, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    Ok(crate::service::studies::detail(&pool()?, &provided()?, &provided()?, &caller()?, &study_uid).await?)
}

/// The slices of a series in anatomical order (along the normal of the image orientation).
#[leptos::server(prefix = "/api/fn", endpoint = "series_slices", input = GetUrl)]
pub async fn series_slices(study_uid: String, series_uid: String) -> Result<SliceStack, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    Ok(crate::service::studies::slices(&pool()?, &provided()?, &caller()?, &study_uid, &series_uid).await?)
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
    use crate::api::session::ssr::{caller, pool, provided};
    use crate::service::studies::Pixel;
    let pixel = Pixel { study_uid: &study_uid, series_uid: &series_uid, sop_instance_uid: &sop_instance_uid, x, y };
    Ok(crate::service::studies::hu_at(&pool()?, &provided()?, &provided()?, &caller()?, pixel).await?)
}

/// The study's screening results and jobs; the page polls it while screening runs, and each
/// user's look at a study's screening is one audited view while it lasts.
#[leptos::server(prefix = "/api/fn", endpoint = "study_screening", input = GetUrl)]
pub async fn study_screening(study_uid: String) -> Result<ScreeningOverview, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    use crate::service::screening::{ViewAudit, overview};
    Ok(overview(&pool()?, &provided()?, &caller()?, &study_uid, ViewAudit::OncePerView).await?)
}
