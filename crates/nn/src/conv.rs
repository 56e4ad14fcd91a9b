//! `conv2d_resample`: 2D convolution with optional FIR up/downsampling, following the official
//! code path by path (same padding arithmetic, same order of operations), so results agree with
//! the official implementation up to float rounding.

use burn::tensor::{
    backend::Backend,
    module::{conv2d, conv_transpose2d},
    ops::{ConvOptions, ConvTransposeOptions},
    Tensor,
};

use crate::cpu;
use crate::fir::{down_padding, pad_or_crop, up_padding, upfirdn2d, Fir};

/// Plain (grouped) correlation or convolution. `flip_weight = true` is correlation (PyTorch's
/// `conv2d`); `false` flips the kernel first (true convolution).
fn conv_wrapper<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    stride: usize,
    padding: [usize; 2],
    groups: usize,
    transpose: bool,
    flip_weight: bool,
) -> Tensor<B, 4> {
    let [_, _, kh, kw] = w.dims();
    let w = if !flip_weight && (kh > 1 || kw > 1) {
        w.flip([2, 3])
    } else {
        w
    };
    let spec = cpu::ConvSpec {
        stride: [stride, stride],
        padding,
    };
    if transpose {
        let (x, w) = match cpu::try_conv_transpose(x, w, spec, groups) {
            Ok(y) => return y,
            Err(pair) => pair,
        };
        conv_transpose2d(
            x,
            w,
            None,
            ConvTransposeOptions::new([stride, stride], padding, [0, 0], [1, 1], groups),
        )
    } else {
        let (x, w) = match cpu::try_conv2d(x, w, spec, groups) {
            Ok(y) => return y,
            Err(pair) => pair,
        };
        conv2d(
            x,
            w,
            None,
            ConvOptions::new([stride, stride], padding, [1, 1], groups),
        )
    }
}

/// How [`conv2d_resample`] resamples around its convolution: the official function's keyword
/// arguments other than `x`, `w` and `f` (`flip_filter` is always `false`).
///
/// The default is a plain convolution: `up = 1`, `down = 1`, no padding, one group,
/// `flip_weight = true` (the official defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resample {
    /// Upsampling factor (official `up`), at least 1.
    pub up: usize,
    /// Downsampling factor (official `down`), at least 1.
    pub down: usize,
    /// Padding (official `padding`) as `[x0, x1, y0, y1]`, with respect to the upsampled image;
    /// the official code's single int `p` is `[p, p, p, p]`.
    pub padding: [isize; 4],
    /// Number of convolution groups (official `groups`), at least 1.
    pub groups: usize,
    /// `true` = correlation (PyTorch `conv2d`), `false` = convolution (official `flip_weight`).
    pub flip_weight: bool,
}

impl Resample {
    /// The padding the resampling filter sees, `[x0, x1, y0, y1]`: the given padding widened by
    /// the filter's own margins for upsampling and for downsampling (the official formulas).
    pub fn filter_padding(&self, f: &Fir) -> [isize; 4] {
        let mut p = self.padding;
        for (on, margin) in [
            (self.up > 1, up_padding(f, self.up)),
            (self.down > 1, down_padding(f, self.down)),
        ] {
            if on {
                for (a, b) in p.iter_mut().zip(margin) {
                    *a += b;
                }
            }
        }
        p
    }
}

impl Default for Resample {
    fn default() -> Self {
        Self {
            up: 1,
            down: 1,
            padding: [0; 4],
            groups: 1,
            flip_weight: true,
        }
    }
}

/// `conv2d_resample(x, w, f, up, down, padding, groups, flip_weight)` with `flip_filter = false`,
/// the keyword arguments gathered in [`Resample`].
///
/// * `x`: `[N, C_in, H, W]`; `w`: `[C_out, C_in / groups, kh, kw]`.
/// * `f`: the resampling filter (ignored when `up == down == 1`).
/// * `r`: up/downsampling factors, padding (`[x0, x1, y0, y1]` with respect to the upsampled
///   image), groups and `flip_weight`.
pub fn conv2d_resample<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    f: &Fir,
    r: Resample,
) -> Tensor<B, 4> {
    let Resample {
        up,
        down,
        groups,
        flip_weight,
        ..
    } = r;
    assert!(up >= 1 && down >= 1 && groups >= 1);
    let [out_channels, in_per_group, kh, kw] = w.dims();
    let [mut px0, mut px1, mut py0, mut py1] = r.filter_padding(f);
    let u = up as isize;

    // 1x1 kernel with downsampling only: downsample first, then convolve.
    if kw == 1 && kh == 1 && down > 1 && up == 1 {
        let x = upfirdn2d(x, f, 1, down, [px0, px1, py0, py1], false, 1.0);
        return conv_wrapper(x, w, 1, [0, 0], groups, false, flip_weight);
    }
    // 1x1 kernel with upsampling only: convolve first, then upsample.
    if kw == 1 && kh == 1 && up > 1 && down == 1 {
        let x = conv_wrapper(x, w, 1, [0, 0], groups, false, flip_weight);
        return upfirdn2d(x, f, up, 1, [px0, px1, py0, py1], false, (up * up) as f64);
    }
    // Downsampling only: FIR filter (with the padding), then strided convolution.
    if down > 1 && up == 1 {
        let x = upfirdn2d(x, f, 1, 1, [px0, px1, py0, py1], false, 1.0);
        return conv_wrapper(x, w, down, [0, 0], groups, false, flip_weight);
    }
    // Upsampling (optionally followed by downsampling): transposed strided convolution, then FIR.
    if up > 1 {
        let w = if groups == 1 {
            cpu::swap_leading(w)
        } else {
            let w: Tensor<B, 5> = w.reshape([groups, out_channels / groups, in_per_group, kh, kw]);
            w.swap_dims(1, 2)
                .reshape([groups * in_per_group, out_channels / groups, kh, kw])
        };
        px0 -= kw as isize - 1;
        px1 -= kw as isize - u;
        py0 -= kh as isize - 1;
        py1 -= kh as isize - u;
        let pxt = (-px0).min(-px1).max(0);
        let pyt = (-py0).min(-py1).max(0);
        let x = conv_wrapper(
            x,
            w,
            up,
            [pyt as usize, pxt as usize],
            groups,
            true,
            !flip_weight,
        );
        let x = upfirdn2d(
            x,
            f,
            1,
            1,
            [px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt],
            false,
            (up * up) as f64,
        );
        return if down > 1 {
            upfirdn2d(x, f, 1, down, [0, 0, 0, 0], false, 1.0)
        } else {
            x
        };
    }
    // No resampling, symmetric non-negative padding: plain convolution.
    if px0 == px1 && py0 == py1 && px0 >= 0 && py0 >= 0 {
        return conv_wrapper(
            x,
            w,
            1,
            [py0 as usize, px0 as usize],
            groups,
            false,
            flip_weight,
        );
    }
    // Generic fallback (up == 1 here): pad / crop, convolve, then downsample.
    let x = pad_or_crop(x, [px0, px1, py0, py1]);
    let x = conv_wrapper(x, w, 1, [0, 0], groups, false, flip_weight);
    if down > 1 {
        upfirdn2d(x, f, 1, down, [0, 0, 0, 0], false, 1.0)
    } else {
        x
    }
}
