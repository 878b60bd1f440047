//! Programme settings as a server function (administrators: the `/api/fn/admin/` prefix).

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::settings::SettingsView;

#[leptos::server(prefix = "/api/fn/admin", endpoint = "settings", input = GetUrl)]
pub async fn load_settings() -> Result<SettingsView, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let defaults: crate::service::settings::Defaults = provided()?;
    Ok(crate::service::settings::view(&pool()?, &caller()?, &defaults).await?)
}
