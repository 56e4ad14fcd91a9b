//! What the judging commands compare: image sets (folders and dataset zips read one image at a time),
//! the images a network generates by seed, and Inception features of either (a training set's features
//! cached by fingerprint, so it is passed through Inception once).

use crate::{feature_cache, JudgeError, Result, RgbImage};
use bestiary_canvas::io::{is_image_path, READABLE_EXTENSIONS};
use bestiary_perceptual::Inception;
use bestiary_stylegan::sampling::{generate_seeds, Sampling};
use bestiary_stylegan::{
    load_generator, Generator, GeneratorConfig, ModelFile, NoiseMode, SynthesisOptions,
};
use burn::tensor::backend::Backend;
use std::path::{Path, PathBuf};

/// Tag of the feature network in cache entry names.
const INCEPTION_TAG: &str = "inception-default_1";

fn input(msg: String) -> JudgeError {
    JudgeError::Input(msg)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |e| JudgeError::Io {
        path: dir.display().to_string(),
        cause: e,
    };
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
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
    /// Opens a set; a path that does not exist or holds no images is an error.
    pub fn open(path: &Path) -> Result<ImageSet> {
        if !path.exists() {
            return Err(input(format!("{} does not exist", path.display())));
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
                .map_err(|e| input(format!("cannot open {}: {e}", path.display())))?;
            ImageSet::Zip(Box::new(ds))
        };
        if set.is_empty() {
            return Err(input(format!(
                "{} holds no images ({})",
                path.display(),
                READABLE_EXTENSIONS.join(", ")
            )));
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
            ImageSet::Files { files, .. } => read_rgb(&files[i]),
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

/// An image file as RGB (grey replicated, alpha dropped).
pub fn read_rgb(path: &Path) -> Result<RgbImage> {
    // The canvas error names the file already.
    let bad = |e: bestiary_canvas::Error| input(e.to_string());
    let img = bestiary_canvas::Image::load(path).map_err(bad)?;
    let data = img.to_channels(3).map_err(bad)?;
    Ok(RgbImage {
        width: img.width() as usize,
        height: img.height() as usize,
        data,
    })
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
        let (g, cfg) = load_generator::<B>(model, device).map_err(|e| input(e.to_string()))?;
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
    pub fn render<E: From<JudgeError>>(
        &self,
        seeds: &[u32],
        mut f: impl FnMut(&[u32], Vec<RgbImage>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.render_raw(seeds, |chunk, raw| {
            f(chunk, raw.iter().map(|hwc| self.rgb(hwc)).collect())
        })
    }

    /// RGB images of all `seeds`; `done(n)` after each chunk.
    pub fn images(&self, seeds: &[u32], done: &mut dyn FnMut(usize)) -> Result<Vec<RgbImage>> {
        let mut out = Vec::with_capacity(seeds.len());
        self.render(seeds, |_, imgs| {
            out.extend(imgs);
            done(out.len());
            Ok::<_, JudgeError>(())
        })?;
        Ok(out)
    }

    /// The network's own pixels (`img_channels` per pixel, HWC) of `seeds`, chunk by chunk.
    pub fn render_raw<E: From<JudgeError>>(
        &self,
        seeds: &[u32],
        mut f: impl FnMut(&[u32], Vec<Vec<u8>>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let synthesis = SynthesisOptions {
            noise_mode: self.sampler.noise_mode,
            ..Default::default()
        };
        let sampling = |class| Sampling {
            psi: self.sampler.trunc,
            cutoff: None,
            class,
            synthesis,
        };
        let generate = |seeds: &[u32], class| {
            generate_seeds(&self.g, &self.cfg, seeds, &sampling(class), &self.device)
                .map_err(|e| input(e.to_string()))
        };
        for chunk in seeds.chunks(self.sampler.batch.max(1)) {
            let mut out = Vec::with_capacity(chunk.len());
            if self.cfg.c_dim == 0 {
                out.extend(generate(chunk, None)?);
            } else {
                for &seed in chunk {
                    out.extend(generate(&[seed], self.class_of(seed))?);
                }
            }
            f(chunk, out)?;
        }
        Ok(())
    }

    /// The class a seed is rendered with: conditional networks cycle through their classes by seed.
    pub fn class_of(&self, seed: u32) -> Option<usize> {
        (self.cfg.c_dim > 0).then(|| seed as usize % self.cfg.c_dim)
    }

    /// The network's pixels as RGB.
    pub fn rgb(&self, hwc: &[u8]) -> RgbImage {
        to_rgb(self.cfg.img_resolution, self.cfg.img_channels, hwc)
    }
}

/// What [`Featurizer::set_features`] reports while it works.
pub enum SetEvent<'a> {
    /// `done` of `total` images passed through Inception.
    Progress { done: usize, total: usize },
    /// Something worth a line that does not stop the work.
    Note(&'a str),
}

/// The FID Inception network with the batch it runs at.
pub struct Featurizer<B: Backend> {
    net: Inception<B>,
    batch: usize,
    device: B::Device,
}

impl<B: Backend> Featurizer<B> {
    /// Loads the FID Inception weights from `weights` (the asset's file).
    pub fn load(weights: &Path, batch: usize, device: &B::Device) -> Result<Self> {
        check_batch(batch)?;
        Ok(Featurizer {
            net: Inception::<B>::load(weights, device)?,
            batch,
            device: device.clone(),
        })
    }

    pub fn features(&self, images: &[RgbImage]) -> Vec<Vec<f32>> {
        self.net.features(images, self.batch, &self.device)
    }

    /// Features of every image of a set. With `cache_dir`, they are read from (or written to) the feature
    /// cache there under the set's fingerprint.
    pub fn set_features(
        &self,
        path: &Path,
        cache_dir: Option<&Path>,
        event: &mut dyn FnMut(SetEvent),
    ) -> Result<Vec<Vec<f32>>> {
        if !path.exists() {
            return Err(input(format!("{} does not exist", path.display())));
        }
        let entry = match cache_dir {
            Some(dir) => {
                let fp = feature_cache::fingerprint(path)?;
                let entry = feature_cache::entry_path(dir, INCEPTION_TAG, &fp);
                if let Some(f) = feature_cache::load(&entry, &fp) {
                    return Ok(f);
                }
                Some((entry, fp))
            }
            None => None,
        };
        let set = ImageSet::open(path)?;
        let mut out = Vec::with_capacity(set.len());
        for start in (0..set.len()).step_by(self.batch) {
            let imgs = (start..(start + self.batch).min(set.len()))
                .map(|i| set.image(i))
                .collect::<Result<Vec<_>>>()?;
            out.extend(self.net.features_batch(&imgs, &self.device));
            event(SetEvent::Progress {
                done: out.len(),
                total: set.len(),
            });
        }
        if let Some((entry, fp)) = entry {
            // A cache that cannot be written only costs time next run.
            if let Err(e) = feature_cache::save(&entry, &fp, &out) {
                event(SetEvent::Note(&format!(
                    "could not cache features at {}: {e}",
                    entry.display()
                )));
            }
        }
        Ok(out)
    }

    /// Features of the images a network generates for `seeds`; `done(n)` after each chunk.
    pub fn generated_features(
        &self,
        r: &SeedRenderer<B>,
        seeds: &[u32],
        done: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(seeds.len());
        r.render(seeds, |_, imgs| {
            out.extend(self.features(&imgs));
            done(out.len());
            Ok::<_, JudgeError>(())
        })?;
        Ok(out)
    }
}

/// Inception's batch must be in 1..=1024 (a bound on memory, not a limit of the network).
pub fn check_batch(batch: usize) -> Result<()> {
    if batch == 0 || batch > 1024 {
        return Err(input(format!("--batch must be in 1..=1024, got {batch}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_read_recursively_in_path_order_and_empty_ones_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("b")).unwrap();
        let px = |v: u8| {
            bestiary_canvas::Image::from_raw(2, 1, vec![v, v, v, 255, v, v, v, 255]).unwrap()
        };
        bestiary_canvas::io::write_image(&t.path().join("b/x.png"), &px(9), None).unwrap();
        bestiary_canvas::io::write_image(&t.path().join("a.png"), &px(3), None).unwrap();
        std::fs::write(t.path().join("notes.txt"), "not an image").unwrap();
        let set = ImageSet::open(t.path()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(
            (set.name(0), set.name(1)),
            (
                "a.png".to_string(),
                format!("b{}x.png", std::path::MAIN_SEPARATOR)
            )
        );
        assert_eq!(set.image(1).unwrap().data, vec![9; 6]);
        std::fs::create_dir_all(t.path().join("empty")).unwrap();
        let e = ImageSet::open(&t.path().join("empty"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("holds no images"), "{e}");
        assert!(ImageSet::open(&t.path().join("nowhere"))
            .err()
            .unwrap()
            .to_string()
            .contains("does not exist"));
    }

    #[test]
    fn grey_and_alpha_pixels_become_rgb() {
        assert_eq!(to_rgb(1, 1, &[7]).data, vec![7, 7, 7]);
        assert_eq!(to_rgb(1, 4, &[1, 2, 3, 4]).data, vec![1, 2, 3]);
    }
}
