//! Style modulation and demodulation (`x * s[n, c]` over every pixel of channel `c` of sample
//! `n`) through bestiary's row kernels (`bestiary_kernels::rows`) on the CPU backend. Burn's
//! broadcast multiply runs on one thread, and the gradient of its scale factor is a reduction
//! whose own gradient is a strided broadcast, which made path-length regularisation crawl.
//!
//! `scale_channels(x, s)` and `channel_dots(a, b)` are bilinear and each other's derivatives:
//! d/dx scale = scale(d, s), d/ds scale = dots(d, x); d/da dots = scale(b, d), d/db dots = scale(a, d).

use bestiary_kernels::rows;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
    NodeId,
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{backend::Backend, ops::FloatTensor, TensorData, TensorMetadata};
use burn_flex::FlexTensor;

use super::flex_f32;

/// Backends with native per-(sample, channel) scaling of `[N, C, H, W]` maps and its adjoint.
pub trait RowsBackend: Backend {
    /// `y[n, c, :, :] = x[n, c, :, :] * s[n, c]`; `s: [N, C]`.
    fn scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `d[n, c] = Σ_hw a[n, c, h, w] * b[n, c, h, w]`.
    fn channel_dots(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn plane_of<T: TensorMetadata>(t: &T) -> ([usize; 4], usize) {
    let dims: [usize; 4] = t.shape().dims();
    (dims, dims[2] * dims[3])
}

impl RowsBackend for Flex {
    fn scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, s) = (flex_f32(x), flex_f32(s));
        let (dims, plane) = plane_of(&x);
        FlexTensor::from_data(TensorData::new(
            rows::scale_rows(x.storage::<f32>(), s.storage::<f32>(), plane),
            dims,
        ))
    }

    fn channel_dots(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let (a, b) = (flex_f32(a), flex_f32(b));
        let ([n, c, _, _], plane) = plane_of(&a);
        FlexTensor::from_data(TensorData::new(
            rows::row_dots(a.storage::<f32>(), b.storage::<f32>(), plane),
            [n, c],
        ))
    }
}

#[derive(Debug)]
struct ScaleOp;

impl<B: RowsBackend> Backward<B, 2> for ScaleOp {
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_s] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (x, s) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let s = checkpointer.retrieve_node_output::<FloatTensor<B>>(s);
        if let Some(node) = node_s {
            grads.register::<B>(node.id, B::channel_dots(d.clone(), x));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::scale_channels(d, s));
        }
    }
}

#[derive(Debug)]
struct DotsOp;

impl<B: RowsBackend> Backward<B, 2> for DotsOp {
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_a, node_b] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (a, b) = ops.state;
        let a = checkpointer.retrieve_node_output::<FloatTensor<B>>(a);
        let b = checkpointer.retrieve_node_output::<FloatTensor<B>>(b);
        if let Some(node) = node_a {
            grads.register::<B>(node.id, B::scale_channels(b, d.clone()));
        }
        if let Some(node) = node_b {
            grads.register::<B>(node.id, B::scale_channels(a, d));
        }
    }
}

impl<B: RowsBackend, C: CheckpointStrategy> RowsBackend for Autodiff<B, C> {
    fn scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self> {
        match ScaleOp
            .prepare::<C>([x.node.clone(), s.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&s));
                prep.finish(state, B::scale_channels(x.primitive, s.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::scale_channels(x.primitive, s.primitive)),
        }
    }

    fn channel_dots(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        match DotsOp
            .prepare::<C>([a.node.clone(), b.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&a), prep.checkpoint(&b));
                prep.finish(state, B::channel_dots(a.primitive, b.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::channel_dots(a.primitive, b.primitive)),
        }
    }
}
