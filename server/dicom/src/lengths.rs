//! A cheap walk over a data set's element headers before the full parse, so that a declared
//! length larger than what follows is refused up front. dicom-rs reserves the declared length
//! before reading, so a 1 kB file claiming a 4 GB element would otherwise cost 4 GB of memory
//! (found by fuzzing).

use std::io::Read;

/// Deflated data sets are inflated at most to this size, whatever their header declares.
pub const MAX_INFLATED_BYTES: u64 = 1024 * 1024 * 1024;

/// What a deflated data set may inflate to besides the pixel data its image attributes declare
/// (the header itself, sequences, private elements, overlays; a CT header is tens of kilobytes).
/// A deflate bomb is a few kilobytes that inflate to gigabytes: bounding the inflated size by
/// what the header declares means a stored instance costs, on every later parse (WADO-RS
/// metadata, rendering, screening), no more memory than the same image sent uncompressed.
pub const INFLATED_ALLOWANCE_BYTES: u64 = 16 * 1024 * 1024;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const TRAILING_PADDING: (u16, u16) = (0xFFFC, 0xFFFC);
/// Nesting deeper than this is refused rather than walked.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    ExplicitLittle,
    ImplicitLittle,
    DeflatedExplicitLittle,
}

/// The data set's top-level Pixel Data element as the walk found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelDataExtent {
    /// Native pixel data of `length` bytes, its value starting `offset` bytes into the walked
    /// data set (for a deflated data set: into the inflated bytes).
    Native { offset: usize, length: u32 },
    /// Encapsulated pixel data: this many fragments after the basic offset table.
    Encapsulated { fragments: usize },
}

/// Checks every declared length in `dataset` (the bytes after the file meta group), and says
/// where the pixel data is (none: no top-level Pixel Data element).
pub fn check(dataset: &[u8], encoding: Encoding) -> Result<Option<PixelDataExtent>, String> {
    match encoding {
        Encoding::ImplicitLittle => walk(dataset, false),
        Encoding::ExplicitLittle => walk(dataset, true),
        Encoding::DeflatedExplicitLittle => walk(&inflate(dataset)?, true),
    }
}

/// Inflates a deflated data set, refusing one that inflates past what its image attributes
/// declare plus [`INFLATED_ALLOWANCE_BYTES`] (and past [`MAX_INFLATED_BYTES`] in any case).
/// Every parse goes through here, ingest and every later read alike, so the bound holds for
/// instances stored before it existed too.
fn inflate(dataset: &[u8]) -> Result<Vec<u8>, String> {
    let mut decoder = flate2::read::DeflateDecoder::new(dataset);
    let mut inflated = Vec::new();
    inflate_up_to(&mut decoder, &mut inflated, INFLATED_ALLOWANCE_BYTES)?;
    if inflated.len() as u64 <= INFLATED_ALLOWANCE_BYTES {
        return Ok(inflated);
    }
    // Longer than any header: the rest must be the pixel data the image attributes (which come
    // before it, group 0028 < 7FE0) declare.
    let declared = declared_pixel_bytes(&inflated);
    let bound = declared.saturating_add(INFLATED_ALLOWANCE_BYTES).min(MAX_INFLATED_BYTES);
    inflate_up_to(&mut decoder, &mut inflated, bound)?;
    if inflated.len() as u64 > bound {
        return Err(format!(
            "the deflated data set inflates past {bound} bytes: its image attributes declare {declared} bytes \
             of pixel data (Rows x Columns x SamplesPerPixel x BitsAllocated x NumberOfFrames), and other \
             elements may add {INFLATED_ALLOWANCE_BYTES}"
        ));
    }
    Ok(inflated)
}

/// Inflates into `out` until it holds `bound + 1` bytes (one too many: the caller refuses) or the
/// stream ends.
fn inflate_up_to(decoder: &mut impl Read, out: &mut Vec<u8>, bound: u64) -> Result<(), String> {
    let wanted = bound.saturating_add(1).saturating_sub(out.len() as u64);
    decoder.take(wanted).read_to_end(out).map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
    Ok(())
}

