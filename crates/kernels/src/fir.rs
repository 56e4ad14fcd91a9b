//! FIR resampling of independent planes with the semantics of the official `upfirdn2d`: insert
//! `up - 1` zeros after every pixel, pad (negative pads crop), correlate with a 2D kernel, keep
//! every `down`-th pixel. [`fir`] and its exact adjoint [`fir_adjoint`] walk the same list of
//! (output, tap, input) triples, one gathering and the other scattering, so each is the other's
//! gradient.

use rayon::prelude::*;

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
fn taps(out: usize, size: usize, up: usize, down: usize, pad0: isize, k: usize) -> Vec<Vec<(usize, usize)>> {
    (0..out)
        .map(|o| {
            (0..k)
                .filter_map(|t| {
                    let i = (o * down + t) as isize - pad0;
                    let up = up as isize;
                    (i >= 0 && i % up == 0 && ((i / up) as usize) < size).then(|| (t, (i / up) as usize))
                })
                .collect()
        })
        .collect()
}

impl FirGeom {
    /// Output height and width, or `None` when the padded image is smaller than the kernel.
    pub fn output(&self) -> Option<[usize; 2]> {
        let [x0, x1, y0, y1] = self.pad;
        let o = |size: usize, p0: isize, p1: isize, k: usize| {
            let span = (size * self.up) as isize + p0 + p1 - k as isize;
            (self.up > 0 && self.down > 0 && k > 0 && span >= 0).then(|| span as usize / self.down + 1)
        };
        Some([o(self.height, y0, y1, self.kh)?, o(self.width, x0, x1, self.kw)?])
    }

    fn checked(&self) -> [usize; 2] {
        assert_eq!(self.kernel.len(), self.kh * self.kw, "fir: kernel size");
        if let Some((ky, kx)) = &self.separable {
            assert!(ky.len() == self.kh && kx.len() == self.kw, "fir: separable taps size");
        }
        self.output().expect("fir: the kernel does not fit the padded image")
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
    let mut y = vec![0f32; g.planes * oh * ow];
    if y.is_empty() {
        return y;
    }
    if let Some((ky, kx)) = &g.separable {
        y.par_chunks_mut(oh * ow).enumerate().for_each_init(Vec::new, |t, (p, yp)| {
            let xp = &x[p * plane..(p + 1) * plane];
            // Along the rows: t[iy][ox], then down the columns, a whole row at a time.
            t.clear();
            t.resize(g.height * ow, 0.0);
            for iy in 0..g.height {
                let xr = &xp[iy * g.width..(iy + 1) * g.width];
                for (ox, col_taps) in cols.iter().enumerate() {
                    t[iy * ow + ox] = col_taps.iter().map(|&(tx, ix)| kx[tx] * xr[ix]).sum();
                }
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
    let plane = g.height * g.width;
    let mut x = vec![0f32; g.planes * plane];
    if x.is_empty() {
        return x;
    }
    if let Some((ky, kx)) = &g.separable {
        x.par_chunks_mut(plane).enumerate().for_each_init(Vec::new, |t, (p, xp)| {
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
                let xr = &mut xp[iy * g.width..(iy + 1) * g.width];
                for (ox, col_taps) in cols.iter().enumerate() {
                    let v = t[iy * ow + ox];
                    for &(tx, ix) in col_taps {
                        xr[ix] += kx[tx] * v;
                    }
                }
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
