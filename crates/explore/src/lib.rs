//! Exploring a trained StyleGAN2-ADA generator: which W vector drives which resolution, style mixing and
//! chimeras, network blending, and SeFa directions with the edits they make. Conditional networks are
//! explored one class at a time (`classes`: names or indices, the one-hot label the mapping takes).
//!
//! Everything here works either on host `f32` W vectors (`[num_ws * w_dim]` per image, row-major) or on
//! model files, so the algorithms are testable without a backend; rendering goes through
//! [`bestiary_stylegan::Generator`].

pub mod blend;
pub mod classes;
pub mod directions_file;
pub mod ganspace;
pub mod layers;
pub mod local_edit;
pub mod memorable;
pub mod mix;
pub mod preview;
pub mod project;
pub mod sefa;
pub mod showcase;
pub mod w_file;
pub mod walk;

pub use blend::blend_models;
pub use classes::{class_names, describe_classes, resolve_class};
pub use ganspace::{ganspace_directions, ganspace_directions_of_class, Covariance, Pca};
pub use layers::{parse_layers, ws_resolutions, LayerGroups};
pub use local_edit::{
    check_blend_layer, default_blend_layer, default_feather, local_edit, local_edit_tensor,
    BinaryMask, LocalEditImages, MaskSettings,
};
pub use memorable::{memorable, Memorable, MemorableOptions, Scorer};
pub use mix::{
    check_truncation, chimera_ws, mix_ws, render_ws, render_ws_truncated, seed_ws,
    seed_ws_of_class, style_mixing_grid, tile_grid, walk_ws, MixGrid, MixSpec,
};
pub use project::{project, ProjectOptions, Projection, Space};
pub use sefa::{apply_direction, projection_sigma, seed_sigma, sefa_directions};
pub use walk::{
    catmull_rom, circle_at, eased_positions, lerp, loop_angles, slerp, spline_at, trunc_schedule,
    walk, walk_positions, Easing, Interp, NoiseLoop, WalkSpace, WalkSpec,
};

/// Errors of the exploring tools; messages are one line, ready for the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Model(#[from] bestiary_stylegan::ModelError),
    #[error("{0}")]
    Judge(#[from] bestiary_judge::JudgeError),
    #[error("{0}")]
    Image(#[from] bestiary_canvas::Error),
}

pub type Result<T> = std::result::Result<T, ExploreError>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(ExploreError::Invalid(msg.into()))
}
