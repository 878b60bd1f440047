//! Demo model governance: one operating-threshold change, made through the governance service as
//! the demo administrator (with its reason, its preview and its audit), so that the models page
//! shows the change history a programme keeps. It moves an output no demo series is positive
//! for, so no demo verdict changes with it.

use app::model::governance::{ModelRegistry, ThresholdRequest};
use app::service::Caller;

use super::followup::demo_users;

/// The output changed: the reference model's non-squamous oesophageal class, which no phantom
/// has (its manifest threshold comes from no positives at all: 0.5 in 0.2.0, whose map for the
/// class is zero everywhere). The change raises it out of reach of a stray output.
pub const OUTPUT: &str = "esophagus/nonEC";
pub const THRESHOLD: f64 = 0.9;
pub const REASON: &str = "No validation positives for this class yet: held at 0.9 until the local validation set has cases (programme steering group)";

/// Records the change once, for the registry's model that has the output: skipped when any
/// threshold was ever changed, or when no registered model has it (a server without models).
pub async fn seed(pool: &sqlx::PgPool, registry: &ModelRegistry) -> anyhow::Result<()> {
    let changes: i64 = sqlx::query_scalar("select count(*) from operating_threshold").fetch_one(pool).await?;
    if changes > 0 {
        return Ok(());
    }
    let Some(model) = registry.models.iter().find(|m| m.active && m.outputs.iter().any(|o| o.name() == OUTPUT)) else {
        return Ok(());
    };
    let admin = Caller::new(demo_users(pool).await?.admin, None);
    let request = ThresholdRequest {
        model_name: model.name.clone(),
        model_version: model.version.clone(),
        output: OUTPUT.to_owned(),
        threshold: THRESHOLD,
        reason: Some(REASON.to_owned()),
        last: None,
    };
    app::service::governance::change_threshold(pool, &admin, registry, &request).await?;
    Ok(())
}
