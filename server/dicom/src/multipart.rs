//! The body of a STOW-RS request (PS3.18 §10.5): `multipart/related; type="application/dicom"`,
//! one instance a part, read part by part within size limits from any stream of bytes. Free of
//! HTTP, so that the fuzz target `stow_multipart` reads bodies exactly as the server does.

use bytes::Bytes;
use futures::Stream;

/// Why a Content-Type is not that of a STOW-RS body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error("not multipart/related; type=\"application/dicom\"")]
    NotRelatedDicom,
    #[error("multipart/related without a boundary")]
    NoBoundary,
}

/// The boundary of a `multipart/related; type="application/dicom"` body (a `type` parameter may
/// be left out; any other type is refused).
pub fn related_boundary(content_type: &str) -> Result<String, ContentTypeError> {
    let mime: mime::Mime = content_type.parse().map_err(|_| ContentTypeError::NotRelatedDicom)?;
    if mime.type_() != mime::MULTIPART || mime.subtype() != "related" {
        return Err(ContentTypeError::NotRelatedDicom);
    }
    if let Some(kind) = mime.get_param("type")
        && kind.as_str() != "application/dicom"
    {
        return Err(ContentTypeError::NotRelatedDicom);
    }
    mime.get_param(mime::BOUNDARY).map(|b| b.as_str().to_owned()).ok_or(ContentTypeError::NoBoundary)
}

/// What one body may hold: all of it, and one part. A part is held whole in memory while it is
/// stored, so both bound what a request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub body_bytes: u64,
    pub part_bytes: u64,
}

/// One part of the body, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// An instance: the part is `application/dicom`, or says nothing of its type.
    Dicom(Bytes),
    /// A part of another type (its bytes were read, within the limits, and dropped).
    NotDicom,
}

/// The parts of a body, in order.
pub struct Parts<'r> {
    body: multer::Multipart<'r>,
}

impl<'r> Parts<'r> {
    pub fn new<S, O, E>(body: S, boundary: String, limits: Limits) -> Parts<'r>
    where
        S: Stream<Item = Result<O, E>> + Send + 'r,
        O: Into<Bytes> + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'r,
    {
        let constraints = multer::Constraints::new()
            .size_limit(multer::SizeLimit::new().whole_stream(limits.body_bytes).per_field(limits.part_bytes));
        Parts { body: multer::Multipart::with_constraints(body, boundary, constraints) }
    }

    /// The next part; `None` after the closing boundary. An error (a broken body, one past a
    /// limit, a stream that failed) ends the body: nothing after it is read.
    pub async fn next(&mut self) -> Result<Option<Part>, multer::Error> {
        let Some(part) = self.body.next_field().await? else {
            return Ok(None);
        };
        let is_dicom = part.content_type().is_none_or(|m| m.essence_str() == "application/dicom");
        let bytes = part.bytes().await?;
        Ok(Some(if is_dicom { Part::Dicom(bytes) } else { Part::NotDicom }))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use futures::executor::block_on;

    use super::{ContentTypeError, Limits, Part, Parts, related_boundary};

    #[test]
    fn the_boundary_of_a_related_dicom_body_and_why_others_are_refused() {
        assert_eq!(related_boundary(r#"multipart/related; type="application/dicom"; boundary=XyZ"#), Ok("XyZ".into()));
        assert_eq!(related_boundary("multipart/related; boundary=\"a b\""), Ok("a b".into()));
        assert_eq!(related_boundary("multipart/form-data; boundary=x"), Err(ContentTypeError::NotRelatedDicom));
        assert_eq!(
            related_boundary(r#"multipart/related; type="application/dicom+xml"; boundary=x"#),
            Err(ContentTypeError::NotRelatedDicom)
        );
        assert_eq!(related_boundary("application/dicom"), Err(ContentTypeError::NotRelatedDicom));
        assert_eq!(related_boundary("not a media type"), Err(ContentTypeError::NotRelatedDicom));
        assert_eq!(
            related_boundary(r#"multipart/related; type="application/dicom""#),
            Err(ContentTypeError::NoBoundary)
        );
    }

    /// `body` in chunks of `chunk` bytes, as a request body arrives.
    fn read_all(body: &'static [u8], chunk: usize, limits: Limits) -> (Vec<Part>, Option<multer::Error>) {
        let chunks: Vec<Result<Bytes, Infallible>> = body.chunks(chunk).map(|c| Ok(Bytes::from_static(c))).collect();
        let mut parts = Parts::new(futures::stream::iter(chunks), "B".into(), limits);
        let mut read = Vec::new();
        loop {
            match block_on(parts.next()) {
                Ok(Some(part)) => read.push(part),
                Ok(None) => return (read, None),
                Err(error) => return (read, Some(error)),
            }
        }
    }

    const ROOMY: Limits = Limits { body_bytes: 1024, part_bytes: 1024 };
    /// An instance, a text part, and a part that says nothing of its type. (Every part has a
    /// header line: multer 3.1 reads a part with an empty header block as an incomplete stream.)
    const THREE_PARTS: &[u8] = b"--B\r\nContent-Type: application/dicom\r\n\r\nDICM-one\r\n\
        --B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B\r\nContent-ID: <3>\r\n\r\nDICM-three\r\n--B--\r\n";

    #[test]
    fn parts_are_read_in_order_whatever_the_chunks() {
        for chunk in [1, 3, 7, 1024] {
            let (parts, error) = read_all(THREE_PARTS, chunk, ROOMY);
            assert!(error.is_none(), "chunks of {chunk}: {error:?}");
            assert_eq!(
                parts,
                [
                    Part::Dicom(Bytes::from_static(b"DICM-one")),
                    Part::NotDicom,
                    Part::Dicom(Bytes::from_static(b"DICM-three"))
                ],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_body_without_its_closing_boundary_is_an_error_after_the_parts_before_it() {
        let (parts, error) =
            read_all(b"--B\r\nContent-ID: <1>\r\n\r\nDICM-one\r\n--B\r\nContent-ID: <2>\r\n\r\nDICM-cut", 4, ROOMY);
        assert_eq!(parts, [Part::Dicom(Bytes::from_static(b"DICM-one"))]);
        assert!(matches!(error, Some(multer::Error::IncompleteFieldData { .. })), "{error:?}");
    }

    #[test]
    fn a_part_or_a_body_past_its_limit_is_an_error() {
        // DICM-one and hello fit in 9 bytes, DICM-three does not.
        let (parts, error) = read_all(THREE_PARTS, 5, Limits { body_bytes: 1024, part_bytes: 9 });
        assert_eq!(parts, [Part::Dicom(Bytes::from_static(b"DICM-one")), Part::NotDicom]);
        assert!(matches!(error, Some(multer::Error::FieldSizeExceeded { limit: 9, .. })), "{error:?}");
        let (_, error) = read_all(THREE_PARTS, 5, Limits { body_bytes: 60, part_bytes: 1024 });
        assert!(matches!(error, Some(multer::Error::StreamSizeExceeded { limit: 60 })), "{error:?}");
    }
}
