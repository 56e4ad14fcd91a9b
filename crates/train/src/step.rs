//! One training iteration, phase by phase as the official loop runs them: Gmain, Greg (path
//! length, every `g_reg_interval`), Dmain, Dreg (R1, every `d_reg_interval`); then G_ema and the
//! ADA heuristic. The losses themselves are in [`crate::loss`]; this module draws their random inputs
//! and steps the optimizers.

use crate::adam::{Adam, AdamStep};
use crate::autodiff::Ad;
use crate::critic::{Critic, FeatureCritic};
use crate::data::{random_labels, real_batch, ImageSet};
use crate::ema::{ema_beta, update_ema};
use crate::loss::{
    greg_loss, scalar, Augment, Latents, Mixing, PathLengthReg, PipeAugment, R1Reg, Reals,
};
use crate::options::{AugMode, TrainOptions};
use crate::rng::Rng;
use bestiary_augment::AugmentPipe;
use bestiary_nn::host_rng;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{
    ConfigError, Discriminator, DiscriminatorConfig, FeatureDiscriminator,
    FeatureDiscriminatorConfig, Generator, GeneratorConfig, NoiseMode, SynthesisOptions,
};
use burn::module::AutodiffModule;
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// Counters and moving averages that a resume must restore.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Images shown to D so far.
    pub nimg: u64,
    /// Iterations so far.
    pub batch_idx: u64,
    /// Ticks so far.
    pub tick: u64,
    /// Augmentation probability (a float32 value; ADA may take it above 1, as officially: every
    /// transform then fires).
    pub augment_p: f64,
    /// Path-length moving average (f32 as the official buffer).
    pub pl_mean: f32,
    /// ADA accumulators since the last adjustment: sum of sign(D(real)) and count.
    pub ada_sign_sum: f64,
    pub ada_sign_count: u64,
    /// Wall-clock seconds spent training, over every session of the run.
    #[serde(default)]
    pub seconds: f64,
}

/// Scalars from one iteration (NaN where a phase did not run).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct StepStats {
    pub loss_g: f64,
    pub loss_d: f64,
    pub r1: f64,
    pub pl: f64,
    pub score_real: f64,
    pub score_fake: f64,
}

/// Why a step could not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("the {what} became {value} at kimg {kimg:.3} (the last snapshot is kept; try a lower learning rate or a larger --gamma)")]
    NonFinite {
        what: &'static str,
        value: f64,
        kimg: f64,
    },
}

/// Everything random in one iteration, drawn by [`Trainer::draw_inputs`] or given by a
/// reference check. The augmentation's own randomness lives in the [`Augment`] passed along.
pub struct StepInputs<B: Backend> {
    /// Reals for Dmain and Dreg.
    pub reals: Reals<B>,
    /// Gmain's latents.
    pub gmain: Latents<B>,
    /// Greg's latents (the shrunk batch) and N(0, 1) path-length noise shaped like its images;
    /// used when the phase is due.
    pub greg: Option<(Latents<B>, Tensor<B, 4>)>,
    /// Dmain's latents.
    pub dmain: Latents<B>,
    /// Per-pixel noise: `Random` in training (drawn by the backend), `Const` for reference checks.
    pub noise_mode: NoiseMode,
}

/// Networks, optimizers and counters of a run.
pub struct Trainer<B: Backend> {
    pub g: Generator<Ad<B>>,
    /// The discriminator in use (`d_cfg` describes StyleGAN2's, the default).
    pub d: Critic<B>,
    pub g_ema: Generator<B>,
    pub opt_g: Adam<B>,
    pub opt_d: Adam<B>,
    pub g_cfg: GeneratorConfig,
    pub d_cfg: DiscriminatorConfig,
    pub opts: TrainOptions,
    pub progress: Progress,
    pub pipe: AugmentPipe,
    pub device: B::Device,
}

impl<B: Backend> Trainer<B> {
    /// A fresh run: networks initialised from `seed` as the official constructors do.
    pub fn new(
        g_cfg: GeneratorConfig,
        d_cfg: DiscriminatorConfig,
        opts: TrainOptions,
        device: &B::Device,
    ) -> Self {
        host_rng::seed(Rng::derive(opts.seed, u64::MAX, 0).next_u64());
        let g = Generator::<Ad<B>>::new(&g_cfg, device);
        let d = Critic::StyleGan2(Discriminator::<Ad<B>>::new(&d_cfg, device));
        let g_ema = g.valid();
        let augment_p = if opts.aug == AugMode::Noaug {
            0.0
        } else {
            opts.augment_p
        };
        Trainer {
            g,
            d,
            g_ema,
            opt_g: Adam::new(),
            opt_d: Adam::new(),
            g_cfg,
            d_cfg,
            progress: Progress {
                augment_p,
                ..Default::default()
            },
            opts,
            pipe: AugmentPipe::bgc(),
            device: device.clone(),
        }
    }

