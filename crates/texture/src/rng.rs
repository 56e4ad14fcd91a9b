//! The texture generator: the shared SplitMix64 stream, so the same seed gives the same texture everywhere.

use bestiary_rng::{SplitMix64, GOLDEN_GAMMA};

/// SplitMix64 with uniform and Gaussian draws.
#[derive(Clone, Debug)]
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::from_state(seed ^ GOLDEN_GAMMA))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0.unit()
    }
    /// Uniform integer in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        self.0.normal()
    }
}
