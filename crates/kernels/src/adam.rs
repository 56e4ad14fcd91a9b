//! One Adam step over a parameter in a single parallel pass (PyTorch's formulation), instead of
//! the ten single-threaded tensor passes it takes when written with tensor ops.

use rayon::prelude::*;

use crate::filled::par_zeros;

/// Adam's constants for one step; `step` counts from 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub step: u32,
}

const CHUNK: usize = 1 << 14;

/// Updates the moments `m` and `v` in place with the gradient `g` and returns the new parameter:
/// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
/// `p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
pub fn adam_step(p: &[f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) -> Vec<f32> {
    let n = p.len();
    assert!(
        g.len() == n && m.len() == n && v.len() == n,
        "adam_step: parameter, gradient and moments differ in size"
    );
    assert!(s.step >= 1, "adam_step: steps count from 1");
    let step = i32::try_from(s.step).unwrap_or(i32::MAX);
    let bc1 = 1.0 - (s.beta1 as f64).powi(step);
    let bc2 = 1.0 - (s.beta2 as f64).powi(step);
    let (lr_t, inv_sqrt_bc2) = ((s.lr as f64 / bc1) as f32, (1.0 / bc2.sqrt()) as f32);
    let (b1, b2, eps) = (s.beta1, s.beta2, s.eps);
    let mut out = par_zeros(n);
    out.par_chunks_mut(CHUNK)
        .zip(p.par_chunks(CHUNK))
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|(((o, p), g), (m, v))| {
            for i in 0..o.len() {
                let gi = g[i];
                let mi = b1 * m[i] + (1.0 - b1) * gi;
                let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                o[i] = p[i] - lr_t * mi / (vi.sqrt() * inv_sqrt_bc2 + eps);
            }
        });
    out
}
