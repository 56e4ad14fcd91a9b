//! Texture synthesis by Gram-matrix matching: optimise an image from noise so that the Gram matrices of its
//! VGG16 features equal a weighted blend of the sources' (Gatys, Ecker & Bethge 2015).
//!
//! Parametrisation: the pixels themselves (RGB in `[0, 1]`), starting from Gaussian noise with the sources'
//! colour mean and covariance, optimised with L-BFGS (default; clamped to `[0, 1]` at the end of each octave)
//! or Adam (projected onto `[0, 1]` after every step). Loss: the mean over the chosen layers of the relative
//! Gram error [`gram_loss`]; a layer counts at a scale only where its feature map is at least [`MIN_MAP`]
//! positions wide (see [`SynthOptions::active_layers`]). Pooling: average (Gatys et al.). Multi-scale: octave 0 synthesises at `size / 2^(octaves-1)` against the sources scaled by the
//! same factor, its result is upsampled (bilinear) to start the next octave, and so on up to full size, so that
//! structures larger than the deepest receptive field survive. `tile` makes every convolution periodic so the
//! texture wraps around without seams. Finally the colours are histogram-matched to the sources in their
//! principal colour axes ([`crate::color::match_colors`]).

use bestiary_canvas::Image;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

use crate::color::{match_colors, Planar};
use crate::gram::{gram, gram_loss};
use crate::rng::Rng;
use crate::{Result, TextureError};
use bestiary_perceptual::{Layer, Pad, Pool, Vgg16};

/// Smallest feature-map side (in positions) at which a layer's Gram matrix is matched.
pub const MIN_MAP: usize = 16;

/// How to synthesise.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Output size in pixels.
    pub width: usize,
    pub height: usize,
    /// Adam steps at every octave (coarser octaves cost 1/4, 1/16, ... of the last one).
    pub steps: usize,
    /// Scales, coarse to fine, each twice the previous; 1 = synthesise at full size only.
    pub octaves: usize,
    /// VGG16 layers whose Gram matrices are matched.
    pub layers: Vec<Layer>,
    /// Periodic padding in every convolution: the texture tiles seamlessly.
    pub tile: bool,
    /// Pooling between VGG16 blocks.
    pub pool: Pool,
    /// The optimiser of the pixels.
    pub optimizer: Optimizer,
    /// Adam's learning rate (pixels in `[0, 1]`); it decays to a tenth over each octave. Unused by L-BFGS.
    pub lr: f64,
    /// Shorter side of the sources at full scale, in pixels (`None`: the output's larger side). Smaller
    /// values make the texture's elements smaller.
    pub source_size: Option<usize>,
    /// Match the colour histograms to the sources at the end (in their principal colour axes).
    pub match_colors: bool,
    /// Report a snapshot image every this many steps (0: never; each octave's end is always reported when
    /// non-zero).
    pub snapshot_every: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            width: 256,
            height: 256,
            steps: 100,
            octaves: 3,
            layers: Layer::gatys(),
            tile: false,
            pool: Pool::Avg,
            optimizer: Optimizer::Lbfgs,
            lr: 0.03,
            source_size: None,
            match_colors: true,
            snapshot_every: 0,
        }
    }
}

impl SynthOptions {
    /// The default number of octaves for an output whose shorter side is `side`: as many as keep the
    /// coarsest scale at least 64 px, 1..=3.
    pub fn default_octaves(side: usize) -> usize {
        let mut n = 1;
        while n < 3 && side >> n >= 64 {
            n += 1;
        }
        n
    }

    /// True when step `t` (1-based) of an octave reports a snapshot: every `snapshot_every` steps and the
    /// octave's last step (never when `snapshot_every` is 0).
    pub fn snapshot_at(&self, t: usize) -> bool {
        self.snapshot_every > 0 && (t.is_multiple_of(self.snapshot_every) || t == self.steps)
    }

