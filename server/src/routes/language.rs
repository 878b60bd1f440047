//! Switching the interface language: `POST /language` with `language` (`en`, `zh-Hans`) and
//! `back` (where to return). Anyone may switch (the sign-in page too); for a signed-in user the
//! choice is also saved in their profile, so it follows them to other browsers. The answer sets
//! the language cookie and returns to the page, without signing out, with or without JavaScript.

use app::api::session::ssr::ClientAddr;
use app::domain::language::Language;
use app::model::SessionUser;
use app::service::Caller;
use axum::{
    Extension, Form,
    extract::State,
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::{LANGUAGE_COOKIE, audited, chosen_language_cookies};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    language: String,
    #[serde(default)]
    back: String,
}

pub async fn switch(
    State(state): State<AppState>,
    user: Option<Extension<SessionUser>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Form(form): Form<LanguageForm>,
) -> Result<Response, ApiError> {
    let caller = user.map(|Extension(user)| Caller::new(user, Some(client)));
    let language = Language::parse(form.language.trim())
        .ok_or_else(|| ApiError::Validation("language: `en` or `zh-Hans`".into()))?;
    if let Some(caller) = &caller {
        app::service::profile::set_language(&state.pool, caller, Some(language)).await?;
    }
    let back = crate::http::local_page(&form.back);
    let mut response = Redirect::to(back).into_response();
    for cookie in chosen_language_cookies(language, state.config.secure_cookies()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    // A signed-in user's switch wrote its own audit event; a visitor's changes nothing stored.
    Ok(if caller.is_some() { audited(response) } else { response })
}

/// The language a page request gets: the signed-in user's profile choice (`profile`), else the
/// person's explicit choice in this browser (the
/// [`CHOSEN_LANGUAGE_COOKIE`](crate::http::CHOSEN_LANGUAGE_COOKIE)), else what the
/// browser's `Accept-Language` asks for (see
/// [`Language::negotiate`]), else English. The request's [`LANGUAGE_COOKIE`] is set to it, so the
/// page renders in it; when the browser holds another value, the language is returned so that
/// the response corrects the browser's cookie and the hydrated page agrees with the server's.
pub fn resolve(request: &mut axum::extract::Request, profile: Option<Language>) -> Option<Language> {
    let language = crate::http::reader_language(request.headers(), profile);
    let cookies = request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let held = crate::http::cookie_language(cookies, LANGUAGE_COOKIE);
    let others: Vec<&str> =
        cookies.split(';').map(str::trim).filter(|c| !c.is_empty() && !c.starts_with(LANGUAGE_COOKIE)).collect();
    let pair = format!("{LANGUAGE_COOKIE}={}", language.as_str());
    let combined = others.into_iter().chain([pair.as_str()]).collect::<Vec<_>>().join("; ");
    if let Ok(value) = axum::http::HeaderValue::from_str(&combined) {
        request.headers_mut().insert(header::COOKIE, value);
    }
    (held != Some(language)).then_some(language)
}
