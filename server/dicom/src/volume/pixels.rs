//! Stored values to Hounsfield units: how an instance's pixel data is laid out, the rescale,
//! padding, pixel representation and the JPEG 2000 signedness rule (see the module docs).

use super::*;

/// How an instance's pixel data is laid out and interpreted.
#[derive(Debug, Clone)]
pub(super) struct PixelInfo {
    pub(super) rows: usize,
    pub(super) columns: usize,
    /// 1 or 2.
    pub(super) bytes: usize,
    pub(super) bits_stored: u32,
    pub(super) signed: bool,
    /// Stored-value range that is padding, inclusive.
    pub(super) padding: Option<(i32, i32)>,
    jpeg2000: bool,
}

/// JPEG 2000 transfer syntaxes (PS3.5 A.4.4, A.4.10 and A.4.11).
pub(super) const JPEG_2000_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.92",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
];

impl PixelInfo {
    pub(super) fn read(instance: &ParsedInstance) -> Result<PixelInfo, VolumeError> {
        let object: &InMemDicomObject = &instance.object;
        let unsupported = |reason: String| VolumeError::Unsupported { sop_instance_uid: sop(instance), reason };
        let missing = |attribute| VolumeError::MissingGeometry { sop_instance_uid: sop(instance), attribute };
        let samples = int(object, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        if samples != 1 {
            return Err(unsupported(format!("{samples} samples per pixel (CT is greyscale)")));
        }
        let photometric = object
            .get(tags::PHOTOMETRIC_INTERPRETATION)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_owned())
            .unwrap_or_else(|| "MONOCHROME2".to_owned());
        if !matches!(photometric.as_str(), "MONOCHROME1" | "MONOCHROME2") {
            return Err(unsupported(format!("photometric interpretation {photometric}")));
        }
        let rows = int(object, tags::ROWS).filter(|v| *v > 0).ok_or_else(|| missing("Rows"))?;
        let columns = int(object, tags::COLUMNS).filter(|v| *v > 0).ok_or_else(|| missing("Columns"))?;
        let bits_allocated = int(object, tags::BITS_ALLOCATED).unwrap_or(16);
        let bytes = match bits_allocated {
            8 => 1,
            16 => 2,
            other => return Err(unsupported(format!("{other} bits allocated (8 or 16 supported)"))),
        };
        let bits_stored = int(object, tags::BITS_STORED)
            .filter(|b| (1..=bits_allocated).contains(b))
            .unwrap_or(bits_allocated) as u32;
        let signed = int(object, tags::PIXEL_REPRESENTATION) == Some(1);
        // US or SS, possibly read as the other: take the sample's bits as PixelRepresentation says.
        let reinterpret = |v: i32| -> i32 {
            let bits = (v as u32) & if bytes == 2 { 0xFFFF } else { 0xFF };
            match (signed, bytes) {
                (true, 2) => i32::from(bits as u16 as i16),
                (true, _) => i32::from(bits as u8 as i8),
                (false, _) => bits as i32,
            }
        };
        let padding = int(object, tags::PIXEL_PADDING_VALUE).map(reinterpret).map(|value| {
            let limit = int(object, tags::PIXEL_PADDING_RANGE_LIMIT).map(reinterpret).unwrap_or(value);
            (value.min(limit), value.max(limit))
        });
        let syntax = instance.header.transfer_syntax_uid.as_str();
        Ok(PixelInfo {
            rows: rows as usize,
            columns: columns as usize,
            bytes,
            bits_stored,
            signed,
            padding,
            jpeg2000: JPEG_2000_SYNTAXES.contains(&syntax),
        })
    }
}

/// How raw samples become stored values.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bits {
    /// Keep the low `n` bits, sign-extended.
    SignExtend(u32),
    /// Keep the low `n` bits.
    Mask(u32),
}

impl Bits {
    pub(super) fn new(bits: u32, signed: bool) -> Bits {
        if signed { Bits::SignExtend(bits.clamp(1, 32)) } else { Bits::Mask(bits.clamp(1, 32)) }
    }
}

