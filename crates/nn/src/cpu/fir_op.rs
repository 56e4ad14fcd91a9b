//! FIR resampling (`upfirdn2d`) through bestiary's direct kernel (`bestiary_kernels::fir`) on the
//! CPU backend, instead of Burn's per-channel convolutions and their generic backward passes.
//! The op and its adjoint are each other's gradient, so nested autodiff works.

use std::sync::Arc;

use bestiary_kernels::fir::{self, FirGeom};
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{backend::Backend, ops::FloatTensor, TensorData, TensorMetadata};
use burn_flex::FlexTensor;

use super::flex_f32;

/// Backends with a native `upfirdn2d` over `[N, C, H, W]` (planes = N * C) and its adjoint.
pub trait FirBackend: Backend {
    /// `[N, C, H, W]` -> `[N, C, out_h, out_w]`.
    fn fir(x: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self>;
    /// `[N, C, out_h, out_w]` -> `[N, C, H, W]`.
    fn fir_adjoint(gy: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self>;
}

fn out_hw(g: &FirGeom) -> [usize; 2] {
    g.output()
        .expect("fir: the kernel does not fit the padded image")
}

impl FirBackend for Flex {
    fn fir(x: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self> {
        let x = flex_f32(x);
        let [n, c, _, _] = x.shape().dims();
        let [oh, ow] = out_hw(g);
        FlexTensor::from_data(TensorData::new(
            fir::fir(x.storage::<f32>(), g),
            [n, c, oh, ow],
        ))
    }

    fn fir_adjoint(gy: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self> {
        let gy = flex_f32(gy);
        let [n, c, _, _] = gy.shape().dims();
        FlexTensor::from_data(TensorData::new(
            fir::fir_adjoint(gy.storage::<f32>(), g),
            [n, c, g.height, g.width],
        ))
    }
}

#[derive(Debug)]
struct FirOp;

impl<B: FirBackend> Backward<B, 1> for FirOp {
    type State = Arc<FirGeom>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            grads.register::<B>(node.id, B::fir_adjoint(d, &ops.state));
        }
    }
}

#[derive(Debug)]
struct FirAdjointOp;

impl<B: FirBackend> Backward<B, 1> for FirAdjointOp {
    type State = Arc<FirGeom>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            grads.register::<B>(node.id, B::fir(d, &ops.state));
        }
    }
}

impl<B: FirBackend, C: CheckpointStrategy> FirBackend for Autodiff<B, C> {
    fn fir(x: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self> {
        match FirOp
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(g.clone(), B::fir(x.primitive, g)),
            OpsKind::UnTracked(prep) => prep.finish(B::fir(x.primitive, g)),
        }
    }

    fn fir_adjoint(gy: FloatTensor<Self>, g: &Arc<FirGeom>) -> FloatTensor<Self> {
        match FirAdjointOp
            .prepare::<C>([gy.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(g.clone(), B::fir_adjoint(gy.primitive, g)),
            OpsKind::UnTracked(prep) => prep.finish(B::fir_adjoint(gy.primitive, g)),
        }
    }
}
