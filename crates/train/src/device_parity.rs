//! Does a device compute what the CPU computes? A small network is built from the same seed on the
//! CPU backend and on the device under test, and their images, discriminator logits, gradients
//! (the main losses and both regularizers, which run through nested autodiff) and the losses of a
//! few seeded training steps are compared. What `bestiary doctor` runs; each comparison is one
//! [`ParityCheck`] with its measured error and the tolerance it must meet.

use crate::autodiff::Ad;
use crate::data::MemoryImages;
use crate::options::{AugMode, TrainOptions};
use crate::rng::Rng;
use crate::step::{pl_lengths, r1_penalty, Trainer};
use bestiary_nn::host_rng;
use bestiary_stylegan::{
    to_uint8_nhwc, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode,
    SynthesisOptions, WeightMap,
};
use burn::backend::Flex;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

/// One comparison between the CPU and the device.
#[derive(Clone, Debug, Serialize)]
pub struct ParityCheck {
    pub name: String,
    /// The largest disagreement measured (in `unit`).
    pub error: f64,
    pub tolerance: f64,
    pub unit: &'static str,
    pub pass: bool,
}

impl ParityCheck {
    fn new(name: &str, error: f64, tolerance: f64, unit: &'static str) -> Self {
        // NaN never passes.
        ParityCheck {
            name: name.into(),
            error,
            tolerance,
            unit,
            pass: error <= tolerance,
        }
    }
}

/// Sizes of the parity check (small enough for a CPU to finish in seconds).
#[derive(Clone, Copy, Debug)]
pub struct ParityShape {
    pub resolution: usize,
    pub batch: usize,
    /// Seeded training steps whose losses are compared.
    pub steps: usize,
}

impl Default for ParityShape {
    fn default() -> Self {
        ParityShape {
            resolution: 16,
            batch: 4,
            steps: 4,
        }
    }
}

/// Tolerances: images within one 8-bit level, logits to 1e-4 of their scale, gradients and the
/// losses of seeded steps to 1e-3 (different reduction orders in f32; a device that rounds matmuls
/// to TF32 shows up here).
const IMAGE_LEVELS: f64 = 1.0;
const LOGIT_REL: f64 = 1e-4;
const GRAD_REL: f64 = 1e-3;
const LOSS_REL: f64 = 1e-3;

/// The networks of the check: two resolutions below the output, clamped convolutions, a
/// minibatch-stddev group of 4 (everything a real network exercises, at toy widths).
pub fn parity_configs(resolution: usize) -> (GeneratorConfig, DiscriminatorConfig) {
    let cbase = 32 * resolution;
    let g = GeneratorConfig::from_value(&serde_json::json!({
        "z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": resolution, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2},
        "synthesis_kwargs": {"channel_base": cbase, "channel_max": 32, "num_fp16_res": 0, "conv_clamp": 256},
    }))
    .expect("static generator config");
    let d = DiscriminatorConfig::from_value(&serde_json::json!({
        "c_dim": 0, "img_resolution": resolution, "img_channels": 3,
        "channel_base": cbase, "channel_max": 32, "num_fp16_res": 0, "conv_clamp": 256,
        "epilogue_kwargs": {"mbstd_group_size": 4},
    }))
    .expect("static discriminator config");
    (g, d)
}

/// Deterministic "real" images: smooth colour ramps with a seeded offset each.
fn parity_images(resolution: usize, count: usize) -> MemoryImages {
    let mut rng = Rng::new(7);
    let pixels = (0..count)
        .map(|_| {
            let (a, b) = (rng.below(256), rng.below(256));
            let mut chw = vec![0u8; 3 * resolution * resolution];
            for c in 0..3 {
                for y in 0..resolution {
                    for x in 0..resolution {
                        let v = a + c * 60 + (x * 255 + y * b) / resolution;
                        chw[(c * resolution + y) * resolution + x] = (v % 256) as u8;
                    }
                }
            }
            chw
        })
        .collect();
    MemoryImages {
        resolution,
        channels: 3,
        c_dim: 0,
        pixels,
        labels: vec![],
    }
}

fn values<T: Backend, const D: usize>(t: Tensor<T, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")
}

/// `max |a - b| / max(max |a|, floor)`: the disagreement relative to the reference's scale.
fn rel_error(a: &[f32], b: &[f32], floor: f64) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let scale = a.iter().fold(0f64, |m, v| m.max(v.abs() as f64)).max(floor);
    let diff = a.iter().zip(b).fold(0f64, |m, (x, y)| {
        let d = (*x as f64 - *y as f64).abs();
        if d.is_nan() {
            f64::NAN
        } else {
            m.max(d)
        }
    });
    diff / scale
}

