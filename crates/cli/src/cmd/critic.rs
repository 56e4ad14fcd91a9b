//! `bestiary critic`: the discriminator's logit for each image.

use crate::backend::DeviceKind;
use crate::output::print_json;
use crate::with_backend;
use anyhow::{bail, Context, Result};
use bestiary_canvas::Image;
use bestiary_stylegan::sampling::critic_logit;
use bestiary_stylegan::{load_discriminator, ModelFile};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary critic --network network-snapshot-000800.pkl out/seed0000.png out/seed0001.png
  bestiary critic --network model.safetensors --json --resize photos/*.jpg
  bestiary critic --network runs/emoji out/seed0000.png      a training run folder: its latest snapshot
  bestiary critic --network runs/pets --class cats cat.png   a conditional network, by class name
Images are mapped to [-1, 1] as the official code does; each image is scored alone, so its logit does not
depend on the other images given. Higher means 'looks more like the training data' to the discriminator.")]
pub struct CriticArgs {
    /// Network holding a discriminator (D): an official .pkl, a bestiary .safetensors model, or a training run
    /// folder (its latest snapshot).
    #[arg(long)]
    pub network: PathBuf,
    /// Images to score.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Resize images whose size differs from the network's resolution (otherwise that is an error).
    #[arg(long)]
    pub resize: bool,
    /// Class of a conditional network: a name the model file records (see `inspect`) or an index.
    #[arg(long = "class")]
    pub class: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print a JSON array of {"path", "logit"}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &CriticArgs) -> Result<()> {
    let model = crate::network::load(&a.network)?;
    with_backend!(a.device, |B, dev| run_on::<B>(a, &model, &dev))
}

fn run_on<B: burn::tensor::backend::Backend>(
    a: &CriticArgs,
    model: &ModelFile,
    dev: &B::Device,
) -> Result<()> {
    let (d, cfg) = load_discriminator::<B>(model, dev)?;
    let names = bestiary_explore::class_names(model, cfg.c_dim);
    let class = bestiary_explore::resolve_class(a.class.as_deref(), cfg.c_dim, names.as_deref())?;
    if cfg.c_dim == 0 && a.class.is_some() {
        eprintln!("warning: --class is ignored: this discriminator is unconditional");
    }
    let r = cfg.img_resolution as u32;
    let mut rows = Vec::new();
    for path in &a.images {
        let mut img = Image::load(path)?;
        if (img.width(), img.height()) != (r, r) {
            if !a.resize {
                bail!(
                    "{} is {}x{} but the discriminator takes {r}x{r} (add --resize to resample it)",
                    path.display(),
                    img.width(),
                    img.height()
                );
            }
            img = img.resized(r, r);
        }
        let hwc = img.to_channels(cfg.img_channels)?;
        let logit =
            critic_logit(&d, &cfg, &hwc, class, dev).with_context(|| path.display().to_string())?;
        rows.push((path.clone(), logit));
    }
    if a.json {
        print_json(&serde_json::Value::Array(
            rows.iter()
                .map(|(p, l)| serde_json::json!({"path": p, "logit": l}))
                .collect(),
        ));
    } else {
        for (p, l) in rows {
            println!("{l:>12.6}  {}", p.display());
        }
    }
    Ok(())
}
