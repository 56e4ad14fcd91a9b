//! CPU kernels on plain f32 slices, kept free of any tensor library so that they can be tested
//! against direct formulas and reused by any backend glue:
//!
//! * [`winograd`]: 3x3 same-padding convolution by Winograd F(2x2, 3x3), with input and weight
//!   gradients,
//! * [`matmul`]: a bounds-checked front for the `gemm` crate.

pub mod matmul;
pub mod winograd;

pub use winograd::{conv3x3, conv3x3_input_grad, conv3x3_weight_grad, Conv3x3};

#[cfg(test)]
mod tests;
