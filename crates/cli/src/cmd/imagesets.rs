//! Image sets for the judging commands: folders and dataset zips read by index, images generated from a
//! network by seed, and Inception features of either (a training set's features cached by fingerprint).

use crate::output::progress;
use anyhow::{bail, Context, Result};
use bestiary_canvas::io::{is_image_path, READABLE_EXTENSIONS};
use bestiary_judge::{feature_cache, Inception, RgbImage};
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{
    load_generator, Generator, GeneratorConfig, ModelFile, NoiseMode, SynthesisOptions,
};
use burn::tensor::backend::Backend;
use std::path::{Path, PathBuf};

/// Tag of the feature network in cache entry names.
const INCEPTION_TAG: &str = "inception-default_1";

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd =
        std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    for e in rd {
        let p = e
            .with_context(|| format!("cannot read folder {}", dir.display()))?
            .path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if is_image_path(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// A folder of images (recursively, in path order) or a dataset zip, read one image at a time.
pub enum ImageSet {
    Files { root: PathBuf, files: Vec<PathBuf> },
    Zip(Box<bestiary_dataset::Dataset>),
}

impl ImageSet {
    pub fn open(path: &Path) -> Result<ImageSet> {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        let set = if path.is_dir() {
            let mut files = Vec::new();
            collect_files(path, &mut files)?;
            files.sort();
            ImageSet::Files {
                root: path.to_path_buf(),
                files,
            }
        } else {
            let ds = bestiary_dataset::Dataset::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            ImageSet::Zip(Box::new(ds))
        };
        if set.is_empty() {
            bail!(
                "{} holds no images ({})",
                path.display(),
                READABLE_EXTENSIONS.join(", ")
            );
        }
        Ok(set)
    }

    pub fn len(&self) -> usize {
        match self {
            ImageSet::Files { files, .. } => files.len(),
            ImageSet::Zip(ds) => ds.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A short name for image `i`: its path under the folder, or its name in the zip.
    pub fn name(&self, i: usize) -> String {
        match self {
            ImageSet::Files { root, files } => files[i]
                .strip_prefix(root)
                .unwrap_or(&files[i])
                .display()
                .to_string(),
            ImageSet::Zip(ds) => ds.name(i).to_string(),
        }
    }

    /// Image `i` as RGB (grey replicated, alpha dropped).
    pub fn image(&self, i: usize) -> Result<RgbImage> {
        match self {
            ImageSet::Files { files, .. } => {
                let img = bestiary_canvas::Image::load(&files[i])?;
                let data = img.to_channels(3)?;
                Ok(RgbImage {
                    width: img.width() as usize,
                    height: img.height() as usize,
                    data,
                })
            }
            ImageSet::Zip(ds) => {
                let (res, ch) = (ds.resolution() as usize, ds.channels());
                let chw = ds.image(i);
                let mut data = Vec::with_capacity(res * res * 3);
                for p in 0..res * res {
                    for c in 0..3 {
                        data.push(chw[c.min(ch - 1) * res * res + p]);
                    }
                }
                Ok(RgbImage {
                    width: res,
                    height: res,
                    data,
                })
            }
        }
    }
}

/// Every image of a folder (recursively, in name order) or of a dataset zip, as RGB.
pub fn load_set(path: &Path) -> Result<Vec<RgbImage>> {
    let set = ImageSet::open(path)?;
    (0..set.len()).map(|i| set.image(i)).collect()
}

/// 8-bit HWC pixels with `channels` channels as RGB (grey replicated, alpha dropped).
pub fn to_rgb(res: usize, channels: usize, hwc: &[u8]) -> RgbImage {
    let data = hwc
        .chunks(channels)
        .flat_map(|p| [p[0], p[1.min(channels - 1)], p[2.min(channels - 1)]])
        .collect();
    RgbImage {
        width: res,
        height: res,
        data,
    }
}

/// How generated images are sampled.
#[derive(Clone, Copy, Debug)]
pub struct Sampler {
    pub trunc: f64,
    pub noise_mode: NoiseMode,
    pub batch: usize,
}

/// A loaded generator that renders seeds (conditional networks cycle through the classes by seed).
pub struct SeedRenderer<B: Backend> {
    pub g: Generator<B>,
    pub cfg: GeneratorConfig,
    sampler: Sampler,
    device: B::Device,
}

impl<B: Backend> SeedRenderer<B> {
    pub fn new(model: &ModelFile, sampler: Sampler, device: &B::Device) -> Result<Self> {
        let (g, cfg) = load_generator::<B>(model, device)?;
        // Random noise draws from the host generator: seed it so that a score can be reproduced.
        bestiary_stylegan::host_rng::seed(0);
        Ok(SeedRenderer {
            g,
            cfg,
            sampler,
            device: device.clone(),
        })
    }

    /// RGB images of `seeds`, at most `batch` per forward pass, handed to `f` chunk by chunk.
    pub fn render(
        &self,
        seeds: &[u32],
        mut f: impl FnMut(&[u32], Vec<RgbImage>) -> Result<()>,
    ) -> Result<()> {
        self.render_raw(seeds, |chunk, raw| {
            f(chunk, raw.iter().map(|hwc| self.rgb(hwc)).collect())
        })
    }

    /// The network's own pixels (`img_channels` per pixel, HWC) of `seeds`, chunk by chunk.
    pub fn render_raw(
        &self,
        seeds: &[u32],
        mut f: impl FnMut(&[u32], Vec<Vec<u8>>) -> Result<()>,
    ) -> Result<()> {
        let synthesis = SynthesisOptions {
            noise_mode: self.sampler.noise_mode,
            ..Default::default()
        };
        for chunk in seeds.chunks(self.sampler.batch.max(1)) {
            let mut out = Vec::with_capacity(chunk.len());
            if self.cfg.c_dim == 0 {
                let s = Sampling {
                    psi: self.sampler.trunc,
                    cutoff: None,
                    class: None,
                    synthesis,
                };
                out.extend(generate_seeds(&self.g, &self.cfg, chunk, &s, &self.device)?);
            } else {
                for &seed in chunk {
                    let class = Some(seed as usize % self.cfg.c_dim);
                    let s = Sampling {
                        psi: self.sampler.trunc,
                        cutoff: None,
                        class,
                        synthesis,
                    };
                    out.extend(generate_seeds(
                        &self.g,
                        &self.cfg,
                        &[seed],
                        &s,
                        &self.device,
                    )?);
                }
            }
            f(chunk, out)?;
        }
        Ok(())
    }

    /// The network's pixels as RGB.
    pub fn rgb(&self, hwc: &[u8]) -> RgbImage {
        to_rgb(self.cfg.img_resolution, self.cfg.img_channels, hwc)
    }
}

/// Inception features, shown with progress bars unless `quiet`.
pub struct Featurizer<B: Backend> {
    net: Inception<B>,
    batch: usize,
    quiet: bool,
    device: B::Device,
}

impl<B: Backend> Featurizer<B> {
    /// Loads the FID Inception weights (fetched into the cache on first use, with a message).
    pub fn new(batch: usize, quiet: bool, device: &B::Device) -> Result<Self> {
        if batch == 0 || batch > 1024 {
            bail!("--batch must be in 1..=1024, got {batch}");
        }
        let mut log = |m: &str| eprintln!("{m}");
        let weights = bestiary_assets::ensure("inception", &mut log)?;
        let net = Inception::<B>::load(&weights, device)?;
        Ok(Featurizer {
            net,
            batch,
            quiet,
            device: device.clone(),
        })
    }

    pub fn features(&self, images: &[RgbImage]) -> Vec<Vec<f32>> {
        self.net.features(images, self.batch, &self.device)
    }

    /// Features of every image of a set. With `cache`, they are read from (or written to) the feature
    /// cache under the set's fingerprint, so a training set is passed through Inception once.
    pub fn set_features(&self, path: &Path, cache: bool) -> Result<Vec<Vec<f32>>> {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        let entry = if cache {
            let fp = feature_cache::fingerprint(path)?;
            let entry =
                feature_cache::entry_path(&bestiary_assets::cache_dir(), INCEPTION_TAG, &fp);
            if let Some(f) = feature_cache::load(&entry, &fp) {
                return Ok(f);
            }
            Some((entry, fp))
        } else {
            None
        };
        let set = ImageSet::open(path)?;
        let pb = progress(set.len() as u64, "inception", self.quiet);
        let mut out = Vec::with_capacity(set.len());
        for start in (0..set.len()).step_by(self.batch) {
            let imgs = (start..(start + self.batch).min(set.len()))
                .map(|i| set.image(i))
                .collect::<Result<Vec<_>>>()?;
            out.extend(self.net.features_batch(&imgs, &self.device));
            pb.inc(imgs.len() as u64);
        }
        pb.finish_and_clear();
        if let Some((entry, fp)) = entry {
            // A cache that cannot be written only costs time next run.
            if let Err(e) = feature_cache::save(&entry, &fp, &out) {
                eprintln!("note: could not cache features at {}: {e}", entry.display());
            }
        }
        Ok(out)
    }

    /// Features of the images a network generates for `seeds`.
    pub fn generated_features(&self, r: &SeedRenderer<B>, seeds: &[u32]) -> Result<Vec<Vec<f32>>> {
        let pb = progress(seeds.len() as u64, "generate", self.quiet);
        let mut out = Vec::with_capacity(seeds.len());
        r.render(seeds, |chunk, imgs| {
            out.extend(self.features(&imgs));
            pb.inc(chunk.len() as u64);
            Ok(())
        })?;
        pb.finish_and_clear();
        Ok(out)
    }
}
