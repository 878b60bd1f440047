//! Any bytes as a STOW-RS request: the first line is the Content-Type header, the rest the body,
//! which arrives in chunks of a few bytes (their sizes taken from the body itself, so that the
//! same input always splits the same way). The boundary is read as the server reads it
//! (`elysium_dicom::multipart::related_boundary`), then every part under small limits. It must
//! never panic, never hand over a part past its limit, and never read past the body's.
#![no_main]

use std::convert::Infallible;

use bytes::Bytes;
use elysium_dicom::multipart::{Limits, Part, Parts, related_boundary};
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;

/// Small, so that inputs of a few kilobytes reach both limits.
const LIMITS: Limits = Limits { body_bytes: 16 * 1024, part_bytes: 2 * 1024 };

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    let Ok(content_type) = std::str::from_utf8(header) else { return };
    let Ok(boundary) = related_boundary(content_type.trim_end_matches('\r')) else { return };
    let mut chunks = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        // 1 to 16 bytes, by the chunk's first byte.
        let size = (usize::from(rest[0] % 16) + 1).min(rest.len());
        let (chunk, after) = rest.split_at(size);
        chunks.push(Ok::<_, Infallible>(Bytes::copy_from_slice(chunk)));
        rest = after;
    }
    let mut parts = Parts::new(futures::stream::iter(chunks), boundary, LIMITS);
    let mut held: u64 = 0;
    // Every part is read to the end, as the server does; an error ends the body.
    while let Ok(Some(part)) = block_on(parts.next()) {
        if let Part::Dicom(bytes) = part {
            let length = bytes.len() as u64;
            assert!(length <= LIMITS.part_bytes, "a part of {length} bytes");
            held += length;
            assert!(held <= LIMITS.body_bytes, "{held} bytes of parts");
        }
    }
});
