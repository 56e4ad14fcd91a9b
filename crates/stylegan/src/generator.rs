//! The generator: mapping + synthesis.

use bestiary_nn::{StateError, StateReader, WeightMap};
use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use crate::config::GeneratorConfig;
use crate::mapping::MappingNetwork;
use crate::synthesis::{SynthesisNetwork, SynthesisOptions};

/// The official `Generator`.
#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    /// `mapping`.
    pub mapping: MappingNetwork<B>,
    /// `synthesis`.
    pub synthesis: SynthesisNetwork<B>,
    /// Latent size.
    pub z_dim: usize,
    /// Label size.
    pub c_dim: usize,
    /// W size.
    pub w_dim: usize,
    /// Output resolution.
    pub img_resolution: usize,
    /// Output channels.
    pub img_channels: usize,
}

impl<B: Backend> Generator<B> {
    /// Official construction and (random) initialisation. Panics on an invalid config
    /// (see [`GeneratorConfig::validate`]).
    pub fn new(cfg: &GeneratorConfig, device: &B::Device) -> Self {
        cfg.validate().expect("invalid generator config");
        let synthesis = SynthesisNetwork::new(cfg, device);
        let num_ws = synthesis.num_ws;
        let mapping = MappingNetwork::new(
            cfg.z_dim,
            cfg.c_dim,
            cfg.w_dim,
            Some(num_ws),
            &cfg.mapping_kwargs,
            device,
        );
        Generator {
            mapping,
            synthesis,
            z_dim: cfg.z_dim,
            c_dim: cfg.c_dim,
            w_dim: cfg.w_dim,
            img_resolution: cfg.img_resolution,
            img_channels: cfg.img_channels,
        }
    }

    /// Number of W vectors the synthesis network takes.
    pub fn num_ws(&self) -> usize {
        self.synthesis.num_ws
    }

    /// z `[N, z_dim]`, c `[N, c_dim]` (conditional only) -> ws `[N, num_ws, w_dim]`, truncated
    /// towards `w_avg` by `psi` for the first `cutoff` ws (all when `None`).
    pub fn mapping(
        &self,
        z: Tensor<B, 2>,
        c: Option<Tensor<B, 2>>,
        psi: f64,
        cutoff: Option<usize>,
    ) -> Tensor<B, 3> {
        let z = (self.z_dim > 0).then_some(z);
        self.mapping.forward(z, c, psi, cutoff)
    }

    /// ws `[N, num_ws, w_dim]` -> image `[N, img_channels, res, res]`, about [-1, 1].
    pub fn synthesis(&self, ws: Tensor<B, 3>, opts: &SynthesisOptions) -> Tensor<B, 4> {
        self.synthesis.forward(ws, opts)
    }

    /// `synthesis(mapping(z, c, psi, cutoff))`.
    pub fn forward(
        &self,
        z: Tensor<B, 2>,
        c: Option<Tensor<B, 2>>,
        psi: f64,
        cutoff: Option<usize>,
        opts: &SynthesisOptions,
    ) -> Tensor<B, 4> {
        let ws = self.mapping(z, c, psi, cutoff);
        self.synthesis(ws, opts)
    }
}

/// Converts images `[N, C, H, W]` in [-1, 1] to 8-bit NHWC exactly as the official scripts do:
/// `(img * 127.5 + 128).clamp(0, 255)` then a cast that truncates toward zero.
pub fn to_uint8_nhwc<B: Backend>(img: Tensor<B, 4>) -> Vec<u8> {
    let img = (img.permute([0, 2, 3, 1]) * 127.5 + 128.0).clamp(0.0, 255.0);
    let v = img
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data");
    v.into_iter().map(|x| x as u8).collect()
}

// Weight loading/export for the generator lives here so that `state.rs` stays about names.
impl<B: Backend> Generator<B> {
    /// Loads official-named weights (`mapping.*`, `synthesis.*`) into this generator.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let join = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}.{n}")
            }
        };
        let synthesis = self.synthesis.load(r, &join("synthesis"))?;
        let mapping = self.mapping.load(r, &join("mapping"))?;
        Ok(Generator {
            synthesis,
            mapping,
            ..self
        })
    }

    /// Exports every tensor under its official name (with `prefix.` prepended when non-empty).
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        let join = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("{prefix}.{n}")
            }
        };
        self.synthesis.export(out, &join("synthesis"));
        self.mapping.export(out, &join("mapping"));
    }
}
