//! The orphan sweep over a real object store and database: objects no instance references are
//! removed once older than the grace period; registered ones never are.

use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_server::ingest::{Outcome, Received, Via, sweep};
use elysium_tests::{TestApp, fixture, get_json};
use object_store::{ObjectStoreExt, PutPayload, path::Path as ObjectPath};
use sqlx::PgPool;

#[sqlx::test(migrator = "MIGRATOR")]
async fn orphans_are_removed_after_the_grace_period_and_registered_objects_never(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let state = app.state();
    let store = state.ingestor.store().clone();
    let stored = state
        .ingestor
        .ingest(fixture("pydicom/CT_small.dcm").into(), &Received::new(Via::Cli, app.site_id("DEMO-GH").await))
        .await;
    assert!(matches!(stored, Outcome::Stored(_)), "{stored:?}");
    // What a crash between writing an object and committing its row leaves behind.
    let orphan = ObjectPath::from("instances/1.2.3/1.2.3.4/1.2.3.4.5.dcm");
    store.put(&orphan, PutPayload::from(fixture("pydicom/CT_small.dcm"))).await.expect("put");

    // Within the grace period: reported, kept.
    let report =
        sweep::sweep_orphans(&app.pool, store.as_ref(), Duration::from_secs(3600), false).await.expect("sweep");
    assert_eq!((report.examined, report.removed.len(), report.too_recent), (2, 0, 1));
    // A dry run past the grace period names it and removes nothing.
    let report = sweep::sweep_orphans(&app.pool, store.as_ref(), Duration::ZERO, true).await.expect("dry run");
    assert_eq!(report.removed, vec![orphan.to_string()]);
    assert!(store.head(&orphan).await.is_ok());

    let report = sweep::sweep_orphans(&app.pool, store.as_ref(), Duration::ZERO, false).await.expect("sweep");
    assert_eq!(report.removed, vec![orphan.to_string()]);
    assert!(matches!(store.head(&orphan).await, Err(object_store::Error::NotFound { .. })));
    sweep::audit(&app.pool, None, &report).await.expect("audit");
    let audited = app.audit_rows("storage.sweep").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].2["keys"][0], orphan.to_string());

    // The registered instance is still there and still readable.
    let admin = app.signed_in("admin").await;
    let studies = get_json(&app, &admin, "/dicomweb/studies").await;
    let study = studies[0]["0020000D"]["Value"][0].as_str().expect("study uid").to_owned();
    let series = get_json(&app, &admin, &format!("/dicomweb/studies/{study}/series")).await;
    let series_uid = series[0]["0020000E"]["Value"][0].as_str().expect("series uid");
    let retrieved =
        admin.get(app.url(&format!("/dicomweb/studies/{study}/series/{series_uid}"))).send().await.expect("wado");
    assert_eq!(retrieved.status(), 200);
    let report = sweep::sweep_orphans(&app.pool, store.as_ref(), Duration::ZERO, false).await.expect("sweep");
    assert_eq!((report.examined, report.removed.len()), (1, 0));
}
