use crate::components::title::PageTitle;
use leptos::prelude::*;

use crate::i18n::{t, t_string, use_i18n};

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <PageTitle text=t_string!(i18n, home.not_found.title).to_string() />
        <main id="main" class="page narrow">
            <h1>{t!(i18n, home.not_found.heading)}</h1>
            <p>{t!(i18n, home.not_found.text, <home> = <a href="/" />)}</p>
        </main>
    }
}
