//! Inputs for tests, here and in other crates' and the integration suite's (feature `testing`):
//! hostile DICOM and synthetic volumes, built by hand so that each test knows exactly what it
//! sends.

use std::io::Write;

use crate::volume::Volume;

/// A volume of `slices` × `rows` × `columns` voxels of `spacing` (x, y, z) mm, its first voxel at
/// `origin` mm, axial (the identity orientation), HU `hu(z, y, x)`: the synthetic scans whose
/// resampled values a test works out by hand.
pub fn volume_from_fn(
    [slices, rows, columns]: [usize; 3],
    spacing: [f64; 3],
    origin: [f64; 3],
    hu: impl Fn(usize, usize, usize) -> i16,
) -> Volume {
    let mut voxels = Vec::with_capacity(slices * rows * columns);
    for z in 0..slices {
        for y in 0..rows {
            for x in 0..columns {
                voxels.push(hu(z, y, x));
            }
        }
    }
    Volume {
        voxels,
        slices,
        rows,
        columns,
        spacing,
        origin,
        direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    }
}

/// A raw deflate stream of `prefix` then `zeros` zero bytes, made without compressing them all
/// (a deflate bomb of any size in milliseconds): one mebibyte of zeros is compressed once, after
/// enough zeros that every back reference lands on zeros, and its byte-aligned block repeated.
///
/// # Panics
/// Unless `zeros` is 64 KiB plus a whole number of MiB (the repeated block's size).
pub fn deflated_with_zeros(prefix: &[u8], zeros: usize) -> Vec<u8> {
    const PAD: usize = 64 * 1024;
    const CHUNK: usize = 1024 * 1024;
    assert!(zeros >= PAD && (zeros - PAD).is_multiple_of(CHUNK), "64 KiB plus whole MiB of zeros");
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(prefix).and_then(|()| encoder.write_all(&[0; PAD])).and_then(|()| encoder.flush());
    let mut out = std::mem::take(encoder.get_mut());
    let _ = encoder.write_all(&vec![0; CHUNK]).and_then(|()| encoder.flush());
    let chunk = std::mem::take(encoder.get_mut());
    for _ in 0..(zeros - PAD) / CHUNK {
        out.extend_from_slice(&chunk);
    }
    // A final, empty block with fixed codes.
    out.extend_from_slice(&[0x03, 0x00]);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn the_stream_inflates_to_the_prefix_then_exactly_the_zeros() {
        let zeros = 64 * 1024 + 3 * 1024 * 1024;
        let stream = super::deflated_with_zeros(b"prefix", zeros);
        assert!(stream.len() < 64 * 1024, "{}", stream.len());
        let mut inflated = Vec::new();
        flate2::read::DeflateDecoder::new(stream.as_slice()).read_to_end(&mut inflated).expect("a valid stream");
        assert_eq!(inflated.len(), 6 + zeros);
        assert_eq!(&inflated[..6], b"prefix");
        assert!(inflated[6..].iter().all(|&b| b == 0));
    }
}
