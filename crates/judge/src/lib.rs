//! Judging generated images: FID and KID on the Inception-v3 features of `bestiary-perceptual`, the ProGAN
//! sliced Wasserstein distance, nearest training images, and the image sets and seed renderers they read.
//! Statistics run in f64.

pub mod feature_cache;
pub mod memorability;
pub mod metrics;
pub mod nearest;
pub mod ranking;
pub mod sets;
pub mod swd;

pub use bestiary_perceptual::RgbImage;
pub use metrics::{fid, fid_from_stats, kid, FeatureStats, KidOptions};
pub use nearest::{nearest, CopyCheck, Neighbour};
pub use ranking::{highest_first, seed_tiles};
pub use sets::{load_set, Featurizer, ImageSet, Sampler, SeedRenderer};
pub use swd::{swd, SwdOptions, SwdResult};

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("{0}")]
    Weights(#[from] bestiary_weights::Error),
    #[error("cannot read {path}: {cause}")]
    // `cause` rather than `source`: the message already includes it, so it must not be chained again.
    Io { path: String, cause: std::io::Error },
    #[error("{0}")]
    Perceptual(#[from] bestiary_perceptual::PerceptualError),
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, JudgeError>;
