//! The worklist and a finding's page as server functions. Events are recorded through
//! `POST /findings/{id}/events` (a form, for the page) and `POST /api/v1/findings/{id}/events`
//! (JSON); both go through the follow-up service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::followup::{FindingDetail, WorklistPage, WorklistParams};

#[leptos::server(prefix = "/api/fn", endpoint = "worklist", input = GetUrl)]
pub async fn load_worklist(params: WorklistParams) -> Result<WorklistPage, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::followup::worklist(&pool()?, &caller()?, &params).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "finding", input = GetUrl)]
pub async fn load_finding(id: i64) -> Result<FindingDetail, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let defaults: crate::domain::followup::ServiceLevels = provided()?;
    let levels = crate::service::settings::levels(&pool()?, &defaults).await?;
    Ok(crate::service::followup::detail(&pool()?, &caller()?, id, &levels).await?)
}
