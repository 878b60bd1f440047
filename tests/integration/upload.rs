//! The upload form: files, folders and zips, one result per file, shown after the redirect.

use std::io::Write;

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, get_text_in_chinese};
use sqlx::PgPool;

pub const BOUNDARY: &str = "upload-test-boundary-93";

/// The upload form as a browser sends it, filed at DEMO-GH (the radiologist works at two sites).
fn form(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    form_for(Some("DEMO-GH"), files)
}

/// The form with `site` first (as the page lays it out), or with no site field at all.
pub fn form_for(site: Option<&str>, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(site) = site {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"site\"\r\n\r\n{site}\r\n").as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut cursor);
        for (name, bytes) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("entry");
            zip.write_all(bytes).expect("write");
        }
        zip.finish().expect("finish");
    }
    cursor.into_inner()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn files_and_zips_are_stored_with_a_result_per_file(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let archive = zip_of(&[
        ("series/a.dcm", fixture("pydicom/J2K_pixelrep_mismatch.dcm")),
        ("../../evil.dcm", b"garbage".to_vec()),
    ]);
    let body = form(&[
        ("CT_small.dcm", fixture("pydicom/CT_small.dcm")),
        ("notes.txt", b"not dicom".to_vec()),
        ("batch.zip", archive),
    ]);
    let post = |body: Vec<u8>| {
        radiologist
            .post(app.url("/upload"))
            .header("origin", app.origin())
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body)
            .send()
    };
    let response = post(body.clone()).await.expect("upload");
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/upload");
    let page = radiologist.get(app.url("/upload")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("2 stored, 0 duplicates, 2 refused"), "summary");
    assert!(page.contains("batch.zip!../../evil.dcm") && page.contains("not a DICOM file"), "per-file reasons");
    assert!(page.contains("patient 1CT1, study 1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"), "where CT_small went");
    // The same result read in Chinese: the page words each row, the identifiers stay as they are.
    let chinese = elysium_tests::get_text_in_chinese(&app, &radiologist, "/upload").await;
    assert!(chinese.contains("已存储 2 个，重复 0 个，拒收 2 个"), "summary in Chinese");
    assert!(chinese.contains("不是 DICOM 文件") && !chinese.contains("not a DICOM file"), "reasons in Chinese");
    assert!(
        chinese.contains("患者 1CT1，检查 1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"),
        "where it went, in Chinese"
    );
    let count: i64 = sqlx::query_scalar("select count(*) from instance where received_via = 'upload'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 2);

    post(body).await.expect("again");
    let page = radiologist.get(app.url("/upload")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("0 stored, 2 duplicates, 2 refused"));
    assert!(page.contains("already stored ("), "duplicates say so");

    let coordinator = app.signed_in("coordinator").await;
    let refused = coordinator
        .post(app.url("/upload"))
        .header("origin", app.origin())
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(form(&[("CT_small.dcm", fixture("pydicom/CT_small.dcm"))]))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 403);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_upload_that_names_no_site_stores_nothing_and_says_why(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let response = radiologist
        .post(app.url("/upload"))
        .header("origin", app.origin())
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(form_for(None, &[("CT_small.dcm", fixture("pydicom/CT_small.dcm"))]))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 303);
    let page = radiologist.get(app.url("/upload")).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("choose the receiving site") && page.contains("DEMO-RC"), "the page says why");
    // ...and in Chinese to a reader who reads Chinese.
    // (The page's hydration data carries both forms; the notice shows the reader's.)
    let page = get_text_in_chinese(&app, &radiologist, "/upload").await;
    let notice = page
        .split("data-testid=\"upload-error\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, text)| text.split("</p>").next())
        .expect("the upload error notice");
    assert!(notice.contains("请选择接收站点") && notice.contains("DEMO-RC"), "the Chinese page says why: {notice}");
    assert!(!notice.contains("choose the receiving site"), "the Chinese page says it in English: {notice}");
    let count: i64 = sqlx::query_scalar("select count(*) from instance").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 0);
}
