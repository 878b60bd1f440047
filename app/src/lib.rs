//! Elysium's Leptos application, shared by server-side rendering (`ssr`) and the browser
//! (`hydrate`). Pages work with JavaScript off (forms post, the server renders) and, once
//! hydrated, navigate on the client.

// The hydrate build computes the layout of deeply nested view types (the record page's charts
// and tables, the administration forms); the default limit of 128 is too low for them.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod domain;
pub mod format;
pub mod i18n;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::shell::Shell;
use crate::pages::{
    admin, finding::FindingPage, home::HomePage, login::LoginPage, mdt_agreement, mdt_cases, mdt_meetings, models,
    not_found::NotFound, profile::ProfilePage, program, settings, studies, tokens, upload::UploadPage, users, viewer,
    worklist::WorklistPageView,
};

/// The HTML document around the app (server side only renders it).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/pkg/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page waits for its data on the server (SsrMode::Async) so that the HTML is complete
    // without JavaScript; hydration then takes over navigation.
    view! {
        <Stylesheet id="leptos" href="/pkg/elysium.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Elysium".to_owned() } else { format!("{page} · Elysium") }
        } />
        <crate::i18n::I18nContextProvider>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/") view=move || view! { <Shell><HomePage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/worklist") view=move || view! { <Shell><WorklistPageView /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/findings/:id") view=move || view! { <Shell><FindingPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/studies") view=move || view! { <Shell><studies::StudiesPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/studies/:uid") view=move || view! { <Shell><studies::StudyPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/studies/:uid/series/:series") view=move || view! { <Shell><viewer::ViewerPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/patients") view=move || view! { <Shell><crate::pages::patients::PatientSearchPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/patients/:id") view=move || view! { <Shell><crate::pages::patients::PatientRecordPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/lesions/:id") view=move || view! { <Shell><crate::pages::lesions::LesionPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/upload") view=move || view! { <Shell><UploadPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt") view=move || view! { <Shell><mdt_cases::CaseListPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt/cases/new") view=move || view! { <Shell><mdt_cases::NewCasePage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt/cases/:id") view=move || view! { <Shell><mdt_cases::CasePage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt/meetings") view=move || view! { <Shell><mdt_meetings::MeetingsPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt/meetings/:id") view=move || view! { <Shell><mdt_meetings::MeetingPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/mdt/meetings/:id/present") view=mdt_meetings::PresentPage ssr=SsrMode::Async />
                <Route path=path!("/mdt/agreement") view=move || view! { <Shell><mdt_agreement::AgreementPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/chronic") view=move || view! { <Shell><crate::pages::chronic::ChronicListPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/chronic/:id") view=move || view! { <Shell><crate::pages::chronic::ChronicPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/referrals") view=move || view! { <Shell><crate::pages::referrals::ReferralsPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/profile") view=move || view! { <Shell><ProfilePage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/users") view=move || view! { <Shell><users::UsersPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/sites") view=move || view! { <Shell><crate::pages::sites::SitesPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/network") view=move || view! { <Shell><crate::pages::referrals::network::NetworkPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/account/password") view=move || view! { <Shell><crate::pages::account::PasswordPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/signin-locks") view=move || view! { <Shell><admin::SigninLocksPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=move || view! { <Shell><admin::AuditPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/tokens") view=move || view! { <Shell><tokens::TokensPageView /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/settings") view=move || view! { <Shell><settings::SettingsPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/export") view=move || view! { <Shell><crate::pages::export::ExportPageView /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/models") view=move || view! { <Shell><models::ModelsPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/program") view=move || view! { <Shell><program::ProgramPage /></Shell> } ssr=SsrMode::Async />
                <Route path=path!("/admin/program/records") view=move || view! { <Shell><program::RecordsPage /></Shell> } ssr=SsrMode::Async />
            </Routes>
        </Router>
        </crate::i18n::I18nContextProvider>
    }
}
