//! Latent walks through keyframes: where each frame lies, and lerp / slerp between two latents.

/// How to move between two keyframes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    /// Straight lines in W.
    Lerp,
    /// Great circles in Z (then mapped to W), keeping latents at the typical radius.
    Slerp,
}

impl std::str::FromStr for Interp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lerp" => Ok(Interp::Lerp),
            "slerp" => Ok(Interp::Slerp),
            o => Err(format!("unknown interpolation `{o}` (expected lerp or slerp)")),
        }
    }
}

/// For each of `frames` frames through `keys` keyframes: (from key, to key, t in [0, 1)). Without `looped`
/// the first frame is the first key and the last frame the last key; with it the walk returns towards the
/// first key, the last frame one step before it, so the animation repeats seamlessly.
pub fn walk_positions(keys: usize, frames: usize, looped: bool) -> Vec<(usize, usize, f32)> {
    assert!(keys >= 1 && frames >= 1, "walk_positions: need keys and frames");
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

/// `(1 - t) a + t b`.
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(&x, &y)| (1.0 - t) * x + t * y).collect()
}

/// Spherical interpolation between `a` and `b` (lerp when they are almost parallel).
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let dot = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum::<f64>() / (na * nb).max(1e-30);
    let omega = dot.clamp(-1.0, 1.0).acos();
    if omega.sin().abs() < 1e-6 {
        return lerp(a, b, t);
    }
    let t = t as f64;
    let (ka, kb) = (((1.0 - t) * omega).sin() / omega.sin(), (t * omega).sin() / omega.sin());
    a.iter().zip(b).map(|(&x, &y)| (ka * x as f64 + kb * y as f64) as f32).collect()
}
