//! The StyleGAN2 loss, phase by phase (the official `StyleGAN2Loss`): each function takes every
//! input explicitly (latents, labels, reals, path-length noise, augmentation) and returns the loss
//! to differentiate, already multiplied by the phase's gain, with the per-sample values the
//! official code reports. Nothing here draws random numbers: [`crate::step::Trainer`] draws them,
//! and reference checks pass their own.

use bestiary_augment::AugmentPipe;
use bestiary_stylegan::{Discriminator, Generator, SynthesisNetwork, SynthesisOptions};
use burn::module::{AutodiffModule, Module};
use burn::tensor::{backend::Backend, Tensor};

use crate::autodiff::{Ad, Ad2};

/// D's input augmentation, applied to one batch at a time in the official order (Gmain: fakes;
/// Dmain: fakes, then reals; Dreg: reals). Generic over the backend: fakes are augmented under
/// autodiff, reals for R1 under nested autodiff.
pub trait Augment {
    fn apply<T: Backend>(&mut self, x: Tensor<T, 4>) -> Tensor<T, 4>;
}

/// No augmentation (the official `augment_pipe = None`).
pub struct NoAugment;

impl Augment for NoAugment {
    fn apply<T: Backend>(&mut self, x: Tensor<T, 4>) -> Tensor<T, 4> {
        x
    }
}

/// The ADA pipe at probability `p`, one seed per call, in call order.
pub struct PipeAugment<'a> {
    pub pipe: &'a AugmentPipe,
    pub p: f64,
    pub seeds: std::vec::IntoIter<u64>,
}

impl Augment for PipeAugment<'_> {
    fn apply<T: Backend>(&mut self, x: Tensor<T, 4>) -> Tensor<T, 4> {
        let seed = self.seeds.next().expect("one seed per augmentation call");
        if self.p > 0.0 {
            self.pipe.forward(x, self.p as f32, seed)
        } else {
            x
        }
    }
}

/// What one generator pass starts from: `z` `[n, z_dim]`, labels `[n, c_dim]` (conditional only)
/// and, when the pass mixes styles, the second latent and the first layer it takes over.
#[derive(Clone, Debug)]
pub struct Latents<B: Backend> {
    pub z: Tensor<B, 2>,
    pub c: Option<Tensor<B, 2>>,
    pub mixing: Option<Mixing<B>>,
}

/// Style mixing: ws from `cutoff` on come from `z`.
#[derive(Clone, Debug)]
pub struct Mixing<B: Backend> {
    pub cutoff: usize,
    pub z: Tensor<B, 2>,
}

/// A batch of real images `[n, C, R, R]` in [-1, 1] and their labels (conditional only).
#[derive(Clone, Debug)]
pub struct Reals<B: Backend> {
    pub images: Tensor<B, 4>,
    pub c: Option<Tensor<B, 2>>,
}

/// Path-length regularization settings: weight, pl_mean decay and the phase gain (the lazy
/// regularization interval).
#[derive(Clone, Copy, Debug)]
pub struct PathLengthReg {
    pub weight: f64,
    pub decay: f64,
    pub gain: f64,
}

/// R1 settings: gamma and the phase gain (the lazy regularization interval).
#[derive(Clone, Copy, Debug)]
pub struct R1Reg {
    pub gamma: f64,
    pub gain: f64,
}

/// Gmain: the loss and D's logits on the (augmented) fakes (`Loss/scores/fake`).
pub struct GmainLoss<B: Backend> {
    pub loss: Tensor<Ad<B>, 1>,
    pub fake_logits: Tensor<B, 2>,
}

/// Greg: the loss, path lengths, penalties (`Loss/pl_penalty`) and the updated pl_mean.
pub struct GregLoss<B: Backend> {
    pub loss: Tensor<Ad<B>, 1>,
    pub lengths: Tensor<B, 1>,
    pub penalty: Tensor<B, 1>,
    pub pl_mean: f32,
}

/// Dmain: the loss and D's logits on fakes and reals (`Loss/scores/fake`, `Loss/scores/real`).
pub struct DmainLoss<B: Backend> {
    pub loss: Tensor<Ad<B>, 1>,
    pub fake_logits: Tensor<B, 2>,
    pub real_logits: Tensor<B, 2>,
}

/// Dreg: the loss, R1 per sample (`Loss/r1_penalty`) and D's logits on the reals.
pub struct DregLoss<B: Backend> {
    pub loss: Tensor<Ad<B>, 1>,
    pub penalty: Tensor<B, 1>,
    pub real_logits: Tensor<B, 2>,
}