/// The worst [`rel_error`] over matching lists of tensors (e.g. every parameter's gradient).
fn worst_rel_error(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| rel_error(x, y, 1e-12))
        .fold(0.0, |m, e| {
            if e.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(e)
            }
        })
}

/// Every float parameter's gradient, flattened, in module order (empty where there is none).
struct Grads<'a, B: Backend> {
    grads: &'a <Ad<B> as AutodiffBackend>::Gradients,
    out: Vec<Vec<f32>>,
}

impl<B: Backend> ModuleVisitor<Ad<B>> for Grads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Ad<B>, D>>) {
        self.out
            .push(param.val().grad(self.grads).map(values).unwrap_or_default());
    }
}

fn gradients<B: Backend, M: Module<Ad<B>>>(
    module: &M,
    grads: &<Ad<B> as AutodiffBackend>::Gradients,
) -> Vec<Vec<f32>> {
    let mut v = Grads::<B> {
        grads,
        out: Vec::new(),
    };
    module.visit(&mut v);
    v.out
}

fn softplus<T: Backend, const D: usize>(x: Tensor<T, D>) -> Tensor<T, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

/// What one backend computes for the check; compared field by field.
struct Outcome {
    weights: WeightMap,
    pixels: Vec<u8>,
    logits: Vec<f32>,
    grads_g: Vec<Vec<f32>>,
    grads_d: Vec<Vec<f32>>,
    r1: Vec<f32>,
    grads_r1: Vec<Vec<f32>>,
    pl: Vec<f32>,
    grads_pl: Vec<Vec<f32>>,
    losses: Vec<[f64; 4]>,
}

fn run<B: Backend>(shape: ParityShape, device: &B::Device) -> Outcome {
    let (g_cfg, d_cfg) = parity_configs(shape.resolution);
    let n = shape.batch;
    // The same seed gives the same weights on every device (they are drawn on the host).
    host_rng::seed(1);
    let g = Generator::<Ad<B>>::new(&g_cfg, device);
    let d = Discriminator::<Ad<B>>::new(&d_cfg, device);
    let mut weights = WeightMap::new();
    g.export(&mut weights, "G");
    d.export(&mut weights, "D");

    let mut rng = Rng::new(11);
    let z = Tensor::<Ad<B>, 2>::from_data(
        TensorData::new(rng.normals(n * g_cfg.z_dim), [n, g_cfg.z_dim]),
        device,
    );
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };

    // Images and logits (forward only).
    let img = g.valid().forward(z.clone().inner(), None, 1.0, None, &opts);
    let pixels = to_uint8_nhwc(img.clone());
    let logits = values(d.valid().forward(img.clone(), None));

    // Gmain: softplus(-D(G(z))), gradients for G.
    let fake = g.forward(z.clone(), None, 1.0, None, &opts);
    let loss = softplus(d.clone().no_grad().forward(fake, None).neg()).mean();
    let grads_g = gradients::<B, _>(&g, &loss.backward());

    // Dmain on fixed fakes and reals.
    let reals = parity_images(shape.resolution, n);
    let real: Vec<f32> = reals
        .pixels
        .iter()
        .flatten()
        .map(|p| *p as f32 / 127.5 - 1.0)
        .collect();
    let real = Tensor::<B, 4>::from_data(
        TensorData::new(real, [n, 3, shape.resolution, shape.resolution]),
        device,
    );
    let fake_logits = d.forward(Tensor::from_inner(img), None);
    let real_logits = d.forward(Tensor::from_inner(real.clone()), None);
    let loss = softplus(fake_logits).mean() + softplus(real_logits.neg()).mean();
    let grads_d = gradients::<B, _>(&d, &loss.backward());

    // R1 and path length: second derivatives through nested autodiff.
    let (r1, _) = r1_penalty(&d, real, None);
    let r1_values = values(r1.clone().inner());
    let grads_r1 = gradients::<B, _>(&d, &r1.mean().backward());
    let ws = g.mapping(z, None, 1.0, None);
    let [_, _, res, _] = [n, 3, shape.resolution, shape.resolution];
    let noise = Tensor::<B, 4>::from_data(
        TensorData::new(rng.normals(n * 3 * res * res), [n, 3, res, res]),
        device,
    );
    let lengths = pl_lengths(&g.synthesis, ws, noise, &opts);
    let pl = values(lengths.clone().inner());
    let grads_pl = gradients::<B, _>(&g, &lengths.mean().backward());

    // A seeded run: every random draw (z, noise, augmentation, minibatch) comes from the host.
    let preset = crate::preset("lite", shape.resolution, 0, 3, 1).expect("lite preset");
    let mut o = TrainOptions::from_preset(&preset);
    o.batch = n;
    o.aug = AugMode::Fixed;
    o.augment_p = 0.5;
    let mut trainer = Trainer::<B>::new(g_cfg, d_cfg, o, device);
    let data = parity_images(shape.resolution, 4 * n);
    let losses = (0..shape.steps)
        .map(|_| match trainer.step(&data) {
            Ok(s) => [s.loss_g, s.loss_d, s.r1, s.pl],
            Err(_) => [f64::NAN; 4],
        })
        .collect();
    Outcome {
        weights,
        pixels,
        logits,
        grads_g,
        grads_d,
        r1: r1_values,
        grads_r1,
        pl,
        grads_pl,
        losses,
    }
}

