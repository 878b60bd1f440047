//! The patient search and the longitudinal record as server functions (everyone signed in,
//! within their sites). Links are made and ended through `POST /patients/{id}/links…` (forms,
//! for the page) and `POST /api/v1/patients/{id}/links…` (JSON); both go through the record
//! service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::record::{PatientList, PatientRecord};

// Filters travel as separate arguments: a URL-encoded struct whose fields are all absent would
// not arrive at all ("missing field").

#[leptos::server(prefix = "/api/fn", endpoint = "patients", input = GetUrl)]
pub async fn load_patient_search(q: Option<String>, page: Option<u32>) -> Result<PatientList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let params = crate::model::record::PatientSearchParams { q, page };
    Ok(crate::service::record::search(&pool()?, &caller()?, &params).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "patient_record", input = GetUrl)]
pub async fn load_patient_record(
    id: uuid::Uuid,
    kind: Option<String>,
    organ: Option<String>,
) -> Result<PatientRecord, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let params = crate::model::record::TimelineParams { kind, organ };
    Ok(crate::service::record::record(&pool()?, &caller()?, id, &params).await?)
}
