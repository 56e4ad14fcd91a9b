//! `bestiary generate`: images from seeds (or stored W vectors), flag for flag as the official generate.py.

use crate::backend::DeviceKind;
use crate::output::{create_dir, file_name, print_json, progress, Outputs};
use crate::seeds::parse_seeds;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::{io::write_image, io::ImageFormat, Image, Metadata};
use bestiary_explore::w_file::WFile;
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{load_generator, ModelFile, NoiseMode, SynthesisOptions};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary generate --network network-snapshot-000800.pkl --seeds 0-3,7 --outdir out
  bestiary generate --network model.safetensors --seeds 85,265,297 --trunc 0.7 --outdir out
  bestiary generate --network model.pkl --seeds 0-99 --trunc 1.5 --noise-mode none --outdir dream
  bestiary generate --network cond.pkl --class 3 --seeds 0-7 --outdir out
  bestiary generate --network runs/pets/network-snapshot-000040.safetensors --class cats --seeds 0-7 --outdir out
  bestiary generate --network model.pkl --projected-w projected_w.npz --outdir out
  bestiary generate --network model.pkl --projected-w proj/projected_w.safetensors --out proj.png
  bestiary generate --network model.pkl --seeds 7 --out seed7.jpg
Writes OUTDIR/seed0000.png per seed (proj00.png per W with --projected-w), like the official generate.py;
--out writes one image (one seed, or a --projected-w file holding a single W) as .png, .jpg or .webp.
OUTDIR is created when its parent exists; files already there are never replaced unless --force.
A projected_w.safetensors written by `bestiary project` also holds the optimised noise maps: they replace
the network's noise_const buffers, so with the default --noise-mode const the render equals the
projection's proj.png exactly.
Seed N uses z = numpy RandomState(N).randn(1, z_dim), so shared seed lists give the same images.")]
pub struct GenerateArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Seeds, e.g. 0-3,7 (ranges inclusive).
    #[arg(long, required_unless_present = "projected_w")]
    pub seeds: Option<String>,
    /// Truncation psi (1 = none; below 1 toward the average, above 1 or negative for abstraction).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub trunc: f64,
    /// Truncate only the first N ws (coarse layers).
    #[arg(long)]
    pub trunc_cutoff: Option<usize>,
    /// Per-pixel noise: const (reproducible), random, none.
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    /// Class of a conditional network: an index, or a name the model file records (see `inspect`).
    #[arg(long = "class")]
    pub class_idx: Option<String>,
    /// Render W vectors from a projection (.npz with 'w' as the official projector writes, or .safetensors
    /// as `bestiary project` writes, with its noise maps).
    #[arg(long, conflicts_with = "seeds")]
    pub projected_w: Option<PathBuf>,
    /// Output folder.
    #[arg(long, required_unless_present = "out")]
    pub outdir: Option<PathBuf>,
    /// Output image for a single seed or the single W of --projected-w (instead of --outdir): .png, .jpg, .webp.
    #[arg(long, conflicts_with = "outdir")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Seeds per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &GenerateArgs) -> Result<()> {
    if !a.trunc.is_finite() || a.trunc.abs() > 100.0 {
        bail!(
            "--trunc must be a finite number in -100..=100, got {}",
            a.trunc
        );
    }
    if a.batch == 0 || a.batch > 1024 {
        bail!("--batch must be in 1..=1024, got {}", a.batch);
    }
    let seeds = a.seeds.as_deref().map(parse_seeds).transpose()?;
    let projected = match &a.projected_w {
        Some(p) => Some(read_projected(p)?),
        None => None,
    };
    // Every file this run writes is known now: check them all before the network is even loaded.
    let names: Vec<String> = match (&seeds, &projected) {
        (Some(seeds), _) => seeds.iter().map(|s| format!("seed{s:04}.png")).collect(),
        (None, Some(pw)) => (0..pw.file.count())
            .map(|i| format!("proj{i:02}.png"))
            .collect(),
        (None, None) => bail!("give --seeds or --projected-w"),
    };
    match (&a.out, &a.outdir) {
        (Some(out), _) => {
            if names.len() != 1 {
                let what = if seeds.is_some() {
                    "seeds"
                } else {
                    "W vectors"
                };
                bail!(
                    "--out writes one image but this run makes {} ({what}): use --outdir",
                    names.len()
                );
            }
            ImageFormat::from_path(out)?;
            a.outputs.file(out)?;
        }
        (None, Some(dir)) => a.outputs.dir(dir, &names)?,
        (None, None) => bail!("give --outdir (or --out for a single image)"),
    }
    let mut model = crate::network::load(&a.network)?;
    if let Some(pw) = &projected {
        pw.file
            .apply_noise(&mut model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", pw.path.display()))?;
    }
    with_backend!(a.device, |B, dev| run_on::<B>(
        a,
        &model,
        seeds.as_deref(),
        projected.as_ref(),
        &dev
    ))
}

