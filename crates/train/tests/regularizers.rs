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
use bestiary_train::step::{pl_lengths, r1_penalty};
use bestiary_train::Ad;
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use common::configs_with;
use common::finite_diff::check_all;

type B = Flex;
type A = Ad<B>;

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
