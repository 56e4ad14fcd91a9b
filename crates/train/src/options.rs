//! Training options: the official defaults, with the preset deciding sizes and rates.

use serde::{Deserialize, Serialize};

/// How the discriminator's inputs are augmented.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AugMode {
    /// Adaptive: p steered so that the sign of D's output on reals averages `target`.
    Ada,
    /// No augmentation.
    Noaug,
    /// A fixed probability `p`.
    Fixed,
}

impl std::str::FromStr for AugMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ada" => Ok(AugMode::Ada),
            "noaug" => Ok(AugMode::Noaug),
            "fixed" => Ok(AugMode::Fixed),
            o => Err(format!(
                "unknown augmentation `{o}` (expected ada, noaug or fixed)"
            )),
        }
    }
}

/// Which discriminator a run uses (saved with its options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CriticKind {
    /// The official StyleGAN2 discriminator.
    #[default]
    StyleGan2,
    /// Heads on fixed random projections of frozen VGG16 features.
    Vgg16,
}

impl CriticKind {
    /// The `--d-features` value that selects it.
    pub fn name(self) -> &'static str {
        match self {
            CriticKind::StyleGan2 => "none",
            CriticKind::Vgg16 => "vgg16",
        }
    }
}

impl std::str::FromStr for CriticKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" | "stylegan2" => Ok(CriticKind::StyleGan2),
            "vgg16" => Ok(CriticKind::Vgg16),
            o => Err(format!(
                "unknown discriminator features `{o}` (expected vgg16, or none for StyleGAN2's)"
            )),
        }
    }
}

/// Everything that decides what a training step computes. Saved with the training state, so that
/// a resumed run continues with exactly these.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Preset name (auto, lite, stylegan2, ...).
    pub cfg: String,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rates.
    pub lrate_g: f64,
    pub lrate_d: f64,
    /// R1 weight.
    pub r1_gamma: f64,
    /// Path-length weight (0 = off).
    pub pl_weight: f64,
    /// Style-mixing probability.
    pub style_mixing_prob: f64,
    /// Lazy regularization intervals (G path length, D R1).
    pub g_reg_interval: u64,
    pub d_reg_interval: u64,
    /// Path-length batch = batch / pl_batch_shrink.
    pub pl_batch_shrink: usize,
    /// Path-length moving-average decay.
    pub pl_decay: f64,
    /// G_ema half-life in kimg and ramp-up.
    pub ema_kimg: f64,
    pub ema_rampup: Option<f64>,
    /// Augmentation mode, starting/fixed p, ADA target, ADA adjustment speed and interval.
    pub aug: AugMode,
    pub augment_p: f64,
    pub ada_target: f64,
    pub ada_kimg: f64,
    pub ada_interval: u64,
    /// x-flip real images (doubles the dataset).
    pub mirror: bool,
    /// Run seed: every random draw derives from it and the step index.
    pub seed: u64,
    /// Length of the run, tick length (kimg) and snapshot interval (ticks).
    pub total_kimg: f64,
    pub tick_kimg: f64,
    pub snap_ticks: u64,
    /// Fakes grid size (columns, rows).
    pub grid: (usize, usize),
    /// Keep the training state small: Adam's second moments as bf16 (see `checkpoint`).
    #[serde(default)]
    pub compact_state: bool,
    /// The discriminator: StyleGAN2's, or heads on frozen VGG16 features (see `critic`).
    #[serde(default)]
    pub critic: CriticKind,
}

/// Progress is reported every this many kimg unless a run says otherwise.
pub const DEFAULT_TICK_KIMG: f64 = 1.0;
/// A snapshot is written every this many ticks unless a run says otherwise.
pub const DEFAULT_SNAP_TICKS: u64 = 5;

impl TrainOptions {
    /// The official defaults for a preset.
    pub fn from_preset(p: &crate::Preset) -> Self {
        TrainOptions {
            cfg: p.name.clone(),
            batch: p.batch_size,
            lrate_g: p.lrate,
            lrate_d: p.lrate,
            r1_gamma: p.r1_gamma,
            pl_weight: p.pl_weight,
            style_mixing_prob: p.style_mixing_prob,
            g_reg_interval: 4,
            d_reg_interval: 16,
            pl_batch_shrink: 2,
            pl_decay: 0.01,
            ema_kimg: p.ema_kimg,
            ema_rampup: p.ema_rampup,
            aug: AugMode::Ada,
            augment_p: 0.0,
            ada_target: 0.6,
            ada_kimg: 500.0,
            ada_interval: 4,
            mirror: false,
            seed: 0,
            total_kimg: p.total_kimg as f64,
            // train.py's 4 kimg and 50 ticks suit days on a GPU cluster; bestiary's runs are often
            // minutes on a CPU, so a tick is 1 kimg and a snapshot every 5 of them.
            tick_kimg: DEFAULT_TICK_KIMG,
            snap_ticks: DEFAULT_SNAP_TICKS,
            grid: (8, 8),
            compact_state: false,
            critic: Default::default(),
        }
    }

