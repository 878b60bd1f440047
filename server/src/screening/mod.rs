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
