//! The reports read back by poppler (`pdftotext`, `pdffonts`, `pdfimages`), an independent PDF
//! reader: the text is really there and searchable, markup in the data is printed as written,
//! fonts are embedded and the key image is an image of the PDF.

use std::process::Command;

use serde_json::{Value, json};

use super::*;

/// Runs a poppler tool on `pdf` and returns what it printed. `make setup` installs
/// poppler-utils; without it this fails, never skips.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write the PDF");
    let output = Command::new(tool)
        .args(args)
        .arg(&path)
        .args(if tool == "pdftotext" { &["-"][..] } else { &[][..] })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils, installed by `make setup`) cannot run: {e}"));
    assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 from poppler")
}

/// The text of the PDF with runs of white space made one space (line breaks fall where the
/// layout puts them).
fn text(pdf: &[u8]) -> String {
    poppler("pdftotext", &["-enc", "UTF-8"], pdf).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A 4 × 2 grey PNG, made here by the `png` crate (the template only places it).
fn png() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 4, 2);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("PNG header");
        writer.write_image_data(&[0, 60, 120, 180, 255, 200, 100, 50]).expect("PNG data");
    }
    bytes
}

fn screening(lang: &str, name: &str) -> Value {
    json!({
        "lang": lang,
        "printed": "2026-12-06 09:30",
        "printed_by": "Dana Reyes",
        "site": "Demo General Hospital",
        "patient": { "name": name, "id": "PX-0042", "birth_date": "1958-03-14", "sex": "F" },
        "study": { "uid": "1.2.826.0.1.3680043.10.1234.1", "date": "2026-11-30", "accession": "ACC-77", "description": "CT chest" },
        "series": [
            { "number": "2", "description": "Axial 1.25 mm", "images": 64, "verdict": "Screened" },
            { "number": "3", "description": "Scout", "images": 1, "verdict": "Not screened: too few slices (1 < 20)" }
        ],
        "models": [{ "name": "elysium-reference", "version": "0.3.0", "sha256": "9f2c6a0d1e5b4c3a", "device": "CPU" }],
        "positives": [{
            "organ": "Lung", "class": "malignant nodule", "probability": "87.4 %", "threshold": "41.0 %",
            "size": "11 mm", "status": "Work-up ordered", "reference": "F-12",
            "image": "key-1.png", "aspect": 0.5, "marker": { "x": 0.4, "y": 0.5, "r": 0.1 }
        }],
        "biomarkers": [{ "label": "Liver attenuation (steatosis < 40 HU)", "value": "52 HU" }],
    })
}

fn render_screening(data: &Value) -> Vec<u8> {
    rendered_screening(data).pdf
}

fn rendered_screening(data: &Value) -> Rendered {
    render(Template::Screening, "test", data, vec![Image { name: "key-1.png".into(), bytes: png() }])
        .expect("the screening report renders")
}