/// Compares `device` (backend `B`) against the CPU backend with bestiary's CPU kernels (the path
/// the official-parity tests hold to the reference). When `B` is that CPU backend itself, its
/// kernels are compared against Burn's own ops instead (the composed path every other backend runs).
pub fn device_parity<B: Backend>(shape: ParityShape, device: &B::Device) -> Vec<ParityCheck> {
    let cpu_itself = std::any::TypeId::of::<B>() == std::any::TypeId::of::<Flex>();
    let cpu = if cpu_itself {
        bestiary_nn::cpu::without_kernels(|| run::<Flex>(shape, &Default::default()))
    } else {
        run::<Flex>(shape, &Default::default())
    };
    let dev = run::<B>(shape, device);
    let same_weights = cpu.weights.len() == dev.weights.len()
        && cpu
            .weights
            .iter()
            .zip(&dev.weights)
            .all(|((na, (sa, a)), (nb, (sb, b)))| na == nb && sa == sb && a == b);
    let pixel_error = if cpu.pixels.len() == dev.pixels.len() {
        cpu.pixels
            .iter()
            .zip(&dev.pixels)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0) as f64
    } else {
        f64::INFINITY
    };
    // Losses of the seeded steps: NaN entries (a phase that did not run) must agree too.
    let loss_error = if cpu.losses.len() == dev.losses.len() {
        cpu.losses
            .iter()
            .zip(&dev.losses)
            .flat_map(|(a, b)| a.iter().zip(b))
            .fold(0f64, |m, (x, y)| match (x.is_nan(), y.is_nan()) {
                (true, true) => m,
                (false, false) => m.max((x - y).abs() / x.abs().max(1e-6)),
                _ => f64::NAN,
            })
    } else {
        f64::INFINITY
    };
    let nan_max = |m: f64, e: f64| {
        if m.is_nan() || e.is_nan() {
            f64::NAN
        } else {
            m.max(e)
        }
    };
    vec![
        ParityCheck::new(
            "initial weights from the same seed",
            if same_weights { 0.0 } else { 1.0 },
            0.0,
            "differ",
        ),
        ParityCheck::new("images (8-bit)", pixel_error, IMAGE_LEVELS, "levels"),
        ParityCheck::new(
            "D logits",
            rel_error(&cpu.logits, &dev.logits, 1e-3),
            LOGIT_REL,
            "relative",
        ),
        ParityCheck::new(
            "G gradients (Gmain)",
            worst_rel_error(&cpu.grads_g, &dev.grads_g),
            GRAD_REL,
            "relative",
        ),
        ParityCheck::new(
            "D gradients (Dmain)",
            worst_rel_error(&cpu.grads_d, &dev.grads_d),
            GRAD_REL,
            "relative",
        ),
        ParityCheck::new(
            "R1 penalty and its D gradients",
            nan_max(
                rel_error(&cpu.r1, &dev.r1, 1e-6),
                worst_rel_error(&cpu.grads_r1, &dev.grads_r1),
            ),
            GRAD_REL,
            "relative",
        ),
        ParityCheck::new(
            "path lengths and their G gradients",
            nan_max(
                rel_error(&cpu.pl, &dev.pl, 1e-6),
                worst_rel_error(&cpu.grads_pl, &dev.grads_pl),
            ),
            GRAD_REL,
            "relative",
        ),
        ParityCheck::new(
            &format!("losses of {} seeded training steps", shape.steps),
            loss_error,
            LOSS_REL,
            "relative",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_relative_to_the_reference_and_nan_fails() {
        assert_eq!(rel_error(&[2.0, -4.0], &[2.0, -3.0], 1e-6), 0.25);
        assert_eq!(rel_error(&[0.0], &[0.5], 2.0), 0.25);
        assert!(rel_error(&[1.0], &[f32::NAN], 1e-6).is_nan());
        assert!(!ParityCheck::new("x", f64::NAN, 1.0, "u").pass);
        assert_eq!(rel_error(&[1.0], &[1.0, 2.0], 1e-6), f64::INFINITY);
        assert_eq!(
            worst_rel_error(&[vec![1.0], vec![10.0]], &[vec![1.5], vec![10.0]]),
            0.5
        );
    }
}