/// Stored value to HU for one frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct Transform {
    pub(super) slope: f64,
    pub(super) intercept: f64,
    /// The intercept, when the slope is 1 and the intercept an integer (integer fast path).
    pub(super) offset: Option<i32>,
    pub(super) padding: Option<(i32, i32)>,
    pub(super) floor: i32,
}

impl Transform {
    pub(super) fn new(frame: &Frame, info: &PixelInfo) -> Transform {
        let (slope, intercept) = (frame.slope, frame.intercept);
        let offset = (slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < 1e9).then_some(intercept as i32);
        let mut t = Transform { slope, intercept, offset, padding: info.padding, floor: i32::from(i16::MIN) };
        if let Some((low, _)) = info.padding
            && slope > 0.0
            && t.rescale(low) < i32::from(AIR_HU)
        {
            t.floor = i32::from(AIR_HU);
        }
        t
    }

    #[inline(always)]
    pub(super) fn rescale(&self, stored: i32) -> i32 {
        match self.offset {
            Some(offset) => stored.saturating_add(offset),
            None => (f64::from(stored) * self.slope + self.intercept).round() as i32,
        }
    }

    #[inline(always)]
    pub(super) fn hu(&self, stored: i32) -> i16 {
        if let Some((low, high)) = self.padding
            && (low..=high).contains(&stored)
        {
            return PADDING_HU;
        }
        self.rescale(stored).clamp(self.floor, i32::from(i16::MAX)) as i16
    }
}

/// Converts raw samples to HU; the sample rule and the common case (integer offset, no
/// padding) are chosen once per frame so that the loop is branch-free.
pub(super) fn convert(raw: impl Iterator<Item = u32>, out: &mut [i16], bits: Bits, t: &Transform) {
    match bits {
        Bits::SignExtend(n) => {
            let shift = 32 - n;
            convert_with(raw, out, t, move |r| ((r << shift) as i32) >> shift);
        }
        Bits::Mask(n) => {
            let mask = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
            convert_with(raw, out, t, move |r| (r & mask) as i32);
        }
    }
}

#[inline(always)]
pub(super) fn convert_with(
    raw: impl Iterator<Item = u32>,
    out: &mut [i16],
    t: &Transform,
    stored: impl Fn(u32) -> i32,
) {
    let (floor, ceiling) = (t.floor, i32::from(i16::MAX));
    match (t.padding, t.offset) {
        // Stored values are at most 16 bits and |offset| < 1e9: no overflow.
        (None, Some(offset)) => {
            for (o, r) in out.iter_mut().zip(raw) {
                *o = (stored(r) + offset).clamp(floor, ceiling) as i16;
            }
        }
        _ => {
            for (o, r) in out.iter_mut().zip(raw) {
                *o = t.hu(stored(r));
            }
        }
    }
}

