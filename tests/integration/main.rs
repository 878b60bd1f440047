//! Database and HTTP integration tests against the real PostgreSQL (a fresh database per test,
//! from `DATABASE_URL`) and a real server on a free port.

mod audit;
mod auth;
mod authorization;
mod bad_input;
mod charsets;
mod chronic;
mod dicomweb;
mod dimse;
mod export;
mod fhir;
mod findings_db;
mod followup;
mod governance;
mod health;
mod identity;
mod ingest;
mod language;
mod lesions;
mod logging;
mod mdt;
mod monitoring;
mod pages;
mod phi_audit;
mod program;
mod queue;
mod record;
mod referral;
mod reports;
mod screening;
mod settings;
mod sites;
mod sweep;
mod tokens;
mod upload;
mod users;
