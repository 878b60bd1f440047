//! Patch-based sliding-window inference, as nnU-Net-class models need it: the volume is tiled by
//! patches of the network's size that overlap by a fraction, each patch is predicted (in
//! batches, optionally averaged over mirrored copies), and the predictions are blended into one
//! pre-allocated buffer per output with an importance weight per voxel of the patch (a Gaussian
//! centred on the patch, so that a voxel's value comes mostly from the patches it is central
//! in), then divided by the summed weights.
//!
//! The tiling and blending are MONAI's `sliding_window_inference` (monai.inferers.utils, with
//! `compute_importance_map` and `dense_patch_slices` of monai.data.utils), which nnU-Net's
//! predictor follows too, reimplemented here and checked against MONAI's own output on the
//! same ONNX network and tensor (`tests/sliding_window.rs`, fixtures made by MONAI):
//! - the scan interval along an axis is `int(patch · (1 - overlap))` (at least 1), or the patch
//!   itself when the patch equals the image along that axis;
//! - windows start at multiples of the interval until one reaches the end; the last is moved
//!   back to end exactly at the image's edge;
//! - an axis shorter than the patch is padded with zeros, `(patch - size) / 2` before (rounded
//!   down) and the rest after, and the padding is cut off the output;
//! - the Gaussian weight is the product of one 1-D Gaussian per axis, centred at
//!   `(patch - 1) / 2` with sigma `sigma_scale · patch` (nnU-Net and MONAI use 1/8), clamped
//!   below to its smallest value or 1e-3, whichever is larger, so that no voxel weighs nothing.
//!
//! Mirroring (test-time augmentation) averages, for each patch, the predictions of every
//! mirrored copy (each subset of the mirror axes, the unmirrored one included), each mirrored
//! back, as nnU-Net does.

use std::fmt;

/// How each patch's prediction is weighted in the blend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blend {
    /// Every voxel of a patch weighs the same.
    Constant,
    /// A Gaussian centred on the patch (nnU-Net's default).
    Gaussian,
}

/// A sliding window over a `[z, y, x]` volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Patch size, z, y, x (voxels).
    pub patch: [usize; 3],
    /// Fraction of a patch that overlaps the next, in [0, 1).
    pub overlap: f64,
    pub blend: Blend,
    /// Gaussian sigma as a fraction of the patch size.
    pub sigma_scale: f64,
    /// Spatial axes mirrored for test-time augmentation (0 = z, 1 = y, 2 = x); empty for none.
    pub mirror_axes: Vec<usize>,
    /// Patches per network call.
    pub batch: usize,
}

/// Why a window cannot tile a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowError(pub String);

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WindowError {}

impl Window {
    /// The window's own consistency: a patch, an overlap below 1, a positive sigma, distinct
    /// spatial mirror axes, a batch.
    pub fn check(&self) -> Result<(), WindowError> {
        if self.patch.contains(&0) {
            return Err(WindowError("the patch size must be at least 1 voxel along each axis".into()));
        }
        if !(self.overlap.is_finite() && (0.0..1.0).contains(&self.overlap)) {
            return Err(WindowError("overlap must be at least 0 and below 1".into()));
        }
        if !(self.sigma_scale.is_finite() && self.sigma_scale > 0.0) {
            return Err(WindowError("sigma_scale must be positive".into()));
        }
        let mut seen = [false; 3];
        for &axis in &self.mirror_axes {
            if axis > 2 || seen[axis] {
                return Err(WindowError("mirror axes are distinct spatial axes: 0 (z), 1 (y), 2 (x)".into()));
            }
            seen[axis] = true;
        }
        if self.batch == 0 {
            return Err(WindowError("the batch must hold at least one patch".into()));
        }
        Ok(())
    }
}

/// The scan interval along one axis (MONAI's `_get_scan_interval`).
pub fn scan_interval(image: usize, patch: usize, overlap: f64) -> usize {
    if patch == image {
        return patch;
    }
    // `int()` in MONAI: truncation toward zero.
    ((patch as f64 * (1.0 - overlap)) as usize).max(1)
}

