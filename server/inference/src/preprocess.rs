//! HU volume → network input, exactly as the model's manifest specifies (and as its training
//! script did): a grid at `target_spacing_mm`, centred on the volume, sampled by trilinear
//! interpolation, samples outside the volume taking `fill_hu`, then clipped to the HU window and
//! scaled to [0, 1]. Slices are computed in parallel.
//!
//! The grid is the manifest's fixed `size`, or, for a sliding-window model without one, follows
//! the scan: per axis the smallest grid whose extent covers the scan's first to last voxel centre,
//! capped at `max_size` (a longer scan is then covered by the centred `max_size` window). Its size
//! is decided once, by [`Preprocessing::grid_size`], and carried by the [`GridMap`].

use elysium_dicom::volume::Volume;
use rayon::prelude::*;

use crate::manifest::{Normalisation, Preprocessing};

/// Where the network's grid lies in the volume: output voxel `k` along an axis samples the
/// volume at continuous index `centre_in + (k - centre_out) · step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridMap {
    /// Volume voxels per output voxel, z, y, x.
    pub step: [f64; 3],
    /// The volume's centre index, z, y, x.
    pub centre_in: [f64; 3],
    /// The output grid's centre index, z, y, x.
    pub centre_out: [f64; 3],
    /// The output grid's size, z, y, x: this case's, which for a grid that follows the scan
    /// differs from case to case.
    pub size: [usize; 3],
}

impl GridMap {
    pub fn new(volume: &Volume, pre: &Preprocessing) -> GridMap {
        let [sx, sy, sz] = volume.spacing;
        let [tz, ty, tx] = pre.target_spacing_mm;
        let dims = [volume.slices, volume.rows, volume.columns];
        let size = pre.grid_size(volume);
        GridMap {
            step: [tz / sz, ty / sy, tx / sx],
            centre_in: dims.map(|n| (n as f64 - 1.0) / 2.0),
            centre_out: size.map(|n| (n as f64 - 1.0) / 2.0),
            size,
        }
    }

    /// The volume's continuous index `[z, y, x]` of a (fractional) output-grid index.
    pub fn to_volume(&self, grid: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|a| self.centre_in[a] + (grid[a] - self.centre_out[a]) * self.step[a])
    }

    /// The output grid's continuous index of a volume index.
    pub fn to_grid(&self, volume: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|a| self.centre_out[a] + (volume[a] - self.centre_in[a]) / self.step[a])
    }

    /// The output-grid index of the centre of voxel `index` of a coarser grid with `stride`
    /// output voxels per voxel (a label map or heatmap): `stride · index + (stride - 1) / 2`.
    pub fn coarse_to_grid(index: [f64; 3], stride: usize) -> [f64; 3] {
        let s = stride as f64;
        index.map(|i| s * i + (s - 1.0) / 2.0)
    }
}

/// One axis's sampling table: for each output index, the lower volume index and the weight of
/// the upper one, or `None` outside the volume.
fn axis_table(n_in: usize, n_out: usize, centre_in: f64, centre_out: f64, step: f64) -> Vec<Option<(usize, f64)>> {
    (0..n_out)
        .map(|k| {
            let c = centre_in + (k as f64 - centre_out) * step;
            let last = n_in as f64 - 1.0;
            // A tolerance of a millionth of a voxel keeps the grid's edge samples that land on the
            // volume's first or last voxel up to rounding.
            if !(c >= -1e-6 && c <= last + 1e-6) {
                return None;
            }
            let c = c.clamp(0.0, last);
            let lower = (c.floor() as usize).min(n_in.saturating_sub(2));
            Some((lower, c - lower as f64))
        })
        .collect()
}

