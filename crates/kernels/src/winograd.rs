//! 3x3 convolution (stride 1, zero padding 1, NCHW, cross-correlation like PyTorch's `conv2d`) by
//! Winograd's minimal filtering F(2x2, 3x3) [Lavin & Gray 2015]: each 2x2 output tile costs 16
//! multiplications per channel pair instead of 36, and the multiplications of all tiles become 16
//! dense GEMMs. The input and weight gradients reuse the same transforms, so training gets the
//! same 2.25x cut in arithmetic:
//!
//! * forward `Y = Aᵀ [Σ_ci U ⊙ V] A` with `U = G w Gᵀ` and `V = Bᵀ d B`;
//! * input gradient: the forward with the weights flipped and transposed (`conv3x3_input_grad`);
//! * weight gradient: `dw = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ V] G`, the chain rule through the same
//!   linear maps, exact up to rounding.

use rayon::prelude::*;

use crate::filled::par_zeros;
use crate::matmul::{matmul, Parallelism, View};
use crate::runs::{split, sum_over_runs};

/// Shape of a 3x3 same-padding convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3x3 {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub height: usize,
    pub width: usize,
}

impl Conv3x3 {
    fn tiles(&self) -> (usize, usize) {
        (self.height.div_ceil(2), self.width.div_ceil(2))
    }
    fn input_len(&self) -> usize {
        self.batch * self.c_in * self.height * self.width
    }
    fn output_len(&self) -> usize {
        self.batch * self.c_out * self.height * self.width
    }
    fn weight_len(&self) -> usize {
        self.c_out * self.c_in * 9
    }
}

/// Tiles per GEMM block of the forward pass: large enough for efficient products, small enough
/// that one transformed slice (channels x TILE_BLOCK floats) stays in the L2 cache.
const TILE_BLOCK: usize = 128;
/// Tiles per block of the weight gradient, where tiles are the reduction dimension: longer
/// blocks mean fewer read-modify-writes of the accumulated `dU`.
const GRAD_TILE_BLOCK: usize = 512;

/// Runs of consecutive images with at least a block of tiles each, so that small feature maps
/// are batched into one product.
fn split_tiles(s: &Conv3x3) -> (usize, Parallelism) {
    let (th, tw) = s.tiles();
    split(s.batch, TILE_BLOCK.div_ceil(th * tw))
}