/// The window starts along one axis of an image at least as long as the patch (MONAI's
/// `dense_patch_slices`): multiples of the interval until a window reaches the end, the last
/// moved back to end at the edge.
pub fn starts(image: usize, patch: usize, interval: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut index = 0;
    loop {
        let start = index * interval;
        let end_reached = start + patch >= image;
        starts.push(start - (start + patch).saturating_sub(image));
        if end_reached {
            return starts;
        }
        index += 1;
    }
}

/// The importance weight of each voxel of a patch, z-major.
pub fn importance_map(patch: [usize; 3], blend: Blend, sigma_scale: f64) -> Vec<f32> {
    let size = patch.iter().product();
    match blend {
        Blend::Constant => vec![1.0; size],
        Blend::Gaussian => {
            let axis = |n: usize| -> Vec<f32> {
                let sigma = (n as f64 * sigma_scale) as f32;
                (0..n)
                    .map(|i| {
                        let x = i as f32 - (n as f32 - 1.0) / 2.0;
                        (x * x / (-2.0 * sigma * sigma)).exp()
                    })
                    .collect()
            };
            let (gz, gy, gx) = (axis(patch[0]), axis(patch[1]), axis(patch[2]));
            let mut map = Vec::with_capacity(size);
            for z in &gz {
                for y in &gy {
                    for x in &gx {
                        map.push(z * y * x);
                    }
                }
            }
            let floor = map.iter().copied().fold(f32::INFINITY, f32::min).max(1e-3);
            map.iter_mut().for_each(|w| *w = w.max(floor));
            map
        }
    }
}

/// Every window start, z-major over the three axes (the order MONAI visits them), for a volume
/// already padded to at least the patch along each axis.
pub fn window_starts(shape: [usize; 3], window: &Window) -> Vec<[usize; 3]> {
    let per_axis: Vec<Vec<usize>> = (0..3)
        .map(|a| starts(shape[a], window.patch[a], scan_interval(shape[a], window.patch[a], window.overlap)))
        .collect();
    let mut all = Vec::new();
    for &z in &per_axis[0] {
        for &y in &per_axis[1] {
            for &x in &per_axis[2] {
                all.push([z, y, x]);
            }
        }
    }
    all
}

/// Zero padding before each axis so that every axis is at least the patch long.
pub fn padding_before(shape: [usize; 3], patch: [usize; 3]) -> [usize; 3] {
    std::array::from_fn(|a| patch[a].saturating_sub(shape[a]) / 2)
}

/// The smallest box holding every voxel above `threshold`: its first voxel and its size, z, y,
/// x; `None` when no voxel is.
pub fn bounding_box(volume: &[f32], shape: [usize; 3], threshold: f32) -> Option<([usize; 3], [usize; 3])> {
    let mut low = shape;
    let mut high = [0usize; 3];
    let mut any = false;
    for z in 0..shape[0] {
        for y in 0..shape[1] {
            let row = &volume[(z * shape[1] + y) * shape[2]..(z * shape[1] + y + 1) * shape[2]];
            let (Some(first), Some(last)) =
                (row.iter().position(|v| *v > threshold), row.iter().rposition(|v| *v > threshold))
            else {
                continue;
            };
            any = true;
            low = [low[0].min(z), low[1].min(y), low[2].min(first)];
            high = [high[0].max(z), high[1].max(y), high[2].max(last)];
        }
    }
    any.then(|| (low, std::array::from_fn(|a| high[a] - low[a] + 1)))
}

/// The box `start`, `size` of `volume`, z-major.
pub fn crop(volume: &[f32], shape: [usize; 3], start: [usize; 3], size: [usize; 3]) -> Vec<f32> {
    let mut out = Vec::with_capacity(size.iter().product());
    for z in start[0]..start[0] + size[0] {
        for y in start[1]..start[1] + size[1] {
            let at = (z * shape[1] + y) * shape[2] + start[2];
            out.extend_from_slice(&volume[at..at + size[2]]);
        }
    }
    out
}