/// The pixel data bytes that the top-level image attributes in `prefix` (the start of a data
/// set, cut anywhere) declare; 0 when they declare no image.
fn declared_pixel_bytes(prefix: &[u8]) -> u64 {
    let mut cursor = Cursor::new(prefix, true);
    // The prefix is cut short, usually inside the pixel data: the walk's complaint about that is
    // expected, and the attributes it read before it are all that is wanted.
    let _ = cursor.elements(0, None);
    cursor.image.pixel_bytes()
}

const ROWS: (u16, u16) = (0x0028, 0x0010);
const COLUMNS: (u16, u16) = (0x0028, 0x0011);
const SAMPLES_PER_PIXEL: (u16, u16) = (0x0028, 0x0002);
const BITS_ALLOCATED: (u16, u16) = (0x0028, 0x0100);
const NUMBER_OF_FRAMES: (u16, u16) = (0x0028, 0x0008);

/// The top-level attributes that size native pixel data, as the walk met them.
#[derive(Debug, Default, Clone, Copy)]
struct ImageAttributes {
    rows: Option<u16>,
    columns: Option<u16>,
    samples: Option<u16>,
    bits_allocated: Option<u16>,
    frames: Option<u64>,
}

impl ImageAttributes {
    fn note(&mut self, tag: (u16, u16), value: &[u8]) {
        let us = || value.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        match tag {
            ROWS => self.rows = us(),
            COLUMNS => self.columns = us(),
            SAMPLES_PER_PIXEL => self.samples = us(),
            BITS_ALLOCATED => self.bits_allocated = us(),
            NUMBER_OF_FRAMES => {
                // IS: decimal text, padded with spaces (or NULs, from careless writers).
                let text = String::from_utf8_lossy(value);
                self.frames = text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).parse().ok();
            }
            _ => {}
        }
    }

    /// Rows x Columns x SamplesPerPixel x NumberOfFrames x BitsAllocated / 8, rounded up, with the
    /// defaults the header parse uses (1 sample, 16 bits, 1 frame); 0 without Rows and Columns.
    fn pixel_bytes(&self) -> u64 {
        let (Some(rows), Some(columns)) = (self.rows, self.columns) else { return 0 };
        let total_bits = [
            u64::from(rows),
            u64::from(columns),
            u64::from(self.samples.unwrap_or(1)),
            self.frames.unwrap_or(1).max(1),
            u64::from(self.bits_allocated.unwrap_or(16)),
        ]
        .into_iter()
        .fold(1u64, u64::saturating_mul);
        total_bits.div_ceil(8)
    }
}

