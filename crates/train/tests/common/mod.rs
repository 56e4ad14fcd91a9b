//! Tiny networks and a classic-engine dataset for the training tests.
#![allow(dead_code)]

pub mod finite_diff;

use bestiary_stylegan::{DiscriminatorConfig, GeneratorConfig};
use bestiary_train::{MemoryImages, TrainOptions};
use std::sync::Mutex;

/// Burn's CPU random generator is global to the process: tests that need exact replay hold this.
pub static RNG_LOCK: Mutex<()> = Mutex::new(());

pub fn tiny_configs(
    res: usize,
    c_dim: usize,
    mbstd: usize,
) -> (GeneratorConfig, DiscriminatorConfig) {
    configs_with(res, c_dim, mbstd, "lrelu")
}

/// Tiny networks with every hidden activation set to `act` (e.g. "swish", smooth everywhere).
pub fn configs_with(
    res: usize,
    c_dim: usize,
    mbstd: usize,
    act: &str,
) -> (GeneratorConfig, DiscriminatorConfig) {
    let g = GeneratorConfig::from_value(&serde_json::json!({
        "z_dim": 8, "c_dim": c_dim, "w_dim": 8, "img_resolution": res, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2, "activation": act},
        "synthesis_kwargs": {"channel_base": 64, "channel_max": 8, "num_fp16_res": 0, "conv_clamp": null, "activation": act},
    }))
    .unwrap();
    let d = DiscriminatorConfig::from_value(&serde_json::json!({
        "c_dim": c_dim, "img_resolution": res, "img_channels": 3,
        "channel_base": 64, "channel_max": 8, "num_fp16_res": 0, "conv_clamp": null,
        "block_kwargs": {"activation": act},
        "epilogue_kwargs": {"mbstd_group_size": mbstd, "activation": act},
    }))
    .unwrap();
    (g, d)
}

/// `count` renders of the classic `squares` engine at `res` pixels, as CHW bytes.
pub fn classic_images(count: usize, res: usize) -> MemoryImages {
    let pixels = (0..count)
        .map(|i| {
            let params = bestiary_classic::Params {
                seed: i as u64,
                size: res as u32,
                palette: None,
            };
            let img = bestiary_classic::render("squares", &params)
                .unwrap()
                .art
                .to_image(res as u32);
            let hwc = img.to_channels(3).unwrap();
            let mut chw = vec![0u8; hwc.len()];
            for p in 0..res * res {
                for c in 0..3 {
                    chw[c * res * res + p] = hwc[p * 3 + c];
                }
            }
            chw
        })
        .collect();
    MemoryImages {
        resolution: res,
        channels: 3,
        c_dim: 0,
        pixels,
        labels: vec![],
    }
}

pub fn small_options(batch: usize) -> TrainOptions {
    let preset = bestiary_train::preset("lite", 16, 0, 3, 1).unwrap();
    let mut o = TrainOptions::from_preset(&preset);
    o.batch = batch;
    o.grid = (4, 2);
    o
}

/// Everything a resume must restore, as comparable bits: every tensor of G, D and G_ema, both Adams'
/// moments with their step counts, and the counters (wall-clock seconds left out).
pub fn fingerprint(
    t: &bestiary_train::Trainer<burn::backend::Flex>,
) -> (Vec<(String, Vec<u32>)>, String) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let mut out = Vec::new();
    for (key, map) in [
        ("G", t.g.state_dict()),
        ("D", t.d.state_dict()),
        ("G_ema", t.g_ema.state_dict()),
    ] {
        for (name, (_, data)) in map {
            out.push((format!("{key}.{name}"), bits(&data)));
        }
    }
    for (key, opt) in [("adamG", &t.opt_g), ("adamD", &t.opt_d)] {
        for (i, step, m, v) in opt.export() {
            out.push((format!("{key}.{i}.m@{step}"), bits(&m)));
            out.push((format!("{key}.{i}.v"), bits(&v)));
        }
    }
    let mut progress = t.progress.clone();
    progress.seconds = 0.0;
    (out, serde_json::to_string(&progress).unwrap())
}
