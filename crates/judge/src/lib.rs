//! Judging generated images: the FID Inception-v3 (TF-2015 graph, 2048-d pool3 features), FID, KID and
//! the ProGAN sliced Wasserstein distance. Networks are generic over Burn's `Backend`; statistics run in f64.

pub mod inception;
pub mod metrics;
pub mod swd;

pub use inception::{preprocess, Inception, FEATURES, INPUT_SIZE};
pub use metrics::{fid, fid_from_stats, kid, FeatureStats, KidOptions};
pub use swd::{swd, SwdOptions, SwdResult};

/// A decoded RGB image: `data` is `height * width * 3` bytes, row-major, channels last.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("{0}")]
    Weights(#[from] bestiary_weights::Error),
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("Inception weights: {0}")]
    Network(String),
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, JudgeError>;
