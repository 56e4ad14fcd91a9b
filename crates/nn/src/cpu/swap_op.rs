//! Swapping the two leading axes of a tensor (a convolution's output and input channels, for the
//! transposed convolutions of up-sampling layers) as a copy made by a parallel kernel, instead of
//! a strided view that every later CPU op, and the gradient of every later op, walks one element
//! at a time. The swap is its own adjoint, so the op is its own derivative.

use bestiary_kernels::layout;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops},
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{backend::Backend, ops::FloatTensor, TensorData, TensorMetadata};
use burn_flex::FlexTensor;

use super::flex_f32;

/// Backends with a materialising swap of dimensions 0 and 1 of a 4D tensor.
pub trait SwapBackend: Backend {
    /// `[A, B, H, W]` -> `[B, A, H, W]`, contiguous.
    fn swap_leading(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl SwapBackend for Flex {
    fn swap_leading(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = flex_f32(x);
        let [a, b, h, w] = x.shape().dims();
        let y = layout::swap_leading(x.storage::<f32>(), a, b, h * w);
        FlexTensor::from_data(TensorData::new(y, [b, a, h, w]))
    }
}

#[derive(Debug)]
struct SwapOp;

impl<B: SwapBackend> Backward<B, 1> for SwapOp {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let d = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            grads.register::<B>(node.id, B::swap_leading(d));
        }
    }
}

impl<B: SwapBackend, C: CheckpointStrategy> SwapBackend for Autodiff<B, C> {
    fn swap_leading(x: FloatTensor<Self>) -> FloatTensor<Self> {
        SwapOp
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateless(B::swap_leading(x.primitive))
    }
}
