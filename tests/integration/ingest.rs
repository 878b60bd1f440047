//! The ingest's promises under concurrency and failure, with the moments that matter held open
//! by PostgreSQL locks rather than by timing: the same SOP Instance UID with other content (or
//! the same data set in other file meta) arriving while the first is being registered, a failed
//! database write, and the orphan sweep running while an ingest sits between writing its object
//! and committing its row.

use std::time::Duration;

use elysium_db::MIGRATOR;
use elysium_server::ingest::{Ingestor, Outcome, Received, Rejection, Via, sweep};
use elysium_tests::{TestApp, fixture};
use object_store::{ObjectStoreExt, path::Path as ObjectPath};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};

/// How long a test waits for a session to reach a lock before it fails, naming the lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// CT_small with its last pixel changed: the same UIDs, other content.
fn altered_ct_small() -> Vec<u8> {
    elysium_tests::ct_small_one_pixel_changed(&fixture("pydicom/CT_small.dcm"))
}

/// CT_small's data set in the file meta information the C-STORE listener writes (its own
/// implementation, no Source AE Title): the same instance, another file.
fn ct_small_in_other_file_meta(original: &[u8]) -> Vec<u8> {
    let start = 128 + elysium_dicom::lengths::meta_end(&original[128..]).expect("file meta");
    let meta = dicom_object::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
        .media_storage_sop_instance_uid("1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322")
        .transfer_syntax("1.2.840.10008.1.2.1")
        .implementation_class_uid("2.25.302871453011428719637224938710429131517")
        .implementation_version_name("ELYSIUM")
        .build()
        .expect("file meta");
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).expect("file meta written");
    file.extend_from_slice(&original[start..]);
    file
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Holds every insert into `instance` until the returned transaction ends. Reads still go
/// through (EXCLUSIVE conflicts with ROW EXCLUSIVE, not with ACCESS SHARE), so an ingest gets as
/// far as writing its object and waits at its row.
async fn hold_instance_inserts(pool: &PgPool) -> Transaction<'static, Postgres> {
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query("lock table instance in exclusive mode").execute(&mut *blocker).await.expect("lock table");
    blocker
}

