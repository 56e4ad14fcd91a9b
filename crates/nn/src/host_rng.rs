//! Random tensors drawn on the host and then moved to their device.
//!
//! Every Burn backend has its own generator, so weights and noise drawn on a GPU would differ from
//! the CPU's for the same seed. Drawing them all from the CPU backend's seeded generator makes a
//! seeded run the same run on every device (and leaves CPU runs exactly as they were: on Flex, and
//! autodiff over it, this is the very generator `Tensor::random` uses).

use burn::backend::Flex;
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// Seeds the host generator (what `B::seed` did for the CPU backend).
pub fn seed(seed: u64) {
    Flex::seed(&Default::default(), seed);
}

/// A tensor of independent `N(0, 1)` draws from the host generator, on `device`.
pub fn normal<B: Backend, const D: usize>(shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    let host =
        Tensor::<Flex, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default());
    Tensor::from_data(host.into_data(), device)
}
