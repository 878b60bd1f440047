//! STOW-RS and QIDO-RS against the real server, with public sample files and phantoms.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, get_json, multipart_related, stow_content_type};
use reqwest::Client;
use serde_json::Value;
use sqlx::PgPool;

const CT_SMALL_UID: &str = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";

/// STOW-RS to `path`, filed at DEMO-GH unless the path names a site (both users who may store
/// in the demo, the administrator and the radiologist, work at two sites and must choose).
async fn stow(app: &TestApp, client: &Client, path: &str, parts: &[Vec<u8>]) -> (u16, Value) {
    let path = if path.contains("site=") { path.to_owned() } else { format!("{path}?site=DEMO-GH") };
    elysium_tests::stow(app, client, &path, parts).await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&app.pool).await.expect("count")
}

fn object_files(app: &TestApp) -> usize {
    walk(app.objects.path())
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

/// A small phantom series (32 x 32 slices) and its instances' bytes, in file order.
fn phantom_series(seed: u64, slices: u32) -> (elysium_phantom::GeneratedSeries, Vec<Vec<u8>>) {
    let out = tempfile::tempdir().expect("tmp");
    let mut options = elysium_phantom::PhantomOptions::new(out.path());
    options.rows = 32;
    options.slices = Some(slices);
    options.seed = seed;
    let report = elysium_phantom::generate(&options).expect("phantom");
    let series = report.series.into_iter().next().expect("one series");
    let parts = series.dicom_files().expect("series files").iter().map(|p| std::fs::read(p).expect("read")).collect();
    (series, parts)
}

fn failure_reasons(body: &Value) -> Vec<u64> {
    body["00081198"]["Value"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["00081197"]["Value"][0].as_u64()).collect())
        .unwrap_or_default()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_stores_public_ct_samples_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let samples = vec![
        fixture("pydicom/CT_small.dcm"),
        fixture("pydicom/J2K_pixelrep_mismatch.dcm"),
        fixture("pydicom/693_J2KI.dcm"),
    ];
    let (status, body) = stow(&app, &radiologist, "/dicomweb/studies", &samples).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["00081199"]["Value"].as_array().map(Vec::len), Some(3));
    assert_eq!(count(&app, "instance").await, 3);
    assert_eq!(object_files(&app), 3);
    let stored: Vec<u8> = std::fs::read(
        app.objects.path().join("objects").join(
            sqlx::query_scalar::<_, String>("select object_key from instance where sop_instance_uid = $1")
                .bind(CT_SMALL_UID)
                .fetch_one(&app.pool)
                .await
                .expect("key"),
        ),
    )
    .expect("object");
    assert_eq!(stored, samples[0], "the original is kept byte for byte");

    let (again, body) = stow(&app, &radiologist, "/dicomweb/studies", &samples).await;
    assert_eq!(again, 200, "duplicates are success: {body}");
    assert_eq!(count(&app, "instance").await, 3);
    let audit: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'dicom.stow.store' and patient_id is not null",
    )
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert!(audit >= 2, "each stored study is audited with its patient");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_refuses_bad_parts_with_reasons_and_stores_the_rest(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let whole = fixture("pydicom/CT_small.dcm");
    let parts = vec![
        whole.clone(),
        b"this is not DICOM".to_vec(),
        fixture("pydicom/image_dfl.dcm"),
        fixture("pydicom/ExplVR_LitEndNoMeta.dcm"),
        whole[..whole.len() - 1000].to_vec(),
    ];
    let (status, body) = stow(&app, &admin, "/dicomweb/studies", &parts).await;
    assert_eq!(status, 202, "{body}");
    let mut reasons = failure_reasons(&body);
    reasons.sort_unstable();
    // Truncated → duplicate UID path is never reached: it fails to parse first.
    assert_eq!(reasons, [0x0122, 0xC000, 0xC000, 0xC000], "{body}");
    assert_eq!(count(&app, "instance").await, 1);
    assert_eq!(object_files(&app), 1, "nothing refused leaves an object behind");

    let (none, body) = stow(&app, &admin, "/dicomweb/studies", &parts[1..2]).await;
    assert_eq!(none, 409, "{body}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_same_uid_with_other_content_is_refused_never_overwritten(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let original = fixture("pydicom/CT_small.dcm");
    assert_eq!(stow(&app, &admin, "/dicomweb/studies", std::slice::from_ref(&original)).await.0, 200);
    let altered = elysium_tests::ct_small_one_pixel_changed(&original);
    let (status, body) = stow(&app, &admin, "/dicomweb/studies", &[altered]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(failure_reasons(&body), [0x0111]);
    let key: String = sqlx::query_scalar("select object_key from instance").fetch_one(&app.pool).await.expect("key");
    assert_eq!(std::fs::read(app.objects.path().join("objects").join(key)).expect("object"), original);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_to_a_study_refuses_instances_of_other_studies(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.signed_in("admin").await;
    let (status, body) = stow(&app, &admin, "/dicomweb/studies/1.2.3.4", &[fixture("pydicom/CT_small.dcm")]).await;
    assert_eq!(status, 409);
    assert_eq!(failure_reasons(&body), [0xA900]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn stow_needs_a_writer_and_a_dicom_body(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let parts = [fixture("pydicom/CT_small.dcm")];
    assert_eq!(stow(&app, &app.client(), "/dicomweb/studies", &parts).await.0, 401);
    assert_eq!(stow(&app, &app.signed_in("coordinator").await, "/dicomweb/studies", &parts).await.0, 403);
    let admin = app.signed_in("admin").await;
    let wrong_type = admin
        .post(app.url("/dicomweb/studies"))
        .header("origin", app.origin())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(wrong_type.status(), 415);
    let cross_site = admin
        .post(app.url("/dicomweb/studies"))
        .header("origin", "http://evil.example")
        .header("content-type", stow_content_type())
        .body(multipart_related(&parts))
        .send()
        .await
        .expect("post");
    assert_eq!(cross_site.status(), 403);
    assert_eq!(count(&app, "instance").await, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn qido_finds_studies_series_and_instances_within_the_users_sites(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // The radiologist names DEMO-GH: what they send is filed there.
    let radiologist = app.signed_in("radiologist").await;
    assert_eq!(stow(&app, &radiologist, "/dicomweb/studies", &[fixture("pydicom/CT_small.dcm")]).await.0, 200);
    // A study from the other demo site, through the service directly.
    let mut conn = app.pool.acquire().await.expect("conn");
    let riverside = elysium_db::sites::by_code(&mut conn, "DEMO-RC").await.expect("query").expect("site");
    drop(conn);
    let received = elysium_server::ingest::Received::new(elysium_server::ingest::Via::Cli, riverside.id);
    let outcome = app.state().ingestor.ingest(fixture("pydicom/693_J2KI.dcm").into(), &received).await;
    assert!(matches!(outcome, elysium_server::ingest::Outcome::Stored(_)), "{outcome:?}");

    let get = |client: Client, path: &'static str| {
        let url = app.url(path);
        async move { client.get(url).send().await.expect("get").json::<Value>().await.expect("json") }
    };
    let coordinator = app.signed_in("coordinator").await;
    let seen = get(coordinator.clone(), "/dicomweb/studies").await;
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "coordinator sees DEMO-GH only: {seen}");
    let study = seen[0]["0020000D"]["Value"][0].as_str().expect("study uid").to_owned();
    assert_eq!(seen[0]["00080061"]["Value"][0], "CT");
    assert_eq!(seen[0]["00201208"]["Value"][0], 1);
    let admin = app.signed_in("admin").await;
    assert_eq!(get(admin.clone(), "/dicomweb/studies").await.as_array().map(Vec::len), Some(2));
    assert_eq!(get(admin.clone(), "/dicomweb/studies?limit=1&offset=1").await.as_array().map(Vec::len), Some(1));
    // Paging stops at a depth the database reads cheaply.
    for offset in ["100001", "9223372036854775807"] {
        let deep = admin.get(app.url(&format!("/dicomweb/studies?offset={offset}"))).send().await.expect("deep page");
        assert_eq!(deep.status(), 400, "offset={offset}");
    }
    assert_eq!(get(admin.clone(), "/dicomweb/studies?offset=100000").await, Value::Array(vec![]));
    assert_eq!(get(admin.clone(), "/dicomweb/studies?PatientID=no-such-patient").await, Value::Array(vec![]));
    let by_date = get(admin.clone(), "/dicomweb/studies?StudyDate=19000101-19001231").await;
    assert_eq!(by_date, Value::Array(vec![]));

    let series: Value = coordinator
        .get(app.url(&format!("/dicomweb/studies/{study}/series")))
        .send()
        .await
        .expect("series")
        .json()
        .await
        .expect("json");
    let series_uid = series[0]["0020000E"]["Value"][0].as_str().expect("series uid").to_owned();
    let instances: Value = coordinator
        .get(app.url(&format!("/dicomweb/studies/{study}/series/{series_uid}/instances")))
        .send()
        .await
        .expect("instances")
        .json()
        .await
        .expect("json");
    assert_eq!(instances[0]["00080018"]["Value"][0], CT_SMALL_UID);

    // The other site's study is invisible to the coordinator, as if it did not exist.
    let other: Value = get(admin, "/dicomweb/studies?ModalitiesInStudy=CT").await;
    let hidden = other.as_array().expect("array").iter().find_map(|s| {
        let uid = s["0020000D"]["Value"][0].as_str()?;
        (uid != study).then(|| uid.to_owned())
    });
    let hidden = hidden.expect("the riverside study");
    let response = coordinator.get(app.url(&format!("/dicomweb/studies/{hidden}/series"))).send().await.expect("get");
    assert_eq!(response.status(), 404);
    let bad_limit = coordinator.get(app.url("/dicomweb/studies?limit=lots")).send().await.expect("get");
    assert_eq!(bad_limit.status(), 400);
    let searches: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'dicomweb.search'")
        .fetch_one(&app.pool)
        .await
        .expect("audit");
    assert!(searches >= 5, "every search is audited ({searches})");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_phantom_series_round_trips_through_stow_and_qido(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (series, parts) = phantom_series(11, 6);
    let admin = app.signed_in("admin").await;
    let (status, body) = stow(&app, &admin, &format!("/dicomweb/studies/{}", series.study_uid), &parts).await;
    assert_eq!(status, 200, "{body}");
    let found = get_json(&app, &admin, &format!("/dicomweb/studies?PatientID={}", series.patient_id)).await;
    assert_eq!(found[0]["00201208"]["Value"][0], 6);
    assert_eq!(found[0]["00081190"]["Value"][0], format!("{}/dicomweb/studies/{}", app.origin(), series.study_uid));
}

/// Instances of one series arriving at the same time, in several requests and twice over, are
/// each registered once, under one patient, study and series row (registration takes no lock on
/// those rows, so this is what the database's unique keys alone must guarantee).
#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_requests_for_one_series_register_each_instance_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (series, parts) = phantom_series(12, 12);
    let admin = app.signed_in("admin").await;
    // Four requests in flight: three thirds of the series and the first third again.
    let requests = [&parts[0..4], &parts[4..8], &parts[8..12], &parts[0..4]];
    let responses =
        futures::future::join_all(requests.iter().map(|chunk| stow(&app, &admin, "/dicomweb/studies", chunk))).await;
    for (status, body) in &responses {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["00081199"]["Value"].as_array().map(Vec::len), Some(4), "{body}");
    }
    assert_eq!(count(&app, "instance").await, 12);
    assert_eq!(count(&app, "series").await, 1);
    assert_eq!(count(&app, "study").await, 1);
    assert_eq!(count(&app, "patient").await, 1);
    assert_eq!(object_files(&app), 12);
    let found = get_json(&app, &admin, &format!("/dicomweb/studies/{}/series", series.study_uid)).await;
    assert_eq!(found[0]["00201209"]["Value"][0], 12, "{found}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wado_returns_originals_metadata_and_rendered_frames(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let original = fixture("pydicom/CT_small.dcm");
    let (_, body) = stow(&app, &radiologist, "/dicomweb/studies", std::slice::from_ref(&original)).await;
    let url = body["00081199"]["Value"][0]["00081190"]["Value"][0].as_str().expect("retrieve url").to_owned();
    let path = url.trim_start_matches(&app.origin()).to_owned();

    let instance = radiologist.get(app.url(&path)).send().await.expect("wado");
    assert_eq!(instance.status(), 200);
    let content_type = instance.headers()["content-type"].to_str().expect("ct").to_owned();
    assert!(content_type.starts_with("multipart/related; type=\"application/dicom\""), "{content_type}");
    let body = instance.bytes().await.expect("body");
    let found = body.windows(original.len()).any(|w| w == original.as_slice());
    assert!(found, "the part is the original, byte for byte");

    let series_path = path.split("/instances/").next().expect("series path").to_owned();
    let series = radiologist.get(app.url(&series_path)).send().await.expect("series").bytes().await.expect("body");
    assert!(series.windows(original.len()).any(|w| w == original.as_slice()));

    let metadata: Value =
        radiologist.get(app.url(&format!("{path}/metadata"))).send().await.expect("meta").json().await.expect("json");
    assert_eq!(metadata[0]["00080060"]["Value"][0], "CT");
    assert!(metadata[0].get("7FE00010").is_none(), "no pixel data in metadata");
    let series_metadata: Value = radiologist
        .get(app.url(&format!("{series_path}/metadata")))
        .send()
        .await
        .expect("meta")
        .json()
        .await
        .expect("json");
    assert_eq!(series_metadata.as_array().map(Vec::len), Some(1));

    let png = radiologist.get(app.url(&format!("{path}/rendered?window=40,400"))).send().await.expect("rendered");
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.expect("png")[1..4], b"PNG");
    let frame = radiologist.get(app.url(&format!("{path}/frames/1/rendered"))).send().await.expect("frame");
    assert_eq!(frame.status(), 200);
    let bad_window = radiologist.get(app.url(&format!("{path}/rendered?window=wide"))).send().await.expect("bad");
    assert_eq!(bad_window.status(), 400);
    let no_frame = radiologist.get(app.url(&format!("{path}/frames/2/rendered"))).send().await.expect("frame 2");
    assert_eq!(no_frame.status(), 404);
    let unknown =
        radiologist.get(app.url(&format!("{series_path}/instances/1.2.3/rendered"))).send().await.expect("unknown");
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.client().get(app.url(&path)).send().await.expect("anonymous").status(), 401);
    let retrievals: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'dicomweb.retrieve' and patient_id is not null",
    )
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(retrievals, 2, "instance and series retrievals are audited with the patient");
}

/// The parts of a `multipart/related` body (boundary from its content type): each part's
/// Content-Type and bytes.
fn related_parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).expect("boundary").trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let headers_end = find(rest, b"\r\n\r\n").expect("part headers");
        let headers = String::from_utf8_lossy(&rest[..headers_end]).to_string();
        let part_type = headers.lines().find_map(|l| l.strip_prefix("Content-Type: ")).unwrap_or_default().to_owned();
        let content = &rest[headers_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).expect("part end");
        parts.push((part_type, content[..end].to_vec()));
        rest = &content[end + 2..];
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wado_retrieves_whole_studies_and_native_frames(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let native = fixture("pydicom/CT_small.dcm");
    let jpeg2000 = fixture("pydicom/693_J2KI.dcm");
    let (status, body) = stow(&app, &radiologist, "/dicomweb/studies", &[native.clone(), jpeg2000.clone()]).await;
    assert_eq!(status, 200, "{body}");
    let path_of = |i: usize| {
        let url = body["00081199"]["Value"][i]["00081190"]["Value"][0].as_str().expect("retrieve url");
        url.trim_start_matches(&app.origin()).to_owned()
    };
    let (native_path, j2k_path) = (path_of(0), path_of(1));

    // The study: every original, and the metadata of each.
    let study_path = native_path.split("/series/").next().expect("study path").to_owned();
    let study = radiologist.get(app.url(&study_path)).send().await.expect("study");
    assert_eq!(study.status(), 200);
    let content_type = study.headers()["content-type"].to_str().expect("ct").to_owned();
    let parts = related_parts(&content_type, &study.bytes().await.expect("body"));
    assert_eq!(parts.len(), 1, "CT_small's study holds one instance");
    assert_eq!(parts[0].0, "application/dicom");
    assert!(parts[0].1 == native, "the study's part is the original, byte for byte");
    // Each response draws its own boundary: a stored instance cannot contain it by design.
    let again = radiologist.get(app.url(&study_path)).send().await.expect("study again");
    let boundary_of = |content_type: &str| content_type.split("boundary=").nth(1).map(str::to_owned);
    let second = again.headers()["content-type"].to_str().expect("ct").to_owned();
    assert_ne!(boundary_of(&content_type), boundary_of(&second), "{content_type} / {second}");
    let metadata: Value = radiologist
        .get(app.url(&format!("{study_path}/metadata")))
        .send()
        .await
        .expect("meta")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata.as_array().map(Vec::len), Some(1));
    let unknown = radiologist.get(app.url("/dicomweb/studies/1.2.3.4")).send().await.expect("unknown study");
    assert_eq!(unknown.status(), 404);

    // Native frames: an uncompressed instance's frame is its pixel data, byte for byte.
    let frame = radiologist.get(app.url(&format!("{native_path}/frames/1"))).send().await.expect("frame");
    assert_eq!(frame.status(), 200);
    let content_type = frame.headers()["content-type"].to_str().expect("ct").to_owned();
    assert!(content_type.starts_with("multipart/related; type=\"application/octet-stream\""), "{content_type}");
    let parts = related_parts(&content_type, &frame.bytes().await.expect("body"));
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].0, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1");
    let parsed = elysium_dicom::header::parse(&native).expect("parse");
    let pixel_data =
        parsed.object.element(dicom_dictionary_std::tags::PIXEL_DATA).expect("pixel data").to_bytes().expect("bytes");
    assert_eq!(parts[0].1.len(), 128 * 128 * 2);
    assert!(parts[0].1.as_slice() == pixel_data.as_ref(), "the frame is the stored pixel data");

    // A JPEG 2000 frame comes decoded: its stored values, rescaled, are the HU Elysium renders.
    let accept = "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*";
    let frame =
        radiologist.get(app.url(&format!("{j2k_path}/frames/1"))).header("accept", accept).send().await.expect("frame");
    assert_eq!(frame.status(), 200);
    let content_type = frame.headers()["content-type"].to_str().expect("ct").to_owned();
    let raw = related_parts(&content_type, &frame.bytes().await.expect("body")).remove(0).1;
    let parsed = elysium_dicom::header::parse(&jpeg2000).expect("parse");
    let hu = elysium_dicom::render::decode_frame(&parsed, 0).expect("decode");
    assert_eq!(raw.len(), hu.values.len() * 2);
    let signed = parsed
        .object
        .element(dicom_dictionary_std::tags::PIXEL_REPRESENTATION)
        .ok()
        .and_then(|e| e.to_int::<u16>().ok())
        == Some(1);
    let (slope, intercept) =
        (parsed.header.rescale_slope.unwrap_or(1.0), parsed.header.rescale_intercept.unwrap_or(0.0));
    // PixelPaddingValue: padding reads as air (-1024 HU), and since this padding value lies below
    // air, so does everything under air (the volume's rule, which the viewer shares).
    let padding = parsed
        .object
        .element(dicom_dictionary_std::tags::PIXEL_PADDING_VALUE)
        .ok()
        .and_then(|e| e.to_int::<i32>().ok())
        .map(f64::from);
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let stored = if signed {
            f64::from(i16::from_le_bytes([pair[0], pair[1]]))
        } else {
            f64::from(u16::from_le_bytes([pair[0], pair[1]]))
        };
        let expected = match padding {
            Some(p) if stored == p => -1024.0,
            Some(p) if p * slope + intercept < -1024.0 => (stored * slope + intercept).max(-1024.0),
            _ => stored * slope + intercept,
        };
        assert!((expected - f64::from(hu.values[i])).abs() < 0.01, "pixel {i}: {expected} vs {}", hu.values[i]);
    }

    // What cannot be served is refused clearly.
    // A frame named twice would be decoded twice (`1,1,1,...` over and over): refused.
    for (list, status) in [("2", 404), ("1,2", 404), ("0", 400), ("x", 400), ("1,1", 400)] {
        let response = radiologist.get(app.url(&format!("{native_path}/frames/{list}"))).send().await.expect("frames");
        assert_eq!(response.status(), status, "frames/{list}");
    }
    let jpeg_ls_only = radiologist
        .get(app.url(&format!("{native_path}/frames/1")))
        .header("accept", "multipart/related; type=\"image/jls\"")
        .send()
        .await
        .expect("jls");
    assert_eq!(jpeg_ls_only.status(), 406);
    assert_eq!(
        app.client().get(app.url(&format!("{native_path}/frames/1"))).send().await.expect("anonymous").status(),
        401
    );
}

