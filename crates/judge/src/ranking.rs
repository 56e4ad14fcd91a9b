//! Scoring the images a network generates by seed, and ordering them: ResMem memorability, the network's
//! own discriminator, novelty against a training set. `bestiary rank` and the gallery's memorable sheet
//! read their scores and sheet tiles from here.

use crate::nearest::nearest;
use crate::sets::{Featurizer, SeedRenderer};
use crate::{JudgeError, Result};
use bestiary_canvas::{sheet, Image};
use bestiary_perceptual::ResMem;
use bestiary_stylegan::sampling::critic_logit;
use bestiary_stylegan::{Discriminator, DiscriminatorConfig};
use burn::tensor::backend::Backend;

/// ResMem memorability of the images a network generates for `seeds`, scored `batch` at a time;
/// `done(n)` after each chunk.
pub fn memorability_of_seeds<B: Backend>(
    net: &ResMem<B>,
    r: &SeedRenderer<B>,
    seeds: &[u32],
    batch: usize,
    done: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(seeds.len());
    r.render(seeds, |_, imgs| {
        out.extend(net.score(&imgs, batch)?);
        done(out.len());
        Ok::<_, JudgeError>(())
    })?;
    Ok(out)
}

/// The discriminator's logit for each seed's image, each image scored alone (with its seed's class on a
/// conditional network); `done(n)` after each chunk.
pub fn critic_of_seeds<B: Backend>(
    d: &Discriminator<B>,
    cfg: &DiscriminatorConfig,
    r: &SeedRenderer<B>,
    seeds: &[u32],
    device: &B::Device,
    done: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(seeds.len());
    r.render_raw(seeds, |chunk, raw| {
        for (&seed, hwc) in chunk.iter().zip(&raw) {
            let logit = critic_logit(d, cfg, hwc, r.class_of(seed), device)
                .map_err(|e| JudgeError::Input(e.to_string()))?;
            out.push(logit);
        }
        done(out.len());
        Ok::<_, JudgeError>(())
    })?;
    Ok(out)
}

/// Each seed's Inception distance to its nearest image of `data` (features of the training set):
/// how far the image is from anything the network saw. `done(n)` after each chunk.
pub fn novelty_of_seeds<B: Backend>(
    f: &Featurizer<B>,
    data: &[Vec<f32>],
    r: &SeedRenderer<B>,
    seeds: &[u32],
    done: &mut dyn FnMut(usize),
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(seeds.len());
    r.render(seeds, |_, imgs| {
        out.extend(
            nearest(&f.features(&imgs), data, 1)
                .iter()
                .map(|n| n[0].distance),
        );
        done(out.len());
        Ok::<_, JudgeError>(())
    })?;
    Ok(out)
}

/// Indices of `scores` from the highest down; ties keep the earlier index first.
pub fn highest_first<T: Copy + Into<f64>>(scores: &[T]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| {
        scores[j]
            .into()
            .total_cmp(&scores[i].into())
            .then(i.cmp(&j))
    });
    order
}

/// `seeds` rendered again as contact-sheet tiles (enlarged to a readable size), in the order given, each
/// with the caption `caption(i)` for the `i`-th seed.
pub fn seed_tiles<B: Backend>(
    r: &SeedRenderer<B>,
    seeds: &[u32],
    mut caption: impl FnMut(usize) -> String,
) -> Result<Vec<(Image, String)>> {
    let mut tiles = Vec::with_capacity(seeds.len());
    r.render(seeds, |_, imgs| {
        for img in imgs {
            let t = sheet::tile(img.width as u32, img.height as u32, 3, &img.data)
                .map_err(|e| JudgeError::Input(e.to_string()))?;
            tiles.push((t, caption(tiles.len())));
        }
        Ok::<_, JudgeError>(())
    })?;
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_come_first_and_ties_keep_their_order() {
        assert_eq!(highest_first(&[0.5f32, 0.9, 0.5, 0.1]), vec![1, 0, 2, 3]);
        assert_eq!(highest_first::<f64>(&[]), Vec::<usize>::new());
    }
}
