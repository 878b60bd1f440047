//! Model governance as server functions (administrators: the `/api/fn/admin/` prefix).

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::governance::{ModelsOverview, ThresholdPreview, ThresholdRequest};

/// The registry, operating thresholds, each version's monitoring and the threshold changes.
#[leptos::server(prefix = "/api/fn/admin", endpoint = "models", input = GetUrl)]
pub async fn load_models() -> Result<ModelsOverview, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let registry = provided::<std::sync::Arc<crate::model::governance::ModelRegistry>>()?;
    let today = crate::service::followup::today();
    Ok(crate::service::governance::overview(&pool()?, &caller()?, &registry, today).await?)
}

/// What a proposed threshold would have done to the version's last series (changes nothing).
#[leptos::server(prefix = "/api/fn/admin", endpoint = "threshold_preview", input = GetUrl)]
pub async fn preview_threshold(request: ThresholdRequest) -> Result<ThresholdPreview, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let registry = provided::<std::sync::Arc<crate::model::governance::ModelRegistry>>()?;
    Ok(crate::service::governance::preview(&pool()?, &caller()?, &registry, &request).await?)
}
