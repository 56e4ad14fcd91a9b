//! Bias + leaky/linear activation + gain + clamp in one parallel pass, and its gradient in
//! another, instead of the five to eight single-threaded elementwise passes (and their backward
//! passes) that the composed tensor ops cost.
//!
//! The gradient is computed from the output `y` alone, as in the official `bias_act` op: for a
//! positive gain the sign of `y` is the sign of `x + b`, and a clamped output has `|y| = clamp`.
//! Its derivative with respect to `dy` is itself, and with respect to `y` zero almost everywhere,
//! so the pair is closed under differentiation.

use rayon::prelude::*;

use crate::filled::{min_rows_for, par_rows};
use crate::rows::lane_sum;

/// Layout and constants of one `bias_act`: `x` is `[batch, channels, plane]` flattened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiasAct {
    pub channels: usize,
    /// Elements per (sample, channel): `H * W` for feature maps, 1 for dense layers.
    pub plane: usize,
    /// Slope for negative inputs: 1 is linear, 0.2 the official leaky ReLU.
    pub slope: f32,
    /// Positive factor applied after the activation.
    pub gain: f32,
    /// Outputs are clamped to `[-clamp, clamp]` when set.
    pub clamp: Option<f32>,
}

impl BiasAct {
    fn row_len(&self) -> usize {
        self.channels * self.plane
    }

    fn check(&self, len: usize, what: &str) {
        assert!(self.gain > 0.0, "bias_act: the gain must be positive");
        assert!(
            self.row_len() > 0 && len.is_multiple_of(self.row_len()),
            "bias_act: {what} has {len} values, not a multiple of {} channels x {} plane",
            self.channels,
            self.plane
        );
    }
}

/// `clamp(act(x + b) * gain)` with `b` broadcast along the channels.
pub fn bias_act(x: &[f32], bias: Option<&[f32]>, p: &BiasAct) -> Vec<f32> {
    p.check(x.len(), "the input");
    if let Some(b) = bias {
        assert_eq!(b.len(), p.channels, "bias_act: one bias per channel");
    }
    let (slope, gain, clamp) = (p.slope, p.gain, p.clamp.unwrap_or(f32::INFINITY));
    par_rows(x.len() / p.plane, p.plane, min_rows_for(p.plane), |r| {
        let b = bias.map_or(0.0, |b| b[r % p.channels]);
        x[r * p.plane..(r + 1) * p.plane].iter().map(move |&v| {
            let v = v + b;
            let v = if v >= 0.0 { v } else { v * slope };
            (v * gain).clamp(-clamp, clamp)
        })
    })
}

/// `dL/dx` of [`bias_act`] given `dy = dL/dy` and its output `y` (also `dL/db` summed by
/// [`channel_sums`]).
pub fn bias_act_grad(dy: &[f32], y: &[f32], p: &BiasAct) -> Vec<f32> {
    p.check(dy.len(), "the gradient");
    assert_eq!(
        dy.len(),
        y.len(),
        "bias_act_grad: gradient and output sizes differ"
    );
    let (neg, pos, clamp) = (p.slope * p.gain, p.gain, p.clamp.unwrap_or(f32::INFINITY));
    par_rows(dy.len() / p.plane, p.plane, min_rows_for(p.plane), |r| {
        let rows = r * p.plane..(r + 1) * p.plane;
        dy[rows.clone()].iter().zip(&y[rows]).map(move |(&g, &v)| {
            let f = if v >= 0.0 { pos } else { neg };
            if v.abs() < clamp {
                g * f
            } else {
                0.0
            }
        })
    })
}

/// Per-channel sums of `d: [batch, channels, plane]`: the bias gradient.
pub fn channel_sums(d: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    let row = channels * plane;
    assert!(
        row > 0 && d.len().is_multiple_of(row),
        "channel_sums: {} values, not a multiple of {row}",
        d.len()
    );
    let samples_per_task = (1usize << 15).div_ceil(row);
    d.par_chunks(samples_per_task * row)
        .fold(
            || vec![0f32; channels],
            |mut acc, chunk| {
                for sample in chunk.chunks(row) {
                    for (a, plane_values) in acc.iter_mut().zip(sample.chunks(plane)) {
                        *a += lane_sum(plane_values);
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0f32; channels],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
                a
            },
        )
}
