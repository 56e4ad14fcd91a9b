//! General 2D convolution (any kernel size, stride and zero padding; NCHW; cross-correlation like
//! PyTorch's `conv2d`) as one GEMM per image over unfolded patches, with its two adjoints:
//!
//! * [`conv`]: `y = W · im2col(x)`;
//! * [`conv_adjoint`]: `x̄ = col2im(Wᵀ · ȳ)`, the input gradient of [`conv`], which is also the
//!   transposed convolution (`conv_transpose2d` with the same weights, stride and padding);
//! * [`conv_weight_grad`]: `W̄ = Σ_images ȳ · im2col(x)ᵀ`.
//!
//! Each of the three is linear in each argument and the derivative of each is one of the others,
//! so a tensor library can differentiate them any number of times.

use rayon::prelude::*;

use crate::filled::par_zeros;
use crate::matmul::{matmul, View};
use crate::runs::{split, sum_over_runs};

/// Geometry of a convolution `x: [batch, c_in, height, width]` -> `y: [batch, c_out, out_h, out_w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub height: usize,
    pub width: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl ConvGeom {
    /// Output height and width (`(size + 2 pad - k) / stride + 1`); `None` when the kernel does not
    /// fit or a stride is zero.
    pub fn output(&self) -> Option<[usize; 2]> {
        let o = |size: usize, pad: usize, k: usize, s: usize| {
            (s > 0 && k > 0 && size + 2 * pad >= k).then(|| (size + 2 * pad - k) / s + 1)
        };
        Some([
            o(self.height, self.padding[0], self.kh, self.stride[0])?,
            o(self.width, self.padding[1], self.kw, self.stride[1])?,
        ])
    }
    /// [`ConvGeom::output`] of a geometry known to fit; panics otherwise.
    pub fn out_hw(&self) -> [usize; 2] {
        self.output()
            .expect("conv: the kernel does not fit the padded input")
    }
    fn in_len(&self) -> usize {
        self.c_in * self.height * self.width
    }
    fn out_len(&self) -> usize {
        let [oh, ow] = self.out_hw();
        self.c_out * oh * ow
    }
    fn patch(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
}

/// The range of output positions `o` along one axis for which input `o * stride + k - pad` is
/// inside `0..size`.
fn valid(out: usize, size: usize, k: usize, stride: usize, pad: usize) -> std::ops::Range<usize> {
    // o * stride + k >= pad  and  o * stride + k - pad < size
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = if size + pad > k {
        ((size + pad - k - 1) / stride + 1).min(out)
    } else {
        0
    };
    lo.min(hi)..hi
}

/// `cols[(ci, ky, kx)][(oy, ox)] = x[ci][oy*s + ky - p][ox*s + kx - p]` (0 outside) for one image.
fn im2col(x: &[f32], g: &ConvGeom, cols: &mut [f32]) {
    let [oh, ow] = g.out_hw();
    let (h, w) = (g.height, g.width);
    let [sy, sx] = g.stride;
    let [py, px] = g.padding;
    for ci in 0..g.c_in {
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        for ky in 0..g.kh {
            let ys = valid(oh, h, ky, sy, py);
            for kx in 0..g.kw {
                let xs = valid(ow, w, kx, sx, px);
                let row = &mut cols[((ci * g.kh + ky) * g.kw + kx) * oh * ow..][..oh * ow];
                row.fill(0.0);
                for oy in ys.clone() {
                    let iy = oy * sy + ky - py;
                    let src = &plane[iy * w..(iy + 1) * w];
                    let dst = &mut row[oy * ow..(oy + 1) * ow];
                    if sx == 1 {
                        let x0 = xs.start + kx - px;
                        dst[xs.clone()].copy_from_slice(&src[x0..x0 + xs.len()]);
                    } else {
                        for ox in xs.clone() {
                            dst[ox] = src[ox * sx + kx - px];
                        }
                    }
                }
            }
        }
    }
}

/// Adds `cols` back onto the image it was unfolded from (the adjoint of [`im2col`]).
fn col2im(cols: &[f32], g: &ConvGeom, x: &mut [f32]) {
    let [oh, ow] = g.out_hw();
    let (h, w) = (g.height, g.width);
    let [sy, sx] = g.stride;
    let [py, px] = g.padding;
    x.fill(0.0);
    for ci in 0..g.c_in {
        let plane = &mut x[ci * h * w..(ci + 1) * h * w];
        for ky in 0..g.kh {
            let ys = valid(oh, h, ky, sy, py);
            for kx in 0..g.kw {
                let xs = valid(ow, w, kx, sx, px);
                let row = &cols[((ci * g.kh + ky) * g.kw + kx) * oh * ow..][..oh * ow];
                for oy in ys.clone() {
                    let iy = oy * sy + ky - py;
                    let dst = &mut plane[iy * w..(iy + 1) * w];
                    let src = &row[oy * ow..(oy + 1) * ow];
                    if sx == 1 {
                        let x0 = xs.start + kx - px;
                        for (d, s) in dst[x0..x0 + xs.len()].iter_mut().zip(&src[xs.clone()]) {
                            *d += s;
                        }
                    } else {
                        for ox in xs.clone() {
                            dst[ox * sx + kx - px] += src[ox];
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv2d(x, w, stride, padding)`, `w: [c_out, c_in, kh, kw]`.
pub fn conv(x: &[f32], w: &[f32], g: ConvGeom) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.in_len(), "conv: input size");
    assert_eq!(w.len(), g.c_out * g.patch(), "conv: weight size");
    let [oh, ow] = g.out_hw();
    let mut y = par_zeros(g.batch * g.out_len());
    if y.is_empty() {
        return y;
    }
    let (run, par) = split(g.batch, g.batch);
    y.par_chunks_mut(run * g.out_len())
        .enumerate()
        .for_each(|(r, yr)| {
            let mut cols = vec![0f32; g.patch() * oh * ow];
            for (i, yi) in yr.chunks_mut(g.out_len()).enumerate() {
                let img = r * run + i;
                im2col(&x[img * g.in_len()..(img + 1) * g.in_len()], &g, &mut cols);
                let lhs = View {
                    data: w,
                    rows: g.c_out,
                    cols: g.patch(),
                    row_stride: g.patch(),
                    col_stride: 1,
                };
                let rhs = View {
                    data: &cols,
                    rows: g.patch(),
                    cols: oh * ow,
                    row_stride: oh * ow,
                    col_stride: 1,
                };
                matmul(yi, oh * ow, lhs, rhs, false, par);
            }
        });
    y
}

/// The input gradient of [`conv`] given `gy = dL/dy`; equally the transposed convolution of `gy`.
pub fn conv_adjoint(gy: &[f32], w: &[f32], g: ConvGeom) -> Vec<f32> {
    assert_eq!(
        gy.len(),
        g.batch * g.out_len(),
        "conv_adjoint: gradient size"
    );
    assert_eq!(w.len(), g.c_out * g.patch(), "conv_adjoint: weight size");
    let [oh, ow] = g.out_hw();
    let mut x = par_zeros(g.batch * g.in_len());
    if x.is_empty() {
        return x;
    }
    let (run, par) = split(g.batch, g.batch);
    x.par_chunks_mut(run * g.in_len())
        .enumerate()
        .for_each(|(r, xr)| {
            let mut cols = vec![0f32; g.patch() * oh * ow];
            for (i, xi) in xr.chunks_mut(g.in_len()).enumerate() {
                let img = r * run + i;
                let lhs = View {
                    data: w,
                    rows: g.patch(),
                    cols: g.c_out,
                    row_stride: 1,
                    col_stride: g.patch(),
                };
                let gi = &gy[img * g.out_len()..(img + 1) * g.out_len()];
                let rhs = View {
                    data: gi,
                    rows: g.c_out,
                    cols: oh * ow,
                    row_stride: oh * ow,
                    col_stride: 1,
                };
                matmul(&mut cols, oh * ow, lhs, rhs, false, par);
                col2im(&cols, &g, xi);
            }
        });
    x
}

/// The weight gradient of [`conv`] given its input `x` and `gy = dL/dy`: `[c_out, c_in, kh, kw]`.
pub fn conv_weight_grad(x: &[f32], gy: &[f32], g: ConvGeom) -> Vec<f32> {
    assert_eq!(
        x.len(),
        g.batch * g.in_len(),
        "conv_weight_grad: input size"
    );
    assert_eq!(
        gy.len(),
        g.batch * g.out_len(),
        "conv_weight_grad: gradient size"
    );
    let [oh, ow] = g.out_hw();
    let len = g.c_out * g.patch();
    if g.batch == 0 || oh * ow == 0 {
        return vec![0.0; len];
    }
    let (run, par) = split(g.batch, g.batch);
    sum_over_runs(g.batch, run, len, |first, gw| {
        let mut cols = vec![0f32; g.patch() * oh * ow];
        for img in first..(first + run).min(g.batch) {
            im2col(&x[img * g.in_len()..(img + 1) * g.in_len()], &g, &mut cols);
            let gi = &gy[img * g.out_len()..(img + 1) * g.out_len()];
            let lhs = View {
                data: gi,
                rows: g.c_out,
                cols: oh * ow,
                row_stride: oh * ow,
                col_stride: 1,
            };
            let rhs = View {
                data: &cols,
                rows: oh * ow,
                cols: g.patch(),
                row_stride: 1,
                col_stride: oh * ow,
            };
            matmul(gw, g.patch(), lhs, rhs, true, par);
        }
    })
}
