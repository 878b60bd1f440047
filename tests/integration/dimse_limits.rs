//! The DICOM listener's limits, access rule and audit trail (issue 18), driven by a DIMSE client
//! of our own where dcmtk cannot hold an association open or say what status it got: the
//! association cap, idle and association timeouts, the instance size limit, unknown calling AE
//! titles, deflate bombs, and the audit rows of each association and stored study.
//!
//! Every wait is bounded ([`WAIT`]); the server's own timeouts are configured tiny (1-2 s), so
//! that a test waits for them with a wide margin rather than racing them.

use std::time::Duration;

use dicom_ul::ClientAssociationOptions;
use dicom_ul::association::AsyncClientAssociation;
use dicom_ul::pdu::{
    AssociationRJResult, AssociationRJServiceProviderPresentationReason, AssociationRJSource, PDataValue,
    PDataValueType, Pdu,
};
use elysium_db::MIGRATOR;
use elysium_server::dimse::DimseConfig;
use elysium_tests::{TestApp, fixture};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::dimse::{config, fixture_path, instances, listener_with, run};

/// The longest a test waits for anything (the server's timeouts are a second or two).
const WAIT: Duration = Duration::from_secs(30);
const VERIFICATION: &str = "1.2.840.10008.1.1";
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const STATUS_SUCCESS: u16 = 0x0000;
const STATUS_OUT_OF_RESOURCES: u16 = 0xA700;
const STATUS_CANNOT_UNDERSTAND: u16 = 0xC000;
const CT_SMALL_UID: &str = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";

type Client = AsyncClientAssociation<TcpStream>;

/// An association from `calling` proposing `abstract_syntax` in `transfer_syntax`.
async fn associate(
    port: u16,
    calling: &str,
    abstract_syntax: &str,
    transfer_syntax: &str,
) -> Result<Client, dicom_ul::association::Error> {
    let request = ClientAssociationOptions::new()
        .calling_ae_title(calling)
        .called_ae_title("ELYSIUM")
        .with_presentation_context(abstract_syntax, vec![transfer_syntax])
        .read_timeout(WAIT)
        .write_timeout(WAIT)
        .establish_async(("127.0.0.1", port));
    tokio::time::timeout(WAIT, request).await.unwrap_or_else(|_| panic!("no answer to {calling} within {WAIT:?}"))
}

/// An implicit VR little endian element (a command set's encoding); `value` already even.
fn implicit(tag: (u16, u16), value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&tag.0.to_le_bytes());
    out.extend_from_slice(&tag.1.to_le_bytes());
    out.extend_from_slice(&u32::try_from(value.len()).expect("short").to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// A UID value, padded to even length with NUL (PS3.5 §9.1).
fn ui(uid: &str) -> Vec<u8> {
    let mut value = uid.as_bytes().to_vec();
    if !value.len().is_multiple_of(2) {
        value.push(0);
    }
    value
}

/// A command set: its group length, then `elements`.
fn command(elements: &[((u16, u16), Vec<u8>)]) -> Vec<u8> {
    let body: Vec<u8> = elements.iter().flat_map(|(tag, value)| implicit(*tag, value)).collect();
    let mut out = implicit((0x0000, 0x0000), &u32::try_from(body.len()).expect("short").to_le_bytes());
    out.extend(body);
    out
}

fn c_echo_rq(message_id: u16) -> Vec<u8> {
    command(&[
        ((0x0000, 0x0002), ui(VERIFICATION)),
        ((0x0000, 0x0100), 0x0030u16.to_le_bytes().to_vec()),
        ((0x0000, 0x0110), message_id.to_le_bytes().to_vec()),
        ((0x0000, 0x0800), 0x0101u16.to_le_bytes().to_vec()),
    ])
}

fn c_store_rq(class: &str, instance: &str) -> Vec<u8> {
    command(&[
        ((0x0000, 0x0002), ui(class)),
        ((0x0000, 0x0100), 0x0001u16.to_le_bytes().to_vec()),
        ((0x0000, 0x0110), 7u16.to_le_bytes().to_vec()),
        ((0x0000, 0x0700), 0u16.to_le_bytes().to_vec()),
        ((0x0000, 0x0800), 0u16.to_le_bytes().to_vec()),
        ((0x0000, 0x1000), ui(instance)),
    ])
}

/// The Status (0000,0900) of a response command set.
fn status(command: &[u8]) -> Option<u16> {
    let mut at = 0;
    while let Some(header) = command.get(at..at + 8) {
        let tag = (u16::from_le_bytes([header[0], header[1]]), u16::from_le_bytes([header[2], header[3]]));
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let value = command.get(at + 8..at + 8 + length)?;
        if tag == (0x0000, 0x0900) {
            return value.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        }
        at += 8 + length;
    }
    None
}

/// Sends one P-DATA value; false when the association is gone (the listener aborted it).
async fn send(client: &mut Client, context: u8, value_type: PDataValueType, data: Vec<u8>, is_last: bool) -> bool {
    let pdu = Pdu::PData { data: vec![PDataValue { presentation_context_id: context, value_type, is_last, data }] };
    tokio::time::timeout(WAIT, client.send(&pdu)).await.expect("send in time").is_ok()
}

/// The status of the next response; `None` when the association ends instead (an A-ABORT, a
/// closed connection).
async fn response(client: &mut Client) -> Option<u16> {
    let mut command = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, client.receive()).await.expect("an answer in time") {
            Ok(Pdu::PData { data }) => {
                for value in data.into_iter().filter(|v| v.value_type == PDataValueType::Command) {
                    command.extend(value.data);
                    if value.is_last {
                        return status(&command);
                    }
                }
            }
            Ok(_) | Err(_) => return None,
        }
    }
}

