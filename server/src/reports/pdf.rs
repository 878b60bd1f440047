//! What the PDF reports share: the reader's language, the printing time, typesetting off the
//! async threads, and the response.

use app::domain::language::Language;
use app::service::Caller;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use elysium_pdf::{Image, PdfError, Template};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::http::audited;

/// `?lang=en|zh-Hans`: print in this language instead of the reader's own.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    lang: Option<String>,
}

/// The report's language: `?lang=` when given (anything else than `en` or `zh-Hans` is refused),
/// else the language the reader reads the pages in.
pub fn reader_language(query: &ReportQuery, headers: &HeaderMap, caller: &Caller) -> Result<Language, ApiError> {
    match asked_language(query.lang.as_deref())? {
        Some(language) => Ok(language),
        None => Ok(crate::http::reader_language(headers, caller.user.language)),
    }
}

/// The language a document's `?lang=` asks for, `None` without one; anything else than `en` or
/// `zh-Hans` is refused (422 `validation_failed` naming `lang`). The PDF reports and the CSV
/// exports share it.
pub fn asked_language(lang: Option<&str>) -> Result<Option<Language>, ApiError> {
    lang.map(|tag| Language::parse(tag).ok_or_else(|| ApiError::Validation("lang: `en` or `zh-Hans`".into())))
        .transpose()
}

/// The templates' language keys (`data.lang`).
pub fn pdf_language(language: Language) -> &'static str {
    match language {
        Language::English => "en",
        Language::SimplifiedChinese => "zh",
    }
}

/// When the report was printed, as the pages write times.
pub fn printed_now() -> String {
    app::format::minute(time::OffsetDateTime::now_utc())
}

/// Typesets on a blocking thread (Typst is CPU-bound). A report that cannot be typeset is the
/// server's fault, except a Chinese report on a server without a CJK font, which says what to
/// install. Characters no font has are printed as code points (see `elysium_pdf`), and counted in
/// the log.
pub async fn render(
    template: Template,
    ident: String,
    data: impl Serialize + Send + 'static,
    images: Vec<Image>,
) -> Result<Vec<u8>, ApiError> {
    let rendered = tokio::task::spawn_blocking(move || elysium_pdf::render(template, &ident, &data, images))
        .await
        .map_err(ApiError::internal)?
        .map_err(|error| match error {
            PdfError::NoCjkFont => {
                tracing::error!(%error, "a Chinese report cannot be printed");
                ApiError::Unavailable
            }
            other => ApiError::internal(other),
        })?;
    if !rendered.missing_glyphs.is_empty() {
        // The report names them on its face; the log (which never holds a patient's text, so
        // not the characters either) tells the operator that a font is missing.
        tracing::warn!(
            characters = rendered.missing_glyphs.len(),
            "a report printed characters that no installed font has as code points (install fonts-noto-cjk, or point ELYSIUM_FONT_DIRS at a font that has them)"
        );
    }
    Ok(rendered.pdf)
}

/// `application/pdf`, shown in the browser (`inline`) under a file name for saving. The name is
/// made of safe characters only: it comes partly from the record (an accession number).
pub fn pdf_response(pdf: Vec<u8>, file_name: &str) -> Response {
    let safe: String = file_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    audited(response)
}
