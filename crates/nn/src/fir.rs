//! FIR resampling with the semantics of the official `upfirdn2d` op. On the CPU backend it runs
//! bestiary's direct kernel ([`crate::cpu::try_fir`]); elsewhere it is built from ordinary Burn
//! convolutions (each channel is folded into the batch dimension and filtered with a
//! single-channel `conv2d` / `conv_transpose2d`), zero padding and slicing. Both stay twice
//! differentiable under nested autodiff.

use burn::tensor::{
    backend::Backend,
    module::{conv2d, conv_transpose2d},
    ops::{ConvOptions, ConvTransposeOptions, PadMode},
    Tensor, TensorData,
};

/// A 2D FIR filter prepared like the official `setup_filter`: normalized to sum 1 and stored as a
/// 2D array `[fh, fw]` (row-major). A 1D filter of fewer than 8 taps becomes its outer product
/// (the official code keeps filters of 8 taps or more separable; the 2D outer product is the same
/// filter, so we always store 2D and remember whether it factorizes).
#[derive(Debug, Clone, PartialEq)]
pub struct Fir {
    /// Filter height.
    pub fh: usize,
    /// Filter width.
    pub fw: usize,
    /// Row-major `[fh, fw]` taps (already normalized, gain 1).
    pub taps: Vec<f32>,
    /// The 1D taps when the filter is an outer product `f ⊗ f` (normalized so that `f ⊗ f` = taps).
    pub separable: Option<Vec<f32>>,
    /// Whether the official code stores this filter as 1D (>= 8 taps): only changes the shape
    /// of the exported `resample_filter` buffer.
    pub stored_1d: bool,
}

impl Fir {
    /// Prepares a filter from 1D taps, as `setup_filter(f)` with `normalize=True`.
    pub fn from_1d(f: &[f32]) -> Self {
        assert!(!f.is_empty(), "empty FIR filter");
        let sum: f32 = f.iter().sum();
        // The official code normalizes the 2D product by its sum; for a separable filter that is
        // (sum f)^2. Normalize in f32 exactly like torch would: build the product, divide by its sum.
        let n = f.len();
        let mut taps = Vec::with_capacity(n * n);
        for a in f {
            for b in f {
                taps.push(a * b);
            }
        }
        let s2: f32 = taps.iter().sum();
        for t in taps.iter_mut() {
            *t /= s2;
        }
        let one_d: Vec<f32> = f.iter().map(|v| v / sum).collect();
        Fir {
            fh: n,
            fw: n,
            taps,
            separable: Some(one_d),
            stored_1d: n >= 8,
        }
    }

    /// Prepares a non-separable 2D filter `[fh, fw]` (normalized to sum 1).
    pub fn from_2d(fh: usize, fw: usize, f: &[f32]) -> Self {
        assert_eq!(f.len(), fh * fw, "FIR filter data does not match its shape");
        let s: f32 = f.iter().sum();
        Fir {
            fh,
            fw,
            taps: f.iter().map(|v| v / s).collect(),
            separable: None,
            stored_1d: false,
        }
    }

    /// The identity filter (`f = None` in the official code).
    pub fn identity() -> Self {
        Fir {
            fh: 1,
            fw: 1,
            taps: vec![1.0],
            separable: Some(vec![1.0]),
            stored_1d: false,
        }
    }

    /// The default StyleGAN2 filter `[1, 3, 3, 1]`.
    pub fn default_stylegan() -> Self {
        Self::from_1d(&[1.0, 3.0, 3.0, 1.0])
    }

    /// The filter a stored `resample_filter` buffer holds, taps taken as they are (the official
    /// networks use the buffer without normalising it again): shape `[n]` is a separable filter
    /// applied along both axes, `[fh, fw]` a 2D one. A 2D buffer that is exactly what
    /// [`Fir::from_1d`] makes from its row sums keeps that separable form (the fast path), so
    /// the default `[1, 3, 3, 1]` buffer gives exactly [`Fir::default_stylegan`].
    pub fn from_buffer(shape: &[usize], data: &[f32]) -> Result<Self, String> {
        let numel: usize = shape.iter().product();
        if numel == 0 || numel != data.len() {
            return Err(format!(
                "shape {shape:?} with {} values is not a filter",
                data.len()
            ));
        }
        if let Some(v) = data.iter().find(|v| !v.is_finite()) {
            return Err(format!("holds the non-finite tap {v}"));
        }
        match *shape {
            [n] => Ok(Fir {
                fh: n,
                fw: n,
                taps: data
                    .iter()
                    .flat_map(|a| data.iter().map(move |b| a * b))
                    .collect(),
                separable: Some(data.to_vec()),
                stored_1d: true,
            }),
            [fh, fw] => {
                if fh == fw {
                    let rows: Vec<f32> = data.chunks_exact(fw).map(|r| r.iter().sum()).collect();
                    if rows.iter().sum::<f32>() != 0.0 {
                        let f = Fir::from_1d(&rows);
                        if f.taps == data {
                            return Ok(Fir {
                                stored_1d: false,
                                ..f
                            });
                        }
                    }
                }
                Ok(Fir {
                    fh,
                    fw,
                    taps: data.to_vec(),
                    separable: None,
                    stored_1d: false,
                })
            }
            _ => Err(format!("shape {shape:?} is neither 1D nor 2D")),
        }
    }

