//! Scoring the images a network generates by seed, and ordering them: ResMem memorability, the network's
//! own discriminator, novelty against a training set; and the memorization check of seeds against their
//! nearest training images. `bestiary rank`, `bestiary nearest` and the gallery's memorable sheet read
//! their scores and sheet tiles from here.

use crate::nearest::{nearest, CopyCheck, Neighbour};
use crate::sets::{Featurizer, ImageSet, SeedRenderer};
use crate::{JudgeError, Result, RgbImage};
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

/// Training images whose spacing calibrates the copy check: at most this many, evenly spaced (enough
/// for a stable median).
pub const SPACING_SAMPLE: usize = 2000;

/// What [`neighbours_of_seeds`] looks for.
#[derive(Clone, Copy, Debug)]
pub struct NearestOptions {
    /// Neighbours per seed.
    pub k: usize,
    /// A match closer than this times the median training-set spacing is a likely copy.
    pub copy_ratio: f64,
    /// Keep the generated images (for a sheet).
    pub keep_images: bool,
}

/// Each seed's nearest training images in Inception space, with the copy check calibrated on the
/// training set's own spacing.
pub struct SeedNeighbours {
    /// Per seed, nearest first.
    pub neighbours: Vec<Vec<Neighbour>>,
    /// None when the training set has a single image: no spacing to judge copies by.
    pub check: Option<CopyCheck>,
    /// The generated images, when kept.
    pub images: Vec<RgbImage>,
}

impl SeedNeighbours {
    /// Whether a match at `distance` is a likely copy.
    pub fn is_copy(&self, distance: f64) -> bool {
        self.check.as_ref().is_some_and(|c| c.is_copy(distance))
    }

    /// Whether the `i`-th seed's nearest training image is a likely copy.
    pub fn seed_is_copy(&self, i: usize) -> bool {
        self.neighbours[i]
            .first()
            .is_some_and(|n| self.is_copy(n.distance))
    }

    /// How many seeds are flagged.
    pub fn copies(&self) -> usize {
        (0..self.neighbours.len())
            .filter(|&i| self.seed_is_copy(i))
            .count()
    }

    /// Contact-sheet tiles, one row per seed: its image ("seed N"), then its neighbours from `data` with
    /// their distances ("COPY?" before a flagged one). Needs the kept images.
    pub fn tiles(&self, seeds: &[u32], data: &ImageSet) -> Result<Vec<(Image, String)>> {
        let tile = |img: &RgbImage| {
            sheet::tile(img.width as u32, img.height as u32, 3, &img.data)
                .map_err(|e| JudgeError::Input(e.to_string()))
        };
        let mut tiles = Vec::new();
        for ((seed, img), ns) in seeds.iter().zip(&self.images).zip(&self.neighbours) {
            tiles.push((tile(img)?, format!("seed {seed}")));
            for n in ns {
                let flag = if self.is_copy(n.distance) {
                    "COPY? "
                } else {
                    ""
                };
                tiles.push((
                    tile(&data.image(n.index)?)?,
                    format!("{flag}d {:.1}", n.distance),
                ));
            }
        }
        Ok(tiles)
    }
}

/// The memorization check of `seeds`: their images' nearest `opts.k` images of `data` (features of the
/// training set) and whether each is a likely copy. `done(n)` after each chunk.
pub fn neighbours_of_seeds<B: Backend>(
    f: &Featurizer<B>,
    data: &[Vec<f32>],
    r: &SeedRenderer<B>,
    seeds: &[u32],
    opts: NearestOptions,
    done: &mut dyn FnMut(usize),
) -> Result<SeedNeighbours> {
    let (mut features, mut images) = (Vec::with_capacity(seeds.len()), Vec::new());
    r.render(seeds, |_, imgs| {
        features.extend(f.features(&imgs));
        if opts.keep_images {
            images.extend(imgs);
        }
        done(features.len());
        Ok::<_, JudgeError>(())
    })?;
    Ok(SeedNeighbours {
        neighbours: nearest(&features, data, opts.k),
        check: CopyCheck::calibrate(data, opts.copy_ratio, SPACING_SAMPLE),
        images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_come_first_and_ties_keep_their_order() {
        assert_eq!(highest_first(&[0.5f32, 0.9, 0.5, 0.1]), vec![1, 0, 2, 3]);
        assert_eq!(highest_first::<f64>(&[]), Vec::<usize>::new());
    }

    #[test]
    fn a_seed_is_flagged_by_its_nearest_match_only() {
        let n = |index, distance| Neighbour { index, distance };
        let mut found = SeedNeighbours {
            neighbours: vec![vec![n(3, 0.5), n(1, 4.0)], vec![n(0, 2.0), n(2, 0.1)]],
            check: Some(CopyCheck {
                median_spacing: 2.0,
                threshold: 1.0,
            }),
            images: Vec::new(),
        };
        assert!(found.seed_is_copy(0) && !found.seed_is_copy(1));
        assert_eq!(found.copies(), 1);
        // A single training image gives no spacing: nothing is flagged.
        found.check = None;
        assert_eq!(found.copies(), 0);
    }
}
