//! Measuring on one CT slice: from image pixels to millimetres and to the patient's coordinates.
//!
//! DICOM places a pixel in the patient (PS3.3 C.7.6.2.1.1, "Image Position and Image
//! Orientation"):
//!
//! ```text
//! P = S + i·Δi·X + j·Δj·Y
//! ```
//!
//! where `S` is Image Position (Patient) (0020,0032), the centre of the first pixel sent; `X` the
//! first three values of Image Orientation (Patient) (0020,0037), the direction of a row (the way
//! the column index `i` grows, to the right); `Y` its last three, the direction of a column (the
//! way the row index `j` grows, down); `Δi` the **column** spacing, the horizontal distance
//! between the centres of adjacent columns, which is the **second** value of Pixel Spacing
//! (0028,0030); and `Δj` the **row** spacing, the vertical distance between adjacent rows, its
//! **first** value (PS3.3 10.7.1.3). Patient coordinates are millimetres, LPS (x to the patient's
//! left, y to the posterior, z to the head).
//!
//! Pure: the slice viewer measures with it in the browser and the server can check with it.

/// The geometry of one slice of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceGeometry {
    /// Pixel Spacing (0028,0030) as DICOM orders it: `[row spacing, column spacing]` in mm, that
    /// is `[vertical (Δj), horizontal (Δi)]`.
    pub pixel_spacing: [f64; 2],
    /// Image Orientation (Patient) (0020,0037): the row direction cosines `X`, then the column
    /// direction cosines `Y`.
    pub orientation: Option<[f64; 6]>,
    /// Image Position (Patient) (0020,0032) of this slice, mm: the centre of its first pixel.
    pub position: Option<[f64; 3]>,
}

/// A point on a slice in pixels: `column` to the right, `row` down; `(0, 0)` is the centre of the
/// first pixel (so the centre of the pixel in column 3, row 7 is `(3.0, 7.0)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelPoint {
    pub column: f64,
    pub row: f64,
}

/// A segment measured on a slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Its length in mm.
    pub length_mm: f64,
    /// Its midpoint in patient coordinates (mm); `None` where the slice's orientation or position
    /// is not known.
    pub midpoint_mm: Option<[f64; 3]>,
}

/// How far a direction cosine vector's length may be from 1 (DICOM writes them as decimal
/// strings of at most 16 characters).
const UNIT_TOLERANCE: f64 = 1e-3;

impl SliceGeometry {
    /// The geometry from the values a series and a slice carry; `None` without a usable pixel
    /// spacing (two finite values above 0). An orientation that is not two unit vectors, or a
    /// position that is not three finite values, is left out (lengths can still be measured).
    pub fn new(pixel_spacing: &[f64], orientation: Option<&[f64]>, position: Option<&[f64]>) -> Option<SliceGeometry> {
        let pixel_spacing = <[f64; 2]>::try_from(pixel_spacing).ok()?;
        if !pixel_spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
            return None;
        }
        let orientation = orientation.and_then(|o| <[f64; 6]>::try_from(o).ok()).filter(|o| {
            let unit = |v: &[f64]| (v.iter().map(|c| c * c).sum::<f64>().sqrt() - 1.0).abs() <= UNIT_TOLERANCE;
            o.iter().all(|c| c.is_finite()) && unit(&o[..3]) && unit(&o[3..])
        });
        let position = position.and_then(|p| <[f64; 3]>::try_from(p).ok()).filter(|p| p.iter().all(|c| c.is_finite()));
        Some(SliceGeometry { pixel_spacing, orientation, position })
    }

    /// The column spacing Δi (horizontal, mm): Pixel Spacing's second value.
    pub fn column_spacing(&self) -> f64 {
        self.pixel_spacing[1]
    }

    /// The row spacing Δj (vertical, mm): Pixel Spacing's first value.
    pub fn row_spacing(&self) -> f64 {
        self.pixel_spacing[0]
    }

    /// Where `point` lies in the patient (mm), `P = S + i·Δi·X + j·Δj·Y`; `None` without the
    /// slice's orientation and position.
    pub fn patient_position(&self, point: PixelPoint) -> Option<[f64; 3]> {
        let (o, s) = (self.orientation?, self.position?);
        let along_row = point.column * self.column_spacing();
        let along_column = point.row * self.row_spacing();
        Some(std::array::from_fn(|k| s[k] + along_row * o[k] + along_column * o[3 + k]))
    }

    /// The segment from `a` to `b` on this slice: its length in mm (from the spacing alone: the
    /// row and column directions are orthogonal unit vectors, so the orientation does not change
    /// it) and its midpoint in the patient.
    pub fn measure(&self, a: PixelPoint, b: PixelPoint) -> Segment {
        let horizontal = (b.column - a.column) * self.column_spacing();
        let vertical = (b.row - a.row) * self.row_spacing();
        let middle = PixelPoint { column: (a.column + b.column) / 2.0, row: (a.row + b.row) / 2.0 };
        Segment { length_mm: horizontal.hypot(vertical), midpoint_mm: self.patient_position(middle) }
    }
}