    /// The snapshots of `seed`'s synthesis, as it emits them: every `snapshot_every` steps and the last
    /// step of each octave (named by [`snapshot_name`]).
    pub fn snapshot_names(&self, seed: u64) -> impl Iterator<Item = String> + '_ {
        (0..self.octaves).flat_map(move |k| {
            (1..=self.steps)
                .filter(|&t| self.snapshot_at(t))
                .map(move |t| snapshot_name(seed, k, t))
        })
    }

    /// Output size of each octave, coarse to fine.
    pub fn octave_sizes(&self) -> Vec<(usize, usize)> {
        (0..self.octaves)
            .map(|k| {
                let d = 1usize << (self.octaves - 1 - k);
                ((self.width / d).max(1), (self.height / d).max(1))
            })
            .collect()
    }

    /// The layers (indices into `layers`) matched at a scale of `w x h` pixels: those whose feature map has at
    /// least [`MIN_MAP`] positions per side. With fewer positions than that, a 512-channel Gram matrix is
    /// estimated from so few samples that it nearly memorises the source's layout instead of its texture.
    pub fn active_layers(&self, w: usize, h: usize) -> Vec<usize> {
        (0..self.layers.len())
            .filter(|&i| (w.min(h) >> self.layers[i].pools()) >= MIN_MAP)
            .collect()
    }

    /// Checks sizes, steps and layers; every error is one line.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TextureError::Invalid(m));
        if self.layers.is_empty() {
            return bad("no VGG16 layers to match".into());
        }
        if self.octaves == 0 || self.octaves > 6 {
            return bad(format!("octaves must be in 1..=6, got {}", self.octaves));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!(
                "learning rate must be a positive number, got {}",
                self.lr
            ));
        }
        if self.width > 4096 || self.height > 4096 {
            return bad(format!(
                "size {}x{} is too large (at most 4096)",
                self.width, self.height
            ));
        }
        let pools = self.layers.iter().map(|l| l.pools()).max().unwrap_or(0);
        let unit = 1usize << pools;
        let (w0, h0) = self.octave_sizes()[0];
        if self.active_layers(w0, h0).is_empty() {
            let shallow = self.layers.iter().min().unwrap();
            return bad(format!(
                "size {}x{} is too small for {} octave(s): the coarsest scale must be at least {} px for layer {shallow}",
                self.width,
                self.height,
                self.octaves,
                MIN_MAP << shallow.pools(),
            ));
        }
        if self.tile {
            let step = unit << (self.octaves - 1);
            if !self.width.is_multiple_of(step) || !self.height.is_multiple_of(step) {
                return bad(format!(
                    "with tiling, width and height must be multiples of {step} for {} octave(s) and layer {} (got {}x{})",
                    self.octaves,
                    self.layers.iter().max().unwrap(),
                    self.width,
                    self.height
                ));
            }
        }
        Ok(())
    }
}

/// How the pixels are optimised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Optimizer {
    /// L-BFGS (as Gatys et al.): converges in far fewer steps; pixels are clamped to `[0, 1]` at the end.
    #[default]
    Lbfgs,
    /// Adam on pixels, projected onto `[0, 1]` after every step.
    Adam,
}

/// What happens during [`synthesize`].
#[derive(Debug)]
pub enum Event<'a> {
    /// An octave begins; `layers` are the layers matched at its scale.
    Octave {
        index: usize,
        count: usize,
        width: usize,
        height: usize,
        layers: &'a [Layer],
    },
    /// One optimisation step finished; `loss` is the mean relative Gram error before the step.
    Step {
        octave: usize,
        step: usize,
        steps: usize,
        loss: f32,
    },
    /// The current image (before colour matching).
    Snapshot {
        octave: usize,
        step: usize,
        image: &'a Image,
    },
}

/// The Gram matrices to match at every octave (a weighted blend of the sources') and the sources' pixels
/// for colour matching.
pub struct Targets<B: Backend> {
    opts: SynthOptions,
    /// `grams[octave][i]`: `[1, C, C]` for the i-th layer of `active[octave]`.
    grams: Vec<Vec<Tensor<B, 3>>>,
    /// Layers matched at each octave.
    active: Vec<Vec<Layer>>,
    /// Sources at full scale with their normalised weights.
    sources: Vec<(Planar, f32)>,
}

