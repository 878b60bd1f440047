//! Where the patient lies in the scanner: what, with lesion growth, changes between two
//! studies of the same synthetic patient (same seed) taken years apart.
//!
//! The anatomy and every finding are built and placed in the spec's frame (the body model
//! centred on x = y = 0, its top at z = 0) exactly as without a shift, so that the random draws
//! stay the same; only rendering and the ground truth see the shift. The image grid stays
//! where it is (the scanner does not move, the patient does), so a point of the anatomy at `p`
//! appears at patient coordinate `p + shift`.

use std::str::FromStr;

use crate::PhantomError;
use crate::anatomy::Grid;

/// The patient's translation in the scanner, DICOM patient coordinates (LPS mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shift([f64; 3]);

impl Shift {
    /// `-0.0` is kept as `0.0`, so that the digest of an unmoved patient never depends on
    /// the sign of a zero.
    pub fn new(mm: [f64; 3]) -> Shift {
        Shift(mm.map(|c| c + 0.0))
    }

    pub fn mm(self) -> [f64; 3] {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == [0.0; 3]
    }

    /// The patient coordinate at which an anatomy point appears.
    pub fn to_patient(self, p: [f64; 3]) -> [f64; 3] {
        [p[0] + self.0[0], p[1] + self.0[1], p[2] + self.0[2]]
    }

    /// The image grid seen from the anatomy: pixel centres at `x - sx`, `y - sy`.
    pub fn anatomy_grid(self, grid: &Grid) -> Grid {
        Grid { x0: grid.x0 - self.0[0], y0: grid.y0 - self.0[1], ..*grid }
    }

    /// The anatomy height a slice at patient `z` cuts.
    pub fn anatomy_z(self, z: f64) -> f64 {
        z - self.0[2]
    }
}

/// Parses `X,Y,Z` (millimetres, LPS: +x patient left, +y posterior, +z head), as given to
/// `--shift-mm`; spaces and a trailing `mm` are allowed.
pub fn parse_shift_mm(input: &str) -> Result<[f64; 3], PhantomError> {
    let bad = |reason: &str| {
        PhantomError::InvalidOption(format!(
            "shift `{input}`: {reason} (expected X,Y,Z in millimetres, patient LPS, e.g. 12,-9,20)"
        ))
    };
    let text = input.trim();
    let text = text.strip_suffix("mm").unwrap_or(text);
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return Err(bad(&format!("{} value(s), not 3", parts.len())));
    }
    let mut mm = [0.0; 3];
    for (value, part) in mm.iter_mut().zip(&parts) {
        *value = f64::from_str(part).map_err(|_| bad(&format!("`{part}` is not a number")))?;
        if !value.is_finite() {
            return Err(bad("every component must be a finite number"));
        }
    }
    Ok(mm)
}

/// A shift must be finite to place anything.
pub(crate) fn check_shift(mm: [f64; 3]) -> Result<(), PhantomError> {
    if mm.iter().all(|c| c.is_finite()) {
        Ok(())
    } else {
        Err(PhantomError::InvalidOption(format!("shift_mm must be finite millimetres (got {mm:?})")))
    }
}
