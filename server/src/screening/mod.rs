//! Automatic screening: the models on disk, the pipeline that screens one series, the workers
//! that take jobs from the PostgreSQL queue, and the scheduler that queues every eligible CT
//! series once it is complete.

pub mod cli;
pub mod config;
pub mod models;
pub mod pipeline;
pub mod scheduler;
pub mod wakeup;
pub mod worker;

pub use config::ScreeningConfig;

/// `config` with the inference device chosen on the settings page, if one was (read when the
/// workers start: a model session is opened once, on one device). When the setting cannot be
/// read the environment's device applies, and the log says why.
pub async fn with_settings(pool: &sqlx::PgPool, mut config: ScreeningConfig) -> ScreeningConfig {
    match app::service::settings::inference_device(pool, config.inference_device.as_str()).await {
        Ok(device) => match device.parse() {
            Ok(device) => config.inference_device = device,
            Err(error) => tracing::error!(%error, "the stored inference device; the environment's applies"),
        },
        Err(error) => tracing::error!(%error, "reading the inference device setting; the environment's applies"),
    }
    config
}

#[cfg(test)]
mod tests {
    use app::domain::program::SkipReason;

    /// The codes a skipped job records are the ones the programme table knows and labels.
    #[test]
    fn every_skip_code_is_a_known_skip_reason() {
        for code in elysium_dicom::eligibility::SKIP_CODES.iter().chain(&["unreadable"]) {
            assert!(SkipReason::parse(code).is_some(), "{code}");
        }
    }
}