/// Decodes one frame into `out` (rows × columns HU).
pub(super) fn decode_frame(
    instance: &ParsedInstance,
    info: &PixelInfo,
    frame: &Frame,
    out: &mut [i16],
) -> Result<(), VolumeError> {
    let error = |reason: String| VolumeError::Decode { sop_instance_uid: sop(instance), frame: frame.frame, reason };
    let transform = Transform::new(frame, info);
    let plane = info.rows * info.columns;
    let short = || error("the pixel data is shorter than the frames it should hold".into());
    if let Some(native) = &instance.native_pixels {
        // Little-endian samples as received (every accepted native syntax is little endian).
        let start = frame.frame as usize * plane * info.bytes;
        let raw = native.get(start..start + plane * info.bytes).ok_or_else(short)?;
        convert_bytes(raw, info.bytes, out, Bits::new(info.bits_stored, info.signed), &transform);
        return Ok(());
    }
    let element = instance.object.get(tags::PIXEL_DATA).ok_or_else(|| error("no pixel data".into()))?;
    match element.value() {
        DicomValue::Primitive(value) => {
            let bits = Bits::new(info.bits_stored, info.signed);
            let start = frame.frame as usize * plane;
            match (value, info.bytes) {
                (PrimitiveValue::U16(v), 2) => {
                    let raw = v.get(start..start + plane).ok_or_else(short)?;
                    convert(raw.iter().map(|&r| u32::from(r)), out, bits, &transform);
                }
                (PrimitiveValue::I16(v), 2) => {
                    let raw = v.get(start..start + plane).ok_or_else(short)?;
                    convert(raw.iter().map(|&r| u32::from(r as u16)), out, bits, &transform);
                }
                _ => {
                    let bytes = value.to_bytes();
                    let raw = bytes.get(start * info.bytes..(start + plane) * info.bytes).ok_or_else(short)?;
                    convert_bytes(raw, info.bytes, out, bits, &transform);
                }
            }
        }
        DicomValue::PixelSequence(_) => {
            let decoded = crate::render::decode_pixels(&instance.object, frame.frame).map_err(error)?;
            let bytes = usize::from(decoded.bits_allocated().div_ceil(8));
            if bytes != info.bytes {
                return Err(error(format!("the decoder gave {} bits per sample", decoded.bits_allocated())));
            }
            let raw = decoded.data();
            let raw = raw.get(..plane * bytes).ok_or_else(|| error("the decoded frame is too short".into()))?;
            let bits = if info.jpeg2000 {
                let codestream = frame_fragment(element.value(), frame.frame, instance.header.number_of_frames);
                match codestream.and_then(j2k_signedness) {
                    // pydicom 3: reinterpret the low `precision` bits only when the codestream's
                    // signedness disagrees with PixelRepresentation.
                    Some((signed, precision)) if signed != info.signed => Bits::new(precision, info.signed),
                    _ => Bits::new(8 * bytes as u32, info.signed),
                }
            } else {
                Bits::new(info.bits_stored, info.signed)
            };
            convert_bytes(raw, bytes, out, bits, &transform);
        }
        DicomValue::Sequence(_) => return Err(error("the pixel data is a sequence".into())),
    }
    Ok(())
}

pub(super) fn convert_bytes(raw: &[u8], bytes: usize, out: &mut [i16], bits: Bits, t: &Transform) {
    if bytes == 2 {
        convert(raw.chunks_exact(2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))), out, bits, t);
    } else {
        convert(raw.iter().map(|&b| u32::from(b)), out, bits, t);
    }
}

/// The fragment where frame `frame`'s codestream starts.
pub(super) fn frame_fragment(
    value: &DicomValue<InMemDicomObject, Vec<u8>>,
    frame: u32,
    frames: Option<i32>,
) -> Option<&[u8]> {
    let fragments = value.fragments()?;
    let frames = usize::try_from(frames.unwrap_or(1)).unwrap_or(1);
    if fragments.len() == frames || frame == 0 {
        return fragments.get(frame as usize).map(Vec::as_slice);
    }
    let target = u64::from(*value.offset_table()?.get(frame as usize)?);
    let mut position = 0u64;
    for fragment in fragments {
        if position == target {
            return Some(fragment);
        }
        position += 8 + fragment.len() as u64;
    }
    None
}

/// Signedness and precision of the first component, from a JPEG 2000 codestream's SIZ marker
/// (ISO/IEC 15444-1 A.5.1), also inside a JP2 wrapper.
pub(super) fn j2k_signedness(data: &[u8]) -> Option<(bool, u32)> {
    let head = &data[..data.len().min(4096)];
    let at = head.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    // After the SIZ marker: Lsiz, Rsiz (2 bytes each), eight 4-byte sizes, Csiz (2), then Ssiz.
    let ssiz = *data.get(at + 4 + 2 + 2 + 32 + 2)?;
    Some((ssiz & 0x80 != 0, u32::from(ssiz & 0x7F) + 1))
}
