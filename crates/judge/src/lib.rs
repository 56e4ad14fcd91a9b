//! Judging generated images: the FID Inception-v3 (TF-2015 graph, 2048-d pool3 features), FID, KID and
//! the ProGAN sliced Wasserstein distance. Networks are generic over Burn's `Backend`; statistics run in f64.

pub mod feature_cache;
pub mod inception;
pub mod metrics;
pub mod nearest;
pub mod resmem;
pub mod sets;
pub mod swd;

pub use inception::{preprocess, Inception, FEATURES, INPUT_SIZE};
pub use metrics::{fid, fid_from_stats, kid, FeatureStats, KidOptions};
pub use nearest::{nearest, CopyCheck, Neighbour};
pub use resmem::ResMem;
pub use sets::{load_set, Featurizer, ImageSet, Sampler, SeedRenderer};
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
    #[error("cannot read {path}: {cause}")]
    // `cause` rather than `source`: the message already includes it, so it must not be chained again.
    Io { path: String, cause: std::io::Error },
    #[error("Inception weights: {0}")]
    Network(String),
    #[error("ResMem weights: {0}")]
    ResMem(String),
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, JudgeError>;
