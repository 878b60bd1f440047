//! The body outline, slice by slice: where the patient is, the midline, and how deep a point
//! lies (its normalised radius in the body's cross-section).

use crate::grid::Grid;

/// Air outside the body and in the lungs lies below this (HU).
pub(crate) const AIR_HU: i16 = -500;
/// Aerated lung (and airway) lies below this; soft tissue, fat and bone above (HU).
pub(crate) const LUNG_HU: i16 = -400;

/// One slice's body cross-section, patient millimetres.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SliceBody {
    pub centre: [f64; 2],
    /// Half width (x) and half depth (y, from the posterior edge to the anterior edge at the
    /// midline, so that breasts do not count).
    pub half: [f64; 2],
    /// Fraction of the body's cross-section that is aerated lung.
    pub lung_fraction: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub slices: Vec<Option<SliceBody>>,
    /// Per voxel: air connected to the image edge in its slice.
    pub outside: Vec<bool>,
    /// Patient x of the body midline (median over slices).
    pub midline_x: f64,
}

impl Body {
    pub fn find(grid: &Grid<'_>) -> Body {
        let (ny, nx) = (grid.ny, grid.nx);
        let plane = ny * nx;
        let mut slices = Vec::with_capacity(grid.nz);
        let mut everywhere = vec![false; grid.len()];
        let mut outside = vec![false; plane];
        let mut stack: Vec<usize> = Vec::new();
        for z in 0..grid.nz {
            let base = z * plane;
            let air = |p: usize| grid.hu(base + p) < AIR_HU;
            outside.fill(false);
            for y in 0..ny {
                for x in 0..nx {
                    let edge = y == 0 || x == 0 || y + 1 == ny || x + 1 == nx;
                    let p = y * nx + x;
                    if edge && air(p) && !outside[p] {
                        outside[p] = true;
                        stack.push(p);
                    }
                }
            }
            while let Some(p) = stack.pop() {
                let (y, x) = (p / nx, p % nx);
                let near = [
                    (y > 0).then(|| p - nx),
                    (y + 1 < ny).then(|| p + nx),
                    (x > 0).then(|| p - 1),
                    (x + 1 < nx).then(|| p + 1),
                ];
                for q in near.into_iter().flatten() {
                    if !outside[q] && air(q) {
                        outside[q] = true;
                        stack.push(q);
                    }
                }
            }
            everywhere[base..base + plane].copy_from_slice(&outside);
            let mut xs = [f64::MAX, f64::MIN];
            let mut ys = [f64::MAX, f64::MIN];
            let (mut area, mut lung) = (0usize, 0usize);
            let mut points = Vec::new();
            for (p, _) in outside.iter().enumerate().filter(|(_, out)| !**out) {
                area += 1;
                if grid.hu(base + p) < LUNG_HU {
                    lung += 1;
                }
                let q = grid.view.voxel_to_patient([z as f64, (p / nx) as f64, (p % nx) as f64]);
                xs = [xs[0].min(q[0]), xs[1].max(q[0])];
                ys = [ys[0].min(q[1]), ys[1].max(q[1])];
                points.push([q[0], q[1]]);
            }
            if area < 16 {
                slices.push(None);
                continue;
            }
            let cx = (xs[0] + xs[1]) / 2.0;
            let hw = ((xs[1] - xs[0]) / 2.0).max(1.0);
            let strip = (0.1 * hw).max(grid.pixel());
            let anterior = points.iter().filter(|p| (p[0] - cx).abs() <= strip).map(|p| p[1]).fold(f64::MAX, f64::min);
            let anterior = if anterior == f64::MAX { ys[0] } else { anterior };
            let cy = (anterior + ys[1]) / 2.0;
            let hd = ((ys[1] - anterior) / 2.0).max(1.0);
            slices.push(Some(SliceBody { centre: [cx, cy], half: [hw, hd], lung_fraction: lung as f64 / area as f64 }));
        }
        let mut xs: Vec<f64> = slices.iter().flatten().map(|s| s.centre[0]).collect();
        xs.sort_by(f64::total_cmp);
        let midline_x = xs.get(xs.len() / 2).copied().unwrap_or(0.0);
        Body { slices, outside: everywhere, midline_x }
    }

    /// The body cross-section of slice `z`.
    pub fn slice(&self, z: usize) -> Option<&SliceBody> {
        self.slices.get(z).and_then(Option::as_ref)
    }

    /// How far out a patient point lies in its slice's cross-section: 0 at the centre, 1 on
    /// the outline (∞ without a body on that slice).
    pub fn radius(&self, z: usize, p: [f64; 3]) -> f64 {
        match self.slice(z) {
            Some(b) => (((p[0] - b.centre[0]) / b.half[0]).powi(2) + ((p[1] - b.centre[1]) / b.half[1]).powi(2)).sqrt(),
            None => f64::INFINITY,
        }
    }
}