fn run_on<B: burn::tensor::backend::Backend>(
    a: &GenerateArgs,
    model: &ModelFile,
    seeds: Option<&[u32]>,
    projected: Option<&Projected>,
    dev: &B::Device,
) -> Result<()> {
    let (g, cfg) = load_generator::<B>(model, dev)?;
    let res = cfg.img_resolution as u32;
    let opts = SynthesisOptions {
        noise_mode: a.noise_mode,
        ..Default::default()
    };
    if cfg.c_dim == 0 && a.class_idx.is_some() {
        eprintln!("warning: --class is ignored when running an unconditional network");
    }
    // A projected W already holds its class; seeds need one on a conditional network.
    let class = match projected {
        Some(_) => None,
        None => bestiary_explore::resolve_class(
            a.class_idx.as_deref(),
            cfg.c_dim,
            bestiary_explore::class_names(model, cfg.c_dim).as_deref(),
        )?,
    };
    if let Some(cut) = a.trunc_cutoff {
        if cut > cfg.num_ws() {
            bail!(
                "--trunc-cutoff {cut} exceeds the network's {} ws",
                cfg.num_ws()
            );
        }
    }
    // Made only once everything that can refuse the run has been checked: a refusal leaves no folder.
    if let Some(dir) = &a.outdir {
        create_dir(dir)?;
    }
    let mut files = Vec::new();
    let save = |name: String, hwc: &[u8], seed: u64, files: &mut Vec<PathBuf>| -> Result<()> {
        let img = Image::from_channels(res, res, cfg.img_channels, hwc)?;
        let params = serde_json::json!({
            "network": file_name(&a.network), "trunc": a.trunc, "trunc_cutoff": a.trunc_cutoff,
            "noise_mode": format!("{:?}", a.noise_mode).to_lowercase(), "class": class,
        });
        let path = match (&a.out, &a.outdir) {
            (Some(out), _) => out.clone(),
            (None, Some(dir)) => dir.join(name),
            (None, None) => unreachable!("checked in run"),
        };
        write_image(&path, &img, Some(&Metadata::new("stylegan2", params, seed)))?;
        files.push(path);
        Ok(())
    };

    if let Some(pw) = projected {
        let at = |e: bestiary_explore::ExploreError| anyhow::anyhow!("{}: {e}", pw.path.display());
        let images = pw.file.images(&g, &opts, dev).map_err(at)?;
        if a.out.is_some() && images.len() != 1 {
            bail!(
                "{} holds {} W vectors: --out writes one image, use --outdir",
                pw.path.display(),
                images.len()
            );
        }
        for (i, hwc) in images.iter().enumerate() {
            save(format!("proj{i:02}.png"), hwc, i as u64, &mut files)?;
        }
    } else if let Some(seeds) = seeds {
        let sampling = Sampling {
            psi: a.trunc,
            cutoff: a.trunc_cutoff,
            class,
            synthesis: opts,
        };
        let pb = progress(seeds.len() as u64, "generate", a.json);
        for chunk in seeds.chunks(a.batch) {
            let imgs = generate_seeds(&g, &cfg, chunk, &sampling, dev)?;
            for (&seed, hwc) in chunk.iter().zip(&imgs) {
                save(format!("seed{seed:04}.png"), hwc, seed as u64, &mut files)?;
                pb.inc(1);
            }
        }
        pb.finish_and_clear();
    }
    if a.json {
        print_json(&serde_json::json!({"outdir": a.outdir, "resolution": res, "files": files}));
    } else if let Some(out) = &a.out {
        eprintln!("wrote {}", out.display());
    } else if let Some(dir) = &a.outdir {
        eprintln!("wrote {} images to {}", files.len(), dir.display());
    }
    Ok(())
}

/// A W file named on the command line.
pub struct Projected {
    pub path: PathBuf,
    pub file: WFile,
}

/// Reads a W file (.npz as the official projector saves, or .safetensors as `bestiary project` does).
pub fn read_projected(path: &Path) -> Result<Projected> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = WFile::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Projected {
        path: path.to_path_buf(),
        file,
    })
}