/// Waits until some session waits for a lock of `kind`: `relation` (the table lock above) or
/// `advisory` (an object key's lock, `elysium_db::images::lock_object_key`).
async fn until_a_session_waits_for(pool: &PgPool, kind: &str) {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        let waiting: i64 = sqlx::query_scalar("select count(*) from pg_locks where not granted and locktype = $1")
            .bind(kind)
            .fetch_one(pool)
            .await
            .expect("pg_locks");
        if waiting > 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no session waited for a {kind} lock within {LOCK_WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn spawn_ingest(ingestor: &Ingestor, bytes: Vec<u8>, site: uuid::Uuid) -> tokio::task::JoinHandle<Outcome> {
    let ingestor = ingestor.clone();
    tokio::spawn(async move { ingestor.ingest(bytes.into(), &Received::new(Via::Stow, site)).await })
}

async fn instance_rows(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("select sha256, object_key from instance").fetch_all(pool).await.expect("instances")
}

async fn object_keys(ingestor: &Ingestor) -> Vec<String> {
    use futures::TryStreamExt;
    let listed: Vec<_> = ingestor.store().list(None).try_collect().await.expect("list");
    listed.into_iter().map(|meta| meta.location.to_string()).collect()
}

/// Exactly one instance row, holding `original`'s SHA-256, one object in the store, and that
/// object is `original`'s bytes: nothing was written over or left behind.
async fn only_the_original_is_kept(app: &TestApp, ingestor: &Ingestor, original: &[u8]) {
    let rows = instance_rows(&app.pool).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, sha256_hex(original));
    assert_eq!(object_keys(ingestor).await, [rows[0].1.clone()], "one object, the row's");
    let kept = ingestor.store().get(&ObjectPath::from(rows[0].1.as_str())).await.expect("get");
    assert_eq!(kept.bytes().await.expect("bytes").as_ref(), original);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_same_uid_with_other_content_at_the_same_moment_keeps_the_first(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ingestor = app.state().ingestor;
    let site = app.site_id("DEMO-GH").await;
    let (first, second) = (fixture("pydicom/CT_small.dcm"), altered_ct_small());

    // The first has written its object and waits at its row; the second arrives now.
    let blocker = hold_instance_inserts(&app.pool).await;
    let first_ingest = spawn_ingest(&ingestor, first.clone(), site);
    until_a_session_waits_for(&app.pool, "relation").await;
    let second_ingest = spawn_ingest(&ingestor, second, site);
    // The second waits for the object key's lock, held by the first until its commit.
    until_a_session_waits_for(&app.pool, "advisory").await;
    blocker.commit().await.expect("release");

    let first_outcome = first_ingest.await.expect("first ingest");
    let second_outcome = second_ingest.await.expect("second ingest");
    assert!(matches!(first_outcome, Outcome::Stored(_)), "{first_outcome:?}");
    match &second_outcome {
        Outcome::Rejected { reason, .. } => {
            assert_eq!(reason, &Rejection::ConflictingContent);
            assert_eq!(reason.failure_reason(), 0x0111);
        }
        other => panic!("the second content must be refused: {other:?}"),
    }
    // One row, one object, and the object is the first's bytes: nothing was written over.
    only_the_original_is_kept(&app, &ingestor, &first).await;
}

/// The same data set in other file meta arriving while the first is being registered: the
/// second finds the first's row under the lock and is its duplicate; its own object goes.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_same_data_set_in_other_file_meta_at_the_same_moment_is_a_duplicate(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ingestor = app.state().ingestor;
    let site = app.site_id("DEMO-GH").await;
    let first = fixture("pydicom/CT_small.dcm");
    let second = ct_small_in_other_file_meta(&first);
    assert_ne!(sha256_hex(&first), sha256_hex(&second));

    let blocker = hold_instance_inserts(&app.pool).await;
    let first_ingest = spawn_ingest(&ingestor, first.clone(), site);
    until_a_session_waits_for(&app.pool, "relation").await;
    let second_ingest = spawn_ingest(&ingestor, second, site);
    until_a_session_waits_for(&app.pool, "advisory").await;
    blocker.commit().await.expect("release");

    let first_outcome = first_ingest.await.expect("first ingest");
    let second_outcome = second_ingest.await.expect("second ingest");
    assert!(matches!(first_outcome, Outcome::Stored(_)), "{first_outcome:?}");
    assert!(matches!(second_outcome, Outcome::Duplicate(_)), "{second_outcome:?}");
    // The second's object is removed.
    only_the_original_is_kept(&app, &ingestor, &first).await;
}

/// An instance stored before the data set's digest was kept (null) is compared by its stored
/// object's data set: a resend in other file meta is its duplicate, one changed pixel is not.
#[sqlx::test(migrator = "MIGRATOR")]
async fn instances_stored_before_the_data_set_digest_are_compared_by_their_object(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ingestor = app.state().ingestor;
    let site = app.site_id("DEMO-GH").await;
    let original = fixture("pydicom/CT_small.dcm");
    let stored = ingestor.ingest(original.clone().into(), &Received::new(Via::Stow, site)).await;
    assert!(matches!(stored, Outcome::Stored(_)), "{stored:?}");
    sqlx::query("update instance set dataset_sha256 = null").execute(&app.pool).await.expect("as stored before");

    let cstore = Received::new(Via::Cstore, site);
    let resend = ingestor.ingest(ct_small_in_other_file_meta(&original).into(), &cstore).await;
    assert!(matches!(resend, Outcome::Duplicate(_)), "{resend:?}");
    let altered = elysium_tests::ct_small_one_pixel_changed(&ct_small_in_other_file_meta(&original));
    match ingestor.ingest(altered.into(), &cstore).await {
        Outcome::Rejected { reason, .. } => assert_eq!(reason, Rejection::ConflictingContent),
        other => panic!("one pixel changed is other content: {other:?}"),
    }
    let digest: Option<String> =
        sqlx::query_scalar("select dataset_sha256 from instance").fetch_one(&app.pool).await.expect("row");
    assert_eq!(digest, None, "nothing is written back");
    only_the_original_is_kept(&app, &ingestor, &original).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_failed_database_write_leaves_no_row_and_no_object(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ingestor = app.state().ingestor;
    let site = app.site_id("DEMO-GH").await;
    // A database that refuses the row after the object is written (as a full disk or a lost
    // connection would).
    sqlx::raw_sql(
        "create function refuse_instance() returns trigger language plpgsql as
             $$ begin raise exception 'the disk is full'; end $$;
         create trigger refuse_instance before insert on instance
             for each row execute function refuse_instance();",
    )
    .execute(&app.pool)
    .await
    .expect("trigger");

    let outcome = ingestor.ingest(fixture("pydicom/CT_small.dcm").into(), &Received::new(Via::Stow, site)).await;
    match &outcome {
        Outcome::Rejected { reason, .. } => {
            assert_eq!(reason, &Rejection::Storage);
            assert_eq!(reason.failure_reason(), 0xA700);
        }
        other => panic!("a failed write is a refusal: {other:?}"),
    }
    assert!(instance_rows(&app.pool).await.is_empty());
    let (patients, studies, series): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from patient), (select count(*) from study), (select count(*) from series)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((patients, studies, series), (0, 0, 0), "the patient, study and series rows went with it");
    assert!(object_keys(&ingestor).await.is_empty(), "the object written before the row is removed");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_sweep_never_removes_the_object_of_an_ingest_in_progress(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ingestor = app.state().ingestor;
    let site = app.site_id("DEMO-GH").await;
    let bytes = fixture("pydicom/CT_small.dcm");

    // The ingest has written its object and waits at its row: to a listing, an orphan.
    let blocker = hold_instance_inserts(&app.pool).await;
    let ingest = spawn_ingest(&ingestor, bytes.clone(), site);
    until_a_session_waits_for(&app.pool, "relation").await;
    assert_eq!(object_keys(&ingestor).await.len(), 1);
    // A sweep with no grace period at all finds it unreferenced and waits for its key's lock.
    let (pool, store) = (app.pool.clone(), ingestor.store().clone());
    let sweeping =
        tokio::spawn(async move { sweep::sweep_orphans(&pool, store.as_ref(), Duration::ZERO, false).await });
    until_a_session_waits_for(&app.pool, "advisory").await;
    blocker.commit().await.expect("release");

    let outcome = ingest.await.expect("ingest");
    assert!(matches!(outcome, Outcome::Stored(_)), "{outcome:?}");
    let report = sweeping.await.expect("sweep task").expect("sweep");
    assert_eq!((report.examined, report.removed.len()), (1, 0), "{report:?}");
    let rows = instance_rows(&app.pool).await;
    let kept = ingestor.store().get(&ObjectPath::from(rows[0].1.as_str())).await.expect("the object is still there");
    assert_eq!(kept.bytes().await.expect("bytes").as_ref(), bytes.as_slice());
}
