//! Printable reports as searchable PDF, typeset by Typst used as a library.
//!
//! A report is a committed Typst template (`templates/*.typ`) and the data it prints, passed as a
//! JSON file that the template reads with `json("data.json")`. Every value reaches the page as a
//! Typst string, so a patient's name or a description that happens to contain Typst markup
//! (`#`, `*`, `$`, `<`) or HTML is printed literally: nothing from the data is ever parsed as
//! source. Images (a key slice as PNG) are further virtual files the template names.
//!
//! Fonts: Typst's bundled fonts (Libertinus Serif, New Computer Modern, DejaVu Sans Mono) cover
//! Latin text; Chinese needs a CJK font from the system (`fonts-wqy-microhei` on Debian, which
//! `make setup` installs), found in [`FONT_DIRS`] or `ELYSIUM_FONT_DIRS`. A report whose data
//! holds Chinese text is refused with [`PdfError::NoCjkFont`] when none is installed, rather than
//! printed with empty boxes where the name should be. A single character that no installed font
//! has (a rare ideograph of CJK Extension B, say) is printed as its code point, `[U+20BB7]`, and
//! the report names the characters so printed ([`Rendered::missing_glyphs`]): Typst on its own
//! would leave it out, and the name would print one character short without a sign.

mod fonts;
mod glyphs;
mod world;

use std::sync::OnceLock;

use serde::Serialize;
use typst_layout::PagedDocument;

pub use fonts::FONT_DIRS;

/// The reports this crate typesets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A study's screening report (what was screened, positives, biomarkers, models).
    Screening,
    /// A tumour-board case's decision summary (proposal against decision, signatures, history).
    MdtSummary,
}

impl Template {
    fn source(self) -> &'static str {
        match self {
            Template::Screening => include_str!("../templates/screening.typ"),
            Template::MdtSummary => include_str!("../templates/mdt_summary.typ"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Template::Screening => "screening.typ",
            Template::MdtSummary => "mdt_summary.typ",
        }
    }
}

/// An image the template places by `name` (for example `key-1.png`).
#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the report data cannot be written as JSON: {0}")]
    Data(#[from] serde_json::Error),
    #[error(
        "the report holds Chinese text but no CJK font is installed (install fonts-wqy-microhei, or point ELYSIUM_FONT_DIRS at a folder with one)"
    )]
    NoCjkFont,
    #[error("the report template failed: {0}")]
    Typeset(String),
    #[error("the PDF could not be written: {0}")]
    Export(String),
}

/// A typeset report.
#[derive(Debug)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    /// The characters of the data that no installed font has, printed as their code points.
    pub missing_glyphs: Vec<char>,
}

/// Typesets `template` over `data` and returns the PDF. `ident` identifies the document stably
/// (the same report of the same record gets the same PDF identifier). The data given to the
/// template gets one more field, `missing_glyphs` (the code points, `U+20BB7`, of the characters
/// no font has), which the templates print as a note. CPU-bound (tens of milliseconds to a
/// second): call it from a blocking thread.
pub fn render(
    template: Template,
    ident: &str,
    data: &impl Serialize,
    images: Vec<Image>,
) -> Result<Rendered, PdfError> {
    let mut data = serde_json::to_value(data)?;
    let fonts = fonts::loaded();
    refuse_without_cjk(fonts.has_cjk, serde_json::to_string(&data)?.as_bytes())?;
    let missing_glyphs: Vec<char> = glyphs::substitute_missing(&mut data, &|c| fonts.covers(c)).into_iter().collect();
    if let serde_json::Value::Object(fields) = &mut data {
        let listed = missing_glyphs.iter().map(|&c| glyphs::unicode(c));
        fields.insert("missing_glyphs".to_owned(), listed.collect::<Vec<_>>().into());
    }
    let data = serde_json::to_vec(&data)?;
    let world = world::ReportWorld::new(library(), fonts, template.name(), template.source(), data, images);
    let document: PagedDocument = typst::compile(&world).output.map_err(|errors| {
        PdfError::Typeset(errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))
    })?;
    let options =
        typst_pdf::PdfOptions { ident: typst::foundations::Smart::Custom(ident.to_owned()), ..Default::default() };
    let pdf = typst_pdf::pdf(&document, &options)
        .map_err(|errors| PdfError::Export(errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")))?;
    Ok(Rendered { pdf, missing_glyphs })
}

/// Typst's standard library, built once per process (it is immutable and shared).
fn library() -> &'static typst::utils::LazyHash<typst::Library> {
    static LIBRARY: OnceLock<typst::utils::LazyHash<typst::Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| typst::utils::LazyHash::new(<typst::Library as typst::LibraryExt>::default()))
}

/// A report whose data holds Chinese is refused when no CJK font is installed: printed, its
/// names would be empty boxes.
fn refuse_without_cjk(has_cjk: bool, json: &[u8]) -> Result<(), PdfError> {
    if !has_cjk && needs_cjk(json) { Err(PdfError::NoCjkFont) } else { Ok(()) }
}

/// Whether the serialized data holds CJK ideographs or punctuation (which only a CJK font has).
fn needs_cjk(json: &[u8]) -> bool {
    String::from_utf8_lossy(json).chars().any(fonts::is_cjk)
}

#[cfg(test)]
mod tests;
