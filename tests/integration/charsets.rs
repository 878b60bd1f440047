//! Chinese patient names end to end, in files pydicom wrote in each character set a Chinese
//! hospital sends (GB18030, UTF-8 as ISO_IR 192, GBK), and one in GB18030 whose name holds
//! characters written in four bytes (CJK extensions A and B): stored through STOW-RS and C-STORE,
//! decoded, kept with all three component groups, shown with the ideographic name first, and
//! sent back as DICOM JSON groups in UTF-8. A name whose bytes the declared character set cannot
//! hold is refused with its reason, never stored garbled.

use elysium_db::MIGRATOR;
use elysium_tests::{TestApp, fixture, get_json, get_text, stow};
use sqlx::PgPool;

/// One fixture of `tests/fixtures/dicom/charsets` and the name it holds, written out here in
/// characters (the server's decoding is checked against these, not against itself).
pub struct Case {
    pub file: &'static str,
    pub patient_id: &'static str,
    /// The name as stored: alphabetic, ideographic and phonetic groups.
    pub name: &'static str,
    pub alphabetic: &'static str,
    pub ideographic: &'static str,
    pub phonetic: &'static str,
    /// The stored pinyin (for search).
    pub pinyin: &'static str,
}

/// Every character set a Chinese hospital's files declare, and the four-byte GB18030 sequences:
/// 𠮷 (U+20BB7, extension B, 0x9534B235) and 㐀 (U+3400, extension A, 0x8139EE39).
pub const CASES: [Case; 4] = [
    Case {
        file: "gb18030.dcm",
        patient_id: "ZJ-GB18030-01",
        name: "Wang^XiaoMing=王^小明=wang^xiao ming",
        alphabetic: "Wang^XiaoMing",
        ideographic: "王^小明",
        phonetic: "wang^xiao ming",
        pinyin: "wang xiaoming wangxiaoming",
    },
    Case {
        file: "utf8.dcm",
        patient_id: "ZJ-UTF8-01",
        name: "Wang^XiaoMing=王^小明=wang^xiao ming",
        alphabetic: "Wang^XiaoMing",
        ideographic: "王^小明",
        phonetic: "wang^xiao ming",
        pinyin: "wang xiaoming wangxiaoming",
    },
    Case {
        file: "gbk.dcm",
        patient_id: "ZJ-GBK-01",
        name: "Wang^XiaoMing=王^小明=wang^xiao ming",
        alphabetic: "Wang^XiaoMing",
        ideographic: "王^小明",
        phonetic: "wang^xiao ming",
        pinyin: "wang xiaoming wangxiaoming",
    },
    Case {
        file: "gb18030_4byte.dcm",
        patient_id: "ZJ-GB4-01",
        name: "Ji^QiuLan=𠮷^㐀兰=ji^qiu lan",
        alphabetic: "Ji^QiuLan",
        ideographic: "𠮷^㐀兰",
        phonetic: "ji^qiu lan",
        // 𠮷 has no reading in the pinyin tables: it is read as the phonetic group writes it.
        pinyin: "ji qiulan jiqiulan",
    },
];

impl Case {
    /// The name as DICOM JSON (PS3.18 F.2.2): its three groups.
    pub fn groups(&self) -> serde_json::Value {
        serde_json::json!([{ "Alphabetic": self.alphabetic, "Ideographic": self.ideographic, "Phonetic": self.phonetic }])
    }
}

#[test]
fn the_four_byte_case_holds_the_characters_make_py_names() {
    // Not look-alikes: extension B's U+20BB7 and extension A's U+3400, then 兰 U+5170.
    assert_eq!(CASES[3].ideographic, "\u{20BB7}^\u{3400}\u{5170}");
    for case in &CASES {
        assert_eq!(case.name, format!("{}={}={}", case.alphabetic, case.ideographic, case.phonetic), "{}", case.file);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn chinese_names_round_trip_through_stow_qido_wado_and_the_study_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let radiologist = app.signed_in("radiologist").await;
    for case in &CASES {
        let Case { file, patient_id, .. } = case;
        let bytes = fixture(&format!("charsets/{file}"));
        let (status, body) = stow(&app, &radiologist, "/dicomweb/studies?site=DEMO-GH", &[bytes]).await;
        assert_eq!(status, 200, "{file}: {body}");

        let stored: String = sqlx::query_scalar("select name from patient where patient_id = $1")
            .bind(patient_id)
            .fetch_one(&app.pool)
            .await
            .expect("patient");
        assert_eq!(stored, case.name, "{file}: kept as Unicode with every group");
        let pinyin: Option<String> = sqlx::query_scalar("select name_pinyin from patient where patient_id = $1")
            .bind(patient_id)
            .fetch_one(&app.pool)
            .await
            .expect("pinyin");
        assert_eq!(pinyin.as_deref(), Some(case.pinyin), "{file}: the name's pinyin, for search");

        let found = get_json(&app, &radiologist, &format!("/dicomweb/studies?PatientID={patient_id}")).await;
        assert_eq!(found[0]["00100010"]["Value"], case.groups(), "{file}: QIDO-RS");
        let study = found[0]["0020000D"]["Value"][0].as_str().expect("study uid").to_owned();
        let metadata = get_json(&app, &radiologist, &format!("/dicomweb/studies/{study}/metadata")).await;
        assert_eq!(metadata[0]["00100010"]["Value"], case.groups(), "{file}: WADO-RS metadata");

        // The ideographic name without its separator, then the alphabetic one in brackets.
        let shown = format!("{} ({})", case.ideographic.replace('^', ""), case.alphabetic.replace('^', " "));
        let page = get_text(&app, &radiologist, &format!("/studies/{study}")).await;
        assert!(page.contains(&shown), "{file}: the study page shows both forms, {shown:?}");
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
