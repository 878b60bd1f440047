//! The form posts behind the referral pages, answered with a redirect back so that the pages work
//! without JavaScript: referring a finding or a tumour-board case (their pages), a referral's events (the referral list and
//! the finding's card) and the network's levels and routes (the network page). Each calls the
//! referral service as its REST route does; a refusal returns in the page's language.

use app::domain::followup::event::WorkupModality;
use app::domain::referral::{NewCaseReferral, NewReferral, ReferralEvent};
use app::domain::said::Said;
use app::model::referral::{LevelRequest, Route};
use app::service::{Caller, ServiceError, referral as service};
use axum::{
    Form,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::extract::versioned_event;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, local_page, redirect_with, refusal_text};
use crate::state::AppState;

/// Where the referral list and the network page live (the pages' own constants, in the app).
const LIST: &str = "/referrals";
const NETWORK: &str = "/admin/network";

type Fields = Vec<(String, String)>;

fn value(fields: &Fields, key: &str) -> String {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

fn id_of(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

/// Back to `page` with the result: `referral=STATUS` when it was recorded, `error=` with the
/// refusal in the page's language otherwise. Something that is not there (or not the caller's
/// to see) is a 404, as on the REST route.
fn answer(
    page: &str,
    result: Result<app::model::referral::ReferralItem, ServiceError>,
    language: PageLanguage,
) -> Response {
    match result {
        Ok(referral) => audited(redirect_with(page, "referral", referral.status.as_str())),
        Err(ServiceError::NotFound) => audited(ApiError::NotFound.into_response()),
        Err(error) => audited(redirect_with(page, "error", &refusal_text(&error, language.0))),
    }
}

/// The request of the finding page's refer form (`to_site`, `reason`, `requested_workup`); a
/// work-up this version does not know is refused with the ones it does.
fn new_referral(fields: &Fields) -> Result<NewReferral, ServiceError> {
    let workup = value(fields, "requested_workup");
    let requested_workup = WorkupModality::parse(&workup).ok_or_else(|| {
        let valid: Vec<&str> = WorkupModality::ALL.iter().map(|m| m.as_str()).collect();
        ServiceError::invalid("requested_workup", Said::one_of(&valid))
    })?;
    Ok(NewReferral { to_site: value(fields, "to_site"), reason: value(fields, "reason"), requested_workup })
}

/// `POST /findings/{id}/referrals` (the finding page's refer form): back to the finding.
pub async fn refer_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let Some(id) = id_of(&id) else { return ApiError::NotFound.into_response() };
    let result = match new_referral(&fields) {
        Ok(request) => service::refer(&state.pool, &caller, id, request).await,
        Err(error) => Err(error),
    };
    answer(&format!("/findings/{id}"), result, language)
}

/// `POST /mdt/cases/{id}/referrals` (the case page's refer form: `to_site`, `reason`): back to
/// the case.
pub async fn refer_case_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let Some(id) = id_of(&id) else { return ApiError::NotFound.into_response() };
    let request = NewCaseReferral { to_site: value(&fields, "to_site"), reason: value(&fields, "reason") };
    let result = service::refer_case(&state.pool, &caller, id, request).await;
    answer(&format!("/mdt/cases/{id}"), result, language)
}

/// A referral event from a form: `event`, `expected_version` and the event's `note` or `reason`,
/// as the REST route reads its JSON (an empty note is no note; an empty reason is refused by the
/// rules with the field's name).
fn event_of(fields: &Fields) -> Result<(i32, ReferralEvent), ServiceError> {
    let mut event = Map::new();
    for (name, text) in fields {
        match name.as_str() {
            "expected_version" => {
                event.insert(name.clone(), text.trim().parse::<i64>().map_or(Value::Null, Value::from));
            }
            "event" | "note" | "reason" => {
                event.insert(name.clone(), Value::String(text.trim().to_owned()));
            }
            _ => {}
        }
    }
    versioned_event(event, "expected_version")
}

/// `POST /referrals/{id}/events` (a referral's forms on the list and on the finding's card):
/// back to `back`, the page (path and query) the form was on.
pub async fn record_event_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let Some(id) = id_of(&id) else { return ApiError::NotFound.into_response() };
    let back = value(&fields, "back");
    let page = if back.is_empty() { LIST } else { local_page(&back) };
    let result = match event_of(&fields) {
        Ok((version, event)) => service::record(&state.pool, &caller, id, version, event).await,
        Err(error) => Err(error),
    };
    answer(page, result, language)
}

/// Back to the network page: `saved=WHAT` when it was saved, `error=` with the refusal.
fn to_network<T>(result: Result<T, ServiceError>, saved: &str, language: PageLanguage) -> Response {
    match result {
        Ok(_) => audited(redirect_with(NETWORK, "saved", saved)),
        Err(error) => audited(redirect_with(NETWORK, "error", &refusal_text(&error, language.0))),
    }
}

/// `POST /admin/network/levels` (`site`, `level`; an empty level takes the site out of the
/// network).
pub async fn set_level_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Form(fields): Form<Fields>,
) -> Response {
    let level = Some(value(&fields, "level")).filter(|l| !l.is_empty());
    let request = LevelRequest { site: value(&fields, "site"), level };
    to_network(service::set_level(&state.pool, &caller, &request).await, "level", language)
}

fn route_of(fields: &Fields) -> Route {
    Route { from: value(fields, "from"), to: value(fields, "to") }
}

/// `POST /admin/network/routes` (`from`, `to`): opens the route.
pub async fn open_route_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Form(fields): Form<Fields>,
) -> Response {
    to_network(service::set_route(&state.pool, &caller, &route_of(&fields), true).await, "opened", language)
}

/// `POST /admin/network/routes/close` (`from`, `to`): closes it.
pub async fn close_route_form(
    State(state): State<AppState>,
    caller: Caller,
    language: PageLanguage,
    Form(fields): Form<Fields>,
) -> Response {
    to_network(service::set_route(&state.pool, &caller, &route_of(&fields), false).await, "closed", language)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_form_event_reads_as_the_api_reads_its_json() {
        let accept = fields(&[("event", "accept"), ("expected_version", "3"), ("note", " "), ("back", "/referrals")]);
        let (version, event) = event_of(&accept).expect("an acceptance");
        assert_eq!((version, event.normalised()), (3, ReferralEvent::Accept { note: None }));
        let decline = fields(&[("event", "decline"), ("expected_version", "1"), ("reason", " No capacity ")]);
        assert_eq!(event_of(&decline).expect("a refusal").1, ReferralEvent::Decline { reason: "No capacity".into() });
        let stale = fields(&[("event", "accept"), ("expected_version", "one")]);
        assert!(matches!(event_of(&stale), Err(ServiceError::Invalid { field, .. }) if field == "expected_version"));
    }

    #[test]
    fn an_unknown_work_up_names_the_field_and_the_valid_ones() {
        let form = fields(&[("to_site", "demo-gh"), ("reason", "Work-up"), ("requested_workup", "x-ray")]);
        let Err(ServiceError::Invalid { field, message }) = new_referral(&form) else { panic!("refused") };
        assert_eq!(field, "requested_workup");
        assert!(message.en.contains("colonoscopy"), "{}", message.en);
        let form = fields(&[("to_site", "DEMO-GH"), ("reason", "Work-up"), ("requested_workup", "colonoscopy")]);
        assert_eq!(new_referral(&form).expect("read").requested_workup, WorkupModality::Colonoscopy);
    }
}