/// `softplus(x) = max(x, 0) + log1p(exp(-|x|))`, stable for large |x|.
pub(crate) fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

pub(crate) fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("scalar")[0]
}

fn lift<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Tensor<Ad<B>, D> {
    Tensor::from_inner(x.clone())
}

fn assert_latents<B: Backend>(g: &Generator<Ad<B>>, lat: &Latents<B>) -> usize {
    let [n, zd] = lat.z.dims();
    assert_eq!(zd, g.z_dim, "z must be [n, z_dim]");
    assert_eq!(
        lat.c.as_ref().map(|c| c.dims()),
        (g.c_dim > 0).then_some([n, g.c_dim]),
        "c must be [n, c_dim] (conditional only)"
    );
    if let Some(m) = &lat.mixing {
        assert_eq!(m.z.dims(), [n, zd], "the mixing z must be [n, z_dim]");
        assert!(
            m.cutoff >= 1 && m.cutoff < g.num_ws(),
            "mixing cutoff {} outside 1..{}",
            m.cutoff,
            g.num_ws()
        );
    }
    n
}

fn assert_reals<B: Backend>(d: &Discriminator<Ad<B>>, reals: &Reals<B>) -> usize {
    let [n, ch, h, w] = reals.images.dims();
    assert_eq!(
        [ch, h, w],
        [d.img_channels, d.img_resolution, d.img_resolution],
        "reals must be [n, C, R, R]"
    );
    assert_eq!(
        reals.c.as_ref().map(|c| c.dims()),
        (d.c_dim > 0).then_some([n, d.c_dim]),
        "real labels must be [n, c_dim]"
    );
    n
}

/// The official `run_G` up to ws: the mapping in training mode (which moves `w_avg` towards the
/// mean of this batch's w), then style mixing. Returns ws `[n, num_ws, w_dim]`.
pub fn map_train<B: Backend>(g: &mut Generator<Ad<B>>, lat: &Latents<B>) -> Tensor<Ad<B>, 3> {
    assert_latents(g, lat);
    let c = lat.c.as_ref().map(lift);
    let zin = (g.z_dim > 0).then(|| lift(&lat.z));
    let w = g.mapping.forward_w(zin, c.clone());
    g.mapping = g.mapping.clone().update_w_avg(w.clone());
    let ws = g.mapping.broadcast(w);
    let Some(mix) = &lat.mixing else { return ws };
    // The second mapping does not move w_avg (skip_w_avg_update).
    let zin2 = (g.z_dim > 0).then(|| lift(&mix.z));
    let ws2 = g.mapping.broadcast(g.mapping.forward_w(zin2, c));
    let [n, k, d] = ws.dims();
    Tensor::cat(
        vec![
            ws.slice([0..n, 0..mix.cutoff, 0..d]),
            ws2.slice([0..n, mix.cutoff..k, 0..d]),
        ],
        1,
    )
}

/// Gmain: `mean(softplus(-D(augment(G(z, c)))))`, differentiable w.r.t. G only (D is a fixed
/// function here). Moves `g`'s w_avg.
pub fn gmain_loss<B: Backend>(
    g: &mut Generator<Ad<B>>,
    d: &Discriminator<Ad<B>>,
    lat: &Latents<B>,
    syn: &SynthesisOptions,
    aug: &mut impl Augment,
) -> GmainLoss<B> {
    let ws = map_train(g, lat);
    let img = aug.apply(g.synthesis(ws, syn));
    let logits = d.clone().no_grad().forward(img, lat.c.as_ref().map(lift));
    let loss = softplus(logits.clone().neg()).mean();
    GmainLoss {
        loss,
        fake_logits: logits.inner(),
    }
}