    /// The images a run of `total_kimg` shows D.
    pub fn total_nimg(&self) -> u64 {
        (self.total_kimg * 1000.0).round() as u64
    }

    /// One-line errors for values that cannot train.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |v: f64, what: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{what} must be positive (got {v})"))
            }
        };
        let nonneg = |v: f64, what: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{what} must be zero or more (got {v})"))
            }
        };
        if self.batch == 0 || self.batch > 4096 {
            return Err(format!("batch {} is out of range (1..=4096)", self.batch));
        }
        pos(self.lrate_g, "the G learning rate")?;
        pos(self.lrate_d, "the D learning rate")?;
        nonneg(self.r1_gamma, "gamma")?;
        nonneg(self.pl_weight, "the path-length weight")?;
        if !(0.0..=1.0).contains(&self.style_mixing_prob) {
            return Err("the style-mixing probability must be in [0, 1]".into());
        }
        if !(0.0..=1.0).contains(&self.augment_p) {
            return Err(format!("--p {} is out of range [0, 1]", self.augment_p));
        }
        if !(0.0..=1.0).contains(&self.ada_target) {
            return Err(format!(
                "--target {} is out of range [0, 1]",
                self.ada_target
            ));
        }
        pos(self.total_kimg, "--kimg")?;
        pos(self.tick_kimg, "--tick")?;
        pos(self.ada_kimg, "--ada-kimg")?;
        if self.snap_ticks == 0 {
            return Err("--snap must be at least 1".into());
        }
        if self.g_reg_interval == 0
            || self.d_reg_interval == 0
            || self.ada_interval == 0
            || self.pl_batch_shrink == 0
        {
            return Err("intervals must be at least 1".into());
        }
        if self.grid.0 == 0 || self.grid.1 == 0 || self.grid.0 * self.grid.1 > 1024 {
            return Err("the fakes grid must hold 1 to 1024 images".into());
        }
        Ok(())
    }
}

/// Options given again with `--resume RUN`. The run continues bit for bit, so what fixes the networks'
/// shape or the sequence of random draws stays as the run recorded it; the rest may change, as the
/// official `--resume` (which loads only the weights and takes every option from the command) allows.
#[derive(Clone, Debug, Default)]
pub struct ResumeOptions {
    // May change.
    pub kimg: Option<f64>,
    pub tick: Option<f64>,
    pub snap: Option<u64>,
    pub gamma: Option<f64>,
    pub lrate: Option<f64>,
    pub aug: Option<AugMode>,
    pub p: Option<f64>,
    pub target: Option<f64>,
    pub ada_kimg: Option<f64>,
    /// Turns mirroring on (a run without it can start adding x-flips).
    pub mirror: bool,
    /// Turns the compact training state on (bf16 second moments from the next save on).
    pub compact_state: bool,
    // Fixed by the run: refused when they differ from its values.
    pub cfg: Option<String>,
    pub cbase: Option<usize>,
    pub cmax: Option<usize>,
    pub batch: Option<usize>,
    pub seed: Option<u64>,
    pub freezed: Option<usize>,
    pub d_features: Option<CriticKind>,
}

/// The run's value of each fixed option, as [`ResumeOptions::apply`] compares them.
#[derive(Clone, Debug)]
pub struct FixedByRun {
    pub cfg: String,
    pub cbase: usize,
    pub cmax: usize,
    pub batch: usize,
    pub seed: u64,
    pub freezed: usize,
    pub d_features: CriticKind,
}

impl FixedByRun {
    /// The values `t`'s run fixed.
    pub fn of<B: burn::tensor::backend::Backend>(t: &crate::Trainer<B>) -> Self {
        FixedByRun {
            cfg: t.opts.cfg.clone(),
            cbase: t.g_cfg.synthesis_kwargs.channel_base,
            cmax: t.g_cfg.synthesis_kwargs.channel_max,
            batch: t.opts.batch,
            seed: t.opts.seed,
            freezed: t.d_cfg.block_kwargs.freeze_layers,
            d_features: t.opts.critic,
        }
    }
}

/// A number as the user would type it (no trailing `.0`).
fn num(v: f64) -> String {
    format!("{v}")
}