/// The pixel under a point of an `<img>` drawn with `object-fit: contain`: `offset` is the point
/// in the element's box (CSS pixels from its top left corner), `shown` the box's size and
/// `natural` the image's size in pixels. The image is scaled to fit and centred, so the box may
/// have bands on two sides; a point on a band, or outside the box, has no pixel. Returns
/// `(column, row)`.
pub fn pixel_under(offset: (f64, f64), shown: (f64, f64), natural: (u32, u32)) -> Option<(u32, u32)> {
    let (width, height) = (f64::from(natural.0), f64::from(natural.1));
    if !(shown.0 > 0.0 && shown.1 > 0.0 && width > 0.0 && height > 0.0) {
        return None;
    }
    let scale = (shown.0 / width).min(shown.1 / height);
    let left = (shown.0 - width * scale) / 2.0;
    let top = (shown.1 - height * scale) / 2.0;
    let column = ((offset.0 - left) / scale).floor();
    let row = ((offset.1 - top) / scale).floor();
    ((0.0..width).contains(&column) && (0.0..height).contains(&row)).then_some((column as u32, row as u32))
}

/// A patient position as the case page's form takes it: `x,y,z` in mm with one decimal.
pub fn format_position(position: [f64; 3]) -> String {
    // `{:.1}` writes -0.04 as "-0.0": say 0.0.
    let one = |v: f64| {
        let text = format!("{v:.1}");
        if text == "-0.0" { "0.0".to_owned() } else { text }
    };
    format!("{},{},{}", one(position[0]), one(position[1]), one(position[2]))
}

