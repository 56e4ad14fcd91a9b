//! Throughput benchmarks with the same shapes as the peer's timing script (shared/peer/peer_cpu.py):
//! a randomly initialised network of a given size, timed after one warm-up pass.

use crate::{Generator, GeneratorConfig, NoiseMode, SynthesisOptions};
use burn::tensor::backend::Backend;
use std::time::Instant;

/// The network shape both benchmarks take (mapping has 2 layers and z = w, as in the peer script).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct BenchShape {
    pub res: usize,
    pub cbase: usize,
    pub cmax: usize,
    pub z_dim: usize,
    pub batch: usize,
}

impl BenchShape {
    /// The generator config of this shape: fp32, no clamping, 3 channels, unconditional.
    pub fn generator_config(&self) -> Result<GeneratorConfig, crate::ConfigError> {
        let cfg = GeneratorConfig::from_value(&serde_json::json!({
            "z_dim": self.z_dim, "c_dim": 0, "w_dim": self.z_dim, "img_resolution": self.res, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2},
            "synthesis_kwargs": {"channel_base": self.cbase, "channel_max": self.cmax, "num_fp16_res": 0, "conv_clamp": null},
        }))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GenerateBench {
    pub shape: BenchShape,
    pub iters: usize,
    pub seconds: f64,
    pub imgs_per_s: f64,
    /// Elements of every parameter and buffer (the peer script counts parameters only).
    pub g_elements: usize,
}

/// Times `iters` forward passes of a batch (noise const, as the peer script), after one warm-up pass.
pub fn bench_generate<B: Backend>(
    shape: BenchShape,
    iters: usize,
    device: &B::Device,
) -> Result<GenerateBench, crate::ConfigError> {
    let cfg = shape.generator_config()?;
    let g = Generator::<B>::new(&cfg, device);
    let g_elements = g
        .state_dict()
        .values()
        .map(|(s, _)| s.iter().product::<usize>())
        .sum();
    let z = bestiary_nn::host_rng::normal::<B, 2>([shape.batch, shape.z_dim], device);
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };
    // Reading the result back forces asynchronous backends to finish before the clock stops.
    let run = || g.forward(z.clone(), None, 1.0, None, &opts).into_data();
    run();
    let t = Instant::now();
    for _ in 0..iters {
        run();
    }
    let seconds = t.elapsed().as_secs_f64();
    Ok(GenerateBench {
        shape,
        iters,
        seconds,
        imgs_per_s: (shape.batch * iters) as f64 / seconds,
        g_elements,
    })
}