impl ResumeOptions {
    /// [`ResumeOptions::apply`] to a loaded run: its options and augmentation probability.
    pub fn apply_to<B: burn::tensor::backend::Backend>(
        &self,
        t: &mut crate::Trainer<B>,
    ) -> Result<Vec<String>, String> {
        let fixed = FixedByRun::of(t);
        let mut p = t.progress.augment_p;
        let changes = self.apply(&mut t.opts, &mut p, &fixed)?;
        t.progress.augment_p = p;
        Ok(changes)
    }

    /// Applies the options that may change to `opts` (and the augmentation probability `augment_p`),
    /// returning one `--flag NEW (was OLD)` per real change. Refuses, in one line naming them all, fixed
    /// options whose value differs from the run's, and values that cannot train.
    pub fn apply(
        &self,
        opts: &mut TrainOptions,
        augment_p: &mut f64,
        fixed: &FixedByRun,
    ) -> Result<Vec<String>, String> {
        let mut refused = Vec::new();
        let mut differs = |flag: &str, given: Option<String>, run: String| {
            if let Some(g) = given.filter(|g| *g != run) {
                refused.push(format!("{flag} {g} (the run's is {run})"));
            }
        };
        differs("--cfg", self.cfg.clone(), fixed.cfg.clone());
        differs(
            "--cbase",
            self.cbase.map(|v| v.to_string()),
            fixed.cbase.to_string(),
        );
        differs(
            "--cmax",
            self.cmax.map(|v| v.to_string()),
            fixed.cmax.to_string(),
        );
        differs(
            "--batch",
            self.batch.map(|v| v.to_string()),
            fixed.batch.to_string(),
        );
        differs(
            "--seed",
            self.seed.map(|v| v.to_string()),
            fixed.seed.to_string(),
        );
        differs(
            "--freezed",
            self.freezed.map(|v| v.to_string()),
            fixed.freezed.to_string(),
        );
        differs(
            "--d-features",
            self.d_features.map(|v| v.name().to_string()),
            fixed.d_features.name().to_string(),
        );
        if !refused.is_empty() {
            return Err(format!(
                "{} cannot change when resuming a run: they fix its networks or its random draws (drop them, or start a new run)",
                refused.join(", ")
            ));
        }
        let mut changes = Vec::new();
        let mut set_f = |flag: &str, given: Option<f64>, field: &mut f64| {
            if let Some(v) = given {
                if v != *field {
                    changes.push(format!("{flag} {} (was {})", num(v), num(*field)));
                    *field = v;
                }
            }
        };
        set_f("--kimg", self.kimg, &mut opts.total_kimg);
        set_f("--tick", self.tick, &mut opts.tick_kimg);
        set_f("--gamma", self.gamma, &mut opts.r1_gamma);
        set_f("--target", self.target, &mut opts.ada_target);
        set_f("--ada-kimg", self.ada_kimg, &mut opts.ada_kimg);
        if let Some(lr) = self.lrate {
            if lr != opts.lrate_g || lr != opts.lrate_d {
                let was = if opts.lrate_g == opts.lrate_d {
                    num(opts.lrate_g)
                } else {
                    format!("G {} D {}", opts.lrate_g, opts.lrate_d)
                };
                changes.push(format!("--lrate {} (was {was})", num(lr)));
                opts.lrate_g = lr;
                opts.lrate_d = lr;
            }
        }
        if let Some(s) = self.snap.filter(|&s| s != opts.snap_ticks) {
            changes.push(format!("--snap {s} (was {})", opts.snap_ticks));
            opts.snap_ticks = s;
        }
        if self.mirror && !opts.mirror {
            changes.push("--mirror (was off)".into());
            opts.mirror = true;
        }
        if self.compact_state && !opts.compact_state {
            changes.push("--compact-state (was off)".into());
            opts.compact_state = true;
        }
        let name = |m: AugMode| format!("{m:?}").to_lowercase();
        if let Some(a) = self.aug.filter(|&a| a != opts.aug) {
            changes.push(format!("--aug {} (was {})", name(a), name(opts.aug)));
            opts.aug = a;
        }
        if let Some(p) = self.p {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("--p {p} is out of range [0, 1]"));
            }
            if opts.aug == AugMode::Noaug {
                return Err("--p needs augmentation: --aug ada or fixed".into());
            }
            if p != *augment_p {
                changes.push(format!("--p {} (was {})", num(p), num(*augment_p)));
                *augment_p = p;
            }
            opts.augment_p = p;
        }
        if opts.aug == AugMode::Noaug {
            *augment_p = 0.0;
        }
        opts.validate()?;
        Ok(changes)
    }
}
