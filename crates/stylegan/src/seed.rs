//! numpy's legacy `RandomState`, bit-exact: MT19937 seeded by `init_genrand`, 53-bit doubles, and the polar
//! Box–Muller Gaussian with its cached second value (`legacy_gauss`). Seed lists shared by artists must give
//! the same latents as the official `generate.py`:
//!
//! ```text
//! z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)).to(device)   # float64
//! ...
//! x = normalize_2nd_moment(z.to(torch.float32))                                     # MappingNetwork.forward
//! ```
//!
//! The official code draws float64 values and its mapping network casts them to float32 before any arithmetic,
//! so [`z_from_seed`] returns the float64 draws rounded to f32 (round to nearest, like `Tensor.to(float32)`).
//! No dependency on burn: plain Rust.

/// Words of MT19937 state.
const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's legacy random state (`np.random.RandomState`), for integer seeds.
#[derive(Clone)]
pub struct RandomState {
    mt: [u32; N],
    pos: usize,
    /// The second value of the last polar Box–Muller pair, returned by the next `standard_normal`.
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .field("gauss", &self.gauss)
            .finish()
    }
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed (numpy accepts 0..=2**32-1: every `u32`).
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState {
            mt,
            pos: N,
            gauss: None,
        }
    }

    fn generate(&mut self) {
        let mag = |y: u32| if y & 1 == 1 { MATRIX_A } else { 0 };
        for k in 0..N {
            let y = (self.mt[k] & UPPER_MASK) | (self.mt[(k + 1) % N] & LOWER_MASK);
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag(y);
        }
        self.pos = 0;
    }

    /// Next 32-bit output of MT19937 (tempered).
    pub fn random_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in [0, 1) from two outputs, `((a >> 5) * 2^26 + (b >> 6)) / 2^53`.
    pub fn random_f64(&mut self) -> f64 {
        let a = (self.random_u32() >> 5) as f64;
        let b = (self.random_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()` of the legacy generator: polar Box–Muller; each accepted pair gives `f * x2` now
    /// and `f * x1` at the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_f64() - 1.0;
            let x2 = 2.0 * self.random_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `randn(n)`: `n` standard normals in order (C order for `randn(a, b)` too).
    pub fn randn(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.standard_normal()).collect()
    }
}

/// The official latent of a seed: `RandomState(seed).randn(1, z_dim)` rounded to f32 (see the module docs).
pub fn z_from_seed(seed: u32, z_dim: usize) -> Vec<f32> {
    RandomState::new(seed)
        .randn(z_dim)
        .into_iter()
        .map(|x| x as f32)
        .collect()
}

#[cfg(test)]
// f32 references are written as Python printed them (the f64 repr of the f32), which parses to the exact f32.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    // Reference values from numpy 2.4.6 (Python 3.11, x86_64 Linux), e.g. for seed 0:
    //   python -c "import numpy as np; rs=np.random.RandomState(0); print(list(rs._bit_generator.random_raw(5)))"
    //   python -c "import numpy as np; print([repr(float(x)) for x in np.random.RandomState(0).random_sample(3)])"
    //   python -c "import numpy as np; print([repr(float(x)) for x in np.random.RandomState(0).standard_normal(5)])"
    //   python -c "import numpy as np; z=np.random.RandomState(0).randn(1,512).astype(np.float32);
    //              print([repr(float(x)) for x in z[0,:4]], repr(float(z[0,255])), repr(float(z[0,511])),
    //                    repr(sum(float(x) for x in z[0])))"
    struct Ref {
        seed: u32,
        u32s: [u32; 5],
        f64s: [f64; 3],
        normals: [f64; 5],
        z_first: [f32; 4],
        z_255: f32,
        z_511: f32,
        /// Sequential f64 sum of the 512 f32 values (left to right).
        z_sum: f64,
    }

    const REFS: [Ref; 4] = [
        Ref {
            seed: 0,
            u32s: [2357136044, 2546248239, 3071714933, 3626093760, 2588848963],
            f64s: [0.5488135039273248, 0.7151893663724195, 0.6027633760716439],
            normals: [
                1.764052345967664,
                0.4001572083672233,
                0.9787379841057392,
                2.240893199201458,
                1.8675579901499675,
            ],
            z_first: [
                1.764052391052246,
                0.40015721321105957,
                0.978738009929657,
                2.2408931255340576,
            ],
            z_255: 0.694749116897583,
            z_511: 1.3749641180038452,
            z_sum: -13.203225093195215,
        },
        Ref {
            seed: 1,
            u32s: [1791095845, 4282876139, 3093770124, 4005303368, 491263],
            f64s: [
                0.417022004702574,
                0.7203244934421581,
                0.00011437481734488664,
            ],
            normals: [
                1.6243453636632417,
                -0.6117564136500754,
                -0.5281717522634557,
                -1.0729686221561705,
                0.8654076293246785,
            ],
            z_first: [
                1.6243454217910767,
                -0.6117563843727112,
                -0.5281717777252197,
                -1.072968602180481,
            ],
            z_255: -1.0445894002914429,
            z_511: 0.19686977565288544,
            z_sum: 25.26683539780788,
        },
        Ref {
            seed: 42,
            u32s: [1608637542, 3421126067, 4083286876, 787846414, 3143890026],
            f64s: [0.3745401188473625, 0.9507143064099162, 0.7319939418114051],
            normals: [
                0.4967141530112327,
                -0.13826430117118466,
                0.6476885381006925,
                1.5230298564080254,
                -0.23415337472333597,
            ],
            z_first: [
                0.49671414494514465,
                -0.13826429843902588,
                0.6476885676383972,
                1.5230298042297363,
            ],
            z_255: -0.4842340648174286,
            z_511: -0.05023811012506485,
            z_sum: 2.2626309851184487,
        },
        Ref {
            seed: u32::MAX,
            u32s: [419326371, 479346978, 3918654476, 2416749639, 3388880820],
            f64s: [0.0976320289940138, 0.9123828453026218, 0.78903530185164],
            normals: [
                0.6484086742306527,
                0.6693235306338161,
                -1.0805437227474493,
                0.2845010447986309,
                0.11388773652167104,
            ],
            z_first: [
                0.6484086513519287,
                0.6693235039710999,
                -1.0805437564849854,
                0.2845010459423065,
            ],
            z_255: 1.1589730978012085,
            z_511: -0.16334505379199982,
            z_sum: 12.683985859388486,
        },
    ];

    #[test]
    fn raw_outputs_match_numpy() {
        for r in &REFS {
            let mut rs = RandomState::new(r.seed);
            let got: Vec<u32> = (0..5).map(|_| rs.random_u32()).collect();
            assert_eq!(got, r.u32s, "seed {}", r.seed);
        }
    }

    #[test]
    fn doubles_match_numpy_bit_for_bit() {
        for r in &REFS {
            let mut rs = RandomState::new(r.seed);
            for (i, want) in r.f64s.iter().enumerate() {
                assert_eq!(
                    rs.random_f64().to_bits(),
                    want.to_bits(),
                    "seed {} #{i}",
                    r.seed
                );
            }
        }
    }

    #[test]
    fn gaussians_match_numpy_bit_for_bit() {
        for r in &REFS {
            let mut rs = RandomState::new(r.seed);
            for (i, want) in r.normals.iter().enumerate() {
                assert_eq!(
                    rs.standard_normal().to_bits(),
                    want.to_bits(),
                    "seed {} #{i}",
                    r.seed
                );
            }
        }
    }

    #[test]
    fn z_for_z_dim_512_matches_numpy() {
        for r in &REFS {
            let z = z_from_seed(r.seed, 512);
            assert_eq!(z.len(), 512);
            assert_eq!(z[..4], r.z_first, "seed {}", r.seed);
            assert_eq!(z[255], r.z_255, "seed {}", r.seed);
            assert_eq!(z[511], r.z_511, "seed {}", r.seed);
            let sum = z.iter().fold(0.0f64, |a, &x| a + x as f64);
            assert_eq!(
                sum.to_bits(),
                r.z_sum.to_bits(),
                "seed {}: sum {sum}",
                r.seed
            );
        }
    }

    #[test]
    fn cached_gaussian_is_the_pair_partner() {
        // The second draw is the cached f*x1 of the first pair: a fresh state asked for one value and then
        // cloned must continue with the cached value, and randn(n) is n successive calls.
        let mut a = RandomState::new(7);
        let first = a.standard_normal();
        let mut b = a.clone();
        assert_eq!(a.standard_normal().to_bits(), b.standard_normal().to_bits());
        let mut c = RandomState::new(7);
        assert_eq!(c.randn(2)[0].to_bits(), first.to_bits());
        // z is a prefix-stable sequence: z_dim 4 is the start of z_dim 512
        assert_eq!(z_from_seed(3, 4)[..], z_from_seed(3, 512)[..4]);
    }
}
