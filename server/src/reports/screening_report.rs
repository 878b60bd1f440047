//! A study's screening report as PDF (`GET /api/v1/studies/{study_uid}/report.pdf`): who and
//! what was scanned, which series were screened and which were not (and why), each AI-positive
//! finding with its probability, operating threshold and key image, the biomarkers with their
//! cut-offs, the models with their checksums, and the limitations statement. In the reader's
//! language (`?lang=`, else their profile's, else the browser's). Printing is audited
//! (`study.report`): a patient document left the system.

use app::domain::followup::FindingStatus;
use app::domain::language::{Labelled, Language};
use app::domain::program::SkipReason;
use app::model::followup::LesionLocation;
use app::model::screening::ScreeningResult;
use app::model::studies::{EligibilityView, SeriesItem};
use app::service::Caller;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use elysium_db::findings::StudyFindingRow;
use elysium_pdf::{Image, Template};
use object_store::ObjectStoreExt;
use serde::Serialize;

use super::pdf::{ReportQuery, pdf_language, pdf_response, printed_now, reader_language, render};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct ReportData {
    lang: &'static str,
    printed: String,
    printed_by: String,
    site: String,
    patient: PatientLines,
    study: StudyLines,
    series: Vec<SeriesLine>,
    models: Vec<ModelLine>,
    positives: Vec<PositiveLine>,
    biomarkers: Vec<BiomarkerLine>,
}

#[derive(Serialize)]
struct PatientLines {
    name: String,
    id: String,
    birth_date: Option<String>,
    sex: Option<String>,
}

#[derive(Serialize)]
struct StudyLines {
    uid: String,
    date: Option<String>,
    accession: Option<String>,
    description: Option<String>,
}

#[derive(Serialize)]
struct SeriesLine {
    number: Option<String>,
    description: Option<String>,
    images: i32,
    verdict: String,
}

#[derive(Serialize, PartialEq)]
struct ModelLine {
    name: String,
    version: String,
    sha256: String,
    device: Option<String>,
}

#[derive(Serialize)]
struct PositiveLine {
    organ: String,
    class: String,
    probability: String,
    threshold: String,
    size: Option<String>,
    status: String,
    reference: String,
    image: Option<String>,
    aspect: f64,
    marker: Option<Marker>,
}

/// The lesion's circle as fractions of the key image's width (and `y` of its height).
#[derive(Serialize)]
struct Marker {
    x: f64,
    y: f64,
    r: f64,
}

#[derive(Serialize)]
struct BiomarkerLine {
    label: String,
    value: String,
}

/// `GET /api/v1/studies/{study_uid}/report.pdf`: 404 for a study outside the reader's sites.
pub async fn screening_report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(study_uid): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let language = reader_language(&query, &headers, &caller)?;
    let objects = state.ingestor.store().clone();
    let detail = app::service::studies::detail(&state.pool, &objects, &state.views, &caller, &study_uid).await?;
    let overview = app::service::screening::overview(
        &state.pool,
        &state.views,
        &caller,
        &study_uid,
        app::service::screening::ViewAudit::EveryRead,
    )
    .await?;
    let findings = elysium_db::findings::of_study(&state.pool, &study_uid).await?;

    let mut images = Vec::new();
    let mut positives = Vec::new();
    for finding in &findings {
        let location = finding.location.clone().and_then(|l| serde_json::from_value::<LesionLocation>(l).ok());
        let key = match &location {
            Some(location) => key_image(&state, &study_uid, finding, location, images.len() + 1).await,
            None => None,
        };
        positives.push(positive_line(finding, location.as_ref(), key.as_ref(), language));
        images.extend(key.map(|k| k.image));
    }

    let study = detail.study;
    let data = ReportData {
        lang: pdf_language(language),
        printed: printed_now(),
        printed_by: caller.user.display_name.clone(),
        site: study.site.clone().unwrap_or_default(),
        patient: PatientLines {
            name: app::domain::names::display_name_of(study.patient_name.as_deref()).unwrap_or_default(),
            id: format!("{} ({})", study.patient_id, study.patient_authority),
            birth_date: study.patient_birth_date.clone(),
            sex: study.patient_sex.clone(),
        },
        study: StudyLines {
            uid: study.study_uid.clone(),
            date: study.study_date.clone(),
            accession: study.accession_number.clone(),
            description: study.description.clone(),
        },
        series: detail.series.iter().map(|s| series_line(s, &overview.series, language)).collect(),
        models: models(&overview.series, &findings, &state),
        positives,
        biomarkers: overview
            .series
            .iter()
            .flat_map(|r| r.biomarker_lines(language))
            .map(|(label, value)| BiomarkerLine { label: label.to_owned(), value })
            .collect(),
    };
    let pdf = render(Template::Screening, format!("study-report:{study_uid}"), data, images).await?;
    caller
        .audit("study.report")
        .study(&study_uid, &study.patient_id)
        .detail(serde_json::json!({ "language": language.as_str(), "positives": findings.len() }))
        .record(&state.pool)
        .await?;
    Ok(pdf_response(pdf, &format!("screening-report-{}.pdf", study.accession_number.as_deref().unwrap_or("study"))))
}

