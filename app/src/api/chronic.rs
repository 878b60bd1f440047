//! The chronic-finding list and page as server functions (coordinators, radiologists and
//! administrators: the `/api/fn/chronic/` prefix). Events are recorded through
//! `POST /chronic/{id}/events` (a form, for the page) and `POST /api/v1/chronic/{id}/events`
//! (JSON); both go through the chronic service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::chronic::{ChronicDetail, ChronicList, ChronicParams};

#[leptos::server(prefix = "/api/fn/chronic", endpoint = "list", input = GetUrl)]
pub async fn load_chronic_list(params: ChronicParams) -> Result<ChronicList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::chronic::list(&pool()?, &caller()?, &params).await?)
}

#[leptos::server(prefix = "/api/fn/chronic", endpoint = "finding", input = GetUrl)]
pub async fn load_chronic(id: i64) -> Result<ChronicDetail, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::chronic::detail(&pool()?, &caller()?, id).await?)
}
