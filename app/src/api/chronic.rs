//! The chronic-finding list and page as server functions (coordinators, radiologists and
//! administrators: the `/api/fn/chronic/` prefix). Events are recorded through
//! `POST /chronic/{id}/events` (a form, for the page) and `POST /api/v1/chronic/{id}/events`
//! (JSON); both go through the chronic service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::chronic::{ChronicDetail, ChronicList};

/// The list's filters as separate arguments: a URL-encoded struct whose fields are all absent
/// would not arrive at all.
#[leptos::server(prefix = "/api/fn/chronic", endpoint = "list", input = GetUrl)]
pub async fn load_chronic_list(
    status: Option<String>,
    kind: Option<String>,
    page: Option<u32>,
) -> Result<ChronicList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let params = crate::model::chronic::ChronicParams { status, kind, page };
    Ok(crate::service::chronic::list(&pool()?, &caller()?, &params).await?)
}

#[leptos::server(prefix = "/api/fn/chronic", endpoint = "finding", input = GetUrl)]
pub async fn load_chronic(id: i64) -> Result<ChronicDetail, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::chronic::detail(&pool()?, &caller()?, id).await?)
}
