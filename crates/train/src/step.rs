//! One training iteration, phase by phase as the official loop runs them: Gmain, Greg (path
//! length, every `g_reg_interval`), Dmain, Dreg (R1, every `d_reg_interval`); then G_ema and the
//! ADA heuristic. Regularization gradients come from nested autodiff (`Autodiff<Autodiff<B>>`).

use crate::adam::{Adam, AdamStep};
use crate::data::{random_labels, real_batch, ImageSet};
use crate::ema::{ema_beta, update_ema};
use crate::options::{AugMode, TrainOptions};
use crate::rng::Rng;
use bestiary_augment::AugmentPipe;
use bestiary_nn::host_rng;
use bestiary_stylegan::{
    Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode, SynthesisNetwork,
    SynthesisOptions,
};
use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// The autodiff backend the networks train on.
pub type Ad<B> = Autodiff<B>;
/// The nested backend used for gradient penalties.
pub type Ad2<B> = Autodiff<Autodiff<B>>;

/// Counters and moving averages that a resume must restore.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Images shown to D so far.
    pub nimg: u64,
    /// Iterations so far.
    pub batch_idx: u64,
    /// Ticks so far.
    pub tick: u64,
    /// Augmentation probability.
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
    NonFinite { what: &'static str, value: f64, kimg: f64 },
}

/// Networks, optimizers and counters of a run.
pub struct Trainer<B: Backend> {
    pub g: Generator<Ad<B>>,
    pub d: Discriminator<Ad<B>>,
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

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_data().convert::<f64>().to_vec::<f64>().expect("scalar")[0]
}

/// `softplus(x) = max(x, 0) + log1p(exp(-|x|))`, stable for large |x|.
fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

impl<B: Backend> Trainer<B> {
    /// A fresh run: networks initialised from `seed` as the official constructors do.
    pub fn new(g_cfg: GeneratorConfig, d_cfg: DiscriminatorConfig, opts: TrainOptions, device: &B::Device) -> Self {
        host_rng::seed(Rng::derive(opts.seed, u64::MAX, 0).next_u64());
        let g = Generator::<Ad<B>>::new(&g_cfg, device);
        let d = Discriminator::<Ad<B>>::new(&d_cfg, device);
        let g_ema = g.valid();
        let augment_p = if opts.aug == AugMode::Noaug { 0.0 } else { opts.augment_p };
        Trainer {
            g,
            d,
            g_ema,
            opt_g: Adam::new(),
            opt_d: Adam::new(),
            g_cfg,
            d_cfg,
            progress: Progress { augment_p, ..Default::default() },
            opts,
            pipe: AugmentPipe::bgc(),
            device: device.clone(),
        }
    }

    pub fn kimg(&self) -> f64 {
        self.progress.nimg as f64 / 1000.0
    }

