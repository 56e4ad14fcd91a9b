//! Training throughput in the shape and schedule of the peer's timing script (shared/peer/peer_cpu.py):
//! random networks, random reals, no augmentation, G path length every 4 steps and D R1 every 16,
//! one warm-up step, then `iters` timed steps.

use crate::data::MemoryImages;
use crate::options::{AugMode, TrainOptions};
use crate::rng::Rng;
use crate::step::Trainer;
use bestiary_stylegan::bench::BenchShape;
use bestiary_stylegan::{ConfigError, DiscriminatorConfig};
use burn::tensor::backend::Backend;
use std::time::Instant;

#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainBench {
    pub shape: BenchShape,
    pub iters: usize,
    pub seconds: f64,
    pub s_per_kimg: f64,
    pub imgs_per_s: f64,
    pub peak_rss_mb: f64,
}

/// The peer script's discriminator for `shape`: fp32, no clamping, minibatch-stddev groups of 4.
pub fn bench_discriminator(shape: &BenchShape) -> Result<DiscriminatorConfig, ConfigError> {
    DiscriminatorConfig::from_value(&serde_json::json!({
        "c_dim": 0, "img_resolution": shape.res, "img_channels": 3,
        "channel_base": shape.cbase, "channel_max": shape.cmax, "num_fp16_res": 0, "conv_clamp": null,
        "epilogue_kwargs": {"mbstd_group_size": 4.min(shape.batch)},
    }))
}

pub fn bench_train<B: Backend>(
    shape: BenchShape,
    iters: usize,
    device: &B::Device,
) -> Result<TrainBench, ConfigError> {
    let g_cfg = shape.generator_config()?;
    let d_cfg = bench_discriminator(&shape)?;
    let preset = crate::preset("auto", shape.res, 0, 3, 1)?;
    let mut opts = TrainOptions::from_preset(&preset);
    opts.batch = shape.batch;
    opts.lrate_g = 0.0025;
    opts.lrate_d = 0.0025;
    opts.r1_gamma = 0.0002 * (shape.res * shape.res) as f64 / shape.batch as f64;
    opts.pl_weight = 2.0;
    opts.style_mixing_prob = 0.9;
    opts.aug = AugMode::Noaug;
    let mut rng = Rng::new(0);
    let n = shape.res * shape.res * 3;
    let data = MemoryImages {
        resolution: shape.res,
        channels: 3,
        c_dim: 0,
        pixels: (0..shape.batch)
            .map(|_| (0..n).map(|_| rng.below(256) as u8).collect())
            .collect(),
        labels: vec![],
    };
    let mut t = Trainer::<B>::new(g_cfg, d_cfg, opts, device);
    let step_err = |e: crate::StepError| ConfigError::Invalid(e.to_string());
    t.step(&data).map_err(step_err)?;
    let start = Instant::now();
    for _ in 0..iters {
        t.step(&data).map_err(step_err)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let imgs = (iters * shape.batch) as f64;
    Ok(TrainBench {
        shape,
        iters,
        seconds,
        s_per_kimg: seconds / imgs * 1000.0,
        imgs_per_s: imgs / seconds,
        peak_rss_mb: crate::run::peak_rss_mb(),
    })
}
