//! Burn building blocks shared by bestiary's networks, numerically faithful to the official
//! StyleGAN2-ADA PyTorch ops:
//!
//! * [`fir`]: FIR resampling (`upfirdn2d`, `upsample2d`, `downsample2d`, `filter2d`),
//! * [`conv`]: `conv2d_resample` (convolution fused with FIR up/downsampling),
//! * [`bias_act`]: bias + activation + gain + clamp,
//! * [`broadcast`]: bias and noise additions laid out for the CPU backend's vectorised paths,
//! * [`layers`]: equalized-LR fully-connected and conv layers, modulated convolution,
//!   minibatch standard deviation, 2nd-moment normalization,
//! * [`cpu`]: convolutions, FIR resampling and the hot elementwise passes through bestiary's own
//!   CPU kernels (Winograd 3x3, im2col GEMM, direct FIR, fused bias_act, style modulation rows,
//!   Adam) as backend extensions,
//! * [`state`]: loading/exporting tensors under their official names,
//! * [`host_rng`]: seeded random weights and noise drawn on the host, the same on every device.
//!
//! Everything is generic over [`burn::tensor::backend::Backend`] and uses only ops that Burn can
//! differentiate twice (matmul, conv2d, conv_transpose2d, pad, slice, reshape, elementwise); on
//! Flex (and autodiff over it) the convolutions, FIR filters, `bias_act` and the modulation take
//! the [`cpu`] kernels, whose custom backward passes are differentiable again.

pub mod bias_act;
pub mod broadcast;
pub mod conv;
pub mod cpu;
pub mod fir;
pub mod host_rng;
pub mod layers;
pub mod state;

pub use bias_act::{bias_act, Activation};
pub use broadcast::{add_channel_bias, add_pixel_noise};
pub use conv::{conv2d_resample, Resample};
pub use fir::{downsample2d, filter2d, upfirdn2d, upsample2d, Fir};
pub use layers::{
    minibatch_std, modulated_conv2d, normalize_2nd_moment, Conv2dArgs, Conv2dLayer,
    FullyConnectedLayer, ModConv, ModConvArgs,
};
pub use state::{buffer, export_tensor, join, param, StateError, StateReader, WeightMap};

#[cfg(test)]
mod tests;