/// The network input for `volume`, z-major (`[z][y][x]`), as `f32`: the voxels of
/// `GridMap::new(volume, pre).size`, the grid the runtime must be told.
pub fn input_tensor(volume: &Volume, pre: &Preprocessing) -> Vec<f32> {
    let map = GridMap::new(volume, pre);
    let [d, h, w] = map.size;
    let [nz, ny, nx] = [volume.slices, volume.rows, volume.columns];
    let tz = axis_table(nz, d, map.centre_in[0], map.centre_out[0], map.step[0]);
    let ty = axis_table(ny, h, map.centre_in[1], map.centre_out[1], map.step[1]);
    let tx = axis_table(nx, w, map.centre_in[2], map.centre_out[2], map.step[2]);
    let [lo, hi] = pre.hu_clip;
    let normalise = |hu: f64| -> f32 {
        match pre.normalisation {
            Normalisation::ClipMinmax => ((hu.clamp(lo, hi) - lo) / (hi - lo)) as f32,
        }
    };
    let fill = normalise(pre.fill_hu);
    let at = |z: usize, y: usize, x: usize| -> f64 {
        // Indices come from the tables, which keep them in range; a miss reads as the fill.
        volume.voxels.get((z * ny + y) * nx + x).map_or(pre.fill_hu, |v| f64::from(*v))
    };
    let mut out = vec![fill; d * h * w];
    out.par_chunks_mut(h * w).zip(tz.par_iter()).for_each(|(plane, z)| {
        let Some((z0, fz)) = *z else { return };
        let z1 = (z0 + 1).min(nz - 1);
        for (j, y) in ty.iter().enumerate() {
            let Some((y0, fy)) = *y else { continue };
            let y1 = (y0 + 1).min(ny - 1);
            for (i, x) in tx.iter().enumerate() {
                let Some((x0, fx)) = *x else { continue };
                let x1 = (x0 + 1).min(nx - 1);
                let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
                let c00 = lerp(at(z0, y0, x0), at(z0, y0, x1), fx);
                let c01 = lerp(at(z0, y1, x0), at(z0, y1, x1), fx);
                let c10 = lerp(at(z1, y0, x0), at(z1, y0, x1), fx);
                let c11 = lerp(at(z1, y1, x0), at(z1, y1, x1), fx);
                let hu = lerp(lerp(c00, c01, fy), lerp(c10, c11, fy), fz);
                plane[j * w + i] = normalise(hu);
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Interpolation, Orientation};

    fn volume(
        slices: usize,
        rows: usize,
        columns: usize,
        spacing: [f64; 3],
        f: impl Fn(usize, usize, usize) -> i16,
    ) -> Volume {
        elysium_dicom::testing::volume_from_fn([slices, rows, columns], spacing, [0.0; 3], f)
    }

    fn pre(spacing_zyx: [f64; 3], size: [usize; 3]) -> Preprocessing {
        Preprocessing { size: Some(size), ..following(spacing_zyx, None) }
    }

    /// A grid that follows the scan, capped at `max_size` where given.
    fn following(spacing_zyx: [f64; 3], max_size: Option<[usize; 3]>) -> Preprocessing {
        Preprocessing {
            target_spacing_mm: spacing_zyx,
            size: None,
            max_size,
            orientation: Orientation::Volume,
            interpolation: Interpolation::Trilinear,
            hu_clip: [-1000.0, 1000.0],
            fill_hu: -1000.0,
            normalisation: Normalisation::ClipMinmax,
        }
    }

    fn to_hu(v: f32) -> f64 {
        f64::from(v) * 2000.0 - 1000.0
    }

    #[test]
    fn same_grid_is_the_identity_up_to_normalisation() {
        let v = volume(3, 4, 5, [1.0, 1.0, 2.0], |z, y, x| (z * 100 + y * 10 + x) as i16 - 50);
        let out = input_tensor(&v, &pre([2.0, 1.0, 1.0], [3, 4, 5]));
        for (o, hu) in out.iter().zip(&v.voxels) {
            assert!((to_hu(*o) - f64::from(*hu)).abs() < 1e-3, "{} vs {hu}", to_hu(*o));
        }
    }

    #[test]
    fn trilinear_reproduces_a_linear_field_exactly_and_fills_outside() {
        // HU = 3z + 2y + x on a 10³ volume, sampled at half spacing on a grid wider than it.
        let v = volume(10, 10, 10, [1.0, 1.0, 1.0], |z, y, x| (3 * z + 2 * y + x) as i16);
        let p = pre([0.5, 0.5, 0.5], [24, 24, 24]);
        let out = input_tensor(&v, &p);
        let map = GridMap::new(&v, &p);
        for k in 0..24 {
            for j in 0..24 {
                for i in 0..24 {
                    let [z, y, x] = map.to_volume([k as f64, j as f64, i as f64]);
                    let got = to_hu(out[(k * 24 + j) * 24 + i]);
                    let inside = [z, y, x].iter().all(|c| (-1e-9..=9.0 + 1e-9).contains(c));
                    let expected = if inside { 3.0 * z + 2.0 * y + x } else { -1000.0 };
                    assert!((got - expected).abs() < 1e-3, "({k},{j},{i}) -> {got} vs {expected}");
                }
            }
        }
    }

    #[test]
    fn the_window_clips_and_scales_to_unit_range() {
        let v = volume(1, 1, 3, [1.0, 1.0, 1.0], |_, _, x| [-3000i16, 0, 3000][x]);
        let out = input_tensor(&v, &pre([1.0, 1.0, 1.0], [1, 1, 3]));
        assert_eq!(out, [0.0, 0.5, 1.0]);
    }

    #[test]
    fn grid_maps_round_trip() {
        let v = volume(40, 50, 60, [0.7, 0.7, 2.5], |_, _, _| 0);
        let map = GridMap::new(&v, &pre([6.5, 6.0, 6.0], [64, 64, 64]));
        let point = [12.25, 30.5, 7.0];
        let back = map.to_grid(map.to_volume(point));
        assert!(point.iter().zip(back).all(|(a, b)| (a - b).abs() < 1e-9));
        assert_eq!(GridMap::coarse_to_grid([0.0, 1.0, 31.0], 2), [0.5, 2.5, 62.5]);
    }

    /// A volume's dimensions and spacing (x, y, z) without its voxels: all a grid's size and map
    /// read.
    fn shape_only(slices: usize, rows: usize, columns: usize, spacing: [f64; 3]) -> Volume {
        Volume { slices, rows, columns, ..volume(0, 0, 0, spacing, |_, _, _| 0) }
    }

    #[test]
    fn a_grid_that_follows_the_scan_covers_it_up_to_max_size() {
        // 300 slices of 1 mm, 512 × 512 pixels of 0.75 mm, resampled to 3 mm:
        // z ceil(299 · 1 / 3) + 1 = 101; y and x ceil(511 · 0.75 / 3) + 1 = ceil(127.75) + 1 = 129.
        let scan = shape_only(300, 512, 512, [0.75, 0.75, 1.0]);
        assert_eq!(following([3.0; 3], Some([200, 200, 200])).grid_size(&scan), [101, 129, 129]);
        assert_eq!(following([3.0; 3], Some([96, 200, 200])).grid_size(&scan), [96, 129, 129], "z capped");
        // Columns of 0.5 mm (spacing is x first): x ceil(399 · 0.5 / 3) + 1 = ceil(66.5) + 1 = 68.
        let narrow = shape_only(300, 512, 400, [0.5, 0.75, 1.0]);
        assert_eq!(following([3.0; 3], Some([200, 200, 200])).grid_size(&narrow), [101, 129, 68]);
        // An exact multiple gains no voxel: 7 voxels of 1 mm span 6 mm, ceil(6 / 3) + 1 = 3.
        let exact = shape_only(7, 7, 7, [1.0; 3]);
        assert_eq!(following([3.0; 3], Some([10; 3])).grid_size(&exact), [3, 3, 3]);
        // Nor one that floating point rounds up: 4 voxels of 0.8 mm span 2.4 mm, two 1.2 mm
        // voxels, though 3 · 0.8 / 1.2 computes to 2.0000000000000004: ceil(2) + 1 = 3, not 4.
        let rounded = shape_only(4, 4, 4, [0.8; 3]);
        assert_eq!(following([1.2; 3], Some([10; 3])).grid_size(&rounded), [3, 3, 3]);
        // One slice is one grid voxel.
        assert_eq!(following([3.0; 3], Some([10; 3])).grid_size(&shape_only(1, 7, 7, [1.0; 3])), [1, 3, 3]);
        // A fixed size is the grid whatever the scan.
        assert_eq!(pre([3.0; 3], [4, 5, 6]).grid_size(&scan), [4, 5, 6]);
    }

    #[test]
    fn a_grid_that_follows_the_scan_is_centred_on_it() {
        let scan = shape_only(300, 512, 512, [0.75, 0.75, 1.0]);
        // 101 × 129 × 129 voxels of 3 mm: 3 slices and 4 pixels a grid voxel, so voxels 0 and
        // m - 1 lie at 149.5 ∓ 50 · 3 and 255.5 ∓ 64 · 4, half a voxel beyond the first and last
        // centres and symmetric about the volume's centre (149.5, 255.5, 255.5).
        let map = GridMap::new(&scan, &following([3.0; 3], Some([200, 200, 200])));
        assert_eq!(map.size, [101, 129, 129]);
        assert_eq!(map.to_volume([0.0; 3]), [-0.5, -0.5, -0.5]);
        assert_eq!(map.to_volume([100.0, 128.0, 128.0]), [299.5, 511.5, 511.5]);
        // Capped at 96 slices: the centred window, 149.5 ∓ 47.5 · 3.
        let map = GridMap::new(&scan, &following([3.0; 3], Some([96, 200, 200])));
        assert_eq!(map.size, [96, 129, 129]);
        assert_eq!(map.to_volume([0.0; 3]), [7.0, -0.5, -0.5]);
        assert_eq!(map.to_volume([95.0, 128.0, 128.0]), [292.0, 511.5, 511.5]);
    }

    #[test]
    fn the_input_has_the_grid_of_the_scan() {
        // HU = 100 z on 7 slices × 5 × 5 of 1 mm, resampled to 3 mm: a 3 × 3 × 3 grid (z spans
        // 6 mm, ceil(6 / 3) + 1; y and x 4 mm, ceil(4 / 3) + 1). Grid z samples slices 0, 3 and 6
        // (HU 0, 300, 600); y and x sample 2 + (k - 1) · 3 = -1, 2, 5, only the middle inside.
        let v = volume(7, 5, 5, [1.0; 3], |z, _, _| (100 * z) as i16);
        let out = input_tensor(&v, &following([3.0; 3], Some([8; 3])));
        assert_eq!(out.len(), 27);
        for (i, value) in out.iter().enumerate() {
            let (k, j, l) = (i / 9, (i / 3) % 3, i % 3);
            let expected = if j == 1 && l == 1 { 300.0 * k as f64 } else { -1000.0 };
            assert!((to_hu(*value) - expected).abs() < 1e-3, "({k},{j},{l}) -> {} vs {expected}", to_hu(*value));
        }
    }
}
