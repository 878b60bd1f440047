//! Database and HTTP integration tests against the real PostgreSQL (a fresh database per test,
//! from `DATABASE_URL`) and a real server on a free port.

mod audit;
mod auth;
mod authorization;
mod bad_input;
mod dicomweb;
mod dimse;
mod findings_db;
mod followup;
mod upload;
mod health;
mod identity;
mod phi_audit;
mod pages;
mod queue;
mod screening;
mod sweep;