    /// Switches a fresh run to the feature discriminator on `vgg` (frozen), for images of the
    /// generator's size: projections and heads drawn from the run seed, a fresh D optimizer.
    pub fn use_features(&mut self, vgg: Vgg16<B>) -> Result<(), ConfigError> {
        let mut cfg = FeatureDiscriminatorConfig::for_resolution(
            self.g_cfg.img_resolution,
            self.g_cfg.img_channels,
        )?;
        // The minibatch-stddev group must divide the batch (as `fit_mbstd_group` does for StyleGAN2's).
        cfg.mbstd_group_size =
            crate::critic::largest_divisor_at_most(self.opts.batch, cfg.mbstd_group_size);
        if self.d_cfg.block_kwargs.freeze_layers > 0 {
            return Err(ConfigError::Invalid(
                "--freezed freezes layers of StyleGAN2's discriminator; the feature discriminator's backbone is frozen already".into(),
            ));
        }
        if self.g_cfg.c_dim > 0 {
            return Err(ConfigError::Invalid(
                "the feature discriminator is unconditional; train a labelled set with StyleGAN2's"
                    .into(),
            ));
        }
        host_rng::seed(Rng::derive(self.opts.seed, u64::MAX, 2).next_u64());
        let d = FeatureDiscriminator::<Ad<B>>::new(&cfg, &self.device)?;
        self.d = Critic::Features(FeatureCritic::new(d, cfg, vgg));
        self.opt_d = Adam::new();
        self.opts.critic = crate::options::CriticKind::Vgg16;
        Ok(())
    }

    pub fn kimg(&self) -> f64 {
        self.progress.nimg as f64 / 1000.0
    }

    /// Refuses, in one line, a dataset (read from `path`) whose label count is not the networks'.
    pub fn check_labels(&self, data: &dyn ImageSet, path: &std::path::Path) -> Result<(), String> {
        if data.c_dim() != self.g_cfg.c_dim {
            return Err(format!(
                "the run's networks take {} labels, the dataset {} has {}",
                self.g_cfg.c_dim,
                path.display(),
                data.c_dim()
            ));
        }
        Ok(())
    }

    /// Refuses, in one line, a dataset whose images are not the size and channels the networks make.
    pub fn check_images(&self, data: &dyn ImageSet) -> Result<(), String> {
        let (res, ch) = (data.resolution(), data.channels());
        let g = &self.g_cfg;
        if g.img_resolution != res || g.img_channels != ch {
            return Err(format!(
                "the networks make {r}x{r} images with {} channels, the dataset has {res}x{res} with {ch}",
                g.img_channels,
                r = g.img_resolution,
            ));
        }
        Ok(())
    }

    /// True when the run has shown D its `total_kimg`: continuing it needs a larger one.
    pub fn reached_total(&self) -> bool {
        self.progress.nimg >= self.opts.total_nimg()
    }