    fn check(&self, what: &'static str, value: f64) -> Result<f64, StepError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(StepError::NonFinite { what, value, kimg: self.kimg() })
        }
    }

    fn adam_hp(&self, lr: f64, interval: u64) -> AdamStep {
        // Lazy regularization: the main loss steps less often in effect, so lr and betas are
        // rescaled by c = interval / (interval + 1), as the official loop does.
        let c = interval as f64 / (interval as f64 + 1.0);
        AdamStep { lr: lr * c, beta1: 0.0f64.powf(c), beta2: 0.99f64.powf(c), eps: 1e-8 }
    }

    fn z(&self, n: usize, rng: &mut Rng) -> Tensor<Ad<B>, 2> {
        let zd = self.g_cfg.z_dim;
        Tensor::from_data(TensorData::new(rng.normals(n * zd), [n, zd]), &self.device)
    }

    /// Mapping with style mixing; updates w_avg from the first mapping's output.
    fn mapping_train(
        &mut self,
        z: Tensor<Ad<B>, 2>,
        c: Option<Tensor<Ad<B>, 2>>,
        rng: &mut Rng,
    ) -> Tensor<Ad<B>, 3> {
        let zin = (self.g.z_dim > 0).then(|| z.clone());
        let w = self.g.mapping.forward_w(zin, c.clone());
        self.g.mapping = self.g.mapping.clone().update_w_avg(w.clone());
        let ws = self.g.mapping.broadcast(w);
        let num_ws = ws.dims()[1];
        if self.opts.style_mixing_prob > 0.0 && num_ws > 1 {
            let cutoff = 1 + rng.below(num_ws - 1);
            let mix = rng.uniform() < self.opts.style_mixing_prob;
            let z2 = self.z(z.dims()[0], rng);
            if mix {
                let zin2 = (self.g.z_dim > 0).then_some(z2);
                let ws2 = self.g.mapping.broadcast(self.g.mapping.forward_w(zin2, c));
                let [n, k, d] = ws.dims();
                return Tensor::cat(vec![ws.slice([0..n, 0..cutoff, 0..d]), ws2.slice([0..n, cutoff..k, 0..d])], 1);
            }
        }
        ws
    }

    /// D's input augmentation at the current p (any backend: fakes are augmented with autodiff).
    fn augment<T: Backend>(&self, x: Tensor<T, 4>, rng: &mut Rng) -> Tensor<T, 4> {
        let seed = rng.next_u64();
        if self.progress.augment_p > 0.0 {
            self.pipe.forward(x, self.progress.augment_p as f32, seed)
        } else {
            x
        }
    }

    /// Runs one iteration on `data`.
    pub fn step(&mut self, data: &dyn ImageSet) -> Result<StepStats, StepError> {
        let opts = self.opts.clone();
        let i = self.progress.batch_idx;
        let n = opts.batch;
        let dev = self.device.clone();
        // Per-pixel noise comes from the host generator: reseed it per step for exact replay.
        host_rng::seed(Rng::derive(opts.seed, i, 1).next_u64());
        let mut rng = Rng::derive(opts.seed, i, 0);
        let train_noise = SynthesisOptions { noise_mode: NoiseMode::Random, ..Default::default() };
        let mut stats = StepStats { r1: f64::NAN, pl: f64::NAN, ..Default::default() };

        let (real, real_c) = real_batch::<B>(data, n, opts.mirror, &mut rng, &dev);

        // Gmain: make D(augment(G(z))) look real.
        {
            let z = self.z(n, &mut rng);
            let c = random_labels::<Ad<B>>(data, n, &mut rng, &dev);
            let ws = self.mapping_train(z, c.clone(), &mut rng);
            let img = self.g.synthesis(ws, &train_noise);
            let img = self.augment(img, &mut rng);
            let d_fixed = self.d.clone().no_grad();
            let logits = d_fixed.forward(img, c);
            stats.score_fake = scalar(logits.clone().mean().inner());
            let loss = softplus(logits.neg()).mean();
            stats.loss_g = self.check("G loss", scalar(loss.clone().inner()))?;
            let grads = loss.backward();
            let hp = self.adam_hp(opts.lrate_g, opts.g_reg_interval);
            self.g = self.opt_g.step(self.g.clone(), &grads, hp);
        }

        // Greg: path-length regularization.
        if opts.pl_weight > 0.0 && i.is_multiple_of(opts.g_reg_interval) {
            let nb = (n / opts.pl_batch_shrink).max(1);
            let z = self.z(nb, &mut rng);
            let c = random_labels::<Ad<B>>(data, nb, &mut rng, &dev);
            let ws = self.mapping_train(z, c, &mut rng);
            let [_, ch, h, w] = [nb, self.g_cfg.img_channels, self.g_cfg.img_resolution, self.g_cfg.img_resolution];
            let noise = Tensor::<B, 4>::from_data(TensorData::new(rng.normals(nb * ch * h * w), [nb, ch, h, w]), &dev);
            let lengths = pl_lengths(&self.g.synthesis, ws, noise, &train_noise);
            let mean_len = scalar(lengths.clone().mean().inner());
            let pl_mean = self.progress.pl_mean as f64 + (mean_len - self.progress.pl_mean as f64) * opts.pl_decay;
            self.progress.pl_mean = pl_mean as f32;
            let penalty = (lengths - self.progress.pl_mean as f64).square();
            let loss = penalty.mean() * (opts.pl_weight * opts.g_reg_interval as f64);
            stats.pl = self.check("path-length penalty", scalar(loss.clone().inner()) / opts.g_reg_interval as f64)?;
            let grads = loss.backward();
            let hp = self.adam_hp(opts.lrate_g, opts.g_reg_interval);
            self.g = self.opt_g.step(self.g.clone(), &grads, hp);
        }

        // Dmain: fakes low, reals high.
        let real_aug = self.augment(real.clone(), &mut rng);
        {
            let z = self.z(n, &mut rng);
            let c = random_labels::<Ad<B>>(data, n, &mut rng, &dev);
            let ws = self.mapping_train(z, c.clone(), &mut rng).inner();
            let fake = self.g.synthesis.valid().forward(ws, &train_noise);
            let fake = self.augment(fake, &mut rng);
            let fake_logits = self.d.forward(Tensor::from_inner(fake), c);
            let rc = real_c.clone().map(Tensor::<Ad<B>, 2>::from_inner);
            let real_logits = self.d.forward(Tensor::from_inner(real_aug.clone()), rc);
            self.ada_accumulate(real_logits.clone().inner());
            stats.score_real = scalar(real_logits.clone().mean().inner());
            let loss = softplus(fake_logits).mean() + softplus(real_logits.neg()).mean();
            stats.loss_d = self.check("D loss", scalar(loss.clone().inner()))?;
            let grads = loss.backward();
            let hp = self.adam_hp(opts.lrate_d, opts.d_reg_interval);
            self.d = self.opt_d.step(self.d.clone(), &grads, hp);
        }

        // Dreg: R1 = |dD(x)/dx|^2 on (augmented) reals.
        if opts.r1_gamma > 0.0 && i.is_multiple_of(opts.d_reg_interval) {
            let (r1, logits) = r1_penalty(&self.d, real_aug, real_c);
            self.ada_accumulate(logits);
            let loss = r1.mean() * (opts.r1_gamma / 2.0 * opts.d_reg_interval as f64);
            stats.r1 = self.check("R1 penalty", scalar(loss.clone().inner()) / opts.d_reg_interval as f64)?;
            let grads = loss.backward();
            let hp = self.adam_hp(opts.lrate_d, opts.d_reg_interval);
            self.d = self.opt_d.step(self.d.clone(), &grads, hp);
        }

        // G_ema, counters, ADA.
        let beta = ema_beta(n, opts.ema_kimg, opts.ema_rampup, self.progress.nimg);
        self.g_ema = update_ema::<Ad<B>, _>(&self.g, self.g_ema.clone(), beta);
        self.progress.nimg += n as u64;
        self.progress.batch_idx += 1;
        if opts.aug == AugMode::Ada && self.progress.batch_idx.is_multiple_of(opts.ada_interval) && self.progress.ada_sign_count > 0 {
            let rt = self.progress.ada_sign_sum / self.progress.ada_sign_count as f64;
            let speed = (n as u64 * opts.ada_interval) as f64 / (opts.ada_kimg * 1000.0);
            let adjust = (rt - opts.ada_target).signum() * speed;
            self.progress.augment_p = (self.progress.augment_p + adjust).clamp(0.0, 1.0);
            self.progress.ada_sign_sum = 0.0;
            self.progress.ada_sign_count = 0;
        }
        Ok(stats)
    }

    fn ada_accumulate(&mut self, logits: Tensor<B, 2>) {
        let n = logits.dims()[0];
        let s = scalar(logits.sign().sum().reshape([1]));
        self.progress.ada_sign_sum += s;
        self.progress.ada_sign_count += n as u64;
    }
}

