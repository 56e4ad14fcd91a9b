//! Curating like a critic: `bestiary rank` sorts a network's seeds by memorability (ResMem), by its own
//! discriminator or by novelty against the training set; `bestiary nearest` puts generated images beside
//! their nearest training images in Inception space and flags likely copies. Wiring only: the scores come
//! from bestiary-judge and bestiary-stylegan.

use super::explore::{check_trunc, load_model, RenderArgs};
use super::imagesets::{Featurizer, ImageSet, Sampler, SeedRenderer};
use crate::output::{file_name, print_json, progress, Outputs};
use crate::seeds::parse_seeds;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::sheet::{contact_sheet, SheetOptions};
use bestiary_canvas::{Image, Metadata};
use bestiary_judge::ranking::{
    critic_of_seeds, highest_first, memorability_of_seeds, neighbours_of_seeds, novelty_of_seeds,
    seed_tiles, NearestOptions,
};
use bestiary_perceptual::ResMem;
use bestiary_stylegan::{load_discriminator, ModelFile};
use burn::tensor::backend::Backend;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// A contact sheet in the format `out`'s extension names (checked before the work).
fn write_sheet(
    out: &Path,
    tiles: &[(Image, String)],
    columns: usize,
    engine: &str,
    params: serde_json::Value,
) -> Result<()> {
    let sheet = contact_sheet(
        tiles,
        &SheetOptions {
            columns,
            ..Default::default()
        },
    );
    bestiary_canvas::io::write_image(out, &sheet, Some(&Metadata::new(engine, params, 0)))
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// How the seeds are rendered, shared by `rank` and `nearest`.
#[derive(Args)]
pub struct SamplingArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
}

impl SamplingArgs {
    fn sampler(&self) -> Result<Sampler> {
        check_trunc(self.render.trunc)?;
        if self.batch == 0 || self.batch > 1024 {
            bail!("--batch must be in 1..=1024, got {}", self.batch);
        }
        Ok(Sampler {
            trunc: self.render.trunc,
            noise_mode: self.render.noise_mode,
            batch: self.batch,
        })
    }
}

// --------------------------------------------------------------------------------------------- rank

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RankBy {
    /// ResMem's predicted memorability (0..1): what people remember after one glance.
    Memorability,
    /// The network's own discriminator logit: how much it looks like the training data to the critic.
    Critic,
    /// Inception distance to the nearest training image (needs --data): how far from anything it saw.
    Novelty,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary rank --network model.safetensors --seeds 0-999 --by memorability --top 32 --out memorable.png
  bestiary rank --network snapshot.pkl --seeds 0-499 --by critic --top 16 --out best.png --json
  bestiary rank --network model.safetensors --data emoji64.zip --seeds 0-999 --by novelty --out novel.png
Every seed is rendered and scored, then the --top best are rendered again onto a contact sheet, best first,
with `seed: score` under each image (--lowest for the other end). --json prints every seed's score.
memorability uses ResMem (fetched into the cache on first use; its weights are for non-commercial use);
critic needs a model file that holds the discriminator D (official snapshots do); novelty needs --data.")]
pub struct RankArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Seeds to score, e.g. 0-999.
    #[arg(long)]
    pub seeds: String,
    /// What to rank by.
    #[arg(long, value_enum, default_value_t = RankBy::Memorability)]
    pub by: RankBy,
    /// How many images the sheet shows.
    #[arg(long, default_value_t = 32)]
    pub top: usize,
    /// Show the lowest scores instead of the highest.
    #[arg(long)]
    pub lowest: bool,
    /// Contact sheet to write: .png, .jpg or .webp.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Training data for --by novelty: a folder or dataset zip (its features are cached).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Sheet columns.
    #[arg(long, default_value_t = 8)]
    pub columns: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Print a JSON summary with every seed's score on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn rank(a: &RankArgs) -> Result<()> {
    let sampler = a.sampling.sampler()?;
    let seeds = parse_seeds(&a.seeds)?;
    if a.top == 0 || a.top > 10_000 {
        bail!("--top must be in 1..=10000, got {}", a.top);
    }
    if a.columns == 0 || a.columns > 1000 {
        bail!("--columns must be in 1..=1000, got {}", a.columns);
    }
    if a.by == RankBy::Novelty && a.data.is_none() {
        bail!("--by novelty needs --data (the training set to measure novelty against)");
    }
    a.outputs.image(&a.out)?;
    let model = load_model(&a.network)?;
    with_backend!(a.sampling.render.device, |B, dev| rank_on::<B>(
        a, sampler, &model, &seeds, &dev
    ))
}

