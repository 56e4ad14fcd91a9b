//! `bestiary convert`: official .pkl (or our model file) to a bestiary .safetensors model file.

use crate::output::{print_json, Outputs};
use anyhow::Result;
use bestiary_stylegan::{load_discriminator, loading::load_generator_named};
use bestiary_weights::DType;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Precision {
    #[default]
    F32,
    F16,
}

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary convert --network network-snapshot-000800.pkl --out model.safetensors
  bestiary convert --network model.safetensors --only G_ema --dtype f16 --out small.safetensors
  bestiary convert --network new.pkl --out model.safetensors --force      (replace model.safetensors)
Nothing in the pickle is executed: it is interpreted, and every network is rebuilt and checked before
the file is written (atomically). An existing --out is never replaced unless --force.")]
pub struct ConvertArgs {
    /// Input: an official StyleGAN2-ADA .pkl or a bestiary .safetensors model.
    #[arg(long)]
    pub network: PathBuf,
    /// Output .safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub outputs: Outputs,
    /// Keep only these networks (G, G_ema, D), e.g. --only G_ema for a sampling-only file.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Stored precision.
    #[arg(long, value_enum, default_value_t)]
    pub dtype: Precision,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &ConvertArgs) -> Result<()> {
    a.outputs.file_with_extension(&a.out, "safetensors")?;
    let mut model = crate::network::load(&a.network)?;
    if !a.only.is_empty() {
        for k in &a.only {
            model.network(k)?;
        }
        model.networks.retain(|k, _| a.only.contains(k));
    }
    // Rebuild every network on the CPU so that a file we write always loads.
    let dev = Default::default();
    for key in model.networks.keys() {
        match key.as_str() {
            "D" => drop(load_discriminator::<crate::backend::Cpu>(&model, &dev)?),
            k => drop(load_generator_named::<crate::backend::Cpu>(
                &model, k, &dev,
            )?),
        }
    }
    let dtype = match a.dtype {
        Precision::F32 => DType::F32,
        Precision::F16 => DType::F16,
    };
    let bytes = model.to_safetensors(dtype)?;
    bestiary_canvas::io::write_atomic(&a.out, &bytes)?;
    let nets: Vec<&String> = model.networks.keys().collect();
    if a.json {
        print_json(&serde_json::json!({"out": a.out, "networks": nets, "bytes": bytes.len()}));
    } else {
        println!(
            "{} ({} bytes; networks {:?})",
            a.out.display(),
            bytes.len(),
            nets
        );
    }
    Ok(())
}
