//! `bestiary dataset`: pack images into a training zip in the official StyleGAN2-ADA dataset_tool layout.

use crate::output::{print_json, progress, Outputs};
use anyhow::{anyhow, bail, Result};
use bestiary_dataset::{pack, parse_background, PackEvent, PackOptions, Source, Transform};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `bestiary dataset`.
#[derive(Args, Debug)]
#[command(after_help = "\
Writes 00000/img00000000.png ... (RGB PNG, 1000 per folder) and dataset.json, the layout the official
StyleGAN2-ADA train.py reads. Corrupt, empty and oversized files are skipped with a warning each.
The folder of --dest must exist, and an existing --dest (perhaps a set a run was trained on) is never
replaced unless --force.

Examples:
  bestiary dataset --source photos/ --dest photos-256.zip --resolution 256
  bestiary dataset --source emoji.zip --dest emoji-64.zip --resolution 64 --transform pad --background black
  bestiary dataset --source animals/ --dest animals.zip --resolution 128 --labels-from-dirs
        (animals/cat/*.jpg, animals/dog/*.jpg: class = index of the sub-folder name, sorted)
  bestiary dataset --source scans/ --dest patches.zip --resolution 64 --patches 20 --seed 1
  bestiary dataset --source classic:squares --count 1000 --dest squares.zip --resolution 64
  bestiary dataset --source assets:emoji --dest emoji-32.zip --resolution 32
  bestiary dataset --source photos/ --dest photos-256.zip --resolution 256 --force   (rebuild it)")]
pub struct DatasetArgs {
    /// Images to pack: a folder (recursive), a .zip, classic:ENGINE (with --count) or assets:emoji.
    #[arg(long, value_name = "DIR|ZIP|classic:ENGINE|assets:NAME")]
    pub source: String,
    /// Output dataset zip (written atomically; never left half-written).
    #[arg(long, value_name = "OUT.zip")]
    pub dest: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Output side in pixels: a power of two in 4..=1024.
    #[arg(long, value_name = "N")]
    pub resolution: u32,
    /// center-crop (square of the shorter side), center-crop-wide (2:1 band, letterboxed), pad (fit inside,
    /// background bars) or stretch.
    #[arg(long, default_value = "center-crop")]
    pub transform: String,
    /// Colour under transparent pixels and in padding: a name (white, black, gray, ...) or #rrggbb.
    #[arg(long, default_value = "white")]
    pub background: String,
    /// Stop after this many output images.
    #[arg(long, value_name = "N")]
    pub max_images: Option<usize>,
    /// Cut N random square patches from every source image instead of one transformed image.
    #[arg(long, value_name = "N")]
    pub patches: Option<u32>,
    /// Side of each patch in source pixels (default: half the shorter side).
    #[arg(long, value_name = "PX", requires = "patches")]
    pub patch_size: Option<u32>,
    /// Label each image with its top-level sub-folder (class index in sorted name order).
    #[arg(long)]
    pub labels_from_dirs: bool,
    /// Seed of patch positions; first seed of a classic:ENGINE source.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of seeds rendered by a classic:ENGINE source.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The source `--source` names: `classic:ENGINE` (drawn by the engine, `--count` seeds), `assets:NAME`
/// (fetched into the cache, then read as a folder or zip), else a folder or a zip.
fn source(s: &str, count: Option<usize>) -> Result<Source> {
    if let Some(engine) = s.strip_prefix("classic:") {
        bestiary_classic::check_engine(engine)?;
        let count = count.ok_or_else(|| anyhow!("source {s} needs --count N"))?;
        let draw = Arc::new(bestiary_classic::drawer(engine));
        return Ok(Source::rendered(engine, count, draw)?);
    }
    if count.is_some() {
        bail!("--count only applies to a classic:ENGINE source");
    }
    if let Some(name) = s.strip_prefix("assets:") {
        let path = bestiary_assets::ensure(name, &mut |m: &str| eprintln!("{m}"))
            .map_err(|e| anyhow!("assets:{name}: {e}"))?;
        return Ok(Source::parse(&path.to_string_lossy())?);
    }
    Ok(Source::parse(s)?)
}

/// Runs the command.
pub fn run(a: &DatasetArgs) -> Result<()> {
    bestiary_dataset::check_resolution(a.resolution)?;
    a.outputs.file_with_extension(&a.dest, "zip")?;
    let transform: Transform = a.transform.parse()?;
    let background = parse_background(&a.background)?;
    let source = source(&a.source, a.count)?;
    let opts = PackOptions {
        resolution: a.resolution,
        transform,
        background,
        max_images: a.max_images,
        patches: a.patches,
        patch_size: a.patch_size,
        labels_from_dirs: a.labels_from_dirs,
        seed: a.seed,
    };
    let started = std::time::Instant::now();
    let mut pb = None;
    let json = a.json;
    let report = pack(&source, &a.dest, &opts, &mut |ev| match ev {
        PackEvent::Started { total } => pb = Some(progress(total, "packing", json)),
        PackEvent::Advanced { done } => {
            if let Some(p) = &pb {
                p.set_position(done);
            }
        }
        PackEvent::Skipped(s) => {
            let line = format!("warning: {s}");
            match &pb {
                Some(p) if !p.is_hidden() => p.suspend(|| eprintln!("{line}")),
                _ => eprintln!("{line}"),
            }
        }
        PackEvent::Note(m) => match &pb {
            Some(p) if !p.is_hidden() => p.suspend(|| eprintln!("{m}")),
            _ => eprintln!("{m}"),
        },
    });
    if let Some(p) = &pb {
        p.finish_and_clear();
    }
    let report = report?;
    let seconds = started.elapsed().as_secs_f64();
    if a.json {
        let mut v = report.to_json();
        v["transform"] = serde_json::json!(transform.name());
        v["seconds"] = serde_json::json!((seconds * 1000.0).round() / 1000.0);
        print_json(&v);
    } else {
        eprintln!("{} in {seconds:.1} s", report.summary());
    }
    Ok(())
}
