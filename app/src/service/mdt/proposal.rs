//! The AI's staging proposal: computed from the measurements taken on the case's images (by
//! the image measurement, from the screening lesion, or by a radiologist) through the
//! derivation rules of `domain::staging::derive`, stored immutably as a new version with its
//! evidence. Recording a measurement recomputes it. Where a staging model registered for the
//! case's cancer has run on its series (`server/src/staging_model.rs`), the categories the model
//! declares come from the model, with its probability as their confidence, and the rest from
//! the measurements.

use elysium_db::DbError;
use elysium_db::mdt::{self as db, MeasurementRow, ProposalRow};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{cancer_of, edition_of, histology_of, stale, status_of, subsite_of};
use crate::domain::mdt::board::{self, Action};
use crate::domain::said::Said;
use crate::domain::staging::derive::{self, Axis, DeriveInput, Descriptor, DistantSite, NODE_SHORT_AXIS_MM, Station};
use crate::domain::staging::{self, Cancer};
use crate::format;
use crate::model::mdt::*;
use crate::said;
use crate::service::referral::CaseReferrals;
use crate::service::{Caller, ServiceError};

/// The measurement kinds, as stored.
pub const KINDS: [&str; 4] = ["primary", "node", "distant", "invasion"];
/// A size within this of a rule's threshold is as likely on either side of it (the CT
/// measurement error of a lesion's diameter is about 1-2 mm; Erasmus JJ et al., J Clin Oncol
/// 2003;21:2574-2582).
pub const MEASUREMENT_TOLERANCE_MM: f64 = 2.0;

/// Measurements still in force: those no later measurement corrects.
fn current(rows: &[MeasurementRow]) -> Vec<&MeasurementRow> {
    rows.iter().filter(|m| !rows.iter().any(|later| later.corrects == Some(m.id))).collect()
}

/// Size thresholds of the T rules, per cancer (mm), for the confidence near a boundary.
fn t_thresholds(cancer: Cancer) -> &'static [f64] {
    match cancer {
        Cancer::Lung => &[10.0, 20.0, 30.0, 40.0, 50.0, 70.0],
        Cancer::Pancreas => &[5.0, 10.0, 20.0, 40.0],
        Cancer::Kidney => &[40.0, 70.0, 100.0],
        Cancer::Breast => &[1.0, 5.0, 10.0, 20.0, 50.0],
        Cancer::Liver => &[20.0, 50.0],
        _ => &[],
    }
}

fn near(value: f64, thresholds: &[f64]) -> bool {
    thresholds.iter().any(|t| (value - t).abs() <= MEASUREMENT_TOLERANCE_MM)
}

/// The derivation input from the measurements in force, and the ids used. `images_measured`:
/// the image measurement read the case's series, so nodes and distant lesions count as
/// assessed even where it found none.
fn input(
    cancer: Cancer,
    frame_edition: &str,
    subsite: Option<&str>,
    rows: &[&MeasurementRow],
    images_measured: bool,
) -> (DeriveInput, Vec<i64>) {
    let mut used = Vec::new();
    let primary = rows.iter().rev().find(|m| m.kind == "primary" && m.size_mm.is_some());
    if let Some(p) = primary {
        used.push(p.id);
    }
    let descriptors: Vec<String> = rows
        .iter()
        .filter(|m| m.kind == "invasion")
        .filter_map(|m| {
            used.push(m.id);
            m.location.clone()
        })
        .collect();
    let involved: Vec<&&MeasurementRow> =
        rows.iter().filter(|m| m.kind == "node" && m.size_mm.is_some_and(derive::node_involved)).collect();
    let any_nodes_assessed = images_measured || rows.iter().any(|m| m.kind == "node");
    used.extend(rows.iter().filter(|m| m.kind == "node").map(|m| m.id));
    let has_stations = !Station::valid(cancer).is_empty();
    let node_stations: Vec<String> =
        if has_stations { involved.iter().filter_map(|m| m.location.clone()).collect() } else { Vec::new() };
    let distant_rows: Vec<&&MeasurementRow> = rows.iter().filter(|m| m.kind == "distant").collect();
    used.extend(distant_rows.iter().map(|m| m.id));
    let distant_assessed = images_measured || !distant_rows.is_empty();
    let distant: Option<Vec<String>> =
        distant_assessed.then(|| distant_rows.iter().filter_map(|m| m.location.clone()).collect());
    let extrathoracic = distant_rows
        .iter()
        .filter(|m| m.location.as_deref().and_then(DistantSite::parse).is_some_and(|s| !s.intrathoracic()))
        .count() as u32;
    let input = DeriveInput {
        cancer: cancer.as_str().to_owned(),
        edition: Some(frame_edition.to_owned()),
        subsite: subsite.map(str::to_owned),
        tumor_size_mm: primary.and_then(|p| p.size_mm),
        tumor_count: (cancer == Cancer::Liver && primary.is_some())
            .then(|| rows.iter().filter(|m| m.kind == "primary").count() as u32),
        descriptors,
        involved_nodes: any_nodes_assessed.then_some(involved.len() as u32),
        node_stations,
        largest_node_mm: (cancer == Cancer::Larynx)
            .then(|| {
                involved
                    .iter()
                    .filter_map(|m| m.size_mm)
                    .fold(None, |a: Option<f64>, s| Some(a.map_or(s, |a| a.max(s))))
            })
            .flatten(),
        extranodal_extension: None,
        distant,
        extrathoracic_lesions: (cancer == Cancer::Lung && distant_assessed).then_some(extrathoracic),
    };
    (input, used)
}

