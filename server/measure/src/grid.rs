//! The voxel grid: indices, neighbours, connected components, smoothing and shape statistics.

use crate::volume::VolumeView;

/// Index arithmetic and geometry of a volume, in voxel-index space with millimetre spacing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid<'a> {
    pub view: VolumeView<'a>,
    pub nz: usize,
    pub ny: usize,
    pub nx: usize,
    /// Spacing (mm) along z, y, x.
    pub s: [f64; 3],
}

impl<'a> Grid<'a> {
    pub fn new(view: VolumeView<'a>) -> Grid<'a> {
        let [nz, ny, nx] = view.dims();
        Grid { view, nz, ny, nx, s: view.spacing() }
    }

    pub fn len(&self) -> usize {
        self.nz * self.ny * self.nx
    }

    pub fn hu(&self, i: usize) -> i16 {
        self.view.voxels()[i]
    }

    pub fn index(&self, [z, y, x]: [usize; 3]) -> usize {
        (z * self.ny + y) * self.nx + x
    }

    pub fn coords(&self, i: usize) -> [usize; 3] {
        let plane = self.ny * self.nx;
        [i / plane, i / self.nx % self.ny, i % self.nx]
    }

    /// The nearest voxel to a fractional index, if inside.
    pub fn nearest(&self, v: [f64; 3]) -> Option<usize> {
        let dims = [self.nz, self.ny, self.nx];
        let mut c = [0usize; 3];
        for a in 0..3 {
            let r = v[a].round();
            if !(r >= 0.0 && r < dims[a] as f64) {
                return None;
            }
            c[a] = r as usize;
        }
        Some(self.index(c))
    }

    /// Whether voxel `i` lies on a face of the volume.
    pub fn on_face(&self, i: usize) -> bool {
        let [z, y, x] = self.coords(i);
        z == 0 || y == 0 || x == 0 || z + 1 == self.nz || y + 1 == self.ny || x + 1 == self.nx
    }

    /// The 6-connected neighbours of `i` inside the volume.
    pub fn neighbours6(&self, i: usize) -> impl Iterator<Item = usize> + use<> {
        let [z, y, x] = self.coords(i);
        let (nz, ny, nx) = (self.nz, self.ny, self.nx);
        let plane = ny * nx;
        [
            (z > 0).then(|| i - plane),
            (z + 1 < nz).then(|| i + plane),
            (y > 0).then(|| i - nx),
            (y + 1 < ny).then(|| i + nx),
            (x > 0).then(|| i - 1),
            (x + 1 < nx).then(|| i + 1),
        ]
        .into_iter()
        .flatten()
    }

    /// Millimetre offset between two voxels along z, y, x (index axes).
    pub fn offset_mm(&self, a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        [(b[0] - a[0]) * self.s[0], (b[1] - a[1]) * self.s[1], (b[2] - a[2]) * self.s[2]]
    }

    pub fn distance_mm(&self, a: [f64; 3], b: [f64; 3]) -> f64 {
        let d = self.offset_mm(a, b);
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    pub fn fcoords(&self, i: usize) -> [f64; 3] {
        self.coords(i).map(|c| c as f64)
    }

    /// The largest voxel dimension.
    pub fn coarsest(&self) -> f64 {
        self.s.iter().copied().fold(0.0, f64::max)
    }

    /// The in-plane pixel size (the larger of y and x).
    pub fn pixel(&self) -> f64 {
        self.s[1].max(self.s[2])
    }

    pub fn voxel_volume(&self) -> f64 {
        self.s[0] * self.s[1] * self.s[2]
    }

    /// Calls `each` on every 6-connected component of the voxels where `inside` holds (in
    /// index order of their first voxel), with its voxels. Visits every voxel once.
    pub fn components(&self, inside: impl Fn(usize) -> bool, mut each: impl FnMut(&[u32])) {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<u32> = Vec::new();
        let mut voxels: Vec<u32> = Vec::new();
        for start in 0..self.len() {
            if seen[start] || !inside(start) {
                continue;
            }
            seen[start] = true;
            stack.push(start as u32);
            voxels.clear();
            while let Some(i) = stack.pop() {
                voxels.push(i);
                for n in self.neighbours6(i as usize) {
                    if !seen[n] && inside(n) {
                        seen[n] = true;
                        stack.push(n as u32);
                    }
                }
            }
            each(&voxels);
        }
    }

    /// The 6-connected region of voxels where `inside` holds, grown from `seed`; the growth
    /// stops (and the result is flagged) once it holds `limit` voxels.
    pub fn grow(&self, seed: usize, inside: impl Fn(usize) -> bool, limit: usize) -> (Vec<u32>, bool) {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![seed as u32];
        let mut voxels = Vec::new();
        seen.insert(seed as u32);
        while let Some(i) = stack.pop() {
            voxels.push(i);
            if voxels.len() >= limit {
                return (voxels, true);
            }
            for n in self.neighbours6(i as usize) {
                if inside(n) && seen.insert(n as u32) {
                    stack.push(n as u32);
                }
            }
        }
        (voxels, false)
    }

    /// The 3 × 3 × 3 box mean of the HU (edges clamped), in f32.
    pub fn smoothed(&self) -> Vec<f32> {
        let mut a: Vec<f32> = self.view.voxels().iter().map(|&v| f32::from(v)).collect();
        let mut b = vec![0f32; a.len()];
        let strides = [self.ny * self.nx, self.nx, 1];
        let dims = [self.nz, self.ny, self.nx];
        for axis in 0..3 {
            let (stride, n) = (strides[axis], dims[axis]);
            for (i, out) in b.iter_mut().enumerate() {
                let c = i / stride % n;
                let lo = if c > 0 { i - stride } else { i };
                let hi = if c + 1 < n { i + stride } else { i };
                *out = (a[lo] + a[i] + a[hi]) / 3.0;
            }
            std::mem::swap(&mut a, &mut b);
        }
        a
    }
}

/// Shape statistics of a set of voxels.
#[derive(Debug, Clone)]
pub(crate) struct ShapeStats {
    /// Centroid, fractional voxel index.
    pub centroid: [f64; 3],
    /// Axial (in-plane) long and short axes, mm: principal extents of the voxel boxes.
    pub axial_long: f64,
    pub axial_short: f64,
}

impl ShapeStats {
    /// Second moments of the union of the voxel boxes: a solid ellipsoid of semi-axis a has
    /// variance a²/5 along it, so each principal axis is 2·√(5λ); the axes are then scaled
    /// together so that their ellipsoid has the voxels' volume.
    pub fn of(grid: &Grid<'_>, voxels: &[u32]) -> ShapeStats {
        let n = voxels.len().max(1) as f64;
        let mut mean = [0.0; 3];
        for &i in voxels {
            let c = grid.coords(i as usize);
            for a in 0..3 {
                mean[a] += c[a] as f64;
            }
        }
        mean = mean.map(|m| m / n);
        let mut cov = [[0.0; 3]; 3];
        for &i in voxels {
            let c = grid.fcoords(i as usize);
            let d = [0, 1, 2].map(|a| (c[a] - mean[a]) * grid.s[a]);
            for r in 0..3 {
                for q in 0..3 {
                    cov[r][q] += d[r] * d[q];
                }
            }
        }
        for (r, row) in cov.iter_mut().enumerate() {
            for v in row.iter_mut() {
                *v /= n;
            }
            row[r] += grid.s[r] * grid.s[r] / 12.0;
        }
        let axis = |lambda: f64| 2.0 * (5.0 * lambda.max(0.0)).sqrt();
        let (l1, l2) = eigen2(cov[1][1], cov[1][2], cov[2][2]);
        let mut e = eigen3(cov);
        e.sort_by(|a, b| b.total_cmp(a));
        let axes = e.map(axis);
        // The moments give the shape; the voxel count (an unbiased estimate of the volume)
        // gives the scale.
        let ellipsoid = std::f64::consts::PI / 6.0 * axes[0] * axes[1] * axes[2];
        let scale = if ellipsoid > 0.0 { (voxels.len() as f64 * grid.voxel_volume() / ellipsoid).cbrt() } else { 1.0 };
        ShapeStats { centroid: mean, axial_long: scale * axis(l1), axial_short: scale * axis(l2) }
    }
}

/// Eigenvalues (larger first) of the symmetric 2 × 2 matrix [[a, b], [b, c]].
fn eigen2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let m = (a + c) / 2.0;
    let d = (((a - c) / 2.0).powi(2) + b * b).sqrt();
    (m + d, m - d)
}

/// Eigenvalues of a symmetric 3 × 3 matrix (trigonometric solution).
fn eigen3(m: [[f64; 3]; 3]) -> [f64; 3] {
    let p1 = m[0][1].powi(2) + m[0][2].powi(2) + m[1][2].powi(2);
    if p1 < 1e-12 {
        return [m[0][0], m[1][1], m[2][2]];
    }
    let q = (m[0][0] + m[1][1] + m[2][2]) / 3.0;
    let p2 = (m[0][0] - q).powi(2) + (m[1][1] - q).powi(2) + (m[2][2] - q).powi(2) + 2.0 * p1;
    let p = (p2 / 6.0).sqrt();
    let b: [[f64; 3]; 3] =
        std::array::from_fn(|r| std::array::from_fn(|c| (m[r][c] - if r == c { q } else { 0.0 }) / p));
    let det = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) - b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0])
        + b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
    let r = (det / 2.0).clamp(-1.0, 1.0);
    let phi = r.acos() / 3.0;
    let e1 = q + 2.0 * p * phi.cos();
    let e3 = q + 2.0 * p * (phi + 2.0 * std::f64::consts::PI / 3.0).cos();
    [e1, 3.0 * q - e1 - e3, e3]
}

