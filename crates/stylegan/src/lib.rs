//! StyleGAN2-ADA generator and discriminator in Burn, numerically faithful to the official
//! PyTorch implementation (NVlabs/stylegan2-ada-pytorch), with configs that read and write the
//! official constructor kwargs and weights keyed by the official `state_dict` names; and ours beside
//! it, a discriminator on frozen VGG16 features (`feature_discriminator`).

pub mod bench;
pub mod config;
pub mod discriminator;
pub mod feature_discriminator;
pub mod generator;
pub mod loading;
pub mod mapping;
pub mod model_file;
pub mod sampling;
pub mod seed;
pub mod snapshot;
pub mod state;
pub mod synthesis;

pub use bestiary_nn::{host_rng, ModConv};
pub use config::{
    Architecture, ConfigError, DiscriminatorBlockConfig, DiscriminatorConfig, EpilogueConfig,
    GeneratorConfig, MappingConfig, SynthesisConfig,
};
pub use discriminator::Discriminator;
pub use feature_discriminator::{FeatureDiscriminator, FeatureDiscriminatorConfig};
pub use generator::{to_uint8_nhwc, Generator};
pub use loading::{load_discriminator, load_generator, load_generator_named, weight_map};
pub use mapping::MappingNetwork;
pub use model_file::{resolve_model_path, ModelError, ModelFile};
pub use state::{select_network, StateError, WeightMap};
pub use synthesis::{NoiseMode, SynthesisNetwork, SynthesisOptions};