    /// The filter as the official `resample_filter` buffer: shape and data.
    pub fn buffer(&self) -> (Vec<usize>, Vec<f32>) {
        match (&self.separable, self.stored_1d) {
            (Some(f), true) => (vec![f.len()], f.clone()),
            _ => (vec![self.fh, self.fw], self.taps.clone()),
        }
    }

    /// The 2D kernel used by a correlation (`conv2d`) that implements the convolution with
    /// this filter: flipped unless `flip_filter`, times `gain`. Shape `[1, 1, fh, fw]`.
    fn kernel<B: Backend>(&self, flip_filter: bool, gain: f64, device: &B::Device) -> Tensor<B, 4> {
        let k = self.correlation_taps(flip_filter, gain);
        Tensor::from_data(TensorData::new(k, [1, 1, self.fh, self.fw]), device)
    }

    /// [`Fir::correlation_taps`] as (column taps, row taps) when the filter is separable.
    pub fn correlation_separable(
        &self,
        flip_filter: bool,
        gain: f64,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        let f = self.separable.as_ref()?;
        let oriented = |scale: f64| -> Vec<f32> {
            let mut v: Vec<f32> = f.iter().map(|t| (*t as f64 * scale) as f32).collect();
            if !flip_filter {
                v.reverse();
            }
            v
        };
        Some((oriented(gain), oriented(1.0)))
    }

    /// The taps `[fh][fw]` of the correlation that applies this filter: flipped unless
    /// `flip_filter`, times `gain`.
    pub fn correlation_taps(&self, flip_filter: bool, gain: f64) -> Vec<f32> {
        let mut k = vec![0f32; self.fh * self.fw];
        for y in 0..self.fh {
            for x in 0..self.fw {
                let (sy, sx) = if flip_filter {
                    (y, x)
                } else {
                    (self.fh - 1 - y, self.fw - 1 - x)
                };
                k[y * self.fw + x] = (self.taps[sy * self.fw + sx] as f64 * gain) as f32;
            }
        }
        k
    }
}

/// Pads (positive) or crops (negative) the last two dimensions: `[x0, x1, y0, y1]` as in the
/// official padding convention.
pub fn pad_or_crop<B: Backend>(x: Tensor<B, 4>, pad: [isize; 4]) -> Tensor<B, 4> {
    let [px0, px1, py0, py1] = pad;
    let [n, c, h, w] = x.dims();
    let mut x = x;
    if px0 < 0 || px1 < 0 || py0 < 0 || py1 < 0 {
        let y0 = (-py0).max(0) as usize;
        let y1 = h - (-py1).max(0) as usize;
        let x0 = (-px0).max(0) as usize;
        let x1 = w - (-px1).max(0) as usize;
        assert!(y0 < y1 && x0 < x1, "padding crops the whole image");
        x = x.slice([0..n, 0..c, y0..y1, x0..x1]);
    }
    if px0 > 0 || px1 > 0 || py0 > 0 || py1 > 0 {
        x = x.pad(
            (
                px0.max(0) as usize,
                px1.max(0) as usize,
                py0.max(0) as usize,
                py1.max(0) as usize,
            ),
            PadMode::Constant(0.0),
        );
    }
    x
}

/// Keeps every `down`-th pixel (starting at 0) along H and W, using only reshape and slicing.
fn subsample<B: Backend>(x: Tensor<B, 4>, down: usize) -> Tensor<B, 4> {
    if down == 1 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    let ho = h.div_ceil(down);
    let wo = w.div_ceil(down);
    let x = x.pad((0, wo * down - w, 0, ho * down - h), PadMode::Constant(0.0));
    let x: Tensor<B, 6> = x.reshape([n, c, ho, down, wo, down]);
    x.slice([0..n, 0..c, 0..ho, 0..1, 0..wo, 0..1])
        .reshape([n, c, ho, wo])
}

/// `upfirdn2d(x, f, up, down, padding, flip_filter, gain)`: for each channel, upsample by
/// inserting `up-1` zeros after each pixel, pad by `padding = [x0, x1, y0, y1]` (negative
/// crops), convolve with the 2D filter (times `gain`), keep every `down`-th pixel.
pub fn upfirdn2d<B: Backend>(
    x: Tensor<B, 4>,
    f: &Fir,
    up: usize,
    down: usize,
    padding: [isize; 4],
    flip_filter: bool,
    gain: f64,
) -> Tensor<B, 4> {
    assert!(up >= 1 && down >= 1);
    let taps = f.correlation_taps(flip_filter, gain);
    let separable = f.correlation_separable(flip_filter, gain);
    match crate::cpu::try_fir(x, taps, separable, [f.fh, f.fw], up, down, padding) {
        Ok(y) => y,
        Err(x) => upfirdn2d_composed(x, f, up, down, padding, flip_filter, gain),
    }
}