/// Computes the next proposal version of a case from its measurements in force and stores it.
/// A category the measurements cannot decide stays empty (the board then chooses it).
pub async fn propose_in(conn: &mut PgConnection, case_id: i64, by: Option<Uuid>) -> Result<(i64, i32), ServiceError> {
    let case = db::get_case(conn, case_id, None, false).await?.ok_or(ServiceError::NotFound)?;
    let cancer = cancer_of(&case.cancer)?;
    let edition = edition_of(&case.edition)?;
    let histology = histology_of(case.histology.as_deref())?;
    let subsite = subsite_of(case.subsite.as_deref())?;
    let rows = db::measurements(conn, case_id).await?;
    let in_force = current(&rows);
    let (input, used) =
        input(cancer, edition.as_str(), subsite.map(|s| s.as_str()), &in_force, case.images_measured_at.is_some());
    let derived = match input.derive() {
        Ok(derived) => derived,
        // Measurements are checked against the vocabulary when recorded; one that no longer fits
        // (a subsite changed since) leaves the proposal empty with the reason, rather than failing.
        Err(error) => derive::Derived {
            t: None,
            n: None,
            m: None,
            rules: vec![derive::Rule {
                category: derive::Axis::T,
                rule: said!(("not derived: {error}"), ("未推导：{}", error.said().with_field(error.field()).zh)),
            }],
        },
    };
    // The staging model's categories, where one ran on the case and its label is a category of
    // the case's table (a label of another edition or subsite is left to the measurements).
    let run = db::latest_model_staging(conn, case_id).await?;
    let from_model = match (&run, staging::table(cancer, edition, histology, subsite)) {
        (Some(run), Ok(table)) => model_categories(&run.probabilities, table),
        _ => ModelCategories::default(),
    };
    let pick = |axis: Axis, derived: Option<&'static str>| from_model.get(axis).map(|(label, _)| label).or(derived);
    let (t, n, m) = (pick(Axis::T, derived.t), pick(Axis::N, derived.n), pick(Axis::M, derived.m));
    let stage_group = match (t, n, m) {
        (Some(t), Some(n), Some(m)) => {
            staging::evaluate(&staging::Request { cancer, edition, t, n, m, histology, subsite })
                .ok()
                .and_then(|s| s.stage_group)
        }
        _ => None,
    };
    // Confidence: for a category from the staging model, the model's probability of it; for one
    // from the measurements a heuristic, not a calibrated probability. Each category decided on
    // measurements away from a rule's threshold counts 0.9 (CT staging is imperfect); near a
    // threshold 0.6; undecided 0. The proposal's confidence is the lowest of the three.
    let size = input.tumor_size_mm;
    let t_conf = match (derived.t, size) {
        (None, _) => 0.0,
        (Some(_), Some(s)) if near(s, t_thresholds(cancer)) => 0.6,
        (Some(_), _) => 0.9,
    };
    let borderline_node =
        in_force.iter().any(|m| m.kind == "node" && m.size_mm.is_some_and(|s| (s - NODE_SHORT_AXIS_MM).abs() <= 1.0));
    let n_conf = match derived.n {
        None => 0.0,
        Some(_) if borderline_node => 0.6,
        Some(_) => 0.9,
    };
    let m_conf = if derived.m.is_some() { 0.9 } else { 0.0 };
    let conf = |axis: Axis, measured: f64| from_model.get(axis).map_or(measured, |(_, p)| p);
    let (t_conf, n_conf, m_conf) = (conf(Axis::T, t_conf), conf(Axis::N, n_conf), conf(Axis::M, m_conf));
    let confidence = f64::min(t_conf, f64::min(n_conf, m_conf));
    let rules: Vec<derive::Rule> = derived
        .rules
        .into_iter()
        .filter(|r| from_model.get(r.category).is_none())
        .chain(from_model.rules.iter().cloned())
        .collect();
    let used_model = run.as_ref().filter(|_| !from_model.chosen.is_empty());
    let mut evidence = serde_json::json!({
        // Both languages: `rule` in English (as proposals stored before the Chinese was added,
        // which the page then shows in English), `rule_zh` in Simplified Chinese.
        "rules": rules.iter().map(|r| serde_json::json!({
            "category": r.category.as_str(),
            "rule": r.rule.en,
            "rule_zh": r.rule.zh,
        })).collect::<Vec<_>>(),
        "measurements": used,
        "confidence": { "t": t_conf, "n": n_conf, "m": m_conf },
    });
    if let Some(run) = used_model {
        evidence["model"] = serde_json::json!({
            "run": run.id,
            "provider": run.provider,
            "categories": run.probabilities,
        });
    }
    let new = db::NewProposal {
        case_id,
        edition: edition.as_str(),
        t,
        n,
        m,
        stage_group: stage_group.as_deref(),
        confidence,
        method: if used_model.is_some() { "staging_model" } else { "measurement" },
        model_name: used_model.map(|r| r.model_name.as_str()),
        model_version: used_model.map(|r| r.model_version.as_str()),
        model_sha256: used_model.map(|r| r.model_sha256.as_str()),
        evidence,
        created_by: by,
    };
    Ok(db::insert_proposal(conn, &new).await?)
}

