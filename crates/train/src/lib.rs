//! StyleGAN2-ADA training: the official losses and lazy regularization, Adam, G_ema, ADA steering,
//! snapshots and exact resume.

pub mod adam;
pub mod autodiff;
pub mod bench;
pub mod checkpoint;
pub mod critic;
pub mod data;
pub mod device_parity;
pub mod ema;
pub mod folder;
pub mod from_dataset;
pub mod loss;
pub mod new_run;
pub mod options;
pub mod presets;
pub mod rng;
pub mod run;
pub mod step;
pub mod transfer;

pub use autodiff::{Ad, Ad2};
pub use critic::{Critic, FeatureCritic};
pub use data::{ImageSet, MemoryImages};
pub use new_run::{NewRunError, NewRunOptions};
pub use options::{AugMode, CriticKind, TrainOptions};
pub use presets::{preset, Preset, PRESETS};
pub use step::{Progress, StepError, StepStats, Trainer};
