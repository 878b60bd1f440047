//! Programme metrics over HTTP (administrators): the programme table as JSON and CSV (in English
//! or Chinese), and the records behind each of its figures.

use app::domain::language::{Labelled, Language};
use app::model::program::{ProgramParams, ProgramReport, RecordsParams};
use app::service::{Caller, program};
use axum::{
    Json,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::audited;
use crate::reports::{asked_language, csv_start};
use crate::state::AppState;

/// The filter as a query string; an unknown parameter is refused rather than ignored (a typo in
/// `cancer` must not silently report every cancer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramQuery {
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    cancer: Option<String>,
    model_version: Option<String>,
}

impl From<ProgramQuery> for ProgramParams {
    fn from(q: ProgramQuery) -> Self {
        ProgramParams { from: q.from, to: q.to, site: q.site, cancer: q.cancer, model_version: q.model_version }
    }
}

/// The CSV's query: the same filter, and `lang` (`en` or `zh-Hans`) for the column titles and
/// cancer names of a person's spreadsheet; without it, the machine names (as in the JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramCsvQuery {
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    cancer: Option<String>,
    model_version: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsQuery {
    from: Option<String>,
    to: Option<String>,
    site: Option<String>,
    cancer: Option<String>,
    model_version: Option<String>,
    figure: String,
    reason: Option<String>,
    page: Option<u64>,
}

fn today() -> time::Date {
    app::service::followup::today()
}

/// `GET /api/v1/metrics/program?from=&to=&site=&cancer=&model_version=`.
pub async fn program_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProgramQuery>,
) -> Result<Response, ApiError> {
    let report = program::report(&state.pool, &caller, &query.into(), today()).await?;
    Ok(audited(Json(report)))
}

/// `GET /api/v1/metrics/program.csv?...&lang=`: the table, one row per cancer and a total row;
/// with `lang=zh-Hans`, Chinese column titles and cancer names (see `CSV_HEADER`).
pub async fn program_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProgramCsvQuery>,
) -> Result<Response, ApiError> {
    let ProgramCsvQuery { from, to, site, cancer, model_version, lang } = query;
    let language = asked_language(lang.as_deref())?.unwrap_or(Language::English);
    let params = ProgramParams { from, to, site, cancer, model_version };
    let report = program::report(&state.pool, &caller, &params, today()).await?;
    let body = table_csv(&report, language).map_err(ApiError::internal)?;
    let filename = format!("attachment; filename=\"programme-{}-{}.csv\"", report.from, report.to);
    Ok(audited(
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, filename)], body)
            .into_response(),
    ))
}

/// The CSV columns: the filter, then the JSON's figures; each column's name without `lang` or
/// with `lang=en` (the JSON's field name), then its title with `lang=zh-Hans`: the programme
/// page's Chinese wording (`app/locales/zh-Hans/program.json`, the figures' `Labelled` names).
/// PPVs stay proportions (0–1) and days stay days in either language.
const CSV_HEADER: [(&str, &str); 30] = [
    ("from", "扫描日期自"),
    ("to", "扫描日期至"),
    ("site", "院区"),
    ("model_version", "模型版本"),
    ("cancer", "癌种"),
    ("screened", "已筛查序列"),
    ("eligible", "符合条件的序列"),
    ("patients", "患者数"),
    ("positive", "AI 阳性"),
    ("reviewed", "已审核"),
    ("dismissed", "已排除"),
    ("workup_ordered", "已申请检查"),
    ("confirmed_pathology", "病理确诊"),
    ("confirmed_imaging", "影像确诊"),
    ("benign", "良性"),
    ("no_lesion", "未见病灶（假阳性）"),
    ("declined", "患者拒绝"),
    ("lost", "失访"),
    ("open", "仍在随访"),
    ("overdue", "已逾期"),
    ("ppv_resolved", "阳性预测值 PPV（已有结论）"),
    ("ppv_resolved_ci_low", "阳性预测值 PPV（已有结论）95% 置信区间下限"),
    ("ppv_resolved_ci_high", "阳性预测值 PPV（已有结论）95% 置信区间上限"),
    ("ppv_all", "阳性预测值 PPV（全部阳性）"),
    ("ppv_all_ci_low", "阳性预测值 PPV（全部阳性）95% 置信区间下限"),
    ("ppv_all_ci_high", "阳性预测值 PPV（全部阳性）95% 置信区间上限"),
    ("median_days_to_outcome", "至明确结论天数（中位数）"),
    ("p90_days_to_outcome", "至明确结论天数（第 90 百分位数）"),
    ("median_days_to_decision", "至 MDT 决议天数（中位数）"),
    ("median_days_to_treatment", "至开始治疗天数（中位数）"),
];

