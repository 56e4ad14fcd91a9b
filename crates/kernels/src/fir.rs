//! FIR resampling of independent planes with the semantics of the official `upfirdn2d`: insert
//! `up - 1` zeros after every pixel, pad (negative pads crop), correlate with a 2D kernel, keep
//! every `down`-th pixel. [`fir`] and its exact adjoint [`fir_adjoint`] walk the same list of
//! (output, tap, input) triples, one gathering and the other scattering, so each is the other's
//! gradient.

use rayon::prelude::*;

use crate::filled::par_zeros;

/// A resampling of `planes` images of `height x width`.
#[derive(Clone, Debug, PartialEq)]
pub struct FirGeom {
    pub planes: usize,
    pub height: usize,
    pub width: usize,
    pub up: usize,
    pub down: usize,
    /// `[x0, x1, y0, y1]` with respect to the upsampled image.
    pub pad: [isize; 4],
    /// Correlation kernel `[kh][kw]`, row-major (already flipped and scaled by the caller).
    pub kernel: Vec<f32>,
    pub kh: usize,
    pub kw: usize,
    /// `(column taps [kh], row taps [kw])` when `kernel` is their outer product: two 1D passes
    /// instead of one 2D pass.
    pub separable: Option<(Vec<f32>, Vec<f32>)>,
}

/// For one axis: the taps of each output index as (tap, input index) pairs.
fn taps(
    out: usize,
    size: usize,
    up: usize,
    down: usize,
    pad0: isize,
    k: usize,
) -> Vec<Vec<(usize, usize)>> {
    (0..out)
        .map(|o| {
            (0..k)
                .filter_map(|t| {
                    let i = (o * down + t) as isize - pad0;
                    let up = up as isize;
                    (i >= 0 && i % up == 0 && ((i / up) as usize) < size)
                        .then(|| (t, (i / up) as usize))
                })
                .collect()
        })
        .collect()
}

/// One tap's (output, input) pairs along an axis as an arithmetic run: outputs `o0 + k * os`
/// read inputs `i0 + k * is` for `k < len`. With `up = down = 1` (most filters) both steps are 1
/// and a run is a shifted, vectorisable multiply-add over a whole row.
#[derive(Clone, Copy, Debug)]
struct Run {
    tap: usize,
    o0: usize,
    i0: usize,
    len: usize,
    os: usize,
    is: usize,
}

/// The taps of [`taps`] regrouped by tap into maximal arithmetic runs.
fn runs(lists: &[Vec<(usize, usize)>], k: usize) -> Vec<Run> {
    let mut out = Vec::new();
    for tap in 0..k {
        let pairs: Vec<(usize, usize)> = lists
            .iter()
            .enumerate()
            .flat_map(|(o, l)| {
                l.iter()
                    .filter(|(t, _)| *t == tap)
                    .map(move |(_, i)| (o, *i))
            })
            .collect();
        let mut rest = &pairs[..];
        while let Some(&(o0, i0)) = rest.first() {
            let (os, is) = match rest.get(1) {
                Some(&(o1, i1)) if i1 > i0 => (o1 - o0, i1 - i0),
                _ => (1, 1),
            };
            let len = 1 + rest
                .windows(2)
                .take_while(|w| w[1].0 == w[0].0 + os && w[1].1 == w[0].1 + is)
                .count();
            out.push(Run {
                tap,
                o0,
                i0,
                len,
                os,
                is,
            });
            rest = &rest[len..];
        }
    }
    out
}

/// `out[o0 + k os] += c * src[i0 + k is]` for every run, weighted by its tap.
#[inline]
fn gather_runs(out: &mut [f32], src: &[f32], runs: &[Run], weights: &[f32]) {
    for r in runs {
        let c = weights[r.tap];
        if r.os == 1 && r.is == 1 {
            for (o, v) in out[r.o0..r.o0 + r.len]
                .iter_mut()
                .zip(&src[r.i0..r.i0 + r.len])
            {
                *o += c * v;
            }
        } else {
            for k in 0..r.len {
                out[r.o0 + k * r.os] += c * src[r.i0 + k * r.is];
            }
        }
    }
}

/// The adjoint of [`gather_runs`]: `src[i0 + k is] += c * out[o0 + k os]`.
#[inline]
fn scatter_runs(src: &mut [f32], out: &[f32], runs: &[Run], weights: &[f32]) {
    for r in runs {
        let c = weights[r.tap];
        if r.os == 1 && r.is == 1 {
            for (s, v) in src[r.i0..r.i0 + r.len]
                .iter_mut()
                .zip(&out[r.o0..r.o0 + r.len])
            {
                *s += c * v;
            }
        } else {
            for k in 0..r.len {
                src[r.i0 + k * r.is] += c * out[r.o0 + k * r.os];
            }
        }
    }
}

impl FirGeom {
    /// Output height and width, or `None` when the padded image is smaller than the kernel.
    pub fn output(&self) -> Option<[usize; 2]> {
        let [x0, x1, y0, y1] = self.pad;
        let o = |size: usize, p0: isize, p1: isize, k: usize| {
            let span = (size * self.up) as isize + p0 + p1 - k as isize;
            (self.up > 0 && self.down > 0 && k > 0 && span >= 0)
                .then(|| span as usize / self.down + 1)
        };
        Some([
            o(self.height, y0, y1, self.kh)?,
            o(self.width, x0, x1, self.kw)?,
        ])
    }

