//! A screening job's states and why it was queued, as the queue stores them
//! (`screening_job.status` and `.reason`, constrained to these names by the migration
//! `20261126000004_screening_queue`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    /// Not screened: the series is not eligible (the reason is the job's error).
    Skipped,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] =
        [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed, JobStatus::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Skipped => "skipped",
        }
    }

    pub fn parse(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn label(self) -> &'static str {
        match self {
            JobStatus::Queued => "Queued",
            JobStatus::Running => "Running",
            JobStatus::Done => "Done",
            JobStatus::Failed => "Failed",
            JobStatus::Skipped => "Skipped",
        }
    }

    /// Still to finish: the study page keeps watching.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

impl crate::domain::language::Labelled for JobStatus {
    fn label_en(self) -> &'static str {
        self.label()
    }

    fn label_zh(self) -> &'static str {
        match self {
            JobStatus::Queued => "排队中",
            JobStatus::Running => "运行中",
            JobStatus::Done => "已完成",
            JobStatus::Failed => "失败",
            JobStatus::Skipped => "已跳过",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobReason {
    /// The series arrived complete and eligible (or changed after its last screening).
    Auto,
    /// Someone asked for a (re-)run.
    Rerun,
}

impl JobReason {
    pub fn as_str(self) -> &'static str {
        match self {
            JobReason::Auto => "auto",
            JobReason::Rerun => "rerun",
        }
    }

    pub fn parse(name: &str) -> Option<JobReason> {
        [JobReason::Auto, JobReason::Rerun].into_iter().find(|r| r.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_queue_tables_and_serde_agrees() {
        // The names the migration's check constraint allows, written out.
        let stored = ["queued", "running", "done", "failed", "skipped"];
        for (status, name) in JobStatus::ALL.into_iter().zip(stored) {
            assert_eq!(status.as_str(), name);
            assert_eq!(JobStatus::parse(name), Some(status));
            assert_eq!(serde_json::to_value(status).ok(), Some(serde_json::json!(name)));
        }
        assert_eq!(JobStatus::parse("Queued"), None);
        assert_eq!(JobReason::parse("auto"), Some(JobReason::Auto));
        assert_eq!(JobReason::parse("rerun"), Some(JobReason::Rerun));
        assert_eq!(JobReason::parse("manual"), None);
        assert_eq!(serde_json::to_value(JobReason::Rerun).ok(), Some(serde_json::json!("rerun")));
    }

    #[test]
    fn only_queued_and_running_are_active() {
        let active: Vec<_> = JobStatus::ALL.into_iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [JobStatus::Queued, JobStatus::Running]);
    }
}
