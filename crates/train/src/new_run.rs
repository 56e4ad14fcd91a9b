//! A new run's trainer from the options given for it: the preset (or a pretrained model file to fine-tune),
//! its overrides and the discriminator. The counterpart of [`crate::options::ResumeOptions`], which
//! continues a run instead.

use crate::critic::load_vgg16;
use crate::data::ImageSet;
use crate::options::{AugMode, CriticKind, ResumeOptions, TrainOptions};
use crate::step::Trainer;
use crate::transfer::{fit_mbstd_group, Pretrained};
use bestiary_stylegan::{ConfigError, ModelError, ModelFile};
use burn::tensor::backend::Backend;
use std::path::PathBuf;

/// The options of a new run as given; `None` takes the preset's value (or the official default).
#[derive(Clone, Debug, Default)]
pub struct NewRunOptions {
    /// Preset name; `None` takes [`default_cfg`].
    pub cfg: Option<String>,
    /// The run trains on CUDA (it decides the default preset).
    pub cuda: bool,
    /// Fine-tune from this model file (.safetensors or official .pkl): its networks' configs replace the
    /// preset's.
    pub pretrained: Option<PathBuf>,
    /// Channel base and maximum (refused with `pretrained`, whose size is fixed).
    pub cbase: Option<usize>,
    pub cmax: Option<usize>,
    /// Frozen discriminator layers (Freeze-D) [default: 0].
    pub freezed: Option<usize>,
    pub batch: Option<usize>,
    pub gamma: Option<f64>,
    /// Learning rate of both G and D.
    pub lrate: Option<f64>,
    /// Augmentation [default: ada]; `fixed` needs `p`.
    pub aug: Option<AugMode>,
    /// The fixed augmentation probability, or ADA's starting one [default: 0].
    pub p: Option<f64>,
    pub target: Option<f64>,
    pub ada_kimg: Option<f64>,
    pub mirror: bool,
    pub compact_state: bool,
    /// Run seed [default: 0].
    pub seed: Option<u64>,
    pub kimg: Option<f64>,
    pub tick: Option<f64>,
    pub snap: Option<u64>,
    /// The discriminator [default: StyleGAN2's].
    pub d_features: Option<CriticKind>,
}

/// Why a new run could not be set up; each one line.
#[derive(Debug, thiserror::Error)]
pub enum NewRunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{0}")]
    Invalid(String),
}

/// The preset when none is named: `auto` (the official one) on CUDA, `lite` (small enough for a CPU)
/// elsewhere.
pub fn default_cfg(cuda: bool) -> &'static str {
    if cuda {
        "auto"
    } else {
        "lite"
    }
}

impl NewRunOptions {
    /// The same command-line options given to continue a run: the ones a run fixes are checked
    /// against it, the others change it ([`ResumeOptions::apply`]).
    pub fn as_resume(&self) -> ResumeOptions {
        ResumeOptions {
            kimg: self.kimg,
            tick: self.tick,
            snap: self.snap,
            gamma: self.gamma,
            lrate: self.lrate,
            aug: self.aug,
            p: self.p,
            target: self.target,
            ada_kimg: self.ada_kimg,
            mirror: self.mirror,
            compact_state: self.compact_state,
            cfg: self.cfg.clone(),
            cbase: self.cbase,
            cmax: self.cmax,
            batch: self.batch,
            seed: self.seed,
            freezed: self.freezed,
            d_features: self.d_features,
        }
    }

    /// The trainer of a new run on `data`: networks initialised from the seed (or loaded from the
    /// pretrained file), every override applied and checked. `log` receives notes (a pretrained file
    /// without D, the VGG16 download).
    pub fn trainer<B: Backend>(
        &self,
        data: &dyn ImageSet,
        device: &B::Device,
        log: &mut dyn FnMut(&str),
    ) -> Result<Trainer<B>, NewRunError> {
        let (res, ch, c_dim) = (data.resolution(), data.channels(), data.c_dim());
        let cfg_name = self.cfg.as_deref().unwrap_or(default_cfg(self.cuda));
        let preset = crate::preset(cfg_name, res, c_dim, ch, 1)?;
        let mut opts = TrainOptions::from_preset(&preset);
        let (mut g_cfg, mut d_cfg) = (preset.g.clone(), preset.d.clone());
        let mut transfer = None;
        if let Some(path) = &self.pretrained {
            let p = Pretrained::read::<B>(ModelFile::load(path)?, res, ch, c_dim, device)
                .map_err(|e| NewRunError::Invalid(format!("{}: {e}", path.display())))?;
            g_cfg = p.g_cfg.clone();
            match &p.d_cfg {
                Some(dc) => d_cfg = dc.clone(),
                None => log(&format!(
                    "note: {} has no discriminator; D starts from scratch",
                    path.display()
                )),
            }
            transfer = Some(p);
        }
        if transfer.is_none() {
            if let Some(c) = self.cbase {
                g_cfg.synthesis_kwargs.channel_base = c;
                d_cfg.channel_base = c;
            }
            if let Some(c) = self.cmax {
                g_cfg.synthesis_kwargs.channel_max = c;
                d_cfg.channel_max = c;
            }
            g_cfg.validate()?;
            d_cfg.validate()?;
        } else if self.cbase.is_some() || self.cmax.is_some() {
            return Err(NewRunError::Invalid(
                "--cbase/--cmax cannot change a pretrained network's size".into(),
            ));
        }
        d_cfg.block_kwargs.freeze_layers = self.freezed.unwrap_or(0);
        if let Some(b) = self.batch {
            opts.batch = b;
        }
        fit_mbstd_group(&mut d_cfg, opts.batch);
        if let Some(g) = self.gamma {
            opts.r1_gamma = g;
        }
        if let Some(lr) = self.lrate {
            opts.lrate_g = lr;
            opts.lrate_d = lr;
        }
        opts.aug = self.aug.unwrap_or(AugMode::Ada);
        if opts.aug == AugMode::Fixed && self.p.is_none() {
            return Err(NewRunError::Invalid(
                "--aug fixed needs --p (the augmentation probability)".into(),
            ));
        }
        opts.augment_p = self.p.unwrap_or(0.0);
        opts.ada_target = self.target.unwrap_or(opts.ada_target);
        opts.ada_kimg = self.ada_kimg.unwrap_or(opts.ada_kimg);
        opts.mirror = self.mirror;
        opts.compact_state = self.compact_state;
        opts.seed = self.seed.unwrap_or(0);
        if let Some(k) = self.kimg {
            opts.total_kimg = k;
        }
        if let Some(t) = self.tick {
            opts.tick_kimg = t;
        }
        if let Some(s) = self.snap {
            opts.snap_ticks = s;
        }
        opts.validate().map_err(NewRunError::Invalid)?;
        let mut t = Trainer::<B>::new(g_cfg, d_cfg, opts, device);
        if self.d_features == Some(CriticKind::Vgg16) {
            let vgg = load_vgg16::<B>(device, log)
                .map_err(|e| NewRunError::Invalid(format!("--d-features vgg16: {e}")))?;
            t.use_features(vgg)?;
        }
        if let Some(p) = transfer {
            p.load_into(&mut t, device)?;
        }
        Ok(t)
    }
}
