//! Differentiable adaptive discriminator augmentation (ADA): the official "bgc" pipeline of
//! StyleGAN2-ADA (pixel **b**litting, general **g**eometric and **c**olour transforms).
//!
//! What happens to a batch `[N, C, H, W]` in [`AugmentPipe::forward`]:
//! 1. For each sample, on the CPU in f64 with a private SplitMix64 stream seeded from
//!    `(seed, sample index)`, every transform draws its parameter and its gate (`u < strength * p`).
//!    The geometric ones are composed into one 3x3 inverse matrix (output pixel -> input pixel),
//!    the colour ones into one 4x4 homogeneous colour matrix.
//! 2. Geometry (skipped when every matrix is the identity): samples whose matrix is a pure
//!    pixel blit (x-flip, quarter turns, whole-pixel shifts) are an exact pixel gather; the
//!    others take the official path: mirror padding, 2x sym6 upsampling, bilinear sampling by
//!    gather, sym6 low-pass and 2x downsampling (see [`geom`]).
//! 3. Colour (skipped when every matrix is the identity): a per-sample matrix multiply on the
//!    channel axis (RGB; RGBA keeps its alpha; single-channel images take brightness, contrast
//!    and luma flip through the official channel-average rule).
//!
//! The result is a linear (affine) function of the images built from differentiable Burn ops,
//! so gradients flow through it on `Autodiff<B>` (first order).
//!
//! Checked against the official stylegan2-ada-pytorch implementation: in its
//! `debug_percentile` mode the whole bgc pipeline agrees to ~1e-5 (see the tests).

pub mod geom;
mod params;
mod rng;

#[cfg(test)]
mod tests;

use burn::tensor::{backend::Backend, Tensor, TensorData};

pub use geom::{warp, SYM6};
pub use params::{Mat3, Mat4};

use params::I4;

/// The ADA augmentation pipeline: probability multipliers (1 = on, 0 = off) and parameter
/// ranges of each transform. Field names and units follow the official `AugmentPipe`
/// (standard deviations of scale factors are in log2 units).
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentPipe {
    /// x-flip (mirror left/right): when it fires, flips or not with equal chance. bgc: 1.
    pub xflip: f64,
    /// Rotation by a uniformly chosen multiple of 90 degrees (0, 90, 180, 270). bgc: 1.
    pub rotate90: f64,
    /// Integer translation by whole pixels, uniform in +-`xint_max` of the width/height,
    /// mirrored at the borders. bgc: 1.
    pub xint: f64,
    /// Range of the integer translation relative to the image size. Default 0.125.
    pub xint_max: f64,
    /// Isotropic scaling by `2^(N(0,1) * scale_std)` (lognormal). bgc: 1.
    pub scale: f64,
    /// Arbitrary rotation, applied twice (before and after anisotropic scaling), each with
    /// probability `1 - sqrt(1 - rotate * p)` so that at least one fires with probability
    /// `rotate * p`; angle uniform in +-`rotate_max * pi`. bgc: 1.
    pub rotate: f64,
    /// Anisotropic scaling: x by `s`, y by `1/s`, `s = 2^(N(0,1) * aniso_std)`. bgc: 1.
    pub aniso: f64,
    /// Fractional translation by `N(0,1) * xfrac_std` of the width/height. bgc: 1.
    pub xfrac: f64,
    /// Log2 standard deviation of isotropic scaling. Default 0.2 (i.e. ln-std 0.2 ln 2).
    pub scale_std: f64,
    /// Range of the arbitrary rotation, 1 = full circle (+-pi). Default 1.
    pub rotate_max: f64,
    /// Log2 standard deviation of anisotropic scaling. Default 0.2.
    pub aniso_std: f64,
    /// Standard deviation of the fractional translation relative to the size. Default 0.125.
    pub xfrac_std: f64,
    /// Brightness: adds `N(0,1) * brightness_std` to every colour channel. bgc: 1.
    pub brightness: f64,
    /// Contrast: scales colours by `2^(N(0,1) * contrast_std)` (around 0 = mid-grey). bgc: 1.
    pub contrast: f64,
    /// Luma flip: when it fires, with equal chance reflects colours through the plane
    /// orthogonal to the luma axis (1,1,1)/sqrt(3) (inverts luma, keeps chroma). bgc: 1.
    pub lumaflip: f64,
    /// Hue rotation around the luma axis by an angle uniform in +-`hue_max * pi`. bgc: 1.
    pub hue: f64,
    /// Saturation: scales the chroma (the part orthogonal to the luma axis) by
    /// `2^(N(0,1) * saturation_std)`. bgc: 1.
    pub saturation: f64,
    /// Standard deviation of the brightness offset. Default 0.2.
    pub brightness_std: f64,
    /// Log2 standard deviation of contrast. Default 0.5.
    pub contrast_std: f64,
    /// Range of hue rotation, 1 = full circle. Default 1.
    pub hue_max: f64,
    /// Log2 standard deviation of saturation. Default 1 (ln-std ln 2).
    pub saturation_std: f64,
}

impl Default for AugmentPipe {
    fn default() -> Self {
        Self::none()
    }
}

impl AugmentPipe {
    /// Every transform off, official default ranges.
    pub fn none() -> Self {
        AugmentPipe {
            xflip: 0.0,
            rotate90: 0.0,
            xint: 0.0,
            xint_max: 0.125,
            scale: 0.0,
            rotate: 0.0,
            aniso: 0.0,
            xfrac: 0.0,
            scale_std: 0.2,
            rotate_max: 1.0,
            aniso_std: 0.2,
            xfrac_std: 0.125,
            brightness: 0.0,
            contrast: 0.0,
            lumaflip: 0.0,
            hue: 0.0,
            saturation: 0.0,
            brightness_std: 0.2,
            contrast_std: 0.5,
            hue_max: 1.0,
            saturation_std: 1.0,
        }
    }