/// A series' line: screened by which model, or not screened and why.
fn series_line(series: &SeriesItem, results: &[ScreeningResult], language: Language) -> SeriesLine {
    let zh = language == Language::SimplifiedChinese;
    let verdict = match (results.iter().find(|r| r.series_uid == series.series_uid), &series.eligibility) {
        (Some(r), _) => {
            let positives = r.positive_names();
            match (zh, positives.is_empty()) {
                (false, true) => format!("Screened by {} {}: no positive", r.model.name, r.model.version),
                (false, false) => {
                    format!("Screened by {} {}: positive for {}", r.model.name, r.model.version, positives.join(", "))
                }
                (true, true) => format!("已由 {} {} 筛查：阴性", r.model.name, r.model.version),
                (true, false) => {
                    format!("已由 {} {} 筛查：{} 阳性", r.model.name, r.model.version, positives.join("、"))
                }
            }
        }
        (None, Some(e)) if !e.eligible => {
            let reasons = skip_reasons(e, language);
            if zh { format!("未筛查：{reasons}") } else { format!("Not screened: {reasons}") }
        }
        (None, Some(_)) => if zh { "符合筛查条件，尚无结果" } else { "Eligible; no result yet" }.to_owned(),
        (None, None) => {
            if zh { "未筛查：无法读取该序列" } else { "Not screened: the series could not be read" }.to_owned()
        }
    };
    SeriesLine {
        number: series.series_number.map(|n| n.to_string()),
        description: series.description.clone(),
        images: series.instance_count,
        verdict,
    }
}

/// Why a series was not screened, in `language`: the rule's label where the code is known, the
/// recorded English reason otherwise (older verdicts carry no codes).
fn skip_reasons(eligibility: &EligibilityView, language: Language) -> String {
    let labels: Vec<String> = eligibility
        .codes
        .iter()
        .filter_map(|c| SkipReason::parse(c))
        .map(|r| r.label_in(language).to_owned())
        .collect();
    let english = || eligibility.reasons.join("; ");
    match language {
        Language::English => english(),
        Language::SimplifiedChinese if labels.is_empty() => english(),
        Language::SimplifiedChinese => labels.join("；"),
    }
}

