//! The de-identified export page's server function (administrators: the `/api/fn/admin/`
//! prefix). The downloads themselves are REST routes (`/api/v1/admin/export/*.csv`) that the
//! page's form asks for.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::export::ExportPage;

#[leptos::server(prefix = "/api/fn/admin", endpoint = "export", input = GetUrl)]
pub async fn load_export() -> Result<ExportPage, AppError> {
    use crate::api::session::ssr::provided;
    let crate::model::export::ExportKeyConfigured(key_configured) = provided()?;
    let to = crate::service::followup::today();
    let from = to - time::Duration::days(crate::service::program::DEFAULT_PERIOD_DAYS - 1);
    Ok(ExportPage { key_configured, from: crate::format::date(from), to: crate::format::date(to) })
}
