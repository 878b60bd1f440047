//! The volume the measurements read: HU voxels on a regular grid and where they lie.

/// Why a [`VolumeView`] cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    #[error("{voxels} voxels do not fill {dims:?} (z, y, x)")]
    SizeMismatch { voxels: usize, dims: [usize; 3] },
    #[error("the volume has no voxels")]
    Empty,
    #[error("the volume is larger than {max} voxels")]
    TooLarge { max: usize },
    #[error("spacing {0:?} must be finite and positive")]
    BadSpacing([f64; 3]),
    #[error("the axes must be finite, non-zero and not parallel")]
    BadAxes,
    #[error("the origin must be finite")]
    BadOrigin,
}

/// The most voxels a view may hold (indices are kept in `u32`).
pub const MAX_VOXELS: usize = u32::MAX as usize;

/// A CT volume in Hounsfield units, borrowed: voxels in z, y, x order
/// (`voxels[(z * rows + y) * columns + x]`), the voxel size along each index, and the patient
/// position (DICOM LPS millimetres: +x patient left, +y posterior, +z head) of every voxel
/// centre:
/// `origin + z·spacing[0]·axes[0] + y·spacing[1]·axes[1] + x·spacing[2]·axes[2]`.
///
/// From `elysium_dicom::volume::Volume` (whose spacing is x, y, z and whose direction is
/// [row, column, normal]), `VolumeView::from_dicom_layout(&v.voxels, [v.slices, v.rows,
/// v.columns], v.spacing, v.origin, v.direction)`:
///
/// ```
/// use elysium_measure::VolumeView;
///
/// // Two axial slices of 3 x 4 pixels, 0.75 mm columns, 0.5 mm rows, 2.5 mm apart.
/// let voxels = vec![-1000i16; 2 * 3 * 4];
/// let axial = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
/// let view = VolumeView::from_dicom_layout(&voxels, [2, 3, 4], [0.75, 0.5, 2.5], [0.0; 3], axial)?;
/// assert_eq!(view.spacing(), [2.5, 0.5, 0.75]);
/// assert_eq!(view.voxel_to_patient([1.0, 2.0, 3.0]), [2.25, 1.0, 2.5]);
/// # Ok::<(), elysium_measure::ViewError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeView<'a> {
    voxels: &'a [i16],
    dims: [usize; 3],
    spacing: [f64; 3],
    origin: [f64; 3],
    axes: [[f64; 3]; 3],
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

impl<'a> VolumeView<'a> {
    /// `dims` and `spacing` are (z, y, x); `axes` are the patient directions of increasing z,
    /// y and x index (normalised here).
    pub fn new(
        voxels: &'a [i16],
        dims: [usize; 3],
        spacing: [f64; 3],
        origin: [f64; 3],
        axes: [[f64; 3]; 3],
    ) -> Result<VolumeView<'a>, ViewError> {
        let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        match count {
            Some(0) => return Err(ViewError::Empty),
            Some(n) if n > MAX_VOXELS => return Err(ViewError::TooLarge { max: MAX_VOXELS }),
            Some(n) if n == voxels.len() => {}
            _ => return Err(ViewError::SizeMismatch { voxels: voxels.len(), dims }),
        }
        if spacing.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(ViewError::BadSpacing(spacing));
        }
        if origin.iter().any(|o| !o.is_finite()) {
            return Err(ViewError::BadOrigin);
        }
        let mut unit = [[0.0; 3]; 3];
        for (u, a) in unit.iter_mut().zip(axes) {
            let n = norm(a);
            if !n.is_finite() || n < 1e-9 {
                return Err(ViewError::BadAxes);
            }
            *u = a.map(|c| c / n);
        }
        if norm(cross(unit[1], unit[2])) < 1e-6 || norm(cross(unit[0], unit[1])) < 1e-6 {
            return Err(ViewError::BadAxes);
        }
        Ok(VolumeView { voxels, dims, spacing, origin, axes: unit })
    }

    /// The layout of `elysium_dicom::volume::Volume`: `dims` (slices, rows, columns),
    /// `spacing_xyz` (columns, rows, slices) and `direction` [row, column, normal].
    pub fn from_dicom_layout(
        voxels: &'a [i16],
        dims: [usize; 3],
        spacing_xyz: [f64; 3],
        origin: [f64; 3],
        direction: [[f64; 3]; 3],
    ) -> Result<VolumeView<'a>, ViewError> {
        let [row, column, normal] = direction;
        let [sx, sy, sz] = spacing_xyz;
        VolumeView::new(voxels, dims, [sz, sy, sx], origin, [normal, column, row])
    }

    pub fn voxels(&self) -> &'a [i16] {
        self.voxels
    }

    /// (slices, rows, columns).
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Voxel size (mm) along z, y, x.
    pub fn spacing(&self) -> [f64; 3] {
        self.spacing
    }

    pub fn origin(&self) -> [f64; 3] {
        self.origin
    }

    /// Unit patient directions of increasing z, y, x index.
    pub fn axes(&self) -> [[f64; 3]; 3] {
        self.axes
    }

    /// The patient position (mm) of a (fractional) voxel index [z, y, x].
    pub fn voxel_to_patient(&self, index: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|i| {
            self.origin[i] + (0..3).map(|a| index[a] * self.spacing[a] * self.axes[a][i]).sum::<f64>()
        })
    }

    /// The fractional voxel index [z, y, x] of a patient position (mm). Exact for orthogonal
    /// axes (every CT the product loads).
    pub fn patient_to_voxel(&self, point: [f64; 3]) -> [f64; 3] {
        let d = [point[0] - self.origin[0], point[1] - self.origin[1], point[2] - self.origin[2]];
        std::array::from_fn(|a| {
            let axis = self.axes[a];
            (d[0] * axis[0] + d[1] * axis[1] + d[2] * axis[2]) / self.spacing[a]
        })
    }

    /// Whether the slices are axial: the slice axis within 30° of the patient's z.
    pub fn is_axial(&self) -> bool {
        self.axes[0][2].abs() >= 30f64.to_radians().cos()
    }
}
