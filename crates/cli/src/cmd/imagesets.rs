//! The judging commands' side of `bestiary_judge::sets`: the Inception weights fetched into the cache
//! with a message, the feature cache in bestiary's cache folder, and progress bars on the long passes.

use crate::output::progress;
use anyhow::Result;
use bestiary_judge::sets::{self, SetEvent};
use burn::tensor::backend::Backend;
use std::path::Path;

pub use bestiary_judge::sets::{load_set, ImageSet, Sampler, SeedRenderer};

/// Inception features, shown with progress bars unless `quiet`.
pub struct Featurizer<B: Backend> {
    inner: sets::Featurizer<B>,
    quiet: bool,
}

impl<B: Backend> Featurizer<B> {
    /// Loads the FID Inception weights (fetched into the cache on first use, with a message).
    pub fn new(batch: usize, quiet: bool, device: &B::Device) -> Result<Self> {
        sets::check_batch(batch)?;
        let weights = bestiary_perceptual::inception_weights(&mut |m: &str| eprintln!("{m}"))?;
        Ok(Featurizer {
            inner: sets::Featurizer::load(&weights, batch, device)?,
            quiet,
        })
    }

    /// The library's featurizer, for the calls that need no progress bar of their own.
    pub fn library(&self) -> &sets::Featurizer<B> {
        &self.inner
    }

    /// Features of every image of a set; with `cache`, through the feature cache.
    pub fn set_features(&self, path: &Path, cache: bool) -> Result<Vec<Vec<f32>>> {
        let pb = progress(0, "inception", self.quiet);
        let dir = cache.then(bestiary_assets::cache_dir);
        let out = self
            .inner
            .set_features(path, dir.as_deref(), &mut |e| match e {
                SetEvent::Progress { done, total } => {
                    pb.set_length(total as u64);
                    pb.set_position(done as u64);
                }
                SetEvent::Note(n) => eprintln!("note: {n}"),
            })?;
        pb.finish_and_clear();
        Ok(out)
    }

    /// Features of the images a network generates for `seeds`.
    pub fn generated_features(&self, r: &SeedRenderer<B>, seeds: &[u32]) -> Result<Vec<Vec<f32>>> {
        let pb = progress(seeds.len() as u64, "generate", self.quiet);
        let out = self
            .inner
            .generated_features(r, seeds, &mut |n| pb.set_position(n as u64))?;
        pb.finish_and_clear();
        Ok(out)
    }
}
