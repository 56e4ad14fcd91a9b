//! `bestiary inspect`: what a model file holds.

use crate::output::print_json;
use anyhow::Result;
use bestiary_stylegan::{GeneratorConfig, ModelFile};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary inspect --network network-snapshot-000800.pkl
  bestiary inspect --network model.safetensors --json
  bestiary inspect --network runs/emoji              a training run folder: its latest snapshot")]
pub struct InspectArgs {
    /// An official .pkl, a bestiary .safetensors model, or a training run folder (its latest snapshot).
    #[arg(long)]
    pub network: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &InspectArgs) -> Result<()> {
    let file = crate::network::resolve(&a.network)?;
    let model = ModelFile::load(&file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut nets = serde_json::Map::new();
    for (key, net) in &model.networks {
        let params: usize = net.tensors.values().map(|t| t.data.len()).sum();
        let mut info = serde_json::json!({
            "class_name": net.class_name, "tensors": net.tensors.len(), "parameters": params,
            "init_kwargs": net.init_kwargs,
        });
        if net.class_name.contains("Generator") {
            let cfg = GeneratorConfig::from_value(&net.init_kwargs)?;
            info["num_ws"] = cfg.num_ws().into();
        }
        nets.insert(key.clone(), info);
    }
    let g = model.generator()?;
    let cfg = GeneratorConfig::from_value(&g.init_kwargs)?;
    let summary = serde_json::json!({
        "file": file, "resolution": cfg.img_resolution, "channels": cfg.img_channels,
        "z_dim": cfg.z_dim, "w_dim": cfg.w_dim, "c_dim": cfg.c_dim, "num_ws": cfg.num_ws(),
        "networks": nets, "training_set_kwargs": model.training_set_kwargs,
    });
    if a.json {
        print_json(&summary);
        return Ok(());
    }
    println!("{}", file.display());
    println!(
        "  {}x{} x{} channels, z {} w {} c {}, num_ws {}",
        cfg.img_resolution,
        cfg.img_resolution,
        cfg.img_channels,
        cfg.z_dim,
        cfg.w_dim,
        cfg.c_dim,
        cfg.num_ws()
    );
    for (key, net) in &model.networks {
        let params: usize = net.tensors.values().map(|t| t.data.len()).sum();
        println!(
            "  {key:<6} {:<14} {:>12} parameters in {} tensors",
            net.class_name,
            params,
            net.tensors.len()
        );
    }
    println!(
        "  generator config: {}",
        serde_json::to_string(&g.init_kwargs)?
    );
    Ok(())
}
