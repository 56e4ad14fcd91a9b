//! `video`: a latent walk through keyframe seeds, written as an animation. Wiring only: the walk lives in
//! bestiary-explore.

use super::explore::{check_trunc, load_model, opts, unconditional};
use crate::backend::DeviceKind;
use crate::output::{ensure_parent, print_json, progress};
use crate::seeds::parse_seeds;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::{gif_out, Image};
use bestiary_explore as ex;
use bestiary_stylegan::{load_generator, Generator, ModelFile, NoiseMode};
use burn::tensor::backend::Backend;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary video --network model.pkl --seeds 1,2,3 --frames 60 --fps 20 --loop --out walk.gif
  bestiary video --network model.pkl --seeds 0-4 --frames 120 --interp slerp --trunc 0.7 --out walk.gif
A latent walk through the seeds: lerp moves in straight lines through W, slerp along great circles in Z.
With --loop the walk returns to the first seed so the GIF repeats seamlessly.")]
pub struct VideoArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Keyframe seeds, in order.
    #[arg(long)]
    pub seeds: String,
    /// Number of frames.
    #[arg(long, default_value_t = 60)]
    pub frames: usize,
    /// Frames per second.
    #[arg(long, default_value_t = 20)]
    pub fps: u32,
    /// Walk back to the first seed (seamless repeat).
    #[arg(long = "loop")]
    pub looped: bool,
    /// Interpolation: lerp (in W) or slerp (in Z).
    #[arg(long, default_value = "lerp")]
    pub interp: ex::Interp,
    /// Truncation psi.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub trunc: f64,
    /// Per-pixel noise: const (reproducible), random, none.
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    /// Output GIF.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn video(a: &VideoArgs) -> Result<()> {
    check_trunc(a.trunc)?;
    if a.frames == 0 || a.frames > 10_000 {
        bail!("--frames must be in 1..=10000, got {}", a.frames);
    }
    if a.fps == 0 || a.fps > 100 {
        bail!("--fps must be in 1..=100, got {}", a.fps);
    }
    let seeds = parse_seeds(&a.seeds)?;
    let model = load_model(&a.network)?;
    with_backend!(a.device, |B, dev| video_on::<B>(a, &model, &seeds, &dev))
}

/// The W of each frame.
fn walk_ws<B: Backend>(a: &VideoArgs, g: &Generator<B>, seeds: &[u32], dev: &B::Device) -> Result<Vec<Vec<f32>>> {
    let pos = ex::walk_positions(seeds.len(), a.frames, a.looped);
    match a.interp {
        ex::Interp::Lerp => {
            let keys = ex::seed_ws(g, seeds, a.trunc, dev)?;
            Ok(pos.iter().map(|&(i, j, t)| ex::lerp(&keys[i], &keys[j], t)).collect())
        }
        ex::Interp::Slerp => {
            let zs: Vec<Vec<f32>> = seeds.iter().map(|&s| bestiary_stylegan::seed::z_from_seed(s, g.z_dim)).collect();
            let mut out = Vec::with_capacity(pos.len());
            for chunk in pos.chunks(64) {
                let z: Vec<f32> = chunk.iter().flat_map(|&(i, j, t)| ex::slerp(&zs[i], &zs[j], t)).collect();
                let zt = burn::tensor::Tensor::<B, 2>::from_data(burn::tensor::TensorData::new(z, [chunk.len(), g.z_dim]), dev);
                let ws = g.mapping(zt, None, a.trunc, None).into_data().convert::<f32>().to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
                out.extend(ws.chunks(g.num_ws() * g.w_dim).map(<[f32]>::to_vec));
            }
            Ok(out)
        }
    }
}

fn video_on<B: Backend>(a: &VideoArgs, model: &ModelFile, seeds: &[u32], dev: &B::Device) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    unconditional(&cfg)?;
    let ws = walk_ws(a, &g, seeds, dev)?;
    let r = cfg.img_resolution as u32;
    let pb = progress(ws.len() as u64, "video", a.json);
    let mut frames = Vec::with_capacity(ws.len());
    for chunk in ws.chunks(8) {
        for img in ex::render_ws(&g, chunk, &opts(a.noise_mode), dev) {
            frames.push(Image::from_channels(r, r, cfg.img_channels, &img)?);
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    ensure_parent(&a.out)?;
    let delay_cs = (100 / a.fps).max(1) as u16;
    gif_out::write_gif(&a.out, &frames, delay_cs).with_context(|| format!("cannot write {}", a.out.display()))?;
    if a.json {
        print_json(&serde_json::json!({"out": a.out, "frames": frames.len(), "fps": a.fps, "loop": a.looped}));
    } else {
        eprintln!("wrote {} frames to {}", frames.len(), a.out.display());
    }
    Ok(())
}
