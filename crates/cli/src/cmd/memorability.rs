//! `bestiary memorability`: ResMem image memorability scores for image files, folders and dataset zips.

use crate::backend::DeviceKind;
use crate::output::{print_json, progress};
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_judge::memorability::{load_crops, score_crops};
use bestiary_perceptual::ResMem;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary memorability photo.jpg
  bestiary memorability out/generated/ --json > scores.json
  bestiary memorability datasets/emoji.zip --batch 16 --device cuda
  bestiary memorability photos/ 2> skipped.txt      unreadable photos are listed in skipped.txt
ResMem (Needell & Bainbridge, PyPI resmem 1.1.6): a ResNet-152 and an AlexNet-like branch on the image
resized to 256x256 and centre-cropped to 227x227, scored in (0, 1); higher means more memorable.
Prints one line per image, `0.8123  path` (images of a folder in name order, searched recursively; images
of a zip named zip/member). Unreadable images are skipped with their reason on stderr (with --json also as
{path, score: null, skipped}); the exit status is non-zero only when nothing could be scored.
The weights (527 MB) are fetched into the asset cache on first use (see `bestiary assets`). They are under
the ResMem Non-commercial License (University of Chicago): noncommercial use only, keep the notice, do not
redistribute them.")]
pub struct MemorabilityArgs {
    /// Image files, folders of images (searched recursively) or dataset zips.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print a JSON array of {"path", "score"} instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(a: &MemorabilityArgs) -> Result<()> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let items = load_crops(&a.paths)?;
    // Unreadable images are skipped with their reason, as `bestiary dataset` does; only a run that can
    // score nothing fails.
    let (labels, crops): (Vec<&str>, Vec<Vec<u8>>) = items
        .iter()
        .filter_map(|it| {
            it.crop
                .as_ref()
                .ok()
                .map(|c| (it.label.as_str(), c.clone()))
        })
        .unzip();
    let skipped: Vec<(&str, &str)> = items
        .iter()
        .filter_map(|it| {
            it.crop
                .as_ref()
                .err()
                .map(|e| (it.label.as_str(), e.as_str()))
        })
        .collect();
    // "path: reason", the path said once (most reasons already name it).
    let reason = |label: &str, why: &str| {
        if why.contains(label) {
            why.to_string()
        } else {
            format!("{label}: {why}")
        }
    };
    if crops.is_empty() {
        let first = skipped
            .first()
            .map(|(l, w)| reason(l, w))
            .unwrap_or_default();
        match skipped.len() {
            1 => bail!("nothing could be scored: {first}"),
            n => bail!("nothing could be scored: all {n} images are unreadable (first: {first})"),
        }
    }
    for (label, why) in &skipped {
        eprintln!("skipped: {}", reason(label, why));
    }
    let mut log = |m: &str| eprintln!("{m}");
    let weights = bestiary_perceptual::resmem_weights(&mut log)?;
    let scores = with_backend!(a.device, |B, dev| {
        let net = ResMem::<B>::load(&weights, &dev)?;
        let pb = progress(crops.len() as u64, "resmem", a.json);
        let scores = score_crops(&net, &crops, a.batch, &mut |n| pb.set_position(n as u64))?;
        pb.finish_and_clear();
        Ok::<_, anyhow::Error>(scores)
    })?;
    if a.json {
        // In argument order; a skipped image has "score": null and "skipped": its reason.
        let mut scored = labels.iter().zip(&scores);
        let rows = items
            .iter()
            .map(|it| match &it.crop {
                Ok(_) => {
                    let (p, s) = scored.next().expect("one score per readable image");
                    serde_json::json!({"path": p, "score": s})
                }
                Err(e) => serde_json::json!({"path": it.label, "score": null, "skipped": e}),
            })
            .collect();
        print_json(&serde_json::Value::Array(rows));
    } else {
        for (p, s) in labels.iter().zip(&scores) {
            println!("{s:.4}  {p}");
        }
    }
    Ok(())
}
