//! R1 through the real ADA pipe: the gradient is taken with respect to the images before
//! augmentation (as the official run_D does), so the bgc pipe runs under nested autodiff
//! (`Autodiff<Autodiff<Flex>>`). Its second-order gradient w.r.t. D's parameters is checked against
//! central differences of the penalty, along one random direction in every parameter at once.
//! Swish D (smooth everywhere, see regularizers.rs); p = 1 so that every transform fires,
//! geometric resampling and colour matrices included.

mod common;

use bestiary_augment::AugmentPipe;
use bestiary_stylegan::Discriminator;
use bestiary_train::loss::{r1_through, PipeAugment};
use bestiary_train::rng::Rng;
use bestiary_train::step::r1_penalty;
use bestiary_train::Ad;
use burn::backend::Flex;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::AutodiffBackend, Tensor, TensorData};
use common::configs_with;

type B = Flex;
type A = Ad<B>;

const SEED: u64 = 0x5eed;

/// Moves every trainable parameter by `s * dir` (directions from a fixed stream).
struct Shift(f64, Rng);
impl ModuleMapper<A> for Shift {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<A, D>>) -> Param<Tensor<A, D>> {
        let (s, rng) = (self.0, &mut self.1);
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

/// `sum(grad . dir)` over every trainable parameter, with [`Shift`]'s directions.
struct Dot<'a>(&'a <A as AutodiffBackend>::Gradients, Rng, f64);
impl ModuleVisitor<A> for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<A, D>>) {
        let t = p.val();
        if !t.is_require_grad() {
            return;
        }
        let n: usize = t.dims().iter().product();
        let dir = self.1.normals(n);
        if let Some(g) = t.grad(self.0) {
            let g = g.into_data().to_vec::<f32>().unwrap();
            self.2 += g
                .iter()
                .zip(&dir)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>();
        }
    }
}

fn penalty(d: &Discriminator<A>, x: &Tensor<B, 4>, pipe: &AugmentPipe) -> Tensor<A, 1> {
    let mut aug = PipeAugment {
        pipe,
        p: 1.0,
        seeds: vec![SEED].into_iter(),
    };
    r1_through(d, x.clone(), None, &mut aug).0.mean()
}

fn value(t: Tensor<A, 1>) -> f64 {
    t.inner().into_data().to_vec::<f32>().unwrap()[0] as f64
}

#[test]
fn r1_through_the_ada_pipe_matches_finite_differences() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let (_, dcfg) = configs_with(16, 0, 2, "swish");
    <B as burn::tensor::backend::Backend>::seed(&dev, 21);
    let d = Discriminator::<A>::new(&dcfg, &dev);
    let mut rng = Rng::new(9);
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(rng.normals(2 * 3 * 16 * 16), [2, 3, 16, 16]),
        &dev,
    );
    let pipe = AugmentPipe::bgc();

    let p0 = penalty(&d, &x, &pipe);
    let v0 = value(p0.clone());
    // The pipe really changes the penalty (R1 of the augmented images is another number).
    let plain = value(r1_penalty(&d, x.clone(), None).0.mean());
    assert!(
        (v0 - plain).abs() > 1e-3 * plain.abs(),
        "augmented R1 {v0} vs plain {plain}"
    );

    let grads = p0.backward();
    let mut dot = Dot(&grads, Rng::new(77), 0.0);
    d.visit(&mut dot);
    let analytic = dot.2;
    let at = |s: f64| {
        value(penalty(
            &d.clone().map(&mut Shift(s, Rng::new(77))),
            &x,
            &pipe,
        ))
    };
    let eps = 1e-3;
    let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
    eprintln!("R1 through the pipe {v0:.4e} (plain {plain:.4e}); along a direction: analytic {analytic:.5e}, numeric {numeric:.5e}");
    // 0.5% (measured 1.5e-4) plus the f32 rounding of the penalty over the step.
    let rounding = 16.0 * f32::EPSILON as f64 * v0.abs() / (2.0 * eps);
    assert!(
        (analytic - numeric).abs() <= 5e-3 * numeric.abs().max(analytic.abs()) + rounding,
        "d R1 / d params along a random direction: analytic {analytic} vs numeric {numeric}"
    );
    assert!(
        analytic.abs() > 1e-6,
        "R1 through the pipe does not reach D's parameters ({analytic})"
    );
}