/// Runs `predict` over `volume` (`shape` z, y, x, z-major) by sliding window and returns the
/// blended prediction, `channels` × z × y × x. `predict` gets `n` patches one after another
/// (each patch z-major) and returns their predictions, `n` × `channels` × patch voxels.
///
/// Blending runs on a thread of its own, one batch behind: while it adds batch k's predictions
/// into the sums, this thread cuts out batch k + 1 and runs the network on it, so that the
/// network (a GPU above all) waits for the CPU's share only once, at the end.
pub fn infer<E: From<WindowError>>(
    volume: &[f32],
    shape: [usize; 3],
    channels: usize,
    window: &Window,
    mut predict: impl FnMut(&[f32], usize) -> Result<Vec<f32>, E>,
) -> Result<Vec<f32>, E> {
    window.check()?;
    if volume.len() != shape.iter().product::<usize>() || shape.contains(&0) || channels == 0 {
        return Err(WindowError(format!("a volume of {} values is not {shape:?}", volume.len())).into());
    }
    let patch = window.patch;
    let before = padding_before(shape, patch);
    let padded: [usize; 3] = std::array::from_fn(|a| shape[a].max(patch[a]));
    let patch_voxels: usize = patch.iter().product();
    let starts = window_starts(padded, window);
    let mut blend = Blending::new(patch, padded, channels, window);

    let (sum, weight_sum) = std::thread::scope(|scope| -> Result<_, E> {
        // One batch in flight between the threads: memory stays at two batches' predictions.
        let (to_blender, batches) = std::sync::mpsc::sync_channel::<(&[[usize; 3]], Vec<f32>)>(1);
        let blender = scope.spawn(move || {
            for (chunk, predicted) in batches {
                blend.add(chunk, &predicted);
            }
            blend
        });
        let mut batch = Vec::with_capacity(window.batch * patch_voxels);
        let mut outcome = Ok(());
        for chunk in starts.chunks(window.batch) {
            batch.clear();
            for start in chunk {
                extract(volume, shape, before, *start, patch, &mut batch);
            }
            match predict_mirrored(&batch, chunk.len(), patch, channels, &window.mirror_axes, &mut predict) {
                // The blender only stops by panicking, which `join` below passes on.
                Ok(predicted) => {
                    if to_blender.send((chunk, predicted)).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        drop(to_blender);
        let blend = blender.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        outcome.map(|()| (blend.sum, blend.weight_sum))
    })?;

    // Divide by the weights and cut the padding off.
    let padded_voxels: usize = padded.iter().product();
    let voxels: usize = shape.iter().product();
    let mut output = vec![0.0f32; channels * voxels];
    for c in 0..channels {
        for z in 0..shape[0] {
            for y in 0..shape[1] {
                let from = ((z + before[0]) * padded[1] + y + before[1]) * padded[2] + before[2];
                let to = c * voxels + (z * shape[1] + y) * shape[2];
                for x in 0..shape[2] {
                    output[to + x] = sum[c * padded_voxels + from + x] / weight_sum[from + x];
                }
            }
        }
    }
    Ok(output)
}

/// The weighted sums of the predictions over the padded grid, and of the weights.
struct Blending {
    patch: [usize; 3],
    padded: [usize; 3],
    channels: usize,
    weights: Vec<f32>,
    sum: Vec<f32>,
    weight_sum: Vec<f32>,
}

impl Blending {
    fn new(patch: [usize; 3], padded: [usize; 3], channels: usize, window: &Window) -> Blending {
        let padded_voxels: usize = padded.iter().product();
        Blending {
            patch,
            padded,
            channels,
            weights: importance_map(patch, window.blend, window.sigma_scale),
            sum: vec![0.0; channels * padded_voxels],
            weight_sum: vec![0.0; padded_voxels],
        }
    }

    /// Adds the predictions of the patches at `starts` (padded coordinates), `starts.len()` ×
    /// channels × patch voxels, each weighted by the importance map.
    fn add(&mut self, starts: &[[usize; 3]], predicted: &[f32]) {
        let Blending { patch, padded, channels, .. } = *self;
        let patch_voxels: usize = patch.iter().product();
        let padded_voxels: usize = padded.iter().product();
        for (i, start) in starts.iter().enumerate() {
            let prediction = &predicted[i * channels * patch_voxels..(i + 1) * channels * patch_voxels];
            for z in 0..patch[0] {
                for y in 0..patch[1] {
                    let row = (z * patch[1] + y) * patch[2];
                    let at = ((start[0] + z) * padded[1] + start[1] + y) * padded[2] + start[2];
                    let weights = &self.weights[row..row + patch[2]];
                    for (s, w) in self.weight_sum[at..at + patch[2]].iter_mut().zip(weights) {
                        *s += w;
                    }
                    for c in 0..channels {
                        let out = &mut self.sum[c * padded_voxels + at..c * padded_voxels + at + patch[2]];
                        let input = &prediction[c * patch_voxels + row..c * patch_voxels + row + patch[2]];
                        for ((o, p), w) in out.iter_mut().zip(input).zip(weights) {
                            *o += p * w;
                        }
                    }
                }
            }
        }
    }
}

/// Copies the patch at `start` (in padded coordinates) out of the unpadded `volume`; voxels in
/// the padding are 0.
fn extract(
    volume: &[f32],
    shape: [usize; 3],
    before: [usize; 3],
    start: [usize; 3],
    patch: [usize; 3],
    into: &mut Vec<f32>,
) {
    for z in 0..patch[0] {
        for y in 0..patch[1] {
            for x in 0..patch[2] {
                let at = [start[0] + z, start[1] + y, start[2] + x];
                let inside = (0..3).all(|a| at[a] >= before[a] && at[a] - before[a] < shape[a]);
                into.push(if inside {
                    volume[((at[0] - before[0]) * shape[1] + at[1] - before[1]) * shape[2] + at[2] - before[2]]
                } else {
                    0.0
                });
            }
        }
    }
}

/// `n` patches predicted, averaged over every mirrored copy (each subset of `axes`), each copy's
/// prediction mirrored back.
fn predict_mirrored<E: From<WindowError>>(
    batch: &[f32],
    n: usize,
    patch: [usize; 3],
    channels: usize,
    axes: &[usize],
    predict: &mut impl FnMut(&[f32], usize) -> Result<Vec<f32>, E>,
) -> Result<Vec<f32>, E> {
    let expected = n * channels * patch.iter().product::<usize>();
    let mut call = |input: &[f32]| -> Result<Vec<f32>, E> {
        let output = predict(input, n)?;
        if output.len() != expected {
            return Err(WindowError(format!(
                "the network returned {} values for {n} patches of {channels} channels",
                output.len()
            ))
            .into());
        }
        Ok(output)
    };
    let mut mean = call(batch)?;
    if axes.is_empty() {
        return Ok(mean);
    }
    let copies = 1usize << axes.len();
    for subset in 1..copies {
        let flipped_axes: Vec<usize> = (0..axes.len()).filter(|i| subset & (1 << i) != 0).map(|i| axes[i]).collect();
        let flipped = flip(batch, n, patch, &flipped_axes);
        let back = flip(&call(&flipped)?, n * channels, patch, &flipped_axes);
        mean.iter_mut().zip(&back).for_each(|(m, p)| *m += p);
    }
    let scale = 1.0 / copies as f32;
    mean.iter_mut().for_each(|m| *m *= scale);
    Ok(mean)
}

/// `blocks` patches, each mirrored along `axes`.
fn flip(data: &[f32], blocks: usize, patch: [usize; 3], axes: &[usize]) -> Vec<f32> {
    let voxels: usize = patch.iter().product();
    let mut out = vec![0.0f32; data.len()];
    let mirrored = |i: usize, axis: usize| if axes.contains(&axis) { patch[axis] - 1 - i } else { i };
    for b in 0..blocks {
        let (from, to) = (&data[b * voxels..(b + 1) * voxels], &mut out[b * voxels..(b + 1) * voxels]);
        for z in 0..patch[0] {
            for y in 0..patch[1] {
                for x in 0..patch[2] {
                    let source = (mirrored(z, 0) * patch[1] + mirrored(y, 1)) * patch[2] + mirrored(x, 2);
                    to[(z * patch[1] + y) * patch[2] + x] = from[source];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn window(patch: [usize; 3], overlap: f64, blend: Blend, mirror_axes: Vec<usize>, batch: usize) -> Window {
        Window { patch, overlap, blend, sigma_scale: 0.125, mirror_axes, batch }
    }

    #[test]
    fn the_scan_interval_truncates_and_never_stops() {
        assert_eq!(scan_interval(37, 16, 0.5), 8);
        assert_eq!(scan_interval(45, 20, 0.25), 15);
        assert_eq!(scan_interval(50, 24, 0.25), 18);
        assert_eq!(scan_interval(16, 16, 0.5), 16, "a patch the image's size: one window");
        assert_eq!(scan_interval(10, 1, 0.5), 1, "int(0.5) is 0, and 0 would never move");
    }

    #[test]
    fn the_last_window_ends_at_the_edge() {
        // 0, 8, 16, then 24 would end at 40 > 37: moved back to 21.
        assert_eq!(starts(37, 16, 8), [0, 8, 16, 21]);
        assert_eq!(starts(45, 20, 15), [0, 15, 25]);
        assert_eq!(starts(32, 16, 8), [0, 8, 16], "16 + 16 = 32 reaches the end exactly");
        assert_eq!(starts(16, 16, 16), [0]);
    }

    #[test]
    fn the_gaussian_weights_are_the_product_of_one_gaussian_per_axis() {
        // Sigma 0.125 * 5 = 0.625: exp(-d^2 / (2 * 0.390625)) at d = 0, 1, 2.
        let map = importance_map([1, 1, 5], Blend::Gaussian, 0.125);
        let expected = [(-5.12f64).exp(), (-1.28f64).exp(), 1.0, (-1.28f64).exp(), (-5.12f64).exp()];
        for (w, e) in map.iter().zip(expected) {
            assert!((f64::from(*w) - e).abs() < 1e-6, "{map:?}");
        }
        // Even sizes have no centre voxel: the peak is below 1, at (n - 1) / 2 = 0.5.
        let even = importance_map([1, 1, 2], Blend::Gaussian, 0.125);
        assert!((f64::from(even[0]) - (-0.25f64 / 0.125).exp()).abs() < 1e-6, "{even:?}");
        // The clamp: nothing below 1e-3 (sigma 0.125 * 16 = 2: the corners are far out).
        let map = importance_map([16, 16, 16], Blend::Gaussian, 0.125);
        assert!(map.iter().all(|w| *w >= 1e-3));
        assert_eq!(importance_map([2, 2, 2], Blend::Constant, 0.125), vec![1.0; 8]);
    }

    #[test]
    fn mirroring_averages_the_mirrored_copies() {
        // A network that answers each voxel's x index within its patch: mirrored along x it
        // answers 3 - x, mirrored back the same, so the mean is 1.5 everywhere (patch x = 4).
        let volume = vec![0.0f32; 4 * 4 * 4];
        let w = window([4, 4, 4], 0.0, Blend::Constant, vec![2], 1);
        let position = |_: &[f32], n: usize| -> Result<Vec<f32>, WindowError> {
            Ok((0..n * 64).map(|i| (i % 4) as f32).collect())
        };
        let out = infer(&volume, [4, 4, 4], 1, &w, position).expect("infers");
        assert!(out.iter().all(|v| (v - 1.5).abs() < 1e-6), "{out:?}");
        // Without mirroring the x index itself comes back.
        let w = window([4, 4, 4], 0.0, Blend::Constant, vec![], 1);
        let out = infer(&volume, [4, 4, 4], 1, &w, position).expect("infers");
        assert_eq!(&out[..4], &[0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn bad_windows_and_wrong_network_outputs_are_refused() {
        let volume = vec![0.0f32; 8];
        let echo = |p: &[f32], _: usize| -> Result<Vec<f32>, WindowError> { Ok(p.to_vec()) };
        for w in [
            window([0, 2, 2], 0.5, Blend::Gaussian, vec![], 1),
            window([2, 2, 2], 1.0, Blend::Gaussian, vec![], 1),
            window([2, 2, 2], 0.5, Blend::Gaussian, vec![3], 1),
            window([2, 2, 2], 0.5, Blend::Gaussian, vec![1, 1], 1),
            window([2, 2, 2], 0.5, Blend::Gaussian, vec![], 0),
        ] {
            assert!(infer(&volume, [2, 2, 2], 1, &w, echo).is_err(), "{w:?}");
        }
        let w = window([2, 2, 2], 0.5, Blend::Gaussian, vec![], 1);
        assert!(infer(&volume, [2, 2, 3], 1, &w, echo).is_err(), "8 values are not 2 x 2 x 3");
        let short = |_: &[f32], _: usize| -> Result<Vec<f32>, WindowError> { Ok(vec![0.0; 3]) };
        assert!(infer(&volume, [2, 2, 2], 1, &w, short).is_err());
    }

    #[test]
    fn the_bounding_box_holds_every_voxel_above_the_threshold() {
        let mut volume = vec![0.0f32; 4 * 5 * 6];
        assert_eq!(bounding_box(&volume, [4, 5, 6], 0.25), None, "a blank volume has no body");
        let at = |z: usize, y: usize, x: usize| (z * 5 + y) * 6 + x;
        volume[at(1, 2, 3)] = 0.9;
        volume[at(2, 4, 1)] = 0.3;
        volume[at(3, 0, 5)] = 0.25; // at the threshold: outside
        assert_eq!(bounding_box(&volume, [4, 5, 6], 0.25), Some(([1, 2, 1], [2, 3, 3])));
        let cropped = crop(&volume, [4, 5, 6], [1, 2, 1], [2, 3, 3]);
        assert_eq!(cropped.len(), 18);
        assert_eq!((cropped[2], cropped[3 * 3 + 2 * 3]), (0.9, 0.3));
    }

    #[test]
    fn a_network_failing_midway_stops_the_window_with_its_error() {
        // 4³ patches over a 4 × 4 × 12 volume without overlap: three batches of one patch.
        let w = window([4, 4, 4], 0.0, Blend::Constant, Vec::new(), 1);
        let volume = vec![0.5f32; 4 * 4 * 12];
        let mut calls = 0;
        let failing = |p: &[f32], _: usize| -> Result<Vec<f32>, WindowError> {
            calls += 1;
            if calls == 2 { Err(WindowError("the device went away".into())) } else { Ok(p.to_vec()) }
        };
        let error = infer(&volume, [4, 4, 12], 1, &w, failing).expect_err("the second batch fails");
        assert_eq!(error.to_string(), "the device went away");
        assert_eq!(calls, 2, "no batch after the failure");
    }

    proptest! {
        /// Blending is a weighted mean of the patches covering a voxel, so a network that
        /// answers its input (two channels: the input and the input plus one) gives the volume
        /// back, whatever the tiling, padding, weights, mirroring and batch.
        #[test]
        fn an_echoing_network_gives_the_volume_back(
            shape in proptest::array::uniform3(1usize..12),
            patch in proptest::array::uniform3(1usize..9),
            overlap in 0.0f64..0.9,
            gaussian in any::<bool>(),
            mirror in proptest::collection::vec(any::<bool>(), 3),
            batch in 1usize..5,
        ) {
            let voxels: usize = shape.iter().product();
            let volume: Vec<f32> = (0..voxels).map(|i| (i as f32 * 0.37).sin()).collect();
            let blend = if gaussian { Blend::Gaussian } else { Blend::Constant };
            let axes: Vec<usize> = (0..3).filter(|a| mirror[*a]).collect();
            let w = window(patch, overlap, blend, axes, batch);
            let patch_voxels: usize = patch.iter().product();
            let echo = |p: &[f32], n: usize| -> Result<Vec<f32>, WindowError> {
                let mut out = Vec::with_capacity(2 * p.len());
                for i in 0..n {
                    let one = &p[i * patch_voxels..(i + 1) * patch_voxels];
                    out.extend_from_slice(one);
                    out.extend(one.iter().map(|v| v + 1.0));
                }
                Ok(out)
            };
            let out = infer(&volume, shape, 2, &w, echo).expect("infers");
            for (i, v) in volume.iter().enumerate() {
                prop_assert!((out[i] - v).abs() < 1e-4, "voxel {i}: {} for {v}", out[i]);
                prop_assert!((out[voxels + i] - v - 1.0).abs() < 1e-4);
            }
        }
    }
}