    fn check(&self, what: &'static str, value: f64) -> Result<f64, StepError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(StepError::NonFinite {
                what,
                value,
                kimg: self.kimg(),
            })
        }
    }

    fn z(&self, n: usize, rng: &mut Rng) -> Tensor<B, 2> {
        let zd = self.g_cfg.z_dim;
        Tensor::from_data(TensorData::new(rng.normals(n * zd), [n, zd]), &self.device)
    }

    /// Latents for one generator pass: z, labels of random dataset images, and style mixing with
    /// probability `style_mixing_prob` (cutoff, coin and second z always drawn, as officially).
    fn latents(&self, data: &dyn ImageSet, n: usize, rng: &mut Rng) -> Latents<B> {
        let z = self.z(n, rng);
        let c = random_labels::<B>(data, n, rng, &self.device);
        let num_ws = self.g.num_ws();
        let mut mixing = None;
        if self.opts.style_mixing_prob > 0.0 && num_ws > 1 {
            let cutoff = 1 + rng.below(num_ws - 1);
            let mix = rng.uniform() < self.opts.style_mixing_prob;
            let z2 = self.z(n, rng);
            mixing = mix.then_some(Mixing { cutoff, z: z2 });
        }
        Latents { z, c, mixing }
    }

    fn greg_due(&self) -> bool {
        self.opts.pl_weight > 0.0
            && self
                .progress
                .batch_idx
                .is_multiple_of(self.opts.g_reg_interval)
    }

    fn dreg_due(&self) -> bool {
        self.opts.r1_gamma > 0.0
            && self
                .progress
                .batch_idx
                .is_multiple_of(self.opts.d_reg_interval)
    }

    /// Draws everything random in the coming iteration from the run seed and the step index:
    /// reals, each phase's latents, the path-length noise, and the augmentation seeds in the
    /// order [`step_with`](Self::step_with) augments (Gmain fakes, Dmain fakes, Dmain reals,
    /// Dreg reals when R1 is due).
    pub fn draw_inputs(&self, data: &dyn ImageSet) -> (StepInputs<B>, Vec<u64>) {
        let opts = &self.opts;
        let n = opts.batch;
        let dev = &self.device;
        let mut rng = Rng::derive(opts.seed, self.progress.batch_idx, 0);
        let (images, c) = real_batch::<B>(data, n, opts.mirror, &mut rng, dev);
        let gmain = self.latents(data, n, &mut rng);
        let gmain_aug = rng.next_u64();
        let greg = self.greg_due().then(|| {
            let nb = (n / opts.pl_batch_shrink).max(1);
            let lat = self.latents(data, nb, &mut rng);
            let (ch, r) = (self.g_cfg.img_channels, self.g_cfg.img_resolution);
            let noise = Tensor::from_data(
                TensorData::new(rng.normals(nb * ch * r * r), [nb, ch, r, r]),
                dev,
            );
            (lat, noise)
        });
        let real_aug = rng.next_u64();
        let dmain = self.latents(data, n, &mut rng);
        let fake_aug = rng.next_u64();
        let mut seeds = vec![gmain_aug, fake_aug, real_aug];
        if self.dreg_due() {
            seeds.push(rng.next_u64());
        }
        let inputs = StepInputs {
            reals: Reals { images, c },
            gmain,
            greg,
            dmain,
            noise_mode: NoiseMode::Random,
        };
        (inputs, seeds)
    }

    /// Runs one iteration on `data`.
    pub fn step(&mut self, data: &dyn ImageSet) -> Result<StepStats, StepError> {
        let opts = self.opts.clone();
        let i = self.progress.batch_idx;
        // Per-pixel noise comes from the host generator: reseed it per step for exact replay.
        host_rng::seed(Rng::derive(opts.seed, i, 1).next_u64());
        let (inputs, seeds) = self.draw_inputs(data);
        let pipe = self.pipe.clone();
        let mut aug = PipeAugment {
            pipe: &pipe,
            p: self.progress.augment_p,
            seeds: seeds.into_iter(),
        };
        self.step_with(inputs, &mut aug)
    }

    /// One iteration from explicit inputs, as the official loop runs it: Gmain, Greg (when
    /// `inputs.greg` is given and due), Dmain, Dreg (when due), each followed by its Adam step
    /// (lazy regularization: lr and betas rescaled by `interval / (interval + 1)`); then G_ema,
    /// the counters and the ADA heuristic. `aug` is called in the official order: Gmain fakes,
    /// Dmain fakes, Dmain reals, Dreg reals.
    pub fn step_with(
        &mut self,
        inputs: StepInputs<B>,
        aug: &mut impl Augment,
    ) -> Result<StepStats, StepError> {
        let opts = self.opts.clone();
        let syn = SynthesisOptions {
            noise_mode: inputs.noise_mode,
            ..Default::default()
        };
        let mut stats = StepStats {
            r1: f64::NAN,
            pl: f64::NAN,
            ..Default::default()
        };
        let g_hp = lazy_adam(opts.lrate_g, opts.g_reg_interval);
        let d_hp = lazy_adam(opts.lrate_d, opts.d_reg_interval);

        let out = self.d.gmain_loss(&mut self.g, &inputs.gmain, &syn, aug);
        stats.score_fake = scalar(out.fake_logits.mean().reshape([1]));
        stats.loss_g = self.check("G loss", scalar(out.loss.clone().inner()))?;
        let grads = out.loss.backward();
        self.g = self.opt_g.step(self.g.clone(), &grads, g_hp);

        if let Some((lat, noise)) = inputs.greg.as_ref().filter(|_| self.greg_due()) {
            let reg = PathLengthReg {
                weight: opts.pl_weight,
                decay: opts.pl_decay,
                gain: opts.g_reg_interval as f64,
            };
            let out = greg_loss(
                &mut self.g,
                lat,
                noise.clone(),
                self.progress.pl_mean,
                &reg,
                &syn,
            );
            self.progress.pl_mean = out.pl_mean;
            stats.pl = self.check(
                "path-length penalty",
                scalar(out.loss.clone().inner()) / reg.gain,
            )?;
            let grads = out.loss.backward();
            self.g = self.opt_g.step(self.g.clone(), &grads, g_hp);
        }

        let out = self
            .d
            .dmain_loss(&mut self.g, &inputs.dmain, &inputs.reals, &syn, aug);
        self.progress.ada_observe(&out.real_logits);
        stats.score_real = scalar(out.real_logits.mean().reshape([1]));
        stats.loss_d = self.check("D loss", scalar(out.loss.clone().inner()))?;
        let grads = out.loss.backward();
        self.d = self.d.clone().adam_step(&mut self.opt_d, &grads, d_hp);

        if self.dreg_due() {
            // R1 on the reals before augmentation, through a fresh one (the official run_D).
            let reg = R1Reg {
                gamma: opts.r1_gamma,
                gain: opts.d_reg_interval as f64,
            };
            let out = self.d.dreg_loss(&inputs.reals, &reg, aug);
            self.progress.ada_observe(&out.real_logits);
            stats.r1 = self.check("R1 penalty", scalar(out.loss.clone().inner()) / reg.gain)?;
            let grads = out.loss.backward();
            self.d = self.d.clone().adam_step(&mut self.opt_d, &grads, d_hp);
        }

        // G_ema, counters, ADA.
        let beta = ema_beta(
            opts.batch,
            opts.ema_kimg,
            opts.ema_rampup,
            self.progress.nimg,
        );
        self.g_ema = update_ema::<Ad<B>, _>(&self.g, self.g_ema.clone(), beta);
        self.progress.nimg += opts.batch as u64;
        self.progress.batch_idx += 1;
        self.progress.ada_adjust(&opts);
        Ok(stats)
    }
}

