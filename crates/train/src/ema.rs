//! The generator's exponential moving average (G_ema), updated after every training step.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

/// Flattened copies of every float parameter, with whether it is trained.
struct Collect<B: Backend> {
    out: Vec<(Tensor<B, 1>, bool)>,
}

impl<A: AutodiffBackend> ModuleVisitor<A> for Collect<A::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<A, D>>) {
        let t = param.val();
        let trained = t.is_require_grad();
        let n = t.dims().iter().product::<usize>();
        self.out.push((t.inner().reshape([n]), trained));
    }
}

struct Lerp<B: Backend> {
    src: std::vec::IntoIter<(Tensor<B, 1>, bool)>,
    beta: f64,
}

impl<B: Backend> ModuleMapper<B> for Lerp<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (src, trained) = self
            .src
            .next()
            .expect("G and G_ema have the same structure");
        let beta = self.beta;
        param.map(|ema| {
            let dims = ema.dims();
            let n = dims.iter().product::<usize>();
            let e: Tensor<B, 1> = ema.reshape([n]);
            // Trained parameters: ema <- p + beta*(ema - p); buffers (w_avg, noise) are copied.
            let out = if trained {
                src.clone() + (e - src) * beta
            } else {
                src
            };
            out.reshape(dims)
        })
    }
}

/// `ema <- lerp(model, ema, beta)` for parameters, `ema <- model` for buffers.
pub fn update_ema<A, M>(model: &M, ema: M::InnerModule, beta: f64) -> M::InnerModule
where
    A: AutodiffBackend,
    M: AutodiffModule<A>,
{
    let mut c = Collect::<A::InnerBackend> { out: Vec::new() };
    model.visit(&mut c);
    let mut l = Lerp {
        src: c.out.into_iter(),
        beta,
    };
    ema.map(&mut l)
}

/// The official EMA decay for one step: half-life `ema_kimg` (ramped up to `nimg * rampup`).
pub fn ema_beta(batch: usize, ema_kimg: f64, rampup: Option<f64>, nimg: u64) -> f64 {
    let mut ema_nimg = ema_kimg * 1000.0;
    if let Some(r) = rampup {
        ema_nimg = ema_nimg.min(nimg as f64 * r);
    }
    0.5f64.powf(batch as f64 / ema_nimg.max(1e-8))
}
