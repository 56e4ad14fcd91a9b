//! Neural texture synthesis by Gram-matrix matching (Gatys, Ecker & Bethge 2015) on the VGG16 of
//! `bestiary-perceptual`.
//!
//! - [`gram`]: Gram matrices of feature maps and the relative Gram loss.
//! - [`synth`]: texture synthesis from noise (multi-scale, optional seamless tiling, blends of several
//!   sources, colour histogram matching at the end).
//! - [`source_set`]: many textures from a folder of sources, each seed imitating one of them.

pub mod color;
pub mod gram;
pub mod rng;
pub mod source_set;
pub mod synth;

pub use color::Planar;
pub use gram::{gram, gram_loss};
pub use source_set::SourceSet;
pub use synth::{
    dataset_name, snapshot_name, synthesize, Event, Optimizer, SynthOptions, Synthesis, Targets,
};

/// Errors of this crate, each one line.
#[derive(Debug, thiserror::Error)]
pub enum TextureError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Canvas(#[from] bestiary_canvas::Error),
    #[error(transparent)]
    Perceptual(#[from] bestiary_perceptual::PerceptualError),
}

pub type Result<T> = std::result::Result<T, TextureError>;