impl<B: Backend> Targets<B> {
    /// Gram targets of `sources` (image, weight) for `opts`. Weights must be non-negative with a positive sum.
    pub fn new(vgg: &Vgg16<B>, sources: &[(Image, f32)], opts: &SynthOptions) -> Result<Self> {
        opts.validate()?;
        if sources.is_empty() {
            return Err(TextureError::Invalid("no source image".into()));
        }
        if sources.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
            return Err(TextureError::Invalid(
                "source weights must be finite and non-negative".into(),
            ));
        }
        let total: f32 = sources.iter().map(|(_, w)| w).sum();
        if total <= 0.0 {
            return Err(TextureError::Invalid("source weights sum to zero".into()));
        }
        let short = opts
            .source_size
            .unwrap_or(opts.width.max(opts.height))
            .max(1);
        let device = vgg_device(vgg);
        let mut grams: Vec<Vec<Tensor<B, 3>>> = Vec::new();
        let mut active = Vec::new();
        let mut full = Vec::new();
        for (k, &(w, h)) in opts.octave_sizes().iter().enumerate() {
            let layers: Vec<Layer> = opts
                .active_layers(w, h)
                .into_iter()
                .map(|i| opts.layers[i])
                .collect();
            let factor = 1.0 / (1u64 << (opts.octaves - 1 - k)) as f64;
            let mut blend: Option<Vec<Tensor<B, 3>>> = None;
            for (img, w) in sources {
                let src = scaled_source(img, (short as f64 * factor).round().max(1.0) as usize)?;
                let x = planar_to_tensor::<B>(&src, &device);
                let feats = vgg.activations(x, &layers, Pad::Zero, opts.pool);
                let g: Vec<Tensor<B, 3>> = feats
                    .into_iter()
                    .map(|f| gram(f) * (*w / total) as f64)
                    .collect();
                blend = Some(match blend {
                    None => g,
                    Some(b) => b.into_iter().zip(g).map(|(a, b)| a + b).collect(),
                });
                if k + 1 == opts.octaves {
                    full.push((src, *w / total));
                }
            }
            grams.push(blend.expect("at least one source"));
            active.push(layers);
        }
        Ok(Targets {
            opts: opts.clone(),
            grams,
            active,
            sources: full,
        })
    }

    /// The options these targets were made for.
    pub fn options(&self) -> &SynthOptions {
        &self.opts
    }
}

/// The outcome of [`synthesize`].
pub struct Synthesis {
    /// The texture (colour-matched when the options ask for it).
    pub image: Image,
    /// Loss at every step, per octave.
    pub losses: Vec<Vec<f32>>,
}

impl Synthesis {
    /// The loss at the first step of the first octave and at the last step of the last (NaN when none).
    pub fn loss_span(&self) -> (f32, f32) {
        let first = self.losses.first().and_then(|l| l.first());
        let last = self.losses.last().and_then(|l| l.last());
        (
            first.copied().unwrap_or(f32::NAN),
            last.copied().unwrap_or(f32::NAN),
        )
    }
}

/// The file of snapshot `step` (1-based) of `octave` in `seed`'s synthesis.
pub fn snapshot_name(seed: u64, octave: usize, step: usize) -> String {
    format!("seed{seed:04}-octave{octave}-step{step:05}.png")
}

/// The texture a folder of sources gives for `seed` (dataset mode).
pub fn dataset_name(seed: u64) -> String {
    format!("tex{seed:05}.png")
}

