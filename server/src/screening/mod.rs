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
