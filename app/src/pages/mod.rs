//! One module per page (or group of pages) of the app.

pub mod account;
pub mod admin;
pub mod chronic;
pub mod export;
pub mod finding;
pub mod health;
pub mod home;
pub mod lesions;
pub mod login;
pub mod mdt_agreement;
pub mod mdt_cases;
pub mod mdt_meetings;
pub mod models;
pub mod not_found;
pub mod patients;
pub mod profile;
pub mod program;
pub mod referrals;
pub mod settings;
pub mod sites;
pub mod studies;
pub mod tokens;
pub mod upload;
pub mod users;
pub mod viewer;
pub mod worklist;