/// Synthesises one texture from noise drawn with `seed`.
pub fn synthesize<B: AutodiffBackend>(
    vgg: &Vgg16<B>,
    targets: &Targets<B>,
    seed: u64,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Synthesis> {
    let opts = &targets.opts;
    let device = vgg_device(vgg);
    let pad = if opts.tile { Pad::Circular } else { Pad::Zero };
    let sizes = opts.octave_sizes();
    let mut rng = Rng::new(seed);
    let mut current: Option<Planar> = None;
    let mut losses = Vec::new();
    for (k, &(w, h)) in sizes.iter().enumerate() {
        on_event(Event::Octave {
            index: k,
            count: sizes.len(),
            width: w,
            height: h,
            layers: &targets.active[k],
        });
        let start = match current.take() {
            Some(p) => p.resized(w, h, opts.tile),
            None => noise(&mut rng, w, h, &targets.sources),
        };
        let x0 = planar_to_tensor::<B::InnerBackend>(&start, &device);
        let mut octave_losses = Vec::with_capacity(opts.steps);
        let snapshot =
            |t: usize, x: &Tensor<B::InnerBackend, 4>, on_event: &mut dyn FnMut(Event<'_>)| {
                if opts.snapshot_at(t) {
                    let img = tensor_to_planar(x.clone()).to_image();
                    on_event(Event::Snapshot {
                        octave: k,
                        step: t,
                        image: &img,
                    });
                }
            };
        let mut eval =
            |x: &Tensor<B::InnerBackend, 4>| -> Result<(f32, Tensor<B::InnerBackend, 4>)> {
                let xa = Tensor::<B, 4>::from_inner(x.clone()).require_grad();
                let feats = vgg.activations(xa.clone(), &targets.active[k], pad, opts.pool);
                let n = feats.len() as f64;
                let loss = feats
                    .into_iter()
                    .zip(&targets.grams[k])
                    .map(|(f, tg)| gram_loss(gram(f), tg.clone()))
                    .reduce(|a, b| a + b)
                    .expect("at least one layer")
                    / n;
                let value: f32 = loss.clone().into_scalar().elem();
                if !value.is_finite() {
                    return Err(TextureError::Invalid(format!("the loss became {value}")));
                }
                let g = xa
                    .grad(&loss.backward())
                    .expect("the image is a leaf that requires grad");
                Ok((value, g))
            };
        let x = match opts.optimizer {
            Optimizer::Adam => {
                let mut x = x0;
                let mut m = x.zeros_like();
                let mut v = x.zeros_like();
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
                for t in 1..=opts.steps {
                    let (value, g) = eval(&x)?;
                    // Adam with bias correction; the step size decays geometrically to lr/10 over the octave.
                    m = m * b1 + g.clone() * (1.0 - b1);
                    v = v * b2 + g.powi_scalar(2) * (1.0 - b2);
                    let lr = opts.lr * 0.1f64.powf((t - 1) as f64 / opts.steps.max(2) as f64);
                    let mhat = m.clone() / (1.0 - b1.powi(t as i32));
                    let vhat = v.clone() / (1.0 - b2.powi(t as i32));
                    x = (x - mhat / (vhat.sqrt() + eps) * lr).clamp(0.0, 1.0);
                    octave_losses.push(value);
                    on_event(Event::Step {
                        octave: k,
                        step: t,
                        steps: opts.steps,
                        loss: value,
                    });
                    snapshot(t, &x, on_event);
                }
                x
            }
            Optimizer::Lbfgs => {
                let mut lb = Lbfgs::new(x0, 20);
                for t in 1..=opts.steps {
                    let value = lb.step(&mut eval)?;
                    octave_losses.push(value);
                    on_event(Event::Step {
                        octave: k,
                        step: t,
                        steps: opts.steps,
                        loss: value,
                    });
                    snapshot(t, &lb.x, on_event);
                }
                lb.x.clamp(0.0, 1.0)
            }
        };
        losses.push(octave_losses);
        current = Some(tensor_to_planar(x));
    }
    let mut out = current.expect("at least one octave");
    if opts.match_colors {
        let srcs: Vec<(&Planar, f32)> = targets.sources.iter().map(|(p, w)| (p, *w)).collect();
        match_colors(&mut out, &srcs);
    }
    Ok(Synthesis {
        image: out.to_image(),
        losses,
    })
}

/// A source resized (Lanczos) so that its shorter side is `short`, its longer side cropped (centred) to at
/// most twice that.
pub fn scaled_source(img: &Image, short: usize) -> Result<Planar> {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let s = short as f64 / w.min(h);
    let (nw, nh) = (
        (w * s).round().max(1.0) as u32,
        (h * s).round().max(1.0) as u32,
    );
    let resized = img.resized(nw, nh);
    let (cw, ch) = (nw.min(2 * short as u32), nh.min(2 * short as u32));
    let p = Planar::from_image(&resized);
    if (cw, ch) == (nw, nh) {
        return Ok(p);
    }
    let (x0, y0) = (((nw - cw) / 2) as usize, ((nh - ch) / 2) as usize);
    let (cw, ch, nw, nh) = (cw as usize, ch as usize, nw as usize, nh as usize);
    let mut data = Vec::with_capacity(3 * cw * ch);
    for c in 0..3 {
        for y in 0..ch {
            let row = c * nw * nh + (y0 + y) * nw + x0;
            data.extend_from_slice(&p.data[row..row + cw]);
        }
    }
    Ok(Planar {
        width: cw,
        height: ch,
        data,
    })
}

/// Planar RGB as a `[1, 3, H, W]` tensor.
pub fn planar_to_tensor<B: Backend>(p: &Planar, device: &B::Device) -> Tensor<B, 4> {
    Tensor::from_data(
        TensorData::new(p.data.clone(), [1, 3, p.height, p.width]),
        device,
    )
}

/// The first image of a `[N, 3, H, W]` tensor as planar RGB.
pub fn tensor_to_planar<B: Backend>(x: Tensor<B, 4>) -> Planar {
    let [_, _, h, w] = x.dims();
    let data = x
        .slice(0..1)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data");
    Planar {
        width: w,
        height: h,
        data,
    }
}

fn vgg_device<B: Backend>(vgg: &Vgg16<B>) -> B::Device {
    vgg.device()
}

#[allow(clippy::needless_range_loop)] // 3x3 colour matrices read best with explicit indices.
/// Gaussian noise with the sources' mean colour and half their colour covariance (so a grey source starts
/// from grey noise, not from colour noise that the Gram loss hardly sees), clamped to `[0, 1]`.
fn noise(rng: &mut Rng, w: usize, h: usize, sources: &[(Planar, f32)]) -> Planar {
    let mut mean = [0.0f64; 3];
    let mut cov = [[0.0f64; 3]; 3];
    for (p, wt) in sources {
        let n = p.width * p.height;
        let m = p.mean();
        for c in 0..3 {
            mean[c] += *wt as f64 * m[c] as f64;
        }
        for a in 0..3 {
            for b in 0..3 {
                let mut acc = 0.0;
                for i in 0..n {
                    acc += (p.data[a * n + i] as f64) * (p.data[b * n + i] as f64);
                }
                cov[a][b] += *wt as f64 * acc / n.max(1) as f64;
            }
        }
    }
    for a in 0..3 {
        for b in 0..3 {
            cov[a][b] = 0.5 * (cov[a][b] - mean[a] * mean[b]) + if a == b { 1e-6 } else { 0.0 };
        }
    }
    // Cholesky factor of the covariance.
    let mut l = [[0.0f64; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j {
                (cov[i][i] - s).max(1e-12).sqrt()
            } else {
                (cov[i][j] - s) / l[j][j]
            };
        }
    }
    let n = w * h;
    let mut data = vec![0.0f32; 3 * n];
    for i in 0..n {
        let z = [rng.normal(), rng.normal(), rng.normal()];
        for c in 0..3 {
            let v = mean[c] + (0..3).map(|k| l[c][k] * z[k]).sum::<f64>();
            data[c * n + i] = v.clamp(0.0, 1.0) as f32;
        }
    }
    Planar {
        width: w,
        height: h,
        data,
    }
}

/// Limited-memory BFGS on the pixels (Gatys et al. used L-BFGS): two-loop recursion over the last `history`
/// steps, Armijo backtracking from the unit step. Every evaluation is one forward and backward pass.
struct Lbfgs<B: Backend> {
    x: Tensor<B, 4>,
    history: usize,
    s: Vec<Tensor<B, 4>>,
    y: Vec<Tensor<B, 4>>,
    /// Loss and gradient at `x`, once evaluated.
    at_x: Option<(f32, Tensor<B, 4>)>,
}

/// Loss and gradient at a point.
type Eval<'a, B> = dyn FnMut(&Tensor<B, 4>) -> Result<(f32, Tensor<B, 4>)> + 'a;

fn dot<B: Backend>(a: &Tensor<B, 4>, b: &Tensor<B, 4>) -> f64 {
    let v: f32 = (a.clone() * b.clone()).sum().into_scalar().elem();
    v as f64
}

impl<B: Backend> Lbfgs<B> {
    fn new(x: Tensor<B, 4>, history: usize) -> Self {
        Lbfgs {
            x,
            history,
            s: Vec::new(),
            y: Vec::new(),
            at_x: None,
        }
    }

    /// One iteration; returns the loss at the starting point.
    fn step(&mut self, eval: &mut Eval<'_, B>) -> Result<f32> {
        let (f, g) = match self.at_x.take() {
            Some(v) => v,
            None => eval(&self.x)?,
        };
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.s.len());
        for (s, y) in self.s.iter().zip(&self.y).rev() {
            let rho = 1.0 / dot(y, s);
            let a = rho * dot(s, &q);
            q = q - y.clone() * a;
            alphas.push((a, rho));
        }
        let gamma = match (self.s.last(), self.y.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            // First step: move each pixel by about 0.01 on average.
            _ => {
                0.01 * (g.dims().iter().product::<usize>() as f64).sqrt()
                    / dot(&g, &g).sqrt().max(1e-30)
            }
        };
        let mut r = q * gamma;
        for ((s, y), (a, rho)) in self.s.iter().zip(&self.y).zip(alphas.into_iter().rev()) {
            let b = rho * dot(y, &r);
            r = r + s.clone() * (a - b);
        }
        let mut d = r.neg();
        let mut gd = dot(&g, &d);
        if gd.is_nan() || gd >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            self.s.clear();
            self.y.clear();
            let n = g.dims().iter().product::<usize>() as f64;
            d = g.clone().neg() * (0.01 * n.sqrt() / dot(&g, &g).sqrt().max(1e-30));
            gd = dot(&g, &d);
        }
        let mut t = 1.0;
        for _ in 0..8 {
            let xn = self.x.clone() + d.clone() * t;
            let (fn_, gn) = eval(&xn)?;
            if (fn_ as f64) <= f as f64 + 1e-4 * t * gd || t < 0.01 {
                let s = d.clone() * t;
                let y = gn.clone() - g.clone();
                if dot(&s, &y) > 1e-12 {
                    self.s.push(s);
                    self.y.push(y);
                    if self.s.len() > self.history {
                        self.s.remove(0);
                        self.y.remove(0);
                    }
                }
                self.x = xn;
                self.at_x = Some((fn_, gn));
                return Ok(f);
            }
            t *= 0.5;
        }
        Ok(f)
    }
}