    fn checked(&self) -> [usize; 2] {
        assert_eq!(self.kernel.len(), self.kh * self.kw, "fir: kernel size");
        if let Some((ky, kx)) = &self.separable {
            assert!(
                ky.len() == self.kh && kx.len() == self.kw,
                "fir: separable taps size"
            );
        }
        self.output()
            .expect("fir: the kernel does not fit the padded image")
    }

    fn tap_lists(&self) -> (Vec<Vec<(usize, usize)>>, Vec<Vec<(usize, usize)>>) {
        let [oh, ow] = self.checked();
        let [x0, _, y0, _] = self.pad;
        (
            taps(oh, self.height, self.up, self.down, y0, self.kh),
            taps(ow, self.width, self.up, self.down, x0, self.kw),
        )
    }
}

/// `upfirdn2d` of every plane of `x: [planes, height, width]`.
pub fn fir(x: &[f32], g: &FirGeom) -> Vec<f32> {
    let [oh, ow] = g.checked();
    let plane = g.height * g.width;
    assert_eq!(x.len(), g.planes * plane, "fir: input size");
    let (rows, cols) = g.tap_lists();
    let col_runs = runs(&cols, g.kw);
    let mut y = par_zeros(g.planes * oh * ow);
    if y.is_empty() {
        return y;
    }
    if let Some((ky, kx)) = &g.separable {
        y.par_chunks_mut(oh * ow)
            .enumerate()
            .for_each_init(Vec::new, |t, (p, yp)| {
                let xp = &x[p * plane..(p + 1) * plane];
                // Along the rows: t[iy][ox], then down the columns, a whole row at a time.
                t.clear();
                t.resize(g.height * ow, 0.0);
                for iy in 0..g.height {
                    gather_runs(
                        &mut t[iy * ow..(iy + 1) * ow],
                        &xp[iy * g.width..(iy + 1) * g.width],
                        &col_runs,
                        kx,
                    );
                }
                for (oy, row_taps) in rows.iter().enumerate() {
                    let out = &mut yp[oy * ow..(oy + 1) * ow];
                    for &(ty, iy) in row_taps {
                        let k = ky[ty];
                        for (o, v) in out.iter_mut().zip(&t[iy * ow..(iy + 1) * ow]) {
                            *o += k * v;
                        }
                    }
                }
            });
        return y;
    }
    y.par_chunks_mut(oh * ow).enumerate().for_each(|(p, yp)| {
        let xp = &x[p * plane..(p + 1) * plane];
        for (oy, row_taps) in rows.iter().enumerate() {
            for (ox, col_taps) in cols.iter().enumerate() {
                let mut acc = 0f32;
                for &(ty, iy) in row_taps {
                    let k = &g.kernel[ty * g.kw..(ty + 1) * g.kw];
                    let xr = &xp[iy * g.width..(iy + 1) * g.width];
                    for &(tx, ix) in col_taps {
                        acc += k[tx] * xr[ix];
                    }
                }
                yp[oy * ow + ox] = acc;
            }
        }
    });
    y
}

/// The adjoint (input gradient) of [`fir`]: `gy: [planes, out_h, out_w]` -> `[planes, height, width]`.
pub fn fir_adjoint(gy: &[f32], g: &FirGeom) -> Vec<f32> {
    let [oh, ow] = g.checked();
    assert_eq!(gy.len(), g.planes * oh * ow, "fir_adjoint: gradient size");
    let (rows, cols) = g.tap_lists();
    let col_runs = runs(&cols, g.kw);
    let plane = g.height * g.width;
    let mut x = par_zeros(g.planes * plane);
    if x.is_empty() {
        return x;
    }
    if let Some((ky, kx)) = &g.separable {
        x.par_chunks_mut(plane)
            .enumerate()
            .for_each_init(Vec::new, |t, (p, xp)| {
                let gp = &gy[p * oh * ow..(p + 1) * oh * ow];
                // The two passes of `fir` transposed, in reverse order.
                t.clear();
                t.resize(g.height * ow, 0.0);
                for (oy, row_taps) in rows.iter().enumerate() {
                    let src = &gp[oy * ow..(oy + 1) * ow];
                    for &(ty, iy) in row_taps {
                        let k = ky[ty];
                        for (o, v) in t[iy * ow..(iy + 1) * ow].iter_mut().zip(src) {
                            *o += k * v;
                        }
                    }
                }
                for iy in 0..g.height {
                    scatter_runs(
                        &mut xp[iy * g.width..(iy + 1) * g.width],
                        &t[iy * ow..(iy + 1) * ow],
                        &col_runs,
                        kx,
                    );
                }
            });
        return x;
    }
    x.par_chunks_mut(plane).enumerate().for_each(|(p, xp)| {
        let gp = &gy[p * oh * ow..(p + 1) * oh * ow];
        for (oy, row_taps) in rows.iter().enumerate() {
            for (ox, col_taps) in cols.iter().enumerate() {
                let v = gp[oy * ow + ox];
                for &(ty, iy) in row_taps {
                    let k = &g.kernel[ty * g.kw..(ty + 1) * g.kw];
                    let xr = &mut xp[iy * g.width..(iy + 1) * g.width];
                    for &(tx, ix) in col_taps {
                        xr[ix] += k[tx] * v;
                    }
                }
            }
        }
    });
    x
}
