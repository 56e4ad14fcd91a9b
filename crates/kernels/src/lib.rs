//! CPU kernels on plain f32 slices, kept free of any tensor library so that they can be tested
//! against direct formulas and reused by any backend glue:
//!
//! * [`winograd`]: 3x3 same-padding convolution by Winograd F(2x2, 3x3), with input and weight
//!   gradients,
//! * [`fir`]: FIR up/down-sampling of planes (`upfirdn2d`) and its adjoint,
//! * [`im2col`]: general strided convolution as GEMMs, with its adjoint (the transposed
//!   convolution) and weight gradient,
//! * [`bias_act`]: bias + activation + gain + clamp and its gradient, one parallel pass each,
//! * [`adam`]: one Adam step of a parameter in one parallel pass,
//! * [`layout`]: parallel layout changes (swapping leading axes),
//! * [`filled`]: output buffers written in parallel without zeroing them first,
//! * [`rows`]: per-(sample, channel) scaling and dot products (style modulation),
//! * [`runs`]: how a batch is spread over threads, shared by the kernels,
//! * [`matmul`]: a bounds-checked front for the `gemm` crate.

pub mod adam;
pub mod bias_act;
pub mod filled;
pub mod fir;
pub mod im2col;
pub mod layout;
pub mod matmul;
pub mod rows;
pub mod runs;
pub mod winograd;

pub use im2col::{conv, conv_adjoint, conv_weight_grad, ConvGeom};
pub use winograd::{conv3x3, conv3x3_input_grad, conv3x3_weight_grad, Conv3x3};

#[cfg(test)]
mod tests;