/// The header row in `language`.
fn csv_header(language: Language) -> [&'static str; 30] {
    CSV_HEADER.map(|(en, zh)| match language {
        Language::English => en,
        Language::SimplifiedChinese => zh,
    })
}

/// The table in `language`: in English the cancers' codes (`lung`) and `all`, in Chinese their
/// names (`肺癌`) and `全部癌种` (the page's words); the numbers, dates and codes the same in both.
fn table_csv(report: &ProgramReport, language: Language) -> Result<String, csv::Error> {
    let number = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let days = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    let mut out = csv::Writer::from_writer(csv_start(language).as_bytes().to_vec());
    out.write_record(csv_header(language))?;
    for row in report.cancers.iter().chain([&report.total]) {
        let total = std::ptr::eq(row, &report.total);
        let cancer = match language {
            Language::English if total => "all",
            Language::English => row.cancer.as_str(),
            Language::SimplifiedChinese if total => "全部癌种",
            Language::SimplifiedChinese => row.cancer.label_zh(),
        };
        let t = &row.tally;
        let mut record = vec![
            report.from.clone(),
            report.to.clone(),
            report.site.clone().unwrap_or_default(),
            report.model_version.clone().unwrap_or_default(),
            cancer.to_owned(),
        ];
        record.extend(
            [
                row.screened,
                row.eligible,
                row.patients,
                t.positive,
                t.reviewed,
                t.dismissed,
                t.workup_ordered,
                t.confirmed_pathology,
                t.confirmed_imaging,
                t.benign,
                t.no_lesion,
                t.declined,
                t.lost,
                t.open,
                t.overdue,
            ]
            .map(|n| n.to_string()),
        );
        for p in [t.ppv_resolved, t.ppv_all] {
            record.extend([number(p.value), number(p.ci_low), number(p.ci_high)]);
        }
        record.extend([
            days(t.median_days_to_outcome),
            days(t.p90_days_to_outcome),
            days(t.median_days_to_decision),
            days(t.median_days_to_treatment),
        ]);
        out.write_record(&record)?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// `GET /api/v1/metrics/program/records?figure=&reason=&page=&from=&to=&site=&cancer=&model_version=`.
pub async fn records(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RecordsQuery>,
) -> Result<Response, ApiError> {
    let params = RecordsParams {
        from: q.from,
        to: q.to,
        site: q.site,
        cancer: q.cancer,
        model_version: q.model_version,
        figure: q.figure,
        reason: q.reason,
        page: q.page,
    };
    Ok(audited(Json(program::records(&state.pool, &caller, &params, today()).await?)))
}

#[cfg(test)]
mod tests {
    use app::domain::organs::Organ;
    use app::domain::program::{Figure, Tally};
    use app::model::program::CancerFigures;

    use super::*;

    fn figures(cancer: Organ, positive: u64) -> CancerFigures {
        let mut tally = Tally::of(&[]);
        tally.positive = positive;
        tally.open = positive;
        CancerFigures { cancer, screened: 9, eligible: 8, patients: 7, tally, summary: String::new() }
    }

    fn report() -> ProgramReport {
        ProgramReport {
            from: "2026-01-01".into(),
            to: "2026-06-30".into(),
            site: Some("DEMO-GH".into()),
            cancer: None,
            model_version: Some("0.1.0".into()),
            today: "2026-07-01".into(),
            screened: 9,
            eligible_any: 8,
            skipped: 1,
            skipped_by_reason: Vec::new(),
            cancers: vec![figures(Organ::Lung, 3), figures(Organ::Colorectal, 2)],
            total: figures(Organ::Lung, 5),
            weeks: Vec::new(),
            chronic: Vec::new(),
            referral_flows: Vec::new(),
            sites: Vec::new(),
            model_versions: Vec::new(),
        }
    }

    #[test]
    fn without_a_language_the_columns_are_the_json_names_and_the_cancers_their_codes() {
        let csv = table_csv(&report(), Language::English).expect("csv");
        assert!(csv.starts_with("from,"), "no byte order mark in English");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "from,to,site,model_version,cancer,screened,eligible,patients,positive,reviewed,dismissed,workup_ordered,\
             confirmed_pathology,confirmed_imaging,benign,no_lesion,declined,lost,open,overdue,ppv_resolved,\
             ppv_resolved_ci_low,ppv_resolved_ci_high,ppv_all,ppv_all_ci_low,ppv_all_ci_high,median_days_to_outcome,\
             p90_days_to_outcome,median_days_to_decision,median_days_to_treatment"
        );
        assert!(lines[1].starts_with("2026-01-01,2026-06-30,DEMO-GH,0.1.0,lung,9,8,7,3,0,0,0,0,0,0,0,0,0,3,0,"));
        assert!(lines[2].starts_with("2026-01-01,2026-06-30,DEMO-GH,0.1.0,colorectal,"));
        assert!(lines[3].starts_with("2026-01-01,2026-06-30,DEMO-GH,0.1.0,all,9,8,7,5,"));
    }

    #[test]
    fn in_chinese_the_titles_and_cancers_are_chinese_and_the_figures_the_same() {
        let english = table_csv(&report(), Language::English).expect("csv");
        let chinese = table_csv(&report(), Language::SimplifiedChinese).expect("csv");
        let chinese = chinese.strip_prefix('\u{feff}').expect("a UTF-8 byte order mark first, for Excel");
        let lines: Vec<&str> = chinese.lines().collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(header.len(), 30);
        // As the programme page writes them (app/locales/zh-Hans/program.json, the figures' names).
        assert_eq!(header[0], "扫描日期自");
        assert_eq!(header[2], "院区");
        assert_eq!(header[4], "癌种");
        assert_eq!(header[5], "已筛查序列");
        assert_eq!(header[7], "患者数");
        assert_eq!(header[8], "AI 阳性");
        assert_eq!(header[12], "病理确诊");
        assert_eq!(header[18], "仍在随访");
        assert_eq!(header[20], "阳性预测值 PPV（已有结论）");
        assert_eq!(header[26], "至明确结论天数（中位数）");
        let cancers: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(4).unwrap_or_default()).collect();
        assert_eq!(cancers, ["肺癌", "结直肠癌", "全部癌种"]);
        // Apart from the cancer's name, every cell as in English.
        let without_cancer = |line: &str| {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            cells.remove(4);
            cells
        };
        let english: Vec<Vec<String>> = english.lines().skip(1).map(without_cancer).collect();
        let chinese: Vec<Vec<String>> = lines[1..].iter().map(|l| without_cancer(l)).collect();
        assert_eq!(chinese, english);
    }

    /// The Chinese titles are the programme page's own: its locale file's texts and the figures'
    /// names in the table's head; none is read by a spreadsheet as a formula.
    #[test]
    fn the_chinese_titles_are_the_pages_wording() {
        let locale: serde_json::Value =
            serde_json::from_str(include_str!("../../../app/locales/zh-Hans/program.json")).expect("locale");
        let page = [
            ("from", "/filter/from"),
            ("to", "/filter/to"),
            ("site", "/filter/site"),
            ("model_version", "/filter/model_version"),
            ("cancer", "/table/cancer"),
            ("screened", "/table/screened"),
            ("eligible", "/table/eligible"),
            ("patients", "/table/patients"),
            ("ppv_resolved", "/table/ppv_resolved"),
            ("ppv_all", "/table/ppv_all"),
            ("median_days_to_outcome", "/table/median_outcome"),
            ("p90_days_to_outcome", "/table/p90_outcome"),
            ("median_days_to_decision", "/table/median_decision"),
            ("median_days_to_treatment", "/table/median_treatment"),
        ];
        let mut figures = 0;
        for (en, zh) in CSV_HEADER {
            if let Some(figure) = Figure::parse(en) {
                assert_eq!(zh, figure.label_zh(), "{en}");
                figures += 1;
            } else if let Some((_, key)) = page.iter().find(|(column, _)| *column == en) {
                assert_eq!(Some(zh), locale.pointer(key).and_then(|v| v.as_str()), "{en}");
            } else {
                // A PPV's interval: the PPV's title, then which bound.
                let ppv = en.trim_end_matches("_ci_low").trim_end_matches("_ci_high");
                let title = locale["table"][ppv].as_str().expect(en);
                assert!(zh.starts_with(title) && zh.contains("95% 置信区间"), "{en}");
            }
            assert!(!zh.starts_with(['=', '+', '-', '@']), "{zh}");
        }
        assert_eq!(figures, Figure::ALL.len());
    }
}
