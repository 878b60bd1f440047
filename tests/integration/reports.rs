//! The PDF reports over the real database and server: a study's screening report on the demo's
//! lesion-tracking patient (real phantom images, findings located on a slice) and a tumour-board
//! decision summary on the demo board. Each PDF is read back by poppler (`pdftotext`,
//! `pdfimages`, `pdffonts`), an independent reader, and its text is checked against figures read
//! from the database tables, not from the report's builder.

use elysium_db::MIGRATOR;
use elysium_tests::TestApp;
use reqwest::Client;
use sqlx::PgPool;

/// `GET path`: the status, and the body when it is a PDF.
async fn pdf(app: &TestApp, client: &Client, path: &str) -> (u16, Option<Vec<u8>>) {
    let response = client.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let is_pdf = response.headers().get("content-type").is_some_and(|v| v == "application/pdf");
    let body = response.bytes().await.expect("body").to_vec();
    (status, is_pdf.then_some(body))
}

/// Runs a poppler tool on the PDF (installed by `make setup`; missing, the test fails).
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write");
    let mut command = std::process::Command::new(tool);
    command.args(args).arg(&path);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command.output().unwrap_or_else(|e| panic!("{tool} (poppler-utils) cannot run: {e}"));
    assert!(output.status.success(), "{tool}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The PDF's text with white space runs made single spaces.
fn text(pdf: &[u8]) -> String {
    poppler("pdftotext", &["-enc", "UTF-8"], pdf).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_has(text: &str, expected: &str) {
    assert!(text.contains(expected), "{expected:?} is not in the report:\n{text}");
}

/// The demo's lesion-tracking patient, three stored scans with a located lung nodule each.
async fn lesion_patient(pool: &PgPool) -> (TestApp, tempfile::TempDir) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = tempfile::tempdir().expect("dir");
    let levels = app::domain::followup::ServiceLevels::default();
    elysium_tests::demo::lesions::seed(pool, &app.state().ingestor, data.path(), &levels).await.expect("demo");
    (app, data)
}

/// One of the lesion-tracking patient's studies.
async fn lesion_study(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "select st.study_uid from study st join patient p on p.id = st.patient_ref where p.patient_id = $1 limit 1",
    )
    .bind(elysium_tests::demo::lesions::PATIENT_ID)
    .fetch_one(pool)
    .await
    .expect("study")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_screening_report_prints_the_study_its_positive_with_figures_and_key_image(pool: PgPool) {
    let (app, _data) = lesion_patient(&pool).await;
    // The newest scan and its finding, as stored.
    let (study_uid, accession, finding, probability, threshold, model): (String, String, i64, f64, f64, String) =
        sqlx::query_as(
            "select st.study_uid, st.accession_number, f.id, f.probability, f.threshold, f.model_name
             from finding f join study st on st.id = f.study_ref join patient p on p.id = st.patient_ref
             where p.patient_id = $1 order by st.study_date desc limit 1",
        )
        .bind(elysium_tests::demo::lesions::PATIENT_ID)
        .fetch_one(&pool)
        .await
        .expect("the newest finding");
    let coordinator = app.signed_in("coordinator").await;
    let path = format!("/api/v1/studies/{study_uid}/report.pdf");
    let (status, body) = pdf(&app, &coordinator, &path).await;
    assert_eq!(status, 200);
    let body = body.expect("a PDF");
    let text = text(&body);
    assert_has(&text, "CT screening report");
    assert_has(&text, elysium_tests::demo::lesions::PATIENT_ID);
    assert_has(&text, &accession);
    assert_has(&text, &study_uid);
    assert_has(&text, &format!("F-{finding}"));
    assert_has(&text, &model);
    assert_has(&text, &format!("{:.1} %", probability * 100.0));
    assert_has(&text, &format!("{:.1} %", threshold * 100.0));
    assert_has(&text, "It is not a diagnosis.");
    // The key slice is an image of the PDF: one per located finding, the phantom's 128 columns.
    let images = poppler("pdfimages", &["-list"], &body);
    let rows: Vec<&str> = images.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "{images}");
    assert_eq!(rows[0].split_whitespace().nth(3), Some("128"), "{images}");

    // In Chinese on request; the printing is audited.
    let (status, body) = pdf(&app, &coordinator, &format!("{path}?lang=zh-Hans")).await;
    assert_eq!(status, 200);
    let text = self::text(&body.expect("a PDF"));
    assert_has(&text, "CT 筛查报告");
    assert_has(&text, "肺癌");
    let audits = app.audit_rows("study.report").await;
    assert_eq!(audits.len(), 2);
    assert!(audits.iter().any(|(_, _, detail)| detail["language"] == "zh-Hans"), "{audits:?}");

    // A language that does not exist, a study that does not, and one at another site.
    assert_eq!(pdf(&app, &coordinator, &format!("{path}?lang=fr")).await.0, 422);
    assert_eq!(pdf(&app, &coordinator, "/api/v1/studies/1.2.3.4/report.pdf").await.0, 404);
    sqlx::query("update study set site_id = (select id from site where code = 'DEMO-RC') where study_uid = $1")
        .bind(&study_uid)
        .execute(&pool)
        .await
        .expect("move the study");
    assert_eq!(pdf(&app, &coordinator, &path).await.0, 404);
    assert_eq!(app.audit_rows("study.report").await.len(), 2, "a refused report is not a printed one");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn names_with_markup_or_html_and_chinese_names_are_printed_as_written(pool: PgPool) {
    let (app, _data) = lesion_patient(&pool).await;
    let study_uid = lesion_study(&pool).await;
    let coordinator = app.signed_in("coordinator").await;
    for (stored, printed) in [
        (r#"#set page(fill: red) *Bold* $x$ <b>bold</b>"#, r#"#set page(fill: red) *Bold* $x$ <b>bold</b>"#),
        ("Wang^XiaoMing=王^小明=wang^xiao ming", "王小明"),
    ] {
        sqlx::query("update patient set name = $1 where id = (select patient_ref from study where study_uid = $2)")
            .bind(stored)
            .bind(&study_uid)
            .execute(&pool)
            .await
            .expect("rename the patient");
        let (status, body) = pdf(&app, &coordinator, &format!("/api/v1/studies/{study_uid}/report.pdf")).await;
        assert_eq!(status, 200);
        // The name column may wrap the name over lines (after `/`, say): compared without spaces.
        let squeezed = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_has(&squeezed(&text(&body.expect("a PDF"))), &squeezed(printed));
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_mdt_summary_prints_proposal_against_decision_signatures_and_amendments(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = tempfile::tempdir().expect("dir");
    let state = app.state();
    let levels = app::domain::followup::ServiceLevels::default();
    elysium_tests::demo::board::seed(&pool, &state.ingestor, data.path(), &levels, &state.board, &state.staging_models)
        .await
        .expect("board");
    // The amended case: its current decision, the reason for the amendment, and its signers.
    let (case, version, t, n, m, group, amendment): (i64, i32, String, String, String, Option<String>, String) =
        sqlx::query_as(
            "select case_id, version, t, n, m, stage_group, amendment_reason from mdt_decision
             where amendment_reason is not null order by case_id, version desc limit 1",
        )
        .fetch_one(&pool)
        .await
        .expect("an amended decision");
    let signers: Vec<String> = sqlx::query_scalar(
        "select u.display_name from mdt_signature s join app_user u on u.id = s.signer_id
         join mdt_decision d on d.id = s.decision_id where d.case_id = $1 and d.version = $2",
    )
    .bind(case)
    .bind(version)
    .fetch_all(&pool)
    .await
    .expect("signers");
    assert!(!signers.is_empty(), "the demo's amended decision is signed");

    let surgeon = app.signed_in("surgeon").await;
    let (status, body) = pdf(&app, &surgeon, &format!("/api/v1/mdt/cases/{case}/report.pdf")).await;
    assert_eq!(status, 200);
    let text = text(&body.expect("a PDF"));
    assert_has(&text, "Tumour board decision summary");
    for value in [t, n, m, group.expect("a stage group"), amendment].iter().chain(&signers) {
        assert_has(&text, value);
    }
    assert_eq!(app.audit_rows("mdt.case.report").await.len(), 1);
    assert_eq!(pdf(&app, &surgeon, "/api/v1/mdt/cases/999999/report.pdf").await.0, 404);
}

/// The CJK fonts the reports look for (`server/pdf`'s font folders: Debian's
/// `fonts-wqy-microhei`, which `make setup` installs, `fonts-wqy-zenhei` and `fonts-noto-cjk`),
/// by the PostScript names a PDF gives them.
const CJK_FONTS: &[&str] = &["WenQuanYiMicroHei", "WenQuanYiZenHei", "NotoSansCJK", "NotoSerifCJK", "NotoSansMonoCJK"];

/// A Chinese report carries its CJK font in the file, so that a reader without one shows the
/// patient's name: poppler's `pdffonts` lists the PDF's fonts with whether each has its font
/// program embedded (a FontFile, FontFile2 or FontFile3 stream in its descriptor) and a
/// ToUnicode map, and `pdftotext` reads the Chinese text back.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chinese_report_embeds_its_cjk_font_and_the_chinese_text_reads_back(pool: PgPool) {
    let (app, _data) = lesion_patient(&pool).await;
    let study_uid = lesion_study(&pool).await;
    sqlx::query("update patient set name = $1 where id = (select patient_ref from study where study_uid = $2)")
        .bind("Wang^XiaoMing=王^小明=wang^xiao ming")
        .bind(&study_uid)
        .execute(&pool)
        .await
        .expect("rename the patient");
    let coordinator = app.signed_in("coordinator").await;
    let (status, body) = pdf(&app, &coordinator, &format!("/api/v1/studies/{study_uid}/report.pdf?lang=zh-Hans")).await;
    assert_eq!(status, 200);
    let body = body.expect("a PDF");

    let fonts = poppler("pdffonts", &[], &body);
    // Columns: name (a subset's name has an `ABCDEF+` tag), type, encoding, emb, sub, uni,
    // object ID; a type or an encoding may be two words, so emb and uni count from the end.
    let cjk: Vec<Vec<&str>> = fonts
        .lines()
        .skip(2)
        .map(|row| row.split_whitespace().collect::<Vec<_>>())
        .filter(|columns| {
            let name = columns.first().map_or("", |name| name.rsplit('+').next().unwrap_or(name));
            CJK_FONTS.iter().any(|font| name.starts_with(font))
        })
        .collect();
    assert!(!cjk.is_empty(), "no CJK font ({CJK_FONTS:?}) in the Chinese report:\n{fonts}");
    for columns in &cjk {
        let n = columns.len();
        assert!(n >= 7, "a row pdffonts did not write out whole: {columns:?}\n{fonts}");
        assert_eq!(columns[n - 5], "yes", "the CJK font's program is not embedded:\n{fonts}");
        assert_eq!(columns[n - 3], "yes", "the CJK font has no ToUnicode map (its text cannot be copied):\n{fonts}");
        // Chinese glyphs are drawn through a composite (Type 0) font with a CID font below it.
        assert_eq!(columns[1], "CID", "the CJK font is not a CID font:\n{fonts}");
    }

    // The Chinese heading and labels, and the ideographic name (the name column may wrap it).
    let text = text(&body);
    assert_has(&text, "CT 筛查报告");
    assert_has(&text, "肺癌");
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert_has(&squeezed, "王小明");
}