/// Rows of Winograd's `G` (4x3): `U = G g Gᵀ` is the transform of one 3x3 kernel `g`.
const G: [[f32; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// `U = G w Gᵀ` for every (out, in) pair, laid out `[16][c_out][c_in]`; with `flip_transpose`,
/// the transform of the flipped, transposed kernels (the input gradient's), `[16][c_in][c_out]`.
///
/// Flipping a kernel reverses the columns of `G`, which equals swapping its rows 0 and 3, so the
/// flipped transform is the plain one with indices 0 and 3 exchanged. Planes run in parallel.
#[inline(never)]
fn transform_weights(w: &[f32], c_out: usize, c_in: usize, flip_transpose: bool) -> Vec<f32> {
    let plane_len = c_out * c_in;
    let mut u = par_zeros(16 * plane_len);
    if plane_len == 0 {
        return u;
    }
    u.par_chunks_mut(plane_len)
        .enumerate()
        .for_each(|(ab, plane)| {
            let row = |k: usize| {
                if flip_transpose && (k == 0 || k == 3) {
                    G[3 - k]
                } else {
                    G[k]
                }
            };
            let (ga, gb) = (row(ab / 4), row(ab % 4));
            let mut coef = [0f32; 9];
            for (k, c) in coef.iter_mut().enumerate() {
                *c = ga[k / 3] * gb[k % 3];
            }
            for o in 0..c_out {
                for i in 0..c_in {
                    let g = &w[(o * c_in + i) * 9..(o * c_in + i) * 9 + 9];
                    let v: f32 = coef.iter().zip(g).map(|(c, g)| c * g).sum();
                    let at = if flip_transpose {
                        i * c_out + o
                    } else {
                        o * c_in + i
                    };
                    plane[at] = v;
                }
            }
        });
    u
}

/// Tile rows `r0..r1` numbered across a run of images (row `r` is tile row `r % th` of image
/// `r / th`); tile `j` of the block is column `j % tw` of row `r0 + j / tw`.
#[derive(Clone, Copy)]
struct Rows {
    r0: usize,
    r1: usize,
}

impl Rows {
    fn tiles(&self, s: &Conv3x3) -> usize {
        (self.r1 - self.r0) * s.tiles().1
    }
}

/// Blocks of whole tile rows with about `target` tiles each.
fn row_blocks(s: &Conv3x3, target: usize) -> impl Iterator<Item = Rows> {
    let (th, tw) = s.tiles();
    let rows = s.batch * th;
    let step = (target / tw).max(1);
    (0..rows).step_by(step).map(move |r0| Rows {
        r0,
        r1: (r0 + step).min(rows),
    })
}

/// Writes `V = Bᵀ d B` of the 4x4 input patches of the block's tiles into `v[16][c_in][tb]`.
#[inline(never)]
fn transform_input(x: &[f32], s: &Conv3x3, rows: Rows, v: &mut [f32], scratch: &mut Vec<f32>) {
    let (h, w) = (s.height, s.width);
    let (th, tw) = s.tiles();
    let tb = rows.tiles(s);
    // Bᵀ applied down the columns of the 4 input rows of a tile row, over the zero-padded width.
    let wp = 2 * tw + 2;
    scratch.clear();
    scratch.resize(4 * wp, 0.0);
    for ci in 0..s.c_in {
        for r in rows.r0..rows.r1 {
            let (img, ty) = (r / th, r % th);
            let plane = &x[(img * s.c_in + ci) * h * w..(img * s.c_in + ci + 1) * h * w];
            let row = |k: usize| -> Option<&[f32]> {
                let yy = (2 * ty + k).checked_sub(1)?;
                (yy < h).then(|| &plane[yy * w..(yy + 1) * w])
            };
            let d: [Option<&[f32]>; 4] = [row(0), row(1), row(2), row(3)];
            let (t01, t23) = scratch.split_at_mut(2 * wp);
            let (t0, t1) = t01.split_at_mut(wp);
            let (t2, t3) = t23.split_at_mut(wp);
            for c in 0..w {
                let g = |k: usize| d[k].map_or(0.0, |row| row[c]);
                let (d0, d1, d2, d3) = (g(0), g(1), g(2), g(3));
                t0[c + 1] = d0 - d2;
                t1[c + 1] = d1 + d2;
                t2[c + 1] = d2 - d1;
                t3[c + 1] = d1 - d3;
            }
            let base = (r - rows.r0) * tw;
            for (a, t) in [&*t0, &*t1, &*t2, &*t3].into_iter().enumerate() {
                for tx in 0..tw {
                    let c = 2 * tx;
                    let vals = [
                        t[c] - t[c + 2],
                        t[c + 1] + t[c + 2],
                        t[c + 2] - t[c + 1],
                        t[c + 1] - t[c + 3],
                    ];
                    for (b, val) in vals.into_iter().enumerate() {
                        v[((a * 4 + b) * s.c_in + ci) * tb + base + tx] = val;
                    }
                }
            }
        }
    }
}

/// Reads `m[16][c_out][tb]`, writes `Y = Aᵀ m A` of the block's tiles into the images of `y`.
#[inline(never)]
fn transform_output(m: &[f32], s: &Conv3x3, rows: Rows, y: &mut [f32], scratch: &mut Vec<f32>) {
    let (h, w) = (s.height, s.width);
    let (th, tw) = s.tiles();
    let tb = rows.tiles(s);
    // Aᵀ m for one tile row: q[k][b][tx], k in 0..2, b in 0..4 (contiguous over tx, so the
    // arithmetic vectorises).
    scratch.clear();
    scratch.resize(8 * tw, 0.0);
    for co in 0..s.c_out {
        for r in rows.r0..rows.r1 {
            let (img, ty) = (r / th, r % th);
            let j0 = (r - rows.r0) * tw;
            let stream = |a: usize, b: usize| &m[((a * 4 + b) * s.c_out + co) * tb + j0..][..tw];
            for b in 0..4 {
                let (m0, m1, m2, m3) = (stream(0, b), stream(1, b), stream(2, b), stream(3, b));
                let (q0, q1) = scratch.split_at_mut(4 * tw);
                let (q0, q1) = (&mut q0[b * tw..(b + 1) * tw], &mut q1[b * tw..(b + 1) * tw]);
                for tx in 0..tw {
                    q0[tx] = m0[tx] + m1[tx] + m2[tx];
                    q1[tx] = m1[tx] - m2[tx] - m3[tx];
                }
            }
            let plane = &mut y[(img * s.c_out + co) * h * w..(img * s.c_out + co + 1) * h * w];
            for k in 0..2 {
                let yy = 2 * ty + k;
                if yy >= h {
                    continue;
                }
                let q = &scratch[k * 4 * tw..(k + 1) * 4 * tw];
                let (q0, q1, q2, q3) = (&q[..tw], &q[tw..2 * tw], &q[2 * tw..3 * tw], &q[3 * tw..]);
                let out = &mut plane[yy * w..(yy + 1) * w];
                for tx in 0..w / 2 {
                    out[2 * tx] = q0[tx] + q1[tx] + q2[tx];
                    out[2 * tx + 1] = q1[tx] - q2[tx] - q3[tx];
                }
                if w % 2 == 1 {
                    let tx = tw - 1;
                    out[w - 1] = q0[tx] + q1[tx] + q2[tx];
                }
            }
        }
    }
}

/// Writes `A dY Aᵀ` of the block's 2x2 output-gradient tiles into `dm[16][c_out][tb]`
/// (positions past the image edge count as zero).
#[inline(never)]
fn transform_output_grad(
    g: &[f32],
    s: &Conv3x3,
    rows: Rows,
    dm: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (h, w) = (s.height, s.width);
    let (th, tw) = s.tiles();
    let tb = rows.tiles(s);
    // The tile row's 2x2 gradients de-interleaved: d[k][l][tx] = dY[2ty + k][2tx + l].
    scratch.clear();
    scratch.resize(4 * tw, 0.0);
    let mut p = vec![0f32; 2 * tw];
    for co in 0..s.c_out {
        for r in rows.r0..rows.r1 {
            let (img, ty) = (r / th, r % th);
            let plane = &g[(img * s.c_out + co) * h * w..(img * s.c_out + co + 1) * h * w];
            scratch.fill(0.0);
            for k in 0..2 {
                let yy = 2 * ty + k;
                if yy >= h {
                    continue;
                }
                let row = &plane[yy * w..(yy + 1) * w];
                for xx in 0..w {
                    scratch[(2 * k + xx % 2) * tw + xx / 2] = row[xx];
                }
            }
            let (d00, rest) = scratch.split_at(tw);
            let (d01, rest) = rest.split_at(tw);
            let (d10, d11) = rest.split_at(tw);
            let j0 = (r - rows.r0) * tw;
            // A d, row a, for both columns; then the same combination across the columns.
            for a in 0..4 {
                let (p0, p1) = p.split_at_mut(tw);
                for tx in 0..tw {
                    let (t00, t01, t10, t11) = (d00[tx], d01[tx], d10[tx], d11[tx]);
                    (p0[tx], p1[tx]) = match a {
                        0 => (t00, t01),
                        1 => (t00 + t10, t01 + t11),
                        2 => (t00 - t10, t01 - t11),
                        _ => (-t10, -t11),
                    };
                }
                let stream = |b: usize| ((a * 4 + b) * s.c_out + co) * tb + j0;
                dm[stream(0)..][..tw].copy_from_slice(p0);
                for (o, (x0, x1)) in dm[stream(1)..][..tw]
                    .iter_mut()
                    .zip(p0.iter().zip(p1.iter()))
                {
                    *o = x0 + x1;
                }
                for (o, (x0, x1)) in dm[stream(2)..][..tw]
                    .iter_mut()
                    .zip(p0.iter().zip(p1.iter()))
                {
                    *o = x0 - x1;
                }
                for (o, x1) in dm[stream(3)..][..tw].iter_mut().zip(p1.iter()) {
                    *o = -x1;
                }
            }
        }
    }
}

/// `dw = Gᵀ dU G` from `du[16][c_out][c_in]`, laid out `[c_out][c_in][3][3]`.
#[inline(never)]
fn weight_grad_from_winograd(du: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let mut dw = par_zeros(c_out * c_in * 9);
    if dw.is_empty() {
        return dw;
    }
    dw.par_chunks_mut(c_in * 9)
        .enumerate()
        .for_each(|(o, dw_o)| {
            for i in 0..c_in {
                let at = |a: usize, b: usize| du[((a * 4 + b) * c_out + o) * c_in + i];
                // Gᵀ dU: 3x4.
                let mut r = [[0f32; 4]; 3];
                for b in 0..4 {
                    r[0][b] = at(0, b) + 0.5 * (at(1, b) + at(2, b));
                    r[1][b] = 0.5 * (at(1, b) - at(2, b));
                    r[2][b] = 0.5 * (at(1, b) + at(2, b)) + at(3, b);
                }
                let out = &mut dw_o[i * 9..i * 9 + 9];
                for (a, row) in r.iter().enumerate() {
                    out[a * 3] = row[0] + 0.5 * (row[1] + row[2]);
                    out[a * 3 + 1] = 0.5 * (row[1] - row[2]);
                    out[a * 3 + 2] = 0.5 * (row[1] + row[2]) + row[3];
                }
            }
        });
    dw
}

/// Forward convolution of a run of images (`s.batch` of them) with transformed weights `u`.
fn forward_run(x: &[f32], u: &[f32], s: &Conv3x3, y: &mut [f32], par: Parallelism) {
    let (mut v, mut m, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for rows in row_blocks(s, TILE_BLOCK) {
        let tb = rows.tiles(s);
        v.resize(16 * s.c_in * tb, 0.0);
        m.resize(16 * s.c_out * tb, 0.0);
        transform_input(x, s, rows, &mut v, &mut scratch);
        for xi in 0..16 {
            let lhs = View {
                data: &u[xi * s.c_out * s.c_in..],
                rows: s.c_out,
                cols: s.c_in,
                row_stride: s.c_in,
                col_stride: 1,
            };
            let rhs = View {
                data: &v[xi * s.c_in * tb..],
                rows: s.c_in,
                cols: tb,
                row_stride: tb,
                col_stride: 1,
            };
            matmul(
                &mut m[xi * s.c_out * tb..(xi + 1) * s.c_out * tb],
                tb,
                lhs,
                rhs,
                false,
                par,
            );
        }
        transform_output(&m, s, rows, y, &mut scratch);
    }
}

/// `y = conv2d(x, w, padding=1)` for `x: [batch, c_in, H, W]`, `w: [c_out, c_in, 3, 3]`.
pub fn conv3x3(x: &[f32], w: &[f32], s: Conv3x3) -> Vec<f32> {
    assert_eq!(x.len(), s.input_len(), "conv3x3: input size");
    assert_eq!(w.len(), s.weight_len(), "conv3x3: weight size");
    forward(x, &transform_weights(w, s.c_out, s.c_in, false), s)
}

/// The forward pass with the weights already transformed (`[16][c_out][c_in]`).
fn forward(x: &[f32], u: &[f32], s: Conv3x3) -> Vec<f32> {
    let mut y = par_zeros(s.output_len());
    if y.is_empty() || x.is_empty() {
        return y;
    }
    let (in_img, out_img) = (s.c_in * s.height * s.width, s.c_out * s.height * s.width);
    let (run, par) = split_tiles(&s);
    y.par_chunks_mut(run * out_img)
        .enumerate()
        .for_each(|(r, yr)| {
            let images = yr.len() / out_img;
            let x = &x[r * run * in_img..(r * run + images) * in_img];
            forward_run(x, u, &Conv3x3 { batch: images, ..s }, yr, par);
        });
    y
}

/// `dL/dx` of [`conv3x3`] given `g = dL/dy: [batch, c_out, H, W]`: the forward pass with the
/// flipped, transposed weights, transformed directly.
pub fn conv3x3_input_grad(g: &[f32], w: &[f32], s: Conv3x3) -> Vec<f32> {
    assert_eq!(g.len(), s.output_len(), "conv3x3_input_grad: gradient size");
    assert_eq!(w.len(), s.weight_len(), "conv3x3_input_grad: weight size");
    forward(
        g,
        &transform_weights(w, s.c_out, s.c_in, true),
        Conv3x3 {
            c_in: s.c_out,
            c_out: s.c_in,
            ..s
        },
    )
}

/// `dL/dw` of [`conv3x3`] given the input `x` and `g = dL/dy`; `[c_out, c_in, 3, 3]`.
pub fn conv3x3_weight_grad(x: &[f32], g: &[f32], s: Conv3x3) -> Vec<f32> {
    assert_eq!(x.len(), s.input_len(), "conv3x3_weight_grad: input size");
    assert_eq!(
        g.len(),
        s.output_len(),
        "conv3x3_weight_grad: gradient size"
    );
    let du_len = 16 * s.c_out * s.c_in;
    if s.input_len() == 0 || s.output_len() == 0 {
        return vec![0.0; s.weight_len()];
    }
    let (in_img, out_img) = (s.c_in * s.height * s.width, s.c_out * s.height * s.width);
    let (run, par) = split_tiles(&s);
    // Accumulates dU over one run of images starting at image `first`.
    let run_grad = |first: usize, du: &mut Vec<f32>| {
        let images = run.min(s.batch - first);
        let r = Conv3x3 { batch: images, ..s };
        let (mut v, mut dm, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        let (x, g) = (
            &x[first * in_img..(first + images) * in_img],
            &g[first * out_img..(first + images) * out_img],
        );
        for rows in row_blocks(&r, GRAD_TILE_BLOCK) {
            let tb = rows.tiles(&r);
            v.resize(16 * s.c_in * tb, 0.0);
            dm.resize(16 * s.c_out * tb, 0.0);
            transform_input(x, &r, rows, &mut v, &mut scratch);
            transform_output_grad(g, &r, rows, &mut dm, &mut scratch);
            for xi in 0..16 {
                let lhs = View {
                    data: &dm[xi * s.c_out * tb..],
                    rows: s.c_out,
                    cols: tb,
                    row_stride: tb,
                    col_stride: 1,
                };
                // Vᵀ: (tile, ci) at ci * tb + tile.
                let rhs = View {
                    data: &v[xi * s.c_in * tb..],
                    rows: tb,
                    cols: s.c_in,
                    row_stride: 1,
                    col_stride: tb,
                };
                matmul(
                    &mut du[xi * s.c_out * s.c_in..(xi + 1) * s.c_out * s.c_in],
                    s.c_in,
                    lhs,
                    rhs,
                    true,
                    par,
                );
            }
        }
    };
    let du = sum_over_runs(s.batch, run, du_len, run_grad);
    weight_grad_from_winograd(&du, s.c_out, s.c_in)
}