/// The longest axial diameter (mm) of a set of voxels: the largest distance between two voxel
/// centres on one slice, plus one pixel (the centres stop half a pixel inside each edge).
pub(crate) fn axial_feret(grid: &Grid<'_>, voxels: &[u32]) -> f64 {
    let mut by_slice: std::collections::BTreeMap<usize, Vec<[f64; 2]>> = std::collections::BTreeMap::new();
    let set: std::collections::HashSet<u32> = voxels.iter().copied().collect();
    for &i in voxels {
        let [z, y, x] = grid.coords(i as usize);
        // Only edge pixels can be the farthest apart.
        let inner = y > 0
            && x > 0
            && y + 1 < grid.ny
            && x + 1 < grid.nx
            && [i - grid.nx as u32, i + grid.nx as u32, i - 1, i + 1].iter().all(|n| set.contains(n));
        if !inner {
            by_slice.entry(z).or_default().push([y as f64 * grid.s[1], x as f64 * grid.s[2]]);
        }
    }
    let mut best: f64 = 0.0;
    for points in by_slice.values() {
        let stride = points.len().div_ceil(2000).max(1);
        for (k, a) in points.iter().enumerate().step_by(stride) {
            for b in points[k..].iter().step_by(stride) {
                best = best.max(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt());
            }
        }
    }
    if voxels.is_empty() { 0.0 } else { best + grid.pixel() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_known_matrices() {
        let mut e = eigen3([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]);
        e.sort_by(|a, b| b.total_cmp(a));
        for (got, want) in e.iter().zip([5.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{e:?}");
        }
        let (a, b) = eigen2(4.0, 0.0, 1.0);
        assert_eq!((a, b), (4.0, 1.0));
    }

    #[test]
    fn shape_of_a_voxelised_ellipsoid() {
        // Semi-axes 12 (x), 6 (y), 9 (z) mm on a 1 x 0.5 x 0.5 mm grid.
        let (nz, ny, nx) = (30, 40, 60);
        let s = [1.0, 0.5, 0.5];
        let mut v = vec![-100i16; nz * ny * nx];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let p = [(z as f64 - 15.0) * s[0], (y as f64 - 20.0) * s[1], (x as f64 - 30.0) * s[2]];
                    if (p[0] / 9.0).powi(2) + (p[1] / 6.0).powi(2) + (p[2] / 12.0).powi(2) <= 1.0 {
                        v[(z * ny + y) * nx + x] = 40;
                    }
                }
            }
        }
        let view = VolumeView::new(&v, [nz, ny, nx], s, [0.0; 3], [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
            .expect("a view");
        let grid = Grid::new(view);
        let mut found = Vec::new();
        grid.components(|i| grid.hu(i) > 0, |c| found.push(c.to_vec()));
        assert_eq!(found.len(), 1);
        let stats = ShapeStats::of(&grid, &found[0]);
        assert!((stats.axial_long - 24.0).abs() < 0.5, "{stats:?}");
        assert!((stats.axial_short - 12.0).abs() < 0.5, "{stats:?}");
        assert!((axial_feret(&grid, &found[0]) - 24.0).abs() <= 0.5);
        let smooth = grid.smoothed();
        assert_eq!(smooth.len(), v.len());
        assert_eq!(smooth[0], -100.0);
    }
}
