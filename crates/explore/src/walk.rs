//! Latent walks for videos: where each frame lies between keyframes, and the paths between them.
//!
//! Keyframe walks (lerp, slerp, spline) move through the keys in order, `frames` frames in all; with
//! `looped` they return towards the first key, the last frame one step before it, so the video repeats
//! without a seam (frame N would equal frame 0). Circle and noise walks are closed loops by construction.
//! Easing reshapes the time within each keyframe segment. Truncation may change along the video
//! ([`trunc_schedule`]).
//!
//! Everything here is host `f32` math on flat latents (Z vectors, or W vectors `[num_ws * w_dim]`), so it
//! is testable without a backend; mapping and rendering are the caller's.

use crate::{invalid, Result};
use bestiary_rng::SplitMix64;
use std::f64::consts::TAU;

/// The path between (or around) the keyframes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    /// Straight lines between consecutive keys.
    Lerp,
    /// Great-circle arcs between consecutive keys (about the origin in Z, about W's mean in W).
    Slerp,
    /// A uniform Catmull-Rom spline through every key (C1: no kink at the keys, passes exactly through them).
    Spline,
    /// A closed loop in the plane of two keys: `cos θ a + sin θ b`, through `a` (θ = 0) and `b` (θ = π/2).
    /// In Z with independent Gaussian seeds every point is again a standard Gaussian latent.
    Circle,
    /// A smooth random closed loop in Z (a few harmonics, amplitudes falling as 1/k), picked by the seeds;
    /// every point is a standard Gaussian latent. It does not pass through the seeds' own latents.
    Noise,
}

impl Interp {
    /// Closed by construction (circle, noise).
    pub fn is_loop(self) -> bool {
        matches!(self, Interp::Circle | Interp::Noise)
    }
    /// Where the path is laid by default: lerp and spline in W, the rest in Z.
    pub fn default_space(self) -> WalkSpace {
        match self {
            Interp::Lerp | Interp::Spline => WalkSpace::W,
            Interp::Slerp | Interp::Circle | Interp::Noise => WalkSpace::Z,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Interp::Lerp => "lerp",
            Interp::Slerp => "slerp",
            Interp::Spline => "spline",
            Interp::Circle => "circle",
            Interp::Noise => "noise",
        }
    }
}

impl std::str::FromStr for Interp {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "lerp" => Ok(Interp::Lerp),
            "slerp" => Ok(Interp::Slerp),
            "spline" => Ok(Interp::Spline),
            "circle" => Ok(Interp::Circle),
            "noise" => Ok(Interp::Noise),
            o => Err(format!(
                "unknown interpolation `{o}` (expected lerp, slerp, spline, circle or noise)"
            )),
        }
    }
}

/// Which latent space a walk is laid in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkSpace {
    Z,
    W,
}

impl std::str::FromStr for WalkSpace {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "z" => Ok(WalkSpace::Z),
            "w" => Ok(WalkSpace::W),
            o => Err(format!("unknown latent space `{o}` (expected z or w)")),
        }
    }
}

/// Time within each keyframe segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Easing {
    #[default]
    Linear,
    /// Smoothstep `3t² - 2t³`: starts and stops at each key with zero speed.
    EaseInOut,
}

impl Easing {
    pub fn apply(self, t: f32) -> f32 {
        match self {
            Easing::Linear => t,
            Easing::EaseInOut => self.apply_f64(t as f64) as f32,
        }
    }
    pub fn apply_f64(self, t: f64) -> f64 {
        match self {
            Easing::Linear => t,
            Easing::EaseInOut => {
                let t = t.clamp(0.0, 1.0);
                t * t * (3.0 - 2.0 * t)
            }
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Easing::Linear => "linear",
            Easing::EaseInOut => "ease-in-out",
        }
    }
}

impl std::str::FromStr for Easing {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "linear" => Ok(Easing::Linear),
            "ease-in-out" | "ease" => Ok(Easing::EaseInOut),
            o => Err(format!(
                "unknown easing `{o}` (expected linear or ease-in-out)"
            )),
        }
    }
}

/// For each of `frames` frames through `keys` keyframes: (from key, to key, t in [0, 1]). Without `looped`
/// the first frame is the first key and the last frame the last key (t = 1); with it the walk returns
/// towards the first key, the last frame one step before it, so the animation repeats seamlessly.
pub fn walk_positions(keys: usize, frames: usize, looped: bool) -> Vec<(usize, usize, f32)> {
    assert!(
        keys >= 1 && frames >= 1,
        "walk_positions: need keys and frames"
    );
    let segments = if looped { keys } else { keys - 1 };
    if segments == 0 {
        return vec![(0, 0, 0.0); frames];
    }
    (0..frames)
        .map(|i| {
            let pos = if looped {
                i as f64 * segments as f64 / frames as f64
            } else if frames == 1 {
                0.0
            } else {
                i as f64 * segments as f64 / (frames - 1) as f64
            };
            let seg = (pos.floor() as usize).min(segments - 1);
            let t = (pos - seg as f64) as f32;
            (seg, (seg + 1) % keys, t)
        })
        .collect()
}

