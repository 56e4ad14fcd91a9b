//! Adam as torch.optim.Adam computes it, with the learning rate and betas given per step (lazy
//! regularization rescales both) and moments kept in parameter visiting order so that they can be
//! saved by index and restored exactly into a network rebuilt from its config.

use bestiary_nn::cpu;
use burn::module::{AutodiffModule, ModuleMapper, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

/// Moments of one parameter (flattened) and its own step count.
#[derive(Clone, Debug)]
pub struct Moments<B: Backend> {
    pub step: u64,
    pub m: Tensor<B, 1>,
    pub v: Tensor<B, 1>,
}

/// Optimizer state for one network.
#[derive(Clone, Debug, Default)]
pub struct Adam<B: Backend> {
    /// Indexed by the parameter's position in the module's visiting order; `None` until it is
    /// first stepped (buffers and frozen layers never are).
    pub moments: Vec<Option<Moments<B>>>,
}

/// Hyper-parameters of one step.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl<B: Backend> Adam<B> {
    pub fn new() -> Self {
        Adam {
            moments: Vec::new(),
        }
    }

    /// Updates every trainable parameter of `module`, with its gradient in `grads` (zero where
    /// it has none).
    pub fn step<A, M>(&mut self, module: M, grads: &A::Gradients, hp: AdamStep) -> M
    where
        A: AutodiffBackend<InnerBackend = B>,
        M: AutodiffModule<A>,
    {
        let mut mapper = AdamMapper::<A> {
            grads,
            adam: self,
            index: 0,
            hp,
        };
        module.map(&mut mapper)
    }

    /// Flattened (index, step, m, v) triples for saving.
    pub fn export(&self) -> Vec<(usize, u64, Vec<f32>, Vec<f32>)> {
        self.moments
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .map(|s| (i, s.step, to_vec(s.m.clone()), to_vec(s.v.clone())))
            })
            .collect()
    }

    /// Restores from [`Adam::export`]'s form.
    pub fn import(entries: Vec<(usize, u64, Vec<f32>, Vec<f32>)>, device: &B::Device) -> Self {
        let len = entries.iter().map(|e| e.0 + 1).max().unwrap_or(0);
        let mut moments = vec![None; len];
        for (i, step, m, v) in entries {
            let n = m.len();
            moments[i] = Some(Moments {
                step,
                m: Tensor::from_data(TensorData::new(m, [n]), device),
                v: Tensor::from_data(TensorData::new(v, [n]), device),
            });
        }
        Adam { moments }
    }
}

/// Element counts of a module's float parameters in visiting order (the indices [`Adam`] uses).
pub fn param_sizes<B: Backend, M: burn::module::Module<B>>(module: &M) -> Vec<usize> {
    struct Sizes(Vec<usize>);
    impl<B: Backend> burn::module::ModuleVisitor<B> for Sizes {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            self.0.push(p.val().dims().iter().product());
        }
    }
    let mut s = Sizes(Vec::new());
    module.visit(&mut s);
    s.0
}

fn to_vec<B: Backend>(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")
}

struct AdamMapper<'a, A: AutodiffBackend> {
    grads: &'a A::Gradients,
    adam: &'a mut Adam<A::InnerBackend>,
    index: usize,
    hp: AdamStep,
}

impl<A: AutodiffBackend> ModuleMapper<A> for AdamMapper<'_, A> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<A, D>>) -> Param<Tensor<A, D>> {
        let index = self.index;
        self.index += 1;
        let grads = self.grads;
        let hp = self.hp;
        let adam = &mut *self.adam;
        param.map(|tensor| {
            // A trainable parameter the loss did not reach steps with a zero gradient (its
            // moments decay, its step count grows), as in the official loop, whose backward adds
            // `gen_img * 0` / `real_logits * 0` so that every parameter has a gradient.
            let grad = match tensor.grad(grads) {
                Some(g) => g,
                None if tensor.is_require_grad() => tensor.clone().inner().zeros_like(),
                None => return tensor,
            };
            let dims = tensor.dims();
            let numel: usize = dims.iter().product();
            let g: Tensor<A::InnerBackend, 1> = grad.reshape([numel]);
            let p: Tensor<A::InnerBackend, 1> = tensor.inner().reshape([numel]);
            if adam.moments.len() <= index {
                adam.moments.resize(index + 1, None);
            }
            let prev = adam.moments[index].take();
            let (step, m, v) = match prev {
                Some(s) => (s.step, s.m, s.v),
                None => (0, g.zeros_like(), g.zeros_like()),
            };
            let step = step + 1;
            let constants = cpu::AdamStep {
                lr: hp.lr as f32,
                beta1: hp.beta1 as f32,
                beta2: hp.beta2 as f32,
                eps: hp.eps as f32,
                step: u32::try_from(step).unwrap_or(u32::MAX),
            };
            let (p, g, m, v) = match cpu::try_adam_step([p, g, m, v], constants) {
                Ok([p, m, v]) => {
                    adam.moments[index] = Some(Moments { step, m, v });
                    return Tensor::from_inner(p.reshape(dims)).require_grad();
                }
                Err([p, g, m, v]) => (p, g, m, v),
            };
            // torch: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
            // p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
            let m = m * hp.beta1 + g.clone() * (1.0 - hp.beta1);
            let v = v * hp.beta2 + g.square() * (1.0 - hp.beta2);
            let bc1 = 1.0 - hp.beta1.powi(step as i32);
            let bc2 = 1.0 - hp.beta2.powi(step as i32);
            let denom = v.clone().sqrt() / bc2.sqrt() + hp.eps;
            let p = p - m.clone() / denom * (hp.lr / bc1);
            adam.moments[index] = Some(Moments { step, m, v });
            Tensor::from_inner(p.reshape(dims)).require_grad()
        })
    }
}
