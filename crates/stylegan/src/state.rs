//! Building networks from weight maps keyed by the official `state_dict` names, and exporting
//! them back (`mapping.fc0.weight`, `synthesis.b4.const`, `b16.fromrgb.weight`, `b4.out.bias`,
//! ...). Scalars (`noise_strength`) are exported with shape `[]`, `resample_filter` buffers as
//! they were loaded (or, for a new network, as the official `setup_filter` stores the config's
//! filter): the networks resample with the stored buffers, as the official ones do.

use bestiary_nn::StateReader;
pub use bestiary_nn::{StateError, WeightMap};
use burn::tensor::backend::Backend;

use crate::config::{DiscriminatorConfig, GeneratorConfig};
use crate::discriminator::Discriminator;
use crate::generator::Generator;

impl<B: Backend> Generator<B> {
    /// Builds a generator for `cfg` and loads `map` (official names, no prefix). Every tensor of
    /// the map must be used: missing names, shape mismatches and unexpected names are errors.
    pub fn from_weights(
        cfg: &GeneratorConfig,
        map: &WeightMap,
        device: &B::Device,
    ) -> Result<Self, StateError> {
        let g = Generator::new(cfg, device);
        let mut r = StateReader::new(map);
        let g = g.load(&mut r, "")?;
        r.finish()?;
        Ok(g)
    }

    /// Every tensor under its official name.
    pub fn state_dict(&self) -> WeightMap {
        let mut m = WeightMap::new();
        self.export(&mut m, "");
        m
    }
}

impl<B: Backend> Discriminator<B> {
    /// Builds a discriminator for `cfg` and loads `map` (official names, no prefix), strictly.
    pub fn from_weights(
        cfg: &DiscriminatorConfig,
        map: &WeightMap,
        device: &B::Device,
    ) -> Result<Self, StateError> {
        let d = Discriminator::new(cfg, device);
        let mut r = StateReader::new(map);
        let d = d.load(&mut r, "")?;
        r.finish()?;
        Ok(d)
    }

    /// Every tensor under its official name.
    pub fn state_dict(&self) -> WeightMap {
        let mut m = WeightMap::new();
        self.export(&mut m, "");
        m
    }
}

/// Keeps the tensors of one network from a map holding several (`G_ema.mapping.fc0.weight` ->
/// `mapping.fc0.weight` for `network = "G_ema"`).
pub fn select_network(map: &WeightMap, network: &str) -> WeightMap {
    let p = format!("{network}.");
    map.iter()
        .filter_map(|(k, v)| k.strip_prefix(&p).map(|s| (s.to_string(), v.clone())))
        .collect()
}
