//! Programme settings: the follow-up service levels and the inference device, as the
//! environment sets them unless an administrator changed them on the settings page. Read from
//! the database at each use, so that a change reaches every server and worker at once (one small
//! query next to the follow-up's own).

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::domain::chronic::ChronicRules;
use crate::domain::followup::ServiceLevels;
use crate::domain::settings::{check_device, check_levels};
use crate::format;
use crate::model::settings::{Changed, SettingsUpdate, SettingsView};
use crate::service::{Caller, ServiceError};

const LEVELS: &str = "service_levels";
const DEVICE: &str = "inference_device";
const CHRONIC: &str = "chronic_rules";

/// The environment's settings, which the page's override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub levels: ServiceLevels,
    pub inference_device: String,
}

/// A stored value the code cannot read is not silently replaced: it is an error.
fn stored<T: serde::de::DeserializeOwned>(key: &str, value: Value) -> Result<T, ServiceError> {
    serde_json::from_value(value).map_err(|e| ServiceError::Internal(format!("the stored {key} setting: {e}").into()))
}

/// The service levels in force.
pub async fn levels(pool: &PgPool, defaults: &ServiceLevels) -> Result<ServiceLevels, ServiceError> {
    match elysium_db::settings::value(pool, LEVELS).await? {
        Some(value) => stored(LEVELS, value),
        None => Ok(*defaults),
    }
}

/// The inference device in force (`auto`, `cuda` or `cpu`).
pub async fn inference_device(pool: &PgPool, default: &str) -> Result<String, ServiceError> {
    match elysium_db::settings::value(pool, DEVICE).await? {
        Some(value) => stored(DEVICE, value),
        None => Ok(default.to_owned()),
    }
}

/// The chronic-finding cut-offs in force (the published defaults until an administrator changes
/// them; read per screened series like the service levels).
pub async fn chronic_rules(pool: &PgPool) -> Result<ChronicRules, ServiceError> {
    match elysium_db::settings::value(pool, CHRONIC).await? {
        Some(value) => stored(CHRONIC, value),
        None => Ok(ChronicRules::default()),
    }
}

/// Sets the chronic-finding cut-offs (checked first; a refusal changes nothing). They apply to
/// series screened from now on; findings already raised keep the cut-offs they were raised by.
/// Audited with the cut-offs before and after.
pub async fn update_chronic_rules(
    pool: &PgPool,
    caller: &Caller,
    defaults: &Defaults,
    rules: &ChronicRules,
) -> Result<SettingsView, ServiceError> {
    caller.require_admin()?;
    rules.check().map_err(|r| ServiceError::invalid(r.field, r.message))?;
    let mut tx = pool.begin().await?;
    let value = serde_json::to_value(rules).map_err(ServiceError::internal)?;
    let before: ChronicRules = match elysium_db::settings::set(&mut tx, CHRONIC, &value, caller.user.id).await? {
        Some(value) => stored(CHRONIC, value)?,
        None => ChronicRules::default(),
    };
    caller
        .audit("settings.chronic_rules")
        .target("settings", "chronic_rules")
        .detail(json!({ "before": before, "after": rules }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    view(pool, caller, defaults).await
}

pub async fn view(pool: &PgPool, caller: &Caller, defaults: &Defaults) -> Result<SettingsView, ServiceError> {
    caller.require_admin()?;
    let rows = elysium_db::settings::all(pool).await?;
    let row = |key: &str| rows.iter().find(|r| r.key == key);
    let changed = |key: &str| row(key).map(|r| Changed { by: r.changed_by.clone(), at: format::minute(r.changed_at) });
    Ok(SettingsView {
        levels: match row(LEVELS) {
            Some(r) => stored(LEVELS, r.value.clone())?,
            None => defaults.levels,
        },
        default_levels: defaults.levels,
        levels_changed: changed(LEVELS),
        inference_device: match row(DEVICE) {
            Some(r) => stored(DEVICE, r.value.clone())?,
            None => defaults.inference_device.clone(),
        },
        default_inference_device: defaults.inference_device.clone(),
        device_changed: changed(DEVICE),
        chronic_rules: match row(CHRONIC) {
            Some(r) => stored(CHRONIC, r.value.clone())?,
            None => ChronicRules::default(),
        },
        chronic_rules_changed: changed(CHRONIC),
    })
}

/// Sets every setting (checked first; a refusal changes nothing). New due dates follow the new
/// levels from each finding's next transition; the device applies when the screening workers
/// next start. Audited with the settings before and after.
pub async fn update(
    pool: &PgPool,
    caller: &Caller,
    defaults: &Defaults,
    update: &SettingsUpdate,
) -> Result<SettingsView, ServiceError> {
    caller.require_admin()?;
    let levels = update.levels();
    let refused = |r: crate::domain::settings::SettingsRefusal| ServiceError::invalid(r.field, r.message);
    check_levels(&levels).map_err(refused)?;
    check_device(&update.inference_device).map_err(refused)?;
    let mut tx = pool.begin().await?;
    let levels_json = serde_json::to_value(levels).map_err(ServiceError::internal)?;
    // What each replaced, read under the rows' locks (another administrator's change commits
    // first or waits).
    let before_levels: ServiceLevels =
        match elysium_db::settings::set(&mut tx, LEVELS, &levels_json, caller.user.id).await? {
            Some(value) => stored(LEVELS, value)?,
            None => defaults.levels,
        };
    let device = json!(update.inference_device);
    let before_device: String = match elysium_db::settings::set(&mut tx, DEVICE, &device, caller.user.id).await? {
        Some(value) => stored(DEVICE, value)?,
        None => defaults.inference_device.clone(),
    };
    caller
        .audit("settings.update")
        .target("settings", "programme")
        .detail(json!({
            "before": { "service_levels": before_levels, "inference_device": before_device },
            "after": { "service_levels": levels, "inference_device": update.inference_device },
        }))
        .record_in(&mut tx)
        .await?;
    tx.commit().await?;
    view(pool, caller, defaults).await
}
