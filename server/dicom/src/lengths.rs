//! A cheap walk over a data set's element headers before the full parse, so that a declared
//! length larger than what follows is refused up front. dicom-rs reserves the declared length
//! before reading, so a 1 kB file claiming a 4 GB element would otherwise cost 4 GB of memory
//! (found by fuzzing).

use std::io::Read;

/// Deflated data sets are inflated at most to this size (a deflate bomb stops here).
pub const MAX_INFLATED_BYTES: u64 = 1024 * 1024 * 1024;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
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
        Encoding::DeflatedExplicitLittle => {
            let mut inflated = Vec::new();
            flate2::read::DeflateDecoder::new(dataset)
                .take(MAX_INFLATED_BYTES + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
            if inflated.len() as u64 > MAX_INFLATED_BYTES {
                return Err(format!("the deflated data set inflates past {MAX_INFLATED_BYTES} bytes"));
            }
            walk(&inflated, true)
        }
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
fn value_size(vr: &[u8; 2]) -> usize {
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
    let mut cursor = Cursor { bytes: from_dicm, at: 4, explicit: true, pixel_data: None };
    while cursor.remaining() >= 2 && cursor.bytes[cursor.at..cursor.at + 2] == [0x02, 0x00] {
        let (tag, length) = cursor.meta_element_header()?;
        cursor.skip(length, tag)?;
    }
    Ok(cursor.at)
}

/// dicom-object reads the file meta group by its declared group length (0002,0000), whatever
/// the tags inside that span (an off-group tag is read and skipped too), and reserves each
/// element's declared length before reading it. Walks the same span, checking those lengths.
/// What dicom-object refuses on its own (no group length first, undefined lengths) is left to it.
fn check_meta_by_group_length(from_dicm: &[u8]) -> Result<(), String> {
    let mut cursor = Cursor { bytes: from_dicm, at: 4, explicit: true, pixel_data: None };
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

fn walk(bytes: &[u8], explicit: bool) -> Result<Option<PixelDataExtent>, String> {
    let mut cursor = Cursor { bytes, at: 0, explicit, pixel_data: None };
    cursor.elements(0, None)?;
    Ok(cursor.pixel_data)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    explicit: bool,
    /// The top-level Pixel Data element, once walked.
    pixel_data: Option<PixelDataExtent>,
}

impl Cursor<'_> {
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
            let tag = (self.u16()?, self.u16()?);
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
