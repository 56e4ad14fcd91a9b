//! Strided and transposed convolutions through bestiary's im2col + GEMM kernels
//! (`bestiary_kernels::im2col`) on the CPU backend: the down-sampling convolutions of the
//! discriminator and the up-sampling (transposed) convolutions of the generator, with gradients
//! that cost one GEMM each instead of Burn's generic rewrites.
//!
//! Three ops, each the derivative of the others ([`GemmConvBackend`]), so nested autodiff works.

use bestiary_kernels::im2col::{self, ConvGeom};
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

/// Stride and zero padding of a convolution (dilation 1, one group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// Backends with a native strided convolution, its adjoint (= transposed convolution) and its
/// weight gradient.
pub trait GemmConvBackend: Backend {
    /// `conv2d(x, w)`: `x: [N, I, H, W]`, `w: [O, I, kh, kw]`.
    fn conv(x: FloatTensor<Self>, w: FloatTensor<Self>, spec: ConvSpec) -> FloatTensor<Self>;
    /// The input gradient of `conv` for an input of size `in_hw`: `[N, I, H, W]` from `gy: [N, O, h, w]`.
    fn conv_adjoint(
        gy: FloatTensor<Self>,
        w: FloatTensor<Self>,
        spec: ConvSpec,
        in_hw: [usize; 2],
    ) -> FloatTensor<Self>;
    /// The weight gradient of `conv` for a `kernel`-sized kernel: `[O, I, kh, kw]`.
    fn conv_weight_grad(
        x: FloatTensor<Self>,
        gy: FloatTensor<Self>,
        spec: ConvSpec,
        kernel: [usize; 2],
    ) -> FloatTensor<Self>;
}

fn dims4<T: TensorMetadata>(t: &T) -> [usize; 4] {
    t.shape().dims()
}

fn geom(x: [usize; 4], c_out: usize, kernel: [usize; 2], spec: ConvSpec) -> ConvGeom {
    let [batch, c_in, height, width] = x;
    ConvGeom {
        batch,
        c_in,
        c_out,
        height,
        width,
        kh: kernel[0],
        kw: kernel[1],
        stride: spec.stride,
        padding: spec.padding,
    }
}

impl GemmConvBackend for Flex {
    fn conv(x: FloatTensor<Self>, w: FloatTensor<Self>, spec: ConvSpec) -> FloatTensor<Self> {
        let (x, w) = (flex_f32(x), flex_f32(w));
        let [c_out, _, kh, kw] = dims4(&w);
        let g = geom(dims4(&x), c_out, [kh, kw], spec);
        let [oh, ow] = g.out_hw();
        let y = im2col::conv(x.storage::<f32>(), w.storage::<f32>(), g);
        FlexTensor::from_data(TensorData::new(y, [g.batch, c_out, oh, ow]))
    }

    fn conv_adjoint(
        gy: FloatTensor<Self>,
        w: FloatTensor<Self>,
        spec: ConvSpec,
        in_hw: [usize; 2],
    ) -> FloatTensor<Self> {
        let (gy, w) = (flex_f32(gy), flex_f32(w));
        let [c_out, c_in, kh, kw] = dims4(&w);
        let [batch, _, _, _] = dims4(&gy);
        let g = geom([batch, c_in, in_hw[0], in_hw[1]], c_out, [kh, kw], spec);
        let x = im2col::conv_adjoint(gy.storage::<f32>(), w.storage::<f32>(), g);
        FlexTensor::from_data(TensorData::new(x, [batch, c_in, in_hw[0], in_hw[1]]))
    }

    fn conv_weight_grad(
        x: FloatTensor<Self>,
        gy: FloatTensor<Self>,
        spec: ConvSpec,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        let (x, gy) = (flex_f32(x), flex_f32(gy));
        let [_, c_out, _, _] = dims4(&gy);
        let g = geom(dims4(&x), c_out, kernel, spec);
        let gw = im2col::conv_weight_grad(x.storage::<f32>(), gy.storage::<f32>(), g);
        FlexTensor::from_data(TensorData::new(gw, [c_out, g.c_in, kernel[0], kernel[1]]))
    }
}

fn hw<T: TensorMetadata>(t: &T) -> [usize; 2] {
    let [_, _, h, w] = dims4(t);
    [h, w]
}

#[derive(Debug)]
struct ConvOp;

impl<B: GemmConvBackend> Backward<B, 2> for ConvOp {
    type State = (NodeId, NodeId, ConvSpec);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (x, w, spec) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w);
        let kernel = hw(&w);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::conv_adjoint(d.clone(), w, spec, hw(&x)));
        }
        if let Some(node) = node_w {
            grads.register::<B>(node.id, B::conv_weight_grad(x, d, spec, kernel));
        }
    }
}

#[derive(Debug)]
struct AdjointOp;

impl<B: GemmConvBackend> Backward<B, 2> for AdjointOp {
    type State = (NodeId, NodeId, ConvSpec);

    // conv_adjoint(gy, w) is bilinear and <conv_adjoint(gy, w), d> = <gy, conv(d, w)>.
    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_gy, node_w] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (gy, w, spec) = ops.state;
        let gy = checkpointer.retrieve_node_output::<FloatTensor<B>>(gy);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w);
        let kernel = hw(&w);
        if let Some(node) = node_gy {
            grads.register::<B>(node.id, B::conv(d.clone(), w, spec));
        }
        if let Some(node) = node_w {
            grads.register::<B>(node.id, B::conv_weight_grad(d, gy, spec, kernel));
        }
    }
}

#[derive(Debug)]
struct WeightGradOp;

impl<B: GemmConvBackend> Backward<B, 2> for WeightGradOp {
    type State = (NodeId, NodeId, ConvSpec);

    // <conv_weight_grad(x, gy), d> = <conv(x, d), gy>.
    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gy] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        let (x, gy, spec) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let gy = checkpointer.retrieve_node_output::<FloatTensor<B>>(gy);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::conv_adjoint(gy, d.clone(), spec, hw(&x)));
        }
        if let Some(node) = node_gy {
            grads.register::<B>(node.id, B::conv(x, d, spec));
        }
    }
}

impl<B: GemmConvBackend, C: CheckpointStrategy> GemmConvBackend for Autodiff<B, C> {
    fn conv(x: FloatTensor<Self>, w: FloatTensor<Self>, spec: ConvSpec) -> FloatTensor<Self> {
        match ConvOp
            .prepare::<C>([x.node.clone(), w.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&w), spec);
                prep.finish(state, B::conv(x.primitive, w.primitive, spec))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv(x.primitive, w.primitive, spec)),
        }
    }

    fn conv_adjoint(
        gy: FloatTensor<Self>,
        w: FloatTensor<Self>,
        spec: ConvSpec,
        in_hw: [usize; 2],
    ) -> FloatTensor<Self> {
        match AdjointOp
            .prepare::<C>([gy.node.clone(), w.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&gy), prep.checkpoint(&w), spec);
                prep.finish(
                    state,
                    B::conv_adjoint(gy.primitive, w.primitive, spec, in_hw),
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::conv_adjoint(gy.primitive, w.primitive, spec, in_hw))
            }
        }
    }

    fn conv_weight_grad(
        x: FloatTensor<Self>,
        gy: FloatTensor<Self>,
        spec: ConvSpec,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        match WeightGradOp
            .prepare::<C>([x.node.clone(), gy.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&gy), spec);
                prep.finish(
                    state,
                    B::conv_weight_grad(x.primitive, gy.primitive, spec, kernel),
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::conv_weight_grad(x.primitive, gy.primitive, spec, kernel))
            }
        }
    }
}
