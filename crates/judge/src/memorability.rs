//! ResMem memorability of images on disk (`bestiary memorability`): files, folders and dataset zips read
//! into 227x227 crops, unreadable images kept with their reason so that the rest can still be scored.

use crate::sets::{read_rgb, ImageSet};
use crate::Result;
use bestiary_canvas::io::is_image_path;
use bestiary_perceptual::resmem::{preprocess_u8, ResMem};
use burn::tensor::backend::Backend;
use rayon::prelude::*;
use std::path::PathBuf;

/// One image named by the caller: its 227x227 crop, or why it cannot be scored.
pub struct Item {
    /// The file's path, or `folder/name` for an image of a folder or zip.
    pub label: String,
    pub crop: std::result::Result<Vec<u8>, String>,
}

/// Every image named by `paths` (image files, folders searched recursively, dataset zips), in order.
/// Decoding happens in parallel and only the crops are kept, so large folders of large photos stay cheap
/// in memory. A path that does not exist or holds no images is an error.
pub fn load_crops(paths: &[PathBuf]) -> Result<Vec<Item>> {
    let crop = |img: Result<_>| -> std::result::Result<Vec<u8>, String> {
        let img = img.map_err(|e| e.to_string())?;
        preprocess_u8(&img).map_err(|e| e.to_string())
    };
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() && is_image_path(path) {
            out.push(Item {
                label: path.display().to_string(),
                crop: crop(read_rgb(path)),
            });
            continue;
        }
        let set = ImageSet::open(path)?;
        let items: Vec<Item> = (0..set.len())
            .into_par_iter()
            .map(|i| Item {
                label: path.join(set.name(i)).display().to_string(),
                crop: crop(set.image(i)),
            })
            .collect();
        out.extend(items);
    }
    Ok(out)
}

/// ResMem scores of crops, `batch` at a time; `done(n)` after each batch.
pub fn score_crops<B: Backend>(
    net: &ResMem<B>,
    crops: &[Vec<u8>],
    batch: usize,
    done: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    let mut scores = Vec::with_capacity(crops.len());
    for chunk in crops.chunks(batch.max(1)) {
        scores.extend(net.score_crops(chunk, chunk.len())?);
        done(scores.len());
    }
    Ok(scores)
}
