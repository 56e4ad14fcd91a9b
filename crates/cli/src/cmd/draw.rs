//! `bestiary draw`: one classic engine, one file or a numbered batch.

use crate::output::{create_dir, print_json, progress, Outputs};
use anyhow::{anyhow, bail, Context, Result};
use bestiary_canvas::io::{extension, write_image, ImageFormat, WRITABLE_EXTENSIONS};
use bestiary_canvas::{image::check_size, Image, Metadata, Palette};
use bestiary_classic::{Artwork, Params};
use bestiary_media::gif_out;
use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
#[command(after_help = "\
Examples:
  bestiary draw fractal --seed 7 --size 1024 --out fractal.png
  bestiary draw plants --palette moss --out plants.svg
  bestiary draw neurons --animate --frames 48 --out shimmer.gif
  bestiary draw flow --palette-from photo.jpg --out flow.png
  bestiary draw squares --count 100 --seed 0 --outdir dataset/   (seed0000.png .. seed0099.png)
  bestiary draw flow --seed 3 --out flow.jpg --force              (replace flow.jpg)
  bestiary draw --palette list                                    the palette names, one per line (--json: an array)
Without --out the file goes to ./bestiary-out (created if missing). The folder of --out must exist; --outdir
is created when its parent exists; existing files are never replaced unless --force.")]
pub struct DrawArgs {
    /// Engine: squares, fractal, flow, neurons, plants (not needed for `--palette list`).
    pub engine: Option<String>,
    /// Seed (the same seed and parameters give a byte-identical file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output side in pixels (1..=16384).
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Named palette (`--palette list` prints the names); default: the engine's own.
    #[arg(long)]
    pub palette: Option<String>,
    /// Learn the palette from an image (k-means in OKLab).
    #[arg(long, value_name = "IMAGE", conflicts_with = "palette")]
    pub palette_from: Option<PathBuf>,
    /// Number of colours learned by --palette-from.
    #[arg(long, default_value_t = 6)]
    pub palette_colors: usize,
    /// Output file: .png, .jpg, .webp, .svg (vector engines) or .gif (with --animate).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Animated GIF (neurons: the light sweeps a full turn).
    #[arg(long)]
    pub animate: bool,
    /// Frames of the animation.
    #[arg(long, default_value_t = 36)]
    pub frames: usize,
    /// Frame delay of the animation in hundredths of a second.
    #[arg(long, default_value_t = 4)]
    pub delay: u16,
    /// Write N PNGs, one per seed SEED..SEED+N-1, into --outdir.
    #[arg(long, requires = "outdir")]
    pub count: Option<u64>,
    /// Folder for --count.
    #[arg(long, requires = "count", conflicts_with = "out")]
    pub outdir: Option<PathBuf>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Resolves --palette / --palette-from into a palette (None: engine default).
pub fn resolve_palette(
    name: Option<&str>,
    from: Option<&Path>,
    k: usize,
    seed: u64,
) -> Result<Option<Palette>> {
    if let Some(name) = name {
        return match Palette::named(name) {
            Some(p) => Ok(Some(p)),
            None => bail!(
                "unknown palette '{name}' (known: {})",
                Palette::names().join(", ")
            ),
        };
    }
    if let Some(path) = from {
        if k == 0 || k > 64 {
            bail!("--palette-colors must be in 1..=64, got {k}");
        }
        let img = Image::load(path)?;
        return Ok(Some(Palette::from_image(&img, k, seed)?));
    }
    Ok(None)
}

/// Renders one engine/seed and writes it to `out` in the format its extension names.
pub fn draw_one(
    engine: &str,
    params: &Params,
    out: &Path,
    animate: bool,
    frames: usize,
    delay: u16,
) -> Result<()> {
    let ext = extension(out);
    match (ext.as_deref(), animate) {
        (Some("gif"), true) => {
            if frames == 0 || frames > 1000 {
                bail!("--frames must be in 1..=1000, got {frames}");
            }
            let imgs = bestiary_classic::animate(engine, params, frames)?;
            gif_out::write_gif(out, &imgs, delay)?;
        }
        (Some("gif"), false) => bail!("{}: .gif output needs --animate", out.display()),
        (_, true) => bail!("--animate writes a .gif, not {}", out.display()),
        (Some("svg"), false) => {
            let r = bestiary_classic::render(engine, params)?;
            match r.art {
                Artwork::Vector(scene) => {
                    let svg = scene.to_svg(params.size, params.size);
                    bestiary_canvas::io::write_atomic(out, svg.as_bytes())?;
                }
                Artwork::Raster(_) => {
                    bail!("engine '{engine}' draws pixels, not vectors: use .png")
                }
            }
        }
        _ if ImageFormat::from_path(out).is_ok() => {
            let (image, used) = bestiary_classic::render_image(engine, params)?;
            let meta = Metadata::new(engine, used, params.seed);
            write_image(out, &image, Some(&meta))?;
        }
        _ => bail!(
            "{}: unsupported output format (use {WRITABLE_EXTENSIONS}, .svg or .gif)",
            out.display()
        ),
    }
    Ok(())
}

/// The file of `seed` in a --count batch.
fn seed_name(seed: u64) -> String {
    format!("seed{seed:04}.png")
}

pub fn run(a: &DrawArgs) -> Result<()> {
    if a.palette
        .as_deref()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("list"))
    {
        if a.json {
            print_json(&serde_json::json!(Palette::names()));
        } else {
            for name in Palette::names() {
                println!("{name}");
            }
        }
        return Ok(());
    }
    let engine = a.engine.as_deref().ok_or_else(|| {
        anyhow!(
            "give an engine to draw: {}",
            bestiary_classic::ENGINES.join(", ")
        )
    })?;
    bestiary_classic::check_engine(engine)?;
    check_size(a.size, a.size)?;
    let palette = resolve_palette(
        a.palette.as_deref(),
        a.palette_from.as_deref(),
        a.palette_colors,
        a.seed,
    )?;
    let params = |seed| Params {
        seed,
        size: a.size,
        palette: palette.clone(),
    };

