//! Deterministic pseudo-random numbers for the phantom: xoshiro256++ seeded through
//! SplitMix64 from the user's seed and a *stream* path (what the numbers are for: which
//! patient, which organ, which slice). Implemented here rather than taken from `rand` so
//! that the same seed gives the same phantom forever, whatever a dependency upgrade does,
//! and so that slices drawn in parallel do not depend on thread scheduling.

/// Stream tags: the first element of every stream path.
pub(crate) mod stream {
    pub const DEMOGRAPHICS: u64 = 1;
    pub const BODY: u64 = 2;
    pub const ORGAN: u64 = 3;
    pub const LESION: u64 = 4;
    pub const NOISE: u64 = 5;
    pub const NAMES: u64 = 6;
    /// Staging findings (`staging` module): lymph nodes, distant lesions.
    pub const NODE: u64 = 7;
    pub const DISTANT: u64 = 8;
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A xoshiro256++ generator with a cached second normal deviate (Box–Muller).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    /// The generator for `seed` and the stream `path` (e.g. `[stream::NOISE, patient, slice]`).
    pub fn for_stream(seed: u64, path: &[u64]) -> Rng {
        let mut h = seed ^ 0x656C_7973_6975_6D21; // "elysium!"
        let mut mixed = splitmix64(&mut h);
        for (i, &part) in path.iter().enumerate() {
            let mut st = mixed ^ part.wrapping_mul(GOLDEN).rotate_left(i as u32 + 1);
            mixed = splitmix64(&mut st);
        }
        let mut st = mixed;
        let s = [splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st)];
        Rng { s, spare_normal: None }
    }

    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s0.wrapping_add(*s3).rotate_left(23).wrapping_add(*s0);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi) (exactly `lo` when the range is empty).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Standard normal deviate (Box–Muller, both values used).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let (a, b) = self.normal_pair();
        self.spare_normal = Some(b);
        a
    }

    fn normal_pair(&mut self) -> (f64, f64) {
        // 1 - uniform() is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let radius = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        (radius * cos, radius * sin)
    }

    /// Fills `out` with standard normal deviates.
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        let mut pairs = out.chunks_exact_mut(2);
        for pair in &mut pairs {
            let (a, b) = self.normal_pair();
            pair[0] = a as f32;
            pair[1] = b as f32;
        }
        for last in pairs.into_remainder() {
            *last = self.normal_pair().0 as f32;
        }
    }

    /// A uniformly distributed unit vector.
    pub fn unit_vector(&mut self) -> [f64; 3] {
        let z = self.range(-1.0, 1.0);
        let phi = self.range(0.0, std::f64::consts::TAU);
        let r = (1.0 - z * z).max(0.0).sqrt();
        [r * phi.cos(), r * phi.sin(), z]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantom_rng_streams_are_deterministic_and_distinct() {
        let mut a = Rng::for_stream(7, &[stream::NOISE, 1, 2]);
        let mut b = Rng::for_stream(7, &[stream::NOISE, 1, 2]);
        let mut c = Rng::for_stream(7, &[stream::NOISE, 2, 1]);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn phantom_rng_normal_has_unit_moments() {
        let mut rng = Rng::for_stream(1, &[stream::NOISE]);
        let mut buf = vec![0f32; 200_001];
        rng.fill_normal(&mut buf);
        let n = buf.len() as f64;
        let mean = buf.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = buf.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        for _ in 0..1000 {
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(5) < 5);
        }
    }
}