    /// Pixel blitting only (the official "blit" preset).
    pub fn blit() -> Self {
        AugmentPipe {
            xflip: 1.0,
            rotate90: 1.0,
            xint: 1.0,
            ..Self::none()
        }
    }

    /// Blitting + general geometry (the official "bg" preset).
    pub fn bg() -> Self {
        AugmentPipe {
            scale: 1.0,
            rotate: 1.0,
            aniso: 1.0,
            xfrac: 1.0,
            ..Self::blit()
        }
    }

    /// Blitting + geometry + colour: the official "bgc" preset, used by default in ADA training.
    pub fn bgc() -> Self {
        AugmentPipe {
            brightness: 1.0,
            contrast: 1.0,
            lumaflip: 1.0,
            hue: 1.0,
            saturation: 1.0,
            ..Self::bg()
        }
    }

    /// Augments a batch `[N, C, H, W]` (values roughly in [-1, 1]) with overall probability `p`.
    /// The random choices depend only on `(seed, sample index, p)`: the same seed, `p` and
    /// input give a bit-identical output. `p <= 0` (or every transform off) returns the input
    /// unchanged. Differentiable with respect to `images`.
    pub fn forward<B: Backend>(&self, images: Tensor<B, 4>, p: f32, seed: u64) -> Tensor<B, 4> {
        let p = p as f64;
        let [n, c, h, w] = images.dims();
        // `!(p > 0)` also catches NaN.
        if !(p > 0.0) || n == 0 || c == 0 || h == 0 || w == 0 {
            return images;
        }
        // Hue and saturation only exist for colour images (as in the official code); turning
        // them off changes no other parameter, since every number is always drawn.
        let rgb = c == 3 || c == 4;
        let gray_pipe;
        let pipe = if rgb {
            self
        } else {
            gray_pipe = AugmentPipe {
                hue: 0.0,
                saturation: 0.0,
                ..self.clone()
            };
            &gray_pipe
        };
        let draws: Vec<_> = (0..n)
            .map(|i| params::draw(pipe, p, seed, i as u64, w, h))
            .collect();
        let g: Vec<Mat3> = draws.iter().map(|d| d.g_inv).collect();
        let cm: Vec<Mat4> = draws.iter().map(|d| d.color).collect();
        let images = geom::warp(images, &g);
        apply_color(images, &cm)
    }
}

/// Applies one colour matrix per sample: RGB and RGBA (alpha untouched) by the 3x4 matrix,
/// any other channel count by the official single-channel rule.
fn apply_color<B: Backend>(images: Tensor<B, 4>, cm: &[Mat4]) -> Tensor<B, 4> {
    match images.dims()[1] {
        3 | 4 => apply_rgb(images, cm),
        _ => {
            let ab: Vec<(f64, f64)> = cm.iter().map(params::gray_affine).collect();
            apply_gray(images, &ab)
        }
    }
}

fn is_identity_rgb(m: &Mat4) -> bool {
    m[..3] == I4[..3]
}

/// RGB (and RGBA, alpha untouched) colour transform: `rgb' = M rgb + b` per sample.
fn apply_rgb<B: Backend>(images: Tensor<B, 4>, cm: &[Mat4]) -> Tensor<B, 4> {
    if cm.iter().all(is_identity_rgb) {
        return images;
    }
    let [n, c, h, w] = images.dims();
    let device = images.device();
    let dtype = images.dtype();
    let (rgb, alpha) = if c == 4 {
        (images.clone().narrow(1, 0, 3), Some(images.narrow(1, 3, 1)))
    } else {
        (images, None)
    };
    let mut mv = Vec::with_capacity(n * 9);
    let mut bv = Vec::with_capacity(n * 3);
    for m in cm {
        for row in &m[..3] {
            mv.extend(row[..3].iter().map(|&v| v as f32));
            bv.push(row[3] as f32);
        }
    }
    let mt: Tensor<B, 3> = Tensor::from_data(TensorData::new(mv, [n, 3, 3]), (&device, dtype));
    let bt: Tensor<B, 3> = Tensor::from_data(TensorData::new(bv, [n, 3, 1]), (&device, dtype));
    let x: Tensor<B, 3> = rgb.reshape([n, 3, h * w]);
    let y = (mt.matmul(x) + bt).reshape([n, 3, h, w]);
    match alpha {
        Some(a) => Tensor::cat(vec![y, a], 1),
        None => y,
    }
}

/// Single-channel (or other non-RGB) colour transform: `x' = a x + b` per sample, all channels.
fn apply_gray<B: Backend>(images: Tensor<B, 4>, ab: &[(f64, f64)]) -> Tensor<B, 4> {
    if ab.iter().all(|&(a, b)| a == 1.0 && b == 0.0) {
        return images;
    }
    let n = ab.len();
    let device = images.device();
    let dtype = images.dtype();
    let av: Vec<f32> = ab.iter().map(|&(a, _)| a as f32).collect();
    let bv: Vec<f32> = ab.iter().map(|&(_, b)| b as f32).collect();
    let at: Tensor<B, 4> = Tensor::from_data(TensorData::new(av, [n, 1, 1, 1]), (&device, dtype));
    let bt: Tensor<B, 4> = Tensor::from_data(TensorData::new(bv, [n, 1, 1, 1]), (&device, dtype));
    images * at + bt
}