/// A PACS that drops the connection halfway through a STOW-RS body: the parts that arrived whole
/// are stored and audited, the cut one leaves neither a row nor an object, and the server goes on.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_client_that_disconnects_mid_upload_leaves_only_whole_instances(pool: PgPool) {
    use tokio::io::AsyncWriteExt;

    let app = TestApp::spawn(pool).await;
    let token = app.api_token("admin").await;

    let whole = fixture("pydicom/CT_small.dcm");
    let cut = fixture("pydicom/693_J2KI.dcm");
    let body = multipart_related(&[whole.clone(), cut.clone()]);
    // Everything up to the middle of the second part; the declared length promises the rest.
    let sent = body.len() - cut.len() / 2 - format!("\r\n--{}--\r\n", elysium_tests::STOW_BOUNDARY).len();
    let head = format!(
        "POST /dicomweb/studies?site=DEMO-GH HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        stow_content_type(),
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("head");
    socket.write_all(&body[..sent]).await.expect("part of the body");
    socket.flush().await.expect("flush");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(socket);

    // The request ends on the server's side once it sees the connection close: its audit row.
    let mut audited = Vec::new();
    for _ in 0..100 {
        audited = app.audit_rows("dicom.stow.store").await;
        if !audited.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(audited.len(), 1, "the stored instance's study is audited");
    assert_eq!(count(&app, "instance").await, 1, "the whole part is stored");
    let stored: String =
        sqlx::query_scalar("select sop_instance_uid from instance").fetch_one(&app.pool).await.expect("uid");
    assert_eq!(stored, CT_SMALL_UID);
    assert_eq!(object_files(&app), 1, "the cut part left no object");

    // The server is still there, and the cut instance can be sent again in full.
    let admin = app.signed_in("admin").await;
    let (status, body) = stow(&app, &admin, "/dicomweb/studies", &[whole, cut]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(count(&app, "instance").await, 2);
}