fn rank_on<B: Backend>(
    a: &RankArgs,
    sampler: Sampler,
    model: &ModelFile,
    seeds: &[u32],
    dev: &B::Device,
) -> Result<()> {
    let r = SeedRenderer::<B>::new(model, sampler, dev)?;
    let scores = score_seeds(a, model, &r, seeds, dev)?;
    let mut order = highest_first(&scores);
    if a.lowest {
        order.reverse();
    }
    let top: Vec<usize> = order.iter().copied().take(a.top).collect();
    let top_seeds: Vec<u32> = top.iter().map(|&i| seeds[i]).collect();
    let tiles = seed_tiles(&r, &top_seeds, |k| {
        format!("{}: {:.3}", seeds[top[k]], scores[top[k]])
    })?;
    let by = format!("{:?}", a.by).to_lowercase();
    let params = serde_json::json!({
        "network": file_name(&a.network), "by": by,
        "seeds": top_seeds, "trunc": sampler.trunc, "lowest": a.lowest,
    });
    write_sheet(&a.out, &tiles, a.columns, "bestiary-rank", params)?;
    if a.json {
        let ranked: Vec<_> = order
            .iter()
            .enumerate()
            .map(|(rank, &i)| serde_json::json!({"rank": rank + 1, "seed": seeds[i], "score": scores[i]}))
            .collect();
        print_json(
            &serde_json::json!({"out": a.out, "by": by, "lowest": a.lowest, "shown": top.len(), "ranked": ranked}),
        );
    } else {
        for (rank, &i) in top.iter().enumerate() {
            println!(
                "{:>4}  seed {:>6}  {by} {:.4}",
                rank + 1,
                seeds[i],
                scores[i]
            );
        }
        eprintln!(
            "wrote the top {} of {} seeds by {by} to {}",
            top.len(),
            seeds.len(),
            a.out.display()
        );
    }
    Ok(())
}

/// One score per seed, higher meaning more of the chosen quality.
fn score_seeds<B: Backend>(
    a: &RankArgs,
    model: &ModelFile,
    r: &SeedRenderer<B>,
    seeds: &[u32],
    dev: &B::Device,
) -> Result<Vec<f64>> {
    let pb = progress(seeds.len() as u64, "score", a.json);
    let mut done = |n: usize| pb.set_position(n as u64);
    let scores = match a.by {
        RankBy::Memorability => {
            let weights = bestiary_perceptual::resmem_weights(&mut |m: &str| eprintln!("{m}"))?;
            let net = ResMem::<B>::load(&weights, dev)?;
            let m = memorability_of_seeds(&net, r, seeds, a.sampling.batch, &mut done)?;
            m.into_iter().map(f64::from).collect()
        }
        RankBy::Critic => {
            let (d, cfg) = load_discriminator::<B>(model, dev).map_err(|e| {
                anyhow::anyhow!(
                    "--by critic needs the discriminator, and {}: {e}",
                    a.network.display()
                )
            })?;
            let c = critic_of_seeds(&d, &cfg, r, seeds, dev, &mut done)?;
            c.into_iter().map(f64::from).collect()
        }
        RankBy::Novelty => {
            let f = Featurizer::<B>::new(a.sampling.batch, a.json, dev)?;
            let data = f.set_features(a.data.as_deref().expect("checked"), true)?;
            novelty_of_seeds(f.library(), &data, r, seeds, &mut done)?
        }
    };
    pb.finish_and_clear();
    Ok(scores)
}

// ------------------------------------------------------------------------------------------ nearest

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary nearest --network model.safetensors --data emoji64.zip --seeds 0-15 --out nearest.png
  bestiary nearest --network model.safetensors --data photos/ --seeds 0-999 --k 1 --json
