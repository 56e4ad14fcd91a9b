//! `bias_act` (bias, linear or leaky ReLU, gain, clamp) through bestiary's fused kernel
//! (`bestiary_kernels::bias_act`) on the CPU backend: one parallel pass forward and one backward,
//! where the composed tensor ops take about eight single-threaded passes each way.
//!
//! The gradient is a function of the output and the incoming gradient only, linear in the
//! latter, so its own derivative is itself: the two ops are closed under differentiation.

use bestiary_kernels::bias_act::{self, BiasAct};
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{
    backend::Backend,
    ops::{FloatTensor, FloatTensorOps},
    Shape, TensorData, TensorMetadata,
};
use burn_flex::FlexTensor;

use super::flex_f32;

/// Backends with a native fused `bias_act` over `[N, C, P]` (P = pixels per channel).
pub trait BiasActBackend: Backend {
    /// `clamp(act(x + b) * gain)`, `b: [C]` broadcast along dimension 1.
    fn bias_act(
        x: FloatTensor<Self>,
        b: Option<FloatTensor<Self>>,
        p: &BiasAct,
    ) -> FloatTensor<Self>;
    /// `dL/dx` given `dy = dL/dy` and the output `y` of [`BiasActBackend::bias_act`].
    fn bias_act_grad(dy: FloatTensor<Self>, y: FloatTensor<Self>, p: &BiasAct)
        -> FloatTensor<Self>;
    /// `dL/db`: the sums of `dx: [N, C, P]` over samples and pixels, `[C]`.
    fn bias_grad(dx: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl BiasActBackend for Flex {
    fn bias_act(
        x: FloatTensor<Self>,
        b: Option<FloatTensor<Self>>,
        p: &BiasAct,
    ) -> FloatTensor<Self> {
        let x = flex_f32(x);
        let b = b.map(flex_f32);
        let y = bias_act::bias_act(
            x.storage::<f32>(),
            b.as_ref().map(|b| b.storage::<f32>()),
            p,
        );
        FlexTensor::from_data(TensorData::new(y, x.shape()))
    }

    fn bias_act_grad(
        dy: FloatTensor<Self>,
        y: FloatTensor<Self>,
        p: &BiasAct,
    ) -> FloatTensor<Self> {
        let (dy, y) = (flex_f32(dy), flex_f32(y));
        let dx = bias_act::bias_act_grad(dy.storage::<f32>(), y.storage::<f32>(), p);
        FlexTensor::from_data(TensorData::new(dx, dy.shape()))
    }

    fn bias_grad(dx: FloatTensor<Self>) -> FloatTensor<Self> {
        let dx = flex_f32(dx);
        let [_, c, plane] = dx.shape().dims();
        FlexTensor::from_data(TensorData::new(
            bias_act::channel_sums(dx.storage::<f32>(), c, plane),
            [c],
        ))
    }
}

#[derive(Debug)]
struct BiasActOp;

impl<B: BiasActBackend> Backward<B, 2> for BiasActOp {
    type State = (FloatTensor<B>, BiasAct);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_b] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (y, p) = ops.state;
        let dx = B::bias_act_grad(dy, y, &p);
        if let Some(node) = node_b {
            grads.register::<B>(node.id, B::bias_grad(dx.clone()));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx);
        }
    }
}

#[derive(Debug)]
struct BiasActGradOp;

impl<B: BiasActBackend> Backward<B, 1> for BiasActGradOp {
    type State = (FloatTensor<B>, BiasAct);

    // Linear in dy with a factor that depends on y only through its sign and the clamp, so the
    // derivative with respect to y is zero almost everywhere.
    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (y, p) = ops.state;
        if let Some(node) = node {
            grads.register::<B>(node.id, B::bias_act_grad(d, y, &p));
        }
    }
}

impl<B: BiasActBackend, C: CheckpointStrategy> BiasActBackend for Autodiff<B, C> {
    fn bias_act(
        x: FloatTensor<Self>,
        b: Option<FloatTensor<Self>>,
        p: &BiasAct,
    ) -> FloatTensor<Self> {
        // Without a bias, an untracked zero bias: the op then has no second parent to feed.
        let b = b.unwrap_or_else(|| {
            Self::float_zeros(
                Shape::new([p.channels]),
                &Self::float_device(&x),
                x.dtype().into(),
            )
        });
        match BiasActOp
            .prepare::<C>([x.node.clone(), b.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = B::bias_act(x.primitive, Some(b.primitive), p);
                prep.finish((y.clone(), *p), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::bias_act(x.primitive, Some(b.primitive), p)),
        }
    }

    fn bias_act_grad(
        dy: FloatTensor<Self>,
        y: FloatTensor<Self>,
        p: &BiasAct,
    ) -> FloatTensor<Self> {
        match BiasActGradOp
            .prepare::<C>([dy.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(
                (y.primitive.clone(), *p),
                B::bias_act_grad(dy.primitive, y.primitive, p),
            ),
            OpsKind::UnTracked(prep) => prep.finish(B::bias_act_grad(dy.primitive, y.primitive, p)),
        }
    }

    // The bias gradient taken at the inner level of nested autodiff: ordinary differentiable sums
    // (it is rarely on the path of a second derivative, so it needs no op of its own).
    fn bias_grad(dx: FloatTensor<Self>) -> FloatTensor<Self> {
        let [_, c, _] = dx.shape().dims();
        let per_channel = Self::float_sum_dim(Self::float_sum_dim(dx, 2), 0);
        Self::float_reshape(per_channel, Shape::new([c]))
    }
}
