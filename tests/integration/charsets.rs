//! Chinese patient names end to end, in files pydicom wrote in each character set a Chinese
//! hospital sends (GB18030, UTF-8 as ISO_IR 192, GBK): stored through STOW-RS and C-STORE,
//! decoded, kept with all three component groups, shown with the ideographic name first, and
//! sent back as DICOM JSON groups in UTF-8. A name whose bytes the declared character set cannot
//! hold is refused with its reason, never stored garbled.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, get_json, get_text, stow};
use sqlx::PgPool;

const NAME: &str = "Wang^XiaoMing=王^小明=wang^xiao ming";

fn groups() -> serde_json::Value {
    serde_json::json!([{ "Alphabetic": "Wang^XiaoMing", "Ideographic": "王^小明", "Phonetic": "wang^xiao ming" }])
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn chinese_names_round_trip_through_stow_qido_wado_and_the_study_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let cases = [("gb18030.dcm", "ZJ-GB18030-01"), ("utf8.dcm", "ZJ-UTF8-01"), ("gbk.dcm", "ZJ-GBK-01")];
    for (file, patient_id) in cases {
        let bytes = fixture(&format!("charsets/{file}"));
        let (status, body) = stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &[bytes]).await;
        assert_eq!(status, 200, "{file}: {body}");

        let stored: String = sqlx::query_scalar("select name from patient where patient_id = $1")
            .bind(patient_id)
            .fetch_one(&app.pool)
            .await
            .expect("patient");
        assert_eq!(stored, NAME, "{file}: kept as Unicode with every group");
        let pinyin: Option<String> = sqlx::query_scalar("select name_pinyin from patient where patient_id = $1")
            .bind(patient_id)
            .fetch_one(&app.pool)
            .await
            .expect("pinyin");
        assert_eq!(pinyin.as_deref(), Some("wang xiaoming wangxiaoming"), "{file}: 王小明's pinyin, for search");

        let found = get_json(&app, &radiologist, &format!("/dicomweb/studies?PatientID={patient_id}")).await;
        assert_eq!(found[0]["00100010"]["Value"], groups(), "{file}: QIDO-RS");
        let study = found[0]["0020000D"]["Value"][0].as_str().expect("study uid").to_owned();
        let metadata = get_json(&app, &radiologist, &format!("/dicomweb/studies/{study}/metadata")).await;
        assert_eq!(metadata[0]["00100010"]["Value"], groups(), "{file}: WADO-RS metadata");

        let page = get_text(&app, &radiologist, &format!("/studies/{study}")).await;
        assert!(page.contains("王小明 (Wang XiaoMing)"), "{file}: the study page shows both forms");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_name_its_character_set_cannot_hold_is_refused_with_the_reason(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    let bytes = fixture("charsets/invalid_gb18030.dcm");
    let (status, body) = stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &[bytes]).await;
    assert_eq!(status, 409, "{body}");
    let failed = &body["00081198"]["Value"][0];
    assert_eq!(failed["00081197"]["Value"][0], 0xC000, "cannot understand");
    assert_eq!(
        failed["00091001"]["Value"][0],
        "attribute PatientName is not valid text in the declared character set GB18030",
    );
    let patients: i64 = sqlx::query_scalar("select count(*) from patient where patient_id = 'ZJ-BAD-01'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(patients, 0, "nothing stored");
}