/// [`walk_positions`] with `easing` applied to each segment's t.
pub fn eased_positions(
    keys: usize,
    frames: usize,
    looped: bool,
    easing: Easing,
) -> Vec<(usize, usize, f32)> {
    walk_positions(keys, frames, looped)
        .into_iter()
        .map(|(i, j, t)| (i, j, easing.apply(t)))
        .collect()
}

/// `(1 - t) a + t b`.
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (1.0 - t) * x + t * y)
        .collect()
}

/// Spherical interpolation between `a` and `b` (lerp when they are almost parallel).
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let dot = a
        .iter()
        .zip(b)
        .map(|(x, y)| *x as f64 * *y as f64)
        .sum::<f64>()
        / (na * nb).max(1e-30);
    let omega = dot.clamp(-1.0, 1.0).acos();
    if omega.sin().abs() < 1e-6 {
        return lerp(a, b, t);
    }
    let t = t as f64;
    let (ka, kb) = (
        ((1.0 - t) * omega).sin() / omega.sin(),
        (t * omega).sin() / omega.sin(),
    );
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (ka * x as f64 + kb * y as f64) as f32)
        .collect()
}

/// Uniform Catmull-Rom between `p1` (t = 0) and `p2` (t = 1), `p0` and `p3` the neighbours.
pub fn catmull_rom(p0: &[f32], p1: &[f32], p2: &[f32], p3: &[f32], t: f32) -> Vec<f32> {
    let t = t as f64;
    let (t2, t3) = (t * t, t * t * t);
    // Basis weights (sum to 1): the spline is an affine combination of the four points.
    let w0 = 0.5 * (-t3 + 2.0 * t2 - t);
    let w1 = 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0);
    let w2 = 0.5 * (-3.0 * t3 + 4.0 * t2 + t);
    let w3 = 0.5 * (t3 - t2);
    (0..p1.len())
        .map(|k| {
            (w0 * p0[k] as f64 + w1 * p1[k] as f64 + w2 * p2[k] as f64 + w3 * p3[k] as f64) as f32
        })
        .collect()
}

/// The spline through `keys` on the segment `from -> to` at `t`. Open walks repeat the end keys as
/// their own outer neighbours; looped ones wrap around.
pub fn spline_at(keys: &[Vec<f32>], from: usize, to: usize, t: f32, looped: bool) -> Vec<f32> {
    let n = keys.len();
    let prev = if looped {
        (from + n - 1) % n
    } else {
        from.saturating_sub(1)
    };
    let next = if looped {
        (to + 1) % n
    } else {
        (to + 1).min(n - 1)
    };
    catmull_rom(&keys[prev], &keys[from], &keys[to], &keys[next], t)
}

/// The closed loop `o + cos θ (a - o) + sin θ (b - o)` (`o` the origin when `None`).
pub fn circle_at(a: &[f32], b: &[f32], theta: f64, origin: Option<&[f32]>) -> Vec<f32> {
    let (c, s) = (theta.cos(), theta.sin());
    (0..a.len())
        .map(|k| {
            let o = origin.map_or(0.0, |o| o[k] as f64);
            (o + c * (a[k] as f64 - o) + s * (b[k] as f64 - o)) as f32
        })
        .collect()
}

/// Angles of `frames` frames around a closed loop: `2π i / frames` (frame `frames` would be frame 0).
pub fn loop_angles(frames: usize) -> Vec<f64> {
    (0..frames)
        .map(|i| TAU * i as f64 / frames as f64)
        .collect()
}

/// Harmonic `k`'s coefficient vectors of a noise loop.
pub struct NoiseLoop {
    /// `(amplitude, a_k, b_k)` for k = 1, 2, ...; the squared amplitudes sum to 1.
    pub harmonics: Vec<(f64, Vec<f64>, Vec<f64>)>,
}

/// The shared SplitMix64 stream (the noise loop's own, independent of numpy's).
struct SplitMix(SplitMix64);
impl SplitMix {
    /// Uniform in (0, 1]: the loop's pinned draw, shifted up by one step from the shared [0, 1).
    fn unit(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
    }
}

