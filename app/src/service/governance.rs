//! Model governance: the registry with each model's operating thresholds, each model version's
//! positive rate, PPV and drift, and threshold changes (previewed on the version's last series,
//! then applied with a reason and audited). The worker reads the operating thresholds for every
//! job, so a change applies from the next series screened.

use std::collections::{BTreeMap, BTreeSet};

use elysium_db::governance as db;
use elysium_db::program::ProgramFilter;
use sqlx::PgPool;
use time::{Date, Duration};

use crate::domain::governance::shadow::{Pair, compare};
use crate::domain::governance::{self, Preview, WINDOW_DAYS};
use crate::domain::program::{Tally, wilson};
use crate::domain::said::Said;
use crate::format;
use crate::model::governance::*;
use crate::said;
use crate::service::{Caller, ServiceError};

/// The registry with each model's operating thresholds, every version that has screened, and
/// the threshold changes, newest first.
pub async fn overview(
    pool: &PgPool,
    caller: &Caller,
    registry: &ModelRegistry,
    today: Date,
) -> Result<ModelsOverview, ServiceError> {
    caller.require_admin()?;
    let mut models = Vec::new();
    let mut conn = pool.acquire().await?;
    for model in &registry.models {
        let set = db::current_thresholds(&mut conn, &model.name, &model.version).await?;
        let thresholds = model
            .outputs
            .iter()
            .map(|o| OperatingThreshold {
                output: o.name(),
                manifest: o.threshold,
                current: set
                    .iter()
                    .find(|(organ, class, _)| *organ == o.organ && *class == o.class)
                    .map_or(o.threshold, |s| s.2),
            })
            .collect();
        models.push(ModelEntry { model: model.clone(), thresholds });
    }
    drop(conn);
    let mut versions = Vec::new();
    let mut by_version: BTreeMap<(String, String), Vec<db::VersionDay>> = BTreeMap::new();
    for day in db::daily_rates(pool).await? {
        by_version.entry((day.model_name.clone(), day.model_version.clone())).or_default().push(day);
    }
    for ((name, version), days) in by_version {
        versions.push(monitor(pool, registry, &name, &version, &days, today).await?);
    }
    // The active version first, then the most recently used.
    versions.sort_by(|a, b| b.active.cmp(&a.active).then(b.last_day.cmp(&a.last_day)));
    let changes = db::threshold_changes(pool)
        .await?
        .into_iter()
        .map(|c| ThresholdChange {
            output: format!("{}/{}", c.organ, c.class),
            model_name: c.model_name,
            model_version: c.model_version,
            threshold: c.threshold,
            previous: c.previous,
            reason: c.reason,
            preview: serde_json::from_value(c.preview).unwrap_or_default(),
            changed_by: c.changed_by,
            changed_at: format::minute(c.changed_at),
        })
        .collect();
    let shadow = shadow_comparisons(pool, registry).await?;
    Ok(ModelsOverview { models, refused: registry.refused.clone(), versions, shadow, changes })
}

/// The outputs a result's `positives` lists: `organ/class` of each positive (a bare organ
/// where a result names only that).
fn positive_outputs(positives: Option<&serde_json::Value>) -> BTreeSet<String> {
    positives
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| match p {
            serde_json::Value::String(organ) => Some(organ.clone()),
            p => Some(format!("{}/{}", p.get("organ")?.as_str()?, p.get("class")?.as_str()?)),
        })
        .collect()
}

/// (shadow name, shadow version, live name, live version).
type ShadowKey = (String, String, String, String);

