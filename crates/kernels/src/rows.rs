//! Per-row scaling and per-row dot products of `[rows][plane]` data, where a row is one
//! (sample, channel) feature map: the style modulation and demodulation of a modulated
//! convolution and their gradients, one parallel pass each. The two are each other's
//! derivatives (both bilinear), so they stay closed under differentiation.

use rayon::prelude::*;

use crate::filled::{min_rows_for, par_rows};

/// `y[r][k] = x[r][k] * s[r]`.
pub fn scale_rows(x: &[f32], s: &[f32], plane: usize) -> Vec<f32> {
    assert!(
        plane > 0 && x.len() == s.len() * plane,
        "scale_rows: {} values for {} rows of {plane}",
        x.len(),
        s.len()
    );
    par_rows(s.len(), plane, min_rows_for(plane), |r| {
        let f = s[r];
        x[r * plane..(r + 1) * plane].iter().map(move |v| v * f)
    })
}

/// `d[r] = Σ_k a[r][k] b[r][k]`.
pub fn row_dots(a: &[f32], b: &[f32], plane: usize) -> Vec<f32> {
    assert!(
        plane > 0 && a.len() == b.len() && a.len().is_multiple_of(plane),
        "row_dots: sizes {} and {} for rows of {plane}",
        a.len(),
        b.len()
    );
    a.par_chunks(plane)
        .zip(b.par_chunks(plane))
        .with_min_len(min_rows_for(plane))
        .map(|(a, b)| dot(a, b))
        .collect()
}

/// A dot product in eight independent lanes, so that it vectorises (a single running f32 sum
/// cannot be reordered).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((acc, x), y) in acc.iter_mut().zip(x).zip(y) {
            *acc += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// `Σ v` in eight independent lanes.
pub(crate) fn lane_sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (acc, x) in acc.iter_mut().zip(c) {
            *acc += x;
        }
    }
    acc.iter().sum::<f32>() + rest
}
