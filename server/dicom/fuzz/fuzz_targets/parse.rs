//! Any bytes through the ingest parse path: header parsing (ingest's header-only parse, the
//! full parse, and the screening pipeline's shared-buffer parse), validation, and (for what
//! parses) decoding the first frame and assembling the instance into a volume. It must return a
//! value for every input, never panic or abort.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even one Elysium catches at its codec boundary
    // (render::decode_pixels); with the default hook, only panics that escape are findings.
    let _ = std::panic::take_hook();
    // Ingest's header-only parse, then the full parse that rendering and volumes use.
    let _ = elysium_dicom::header::parse_header(data);
    if let Ok(parsed) = elysium_dicom::header::parse(data) {
        let _ = elysium_dicom::render::decode_frame(&parsed, 0);
    }
    if let Ok(parsed) = elysium_dicom::header::parse_shared(&data.to_vec().into()) {
        let _ = elysium_dicom::volume::load_series(&[parsed]);
    }
});
