//! Gradients from autodiff against central differences of the function itself, per parameter tensor,
//! along a random direction (shared by the R1 and path-length tests and the feature discriminator's).

use bestiary_train::rng::Rng;
use bestiary_train::Ad;
use burn::backend::Flex;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{backend::AutodiffBackend, Tensor, TensorData};

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
pub fn check_all<M: Module<A> + Clone>(
    name: &str,
    m: &M,
    pen: &dyn Fn(&M) -> Tensor<A, 1>,
) -> usize {
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
