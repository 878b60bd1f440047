//! A study's screening: its series' current results and its jobs. The REST API
//! (`GET /api/v1/studies/{uid}/screening`) serialises exactly these types, and the study page
//! renders them; the page's summaries (highest probabilities, biomarkers in words) are computed
//! from them here, on either side.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::screening::{JobReason, JobStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningOverview {
    pub study_uid: String,
    /// The current result of each series that has one.
    pub series: Vec<ScreeningResult>,
    /// The study's jobs, newest first.
    pub jobs: Vec<ScreeningJob>,
}

impl ScreeningOverview {
    /// Whether anything is still queued or running (the page keeps watching).
    pub fn is_active(&self) -> bool {
        self.jobs.iter().any(|j| j.status.is_active())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// A series' current result. The model's output blocks (`tumor_probabilities`, `positives`,
/// `lesions`, `biomarkers`) are passed on as the pipeline stored them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResult {
    pub series_uid: String,
    pub model: ModelRef,
    pub execution_provider: String,
    pub device: String,
    /// organ → class → probability.
    pub tumor_probabilities: Value,
    pub positives: Value,
    pub lesions: Value,
    pub biomarkers: Value,
    pub timings_ms: Value,
    #[serde(with = "crate::format::wire_time")]
    pub created_at: OffsetDateTime,
    /// The instances it was computed on.
    pub instances: Option<i32>,
    /// The result it replaced (which is kept); `None` for a series' first result.
    pub supersedes: Option<Superseded>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Superseded {
    pub id: i64,
    #[serde(with = "crate::format::wire_time::option")]
    pub created_at: Option<OffsetDateTime>,
    pub instances: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningJob {
    pub id: i64,
    pub series_uid: String,
    /// "name version".
    pub model: String,
    pub status: JobStatus,
    pub stage: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub error: Option<String>,
    pub reason: JobReason,
    /// 2 and up: the series changed after its earlier screening and is screened again.
    pub generation: i32,
    #[serde(with = "crate::format::wire_time")]
    pub enqueued_at: OffsetDateTime,
    #[serde(with = "crate::format::wire_time::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl ScreeningResult {
    /// The `n` highest class probabilities as ("organ/class", p), highest first.
    pub fn top(&self, n: usize) -> Vec<(String, f64)> {
        let mut all: Vec<(String, f64)> = self
            .tumor_probabilities
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(organ, classes)| {
                classes
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(move |(class, p)| Some((format!("{organ}/{class}"), p.as_f64()?)))
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// The positives as "organ/class".
    pub fn positive_names(&self) -> Vec<String> {
        self.positives
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{}/{}", p["organ"].as_str().unwrap_or("?"), p["class"].as_str().unwrap_or("?")))
            .collect()
    }

    /// The biomarkers in words: (label, value), those the pipeline measured.
    pub fn biomarker_lines(&self) -> Vec<(&'static str, String)> {
        let b = &self.biomarkers;
        let hu = |key: &str| b[key].as_f64().map(|v| format!("{v:.0} HU"));
        [
            ("Liver", hu("liver_hu")),
            ("Liver − spleen", hu("liver_minus_spleen_hu")),
            ("Steatosis (liver < 40 HU)", b["steatosis"].as_bool().map(|s| if s { "yes".into() } else { "no".into() })),
            ("L1 trabecular", hu("l1_trabecular_hu")),
            ("Bone density", b["bone_density"].as_str().map(|s| s.replace('_', " "))),
            ("Coronary calcium ≥ 130 HU", b["coronary_calcium_mm3"].as_f64().map(|v| format!("{v:.0} mm³"))),
            ("Aortic calcium ≥ 130 HU", b["aortic_calcium_mm3"].as_f64().map(|v| format!("{v:.0} mm³"))),
        ]
        .into_iter()
        .filter_map(|(label, value)| Some((label, value?)))
        .collect()
    }

    /// The whole pipeline's time, when recorded.
    pub fn total_ms(&self) -> Option<f64> {
        self.timings_ms["total"].as_f64()
    }

    /// What this result replaced, in words (`None` for a series' first result).
    pub fn supersedes_text(&self) -> Option<String> {
        let s = self.supersedes.as_ref()?;
        let on = s.instances.map(|n| format!(" on {n} instances")).unwrap_or_default();
        let at = s.created_at.map(crate::format::minute).unwrap_or_default();
        Some(format!("Current result; it supersedes result #{} of {at}{on}, which is kept.", s.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn result() -> ScreeningResult {
        ScreeningResult {
            series_uid: "1.2.3".into(),
            model: ModelRef { name: "m".into(), version: "1".into(), sha256: "ab".into() },
            execution_provider: "cpu".into(),
            device: "cpu".into(),
            tumor_probabilities: json!({
                "liver": { "normal": 0.1, "hcc": 0.7 },
                "lung": { "normal": 0.9, "nodule": 0.05 },
                "kidney": { "normal": 0.2, "rcc": 0.3 },
            }),
            positives: json!([{ "organ": "liver", "class": "hcc", "probability": 0.7, "threshold": 0.5 }]),
            lesions: json!([]),
            biomarkers: json!({ "liver_hu": 38.4, "steatosis": true, "bone_density": "low_bone_density" }),
            timings_ms: json!({ "total": 290.0 }),
            created_at: datetime!(2026-12-04 09:05:07 UTC),
            instances: Some(48),
            supersedes: Some(Superseded {
                id: 7,
                created_at: Some(datetime!(2026-12-04 08:00 UTC)),
                instances: Some(24),
            }),
        }
    }

    #[test]
    fn summaries_in_words() {
        let r = result();
        assert_eq!(
            r.top(3),
            [("lung/normal".to_owned(), 0.9), ("liver/hcc".to_owned(), 0.7), ("kidney/rcc".to_owned(), 0.3)]
        );
        assert_eq!(r.positive_names(), ["liver/hcc"]);
        assert_eq!(
            r.biomarker_lines(),
            [
                ("Liver", "38 HU".to_owned()),
                ("Steatosis (liver < 40 HU)", "yes".to_owned()),
                ("Bone density", "low bone density".to_owned())
            ]
        );
        assert_eq!(r.total_ms(), Some(290.0));
        assert_eq!(
            r.supersedes_text().as_deref(),
            Some("Current result; it supersedes result #7 of 2026-12-04 08:00 UTC on 24 instances, which is kept.")
        );
    }

    #[test]
    fn the_wire_shape_is_the_rest_apis() {
        let value = serde_json::to_value(result()).expect("serialises");
        assert_eq!(value["created_at"], json!("2026-12-04T09:05:07Z"));
        assert_eq!(value["supersedes"], json!({ "id": 7, "created_at": "2026-12-04T08:00:00Z", "instances": 24 }));
        assert_eq!(value["model"], json!({ "name": "m", "version": "1", "sha256": "ab" }));
        let back: ScreeningResult = serde_json::from_value(value).expect("round trip");
        assert_eq!(back, result());
    }
}
