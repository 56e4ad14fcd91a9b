//! SplitMix64 (Steele, Lea and Flood, 2014): the one generator behind bestiary's seeded choices (engine
//! strokes, augmentation parameters, training noise, k-means starts, KID subsets, texture noise, patch
//! positions). Its output depends only on the seed and the order of calls, never on the platform.
//!
//! Each caller keeps its own seeding (how a seed, a step or an index becomes a state) and any draw with
//! a shape of its own: those constants are part of its golden images, so they stay where they are
//! documented. What is shared is the stream and the two draws everyone needs.

/// SplitMix64's output function, a bijective 64-bit mixer: neighbouring inputs give unrelated outputs.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The Weyl increment: the state advances by this (the golden ratio times 2^64) per draw.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The stream whose next draw is `mix64(state + GOLDEN_GAMMA)`: no mixing of the seed is done
    /// here, callers choose how a seed becomes a state.
    pub const fn from_state(state: u64) -> Self {
        SplitMix64 { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in [0, 1), from the top 53 bits (every value a multiple of 2^-53).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal by Box-Muller with the platform's `ln`/`cos`: two uniforms per value, the first
    /// flipped to (0, 1] so the logarithm is finite.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_reference_stream() {
        // The first outputs of the reference C implementation (splitmix64.c) seeded with 0.
        let mut r = SplitMix64::from_state(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
        assert_eq!(
            SplitMix64::from_state(1_234_567).next_u64(),
            6_457_827_717_110_365_317
        );
        assert_eq!(mix64(0), 0);
        assert_eq!(mix64(1), 0x5692_161D_100B_05E5);
    }

    #[test]
    fn unit_and_normal_have_the_right_moments() {
        let mut r = SplitMix64::from_state(11);
        let n = 100_000;
        let (mut su, mut sn, mut sn2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            su += u;
            let g = r.normal();
            assert!(g.is_finite());
            sn += g;
            sn2 += g * g;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.005, "{}", su / n);
        assert!((sn / n).abs() < 0.01, "{}", sn / n);
        assert!((sn2 / n - 1.0).abs() < 0.02, "{}", sn2 / n);
    }
}