/// Greg, path-length regularization: lengths `|J_w^T y|` with `y = pl_noise / sqrt(H*W)` per
/// sample ([`pl_lengths`]), `pl_mean` moved towards their mean by `decay` (differentiably, as
/// officially), and the loss `mean((lengths - pl_mean)^2) * weight * gain`. `lat` is already
/// the shrunk batch (official: the first `batch / pl_batch_shrink` rows); `pl_noise` is N(0, 1),
/// shaped like the images. Moves `g`'s w_avg.
pub fn greg_loss<B: Backend>(
    g: &mut Generator<Ad<B>>,
    lat: &Latents<B>,
    pl_noise: Tensor<B, 4>,
    pl_mean: f32,
    reg: &PathLengthReg,
    syn: &SynthesisOptions,
) -> GregLoss<B> {
    let n = assert_latents(g, lat);
    let res = g.img_resolution;
    assert_eq!(
        pl_noise.dims(),
        [n, g.img_channels, res, res],
        "pl_noise must be shaped like the images"
    );
    let ws = map_train(g, lat);
    let lengths = pl_lengths(&g.synthesis, ws, pl_noise, syn);
    // `pl_mean.lerp(mean(lengths), decay)`, kept in the graph as officially (only the stored
    // value is detached): the penalty's gradient includes this batch's pull on the mean.
    let old = pl_mean as f64;
    let mean = (lengths.clone().mean() - old) * reg.decay + old;
    let penalty = (lengths.clone() - mean.clone().expand([n])).square();
    let loss = penalty.clone().mean() * (reg.weight * reg.gain);
    let pl_mean = scalar(mean.inner()) as f32;
    GregLoss {
        loss,
        lengths: lengths.inner(),
        penalty: penalty.inner(),
        pl_mean,
    }
}

/// Dmain: `mean(softplus(D(augment(fakes)))) + mean(softplus(-D(augment(reals))))`,
/// differentiable w.r.t. D only (the fakes are plain values). Moves `g`'s w_avg.
pub fn dmain_loss<B: Backend>(
    g: &mut Generator<Ad<B>>,
    d: &Discriminator<Ad<B>>,
    lat: &Latents<B>,
    reals: &Reals<B>,
    syn: &SynthesisOptions,
    aug: &mut impl Augment,
) -> DmainLoss<B> {
    assert_reals(d, reals);
    let ws = map_train(g, lat).inner();
    let fake = aug.apply(g.synthesis.valid().forward(ws, syn));
    let real = aug.apply(reals.images.clone());
    let fake_logits = d.forward(Tensor::from_inner(fake), lat.c.as_ref().map(lift));
    let real_logits = d.forward(Tensor::from_inner(real), reals.c.as_ref().map(lift));
    let loss = softplus(fake_logits.clone()).mean() + softplus(real_logits.clone().neg()).mean();
    DmainLoss {
        loss,
        fake_logits: fake_logits.inner(),
        real_logits: real_logits.inner(),
    }
}

/// Dreg, R1: `|d D(augment(x)) / dx|^2` per sample on the reals `x` (the gradient with respect
/// to the images before augmentation, through it: the official `run_D` augments inside), and the
/// loss `mean(r1) * gamma / 2 * gain`, differentiable w.r.t. D (nested autodiff).
pub fn dreg_loss<B: Backend>(
    d: &Discriminator<Ad<B>>,
    reals: &Reals<B>,
    reg: &R1Reg,
    aug: &mut impl Augment,
) -> DregLoss<B> {
    assert_reals(d, reals);
    let (r1, real_logits) = r1_through(d, reals.images.clone(), reals.c.clone(), aug);
    let loss = r1.clone().mean() * (reg.gamma / 2.0 * reg.gain);
    DregLoss {
        loss,
        penalty: r1.inner(),
        real_logits,
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
    r1_through(d, x, c, &mut NoAugment)
}

/// R1 per sample through an augmentation, `|d D(augment(x)) / dx|^2`, differentiable w.r.t. D's
/// parameters: the augmentation runs under nested autodiff (it is linear in the image, built from
/// differentiable tensor ops), and D's logits (inner values, for ADA statistics).
pub fn r1_through<B: Backend>(
    d: &Discriminator<Ad<B>>,
    x: Tensor<B, 4>,
    c: Option<Tensor<B, 2>>,
    aug: &mut impl Augment,
) -> (Tensor<Ad<B>, 1>, Tensor<B, 2>) {
    let n = x.dims()[0];
    let x_o = Tensor::<Ad2<B>, 4>::from_inner(Tensor::from_inner(x)).require_grad();
    let c_o = c.map(|c| Tensor::<Ad2<B>, 2>::from_inner(Tensor::from_inner(c)));
    let d_o = Discriminator::<Ad2<B>>::from_inner(d.clone());
    let logits = d_o.forward(aug.apply(x_o.clone()), c_o);
    let values = logits.clone().inner().inner();
    let grads_o = logits.sum().backward();
    let gx: Tensor<Ad<B>, 4> = x_o.grad(&grads_o).expect("x takes part in D's output");
    (
        gx.square().sum_dim(3).sum_dim(2).sum_dim(1).reshape([n]),
        values,
    )
}