/// Path lengths `|J_w^T y|` per sample (official `pl_lengths`): `y` is `noise / sqrt(H*W)`, the
/// Jacobian-vector product comes from an outer backward pass, and the result stays differentiable
/// w.r.t. the synthesis parameters and `ws` at the inner level.
pub fn pl_lengths<B: Backend>(
    synthesis: &SynthesisNetwork<Ad<B>>,
    ws: Tensor<Ad<B>, 3>,
    noise: Tensor<B, 4>,
    opts: &SynthesisOptions,
) -> Tensor<Ad<B>, 1> {
    let nb = ws.dims()[0];
    let ws_o = Tensor::<Ad2<B>, 3>::from_inner(ws).require_grad();
    let syn_o = SynthesisNetwork::<Ad2<B>>::from_inner(synthesis.clone());
    let img = syn_o.forward(ws_o.clone(), opts);
    let [_, _, h, w] = img.dims();
    let y = Tensor::<Ad2<B>, 4>::from_inner(Tensor::from_inner(noise)) / ((h * w) as f64).sqrt();
    let grads_o = (img * y).sum().backward();
    let g_ws: Tensor<Ad<B>, 3> = ws_o.grad(&grads_o).expect("ws takes part in the image");
    g_ws.square().sum_dim(2).mean_dim(1).sqrt().reshape([nb])
}

/// R1 per sample, `|dD(x)/dx|^2`, differentiable w.r.t. D's parameters (nested autodiff), and
/// D's logits on `x` (inner values, for ADA statistics).
pub fn r1_penalty<B: Backend>(
    d: &Discriminator<Ad<B>>,
    x: Tensor<B, 4>,
    c: Option<Tensor<B, 2>>,
) -> (Tensor<Ad<B>, 1>, Tensor<B, 2>) {
    let n = x.dims()[0];
    let x_o = Tensor::<Ad2<B>, 4>::from_inner(Tensor::from_inner(x)).require_grad();
    let c_o = c.map(|c| Tensor::<Ad2<B>, 2>::from_inner(Tensor::from_inner(c)));
    let d_o = Discriminator::<Ad2<B>>::from_inner(d.clone());
    let logits = d_o.forward(x_o.clone(), c_o);
    let values = logits.clone().inner().inner();
    let grads_o = logits.sum().backward();
    let gx: Tensor<Ad<B>, 4> = x_o.grad(&grads_o).expect("x takes part in D's output");
    (gx.square().sum_dim(3).sum_dim(2).sum_dim(1).reshape([n]), values)
}