/// A C-STORE of `dataset` (in the association's one transfer syntax): the response's status.
async fn c_store(client: &mut Client, class: &str, instance: &str, dataset: &[u8]) -> Option<u16> {
    let context = client.presentation_contexts()[0].id;
    if !send(client, context, PDataValueType::Command, c_store_rq(class, instance), true).await {
        return None;
    }
    let chunks: Vec<&[u8]> = dataset.chunks(16 * 1024).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        if !send(client, context, PDataValueType::Data, chunk.to_vec(), i + 1 == chunks.len()).await {
            return None;
        }
    }
    response(client).await
}

async fn c_echo(client: &mut Client) -> Option<u16> {
    let context = client.presentation_contexts()[0].id;
    if !send(client, context, PDataValueType::Command, c_echo_rq(1), true).await {
        return None;
    }
    response(client).await
}

async fn release(client: Client) {
    tokio::time::timeout(WAIT, client.release()).await.expect("released in time").expect("released");
}

/// The data set of a Part 10 file (after its file meta group) and its SOP class and instance.
fn dataset_of(file: &[u8]) -> (String, String, Vec<u8>) {
    let header = elysium_dicom::header::parse_header(file).expect("a valid instance");
    let start = 128 + elysium_dicom::lengths::meta_end(&file[128..]).expect("file meta");
    (header.sop_class_uid.as_str().to_owned(), header.sop_instance_uid.as_str().to_owned(), file[start..].to_vec())
}

/// The first slice of a small phantom (32 x 32): a CT instance of a few kilobytes.
fn small_ct() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(dir.path());
    options.rows = 32;
    options.slices = Some(2);
    options.seed = 18;
    let report = elysium_phantom::generate(&options).expect("phantom");
    std::fs::read(&report.series[0].dicom_files().expect("files")[0]).expect("slice")
}