impl NoiseLoop {
    /// A loop in `dim` dimensions from `seeds`: one harmonic per seed (at least two), harmonic k drawn
    /// from seed k's stream, amplitudes ∝ 1/k.
    pub fn new(seeds: &[u32], dim: usize) -> Self {
        let n = seeds.len().max(2);
        let norm = (1..=n).map(|k| 1.0 / (k * k) as f64).sum::<f64>().sqrt();
        let harmonics = (1..=n)
            .map(|k| {
                let seed = seeds
                    .get((k - 1) % seeds.len().max(1))
                    .copied()
                    .unwrap_or(0) as u64;
                let mut rng = SplitMix(SplitMix64::from_state(
                    seed ^ ((k as u64) << 40) ^ 0x6e6f_6973_655f_6c70,
                ));
                let a = (0..dim).map(|_| rng.gauss()).collect();
                let b = (0..dim).map(|_| rng.gauss()).collect();
                (1.0 / k as f64 / norm, a, b)
            })
            .collect();
        NoiseLoop { harmonics }
    }

    /// The point at angle `theta` (period 2π): `Σ_k c_k (a_k cos kθ + b_k sin kθ)`.
    pub fn at(&self, theta: f64) -> Vec<f32> {
        let dim = self.harmonics.first().map_or(0, |h| h.1.len());
        let mut out = vec![0.0f64; dim];
        for (k, (c, a, b)) in self.harmonics.iter().enumerate() {
            let ph = (k + 1) as f64 * theta;
            let (ca, sb) = (c * ph.cos(), c * ph.sin());
            for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
                *o += ca * x + sb * y;
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }
}

/// How a video walks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalkSpec {
    pub interp: Interp,
    /// Total frame count.
    pub frames: usize,
    /// Return to the first key (ignored by circle and noise, which always close).
    pub looped: bool,
    pub easing: Easing,
}

/// The latent of every frame of a keyframe or circle walk through `keys` (all one length). `origin` is the
/// centre slerp and circle turn about (W's mean in W; `None` for Z's origin); lerp and spline do not use
/// it. Frames that land on a key (t = 0 or 1, θ = 0) are that key exactly. Noise loops come from
/// [`NoiseLoop`] instead.
pub fn walk(keys: &[Vec<f32>], spec: &WalkSpec, origin: Option<&[f32]>) -> Result<Vec<Vec<f32>>> {
    let Some(first) = keys.first() else {
        return invalid("a walk needs at least one keyframe");
    };
    if keys.iter().any(|k| k.len() != first.len()) || origin.is_some_and(|o| o.len() != first.len())
    {
        return invalid("walk keyframes must share one length");
    }
    if spec.frames == 0 {
        return invalid("a walk needs at least one frame");
    }
    match spec.interp {
        Interp::Noise => invalid("noise loops are not keyframe walks (use NoiseLoop)"),
        Interp::Circle => {
            if keys.len() != 2 {
                return invalid(format!(
                    "a circle loop takes exactly 2 seeds (the plane of the loop), got {}",
                    keys.len()
                ));
            }
            if spec.easing != Easing::Linear {
                return invalid(
                    "easing applies to keyframe walks (lerp, slerp, spline), not to circle loops",
                );
            }
            Ok(loop_angles(spec.frames)
                .into_iter()
                .map(|th| {
                    if th == 0.0 {
                        keys[0].clone()
                    } else {
                        circle_at(&keys[0], &keys[1], th, origin)
                    }
                })
                .collect())
        }
        interp => {
            let pos = eased_positions(keys.len(), spec.frames, spec.looped, spec.easing);
            let centred = |v: &[f32], sign: f32| -> Vec<f32> {
                match origin {
                    Some(o) => v.iter().zip(o).map(|(x, c)| x + sign * c).collect(),
                    None => v.to_vec(),
                }
            };
            Ok(pos
                .into_iter()
                .map(|(i, j, t)| {
                    if t == 0.0 {
                        return keys[i].clone();
                    }
                    if t == 1.0 {
                        return keys[j].clone();
                    }
                    match interp {
                        Interp::Lerp => lerp(&keys[i], &keys[j], t),
                        Interp::Slerp => centred(
                            &slerp(&centred(&keys[i], -1.0), &centred(&keys[j], -1.0), t),
                            1.0,
                        ),
                        _ => spline_at(keys, i, j, t, spec.looped),
                    }
                })
                .collect())
        }
    }
}

/// Truncation psi of each frame, from `from` to `to`: open walks go linearly (through `easing`), the
/// first frame exactly `from` and the last exactly `to`; looped ones go there and back on a cosine
/// (`from` at frame 0, `to` halfway), seamless.
pub fn trunc_schedule(from: f64, to: f64, frames: usize, looped: bool, easing: Easing) -> Vec<f64> {
    (0..frames)
        .map(|i| {
            let t = if looped {
                (1.0 - (TAU * i as f64 / frames as f64).cos()) / 2.0
            } else if frames == 1 {
                0.0
            } else {
                easing.apply_f64(i as f64 / (frames - 1) as f64)
            };
            if t == 0.0 {
                from
            } else if t == 1.0 {
                to
            } else {
                (1.0 - t) * from + t * to
            }
        })
        .collect()
}
