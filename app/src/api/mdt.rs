//! The tumour board's pages as server functions. Writes go through the form posts under
//! `/mdt/...` (which work without JavaScript) and the REST API; both call the board service.

use leptos::server_fn::codec::GetUrl;

use crate::model::AppError;
use crate::model::mdt::{
    AgreementParams, AgreementReport, BoardHome, CaseDetail, CaseList, MeetingDetail, MeetingList,
};

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_home", input = GetUrl)]
pub async fn load_board_home() -> Result<BoardHome, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::mdt::cases::home(&pool()?, &caller()?).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_cases", input = GetUrl)]
pub async fn load_cases(status: Option<String>, cancer: Option<String>, page: i64) -> Result<CaseList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    let status = status.filter(|s| !s.is_empty());
    let cancer = cancer.filter(|c| !c.is_empty());
    Ok(crate::service::mdt::cases::list(&pool()?, &caller()?, status.as_deref(), cancer.as_deref(), page).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_case", input = GetUrl)]
pub async fn load_case(id: i64) -> Result<CaseDetail, AppError> {
    use crate::api::session::ssr::{caller, pool, provided};
    let settings: crate::service::mdt::BoardSettings = provided()?;
    Ok(crate::service::mdt::cases::detail(&pool()?, &caller()?, &settings, id).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_meetings", input = GetUrl)]
pub async fn load_meetings(when: Option<String>) -> Result<MeetingList, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::mdt::meetings::list(&pool()?, &caller()?, when.as_deref()).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_meeting", input = GetUrl)]
pub async fn load_meeting(id: i64) -> Result<MeetingDetail, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::mdt::meetings::detail(&pool()?, &caller()?, id).await?)
}

#[leptos::server(prefix = "/api/fn", endpoint = "mdt_agreement", input = GetUrl)]
pub async fn load_agreement(params: AgreementParams) -> Result<AgreementReport, AppError> {
    use crate::api::session::ssr::{caller, pool};
    Ok(crate::service::mdt::agreement::report(&pool()?, &caller()?, &params).await?)
}