/// Each shadow version against each live version it shadowed, series by series.
async fn shadow_comparisons(pool: &PgPool, registry: &ModelRegistry) -> Result<Vec<ShadowComparison>, ServiceError> {
    let mut groups: BTreeMap<ShadowKey, (Date, Date, Vec<Pair>)> = BTreeMap::new();
    for row in db::shadow_pairs(pool).await? {
        let key = (row.shadow_name, row.shadow_version, row.live_name, row.live_version);
        let group = groups.entry(key).or_insert((row.day, row.day, Vec::new()));
        group.1 = row.day;
        group.2.push(Pair {
            live: positive_outputs(row.live_positives.as_ref()),
            shadow: positive_outputs(row.shadow_positives.as_ref()),
        });
    }
    Ok(groups
        .into_iter()
        .map(|((name, version, live_name, live_version), (first, last, pairs))| ShadowComparison {
            running: registry.find(&name, &version).is_some_and(|m| m.shadow),
            model_name: name,
            model_version: version,
            live_model_name: live_name,
            live_model_version: live_version,
            first_day: format::date(first),
            last_day: format::date(last),
            comparison: compare(&pairs),
        })
        .collect())
}

/// One version's figures from its days (oldest first, at least one).
async fn monitor(
    pool: &PgPool,
    registry: &ModelRegistry,
    name: &str,
    version: &str,
    days: &[db::VersionDay],
    today: Date,
) -> Result<VersionMonitor, ServiceError> {
    let (first, last) = (days[0].day, days[days.len() - 1].day);
    let count = |from: Date, to: Date| {
        days.iter()
            .filter(|d| d.day >= from && d.day <= to)
            .fold((0u64, 0u64), |(p, n), d| (p + d.positive.max(0) as u64, n + d.series.max(0) as u64))
    };
    // The calibration window is the version's first days in use; the recent window its last,
    // never overlapping the first (a young version has no recent window yet).
    let calibration_end = first + Duration::days(WINDOW_DAYS - 1);
    let recent_start = (last - Duration::days(WINDOW_DAYS - 1)).max(calibration_end + Duration::days(1));
    let drift = governance::assess(count(first, calibration_end), count(recent_start, last));
    let (positive, series) = count(first, last);
    let mut weeks: BTreeMap<Date, (u64, u64)> = BTreeMap::new();
    for d in days {
        let week = weeks.entry(crate::service::program::week_of(d.day)).or_default();
        week.0 += d.series.max(0) as u64;
        week.1 += d.positive.max(0) as u64;
    }
    let filter = ProgramFilter { model_version: Some(version.to_owned()), ..ProgramFilter::default() };
    let positives = elysium_db::program::positives(pool, &filter)
        .await?
        .iter()
        .filter(|row| row.model_name == name)
        .map(|row| crate::service::program::positive(row, today))
        .collect::<Result<Vec<_>, _>>()?;
    let registered = registry.find(name, version);
    Ok(VersionMonitor {
        model_name: name.to_owned(),
        model_version: version.to_owned(),
        registered: registered.is_some(),
        active: registered.is_some_and(|m| m.active),
        first_day: format::date(first),
        last_day: format::date(last),
        positive_rate: wilson(positive, series),
        ppv: Tally::of(&positives).ppv_resolved,
        drift,
        weeks: weeks
            .into_iter()
            .map(|(week, (series, positive))| WeekRate { week_start: format::date(week), series, positive })
            .collect(),
    })
}

/// A request checked against the registry: the model, the output, its current threshold.
struct Checked<'a> {
    model: &'a RegisteredModel,
    organ: &'a str,
    class: &'a str,
    current: f64,
    last: u32,
}

