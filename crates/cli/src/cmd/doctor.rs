//! `bestiary doctor`: what a user runs first when a device misbehaves. It lists what the device
//! needs (driver, GPU, NVRTC, headers, caches; or the CPU's vector extensions) and runs the device
//! against the CPU on a small network (bestiary_train::device_parity), with pass/fail per check.

use crate::backend::DeviceKind;
use crate::output::print_json;
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_train::device_parity::{device_parity, ParityCheck, ParityShape};
use clap::Args;
use serde_json::json;
use std::time::Instant;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary doctor                      the CPU: its vector extensions, and bestiary's kernels against Burn's ops
  bestiary doctor --device cuda        driver, GPU, NVRTC, CUDA headers, kernel caches, then GPU against CPU
  bestiary doctor --device cuda --json

The parity check builds a small network from one seed on both sides and compares images (within one
8-bit level), discriminator logits (1e-4 relative), the gradients of the main losses, of R1 and of the
path-length penalty (1e-3 relative) and the losses of 4 seeded training steps (1e-3 relative).
Exit status 0 when everything passes, 1 otherwise.")]
pub struct DoctorArgs {
    /// The device to check.
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Only list what the device needs; skip the parity check.
    #[arg(long)]
    pub no_parity: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &DoctorArgs) -> Result<()> {
    let mut report = serde_json::Map::new();
    let mut lines: Vec<String> = Vec::new();
    let cpu = bestiary_device::cpu_info();
    lines.push(format!(
        "cpu       {} ({} threads; {})",
        cpu.model,
        cpu.threads,
        cpu.simd.join(" ")
    ));
    report.insert("cpu".into(), json!(cpu));
    let mut ready = true;
    if a.device == DeviceKind::Cuda {
        let probe = bestiary_device::probe();
        lines.push(format!(
            "build     CUDA support {}",
            if cfg!(feature = "cuda") {
                "compiled in (autotune on)"
            } else {
                "absent: rebuild with --features cuda"
            }
        ));
        lines.push(part(
            "driver",
            probe.driver.as_ref().map(|v| format!("CUDA {v}")),
        ));
        for gpu in &probe.gpus {
            let (maj, min) = gpu.compute_capability;
            lines.push(format!(
                "gpu {}     {}, {:.1} GiB, compute capability {maj}.{min}",
                gpu.ordinal,
                gpu.name,
                gpu.memory_bytes as f64 / (1u64 << 30) as f64
            ));
        }
        if probe.driver.is_ok() && probe.gpus.is_empty() {
            lines.push("gpu       MISSING: the driver sees no GPU".into());
        }
        lines.push(part("nvrtc", probe.nvrtc.clone()));
        lines.push(part(
            "headers",
            probe.headers.as_ref().map(|p| p.display().to_string()),
        ));
        ready = probe.usable() && cfg!(feature = "cuda");
        report.insert("cuda".into(), json!(probe));
        report.insert("cuda_build".into(), json!(cfg!(feature = "cuda")));
        if ready {
            crate::backend::prepare(a.device)?;
            if let Some(c) = crate::backend::gpu_caches() {
                let state = if c.fresh {
                    "empty: the first run compiles and tunes every kernel"
                } else {
                    "warm"
                };
                lines.push(format!(
                    "cache     {} ({state})",
                    c.kernels.parent().unwrap_or(&c.kernels).display()
                ));
                report.insert("gpu_cache".into(), json!(c));
            }
        }
    }
    let mut checks: Vec<ParityCheck> = Vec::new();
    let mut failure: Option<String> = None;
    let mut seconds = 0.0;
    if ready && !a.no_parity {
        if !a.json {
            for l in &lines {
                println!("{l}");
            }
            lines.clear();
            eprintln!(
                "parity    running {} against the CPU on a small network...",
                device_name(a.device)
            );
        }
        let t = Instant::now();
        match crate::backend::catch_panic(|| -> Result<Vec<ParityCheck>> {
            with_backend!(a.device, |B, dev| Ok(device_parity::<B>(
                ParityShape::default(),
                &dev
            )))
        }) {
            Ok(Ok(c)) => checks = c,
            Ok(Err(e)) => failure = Some(e.to_string()),
            Err(panic) => failure = Some(panic),
        }
        seconds = t.elapsed().as_secs_f64();
    }
    let failed = checks.iter().filter(|c| !c.pass).count()
        + usize::from(failure.is_some())
        + usize::from(!ready);
    report.insert("device".into(), json!(device_name(a.device)));
    report.insert("parity".into(), json!(checks));
    report.insert("parity_seconds".into(), json!(seconds));
    report.insert("parity_error".into(), json!(failure));
    report.insert("ok".into(), json!(failed == 0));
    if a.json {
        print_json(&serde_json::Value::Object(report));
    } else {
        for l in &lines {
            println!("{l}");
        }
        let reference = if a.device == DeviceKind::Cpu {
            "Burn's own ops"
        } else {
            "the CPU"
        };
        if !checks.is_empty() {
            println!(
                "parity    {} against {reference} ({seconds:.1} s):",
                device_name(a.device)
            );
        }
        for c in &checks {
            println!(
                "  {}  {:<40} {:>9.2e} {:<8} (tolerance {:.0e})",
                if c.pass { "pass" } else { "FAIL" },
                c.name,
                c.error,
                c.unit,
                c.tolerance
            );
        }
        if let Some(e) = &failure {
            println!("  FAIL  the check stopped: {e}");
        }
    }
    if failed > 0 {
        bail!("{failed} problem(s) found on {}", device_name(a.device));
    }
    if !a.json {
        println!(
            "ok: {} works and agrees with {}",
            device_name(a.device),
            if a.device == DeviceKind::Cpu {
                "Burn's own ops"
            } else {
                "the CPU"
            }
        );
    }
    Ok(())
}

fn device_name(d: DeviceKind) -> &'static str {
    match d {
        DeviceKind::Cpu => "cpu",
        DeviceKind::Cuda => "cuda",
    }
}

fn part<E: std::fmt::Display>(name: &str, r: Result<String, E>) -> String {
    match r {
        Ok(v) => format!("{name:<9} ok  {v}"),
        Err(e) => format!("{name:<9} MISSING: {e}"),
    }
}