/// The categories a staging model's stored run proposes, each checked against the case's table.
#[derive(Debug, Default)]
struct ModelCategories {
    /// Category, label (as the table spells it) and the model's probability of it.
    chosen: Vec<(Axis, &'static str, f64)>,
    /// One rule per category: taken from the model, or why not.
    rules: Vec<derive::Rule>,
}

impl ModelCategories {
    /// The label and probability the model gives `axis`, if it gives one.
    fn get(&self, axis: Axis) -> Option<(&'static str, f64)> {
        self.chosen.iter().find(|(a, _, _)| *a == axis).map(|(_, label, p)| (*label, *p))
    }
}

/// Reads a run as stored by `mdt_model_staging` (`{"t": {"label", "probability", ...}, ...}`).
fn model_categories(stored: &serde_json::Value, table: &staging::Table) -> ModelCategories {
    let mut categories = ModelCategories::default();
    for (axis, valid) in [(Axis::T, table.t), (Axis::N, table.n), (Axis::M, table.m)] {
        let Some(output) = stored.get(axis.as_str()) else { continue };
        let label = output.get("label").and_then(serde_json::Value::as_str);
        let probability =
            output.get("probability").and_then(serde_json::Value::as_f64).filter(|p| (0.0..=1.0).contains(p));
        let name = axis.as_str().to_uppercase();
        match (label.and_then(|l| valid.iter().copied().find(|v| *v == l)), probability) {
            (Some(label), Some(p)) => {
                categories.chosen.push((axis, label, p));
                categories.rules.push(derive::Rule {
                    category: axis,
                    rule: said!(
                        ("{label}: the staging model's most probable {name} category (probability {p:.2})"),
                        ("{}：分期模型给出的最可能的 {} 分类（概率 {:.2}）", label, name, p)
                    ),
                });
            }
            _ => categories.rules.push(derive::Rule {
                category: axis,
                rule: said!(
                    ("the staging model's {name} is not a {name} category of this case's table; {name} is from the measurements"),
                    ("分期模型给出的 {} 不属于本病例分期表的 {} 分类；{} 依据测量", name, name, name)
                ),
            }),
        }
    }
    categories
}

/// A stored proposal as the wire model.
pub(crate) fn to_model(row: &ProposalRow) -> Result<Proposal, ServiceError> {
    let rules = row
        .evidence
        .get("rules")
        .and_then(serde_json::Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| RuleApplied {
                    category: r.get("category").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                    rule: r.get("rule").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                    rule_zh: r.get("rule_zh").and_then(serde_json::Value::as_str).map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default();
    let measurement_ids = row
        .evidence
        .get("measurements")
        .and_then(serde_json::Value::as_array)
        .map(|ids| ids.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default();
    Ok(Proposal {
        version: row.version,
        edition: edition_of(&row.edition)?,
        tnm: Tnm { t: row.t.clone(), n: row.n.clone(), m: row.m.clone(), stage_group: row.stage_group.clone() },
        confidence: row.confidence,
        method: row.method.clone(),
        model_name: row.model_name.clone(),
        model_version: row.model_version.clone(),
        model_sha256: row.model_sha256.clone(),
        rules,
        measurement_ids,
        created_at: format::rfc3339(row.created_at),
    })
}

/// A measurement as recorded, checked against the case's vocabulary.
pub struct CheckedMeasurement {
    pub kind: &'static str,
    pub size_mm: Option<f64>,
    pub location: Option<String>,
    pub side: Option<&'static str>,
}

/// Checks a measurement's fields for a case of `cancer` (and subsite): a size for primaries,
/// nodes and distant lesions; an invaded structure from the cancer's descriptors; a node
/// station from the cancer's stations where N is station-based; a distant site from its list.
pub fn check_measurement(
    cancer: Cancer,
    subsite: Option<crate::domain::staging::Subsite>,
    request: &MeasurementRequest,
) -> Result<CheckedMeasurement, ServiceError> {
    let kind = KINDS
        .into_iter()
        .find(|k| *k == request.kind)
        .ok_or_else(|| ServiceError::invalid("kind", Said::one_of(&KINDS)))?;
    let size_mm = match request.size_mm {
        Some(s) if s.is_finite() && s > 0.0 && s <= derive::MAX_SIZE_MM => Some(s),
        Some(_) => {
            return Err(ServiceError::invalid(
                "size_mm",
                said!("a number of millimetres greater than 0 and at most 500", "大于 0 且不超过 500 的毫米数"),
            ));
        }
        None if kind != "invasion" => {
            return Err(ServiceError::invalid("size_mm", said!("the size measured is required", "须填写测量的大小")));
        }
        None => None,
    };
    let location = request.location.as_deref().map(str::trim).filter(|l| !l.is_empty());
    let listed = |valid: Vec<&'static str>, what: Said| -> Result<Option<String>, ServiceError> {
        match location {
            Some(l) if valid.contains(&l) => Ok(Some(l.to_owned())),
            _ => Err(ServiceError::invalid("location", Said::not_one_of(what, &valid))),
        }
    };
    let location = match kind {
        "invasion" => listed(
            Descriptor::valid(cancer, subsite).into_iter().map(Descriptor::as_str).collect(),
            said!("the structure invaded", "受侵犯的结构"),
        )?,
        "distant" => listed(
            DistantSite::valid(cancer).into_iter().map(DistantSite::as_str).collect(),
            said!("where the lesion is", "病灶所在部位"),
        )?,
        "node" if !Station::valid(cancer).is_empty() => listed(
            Station::valid(cancer).into_iter().map(Station::as_str).collect(),
            said!("the node's station", "淋巴结所在分区"),
        )?,
        _ => match location {
            Some(l) if l.chars().count() <= 64 => Some(l.to_owned()),
            Some(_) => return Err(ServiceError::invalid("location", Said::at_most_chars(64))),
            None => None,
        },
    };
    let side = match request.side.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            Some(["ipsilateral", "contralateral", "midline"].into_iter().find(|v| *v == s).ok_or_else(|| {
                ServiceError::invalid("side", Said::one_of(&["ipsilateral", "contralateral", "midline"]))
            })?)
        }
    };
    Ok(CheckedMeasurement { kind, size_mm, location, side })
}

/// Records a radiologist's measurement on the case's images and recomputes the proposal.
pub async fn measure(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    request: &MeasurementRequest,
) -> Result<CaseWritten, ServiceError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    let scope = caller.user.site_scope();
    let row = db::get_case(&mut tx, id, scope.as_deref(), true).await?.ok_or(ServiceError::NotFound)?;
    if row.version != request.expected_version {
        return Err(stale(&row));
    }
    CaseReferrals::read(&mut tx, id).await?.may_work(caller)?;
    let status = status_of(&row.status)?;
    board::permitted(status, Action::Measure, &caller.user.roles)?;
    let cancer = cancer_of(&row.cancer)?;
    let checked = check_measurement(cancer, subsite_of(row.subsite.as_deref())?, request)?;
    if request.slice_index < 0 {
        return Err(ServiceError::invalid(
            "slice_index",
            said!("a slice of the case's series (0 or more)", "病例序列中的层面（0 或以上）"),
        ));
    }
    if let Some(position) = &request.position_mm
        && position.iter().any(|c| !c.is_finite())
    {
        return Err(ServiceError::invalid(
            "position_mm",
            said!("three finite coordinates in mm", "三个有限的坐标值（毫米）"),
        ));
    }
    let existing = db::measurements(&mut tx, id).await?;
    if let Some(corrected) = request.corrects {
        let Some(old) = existing.iter().find(|m| m.id == corrected) else {
            return Err(ServiceError::invalid("corrects", said!("not a measurement of this case", "不是此病例的测量")));
        };
        if existing.iter().any(|m| m.corrects == Some(corrected)) {
            return Err(ServiceError::Conflict(said!(
                "that measurement was already corrected; correct the newer one",
                "该测量已被更正；请更正较新的一条"
            )));
        }
        if old.kind != checked.kind {
            return Err(ServiceError::invalid(
                "corrects",
                said!("a correction keeps the kind of what it corrects", "更正须与被更正的测量类型相同"),
            ));
        }
    }
    let note = super::cases::bounded_text("note", request.note.as_deref())?;
    let position = request.position_mm.map(|p| p.to_vec());
    let new = db::NewMeasurement {
        case_id: id,
        kind: checked.kind,
        size_mm: checked.size_mm,
        location: checked.location.as_deref(),
        side: checked.side,
        series_ref: row.series_ref,
        slice_index: Some(request.slice_index),
        position_mm: position.as_deref(),
        source: "radiologist",
        corrects: request.corrects,
        note: note.as_deref(),
        recorded_by: Some(caller.user.id),
    };
    let measurement_id = db::insert_measurement(&mut tx, &new).await?;
    let (_, proposal_version) = propose_in(&mut tx, id, Some(caller.user.id)).await?;
    let version = db::touch_case(&mut tx, id).await?;
    caller
        .audit("mdt.measurement")
        .target("mdt_case", id.to_string())
        .patient(&row.patient_id)
        .detail(serde_json::json!({
            "measurement_id": measurement_id,
            "kind": checked.kind,
            "size_mm": checked.size_mm,
            "location": checked.location,
            "slice_index": request.slice_index,
            "corrects": request.corrects,
            "proposal_version": proposal_version,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(CaseWritten { id, status, version })
}

/// The screening lesion's diameter as the case's first primary measurement (a finding referred
/// to the board), then the first proposal.
pub async fn seed_from_finding(conn: &mut PgConnection, case_id: i64, by: Option<Uuid>) -> Result<(), ServiceError> {
    let case = db::get_case(conn, case_id, None, false).await?.ok_or(ServiceError::NotFound)?;
    let already = db::measurements(conn, case_id).await?;
    if !already.is_empty() || !db::proposals(conn, case_id).await?.is_empty() {
        return Ok(());
    }
    if let Some(finding_id) = case.finding_id
        && let Some(finding) = elysium_db::findings::case_finding(conn, finding_id).await?
        && let Some(location) = &finding.location
        && let Some(diameter) = location.get("diameter_mm").and_then(serde_json::Value::as_f64)
        && diameter.is_finite()
        && diameter > 0.0
        && diameter <= derive::MAX_SIZE_MM
    {
        let position: Option<Vec<f64>> = location
            .get("center_mm")
            .and_then(serde_json::Value::as_array)
            .map(|c| c.iter().filter_map(serde_json::Value::as_f64).collect())
            .filter(|c: &Vec<f64>| c.len() == 3);
        let slice = location.get("slice_index").and_then(serde_json::Value::as_i64).and_then(|s| i32::try_from(s).ok());
        let new = db::NewMeasurement {
            case_id,
            kind: "primary",
            size_mm: Some(diameter),
            location: None,
            side: None,
            series_ref: case.series_ref,
            slice_index: slice,
            position_mm: position.as_deref(),
            source: "screening",
            corrects: None,
            note: None,
            recorded_by: None,
        };
        db::insert_measurement(conn, &new).await?;
    }
    propose_in(conn, case_id, by).await?;
    Ok(())
}
