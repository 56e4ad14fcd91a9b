//! `bestiary memorability`: ResMem image memorability scores for image files, folders and dataset zips.

use crate::backend::DeviceKind;
use crate::output::{print_json, progress};
use crate::with_backend;
use anyhow::{bail, Result};
use bestiary_judge::resmem::{preprocess_u8, ResMem};
use bestiary_judge::RgbImage;
use super::imagesets::{ImageSet, IMAGE_EXTS};
use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(after_help = "\
Examples:
  bestiary memorability photo.jpg
  bestiary memorability out/generated/ --json > scores.json
  bestiary memorability datasets/emoji.zip --batch 16 --device cuda
ResMem (Needell & Bainbridge, PyPI resmem 1.1.6): a ResNet-152 and an AlexNet-like branch on the image
resized to 256x256 and centre-cropped to 227x227, scored in (0, 1); higher means more memorable.
Prints one line per image, `0.8123  path` (images of a folder in name order, searched recursively; images
of a zip named zip/member).
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

fn is_image(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

fn decode_file(path: &Path) -> Result<RgbImage> {
    let img = bestiary_canvas::Image::load(path)?;
    let data = img.to_channels(3)?;
    Ok(RgbImage { width: img.width() as usize, height: img.height() as usize, data })
}

/// Every image named by `paths` (files, folders, dataset zips), as (label, 227x227 crop). Decoding happens
/// in parallel and only the crops are kept, so large folders of large photos stay cheap in memory.
pub fn load_crops(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() && is_image(path) {
            out.push((path.display().to_string(), preprocess_u8(&decode_file(path)?)?));
            continue;
        }
        let set = ImageSet::open(path)?;
        let crops = (0..set.len())
            .into_par_iter()
            .map(|i| Ok((path.join(set.name(i)).display().to_string(), preprocess_u8(&set.image(i)?)?)))
            .collect::<Result<Vec<_>>>()?;
        out.extend(crops);
    }
    Ok(out)
}

pub fn run(a: &MemorabilityArgs) -> Result<()> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let items = load_crops(&a.paths)?;
    let mut log = |m: &str| eprintln!("{m}");
    let weights = bestiary_assets::ensure("resmem", &mut log)?;
    let (labels, crops): (Vec<String>, Vec<Vec<u8>>) = items.into_iter().unzip();
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
        print_json(&serde_json::Value::Array(
            labels.iter().zip(&scores).map(|(p, s)| serde_json::json!({"path": p, "score": s})).collect(),
        ));
    } else {
        for (p, s) in labels.iter().zip(&scores) {
            println!("{s:.4}  {p}");
        }
    }
    Ok(())
}