async fn check<'a>(
    pool: &PgPool,
    registry: &'a ModelRegistry,
    request: &'a ThresholdRequest,
    reason: Option<&str>,
) -> Result<Checked<'a>, ServiceError> {
    let model = registry.find(&request.model_name, &request.model_version).ok_or_else(|| {
        let valid: Vec<String> = registry.models.iter().map(|m| format!("{}@{}", m.name, m.version)).collect();
        ServiceError::invalid("model", Said::not_one_of(said!("not in the registry", "不在模型登记中"), &valid))
    })?;
    let outputs: Vec<String> = model.outputs.iter().map(ModelOutput::name).collect();
    let output = model.outputs.iter().find(|o| o.name() == request.output);
    let last = request.last.unwrap_or(PREVIEW_DEFAULT_SERIES);
    if !(1..=PREVIEW_MAX_SERIES).contains(&last) {
        return Err(ServiceError::invalid(
            "last",
            said!("1 to {PREVIEW_MAX_SERIES} series", "1 至 {PREVIEW_MAX_SERIES} 个序列"),
        ));
    }
    let mut conn = pool.acquire().await?;
    let set = db::current_thresholds(&mut conn, &model.name, &model.version).await?;
    let current = output.map_or(0.0, |o| {
        set.iter().find(|(organ, class, _)| *organ == o.organ && *class == o.class).map_or(o.threshold, |s| s.2)
    });
    governance::check_change(&request.output, &outputs, current, request.threshold, reason)
        .map_err(|refusal| ServiceError::invalid(refusal.field(), refusal.said()))?;
    let output = output.ok_or(ServiceError::NotFound)?;
    Ok(Checked { model, organ: &output.organ, class: &output.class, current, last })
}

async fn replay(pool: &PgPool, checked: &Checked<'_>, proposed: f64) -> Result<Preview, ServiceError> {
    let probabilities = db::recent_probabilities(
        pool,
        &checked.model.name,
        &checked.model.version,
        checked.organ,
        checked.class,
        i64::from(checked.last),
    )
    .await?;
    Ok(governance::preview(&probabilities, checked.current, proposed))
}

/// How many of the version's last series would change verdict at the proposed threshold.
pub async fn preview(
    pool: &PgPool,
    caller: &Caller,
    registry: &ModelRegistry,
    request: &ThresholdRequest,
) -> Result<ThresholdPreview, ServiceError> {
    caller.require_admin()?;
    let checked = check(pool, registry, request, None).await?;
    let preview = replay(pool, &checked, request.threshold).await?;
    Ok(ThresholdPreview {
        model_name: checked.model.name.clone(),
        model_version: checked.model.version.clone(),
        output: request.output.clone(),
        current: checked.current,
        proposed: request.threshold,
        last: checked.last,
        preview,
    })
}

/// Sets an output's operating threshold, with a reason; the preview at that moment is kept with
/// the change and in the audit. From the next series screened on, the worker uses it.
pub async fn change_threshold(
    pool: &PgPool,
    caller: &Caller,
    registry: &ModelRegistry,
    request: &ThresholdRequest,
) -> Result<ThresholdChange, ServiceError> {
    caller.require_admin()?;
    let reason = request.reason.as_deref().unwrap_or_default();
    // Checked under the output's lock: another administrator's change commits before this one
    // reads the current threshold, so each change is recorded against the one before it.
    let mut tx = pool.begin().await?;
    db::lock_output(&mut tx, &request.model_name, &request.model_version, &request.output).await?;
    let checked = check(pool, registry, request, Some(reason)).await?;
    let preview = replay(pool, &checked, request.threshold).await?;
    let preview_json = serde_json::to_value(preview).map_err(ServiceError::internal)?;
    db::record_threshold(
        &mut tx,
        &db::NewThreshold {
            model_name: &checked.model.name,
            model_version: &checked.model.version,
            organ: checked.organ,
            class: checked.class,
            threshold: request.threshold,
            previous: checked.current,
            reason: reason.trim(),
            preview: preview_json.clone(),
            changed_by: caller.user.id,
        },
    )
    .await?;
    caller
        .audit("model.threshold.change")
        .target("model", format!("{}@{}", checked.model.name, checked.model.version))
        .detail(serde_json::json!({
            "output": request.output,
            "previous": checked.current,
            "threshold": request.threshold,
            "reason": reason.trim(),
            "preview": preview_json,
            "last": checked.last,
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(ThresholdChange {
        model_name: checked.model.name.clone(),
        model_version: checked.model.version.clone(),
        output: request.output.clone(),
        threshold: request.threshold,
        previous: checked.current,
        reason: reason.trim().to_owned(),
        preview,
        changed_by: caller.user.username.clone(),
        changed_at: format::minute(time::OffsetDateTime::now_utc()),
    })
}
