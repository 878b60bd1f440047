//! A study's screening: its series' current results and its jobs. The REST API
//! (`GET /api/v1/studies/{uid}/screening`) serialises exactly these types, and the study page
//! renders them; the page's summaries (highest probabilities, biomarkers in words) are computed
//! from them here, on either side.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::language::Language;
use crate::domain::program::skips::SkipReason;
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
    /// A cascade model's run: the box its second stage tiled (grid indices and patient mm; `null`
    /// when its first stage found none of its organs) and each stage's time. Absent otherwise.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub cascade: Value,
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
    /// The worker's own message (English; technical, for administrators).
    pub error: Option<String>,
    /// Why a skipped job was not screened, one per failed eligibility rule (the pages word
    /// them in the reader's language; `error` has the checker's sentences).
    pub skip_reasons: Vec<SkipReason>,
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

    /// The biomarkers in words, in `language`: (label, value), those the pipeline measured.
    pub fn biomarker_lines(&self, language: Language) -> Vec<(&'static str, String)> {
        let b = &self.biomarkers;
        let zh = language == Language::SimplifiedChinese;
        let hu = |key: &str| b[key].as_f64().map(|v| format!("{v:.0} HU"));
        let mm3 = |key: &str| b[key].as_f64().map(|v| format!("{v:.0} mm³"));
        let yes_no = |s: bool| match (zh, s) {
            (false, true) => "yes",
            (false, false) => "no",
            (true, true) => "是",
            (true, false) => "否",
        };
        let density = |s: &str| match (zh, s) {
            (true, "normal") => "正常".to_owned(),
            (true, "low" | "low_bone_density") => "骨密度偏低".to_owned(),
            (true, "osteoporosis_likely") => "可能骨质疏松".to_owned(),
            _ => s.replace('_', " "),
        };
        let label = |en: &'static str, chinese: &'static str| if zh { chinese } else { en };
        [
            (label("Liver", "肝脏"), hu("liver_hu")),
            (label("Liver − spleen", "肝脏 − 脾脏"), hu("liver_minus_spleen_hu")),
            (
                label("Steatosis (liver < 40 HU)", "脂肪肝（肝脏 < 40 HU）"),
                b["steatosis"].as_bool().map(|s| yes_no(s).to_owned()),
            ),
            (
                label("L1 trabecular", "L1 椎体松质骨"),
                hu("l1_trabecular_hu").or_else(|| b["l1_unmeasured"].as_str().map(|why| l1_unmeasured(zh, why))),
            ),
            (label("Bone density", "骨密度"), b["bone_density"].as_str().map(density)),
            (label("Coronary calcium ≥ 130 HU", "冠状动脉钙化（≥ 130 HU）"), mm3("coronary_calcium_mm3")),
            (label("Aortic calcium ≥ 130 HU", "主动脉钙化（≥ 130 HU）"), mm3("aortic_calcium_mm3")),
        ]
        .into_iter()
        .filter_map(|(label, value)| Some((label, value?)))
        .collect()
    }

    /// The whole pipeline's time, when recorded.
    pub fn total_ms(&self) -> Option<f64> {
        self.timings_ms["total"].as_f64()
    }

    /// What this result replaced, in words, in `language` (`None` for a series' first result).
    pub fn supersedes_text(&self, language: Language) -> Option<String> {
        let s = self.supersedes.as_ref()?;
        let at = s.created_at.map(crate::format::minute);
        Some(match language {
            Language::English => {
                let on = s.instances.map(|n| format!(" on {n} instances")).unwrap_or_default();
                let at = at.unwrap_or_default();
                format!("Current result; it supersedes result #{} of {at}{on}, which is kept.", s.id)
            }
            Language::SimplifiedChinese => {
                let at = at.map(|at| format!(" {at} 的")).unwrap_or_default();
                let on = s.instances.map(|n| format!("（基于 {n} 幅图像）")).unwrap_or_default();
                format!("当前结果；它取代了{at}结果 #{}{on}，原结果仍保留。", s.id)
            }
        })
    }
}

/// Why the L1 trabecular attenuation was not measured (the pipeline's `l1_unmeasured`), in words.
fn l1_unmeasured(zh: bool, why: &str) -> String {
    let (en, chinese) = match why {
        "no_vertebra_label" => ("the model labels no vertebra", "模型不标注椎骨"),
        "no_kidney_label" => ("the model labels no kidney, the landmark for L1", "模型不标注肾脏（L1 的定位标志）"),
        "kidneys_not_in_field" => ("no kidneys in the field to place L1 by", "扫描范围内无肾脏，无法定位 L1"),
        "kidneys_cut_by_field" => {
            ("the kidneys run out of the field, so L1 cannot be placed", "肾脏超出扫描范围，无法定位 L1")
        }
        "no_vertebra_at_level" => ("no vertebra labelled at the L1 level", "L1 层面未标注椎骨"),
        "no_trabecular_core" => ("no trabecular bone clear of the cortex at L1", "L1 未找到远离皮质的松质骨"),
        _ => return if zh { "未测量".to_owned() } else { format!("not measured ({})", why.replace('_', " ")) },
    };
    if zh { format!("未测量：{chinese}") } else { format!("not measured: {en}") }
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
            cascade: Value::Null,
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
            r.biomarker_lines(Language::English),
            [
                ("Liver", "38 HU".to_owned()),
                ("Steatosis (liver < 40 HU)", "yes".to_owned()),
                ("Bone density", "low bone density".to_owned())
            ]
        );
        assert_eq!(
            r.biomarker_lines(Language::SimplifiedChinese),
            [
                ("肝脏", "38 HU".to_owned()),
                ("脂肪肝（肝脏 < 40 HU）", "是".to_owned()),
                ("骨密度", "骨密度偏低".to_owned())
            ]
        );
        let mut unmeasured = result();
        unmeasured.biomarkers = json!({ "l1_trabecular_hu": null, "l1_unmeasured": "kidneys_not_in_field" });
        assert_eq!(
            unmeasured.biomarker_lines(Language::English),
            [("L1 trabecular", "not measured: no kidneys in the field to place L1 by".to_owned())]
        );
        assert_eq!(
            unmeasured.biomarker_lines(Language::SimplifiedChinese),
            [("L1 椎体松质骨", "未测量：扫描范围内无肾脏，无法定位 L1".to_owned())]
        );
        unmeasured.biomarkers = json!({ "l1_trabecular_hu": 212.4, "l1_unmeasured": null });
        assert_eq!(unmeasured.biomarker_lines(Language::English), [("L1 trabecular", "212 HU".to_owned())]);
        assert_eq!(r.total_ms(), Some(290.0));
        assert_eq!(
            r.supersedes_text(Language::English).as_deref(),
            Some("Current result; it supersedes result #7 of 2026-12-04 08:00 UTC on 24 instances, which is kept.")
        );
        assert_eq!(
            r.supersedes_text(Language::SimplifiedChinese).as_deref(),
            Some("当前结果；它取代了 2026-12-04 08:00 UTC 的结果 #7（基于 24 幅图像），原结果仍保留。")
        );
        let first = ScreeningResult { supersedes: None, ..result() };
        assert_eq!(first.supersedes_text(Language::English), None);
        assert_eq!(first.supersedes_text(Language::SimplifiedChinese), None);
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