/// Adam's settings for a network trained with lazy regularization every `interval` steps: the
/// main loss steps less often in effect, so lr and betas are rescaled by
/// `c = interval / (interval + 1)`, as the official loop does (betas 0 and 0.99, eps 1e-8).
pub fn lazy_adam(lr: f64, interval: u64) -> AdamStep {
    let c = interval as f64 / (interval as f64 + 1.0);
    AdamStep {
        lr: lr * c,
        beta1: ADAM_BETAS.0.powf(c),
        beta2: ADAM_BETAS.1.powf(c),
        eps: 1e-8,
    }
}

/// The official Adam betas. With beta1 = 0 every step replaces the first moment by the gradient, so
/// a training state need not keep it (see `checkpoint`).
pub const ADAM_BETAS: (f64, f64) = (0.0, 0.99);

impl Progress {
    /// Adds D's signs on a batch of reals to the ADA statistics (the official `Loss/signs/real`).
    pub fn ada_observe<B: Backend>(&mut self, real_logits: &Tensor<B, 2>) {
        let n = real_logits.dims()[0];
        self.ada_sign_sum += scalar(real_logits.clone().sign().sum().reshape([1]));
        self.ada_sign_count += n as u64;
    }

    /// The ADA heuristic after an iteration (`batch_idx` already counted): every `ada_interval`
    /// iterations, p moves by `ada_interval * batch / (ada_kimg * 1000)` towards making the mean
    /// sign of D on reals equal `ada_target` (not at all on a tie), and the statistics restart.
    /// As officially, p is a float32 moved in float32 and clamped at 0 only: above 1 every
    /// transform fires, and p has to come back down through the excess.
    pub fn ada_adjust(&mut self, opts: &TrainOptions) {
        if opts.aug != AugMode::Ada
            || !self.batch_idx.is_multiple_of(opts.ada_interval)
            || self.ada_sign_count == 0
        {
            return;
        }
        let rt = self.ada_sign_sum / self.ada_sign_count as f64;
        let speed = (opts.batch as u64 * opts.ada_interval) as f64 / (opts.ada_kimg * 1000.0);
        // np.sign: 0 on a tie (f64::signum would give 1).
        let sign = if rt > opts.ada_target {
            1.0
        } else if rt < opts.ada_target {
            -1.0
        } else {
            0.0
        };
        let p = self.augment_p as f32 + (sign * speed) as f32;
        self.augment_p = p.max(0.0) as f64;
        self.ada_sign_sum = 0.0;
        self.ada_sign_count = 0;
    }
}

pub use crate::loss::{pl_lengths, r1_penalty};
