//! Sites over HTTP (administrators): `GET|POST /api/v1/admin/sites` lists and creates,
//! `POST /api/v1/admin/sites/{code}` edits one; the same as form posts behind the sites page
//! (they work without JavaScript).

use app::model::admin::{NewSite, SiteUpdate};
use app::service::{Caller, sites};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::http::{PageLanguage, audited, redirect_with, refusal_text};
use crate::state::AppState;

/// `GET /api/v1/admin/sites`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(sites::list(&state.pool, &caller).await?).into_response())
}

/// `POST /api/v1/admin/sites` `{"code","name","patient_id_authority"?,"ae_titles"?:[...]}`: 201.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewSite>,
) -> Result<Response, ApiError> {
    Ok(audited((StatusCode::CREATED, Json(sites::create(&state.pool, &caller, &new).await?))))
}

/// `POST /api/v1/admin/sites/{code}` `{"name","patient_id_authority","ae_titles":[...]}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    ApiJson(update): ApiJson<SiteUpdate>,
) -> Result<Response, ApiError> {
    Ok(audited(Json(sites::update(&state.pool, &caller, &code, &update).await?)))
}

/// The page's AE titles field: one title per line (a title may hold a space).
fn ae_title_lines(fields: &[(String, String)]) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| k == "ae_titles")
        .flat_map(|(_, v)| v.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

fn value(fields: &[(String, String)], key: &str) -> String {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// `POST /admin/sites` (the sites page's "New site" form).
pub async fn create_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let new = NewSite {
        code: value(&fields, "code"),
        name: value(&fields, "name"),
        patient_id_authority: value(&fields, "patient_id_authority"),
        ae_titles: ae_title_lines(&fields),
    };
    match sites::create(&state.pool, &caller, &new).await {
        Ok(site) => audited(redirect_with("/admin/sites", "created", &site.code)),
        Err(error) => audited(redirect_with("/admin/sites", "error", &refusal_text(&error, language))),
    }
}

/// `POST /admin/sites/{code}` (a site's edit form on the sites page).
pub async fn update_form(
    State(state): State<AppState>,
    caller: Caller,
    PageLanguage(language): PageLanguage,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let update = SiteUpdate {
        name: value(&fields, "name"),
        patient_id_authority: value(&fields, "patient_id_authority"),
        ae_titles: ae_title_lines(&fields),
    };
    match sites::update(&state.pool, &caller, &code, &update).await {
        Ok(site) => audited(redirect_with("/admin/sites", "saved", &site.code)),
        Err(error) => audited(redirect_with("/admin/sites", "error", &refusal_text(&error, language))),
    }
}

#[cfg(test)]
mod tests {
    use super::ae_title_lines;

    #[test]
    fn one_ae_title_per_line_spaces_kept_inside() {
        let fields = vec![("ae_titles".to_owned(), "RC-PACS\r\nMY PACS\n\nCT1".to_owned())];
        assert_eq!(ae_title_lines(&fields), ["RC-PACS", "MY PACS", "", "CT1"]);
    }
}
