//! Screening settings (environment variables, or flags of `elysium serve` and `elysium worker`).

use std::path::PathBuf;
use std::time::Duration;

use elysium_inference::runtime::DevicePreference;

#[derive(Debug, Clone, clap::Args)]
pub struct ScreeningConfig {
    /// Where inference runs: `auto` (CUDA when the ONNX Runtime library has it and a GPU answers,
    /// else the CPU with a warning), `cuda` (fail when CUDA is unusable) or `cpu`.
    #[arg(long, env = "ELYSIUM_INFERENCE_DEVICE", default_value = "auto", value_parser = parse_device)]
    pub inference_device: DevicePreference,
    /// Screening workers in this process (0: this process only serves; `elysium worker` screens).
    #[arg(long, env = "ELYSIUM_WORKERS", default_value_t = 1)]
    pub workers: usize,
    /// Threads each worker's ONNX Runtime session uses per operator.
    #[arg(long, env = "ELYSIUM_INTRA_THREADS", default_value_t = 1)]
    pub intra_threads: usize,
    /// The folder of model folders (each with manifest.toml and model.onnx).
    #[arg(long, env = "ELYSIUM_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// The active screening model, `name@version` (default: the highest version found of the
    /// first screening model by name).
    #[arg(long, env = "ELYSIUM_SCREENING_MODEL")]
    pub screening_model: Option<String>,
    /// A model version to run in shadow, `name@version`: it screens every series the active
    /// model screens, its results are stored apart and compared, and it raises no finding.
    #[arg(long, env = "ELYSIUM_SHADOW_MODEL")]
    pub shadow_model: Option<String>,
    /// Attempts before a job ends `failed`.
    #[arg(long, env = "ELYSIUM_JOB_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=20))]
    pub job_max_attempts: i32,
    /// A worker holds a job this long without a heartbeat before another may take it.
    #[arg(long, env = "ELYSIUM_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub job_lease_seconds: u64,
    /// A series is complete when no instance has arrived for this long.
    #[arg(long, env = "ELYSIUM_SERIES_QUIET_SECONDS", default_value_t = 30)]
    pub series_quiet_seconds: u64,
    /// Queue eligible series automatically (the scheduler runs in `elysium serve`).
    #[arg(long, env = "ELYSIUM_AUTO_SCREENING", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub auto_screening: bool,
}

fn parse_device(text: &str) -> Result<DevicePreference, String> {
    text.parse()
}

impl ScreeningConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.job_lease_seconds.max(5))
    }

    pub fn quiet(&self) -> Duration {
        Duration::from_secs(self.series_quiet_seconds)
    }
}