#[test]
fn the_screening_report_is_searchable_text_with_its_key_figures() {
    let pdf = render_screening(&screening("en", "Okafor^Grace"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text(&pdf);
    for expected in [
        "CT screening report",
        "Okafor^Grace",
        "PX-0042",
        "ACC-77",
        "1.2.826.0.1.3680043.10.1234.1",
        "Not screened: too few slices (1 < 20)",
        "elysium-reference",
        "9f2c6a0d1e5b4c3a",
        "87.4 %",
        "41.0 %",
        "Liver attenuation (steatosis < 40 HU)",
        "52 HU",
        "It is not a diagnosis.",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the PDF's text:\n{text}");
    }
}

#[test]
fn markup_and_html_in_patient_strings_are_printed_as_written() {
    // Typst markup (a function call, strong emphasis, math, a label, a raw block) and HTML.
    let hostile = r#"#set page(fill: red) *Bold* $x^2$ <lbl> `raw` <script>alert(1)</script> \ @ref"#;
    let pdf = render_screening(&screening("en", hostile));
    let text = text(&pdf);
    assert!(text.contains(hostile), "the name is not printed literally:\n{text}");
}

#[test]
fn fonts_are_embedded_and_the_key_image_is_in_the_pdf() {
    let pdf = render_screening(&screening("en", "Okafor^Grace"));
    let fonts = poppler("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts listed:\n{fonts}");
    for row in rows {
        // Columns: name, type, encoding, emb, sub, uni, object ID.
        let columns: Vec<&str> = row.split_whitespace().collect();
        let n = columns.len();
        assert_eq!(columns[n - 5], "yes", "a font is not embedded: {row}");
    }
    let images = poppler("pdfimages", &["-list"], &pdf);
    assert_eq!(images.lines().skip(2).count(), 1, "one key image expected:\n{images}");
    assert!(images.lines().nth(2).is_some_and(|l| l.split_whitespace().nth(3) == Some("4")), "{images}");
}

#[test]
fn chinese_reports_print_ideographic_names_and_chinese_labels() {
    let pdf = render_screening(&screening("zh", "Wang^XiaoMing=王^小明"));
    let text = text(&pdf);
    for expected in ["CT 筛查报告", "王^小明", "AI 阳性发现", "局限性"] {
        assert!(text.contains(expected), "{expected:?} is not in the PDF's text:\n{text}");
    }
}

fn mdt(lang: &str) -> Value {
    json!({
        "lang": lang,
        "printed": "2026-12-06 09:30",
        "printed_by": "Sam Surgeon",
        "site": "Demo General Hospital",
        "case": { "id": 7, "status": "Decided", "cancer": "Lung cancer", "histology": null, "edition": "AJCC 8th edition",
                  "opened": "2026-11-02", "diagnosis": "Adenocarcinoma" },
        "patient": { "name": "Haddad^Omar", "id": "PL-0005", "birth_date": "1950-01-01" },
        "comparison": [
            { "category": "T", "proposed": "T2a", "final": "T3", "agreed": false, "reason": "Chest wall invasion on review" },
            { "category": "N", "proposed": "N1", "final": "N1", "agreed": true, "reason": null },
            { "category": "M", "proposed": "M0", "final": "M1b", "agreed": false, "reason": "Single liver metastasis" },
            { "category": "Stage group", "proposed": "IIB", "final": "IVA", "agreed": false, "reason": null }
        ],
        "proposal_basis": "measured on the images (v2, confidence 0.71)",
        "decision": {
            "recommendation": "Systemic therapy", "note": "Discuss with oncology", "guidelines": "NCCN NSCL-18",
            "locked": true,
            "signatures": [{ "name": "Sam Surgeon", "signed_at": "2026-11-20 10:02" }, { "name": "Lee Second", "signed_at": "2026-11-20 10:15" }]
        },
        "quorum": 2,
        "history": [
            { "version": 2, "decided_at": "2026-11-20", "decided_by": "Sam Surgeon", "amendment_reason": "Liver lesion confirmed", "changes": ["M: M0 → M1b"] },
            { "version": 1, "decided_at": "2026-11-13", "decided_by": "Sam Surgeon", "amendment_reason": null, "changes": [] }
        ],
        "treatments": [{ "treatment": "Systemic therapy", "started_on": "2026-11-28", "recorded_by": "Sam Surgeon", "deviation_reason": null }]
    })
}

#[test]
fn the_mdt_summary_shows_proposal_against_decision_signatures_and_history() {
    let pdf = render(Template::MdtSummary, "case-7", &mdt("en"), Vec::new()).expect("the summary renders").pdf;
    let text = text(&pdf);
    for expected in [
        "Tumour board decision summary",
        "Haddad^Omar",
        "T2a",
        "T3",
        "Chest wall invasion on review",
        "M1b",
        "IVA",
        "overridden",
        "Systemic therapy",
        "Lee Second",
        "2026-11-20 10:15",
        "Liver lesion confirmed",
        "M: M0 → M1b",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the PDF's text:\n{text}");
    }
}

#[test]
fn every_report_renders_in_both_languages() {
    // The templates assert that both label sets have the same keys; rendering each language
    // also reaches every label that the data selects.
    for lang in ["en", "zh"] {
        render_screening(&screening(lang, "Okafor^Grace"));
        let mut undecided = mdt(lang);
        undecided["decision"] = Value::Null;
        undecided["proposal_basis"] = Value::Null;
        undecided["history"] = json!([]);
        undecided["treatments"] = json!([]);
        for data in [mdt(lang), undecided] {
            render(Template::MdtSummary, "case", &data, Vec::new()).expect("the summary renders");
        }
        let mut empty = screening(lang, "X");
        for list in ["series", "models", "positives", "biomarkers"] {
            empty[list] = json!([]);
        }
        render_screening(&empty);
    }
}

#[test]
fn the_same_data_gives_the_same_pdf() {
    let data = screening("en", "Okafor^Grace");
    assert_eq!(render_screening(&data), render_screening(&data));
}

#[test]
fn cjk_characters_are_recognised() {
    assert!(fonts::is_cjk('王') && fonts::is_cjk('。') && fonts::is_cjk('𠀀'));
    assert!(!fonts::is_cjk('A') && !fonts::is_cjk('é') && !fonts::is_cjk('→'));
    assert!(needs_cjk("{\"name\":\"王\"}".as_bytes()) && !needs_cjk(b"{\"name\":\"Okafor\"}"));
}

#[test]
fn chinese_data_is_refused_only_without_a_cjk_font() {
    let chinese = "{\"name\":\"王小明\"}".as_bytes();
    assert!(matches!(refuse_without_cjk(false, chinese), Err(PdfError::NoCjkFont)));
    assert!(refuse_without_cjk(true, chinese).is_ok());
    assert!(refuse_without_cjk(false, b"{\"name\":\"Okafor\"}").is_ok());
}

fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// 𒀀 (U+12000, cuneiform) is in none of the fonts a report uses, bundled or installed: the name
/// prints with its code point in its place and the report says so, in both languages, instead of
/// printing "Ur^" as if it were the whole name.
#[test]
fn a_character_no_font_has_is_printed_as_its_code_point_and_named_on_the_report() {
    for (lang, note) in [("en", "printed as their Unicode code points"), ("zh", "Unicode 码位")] {
        let rendered = rendered_screening(&screening(lang, "Ur^𒀀"));
        assert_eq!(rendered.missing_glyphs, ['𒀀']);
        // pdftotext breaks lines where the page does: compared without white space.
        let printed = squeezed(&text(&rendered.pdf));
        assert!(printed.contains("Ur^[U+12000]"), "the name is not printed with the code point:\n{printed}");
        assert!(
            printed.contains(&squeezed(note)) && printed.matches("U+12000").count() == 2,
            "no note names the character:\n{printed}"
        );
        let mdt = {
            let mut data = mdt(lang);
            data["patient"]["name"] = json!("Ur^𒀀");
            render(Template::MdtSummary, "case", &data, Vec::new()).expect("the summary renders")
        };
        assert_eq!(mdt.missing_glyphs, ['𒀀']);
        let printed = squeezed(&text(&mdt.pdf));
        assert!(printed.contains("Ur^[U+12000]") && printed.contains(&squeezed(note)), "{printed}");
    }
}

/// With the fonts `make setup` installs (Noto Sans CJK beside WenQuanYi Micro Hei), a name with a
/// CJK Extension B ideograph prints whole: poppler reads 𠮷 (U+20BB7) back out of the PDF.
#[test]
fn extension_b_ideographs_print_with_the_installed_cjk_fonts() {
    let rendered = rendered_screening(&screening("zh", "Ji^QiuLan=𠮷^㐀兰"));
    assert!(rendered.missing_glyphs.is_empty(), "no installed font has {:?}", rendered.missing_glyphs);
    let text = text(&rendered.pdf);
    assert!(text.contains("𠮷^㐀兰"), "the ideographic name is not in the PDF's text:\n{text}");
    assert!(!text.contains("U+"), "{text}");
}
