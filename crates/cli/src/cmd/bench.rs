//! `bestiary bench`: throughput in the shapes of the peer's timing script (shared/peer/peer_cpu.py),
//! so that the two can be run side by side and compared as a ratio.

use crate::backend::DeviceKind;
use crate::output::print_json;
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_stylegan::bench::{bench_generate, BenchShape};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Subcommand)]
pub enum BenchWhat {
    /// Generator forward throughput of a randomly initialised network.
    #[command(after_help = "\
Example (the peer's 32px anchor: python peer_cpu.py --res 32):
  bestiary bench generate --res 32 --cbase 4096 --cmax 256 --z-dim 256 --batch 16

Both programs one after the other, as ratios: tools/bench/vs_peer.sh
BESTIARY_CPU_KERNELS=0 swaps bestiary's own CPU convolution and FIR kernels for Burn's, for comparison.")]
    Generate(GenerateBenchArgs),
    /// Training throughput (s/kimg) in the peer script's schedule: G path length every 4 steps, D R1 every 16.
    #[command(after_help = "\
Example (the peer's 32px anchor: python peer_cpu.py --res 32 --iters 16):
  bestiary bench train --res 32 --cbase 4096 --cmax 256 --z-dim 256 --batch 16 --iters 16

Both programs one after the other, as ratios (with peak memory): tools/bench/vs_peer.sh
BESTIARY_CPU_KERNELS=0 swaps bestiary's own CPU convolution and FIR kernels for Burn's, for comparison.")]
    Train(GenerateBenchArgs),
}

#[derive(Args)]
pub struct GenerateBenchArgs {
    #[arg(long, default_value_t = 64)]
    pub res: usize,
    #[arg(long, default_value_t = 4096)]
    pub cbase: usize,
    #[arg(long, default_value_t = 256)]
    pub cmax: usize,
    #[arg(long, default_value_t = 256)]
    pub z_dim: usize,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Timed passes (generate) or training steps (train) after one warm-up (the peer script times 5 and 16).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[arg(long)]
    pub json: bool,
}

fn shape(g: &GenerateBenchArgs) -> Result<BenchShape> {
    if g.batch == 0 || g.batch > 4096 || g.iters == 0 || g.iters > 10_000 {
        bail!("--batch must be in 1..=4096 and --iters in 1..=10000");
    }
    if g.z_dim == 0 || g.cbase == 0 || g.cmax == 0 {
        bail!("--z-dim, --cbase and --cmax must be positive");
    }
    Ok(BenchShape {
        res: g.res,
        cbase: g.cbase,
        cmax: g.cmax,
        z_dim: g.z_dim,
        batch: g.batch,
    })
}

pub fn run(a: &BenchArgs) -> Result<()> {
    match &a.what {
        BenchWhat::Train(g) => {
            let shape = shape(g)?;
            let r = with_backend!(g.device, |B, dev| anyhow::Ok(
                bestiary_train::bench::bench_train::<B>(shape, g.iters, &dev)?
            ))?;
            if g.json {
                print_json(&serde_json::to_value(&r)?);
            } else {
                println!(
                    "config res={} cbase={} cmax={} zdim={} batch={} iters={} peak_rss_mb={:.0}",
                    g.res, g.cbase, g.cmax, g.z_dim, g.batch, g.iters, r.peak_rss_mb
                );
                println!("s_per_kimg: {:.1}", r.s_per_kimg);
            }
            Ok(())
        }
        BenchWhat::Generate(g) => {
            let shape = shape(g)?;
            let r = with_backend!(g.device, |B, dev| anyhow::Ok(bench_generate::<B>(
                shape, g.iters, &dev
            )?))?;
            if g.json {
                print_json(&serde_json::to_value(&r)?);
            } else {
                println!(
                    "config res={} cbase={} cmax={} zdim={} batch={} G_elements={} (parameters and buffers)",
                    g.res, g.cbase, g.cmax, g.z_dim, g.batch, r.g_elements
                );
                println!("imgs_per_s: {:.2}", r.imgs_per_s);
            }
            Ok(())
        }
    }
}