/// VRs with a 2-byte length in explicit VR (PS3.5 §7.1.2). Every other code, unknown ones
/// included, has a 4-byte length: that is how dicom-rs reads them (an unknown VR is UN).
fn short_length(vr: &[u8; 2]) -> bool {
    matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// The size of one value of a binary VR (PS3.5 §6.2): a value length must be a multiple of it.
/// Text and byte VRs: 1.
pub(crate) fn value_size(vr: &[u8; 2]) -> usize {
    match vr {
        b"FD" | b"SV" | b"UV" | b"OD" | b"OV" => 8,
        b"FL" | b"SL" | b"UL" | b"AT" | b"OF" | b"OL" => 4,
        b"SS" | b"US" | b"OW" => 2,
        _ => 1,
    }
}

/// Where the data set starts in `from_dicm` (bytes from the `DICM` marker on): after the last
/// group-0002 element, found by walking them rather than trusting the group length.
pub fn meta_end(from_dicm: &[u8]) -> Result<usize, String> {
    check_meta_by_group_length(from_dicm)?;
    let mut cursor = Cursor { at: 4, ..Cursor::new(from_dicm, true) };
    while cursor.remaining() >= 2 && cursor.bytes[cursor.at..cursor.at + 2] == [0x02, 0x00] {
        let (tag, length) = cursor.meta_element_header()?;
        cursor.skip(length, tag)?;
    }
    Ok(cursor.at)
}

/// Where the data set starts in `from_dicm`, and the Transfer Syntax UID's value (as written,
/// padding included), for telling two files with the same data set apart from two files that
/// differ ([`crate::header::dataset_sha256_hex`]). The group-0002 elements are walked by their
/// own lengths; a File Meta Information Group Length (0002,0000), when it comes first, must
/// end the group exactly where that walk does. `None` wherever the end is not certain: a group
/// length that disagrees with the walk, or comes later or in another size, an undefined or
/// overlong length, no transfer syntax. Where the group length and the walk agree, no element
/// of the data set can have been taken for meta, nor meta for data set.
pub fn meta_span(from_dicm: &[u8]) -> Option<(usize, &[u8])> {
    if !from_dicm.starts_with(b"DICM") {
        return None;
    }
    let mut cursor = Cursor { at: 4, ..Cursor::new(from_dicm, true) };
    let mut declared_end = None;
    let mut transfer_syntax = None;
    while cursor.remaining() >= 2 && cursor.bytes[cursor.at..cursor.at + 2] == [0x02, 0x00] {
        let first = cursor.at == 4;
        let (tag, length) = cursor.meta_element_header().ok()?;
        if length == UNDEFINED {
            return None;
        }
        let value_start = cursor.at;
        cursor.skip(length, tag).ok()?;
        let value = &from_dicm[value_start..cursor.at];
        match tag {
            (0x0002, 0x0000) if first && length == 4 => {
                let group_length = u32::from_le_bytes(value.try_into().ok()?);
                declared_end = Some(cursor.at.checked_add(group_length as usize)?);
            }
            (0x0002, 0x0000) => return None,
            (0x0002, 0x0010) => transfer_syntax = Some(value),
            _ => {}
        }
    }
    if declared_end.is_some_and(|end| end != cursor.at) {
        return None;
    }
    Some((cursor.at, transfer_syntax?))
}

/// dicom-object reads the file meta group by its declared group length (0002,0000), whatever
/// the tags inside that span (an off-group tag is read and skipped too), and reserves each
/// element's declared length before reading it. Walks the same span, checking those lengths.
/// What dicom-object refuses on its own (no group length first, undefined lengths) is left to it.
fn check_meta_by_group_length(from_dicm: &[u8]) -> Result<(), String> {
    let mut cursor = Cursor { at: 4, ..Cursor::new(from_dicm, true) };
    let (tag, length) = cursor.meta_element_header()?;
    if tag != (0x0002, 0x0000) || length != 4 {
        return Ok(());
    }
    let group_length = cursor.u32()? as usize;
    let start = cursor.at;
    while cursor.at - start < group_length {
        let (tag, length) = cursor.meta_element_header()?;
        if length == UNDEFINED {
            return Ok(());
        }
        cursor.skip(length, tag)?;
    }
    Ok(())
}

/// Where a Data Set Trailing Padding element (FFFC,FFFC) starts in `dataset` (the bytes after
/// the file meta group), when it is the last top-level element and runs to the end: PS3.10
/// allows it at the end of a file's data set, without significance, and a sender need not keep
/// it (dcmtk's storescu leaves it out of what it sends). `None` for anything else, a deflated
/// data set (whose padding lies inside the deflated stream) and a data set the walk refuses.
pub fn trailing_padding_start(dataset: &[u8], encoding: Encoding) -> Option<usize> {
    let explicit = match encoding {
        Encoding::ExplicitLittle => true,
        Encoding::ImplicitLittle => false,
        Encoding::DeflatedExplicitLittle => return None,
    };
    let mut cursor = Cursor::new(dataset, explicit);
    cursor.elements(0, None).ok()?;
    match cursor.last_top_level {
        Some((start, TRAILING_PADDING)) if cursor.remaining() == 0 => Some(start),
        _ => None,
    }
}

fn walk(bytes: &[u8], explicit: bool) -> Result<Option<PixelDataExtent>, String> {
    let mut cursor = Cursor::new(bytes, explicit);
    cursor.elements(0, None)?;
    Ok(cursor.pixel_data)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    explicit: bool,
    /// The top-level Pixel Data element, once walked.
    pixel_data: Option<PixelDataExtent>,
    /// The top-level image attributes walked so far.
    image: ImageAttributes,
    /// The last top-level element walked: where its tag starts, and the tag.
    last_top_level: Option<(usize, (u16, u16))>,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], explicit: bool) -> Cursor<'a> {
        Cursor { bytes, at: 0, explicit, pixel_data: None, image: ImageAttributes::default(), last_top_level: None }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes.get(self.at..self.at + 2).ok_or("truncated element header")?;
        self.at += 2;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes.get(self.at..self.at + 4).ok_or("truncated element header")?;
        self.at += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An explicit VR little endian element header (the file meta group's encoding).
    fn meta_element_header(&mut self) -> Result<((u16, u16), u32), String> {
        let tag = (self.u16()?, self.u16()?);
        let vr = self.bytes.get(self.at..self.at + 2).ok_or("truncated element header")?;
        let vr = [vr[0], vr[1]];
        self.at += 2;
        let length = if short_length(&vr) {
            u32::from(self.u16()?)
        } else {
            self.u16()?;
            self.u32()?
        };
        Ok((tag, length))
    }

    fn skip(&mut self, length: u32, tag: (u16, u16)) -> Result<(), String> {
        let length = length as usize;
        if length > self.remaining() {
            return Err(format!(
                "element ({:04X},{:04X}) declares {length} bytes but only {} follow",
                tag.0,
                tag.1,
                self.remaining()
            ));
        }
        self.at += length;
        Ok(())
    }

    /// Elements until the end, or until `end` (an item or sequence delimiter) is read.
    fn elements(&mut self, depth: usize, end: Option<(u16, u16)>) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("sequences nest too deeply".into());
        }
        while self.remaining() > 0 {
            let start = self.at;
            let tag = (self.u16()?, self.u16()?);
            if depth == 0 {
                self.last_top_level = Some((start, tag));
            }
            if Some(tag) == end || tag == ITEM_END || tag == SEQUENCE_END {
                self.u32()?;
                return Ok(());
            }
            if tag == ITEM {
                // An item where an element was expected (inside a sequence of undefined length).
                let length = self.u32()?;
                if length == UNDEFINED {
                    self.elements(depth + 1, Some(ITEM_END))?
                } else {
                    self.skip(length, tag)?
                }
                continue;
            }
            let (vr, length) = if self.explicit && tag.0 != 0xFFFE {
                let vr =
                    [self.bytes.get(self.at).copied().unwrap_or(0), self.bytes.get(self.at + 1).copied().unwrap_or(0)];
                self.at = (self.at + 2).min(self.bytes.len());
                let length = if short_length(&vr) {
                    u32::from(self.u16()?)
                } else {
                    self.u16()?;
                    self.u32()?
                };
                (Some(vr), length)
            } else {
                (None, self.u32()?)
            };
            if let Some(vr) = vr
                && length != UNDEFINED
                && !(length as usize).is_multiple_of(value_size(&vr))
            {
                // dicom-rs reads whole values only and then reads on from the wrong place, where
                // any bytes can pass for a huge declared length (found by fuzzing).
                return Err(format!(
                    "element ({:04X},{:04X}) {}: {length} bytes is not a whole number of values",
                    tag.0,
                    tag.1,
                    String::from_utf8_lossy(&vr)
                ));
            }
            let top_level_pixel_data = depth == 0 && tag == PIXEL_DATA;
            if length == UNDEFINED {
                // A sequence, encapsulated pixel data or UN of undefined length: items follow.
                let is_sequence = vr.is_none_or(|v| &v == b"SQ" || &v == b"UN") || tag == PIXEL_DATA;
                if !is_sequence {
                    return Err(format!("element ({:04X},{:04X}) has an undefined length", tag.0, tag.1));
                }
                let items = self.items(depth + 1)?;
                if top_level_pixel_data {
                    // The first item is the basic offset table.
                    self.pixel_data = Some(PixelDataExtent::Encapsulated { fragments: items.saturating_sub(1) });
                }
            } else {
                let offset = self.at;
                self.skip(length, tag)?;
                if depth == 0 {
                    self.image.note(tag, &self.bytes[offset..self.at]);
                }
                if top_level_pixel_data {
                    self.pixel_data = Some(PixelDataExtent::Native { offset, length });
                }
            }
        }
        Ok(())
    }

    /// Items of a sequence (or fragments) of undefined length, up to the sequence delimiter;
    /// how many there were.
    fn items(&mut self, depth: usize) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err("sequences nest too deeply".into());
        }
        let mut count = 0;
        while self.remaining() > 0 {
            let tag = (self.u16()?, self.u16()?);
            let length = self.u32()?;
            match tag {
                SEQUENCE_END => return Ok(count),
                ITEM if length == UNDEFINED => self.elements(depth + 1, Some(ITEM_END))?,
                ITEM => self.skip(length, tag)?,
                other => return Err(format!("unexpected ({:04X},{:04X}) inside a sequence", other.0, other.1)),
            }
            count += 1;
        }
        Err("a sequence of undefined length is not closed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn honest_lengths_pass_and_lies_are_named() {
        let good = explicit((0x0010, 0x0020), b"LO", b"PATIENT1");
        assert_eq!(check(&good, Encoding::ExplicitLittle), Ok(None));
        let mut lying = explicit((0x0010, 0x0020), b"LO", b"");
        lying[6..8].copy_from_slice(&0xFFF0u16.to_le_bytes());
        assert!(check(&lying, Encoding::ExplicitLittle).is_err_and(|e| e.contains("declares 65520 bytes")));
        let mut huge = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0];
        huge.extend_from_slice(&0xF000_0000u32.to_le_bytes());
        assert!(check(&huge, Encoding::ExplicitLittle).is_err());
    }

    #[test]
    fn trailing_padding_is_found_only_where_it_ends_the_data_set() {
        let name = explicit((0x0010, 0x0010), b"PN", b"DOE^JOHN");
        let mut padding = vec![0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0];
        padding.extend_from_slice(&4u32.to_le_bytes());
        padding.extend_from_slice(&[0; 4]);
        let padded = [name.clone(), padding.clone()].concat();
        assert_eq!(trailing_padding_start(&padded, Encoding::ExplicitLittle), Some(name.len()));
        assert_eq!(trailing_padding_start(&name, Encoding::ExplicitLittle), None);
        // Not last, not at the top level (inside an item), cut short, or deflated: none.
        let followed = [name.clone(), padding.clone(), name.clone()].concat();
        assert_eq!(trailing_padding_start(&followed, Encoding::ExplicitLittle), None);
        let mut in_item = vec![0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        in_item.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        in_item.extend_from_slice(&padding);
        in_item.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert_eq!(trailing_padding_start(&in_item, Encoding::ExplicitLittle), None);
        assert_eq!(trailing_padding_start(&padded[..padded.len() - 1], Encoding::ExplicitLittle), None);
        assert_eq!(trailing_padding_start(&padded, Encoding::DeflatedExplicitLittle), None);
        // Implicit VR: a tag and a 4-byte length.
        let mut implicit = vec![0x10, 0x00, 0x20, 0x00, 2, 0, 0, 0, b'P', b'1'];
        implicit.extend_from_slice(&[0xFC, 0xFF, 0xFC, 0xFF, 2, 0, 0, 0, 0, 0]);
        assert_eq!(trailing_padding_start(&implicit, Encoding::ImplicitLittle), Some(10));
    }

    #[test]
    fn implicit_and_nested_sequences_are_walked() {
        // (0008,1140) SQ undefined length, one item of undefined length holding one element.
        let mut data = vec![0x08, 0x00, 0x40, 0x11];
        data.extend_from_slice(&UNDEFINED.to_le_bytes());
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        data.extend_from_slice(&UNDEFINED.to_le_bytes());
        data.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, 4, 0, 0, 0, b'1', b'.', b'2', 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert_eq!(check(&data, Encoding::ImplicitLittle), Ok(None));
        let unclosed = &data[..data.len() - 8];
        assert!(check(unclosed, Encoding::ImplicitLittle).is_err());
    }

    fn us(tag: (u16, u16), value: u16) -> Vec<u8> {
        explicit(tag, b"US", &value.to_le_bytes())
    }

    /// Image attributes, then a Pixel Data element (OW) of `pixel_bytes` zeros.
    fn image(rows: u16, columns: u16, frames: &[u8], pixel_bytes: usize) -> (Vec<u8>, usize) {
        let mut header = [
            us(SAMPLES_PER_PIXEL, 1),
            explicit(NUMBER_OF_FRAMES, b"IS", frames),
            us(ROWS, rows),
            us(COLUMNS, columns),
            us(BITS_ALLOCATED, 16),
        ]
        .concat();
        header.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        header.extend_from_slice(&u32::try_from(pixel_bytes).expect("u32").to_le_bytes());
        (header, pixel_bytes)
    }

    #[test]
    fn a_deflate_bomb_is_refused_past_what_its_header_declares() {
        // A 16 x 16 image whose pixel data inflates to 200 MiB: a few hundred kilobytes sent.
        let (header, zeros) = image(16, 16, b"1 ", 200 * 1024 * 1024 + 64 * 1024);
        let bomb = crate::testing::deflated_with_zeros(&header, zeros);
        assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
        let error = check(&bomb, Encoding::DeflatedExplicitLittle).expect_err("refused");
        let bound = 512 + INFLATED_ALLOWANCE_BYTES;
        assert!(error.contains(&format!("inflates past {bound} bytes")), "{error}");
        assert!(error.contains("declare 512 bytes"), "{error}");
    }

    #[test]
    fn deflated_images_as_large_as_they_declare_inflate() {
        // 40 frames of 512 x 512 x 16 bits: 20 MiB of pixel data, more than the allowance alone.
        let pixels = 40 * 512 * 512 * 2 + 64 * 1024;
        let (header, zeros) = image(512, 512, b"40", pixels);
        let deflated = crate::testing::deflated_with_zeros(&header, zeros);
        assert_eq!(
            check(&deflated, Encoding::DeflatedExplicitLittle),
            Ok(Some(PixelDataExtent::Native { offset: header.len(), length: pixels as u32 }))
        );
        // The same bytes claiming one frame are refused: 19 MiB more than a 512 KiB image.
        let (one_frame, _) = image(512, 512, b"1 ", pixels);
        let lying = crate::testing::deflated_with_zeros(&one_frame, zeros);
        assert!(check(&lying, Encoding::DeflatedExplicitLittle).is_err_and(|e| e.contains("inflates past")));
        // A small deflated data set needs no image attributes at all.
        let element = explicit((0x0010, 0x0020), b"LO", b"PATIENT1");
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &element).expect("deflate");
        let small = encoder.finish().expect("deflate");
        assert_eq!(check(&small, Encoding::DeflatedExplicitLittle), Ok(None));
    }

    #[test]
    fn the_declared_pixel_bytes_come_from_the_top_level_attributes() {
        let (header, _) = image(3, 5, b"7\0", 0);
        assert_eq!(declared_pixel_bytes(&header), 3 * 5 * 7 * 2);
        assert_eq!(declared_pixel_bytes(&us(ROWS, 512)), 0, "no Columns: no image");
        let odd_bits =
            ImageAttributes { rows: Some(3), columns: Some(3), bits_allocated: Some(1), ..Default::default() };
        assert_eq!(odd_bits.pixel_bytes(), 2, "9 bits round up to 2 bytes");
        let huge = ImageAttributes {
            rows: Some(u16::MAX),
            columns: Some(u16::MAX),
            samples: Some(u16::MAX),
            bits_allocated: Some(u16::MAX),
            frames: Some(u64::MAX),
        };
        assert_eq!(huge.pixel_bytes(), u64::MAX.div_ceil(8), "saturates rather than overflowing");
    }

    #[test]
    fn the_top_level_pixel_data_is_located() {
        // Native: (7FE0,0010) OW of 8 bytes.
        let mut native = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0];
        native.extend_from_slice(&8u32.to_le_bytes());
        native.extend_from_slice(&[0; 8]);
        assert_eq!(
            check(&native, Encoding::ExplicitLittle),
            Ok(Some(PixelDataExtent::Native { offset: 12, length: 8 }))
        );
        // Encapsulated: an empty basic offset table, two fragments, the delimiter.
        let mut encapsulated = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
        encapsulated.extend_from_slice(&UNDEFINED.to_le_bytes());
        for length in [0u32, 4, 2] {
            encapsulated.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            encapsulated.extend_from_slice(&length.to_le_bytes());
            encapsulated.extend(std::iter::repeat_n(0xAB, length as usize));
        }
        encapsulated.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert_eq!(
            check(&encapsulated, Encoding::ExplicitLittle),
            Ok(Some(PixelDataExtent::Encapsulated { fragments: 2 }))
        );
    }
}
