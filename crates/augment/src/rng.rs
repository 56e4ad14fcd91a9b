//! A tiny deterministic random number generator for augmentation parameters.
//!
//! Parameters are drawn on the CPU in f64, independently of the backend's RNG, so that the same
//! seed gives bit-identical choices on every backend and machine.

use bestiary_rng::{mix64, SplitMix64, GOLDEN_GAMMA};

/// The shared SplitMix64 stream, seeded per sample.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    stream: SplitMix64,
}

impl Rng {
    /// The stream of sample `index` under `seed`: every sample gets its own independent stream,
    /// so a sample's parameters do not depend on the batch size or on the other samples.
    pub(crate) fn for_sample(seed: u64, index: u64) -> Self {
        let s = mix64(seed ^ 0x5EED_A06D_A7A0_0000)
            ^ mix64(index.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA));
        Rng {
            stream: SplitMix64::from_state(mix64(s)),
        }
    }

    #[cfg(test)]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.stream.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        self.stream.unit()
    }

    /// Standard normal by Box-Muller (one value per call; always consumes two uniforms).
    pub(crate) fn normal(&mut self) -> f64 {
        self.stream.normal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_right() {
        let mut r = Rng::for_sample(7, 3);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            su += u;
            let g = r.normal();
            sn += g;
            sn2 += g * g;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.005);
        assert!((sn / n).abs() < 0.01);
        assert!((sn2 / n - 1.0).abs() < 0.02);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|i| Rng::for_sample(1, i).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|i| Rng::for_sample(1, i).next_u64()).collect();
        assert_eq!(a, b);
        for i in 0..4 {
            for j in 0..i {
                assert_ne!(a[i], a[j]);
            }
        }
        assert_ne!(Rng::for_sample(2, 0).next_u64(), a[0]);
    }
}