    if let (Some(count), Some(dir)) = (a.count, &a.outdir) {
        if a.animate {
            bail!("--animate writes one GIF; it cannot be combined with --count");
        }
        if count == 0 || count > 1_000_000 {
            bail!("--count must be in 1..=1000000, got {count}");
        }
        let last = a
            .seed
            .checked_add(count - 1)
            .ok_or_else(|| anyhow!("--seed + --count overflows"))?;
        a.outputs.dir(dir, (a.seed..=last).map(seed_name))?;
        create_dir(dir)?;
        let pb = progress(count, engine, a.json);
        let files: Vec<PathBuf> = (a.seed..=last)
            .into_par_iter()
            .map(|seed| {
                let out = dir.join(seed_name(seed));
                draw_one(engine, &params(seed), &out, false, 0, 0)?;
                pb.inc(1);
                Ok(out)
            })
            .collect::<Result<_>>()?;
        pb.finish_and_clear();
        if a.json {
            print_json(&serde_json::json!({
                "engine": engine, "size": a.size, "first_seed": a.seed, "count": count,
                "outdir": dir, "files": files,
            }));
        } else {
            eprintln!("wrote {count} images to {}", dir.display());
        }
        return Ok(());
    }

    let default_ext = if a.animate { "gif" } else { "png" };
    let out = match &a.out {
        Some(out) => {
            a.outputs.file(out)?;
            out.clone()
        }
        // The default folder is the command's own: made when missing.
        None => {
            let (dir, name) = (
                Path::new("bestiary-out"),
                format!("{}-seed{:04}.{default_ext}", engine, a.seed),
            );
            a.outputs.dir(dir, [&name])?;
            create_dir(dir)?;
            dir.join(name)
        }
    };
    draw_one(engine, &params(a.seed), &out, a.animate, a.frames, a.delay)
        .with_context(|| format!("drawing {} (seed {})", engine, a.seed))?;
    if a.json {
        print_json(
            &serde_json::json!({"engine": engine, "seed": a.seed, "size": a.size, "file": out}),
        );
    } else {
        println!("{}", out.display());
    }
    Ok(())
}