Each generated image is matched with its --k nearest training images in Inception feature space (the FID
features). A match closer than --copy-ratio times the median distance between neighbouring training images
is flagged as a likely copy: memorization, a known failure of GANs trained on small datasets. The sheet has
one row per seed: the generated image, then its neighbours with their distances (COPY? when flagged).")]
pub struct NearestArgs {
    /// Network: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Training data: a folder of images or a dataset zip (its features are cached after the first run).
    #[arg(long)]
    pub data: PathBuf,
    /// Seeds to check, e.g. 0-15.
    #[arg(long)]
    pub seeds: String,
    /// Neighbours shown per seed.
    #[arg(long, default_value_t = 3)]
    pub k: usize,
    /// Flag a match closer than this times the median training-set neighbour distance.
    #[arg(long, default_value_t = 0.5)]
    pub copy_ratio: f64,
    /// Contact sheet to write (.png, .jpg or .webp), one row per seed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub outputs: Outputs,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn nearest_cmd(a: &NearestArgs) -> Result<()> {
    let sampler = a.sampling.sampler()?;
    let seeds = parse_seeds(&a.seeds)?;
    if a.k == 0 || a.k > 100 {
        bail!("--k must be in 1..=100, got {}", a.k);
    }
    if !(a.copy_ratio.is_finite() && a.copy_ratio >= 0.0) {
        bail!(
            "--copy-ratio must be a non-negative number, got {}",
            a.copy_ratio
        );
    }
    if let Some(out) = &a.out {
        a.outputs.image(out)?;
    }
    let model = load_model(&a.network)?;
    let data = ImageSet::open(&a.data)?;
    with_backend!(a.sampling.render.device, |B, dev| nearest_on::<B>(
        a, sampler, &model, &data, &seeds, &dev
    ))
}

fn nearest_on<B: Backend>(
    a: &NearestArgs,
    sampler: Sampler,
    model: &ModelFile,
    data: &ImageSet,
    seeds: &[u32],
    dev: &B::Device,
) -> Result<()> {
    let f = Featurizer::<B>::new(sampler.batch, a.json, dev)?;
    let data_features = f.set_features(&a.data, true)?;
    let r = SeedRenderer::<B>::new(model, sampler, dev)?;
    let pb = progress(seeds.len() as u64, "generate", a.json);
    let opts = NearestOptions {
        k: a.k,
        copy_ratio: a.copy_ratio,
        keep_images: a.out.is_some(),
    };
    let found = neighbours_of_seeds(f.library(), &data_features, &r, seeds, opts, &mut |n| {
        pb.set_position(n as u64)
    })?;
    pb.finish_and_clear();
    let (check, copies) = (&found.check, found.copies());

    if let Some(out) = &a.out {
        let params = serde_json::json!({
            "network": file_name(&a.network),
            "data": file_name(&a.data), "seeds": seeds, "k": a.k,
        });
        write_sheet(
            out,
            &found.tiles(seeds, data)?,
            a.k + 1,
            "bestiary-nearest",
            params,
        )?;
    }
    if a.json {
        let results: Vec<_> = seeds
            .iter()
            .zip(&found.neighbours)
            .enumerate()
            .map(|(i, (seed, ns))| {
                let neighbours: Vec<_> = ns
                    .iter()
                    .map(|n| serde_json::json!({"index": n.index, "name": data.name(n.index), "distance": n.distance}))
                    .collect();
                serde_json::json!({"seed": seed, "copy": found.seed_is_copy(i), "neighbours": neighbours})
            })
            .collect();
        print_json(&serde_json::json!({
            "data_images": data_features.len(), "copies": copies, "copy_ratio": a.copy_ratio,
            "median_spacing": check.as_ref().map(|c| c.median_spacing),
            "threshold": check.as_ref().map(|c| c.threshold), "out": a.out, "results": results,
        }));
    } else {
        for (i, (seed, ns)) in seeds.iter().zip(&found.neighbours).enumerate() {
            let n = ns[0];
            let flag = if found.seed_is_copy(i) {
                "  LIKELY COPY"
            } else {
                ""
            };
            println!(
                "seed {seed:>6}  nearest {}  distance {:.2}{flag}",
                data.name(n.index),
                n.distance
            );
        }
        match check {
            Some(c) => eprintln!(
                "{copies} of {} seeds flagged as likely copies (distance below {:.2} = {} x the median training-set spacing {:.2})",
                seeds.len(),
                c.threshold,
                a.copy_ratio,
                c.median_spacing
            ),
            None => eprintln!("the training set has a single image: no spacing to judge copies by"),
        }
        if let Some(out) = &a.out {
            eprintln!("wrote {}", out.display());
        }
    }
    Ok(())
}