/// The `dicom.association` rows: (actor, client address, outcome, detail), once `ready` holds
/// for them (rows are written as an association ends, just after the sender hears its end).
async fn association_rows(app: &TestApp, ready: impl Fn(&[AuditRow]) -> bool) -> Vec<AuditRow> {
    let deadline = Instant::now() + WAIT;
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "select actor_username, client_addr, outcome, detail from audit_event
              where action = 'dicom.association' order by id",
        )
        .fetch_all(&app.pool)
        .await
        .expect("audit rows");
        if ready(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "the association rows did not arrive within {WAIT:?}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type AuditRow = (Option<String>, Option<String>, String, Value);

fn ended(row: &AuditRow) -> &str {
    row.3["ended"].as_str().unwrap_or_default()
}

async fn stored_objects(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(app.objects.path())
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_association_over_the_limit_is_refused_until_one_ends(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener_with(&app, DimseConfig { max_associations: 2, ..config(vec![]) }).await;
    let first = associate(port, "HOLD-1", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await.expect("first");
    let mut second = associate(port, "HOLD-2", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await.expect("second");

    // The third is refused as transient, "local limit exceeded": a PACS retries later.
    let Err(over) = associate(port, "OVER", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await else {
        panic!("a third association was accepted over the limit of 2")
    };
    let dicom_ul::association::Error::Rejected { association_rj, .. } = over else { panic!("not a rejection: {over}") };
    assert_eq!(association_rj.result, AssociationRJResult::Transient);
    assert_eq!(
        association_rj.source,
        AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded
        )
    );
    // The two held open still work.
    assert_eq!(c_echo(&mut second).await, Some(STATUS_SUCCESS));

    // Once one ends its slot is free again (the listener frees it after writing its audit row,
    // so the sender may have to try more than once).
    release(first).await;
    let deadline = Instant::now() + WAIT;
    let after = loop {
        match associate(port, "AFTER", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await {
            Ok(after) => break after,
            Err(error) => assert!(Instant::now() < deadline, "no slot freed within {WAIT:?}: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    release(after).await;
    release(second).await;

    let rows = association_rows(&app, |rows| rows.iter().filter(|r| r.2 == "success").count() == 3).await;
    let refused = rows.iter().find(|r| r.0.as_deref() == Some("ae:OVER")).expect("the refusal is audited");
    assert_eq!(refused.2, "denied");
    assert_eq!(ended(refused), "refused: the listener is at its limit of 2 associations");
    assert_eq!(refused.1.as_deref(), Some("127.0.0.1"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn silent_connections_and_idle_associations_are_closed_after_the_idle_timeout(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener_with(&app, DimseConfig { idle_timeout_secs: 1, ..config(vec![]) }).await;

    // A connection that never asks for an association.
    let started = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(WAIT, silent.read(&mut byte)).await.expect("closed within the bound");
    assert!(matches!(read, Ok(0) | Err(_)), "closed, not answered: {read:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "not before the idle timeout");

    // An association that goes quiet is aborted.
    let mut idle = associate(port, "IDLE", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await.expect("associated");
    let next = tokio::time::timeout(WAIT, idle.receive()).await.expect("aborted within the bound");
    assert!(matches!(next, Ok(Pdu::AbortRQ { .. }) | Err(_)), "{next:?}");

    let rows = association_rows(&app, |rows| !rows.is_empty()).await;
    assert_eq!(rows.len(), 1, "the silent connection named no one: logged, not audited: {rows:?}");
    assert_eq!(rows[0].0.as_deref(), Some("ae:IDLE"));
    assert_eq!((rows[0].2.as_str(), ended(&rows[0])), ("failure", "aborted: idle timeout"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_association_is_aborted_at_its_time_limit_however_busy(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener_with(&app, DimseConfig { association_timeout_secs: 2, ..config(vec![]) }).await;
    let started = Instant::now();
    let mut busy = associate(port, "BUSY", VERIFICATION, EXPLICIT_VR_LITTLE_ENDIAN).await.expect("associated");
    // Never idle: an echo every 100 ms, until the listener ends it.
    loop {
        assert!(started.elapsed() < WAIT, "still open after {WAIT:?}");
        if c_echo(&mut busy).await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(2), "not before the time limit");
    let rows = association_rows(&app, |rows| !rows.is_empty()).await;
    assert_eq!(ended(&rows[0]), "aborted: association time limit");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_instance_over_the_size_limit_is_refused_and_the_association_goes_on(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener_with(&app, DimseConfig { max_instance_bytes: 16 * 1024, ..config(vec![]) }).await;
    let mut client =
        associate(port, "MODALITY", CT_IMAGE_STORAGE, EXPLICIT_VR_LITTLE_ENDIAN).await.expect("associated");

    // CT_small's data set is 38 KB: refused, out of resources.
    let (class, instance, dataset) = dataset_of(&fixture("pydicom/CT_small.dcm"));
    assert!(dataset.len() > 16 * 1024);
    assert_eq!(c_store(&mut client, &class, &instance, &dataset).await, Some(STATUS_OUT_OF_RESOURCES));
    // A small one on the same association is stored.
    let (class, small, dataset) = dataset_of(&small_ct());
    assert!(dataset.len() < 16 * 1024, "{}", dataset.len());
    assert_eq!(c_store(&mut client, &class, &small, &dataset).await, Some(STATUS_SUCCESS));
    release(client).await;

    let stored: Vec<String> =
        sqlx::query_scalar("select sop_instance_uid from instance").fetch_all(&app.pool).await.expect("instances");
    assert_eq!(stored, [small]);
    assert_eq!(stored_objects(&app).await, 1, "nothing of the refused instance was kept");
    let rows = association_rows(&app, |rows| !rows.is_empty()).await;
    let detail = &rows[0].3;
    assert_eq!((detail["stored"].as_u64(), detail["refused_too_large"].as_u64()), (Some(1), Some(1)), "{detail}");
    assert_eq!(detail["too_large"], serde_json::json!([CT_SMALL_UID]));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_calling_titles_are_refused_unless_given_a_site_or_opted_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // A default site, and one title with a site of its own: without the opt-in, only that title
    // (or one on ELYSIUM_DICOM_ALLOWED_CALLING) may send.
    let strict = DimseConfig { accept_any_ae: false, ae_sites: vec!["RC-PACS=DEMO-RC".into()], ..config(vec![]) };
    let port = listener_with(&app, strict).await.to_string();
    let ct = fixture_path("CT_small.dcm");
    assert!(!run("storescu", &["-aet", "STRANGER", "-aec", "ELYSIUM", "127.0.0.1", &port, &ct]).await);
    assert!(instances(&app).await.is_empty());
    assert!(run("storescu", &["-aet", "RC-PACS", "-aec", "ELYSIUM", "127.0.0.1", &port, &ct]).await);
    assert_eq!(instances(&app).await.len(), 1);

    let rows = association_rows(&app, |rows| rows.len() == 2).await;
    let stranger = rows.iter().find(|r| r.0.as_deref() == Some("ae:STRANGER")).expect("the refusal is audited");
    assert_eq!(stranger.2, "denied");
    assert!(ended(stranger).starts_with("refused: the calling AE title is unknown"), "{stranger:?}");

    // The opt-in admits any title, filed at the default site.
    let open = DimseConfig { accept_any_ae: true, ..config(vec![]) };
    let port = listener_with(&app, open).await.to_string();
    let other = fixture_path("J2K_pixelrep_mismatch.dcm");
    assert!(run("storescu", &["-aet", "STRANGER", "-aec", "ELYSIUM", "-xv", "127.0.0.1", &port, &other]).await);
    assert_eq!(instances(&app).await.len(), 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_association_and_each_stored_study_is_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener_with(&app, config(vec![])).await.to_string();
    let ct = fixture_path("CT_small.dcm");
    assert!(run("storescu", &["-aet", "CT-ROOM-2", "-aec", "ELYSIUM", "127.0.0.1", &port, &ct]).await);

    let rows = association_rows(&app, |rows| !rows.is_empty()).await;
    let (actor, client, outcome, detail) = &rows[0];
    assert_eq!(
        (actor.as_deref(), client.as_deref(), outcome.as_str()),
        (Some("ae:CT-ROOM-2"), Some("127.0.0.1"), "success")
    );
    assert_eq!(detail["calling_ae"], "CT-ROOM-2");
    assert_eq!(detail["called_ae"], "ELYSIUM");
    assert_eq!(detail["accepted"], true);
    assert_eq!(detail["ended"], "released");
    assert_eq!((detail["stored"].as_u64(), detail["refused"].as_u64()), (Some(1), Some(0)), "{detail}");
    assert!(detail["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{detail}");

    // The study, as every other way in audits it (the association row is written after it).
    // (actor, target, patient, detail)
    type StudyRow = (Option<String>, Option<String>, Option<String>, Value);
    let studies: Vec<StudyRow> = sqlx::query_as(
        "select actor_username, target_id, patient_id, detail from audit_event where action = 'dicom.cstore.store'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("study rows");
    assert_eq!(studies.len(), 1, "{studies:?}");
    let study_uid: String =
        sqlx::query_scalar("select study_uid from study").fetch_one(&app.pool).await.expect("study");
    assert_eq!(studies[0].0.as_deref(), Some("ae:CT-ROOM-2"));
    assert_eq!(studies[0].1.as_deref(), Some(study_uid.as_str()));
    assert!(studies[0].2.is_some(), "the patient is named");
    assert_eq!(studies[0].3["stored"], 1);
}

/// Explicit VR little endian element with a 2-byte length; `value` padded to even length with
/// `pad`.
fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8], pad: u8) -> Vec<u8> {
    let mut value = value.to_vec();
    if !value.len().is_multiple_of(2) {
        value.push(pad);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&tag.0.to_le_bytes());
    out.extend_from_slice(&tag.1.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&u16::try_from(value.len()).expect("short").to_le_bytes());
    out.extend_from_slice(&value);
    out
}

const BOMB_UID: &str = "2.25.18018018018018018018018";

/// A deflate bomb: a CT data set that declares a 16 x 16 image (512 bytes of pixel data) but
/// whose Pixel Data inflates to 200 MiB of zeros; about 200 KB deflated.
fn deflate_bomb_dataset() -> Vec<u8> {
    let zeros = 200 * 1024 * 1024 + 64 * 1024;
    let mut header = [
        explicit((0x0008, 0x0016), b"UI", CT_IMAGE_STORAGE.as_bytes(), 0),
        explicit((0x0008, 0x0018), b"UI", BOMB_UID.as_bytes(), 0),
        explicit((0x0008, 0x0060), b"CS", b"CT", b' '),
        explicit((0x0010, 0x0010), b"PN", b"Bomb^Deflate", b' '),
        explicit((0x0010, 0x0020), b"LO", b"BOMB-1", b' '),
        explicit((0x0020, 0x000D), b"UI", b"2.25.18018018018018018018019", 0),
        explicit((0x0020, 0x000E), b"UI", b"2.25.18018018018018018018020", 0),
        explicit((0x0028, 0x0002), b"US", &1u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0004), b"CS", b"MONOCHROME2", b' '),
        explicit((0x0028, 0x0010), b"US", &16u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0011), b"US", &16u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0100), b"US", &16u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0101), b"US", &16u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0102), b"US", &15u16.to_le_bytes(), 0),
        explicit((0x0028, 0x0103), b"US", &1u16.to_le_bytes(), 0),
    ]
    .concat();
    header.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
    header.extend_from_slice(&u32::try_from(zeros).expect("u32").to_le_bytes());
    elysium_dicom::testing::deflated_with_zeros(&header, zeros)
}

fn part10(dataset: &[u8]) -> Vec<u8> {
    let meta = dicom_object::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(BOMB_UID)
        .transfer_syntax(DEFLATED)
        .implementation_class_uid("2.25.18")
        .build()
        .expect("meta");
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).expect("meta written");
    file.extend_from_slice(dataset);
    file
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_deflate_bomb_is_refused_at_ingest_and_nothing_is_stored(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let bomb = deflate_bomb_dataset();
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());

    // STOW-RS: the part is refused with a reason naming the bound.
    let radiologist = app.signed_in("radiologist").await;
    let (status, body) =
        elysium_tests::stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &[part10(&bomb)]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["00081198"]["Value"][0]["00081197"]["Value"][0], u64::from(STATUS_CANNOT_UNDERSTAND), "{body}");

    // C-STORE in the deflated transfer syntax: refused the same way.
    let port = listener_with(&app, config(vec![])).await;
    let mut client = associate(port, "BOMBER", CT_IMAGE_STORAGE, DEFLATED).await.expect("associated");
    let started = Instant::now();
    assert_eq!(c_store(&mut client, CT_IMAGE_STORAGE, BOMB_UID, &bomb).await, Some(STATUS_CANNOT_UNDERSTAND));
    release(client).await;
    assert!(started.elapsed() < WAIT);

    assert!(instances(&app).await.is_empty());
    assert_eq!(stored_objects(&app).await, 0);
    // The association's rows are written after its studies' and refusals'.
    association_rows(&app, |rows| !rows.is_empty()).await;
    let refusals: Vec<Value> = sqlx::query_scalar(
        "select detail from audit_event where action in ('dicom.stow.refused', 'dicom.cstore.refused')",
    )
    .fetch_all(&app.pool)
    .await
    .expect("refusals");
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    for refusal in refusals {
        let reason = refusal["first"][0]["reason"].as_str().unwrap_or_default().to_owned();
        assert!(reason.contains("inflates past"), "{reason}");
    }
}
