//! Many textures from a folder of sources: every seed imitates one source image, drawn from the seed, so
//! that texture N is the same however many are made. Each source's targets are computed the first time a
//! seed draws it.

use crate::rng::Rng;
use crate::synth::{synthesize, Event, SynthOptions, Synthesis, Targets};
use crate::{Result, TextureError};
use bestiary_canvas::Image;
use bestiary_perceptual::Vgg16;
use burn::tensor::backend::AutodiffBackend;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Source images by path, with the targets of those used so far.
pub struct SourceSet<B: AutodiffBackend> {
    files: Vec<PathBuf>,
    opts: SynthOptions,
    targets: BTreeMap<usize, Targets<B>>,
}

impl<B: AutodiffBackend> SourceSet<B> {
    /// A set of `files` (at least one), synthesised with `opts`.
    pub fn new(files: Vec<PathBuf>, opts: &SynthOptions) -> Result<Self> {
        if files.is_empty() {
            return Err(TextureError::Invalid("no source image".into()));
        }
        Ok(SourceSet {
            files,
            opts: opts.clone(),
            targets: BTreeMap::new(),
        })
    }

    /// The source `seed` imitates.
    pub fn source_of(&self, seed: u64) -> &Path {
        &self.files[self.pick(seed)]
    }

    fn pick(&self, seed: u64) -> usize {
        Rng::new(seed ^ 0x7e57).below(self.files.len())
    }

    /// Synthesises the texture of `seed` from its source (see [`synthesize`]). A source that cannot be
    /// read or matched is an error naming its file.
    pub fn synthesize(
        &mut self,
        vgg: &Vgg16<B>,
        seed: u64,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Synthesis> {
        let pick = self.pick(seed);
        if !self.targets.contains_key(&pick) {
            let file = &self.files[pick];
            // The canvas error already names the file and its cause: one message, not a chain.
            let img = Image::load(file).map_err(|e| TextureError::Invalid(e.to_string()))?;
            let t = Targets::new(vgg, &[(img, 1.0)], &self.opts)
                .map_err(|e| TextureError::Invalid(format!("{}: {e}", file.display())))?;
            self.targets.insert(pick, t);
        }
        synthesize(vgg, &self.targets[&pick], seed, on_event)
    }
}