/// The models behind the report: those of the stored results, then those of findings entered
/// without one (their checksum from the model registry when it holds that version).
fn models(results: &[ScreeningResult], findings: &[StudyFindingRow], state: &AppState) -> Vec<ModelLine> {
    let mut lines: Vec<ModelLine> = Vec::new();
    let mut add = |line: ModelLine| {
        if !lines.iter().any(|l| l.name == line.name && l.version == line.version) {
            lines.push(line);
        }
    };
    for r in results {
        add(ModelLine {
            name: r.model.name.clone(),
            version: r.model.version.clone(),
            sha256: r.model.sha256.clone(),
            device: Some(format!("{} ({})", r.device, r.execution_provider)),
        });
    }
    for f in findings {
        let sha256 = f
            .model_sha256
            .clone()
            .or_else(|| state.registry.find(&f.model_name, &f.model_version).map(|m| m.sha256.clone()))
            .unwrap_or_else(|| "–".to_owned());
        add(ModelLine { name: f.model_name.clone(), version: f.model_version.clone(), sha256, device: None });
    }
    lines
}

fn positive_line(
    finding: &StudyFindingRow,
    location: Option<&LesionLocation>,
    key: Option<&KeyImage>,
    language: Language,
) -> PositiveLine {
    let organ = finding.organ.parse::<app::domain::organs::Organ>().ok();
    let organ_label = organ.map_or_else(|| finding.organ.clone(), |o| o.label_in(language).to_owned());
    let status = finding
        .status
        .parse::<FindingStatus>()
        .map_or_else(|_| finding.status.clone(), |s| s.label_in(language).to_owned());
    PositiveLine {
        organ: organ_label,
        class: app::domain::model_class::shown(&finding.class_label, language),
        probability: percent(finding.probability),
        threshold: percent(finding.threshold),
        size: location.and_then(|l| l.diameter_mm).map(|d| format!("{d:.0} mm")),
        status,
        reference: format!("F-{}", finding.id),
        image: key.map(|k| k.image.name.clone()),
        aspect: key.map_or(1.0, |k| k.aspect),
        marker: key.and_then(|k| k.marker.as_ref()).map(|m| Marker { x: m.x, y: m.y, r: m.r }),
    }
}

/// `0.874` → `87.4 %`.
fn percent(p: f64) -> String {
    format!("{:.1} %", p * 100.0)
}

struct KeyImage {
    image: Image,
    /// Rows over columns.
    aspect: f64,
    marker: Option<Marker>,
}

/// The finding's key slice rendered as PNG (lung window for the lung, soft tissue elsewhere), with
/// the lesion's circle. `None` when the finding was not located on a slice, or its slice cannot be
/// read now: the report then says there is no key image rather than failing.
async fn key_image(
    state: &AppState,
    study_uid: &str,
    finding: &StudyFindingRow,
    location: &LesionLocation,
    n: usize,
) -> Option<KeyImage> {
    let sop = location.sop_instance_uid.clone()?;
    let series = finding.series_uid.clone()?;
    let key = elysium_db::images::instance_key(&state.pool, study_uid, &series, &sop).await.ok()??;
    let bytes = state.ingestor.store().get(&key.as_str().into()).await.ok()?.bytes().await.ok()?;
    let lung = finding.organ == "lung";
    let png = tokio::task::spawn_blocking(move || -> Option<(Vec<u8>, u32, u32)> {
        use elysium_dicom::render;
        let parsed = elysium_dicom::header::parse(&bytes).ok()?;
        let frame = render::decode_frame(&parsed, 0).ok()?;
        let window = render::Window::preset(if lung { "lung" } else { "mediastinum" })
            .unwrap_or(render::Window { center: 40.0, width: 400.0 });
        Some((render::png(&frame, window).ok()?, frame.columns, frame.rows))
    })
    .await
    .ok()??;
    let (bytes, columns, rows) = png;
    let (columns, rows) = (f64::from(columns.max(1)), f64::from(rows.max(1)));
    let marker = location.pixel.map(|[x, y]| Marker {
        x: x / columns,
        y: y / rows,
        r: location.radius_px.unwrap_or(4.0).max(4.0) / columns,
    });
    Some(KeyImage { image: Image { name: format!("key-{n}.png"), bytes }, aspect: rows / columns, marker })
}
