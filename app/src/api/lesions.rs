//! Tracked lesions as server functions (everyone signed in, within their sites). Splits and
//! joins go through `POST /lesions/{id}/split|join` (forms, for the page) and
//! `POST /api/v1/lesions/{id}/split|join` (JSON); both go through the lesions service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::lesions::{LesionDetail, PatientLesions};

#[leptos::server(prefix = "/api/fn", endpoint = "patient_lesions", input = GetUrl)]
pub async fn load_patient_lesions(id: uuid::Uuid) -> Result<PatientLesions, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::lesions::of_patient(&pool()?, &caller()?, id).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "lesion", input = GetUrl)]
pub async fn load_lesion(id: i64) -> Result<LesionDetail, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::lesions::detail(&pool()?, &caller()?, id).await?)
}
