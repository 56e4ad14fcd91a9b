//! R1 and path-length gradients from nested autodiff against finite differences of the penalties
//! themselves, on tiny networks: for each parameter tensor, the directional derivative along a
//! random direction from autodiff must match central differences.
//!
//! With leaky ReLU the penalties jump wherever an activation crosses zero (the input gradient is
//! piecewise constant in the masks), so finite differences are meaningless there; these networks
//! use swish, smooth everywhere, which exercises the same nested-autodiff code paths. The f32
//! rounding of the penalty value bounds the absolute tolerance.

mod common;

use bestiary_stylegan::{Discriminator, Generator, NoiseMode, SynthesisOptions};
use bestiary_train::rng::Rng;
use bestiary_train::step::{pl_lengths, r1_penalty, Ad};
use burn::backend::Flex;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::AutodiffBackend, Tensor, TensorData};
use common::configs_with;

type B = Flex;
type A = Ad<B>;

/// Moves trainable parameter tensor number `only` by `s * dir` (dir from a fixed stream).
struct Shift {
    s: f64,
    rng: Rng,
    only: usize,
    k: usize,
}
impl ModuleMapper<A> for Shift {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<A, D>>) -> Param<Tensor<A, D>> {
        let k = self.k;
        self.k += 1;
        let s = if k == self.only { self.s } else { 0.0 };
        let rng = &mut self.rng;
        p.map(|t| {
            if !t.is_require_grad() {
                return t;
            }
            let dims = t.dims();
            let n: usize = dims.iter().product();
            let dir = Tensor::<B, 1>::from_data(
                TensorData::new(rng.normals(n), [n]),
                &Default::default(),
            );
            Tensor::from_inner(t.inner() + dir.reshape(dims) * s).require_grad()
        })
    }
}

/// Per parameter tensor (in visiting order): `grad . dir` with the same direction stream as
/// [`Shift`]; None for buffers and tensors the penalty does not reach.
struct Dot<'a> {
    grads: &'a <A as AutodiffBackend>::Gradients,
    rng: Rng,
    per: Vec<Option<f64>>,
}
impl ModuleVisitor<A> for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<A, D>>) {
        let t = p.val();
        if !t.is_require_grad() {
            self.per.push(None);
            return;
        }
        let n: usize = t.dims().iter().product();
        let dir = self.rng.normals(n);
        self.per.push(t.grad(self.grads).map(|g| {
            let g = g.into_data().to_vec::<f32>().unwrap();
            g.iter()
                .zip(&dir)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>()
        }));
    }
}

fn value(t: Tensor<A, 1>) -> f64 {
    t.inner().into_data().to_vec::<f32>().unwrap()[0] as f64
}

/// Checks every parameter tensor; returns how many received a gradient.
fn check_all<M: Module<A> + Clone>(name: &str, m: &M, pen: &dyn Fn(&M) -> Tensor<A, 1>) -> usize {
    let p0 = pen(m);
    let v0 = value(p0.clone());
    let grads = p0.backward();
    let mut dot = Dot {
        grads: &grads,
        rng: Rng::new(77),
        per: vec![],
    };
    m.visit(&mut dot);
    let mut reached = 0;
    for (k, analytic) in dot.per.iter().enumerate() {
        let sh = |s: f64| {
            value(pen(&m.clone().map(&mut Shift {
                s,
                rng: Rng::new(77),
                only: k,
                k: 0,
            })))
        };
        let analytic = analytic.unwrap_or(0.0);
        let agrees = |eps: f64| {
            let numeric = (sh(eps) - sh(-eps)) / (2.0 * eps);
            // 16 units in the last place of the penalty, over the step.
            let rounding = 16.0 * f32::EPSILON as f64 * v0.abs().max(1e-6) / (2.0 * eps);
            let ok =
                (analytic - numeric).abs() <= 2e-2 * numeric.abs().max(analytic.abs()) + rounding;
            (ok, numeric)
        };
        let (ok, n1) = agrees(1e-3);
        assert!(
            ok,
            "{name}: parameter tensor {k}: analytic {analytic} vs numeric {n1}"
        );
        if dot.per[k].is_some() && analytic.abs() > 1e-5 {
            reached += 1;
        }
    }
    reached
}

#[test]
fn r1_gradient_matches_finite_differences() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let (_, dcfg) = configs_with(8, 0, 2, "swish");
    <B as burn::tensor::backend::Backend>::seed(&dev, 11);
    let d = Discriminator::<A>::new(&dcfg, &dev);
    let mut rng = Rng::new(5);
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(rng.normals(2 * 3 * 8 * 8), [2, 3, 8, 8]),
        &dev,
    );
    let pen = |d: &Discriminator<A>| r1_penalty(d, x.clone(), None).0.mean();
    let reached = check_all("R1", &d, &pen);
    // Every weight (conv, skip, fc, out) shapes dD/dx; biases only move the kinks.
    assert!(reached >= 7, "R1 reached only {reached} parameter tensors");
}

#[test]
fn path_length_gradient_matches_finite_differences() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let (gcfg, _) = configs_with(8, 0, 2, "swish");
    <B as burn::tensor::backend::Backend>::seed(&dev, 12);
    let g = Generator::<A>::new(&gcfg, &dev);
    let mut rng = Rng::new(6);
    let z = Tensor::<A, 2>::from_data(TensorData::new(rng.normals(2 * 8), [2, 8]), &dev);
    let noise = Tensor::<B, 4>::from_data(
        TensorData::new(rng.normals(2 * 3 * 8 * 8), [2, 3, 8, 8]),
        &dev,
    );
    // Const noise: the penalty must be a deterministic function of the parameters.
    let opts = SynthesisOptions {
        noise_mode: NoiseMode::Const,
        ..Default::default()
    };
    let pen = |g: &Generator<A>| {
        let ws = g.mapping(z.clone(), None, 1.0, None);
        (pl_lengths(&g.synthesis, ws, noise.clone(), &opts) - 0.3)
            .square()
            .mean()
    };
    let reached = check_all("path length", &g, &pen);
    // Mapping and synthesis weights, affines, biases and noise strengths all move |J^T y|.
    assert!(
        reached >= 15,
        "the path-length penalty reached only {reached} parameter tensors"
    );
}
