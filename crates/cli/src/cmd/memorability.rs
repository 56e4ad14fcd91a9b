//! `bestiary memorability`: ResMem image memorability scores for image files, folders and dataset zips.

use super::imagesets::ImageSet;
use crate::backend::DeviceKind;
use crate::output::{print_json, progress};
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_canvas::io::is_image_path;
use bestiary_judge::RgbImage;
use bestiary_perceptual::resmem::{preprocess_u8, ResMem};
use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

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

fn decode_file(path: &Path) -> Result<RgbImage> {
    let img = bestiary_canvas::Image::load(path)?;
    let data = img.to_channels(3)?;
    Ok(RgbImage {
        width: img.width() as usize,
        height: img.height() as usize,
        data,
    })
}

/// One image named on the command line: its 227x227 crop, or why it cannot be scored.
pub struct Item {
    pub label: String,
    pub crop: Result<Vec<u8>, String>,
}

/// Every image named by `paths` (files, folders, dataset zips), as (label, 227x227 crop or the reason it
/// could not be read). Decoding happens in parallel and only the crops are kept, so large folders of large
/// photos stay cheap in memory. A path that does not exist or holds no images is an error.
pub fn load_crops(paths: &[PathBuf]) -> Result<Vec<Item>> {
    let crop = |r: Result<RgbImage>| {
        r.and_then(|img| Ok(preprocess_u8(&img)?))
            .map_err(|e| format!("{e:#}"))
    };
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() && is_image_path(path) {
            out.push(Item {
                label: path.display().to_string(),
                crop: crop(decode_file(path)),
            });
            continue;
        }
        let set = ImageSet::open(path)?;
        let items: Vec<Item> = (0..set.len())
            .into_par_iter()
            .map(|i| Item {
                label: path.join(set.name(i)).display().to_string(),
                crop: crop(set.image(i).map_err(anyhow::Error::from)),
            })
            .collect();
        out.extend(items);
    }
    Ok(out)
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
        let mut scores = Vec::with_capacity(crops.len());
        for chunk in crops.chunks(a.batch) {
            scores.extend(net.score_crops(chunk, chunk.len())?);
            pb.inc(chunk.len() as u64);
        }
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