/// Reads `x,y,z` (three finite numbers in mm, separated by commas, spaces around them allowed);
/// `None` for anything else.
pub fn parse_position(text: &str) -> Option<[f64; 3]> {
    let mut parts = text.split(',');
    let mut next = || -> Option<f64> {
        let part = parts.next()?.trim();
        // Rust also reads "inf", "NaN" and "1e3"; only plain decimal numbers are coordinates.
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.')) {
            return None;
        }
        part.parse::<f64>().ok().filter(|v| v.is_finite())
    };
    let position = [next()?, next()?, next()?];
    parts.next().is_none().then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn close3(a: [f64; 3], b: [f64; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| close(*x, y))
    }

    fn at(column: f64, row: f64) -> PixelPoint {
        PixelPoint { column, row }
    }

    fn axial(spacing: [f64; 2], position: [f64; 3]) -> SliceGeometry {
        SliceGeometry::new(&spacing, Some(&AXIAL), Some(&position)).expect("geometry")
    }

    #[test]
    fn thirty_pixels_across_at_0_7_mm_are_21_mm() {
        let slice = axial([0.7, 0.7], [-175.0, -175.0, -40.0]);
        let segment = slice.measure(at(10.0, 50.0), at(40.0, 50.0));
        assert!(close(segment.length_mm, 21.0), "{}", segment.length_mm);
        // Midpoint column 25, row 50: x = -175 + 25·0.7 = -157.5, y = -175 + 50·0.7 = -140.
        assert!(close3(segment.midpoint_mm.expect("midpoint"), [-157.5, -140.0, -40.0]), "{segment:?}");
    }

    #[test]
    fn a_three_four_five_triangle() {
        // 3 columns and 4 rows at 1 mm: 5 mm; at 2 mm: 10 mm; either way round.
        let slice = axial([1.0, 1.0], [0.0, 0.0, 0.0]);
        assert!(close(slice.measure(at(0.0, 0.0), at(3.0, 4.0)).length_mm, 5.0));
        assert!(close(slice.measure(at(3.0, 4.0), at(0.0, 0.0)).length_mm, 5.0));
        let slice = axial([2.0, 2.0], [0.0, 0.0, 0.0]);
        let segment = slice.measure(at(10.0, 20.0), at(13.0, 24.0));
        assert!(close(segment.length_mm, 10.0));
        // Midpoint (11.5, 22) pixels: (23, 44) mm.
        assert!(close3(segment.midpoint_mm.expect("midpoint"), [23.0, 44.0, 0.0]));
        // One point: nothing measured.
        assert!(close(slice.measure(at(5.0, 5.0), at(5.0, 5.0)).length_mm, 0.0));
    }

    #[test]
    fn row_spacing_is_vertical_and_column_spacing_horizontal() {
        // Pixel Spacing "0.5\0.8": rows 0.5 mm apart (vertical), columns 0.8 mm apart
        // (horizontal).
        let slice = axial([0.5, 0.8], [100.0, 50.0, 10.0]);
        assert!(close(slice.row_spacing(), 0.5) && close(slice.column_spacing(), 0.8));
        // 10 columns across: 8 mm; 10 rows down: 5 mm.
        assert!(close(slice.measure(at(0.0, 0.0), at(10.0, 0.0)).length_mm, 8.0));
        assert!(close(slice.measure(at(0.0, 0.0), at(0.0, 10.0)).length_mm, 5.0));
        // 30 columns and 80 rows: 24 mm across and 40 mm down, hypot = 8·hypot(3, 5) = 46.647...
        let segment = slice.measure(at(0.0, 0.0), at(30.0, 80.0));
        assert!(close(segment.length_mm, (24.0f64 * 24.0 + 40.0 * 40.0).sqrt()));
        // Midpoint (15, 40): x = 100 + 15·0.8 = 112, y = 50 + 40·0.5 = 70.
        assert!(close3(segment.midpoint_mm.expect("midpoint"), [112.0, 70.0, 10.0]));
    }

    #[test]
    fn an_oblique_slice() {
        // Rows run along (1, 0, 0); columns along (0, cos 30°, -sin 30°) (a slice tilted 30° about
        // x, as a gantry tilt gives). Spacing: rows 0.6 mm, columns 0.9 mm.
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let orientation = [1.0, 0.0, 0.0, 0.0, c, -s];
        let slice = SliceGeometry::new(&[0.6, 0.9], Some(&orientation), Some(&[-100.0, -80.0, 200.0])).expect("ok");
        // From pixel (0, 0) to (20, 50): 18 mm along the row, 30 mm along the column.
        let segment = slice.measure(at(0.0, 0.0), at(20.0, 50.0));
        assert!(close(segment.length_mm, (18.0f64 * 18.0 + 30.0 * 30.0).sqrt()));
        // Midpoint (10, 25): 9 mm along x, 15 mm down the column: y + 15·cos 30°, z - 15·sin 30°.
        let expected = [-100.0 + 9.0, -80.0 + 15.0 * c, 200.0 - 15.0 * s];
        assert!(close3(segment.midpoint_mm.expect("midpoint"), expected), "{segment:?}");
        // The length is the distance between the two ends in the patient.
        let (a, b) =
            (slice.patient_position(at(0.0, 0.0)).expect("a"), slice.patient_position(at(20.0, 50.0)).expect("b"));
        let apart = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
        assert!(close(apart, segment.length_mm));
        // A coronal slice: rows along x, columns along -z (head to foot).
        let coronal = SliceGeometry::new(&[1.0, 0.5], Some(&[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), Some(&[0.0, 30.0, 0.0]));
        let segment = coronal.expect("coronal").measure(at(0.0, 0.0), at(4.0, 6.0));
        assert!(close(segment.length_mm, (2.0f64 * 2.0 + 6.0 * 6.0).sqrt()));
        assert!(close3(segment.midpoint_mm.expect("midpoint"), [1.0, 30.0, -3.0]));
    }

    #[test]
    fn what_the_geometry_needs() {
        // No spacing, a zero or negative one, the wrong count: nothing to measure with.
        assert_eq!(SliceGeometry::new(&[], Some(&AXIAL), None), None);
        assert_eq!(SliceGeometry::new(&[0.7], Some(&AXIAL), None), None);
        assert_eq!(SliceGeometry::new(&[0.7, 0.0], Some(&AXIAL), None), None);
        assert_eq!(SliceGeometry::new(&[0.7, -0.7], None, None), None);
        assert_eq!(SliceGeometry::new(&[f64::NAN, 0.7], None, None), None);
        // Without an orientation or a position, lengths but no patient position.
        let bare = SliceGeometry::new(&[0.7, 0.7], None, Some(&[0.0, 0.0, 0.0])).expect("spacing");
        let segment = bare.measure(at(0.0, 0.0), at(30.0, 0.0));
        assert!(close(segment.length_mm, 21.0));
        assert_eq!(segment.midpoint_mm, None);
        let unpositioned = SliceGeometry::new(&[0.7, 0.7], Some(&AXIAL), None).expect("spacing");
        assert_eq!(unpositioned.measure(at(0.0, 0.0), at(1.0, 0.0)).midpoint_mm, None);
        // Direction cosines that are not unit vectors are not used.
        let odd = SliceGeometry::new(&[0.7, 0.7], Some(&[2.0, 0.0, 0.0, 0.0, 1.0, 0.0]), Some(&[0.0; 3]));
        assert_eq!(odd.expect("spacing").orientation, None);
        let short = SliceGeometry::new(&[0.7, 0.7], Some(&[1.0, 0.0, 0.0]), Some(&[0.0; 3]));
        assert_eq!(short.expect("spacing").orientation, None);
    }

    #[test]
    fn the_pixel_under_a_point_of_a_fitted_image() {
        // A 128 × 128 image in a 512 × 512 box: 4 CSS pixels a pixel.
        assert_eq!(pixel_under((0.0, 0.0), (512.0, 512.0), (128, 128)), Some((0, 0)));
        assert_eq!(pixel_under((41.9, 6.0), (512.0, 512.0), (128, 128)), Some((10, 1)));
        assert_eq!(pixel_under((511.9, 511.9), (512.0, 512.0), (128, 128)), Some((127, 127)));
        assert_eq!(pixel_under((512.0, 10.0), (512.0, 512.0), (128, 128)), None);
        // A 512 × 256 image in a 400 × 400 box: scale 400/512, bands of 100 above and below.
        assert_eq!(pixel_under((200.0, 50.0), (400.0, 400.0), (512, 256)), None);
        assert_eq!(pixel_under((200.0, 100.0), (400.0, 400.0), (512, 256)), Some((256, 0)));
        assert_eq!(pixel_under((0.0, 299.9), (400.0, 400.0), (512, 256)), Some((0, 255)));
        assert_eq!(pixel_under((0.0, 300.0), (400.0, 400.0), (512, 256)), None);
        // Not laid out yet, or no image.
        assert_eq!(pixel_under((1.0, 1.0), (0.0, 0.0), (128, 128)), None);
        assert_eq!(pixel_under((1.0, 1.0), (10.0, 10.0), (0, 0)), None);
        assert_eq!(pixel_under((-1.0, 1.0), (10.0, 10.0), (10, 10)), None);
    }

    #[test]
    fn positions_are_written_and_read_as_x_y_z() {
        assert_eq!(format_position([-157.5, -140.0, -40.0]), "-157.5,-140.0,-40.0");
        assert_eq!(format_position([12.345, -0.04, 0.0]), "12.3,0.0,0.0");
        assert_eq!(parse_position("-157.5,-140.0,-40.0"), Some([-157.5, -140.0, -40.0]));
        assert_eq!(parse_position(" 1, 2.5 ,-3 "), Some([1.0, 2.5, -3.0]));
        assert_eq!(parse_position("+1,.5,3."), Some([1.0, 0.5, 3.0]));
        let round_trip = [10.26, -33.3, 120.0];
        assert_eq!(parse_position(&format_position(round_trip)), Some([10.3, -33.3, 120.0]));
        for malformed in [
            "",
            "1,2",
            "1,2,3,4",
            "1,,3",
            "1;2;3",
            "1 2 3",
            "a,b,c",
            "1,2,x",
            "NaN,0,0",
            "inf,0,0",
            "1e3,0,0",
            "1,2,3,",
            "--1,2,3",
            "1.2.3,4,5",
            ",,",
        ] {
            assert_eq!(parse_position(malformed), None, "{malformed:?}");
        }
    }
}