#[cfg(test)]
mod options_tests {
    use super::*;

    #[test]
    fn snapshots_fall_every_n_steps_and_on_the_last() {
        let o = SynthOptions {
            steps: 120,
            snapshot_every: 50,
            ..Default::default()
        };
        let at: Vec<usize> = (1..=o.steps).filter(|&t| o.snapshot_at(t)).collect();
        assert_eq!(at, [50, 100, 120]);
        let off = SynthOptions {
            snapshot_every: 0,
            ..o
        };
        assert!(!off.snapshot_at(120));
    }

    #[test]
    fn snapshot_names_follow_the_steps_the_synthesis_reports() {
        let o = SynthOptions {
            steps: 5,
            octaves: 2,
            snapshot_every: 2,
            ..Default::default()
        };
        let names: Vec<String> = o.snapshot_names(7).collect();
        let steps = |k| [2, 4, 5].map(|t| snapshot_name(7, k, t));
        assert_eq!(names, [steps(0), steps(1)].concat());
        assert_eq!(names[0], "seed0007-octave0-step00002.png");
        assert_eq!(dataset_name(12), "tex00012.png");
        let s = Synthesis {
            image: Image::new(1, 1),
            losses: vec![vec![3.0, 2.0], vec![], vec![1.5, 0.5]],
        };
        assert_eq!(s.loss_span(), (3.0, 0.5));
        let none = Synthesis {
            image: Image::new(1, 1),
            losses: vec![],
        };
        assert!(none.loss_span().0.is_nan() && none.loss_span().1.is_nan());
    }

    #[test]
    fn default_octaves_keep_the_coarsest_scale_at_least_64_px() {
        let n: Vec<usize> = [64, 127, 128, 256, 1024]
            .iter()
            .map(|&s| SynthOptions::default_octaves(s))
            .collect();
        assert_eq!(n, [1, 1, 2, 3, 3]);
    }
}