/// [`upfirdn2d`] from Burn convolutions, padding and slicing (any backend).
pub(crate) fn upfirdn2d_composed<B: Backend>(
    x: Tensor<B, 4>,
    f: &Fir,
    up: usize,
    down: usize,
    padding: [isize; 4],
    flip_filter: bool,
    gain: f64,
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let (fh, fw) = (f.fh, f.fw);
    let x: Tensor<B, 4> = x.reshape([n * c, 1, h, w]);
    let [px0, px1, py0, py1] = padding;
    let y = if up == 1 {
        let oh = h as isize + py0 + py1 - fh as isize + 1;
        let ow = w as isize + px0 + px1 - fw as isize + 1;
        assert!(oh > 0 && ow > 0, "upfirdn2d: empty output");
        let k = f.kernel::<B>(flip_filter, gain, &device);
        if px0 == px1 && py0 == py1 && px0 >= 0 && py0 >= 0 {
            conv2d(
                x,
                k,
                None,
                ConvOptions::new([down, down], [py0 as usize, px0 as usize], [1, 1], 1),
            )
        } else {
            let x = pad_or_crop(x, padding);
            conv2d(
                x,
                k,
                None,
                ConvOptions::new([down, down], [0, 0], [1, 1], 1),
            )
        }
    } else {
        // Zero insertion + padding + convolution with f == a strided transposed convolution
        // with the (correlation-)flipped kernel, read through a window that starts at
        // `f - 1 - p0` of the full transposed output and ends `f - up - p1` before its end.
        let k = f.kernel::<B>(flip_filter, gain, &device).flip([2, 3]);
        let (sy, ey) = (fh as isize - 1 - py0, fh as isize - up as isize - py1);
        let (sx, ex) = (fw as isize - 1 - px0, fw as isize - up as isize - px1);
        let ppy = sy.min(ey).max(0);
        let ppx = sx.min(ex).max(0);
        let y = conv_transpose2d(
            x,
            k,
            None,
            ConvTransposeOptions::new([up, up], [ppy as usize, ppx as usize], [0, 0], [1, 1], 1),
        );
        let y = pad_or_crop(y, [-(sx - ppx), -(ex - ppx), -(sy - ppy), -(ey - ppy)]);
        subsample(y, down)
    };
    let [_, _, oh, ow] = y.dims();
    y.reshape([n, c, oh, ow])
}

/// Padding `[x0, x1, y0, y1]` with which `upfirdn2d` by `f` upsamples by exactly `up` (the official
/// upsample2d's). Floored halves, as Python's `//`: a 1-tap filter gives -1 where truncation gives 0.
pub fn up_padding(f: &Fir, up: usize) -> [isize; 4] {
    let (fw, fh, u) = (f.fw as isize, f.fh as isize, up as isize);
    [
        (fw + u - 1).div_euclid(2),
        (fw - u).div_euclid(2),
        (fh + u - 1).div_euclid(2),
        (fh - u).div_euclid(2),
    ]
}

/// Padding `[x0, x1, y0, y1]` with which `upfirdn2d` by `f` downsamples by exactly `down`.
pub fn down_padding(f: &Fir, down: usize) -> [isize; 4] {
    let (fw, fh, d) = (f.fw as isize, f.fh as isize, down as isize);
    [
        (fw - d + 1).div_euclid(2),
        (fw - d).div_euclid(2),
        (fh - d + 1).div_euclid(2),
        (fh - d).div_euclid(2),
    ]
}

/// `upsample2d`: upsample by `up` with padding chosen so that the output is `up` times larger,
/// gain `up^2` (so that a constant image keeps its value).
pub fn upsample2d<B: Backend>(x: Tensor<B, 4>, f: &Fir, up: usize) -> Tensor<B, 4> {
    upfirdn2d(x, f, up, 1, up_padding(f, up), false, (up * up) as f64)
}

/// `downsample2d`: filter and keep every `down`-th pixel, output `down` times smaller.
pub fn downsample2d<B: Backend>(x: Tensor<B, 4>, f: &Fir, down: usize) -> Tensor<B, 4> {
    upfirdn2d(x, f, 1, down, down_padding(f, down), false, 1.0)
}

/// `filter2d`: filter keeping the image size.
pub fn filter2d<B: Backend>(x: Tensor<B, 4>, f: &Fir) -> Tensor<B, 4> {
    let (fw, fh) = (f.fw as isize, f.fh as isize);
    let p = [fw / 2, (fw - 1) / 2, fh / 2, (fh - 1) / 2];
    upfirdn2d(x, f, 1, 1, p, false, 1.0)
}
